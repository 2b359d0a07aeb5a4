package lex

import (
	"bytes"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{"10.0.0.1", "010.1.1.1", "10.1.2", "192.168.1.1.1", "10.0.300.1", "0.0.0.0",
		"255.255.255.255", "1.2.3.04", "::ffff:10.0.0.1", "2001:DB8::1", "fe80::1%eth0", "2001:db8:::1", "", "1..2.3", "1.2.3.4."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ParseAddr([]byte(s))
		want, err := netip.ParseAddr(s)
		if err == nil && want.Zone() != "" {
			err = io.EOF // zones are refused
		}
		if ok != (err == nil) || (ok && got != want) {
			t.Fatalf("ParseAddr(%q) = %v, %v; netip says %v, %v", s, got, ok, want, err)
		}
	})
}

func FuzzParseUint(f *testing.F) {
	for _, s := range []string{"12345678", "1234567890123456789", "00000000000000000000001", "1234567:", "123456/8", "0", "080", "65535", "65536", "18446744073709551616", "-5", "+5", "0x50", "1.5", "", " 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// The field sits in a larger buffer, as in a line: the word-at-a-time
		// path must ignore the bytes after it.
		b := append([]byte(s), "9x 12345678"...)[:len(s)]
		v, e := ParseUint(b, MaxInt64)
		if v2, e2 := ParseUint([]byte(s), MaxInt64); v2 != v || e2 != e {
			t.Fatalf("ParseUint(%q) depends on the bytes after the field: %d,%v vs %d,%v", s, v, e, v2, e2)
		}
		digits := s != "" && strings.Trim(s, "0123456789") == ""
		if !digits {
			if e != NumSyntax {
				t.Fatalf("ParseUint(%q) = %d, %v; want syntax error", s, v, e)
			}
			return
		}
		trimmed := strings.TrimLeft(s, "0")
		if len(trimmed) > 19 || (len(trimmed) == 19 && trimmed > "9223372036854775807") {
			if e != NumOverflow {
				t.Fatalf("ParseUint(%q) = %d, %v; want overflow", s, v, e)
			}
			return
		}
		if e != NumOK {
			t.Fatalf("ParseUint(%q) failed: %v", s, e)
		}
		if want, err := strconv.ParseUint(s, 10, 64); err != nil || v != want {
			t.Fatalf("ParseUint(%q) = %d, strconv says %d (%v)", s, v, want, err)
		}
	})
}

func FuzzFields(f *testing.F) {
	f.Add("a b  c\td ")
	f.Add("\t\t")
	f.Fuzz(func(t *testing.T, s string) {
		var buf [8][]byte
		got, n := Fields([]byte(s), buf[:0:8])
		want := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' })
		if n != len(want) {
			t.Fatalf("Fields(%q) counted %d, want %d", s, n, len(want))
		}
		for i := range got {
			if string(got[i]) != want[i] {
				t.Fatalf("Fields(%q)[%d] = %q, want %q", s, i, got[i], want[i])
			}
		}
		var spans [8]Span
		if m := Spans([]byte(s), spans[:]); m != n {
			t.Fatalf("Spans(%q) counted %d, Fields %d", s, m, n)
		}
		for i := range got {
			if sp := spans[i]; s[sp.Lo:sp.Hi] != want[i] {
				t.Fatalf("Spans(%q)[%d] = %q, want %q", s, i, s[sp.Lo:sp.Hi], want[i])
			}
		}
	})
}

func TestLinesTruncated(t *testing.T) {
	// A reader that fails after the second line: the partial third line is
	// not returned and Err names the failure.
	r := io.MultiReader(strings.NewReader("a\nb\nc-par"), iotest.ErrReader(io.ErrUnexpectedEOF))
	l := NewLines(r)
	var got []string
	for l.Next() {
		got = append(got, string(l.Line))
	}
	if strings.Join(got, ",") != "a,b" || l.Err() != io.ErrUnexpectedEOF || l.N != 2 {
		t.Fatalf("lines %v err %v N %d", got, l.Err(), l.N)
	}
}

func TestLinesLong(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 300<<10)
	data := append(append([]byte("short\r\n"), long...), "\nend"...)
	l := NewLines(bytes.NewReader(data))
	var lens []int
	for l.Next() {
		lens = append(lens, len(l.Line))
	}
	if len(lens) != 3 || lens[0] != 5 || lens[1] != len(long) || lens[2] != 3 || l.Err() != nil {
		t.Fatalf("line lengths %v err %v", lens, l.Err())
	}
}
