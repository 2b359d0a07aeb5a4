package flowlog

import (
	"encoding/binary"
	"unsafe"

	"github.com/flowsift/flowsift/flowlog/internal/lex"
)

// Interner deduplicates the strings a reader sees again and again (ENI, VPC,
// subnet and account ids, regions, service names). Looking up a []byte that
// was seen before does not allocate. It is bounded: past Max distinct strings
// it stops remembering new ones (they are still returned, allocated), so a
// stream of unique values cannot grow memory without bound. Not safe for
// concurrent use: give each reader its own.
type Interner struct {
	Max int // distinct strings kept; 0 means 1<<16
	// tab is an open-addressing table (linear probing, power-of-two size,
	// at most half full, so a probe always ends at an empty slot).
	tab   []internEntry
	n     int  // strings in tab
	shift uint // 64 - log2(len(tab)): a hash's slot is h >> shift
}

// internEntry is a string and its hash (compared first: a probe rarely
// compares bytes it does not return).
type internEntry struct {
	h uint64
	s string
}

// internHash mixes the length and the first, middle and last eight bytes:
// ids differ at either end (eni-…, subnet-0a…/subnet-0g…, addresses).
func internHash(b []byte) uint64 {
	n := len(b)
	h := uint64(n) * 0x9e3779b97f4a7c15
	if n >= 8 {
		h ^= binary.LittleEndian.Uint64(b)
		h *= 0xff51afd7ed558ccd
		h ^= binary.LittleEndian.Uint64(b[n-8:])
		if n > 16 {
			h *= 0xc4ceb9fe1a85ec53
			h ^= binary.LittleEndian.Uint64(b[n/2-4:])
		}
	} else {
		for _, c := range b {
			h = h<<8 | uint64(c)
		}
	}
	return h * 0xff51afd7ed558ccd // the top bits depend on every input bit: index by them
}

// Bytes returns the interned string equal to b.
func (in *Interner) Bytes(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if in.tab == nil {
		in.tab, in.shift = make([]internEntry, 1024), 64-10
	}
	h := internHash(b)
	mask := uint64(len(in.tab) - 1)
	for i := h >> in.shift; ; i = (i + 1) & mask {
		e := &in.tab[i]
		if e.h == h && lex.Same(e.s, b) {
			return e.s
		}
		if e.s == "" {
			return in.add(i, h, string(b))
		}
	}
}

// String returns the interned copy of s.
func (in *Interner) String(s string) string {
	// s may alias a reader's buffer: Bytes copies what it keeps.
	return in.Bytes(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// add keeps s (hash h) at the empty slot i (when under Max) and returns it.
func (in *Interner) add(i, h uint64, s string) string {
	max := in.Max
	if max == 0 {
		max = 1 << 16
	}
	if in.n >= max {
		return s
	}
	in.tab[i] = internEntry{h, s}
	in.n++
	if 2*in.n > len(in.tab) {
		in.grow()
	}
	return s
}

func (in *Interner) grow() {
	old := in.tab
	in.tab, in.shift = make([]internEntry, 2*len(old)), in.shift-1
	mask := uint64(len(in.tab) - 1)
	for _, e := range old {
		if e.s == "" {
			continue
		}
		i := e.h >> in.shift
		for in.tab[i].s != "" {
			i = (i + 1) & mask
		}
		in.tab[i] = e
	}
}
