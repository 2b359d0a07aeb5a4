package flowlog

import (
	"strconv"
	"testing"
	"unsafe"
)

func TestInterner(t *testing.T) {
	var in Interner
	if in.Bytes(nil) != "" || in.String("") != "" {
		t.Fatal("empty input must give the empty string")
	}
	// Many distinct values (several table growths), then all again: the
	// second lookup returns the very same string, without allocating.
	var first []string
	for i := 0; i < 20000; i++ {
		b := []byte("subnet-0" + strconv.Itoa(i) + "b2c3d4e5f6071")
		s := in.Bytes(b)
		if s != string(b) {
			t.Fatalf("Bytes(%q) = %q", b, s)
		}
		b[0] = 'X' // the interned copy must not alias b
		if s[0] != 's' {
			t.Fatalf("interned string aliases its input: %q", s)
		}
		first = append(first, s)
	}
	for i, want := range first {
		b := []byte(want)
		if s := in.Bytes(b); unsafe.StringData(s) != unsafe.StringData(want) {
			t.Fatalf("value %d not deduplicated", i)
		}
		if s := in.String(string(b)); unsafe.StringData(s) != unsafe.StringData(want) {
			t.Fatalf("String: value %d not deduplicated", i)
		}
	}
	b := []byte("eni-81ccc49687f9675c5")
	in.Bytes(b)
	if n := testing.AllocsPerRun(100, func() { in.Bytes(b) }); n != 0 {
		t.Fatalf("repeated lookup allocates %v times", n)
	}
}

func TestInternerBound(t *testing.T) {
	in := Interner{Max: 100}
	for i := 0; i < 1000; i++ {
		s := strconv.Itoa(i)
		if got := in.Bytes([]byte(s)); got != s {
			t.Fatalf("Bytes(%q) = %q", s, got)
		}
	}
	if in.n != 100 || len(in.tab) > 1024 {
		t.Fatalf("kept %d strings in %d slots; want 100 in at most 1024", in.n, len(in.tab))
	}
	// Past the bound, values are still right (and short ones still found).
	for i := 0; i < 1000; i++ {
		s := strconv.Itoa(i)
		if got := in.Bytes([]byte(s)); got != s {
			t.Fatalf("Bytes(%q) = %q after the bound", s, got)
		}
	}
}
