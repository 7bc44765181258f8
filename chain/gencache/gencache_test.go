package gencache

import "testing"

// TestGenerations: an entry survives one generation change and is dropped
// by the second; a bounded cache never holds more than two generations.
func TestGenerations(t *testing.T) {
	c := New[int, string](2)
	c.Add(1, "a")
	c.Add(2, "b")
	c.Add(3, "c") // starts a new generation: {1,2} old, {3} current
	for k, want := range map[int]string{1: "a", 2: "b", 3: "c"} {
		if got, ok := c.Get(k); !ok || got != want {
			t.Fatalf("Get(%d) = %q %v, want %q", k, got, ok, want)
		}
	}
	c.Add(4, "d")
	c.Add(5, "e") // {3,4} old, {5} current: 1 and 2 are gone
	if _, ok := c.Get(1); ok {
		t.Fatal("1 survived two generation changes")
	}
	if got, ok := c.Get(3); !ok || got != "c" {
		t.Fatalf("Get(3) = %q %v after one change", got, ok)
	}
	if n := len(c.cur) + len(c.old); n > 4 {
		t.Fatalf("%d entries, bound is 4", n)
	}
}
