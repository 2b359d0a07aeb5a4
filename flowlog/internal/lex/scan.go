package lex

import (
	"math/bits"
	"net/netip"
	"unsafe"
)

// The Scan functions read a field in place, starting at b[i], and return
// where it stops, so that a line can be split and converted in one pass.
// They read whole words past the field and past len(b): the caller must
// guarantee cap(b) >= len(b)+ScanPad and 0 <= i <= len(b) (Padded tells).
// The bytes between len(b) and cap(b) never change a result: a field is
// cut at len(b), or the scan fails (j > len(b) or j == i) and the caller
// falls back to the plain functions.

// ScanPad is the capacity past len(b) that the Scan functions may read.
const ScanPad = 32

// Padded reports whether the Scan functions may be used on b.
func Padded(b []byte) bool { return cap(b)-len(b) >= ScanPad }

// Load8 returns the eight bytes at b[i:] as a little-endian word (b[i] in
// the low byte) on any machine: every word-at-a-time scan of text loads
// through it. Same contract as the Scan functions.
func Load8(b []byte, i int) uint64 {
	w := *(*uint64)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))
	if !littleEndian {
		w = bits.ReverseBytes64(w)
	}
	return w
}

// LeadingDigits is the number of ASCII digits at the start of w (0 to 8),
// w being eight bytes of text with the first in the low byte (Load8).
func LeadingDigits(w uint64) int {
	t := w ^ 0x3030303030303030 // digits become 0-9, every other byte >= 10
	m := ((t & 0x7f7f7f7f7f7f7f7f) + 0x7676767676767676 | t) & 0x8080808080808080
	return bits.TrailingZeros64(m) >> 3
}

// DigitsValue converts the first d (1 to 8) bytes of w, which must all be
// digits (LeadingDigits(w) >= d).
func DigitsValue(w uint64, d int) uint64 {
	x := (w << ((64 - 8*uint(d)) & 63)) & 0x0f0f0f0f0f0f0f0f // d >= 1: no shift by 64
	x = (x * 2561) >> 8
	x &= 0x00ff00ff00ff00ff
	x = (x * 6553601) >> 16
	x &= 0x0000ffff0000ffff
	return (x * 42949672960001) >> 32
}

// Pow10 holds 10^d for the d a word can hold.
var Pow10 = [9]uint64{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

// ScanUint reads the ASCII digits at b[i:] (at most 19, so the value cannot
// overflow a uint64) and returns their value and the index of the first
// byte after them (or len(b)). It returns j == i when b[i] is not a digit
// or when more than 19 digits follow: ParseUint handles those.
func ScanUint(b []byte, i int) (v uint64, j int) {
	n := len(b)
	w := Load8(b, i)
	d := LeadingDigits(w)
	if d > n-i {
		d = n - i
	}
	if d <= 0 {
		return 0, i
	}
	v, j = DigitsValue(w, d), i+d
	if d < 8 {
		return v, j
	}
	w = Load8(b, j)
	if d = LeadingDigits(w); d > n-j {
		d = n - j
	}
	if d <= 0 {
		return v, j
	}
	v, j = v*Pow10[d]+DigitsValue(w, d), j+d
	if d < 8 {
		return v, j
	}
	w = Load8(b, j)
	if d = LeadingDigits(w); d > n-j {
		d = n - j
	}
	if d <= 0 {
		return v, j
	}
	if d > 3 { // 20 digits or more
		return 0, i
	}
	return v*Pow10[d] + DigitsValue(w, d), j + d
}

// ScanIPv4 reads a dotted quad at b[i:] with the rules of netip.ParseAddr
// (four fields 0-255, no leading zeros) and returns it and the index after
// it. It does not check what follows a field of one to three digits:
// "1.2.3.4x" yields 1.2.3.4 and the index of 'x'. A field of four digits
// or more is never valid (a leading zero or above 255), so "1.2.3.4567"
// fails. ok is false when no dotted quad starts at i.
func ScanIPv4(b []byte, i int) (a netip.Addr, j int, ok bool) {
	var ip uint32
	var k int
	if len(b)-i >= 16 {
		ip, k, ok = scanIPv4(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))
	} else {
		// Near the end: a copy with zeros (not digits, not dots) after.
		var tmp [16]byte
		copy(tmp[:], b[i:])
		ip, k, ok = scanIPv4(unsafe.Pointer(&tmp))
	}
	if !ok {
		return a, i, false
	}
	return netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)}), i + k, true
}

