package policy

import (
	"fmt"
	"net/netip"
	"sort"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// PrefixSet answers "is this address inside any of these prefixes" with a
// binary search over merged intervals; it does not allocate per lookup.
type PrefixSet struct {
	v4 []ival
	v6 []ival
}

type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }

type ival struct{ lo, hi u128 }

// AddrKey maps an address to a comparable 128-bit key within its family.
func addrKey(a netip.Addr) u128 {
	b := a.As16()
	return u128{
		hi: uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 | uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7]),
		lo: uint64(b[8])<<56 | uint64(b[9])<<48 | uint64(b[10])<<40 | uint64(b[11])<<32 | uint64(b[12])<<24 | uint64(b[13])<<16 | uint64(b[14])<<8 | uint64(b[15]),
	}
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
			s.v4 = append(s.v4, iv)
		} else {
			s.v6 = append(s.v6, iv)
		}
	}
	s.v4 = merge(s.v4)
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
	v := s.v6
	if a.Is4() {
		v = s.v4
	}
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
