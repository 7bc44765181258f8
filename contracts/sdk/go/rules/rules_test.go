package rules

import (
	"encoding/binary"
	"math/big"
	"strings"
	"testing"
	"unicode/utf8"
)

func toBig(v U128) *big.Int {
	hi := new(big.Int).Lsh(new(big.Int).SetUint64(v.Hi), 64)
	return hi.Add(hi, new(big.Int).SetUint64(v.Lo))
}

var max128 = U128{^uint64(0), ^uint64(0)}

func TestU128(t *testing.T) {
	five := Units(5, 18)
	if five.String() != "5000000000000000000" || five.Hi != 0 {
		t.Fatalf("Units(5,18) = %v", five)
	}
	big100 := Units(100, 30) // > 2^64
	if big100.String() != "100"+strings.Repeat("0", 30) {
		t.Fatalf("Units(100,30) = %s", big100)
	}
	if got := toBig(big100.Add(five)); got.String() != toBig(big100).Add(toBig(big100), toBig(five)).String() {
		t.Fatal("add with carry")
	}
	if big100.Sub(five).Add(five) != big100 {
		t.Fatal("sub/add")
	}
	if five.Cmp(big100) != -1 || big100.Cmp(five) != 1 || five.Cmp(Units(5, 18)) != 0 {
		t.Fatal("cmp")
	}
	carry := U128{Lo: ^uint64(0)}.Add(U64(1))
	if carry != (U128{0, 1}) {
		t.Fatalf("carry: %v", carry)
	}
	if _, ok := max128.AddOK(U64(1)); ok {
		t.Fatal("overflow not detected")
	}
	if _, ok := U64(1).SubOK(U64(2)); ok {
		t.Fatal("underflow not detected")
	}
	if _, ok := max128.MulU64OK(2); ok {
		t.Fatal("mul overflow not detected")
	}
	if _, ok := (U128{Lo: 1 << 63, Hi: 1 << 62}).MulU64OK(2); !ok {
		t.Fatal("mul without overflow refused")
	}
	if _, ok := (U128{Lo: 1 << 63, Hi: 1<<63 - 1}).MulU64OK(2); !ok {
		t.Fatal("mul with carry into the top bit refused")
	}
	if _, ok := (U128{Lo: 1 << 63, Hi: 1 << 63}).MulU64OK(2); ok {
		t.Fatal("mul overflow of the high word not detected")
	}
	if max128.String() != "340282366920938463463374607431768211455" {
		t.Fatalf("max = %s", max128)
	}
	b := big100.Bytes()
	if U128From(b[:]) != big100 {
		t.Fatal("bytes round trip")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Add overflow did not panic")
		}
	}()
	max128.Add(U64(1))
}