// scanIPv4 is ScanIPv4 on 16 readable bytes at p (it reads at most 16).
// ip holds the address with its first field in the high byte.
func scanIPv4(p unsafe.Pointer) (ip uint32, k int, ok bool) {
	v, d := octet(p)
	if d == 0 || *(*byte)(unsafe.Add(p, d)) != '.' {
		return 0, 0, false
	}
	k = d + 1
	ip = v
	if v, d = octet(unsafe.Add(p, k)); d == 0 || *(*byte)(unsafe.Add(p, k+d)) != '.' {
		return 0, 0, false
	}
	k += d + 1
	ip = ip<<8 | v
	if v, d = octet(unsafe.Add(p, k)); d == 0 || *(*byte)(unsafe.Add(p, k+d)) != '.' {
		return 0, 0, false
	}
	k += d + 1
	ip = ip<<8 | v
	if v, d = octet(unsafe.Add(p, k)); d == 0 {
		return 0, 0, false
	}
	return ip<<8 | v, k + d, true
}

// octet reads one to three digits at p (netip's rules: no leading zero,
// at most 255) and returns their value and count; d == 0 when no valid
// field starts at p. A fourth digit is left for the caller to see.
func octet(p unsafe.Pointer) (v uint32, d int) {
	v = uint32(*(*byte)(p)) - '0'
	if v > 9 {
		return 0, 0
	}
	c := uint32(*(*byte)(unsafe.Add(p, 1))) - '0'
	if c > 9 {
		return v, 1
	}
	if v == 0 {
		return 0, 0 // leading zero
	}
	v = v*10 + c
	if c = uint32(*(*byte)(unsafe.Add(p, 2))) - '0'; c > 9 {
		return v, 2
	}
	if v = v*10 + c; v > 255 {
		return 0, 0
	}
	return v, 3
}

// ScanToken returns the index of the first byte at or after b[i] that is
// below '!' (space, tab, control), or len(b).
func ScanToken(b []byte, i int) int {
	n := len(b)
	for {
		w := Load8(b, i)
		// High bit set at the first byte < 0x21 (later bytes may be
		// flagged by the borrow; only the first counts).
		if m := (w - 0x2121212121212121) &^ w & 0x8080808080808080; m != 0 {
			if j := i + bits.TrailingZeros64(m)>>3; j < n {
				return j
			}
			return n
		}
		if i += 8; i >= n {
			return n
		}
	}
}

// Same reports whether s == string(b), comparing eight bytes at a time
// without the runtime's call (for short ids and values that mostly repeat
// the previous line's: the interner's lookups, the AWS reader's caches).
func Same(s string, b []byte) bool {
	n := len(s)
	if n != len(b) {
		return false
	}
	ps, pb := unsafe.Pointer(unsafe.StringData(s)), unsafe.Pointer(unsafe.SliceData(b))
	if n >= 8 {
		for i := 0; i < n-8; i += 8 {
			if *(*uint64)(unsafe.Add(ps, i)) != *(*uint64)(unsafe.Add(pb, i)) {
				return false
			}
		}
		return *(*uint64)(unsafe.Add(ps, n-8)) == *(*uint64)(unsafe.Add(pb, n-8))
	}
	if n >= 4 {
		return *(*uint32)(ps) == *(*uint32)(pb) && *(*uint32)(unsafe.Add(ps, n-4)) == *(*uint32)(unsafe.Add(pb, n-4))
	}
	for i := 0; i < n; i++ {
		if *(*byte)(unsafe.Add(ps, i)) != *(*byte)(unsafe.Add(pb, i)) {
			return false
		}
	}
	return true
}

// SameTail reports whether s == string(b) for len(s) == len(b) >= 8 when
// their first eight bytes are known to agree (the caller compared them).
func SameTail(s string, b []byte) bool {
	n := len(s)
	ps, pb := unsafe.Pointer(unsafe.StringData(s)), unsafe.Pointer(unsafe.SliceData(b))
	for i := 8; i < n-8; i += 8 {
		if *(*uint64)(unsafe.Add(ps, i)) != *(*uint64)(unsafe.Add(pb, i)) {
			return false
		}
	}
	return *(*uint64)(unsafe.Add(ps, n-8)) == *(*uint64)(unsafe.Add(pb, n-8))
}
