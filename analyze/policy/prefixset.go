package policy

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sort"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// PrefixSet answers "is this address inside any of these prefixes" with a
// binary search over merged intervals; it does not allocate per lookup.
type PrefixSet struct {
	v4  []ival4 // IPv4 intervals as 32-bit numbers (the common case)
	v6  []ival
	all []ival // IPv4 while building
}

type ival4 struct{ lo, hi uint32 }

type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }

type ival struct{ lo, hi u128 }

// addrKey maps an address to a comparable 128-bit key within its family.
func addrKey(a netip.Addr) u128 {
	b := a.As16()
	return u128{hi: binary.BigEndian.Uint64(b[:8]), lo: binary.BigEndian.Uint64(b[8:])}
}

func prefixIval(p netip.Prefix) ival {
	p = p.Masked()
	lo := p.Addr()
	bits := p.Addr().BitLen()
	hiB := lo.As16()
	off := 128 - bits
	for i := off + p.Bits(); i < 128; i++ {
		hiB[i/8] |= 0x80 >> (i % 8)
	}
	return ival{addrKey(lo), addrKey(netip.AddrFrom16(hiB))}
}

// NewPrefixSet builds a set from prefixes (invalid ones are ignored).
func NewPrefixSet(ps []netip.Prefix) *PrefixSet {
	s := &PrefixSet{}
	for _, p := range ps {
		if !p.IsValid() {
			continue
		}
		iv := prefixIval(p)
		if p.Addr().Is4() {
			s.all = append(s.all, iv)
		} else {
			s.v6 = append(s.v6, iv)
		}
	}
	for _, iv := range merge(s.all) {
		s.v4 = append(s.v4, ival4{uint32(iv.lo.lo), uint32(iv.hi.lo)})
	}
	s.all = nil
	s.v6 = merge(s.v6)
	return s
}

func merge(v []ival) []ival {
	if len(v) == 0 {
		return nil
	}
	sort.Slice(v, func(i, j int) bool { return v[i].lo.less(v[j].lo) })
	out := v[:1]
	for _, iv := range v[1:] {
		last := &out[len(out)-1]
		if !last.hi.less(iv.lo) || (last.hi.lo+1 == iv.lo.lo && last.hi.hi == iv.lo.hi && last.hi.lo != ^uint64(0)) {
			if last.hi.less(iv.hi) {
				last.hi = iv.hi
			}
			continue
		}
		out = append(out, iv)
	}
	return out
}

// Contains reports whether a (already unmapped) is in the set.
func (s *PrefixSet) Contains(a netip.Addr) bool {
	if a.Is4() {
		v := s.v4
		if len(v) == 0 {
			return false
		}
		b := a.As4()
		k := binary.BigEndian.Uint32(b[:])
		lo, n := 0, len(v) // the last interval with lo <= k, branch-free
		for n > 1 {
			half := n >> 1
			lo += half & int(^((int64(k) - int64(v[lo+half].lo)) >> 63))
			n -= half
		}
		return v[lo].lo <= k && k <= v[lo].hi
	}
	v := s.v6
	if len(v) == 0 {
		return false
	}
	k := addrKey(a)
	lo, hi := 0, len(v) // find the first interval with lo > k
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if k.less(v[m].lo) {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo > 0 && !v[lo-1].hi.less(k)
}
