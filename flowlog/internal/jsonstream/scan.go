package jsonstream

import (
	"bytes"
	"math/bits"
	"unicode/utf8"

	"github.com/flowsift/flowsift/flowlog/internal/lex"
)

// Byte-level helpers for hand-written fast paths over one JSON value. They
// accept a strict subset of what fastjson accepts and give the same bytes
// fastjson would give (a string's unescaped text, a number's literal), so
// that a fast path built on them and falling back to fastjson whenever
// one of them says no reads every input exactly as fastjson does.

// SkipWS returns the index of the first byte at or after i that is not
// JSON whitespace (space, tab, CR, LF: fastjson's set).
func SkipWS(b []byte, i int) int {
	if i < len(b) && b[i] > ' ' {
		return i // the common case, inlined
	}
	return skipWS(b, i)
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// StringEnd returns the index of the closing quote of the string whose
// content starts at i (just past the opening quote) and whether the
// content holds a backslash; -1 when the string is not closed. The
// closing quote is the first one not escaped, as in fastjson.
func StringEnd(b []byte, i int) (end int, esc bool) {
	// Eight bytes at a time: find the first '"' or '\\' in a word with
	// the exact zero-byte test (the lowest flagged byte is a true match).
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	j := i
	for {
		for j+8 <= len(b) {
			// The loop condition bounds the load: no slice bounds check.
			x := lex.Load8(b, j)
			q := x ^ (lo * '"')
			s := x ^ (lo * '\\')
			m := ((q - lo) &^ q) | ((s - lo) &^ s)
			if m &= hi; m != 0 {
				j += bits.TrailingZeros64(m) >> 3
				goto found
			}
			j += 8
		}
		for j < len(b) && b[j] != '"' && b[j] != '\\' {
			j++
		}
		if j >= len(b) {
			return -1, esc
		}
	found:
		if b[j] == '"' {
			return j, esc
		}
		esc = true
		j += 2 // a backslash escapes the next byte, whatever it is
		if j > len(b) {
			return -1, esc
		}
	}
}

// Unescape appends the unescaped text of raw string content to dst as
// fastjson does. ok is false for escapes whose fastjson rendering it
// does not reproduce (UTF-16 surrogates, unknown or short escapes): the
// caller then falls back to fastjson.
func Unescape(dst, raw []byte) ([]byte, bool) {
	for {
		n := bytes.IndexByte(raw, '\\')
		if n < 0 {
			return append(dst, raw...), true
		}
		dst = append(dst, raw[:n]...)
		if n+1 >= len(raw) {
			return dst, false
		}
		c := raw[n+1]
		raw = raw[n+2:]
		switch c {
		case '"', '\\', '/':
			dst = append(dst, c)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			if len(raw) < 4 {
				return dst, false
			}
			var x rune
			for _, h := range raw[:4] {
				switch {
				case h >= '0' && h <= '9':
					x = x<<4 | rune(h-'0')
				case h >= 'a' && h <= 'f':
					x = x<<4 | rune(h-'a'+10)
				case h >= 'A' && h <= 'F':
					x = x<<4 | rune(h-'A'+10)
				default:
					return dst, false
				}
			}
			if x >= 0xd800 && x < 0xe000 {
				return dst, false // surrogate: fastjson's pairing rules
			}
			dst = utf8.AppendRune(dst, x)
			raw = raw[4:]
		default:
			return dst, false
		}
	}
}

// NumberEnd returns the end of the number token at i as fastjson cuts it
// (the run of digits, '.', '-', '+', 'e', 'E'); ok is false unless the
// token starts with a digit or with '-' and a digit (the shapes fastjson
// always accepts as a number).
func NumberEnd(b []byte, i int) (int, bool) {
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	if j >= len(b) || b[j] < '0' || b[j] > '9' {
		return i, false
	}
	for j < len(b) {
		c := b[j]
		if c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E' {
			j++
			continue
		}
		break
	}
	return j, true
}

// MaxSkipDepth bounds the nesting Skip follows (fastjson allows 300).
const MaxSkipDepth = 64

// Skip returns the index just past the value starting at b[i] (i at its
// first byte), or -1 when the value is not one fastjson would accept, is
// nested deeper than depth, or uses a shape the fast paths leave to
// fastjson (NaN, Inf, '+' numbers, keys with escapes).
func Skip(b []byte, i int, depth int) int {
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; {
	case c == '"':
		end, _ := StringEnd(b, i+1)
		if end < 0 {
			return -1
		}
		return end + 1
	case c == '{':
		if depth <= 0 {
			return -1
		}
		i = SkipWS(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1
		}
		for {
			if i >= len(b) || b[i] != '"' {
				return -1
			}
			end, esc := StringEnd(b, i+1)
			if end < 0 || esc {
				return -1
			}
			i = SkipWS(b, end+1)
			if i >= len(b) || b[i] != ':' {
				return -1
			}
			if i = Skip(b, SkipWS(b, i+1), depth-1); i < 0 {
				return -1
			}
			i = SkipWS(b, i)
			if i >= len(b) {
				return -1
			}
			if b[i] == '}' {
				return i + 1
			}
			if b[i] != ',' {
				return -1
			}
			i = SkipWS(b, i+1)
		}
	case c == '[':
		if depth <= 0 {
			return -1
		}
		i = SkipWS(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1
		}
		for {
			if i = Skip(b, i, depth-1); i < 0 {
				return -1
			}
			i = SkipWS(b, i)
			if i >= len(b) {
				return -1
			}
			if b[i] == ']' {
				return i + 1
			}
			if b[i] != ',' {
				return -1
			}
			i = SkipWS(b, i+1)
		}
	case c == 't':
		return lit(b, i, "true")
	case c == 'f':
		return lit(b, i, "false")
	case c == 'n':
		return lit(b, i, "null")
	default:
		end, ok := NumberEnd(b, i)
		if !ok {
			return -1
		}
		return end
	}
}

func lit(b []byte, i int, s string) int {
	if len(b)-i >= len(s) && string(b[i:i+len(s)]) == s {
		return i + len(s)
	}
	return -1
}
