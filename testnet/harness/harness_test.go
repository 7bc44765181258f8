package harness

import (
	"fmt"
	"net"
	"testing"
)

func TestReservePortsExclusive(t *testing.T) {
	a := ReservePorts(t, 40)
	b := ReservePorts(t, 40)
	if a < portLow || a+40 > portHigh || b < portLow || b+40 > portHigh {
		t.Fatalf("windows %d and %d outside %d-%d", a, b, portLow, portHigh)
	}
	if a < b+40 && b < a+40 {
		t.Fatalf("windows [%d,%d) and [%d,%d) overlap", a, a+40, b, b+40)
	}
	// Every port of a window is free.
	for p := a; p < a+40; p++ {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatalf("reserved port %d is busy: %v", p, err)
		}
		l.Close()
	}
	if _, _, err := reserve(0); err == nil {
		t.Fatal("reserved 0 ports")
	}
}
