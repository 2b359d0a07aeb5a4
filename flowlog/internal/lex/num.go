package lex

import (
	"encoding/binary"
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
	n := len(b)
	if n == 0 {
		return 0, NumSyntax
	}
	if n > 19 {
		return parseUintLong(b, max)
	}
	var v uint64
	if n <= 8 && cap(b) >= 8 {
		// One word holds the whole field (the bytes after it belong to the
		// same buffer and are shifted out): left-pad with '0' digits.
		w := Load8(b, 0)
		w = w<<(8*(8-n)) | 0x3030303030303030>>(8*n)
		var ok bool
		if v, ok = parse8(w); !ok {
			return 0, NumSyntax
		}
	} else {
		// Up to 19 digits cannot overflow a uint64: eight digits at a
		// time, then the rest one by one.
		for len(b) >= 8 {
			x, ok := parse8(binary.LittleEndian.Uint64(b))
			if !ok {
				return 0, NumSyntax
			}
			v = v*100000000 + x
			b = b[8:]
		}
		for _, c := range b {
			d := c - '0'
			if d > 9 {
				return 0, NumSyntax
			}
			v = v*10 + uint64(d)
		}
	}
	if v > max {
		return 0, NumOverflow
	}
	return v, NumOK
}

// parse8 converts eight ASCII digits (first digit in the lowest byte) with
// SWAR arithmetic; ok is false unless all eight are digits.
func parse8(v uint64) (uint64, bool) {
	if v&0xf0f0f0f0f0f0f0f0 != 0x3030303030303030 {
		return 0, false
	}
	x := v & 0x0f0f0f0f0f0f0f0f
	if (x+0x0606060606060606)&0xf0f0f0f0f0f0f0f0 != 0 {
		return 0, false // a nibble above 9 (':' to '?')
	}
	x = (x * 2561) >> 8
	x &= 0x00ff00ff00ff00ff
	x = (x * 6553601) >> 16
	x &= 0x0000ffff0000ffff
	x = (x * 42949672960001) >> 32
	return x, true
}

// parseUintLong handles more than 19 digits (leading zeros, or overflow).
func parseUintLong(b []byte, max uint64) (uint64, NumErr) {
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
	i := 0
	for f := 0; f < 4; f++ {
		if f > 0 {
			if i >= len(b) || b[i] != '.' {
				return netip.Addr{}, false
			}
			i++
		}
		if i >= len(b) {
			return netip.Addr{}, false
		}
		v := uint(b[i] - '0')
		if v > 9 {
			return netip.Addr{}, false
		}
		i++
		if i < len(b) && b[i]-'0' <= 9 {
			if v == 0 {
				return netip.Addr{}, false // leading zero
			}
			v = v*10 + uint(b[i]-'0')
			i++
			if i < len(b) && b[i]-'0' <= 9 {
				v = v*10 + uint(b[i]-'0')
				i++
				if v > 255 {
					return netip.Addr{}, false
				}
			}
		}
		ip[f] = byte(v)
	}
	if i != len(b) {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(ip), true
}