func TestParseAmount(t *testing.T) {
	le := Units(7, 18).Bytes()
	for _, c := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"5", "5000000000000000000", true},
		{"10.5", "10500000000000000000", true},
		{"0.25", "250000000000000000", true},
		{".5", "500000000000000000", true},
		{"5.", "5000000000000000000", true},
		{"0.000000000000000001", "1", true},
		{"0.0000000000000000001", "", false}, // more fraction digits than decimals
		{string(le[:]), "7000000000000000000", true},
		{"1234567890123456", "1234567890123456000000000000000000", true}, // 16 digits: text
		{"", "", false},
		{".", "", false},
		{"1.2.3", "", false},
		{"ten", "", false},
		{"1e5", "", false},
		{strings.Repeat("9", 40), "", false}, // overflows u128
	} {
		got, ok := ParseAmount([]byte(c.in), 18)
		if ok != c.ok || (ok && got.String() != c.want) {
			t.Errorf("ParseAmount(%q) = %v, %v; want %s, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	if v, ok := ParseAmount([]byte("12.34"), 2); !ok || v.String() != "1234" {
		t.Errorf("2 decimals: %v %v", v, ok)
	}
}

// fillPayment writes a payment input into the buffer.
func fillPayment() {
	clear(buffer[:])
	binary.LittleEndian.PutUint16(buffer[0:], 1)
	binary.LittleEndian.PutUint16(buffer[2:], 1)
	binary.LittleEndian.PutUint64(buffer[8:], 99)
	binary.LittleEndian.PutUint64(buffer[16:], 86400*3+5)
	binary.LittleEndian.PutUint32(buffer[24:], 4)
	Units(6, 18).Put(buffer[32:48])
	buffer[48] = 18
	copy(buffer[49:56], "USD")
	for i := 56; i < 76; i++ {
		buffer[i] = 0xaa
	}
	binary.LittleEndian.PutUint64(buffer[96:], 7)
	binary.LittleEndian.PutUint32(buffer[144:], 950)
}

func TestInputAndDecisions(t *testing.T) {
	fillPayment()
	in := Input{entry: EntryPayment, n: PaymentSize}
	p := in.Payment()
	if in.ABIMinor() != 1 || in.Height() != 99 || in.Day() != 3 || in.RuleVersion() != 4 {
		t.Fatal("header")
	}
	if p.Amount() != Units(6, 18) || p.Decimals() != 18 || p.Asset() != "USD" || !p.AssetIs("USD") || p.AssetIs("US") ||
		p.Payer()[19] != 0xaa || p.Agent() != 7 || p.TrustScore() != 950 {
		t.Fatal("payment accessors")
	}

	k := KeyBuf{}.Addr(p.Payer()).U64(in.Day()).String("/").U32(1).U8(2)
	key := k.Key()
	if len(key) != 20+8+1+4+1 || key[0] != 0xaa || key[20] != 3 || key[28] != '/' || key[29] != 1 || key[33] != 2 {
		t.Fatalf("key %x", key)
	}
	d := Reject(3, "x"+strings.Repeat("é", 100))
	if d.Outcome() != OutcomeReject || d.OutputLen() != 4+199 || binary.LittleEndian.Uint32(buffer[:]) != 3 ||
		!utf8.Valid(buffer[4:d.OutputLen()]) {
		t.Fatalf("reject: %d bytes", d.OutputLen())
	}
	if d := Deny(9, "a\xffb"); d.OutputLen() != 4+5 || string(buffer[4:9]) != "a\uFFFDb" {
		t.Fatalf("deny with invalid UTF-8: %q", buffer[4:d.OutputLen()])
	}
	if d := Deny(9, "\xed\xa0\x80x\xff\xfe"); string(buffer[4:d.OutputLen()]) != "\uFFFDx\uFFFD" {
		t.Fatalf("deny with invalid UTF-8: %q", buffer[4:d.OutputLen()])
	}
	if d := Hold(2592000); d.Outcome() != OutcomeHold || d.OutputLen() != 8 || binary.LittleEndian.Uint64(buffer[:]) != 2592000 {
		t.Fatal("hold")
	}
	if d := ApproveRefundAmount(U64(5)); d != Decision(16<<32|10) || buffer[0] != 5 {
		t.Fatal("approve amount")
	}
	if Accept() != 0 || ApproveRefund() != 10 || NoAnswer() != 12 || Default(EntryQuery) != 20 || Default(EntryClaim) != 12 {
		t.Fatal("constant decisions")
	}
	if d := Answer([]byte("abc")); d != Decision(3<<32|20) || string(buffer[:3]) != "abc" {
		t.Fatal("answer")
	}

	defer func() {
		if recover() == nil {
			t.Fatal("a key over 64 bytes did not panic")
		}
	}()
	k.Bytes(make([]byte, 31))
}

func TestAllocations(t *testing.T) {
	fillPayment()
	in := Input{entry: EntryPayment, n: PaymentSize}
	var d Decision
	n := testing.AllocsPerRun(100, func() {
		p := in.Payment()
		k := KeyBuf{}.Addr(p.Payer()).U64(in.Day())
		_ = k.Key()
		if p.Amount().Cmp(Units(5, p.Decimals())) > 0 {
			d = Reject(1, "amount above the merchant's maximum")
		} else {
			d = Accept()
		}
	})
	if d.Outcome() != OutcomeReject {
		t.Fatalf("decision %d", d)
	}
	if n != 0 {
		t.Fatalf("%v allocations per evaluation", n)
	}
}
