package lex

import (
	"bytes"
	"math/bits"
)

// Fields splits line at runs of spaces and tabs, ignoring leading and
// trailing ones (as awk does), appending the fields to dst[:0]. It returns
// the fields and the true count, which may exceed cap(dst): then only the
// first cap(dst) fields are returned. It is Spans turned into slices, which
// keep the capacity of line.
func Fields(line []byte, dst [][]byte) ([][]byte, int) {
	var buf [96]Span
	spans := buf[:]
	if cap(dst) > len(buf) {
		spans = make([]Span, cap(dst))
	}
	spans = spans[:cap(dst)]
	n := Spans(line, spans)
	dst = dst[:0]
	for _, sp := range spans[:min(n, len(spans))] {
		dst = append(dst, line[sp.Lo:sp.Hi])
	}
	return dst, n
}

// IsBlank reports whether line holds only spaces and tabs.
func IsBlank(line []byte) bool {
	for _, c := range line {
		if c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}

// Span is a field's position in its line: line[Lo:Hi].
type Span struct{ Lo, Hi int32 }

// Spans splits line at runs of spaces and tabs, ignoring leading and
// trailing ones (as awk does), storing each field's position (cheaper than a
// slice: two integers, no pointer) for the hot path of the AWS text reader.
// It returns the number of fields, which may exceed len(dst); only the first
// len(dst) spans are filled. Lines longer than 2 GiB are not supported
// (lex.Lines cuts lines at MaxLine).
//
// A line without tabs is split 8 bytes at a time (SWAR: a word XOR 0x20..
// has a zero byte exactly where a space was), walking the set bits, so the
// cost follows the number of fields rather than a branch per byte. Words are
// loaded without bounds checks: the loop condition keeps every load inside
// line.
func Spans(line []byte, dst []Span) int {
	if bytes.IndexByte(line, '\t') >= 0 {
		// Rare (tabs): a plain scan.
		n, start := 0, -1
		for i, c := range line {
			if c == ' ' || c == '\t' {
				if start >= 0 {
					if n < len(dst) {
						dst[n] = Span{int32(start), int32(i)}
					}
					n++
					start = -1
				}
			} else if start < 0 {
				start = i
			}
		}
		if start >= 0 {
			if n < len(dst) {
				dst[n] = Span{int32(start), int32(len(line))}
			}
			n++
		}
		return n
	}
	const (
		lo7  = 0x7f7f7f7f7f7f7f7f
		spc8 = 0x2020202020202020
	)
	n, start, i := 0, 0, 0
	if len(line) >= 8 {
		for ; i+8 <= len(line); i += 8 {
			x := Load8(line, i) ^ spc8
			m := ^(((x & lo7) + lo7) | x | lo7)
			for m != 0 {
				p := i + bits.TrailingZeros64(m)>>3
				if p > start {
					if uint(n) < uint(len(dst)) {
						dst[n] = Span{int32(start), int32(p)}
					}
					n++
				}
				start = p + 1
				m &= m - 1
			}
		}
	}
	for ; i < len(line); i++ {
		if line[i] == ' ' {
			if i > start {
				if n < len(dst) {
					dst[n] = Span{int32(start), int32(i)}
				}
				n++
			}
			start = i + 1
		}
	}
	if len(line) > start {
		if n < len(dst) {
			dst[n] = Span{int32(start), int32(len(line))}
		}
		n++
	}
	return n
}
