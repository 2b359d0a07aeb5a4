package lex

import (
	"net/netip"
	"unsafe"
)

// NumErr says why ParseUint failed.
type NumErr uint8

const (
	NumOK       NumErr = iota
	NumSyntax          // not ASCII digits only (sign, space, 0x, fraction, empty)
	NumOverflow        // larger than the limit
)

// ParseUint parses ASCII digits only (leading zeros allowed) and checks the
// value against max (FORMATS.md 2.6).
func ParseUint(b []byte, max uint64) (uint64, NumErr) {
	if len(b) == 0 {
		return 0, NumSyntax
	}
	var n uint64
	overflow := false
	for _, c := range b {
		d := c - '0'
		if d > 9 {
			return 0, NumSyntax
		}
		if n > (1<<64-1-9)/10 {
			overflow = true // keep scanning: a later non-digit is a syntax error
			continue
		}
		n = n*10 + uint64(d)
	}
	if overflow || n > max {
		return 0, NumOverflow
	}
	return n, NumOK
}

// ParseUintString is ParseUint for a string.
func ParseUintString(s string, max uint64) (uint64, NumErr) {
	return ParseUint(unsafe.Slice(unsafe.StringData(s), len(s)), max)
}

// Limits used by the readers.
const (
	MaxInt64 = 1<<63 - 1
	MaxInt32 = 1<<31 - 1
	MaxPort  = 65535
	MaxProto = 255
)

// ParseAddr parses b exactly as netip.ParseAddr does, but rejects zones
// (FORMATS.md 1.2). It does not allocate.
func ParseAddr(b []byte) (netip.Addr, bool) {
	if len(b) == 0 || len(b) > 64 {
		return netip.Addr{}, false
	}
	if a, ok := parseIPv4(b); ok {
		return a, true
	}
	for _, c := range b {
		if c == '%' {
			return netip.Addr{}, false
		}
	}
	// The string view is not retained: ParseAddr keeps only zones, refused above.
	a, err := netip.ParseAddr(unsafe.String(&b[0], len(b)))
	return a, err == nil
}

// ParseAddrString is ParseAddr for a string.
func ParseAddrString(s string) (netip.Addr, bool) {
	return ParseAddr(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// String returns a temporary string view of b; it must not be retained
// beyond the life of b's contents.
func String(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// parseIPv4 is a fast path for dotted quads. It accepts exactly what
// netip.ParseAddr accepts for IPv4 (four decimal fields, each 0-255, no
// leading zeros) and yields the same Addr; anything else returns false and
// the caller falls back to netip (FuzzParseAddr checks the agreement).
func parseIPv4(b []byte) (netip.Addr, bool) {
	var ip [4]byte
	field, val, digits := 0, 0, 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			if digits == 1 && val == 0 {
				return netip.Addr{}, false // leading zero
			}
			val = val*10 + int(c-'0')
			digits++
			if val > 255 {
				return netip.Addr{}, false
			}
		case c == '.':
			if digits == 0 || field == 3 {
				return netip.Addr{}, false
			}
			ip[field] = byte(val)
			field++
			val, digits = 0, 0
		default:
			return netip.Addr{}, false
		}
	}
	if field != 3 || digits == 0 {
		return netip.Addr{}, false
	}
	ip[3] = byte(val)
	return netip.AddrFrom4(ip), true
}
