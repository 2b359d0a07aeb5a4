package verdict

import (
	"encoding/binary"
	"net/netip"
)

// This file holds the flat lookup structures of the compiled evaluator:
// a static 16-ary search tree over the IPv4 address space, a binary search
// over the IPv6 one, and the step functions over the (protocol, port) key
// space. None of them allocates on lookup.

// u128 is an address as a 128-bit big-endian number (IPv4 in the low 32
// bits).
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }

func (a u128) lessEq(b u128) bool { return !b.less(a) }

// inc returns a+1 and whether it overflowed the 128-bit space.
func (a u128) inc() (u128, bool) {
	lo := a.lo + 1
	hi := a.hi
	if lo == 0 {
		hi++
		if hi == 0 {
			return u128{}, true
		}
	}
	return u128{hi, lo}, false
}

// dec returns a-1 (a > 0).
func (a u128) dec() u128 {
	if a.lo == 0 {
		return u128{a.hi - 1, ^uint64(0)}
	}
	return u128{a.hi, a.lo - 1}
}

func key6(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func key4(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

// prefixRange returns the first and last address of p within its family
// (IPv4 in the low 32 bits).
func prefixRange(p netip.Prefix) (lo, hi u128) {
	p = p.Masked()
	if p.Addr().Is4() {
		l := key4(p.Addr())
		h := l | uint32(uint64(1)<<(32-p.Bits())-1)
		return u128{0, uint64(l)}, u128{0, uint64(h)}
	}
	lo = key6(p.Addr())
	hi = lo
	switch b := p.Bits(); {
	case b == 0:
		hi = u128{^uint64(0), ^uint64(0)}
	case b < 64:
		hi.hi |= ^uint64(0) >> b
		hi.lo = ^uint64(0)
	case b < 128:
		hi.lo |= ^uint64(0) >> (b - 64)
	}
	return lo, hi
}

// index4 maps an IPv4 address to the value of the elementary interval
// holding it. starts[0] is 0, so every address has an interval. For more
// than 16 intervals a static 16-ary search tree (levels[k] holds every
// 16^(k+1)-th start) narrows the search to one 64-byte block per level.
type index4[V any] struct {
	starts []uint32
	vals   []V
	levels [][]uint32 // levels[len-1] has at most 16 keys
}

func newIndex4[V any](starts []uint32, vals []V) index4[V] {
	ix := index4[V]{starts: starts, vals: vals}
	cur := starts
	for len(cur) > 16 {
		next := make([]uint32, (len(cur)+15)/16)
		for i := range next {
			next[i] = cur[i*16]
		}
		ix.levels = append(ix.levels, next)
		cur = next
	}
	return ix
}

// leMask is all ones when v <= k, else 0, without a branch (the binary
// searches below are unpredictable by nature).
func leMask(v, k uint32) int { return int(^((int64(k) - int64(v)) >> 63)) }

// searchBlock returns the index in blk (ascending, blk[0] <= k) of the last
// key <= k; branch-free.
func searchBlock(blk []uint32, k uint32) int {
	lo, n := 0, len(blk)
	for n > 1 {
		half := n >> 1
		lo += half & leMask(blk[lo+half], k)
		n -= half
	}
	return lo
}

func (ix *index4[V]) find(k uint32) V { return ix.vals[ix.pos(k)] }

// pos returns the index of the elementary interval holding k.
func (ix *index4[V]) pos(k uint32) int {
	i := 0 // block index in the level below
	for l := len(ix.levels) - 1; l >= 0; l-- {
		lv := ix.levels[l]
		base := i * 16
		i = base + searchBlock(lv[base:min(base+16, len(lv))], k)
	}
	base := i * 16
	return base + searchBlock(ix.starts[base:min(base+16, len(ix.starts))], k)
}

// index6 is the IPv6 counterpart of index4 (plain binary search; IPv6
// rule sets are small in practice).
type index6[V any] struct {
	starts []u128
	vals   []V
}

func (ix *index6[V]) find(k u128) V { return ix.vals[ix.pos(k)] }

// pos returns the index of the elementary interval holding k.
func (ix *index6[V]) pos(k u128) int {
	lo, n := 0, len(ix.starts)
	for n > 1 {
		half := n >> 1
		d := 0
		if ix.starts[lo+half].lessEq(k) {
			d = half
		}
		lo += d
		n -= half
	}
	return lo
}

// A step is one run of a step function over the key space of protoKey
// while compiling: from start up to the next step's start the value is
// first. Compiled chains store the functions as parallel key and value
// arrays (cchain.skeys, cchain.svals).
type step struct {
	start uint32
	first int32
}
