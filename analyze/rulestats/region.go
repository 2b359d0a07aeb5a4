package rulestats

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/flowsift/flowsift/analyze/policy"
)

// Region arithmetic over Boxes, exported for analyze/whatif (the allowed
// space of a scope before and after a policy change). A region is a slice
// of pairwise disjoint boxes.

// FullBox is the whole space of one address family (4 or 6).
func FullBox(fam uint8) Box {
	return Box{fam: fam, d: [nDims]ival{full8, full16, full16, full8, full8, famIval(fam), famIval(fam)}}
}

// Everything is the whole space: FullBox(4) and FullBox(6).
func Everything() []Box { return []Box{FullBox(4), FullBox(6)} }

// RemoteIn is the whole space of p's family with the remote address in p.
func RemoteIn(p netip.Prefix) Box {
	b := FullBox(famOf(p))
	b.d[dRemote] = prefixIval(p)
	return b
}

// WithPorts is b with its destination ports narrowed to lo-hi (an empty
// intersection yields a box whose port interval is inverted: it meets
// nothing).
func (b Box) WithPorts(lo, hi uint16) Box {
	b.d[dPort] = ival{maxU(b.d[dPort].lo, small(uint64(lo))), minU(b.d[dPort].hi, small(uint64(hi)))}
	return b
}

// Allowed returns the part of the region within that chain c admits as a
// new connection: first-match evaluation over whole regions, each rule
// counting for what it matches with certainty (definite boxes), the chain's
// default for the rest. ok is false when within splits into more than
// limit cells (the result is then nil).
func Allowed(c *policy.Chain, within []Box, limit int) (out []Box, ok bool) {
	var cands []owned
	for i, r := range c.Rules {
		for _, b := range definiteBoxes(r) {
			cands = append(cands, owned{b, i})
		}
	}
	n := 0
	for _, w := range within {
		if !partition(w, cands, func(cell Box, owner int) bool {
			if n++; n > limit {
				return false
			}
			a := c.Default.Action
			if owner >= 0 {
				a = c.Rules[owner].Action
			}
			if a == policy.Allow {
				out = append(out, cell)
			}
			return true
		}) {
			return nil, false
		}
	}
	return out, true
}

// Subtract returns the region as \ bs, cut short at limit boxes.
func Subtract(as, bs []Box, limit int) []Box {
	cur := as
	for i := range bs {
		b := &bs[i]
		var next []Box
		for _, a := range cur {
			if !a.overlaps(b) {
				next = append(next, a)
				continue
			}
			rest := a
			for d := 0; d < nDims; d++ {
				ri, bi := rest.d[d], b.d[d]
				if ri.lo.less(bi.lo) {
					p := rest
					p.d[d] = ival{ri.lo, bi.lo.dec()}
					next = append(next, p)
				}
				if bi.hi.less(ri.hi) {
					p := rest
					p.d[d] = ival{bi.hi.inc(), ri.hi}
					next = append(next, p)
				}
				rest.d[d] = ival{maxU(ri.lo, bi.lo), minU(ri.hi, bi.hi)}
			}
		}
		cur = next
		if len(cur) > limit {
			return cur[:limit]
		}
	}
	return cur
}

// Merge joins boxes that differ in one dimension only where they are
// adjacent, and drops duplicates, in place (regions of 2000 boxes or more
// are left as they are).
func Merge(bs []Box) []Box {
	for changed := true; changed && len(bs) < 2000; {
		changed = false
		for i := 0; i < len(bs) && !changed; i++ {
			for j := i + 1; j < len(bs) && !changed; j++ {
				a, b := &bs[i], &bs[j]
				if a.fam != b.fam {
					continue
				}
				diff := -1
				for d := 0; d < nDims; d++ {
					if a.d[d] != b.d[d] {
						if diff >= 0 {
							diff = -2
							break
						}
						diff = d
					}
				}
				if diff < 0 {
					if diff == -1 { // equal
						bs = append(bs[:j], bs[j+1:]...)
						changed = true
					}
					continue
				}
				x, y := a.d[diff], b.d[diff]
				if x.hi.inc() == y.lo || y.hi.inc() == x.lo {
					a.d[diff] = ival{minU(x.lo, y.lo), maxU(x.hi, y.hi)}
					bs = append(bs[:j], bs[j+1:]...)
					changed = true
				}
			}
		}
	}
	return bs
}

// String describes b for people: "tcp port 22 remote 198.51.100.0/24"
// (dimensions spanning their whole range are left out).
func (b Box) String() string {
	var parts []string
	switch p := b.d[dProto]; {
	case p == full8:
		parts = append(parts, "all protocols")
	case p.lo == p.hi:
		parts = append(parts, policy.ProtoText(int16(p.lo.lo)))
	default:
		parts = append(parts, "protocols "+ivalText(p, full8))
	}
	if s := ivalText(b.d[dPort], full16); s != "" {
		parts = append(parts, "port "+s)
	}
	if s := ivalText(b.d[dSport], full16); s != "" {
		parts = append(parts, "source port "+s)
	}
	if s := ivalText(b.d[dType], full8); s != "" {
		parts = append(parts, "icmp type "+s)
	}
	if s := ivalText(b.d[dCode], full8); s != "" {
		parts = append(parts, "icmp code "+s)
	}
	parts = append(parts, "remote "+rangeText(b.fam, b.d[dRemote]))
	if b.d[dLocal] != famIval(b.fam) {
		parts = append(parts, "local "+rangeText(b.fam, b.d[dLocal]))
	}
	return strings.Join(parts, " ")
}

func ivalText(v ival, full ival) string {
	if v == full {
		return ""
	}
	if v.lo == v.hi {
		return fmt.Sprint(v.lo.lo)
	}
	return fmt.Sprintf("%d-%d", v.lo.lo, v.hi.lo)
}

// rangeText writes an address interval as prefixes (at most 4, then "…").
func rangeText(fam uint8, v ival) string {
	var ps []string
	lo := v.lo
	bitsN := 32
	if fam == 6 {
		bitsN = 128
	}
	for n := 0; ; n++ {
		if n == 4 {
			ps = append(ps, "… to "+keyAddr(fam, v.hi).String())
			break
		}
		// Largest prefix starting at lo within v.
		size := 0
		for size < bitsN {
			s := size + 1
			mask := hostMask(s)
			if (lo.hi&mask.hi) != 0 || (lo.lo&mask.lo) != 0 {
				break
			}
			end := u128{lo.hi | mask.hi, lo.lo | mask.lo}
			if v.hi.less(end) {
				break
			}
			size = s
		}
		ps = append(ps, netip.PrefixFrom(keyAddr(fam, lo), bitsN-size).String())
		end := u128{lo.hi | hostMask(size).hi, lo.lo | hostMask(size).lo}
		if !end.less(v.hi) {
			break
		}
		lo = end.inc()
	}
	return strings.Join(ps, ",")
}

// hostMask has the low n bits set.
func hostMask(n int) u128 {
	switch {
	case n <= 0:
		return u128{}
	case n >= 128:
		return u128{^uint64(0), ^uint64(0)}
	case n >= 64:
		return u128{1<<(n-64) - 1, ^uint64(0)}
	}
	return u128{0, 1<<n - 1}
}
