package lex

import (
	"strings"
	"testing"
)

// padded returns s in a buffer with ScanPad bytes after it, filled with
// junk that must not change any result.
func padded(s, junk string) []byte {
	b := make([]byte, 0, len(s)+ScanPad)
	b = append(b, s...)
	for k := 0; len(b) < cap(b); k++ {
		b = append(b, junk[k%len(junk)])
	}
	return b[:len(s)]
}

// FuzzScan checks the one-pass Scan functions against ParseUint, ParseAddr
// and Fields on the same text, whatever follows it in memory.
func FuzzScan(f *testing.F) {
	for _, s := range []string{"12345678", "1234567890", "1234567890123456789 x", "12345678901234567890",
		"10.0.0.1 10.0.0.2", "10.0.0.256", "01.2.3.4", "1.2.3.4.5", "1.2.3.4x", "1.2.3", "eni-81ccc49687f9675c5 OK",
		"a\tb", "-", "", " ", "9", "255.255.255.255", "0.0.0.0"} {
		f.Add(s, "7")
		f.Add(s, ".9 ")
	}
	f.Fuzz(func(t *testing.T, s, junk string) {
		if junk == "" {
			junk = "0"
		}
		b := padded(s, junk)
		if !Padded(b) {
			t.Fatal("padded buffer not Padded")
		}
		for i := 0; i <= len(b); i++ {
			checkScan(t, b, i)
		}
	})
}

func checkScan(t *testing.T, b []byte, i int) {
	s := string(b)
	// ScanUint: the digit run at i, when 1-19 digits long.
	run := i
	for run < len(b) && b[run] >= '0' && b[run] <= '9' {
		run++
	}
	v, j := ScanUint(b, i)
	switch {
	case run == i || run-i > 19:
		if j != i {
			t.Fatalf("ScanUint(%q, %d) = %d, %d; want failure", s, i, v, j)
		}
	default:
		want, e := ParseUint(b[i:run], 1<<64-1)
		if j != run || e != NumOK || v != want {
			t.Fatalf("ScanUint(%q, %d) = %d, %d; want %d, %d", s, i, v, j, want, run)
		}
	}
	// ScanToken: the end of the run of bytes >= '!'.
	end := i
	for end < len(b) && b[end] > ' ' {
		end++
	}
	if j := ScanToken(b, i); j != end {
		t.Fatalf("ScanToken(%q, %d) = %d; want %d", s, i, j, end)
	}
	// ScanIPv4: when it succeeds, the text up to j is a valid IPv4 address
	// (netip rules), and the quad cannot be extended by a digit.
	a, j, ok := ScanIPv4(b, i)
	if ok {
		want, ok2 := ParseAddr(b[i:j])
		if !ok2 || want != a || !a.Is4() || j > len(b) {
			t.Fatalf("ScanIPv4(%q, %d) = %v, %d; ParseAddr says %v, %v", s, i, a, j, want, ok2)
		}
	}
	// Conversely a whole token that is a dotted quad is always found.
	if tok := b[i:end]; len(tok) > 0 && strings.Count(string(tok), ".") == 3 {
		if want, ok2 := ParseAddr(tok); ok2 && want.Is4() {
			if !ok || a != want || j != end {
				t.Fatalf("ScanIPv4(%q, %d) = %v, %d, %v; want %v, %d", s, i, a, j, ok, want, end)
			}
		}
	}
}

func TestScanLongNumbers(t *testing.T) {
	for _, c := range []struct {
		s    string
		v    uint64
		j    int
		fail bool
	}{
		{"1763799996 x", 1763799996, 10, false},
		{"9999999999999999999", 9999999999999999999, 19, false},
		{"0000000000000000001", 1, 19, false},
		{"99999999999999999999", 0, 0, true},
		{"1234567812345678", 1234567812345678, 16, false},
		{"12345678123456789", 12345678123456789, 17, false},
	} {
		v, j := ScanUint(padded(c.s, "5"), 0)
		if c.fail {
			if j != 0 {
				t.Errorf("ScanUint(%q) = %d, %d; want failure", c.s, v, j)
			}
			continue
		}
		if v != c.v || j != c.j {
			t.Errorf("ScanUint(%q) = %d, %d; want %d, %d", c.s, v, j, c.v, c.j)
		}
	}
}
