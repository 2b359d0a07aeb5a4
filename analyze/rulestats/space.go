package rulestats

import (
	"net/netip"

	"github.com/flowsift/flowsift/analyze/policy"
)

// The match space of a rule is a union of boxes over seven dimensions, one
// box per combination of its remote prefix, local prefix, port range and
// source-port range. Dimensions a protocol does not use (ports for ICMP, ICMP
// type for TCP) span their whole range in every box, so they never split a
// comparison. Every bound is an inclusive 128-bit integer: exact interval
// arithmetic, no sampling.

type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }

func (a u128) inc() u128 {
	if a.lo == ^uint64(0) {
		return u128{a.hi + 1, 0}
	}
	return u128{a.hi, a.lo + 1}
}

func (a u128) dec() u128 {
	if a.lo == 0 {
		return u128{a.hi - 1, ^uint64(0)}
	}
	return u128{a.hi, a.lo - 1}
}

func small(v uint64) u128 { return u128{0, v} }

type ival struct{ lo, hi u128 }

func (a ival) contains(b ival) bool { return !b.lo.less(a.lo) && !a.hi.less(b.hi) }
func (a ival) overlaps(b ival) bool { return !a.hi.less(b.lo) && !b.hi.less(a.lo) }

// Dimensions of a box.
const (
	dProto = iota
	dPort
	dSport
	dType
	dCode
	dRemote
	dLocal
	nDims
)

// Box is one region of the match space: a product of inclusive intervals
// over protocol, destination port, source port, ICMP type, ICMP code, remote
// address and local address, within one address family. The zero Box is
// empty of meaning; build boxes with FullBox and its With methods.
type Box struct {
	fam uint8 // 4 or 6: remote and local addresses share the family
	d   [nDims]ival
}

func (b *Box) overlaps(c *Box) bool {
	if b.fam != c.fam {
		return false
	}
	for i := range b.d {
		if !b.d[i].overlaps(c.d[i]) {
			return false
		}
	}
	return true
}

func (b *Box) containsBox(c *Box) bool {
	if b.fam != c.fam {
		return false
	}
	for i := range b.d {
		if !b.d[i].contains(c.d[i]) {
			return false
		}
	}
	return true
}

var (
	full8   = ival{small(0), small(255)}
	full16  = ival{small(0), small(65535)}
	fullV4  = ival{small(0), small(1<<32 - 1)}
	fullV6  = ival{u128{}, u128{^uint64(0), ^uint64(0)}}
	portsHi = ival{small(1024), small(65535)}
)

func famIval(fam uint8) ival {
	if fam == 4 {
		return fullV4
	}
	return fullV6
}

// addrKey maps an unmapped address to its integer within its family.
func addrKey(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return small(uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3]))
	}
	b := a.As16()
	var k u128
	for i := 0; i < 8; i++ {
		k.hi = k.hi<<8 | uint64(b[i])
		k.lo = k.lo<<8 | uint64(b[8+i])
	}
	return k
}

func keyAddr(fam uint8, k u128) netip.Addr {
	if fam == 4 {
		v := k.lo
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	var b [16]byte
	for i := 0; i < 8; i++ {
		b[i] = byte(k.hi >> (56 - 8*i))
		b[8+i] = byte(k.lo >> (56 - 8*i))
	}
	return netip.AddrFrom16(b)
}

func famOf(p netip.Prefix) uint8 {
	if p.Addr().Is4() {
		return 4
	}
	return 6
}

// prefixIval is the address interval of p (host bits masked).
func prefixIval(p netip.Prefix) ival {
	p = p.Masked()
	lo := addrKey(p.Addr())
	host := p.Addr().BitLen() - p.Bits()
	var span u128 // 2^host - 1
	switch {
	case host >= 128:
		span = u128{^uint64(0), ^uint64(0)}
	case host >= 64:
		span = u128{1<<(host-64) - 1, ^uint64(0)}
	default:
		span = u128{0, 1<<host - 1}
	}
	return ival{lo, u128{lo.hi | span.hi, lo.lo | span.lo}}
}

// exact reports whether the whole match space of r is known: no undecidable
// condition, no address-text pattern.
func exact(r *policy.Rule) bool {
	return r.Unknown == "" && r.RemoteUnknown == "" && len(r.RemoteGlob) == 0
}

// definiteBoxes is the part of r's match space it matches with certainty:
// nothing for a rule with an undecidable condition on every record, the
// listed prefixes for a rule whose other peers are undecidable.
func definiteBoxes(r *policy.Rule) []Box {
	if r.Unknown != "" {
		return nil
	}
	return ruleBoxes(r, r.Remote, false)
}

// possibleBoxes over-approximates the space r may match: an undecidable
// remote becomes every address, an undecidable rule ignores its ports.
func possibleBoxes(r *policy.Rule) []Box {
	if exact(r) {
		return ruleBoxes(r, r.Remote, false)
	}
	return ruleBoxes(r, []netip.Prefix{policy.AllV4, policy.AllV6}, r.Unknown != "")
}

func ruleBoxes(r *policy.Rule, remote []netip.Prefix, anyPort bool) []Box {
	var out []Box
	proto := full8
	if r.Proto >= 0 {
		proto = ival{small(uint64(r.Proto)), small(uint64(r.Proto))}
	}
	ports, sports := []ival{full16}, []ival{full16}
	typ, code := full8, full8
	switch r.Proto {
	case 6, 17:
		if !anyPort {
			ports, sports = portIvals(r.Ports), portIvals(r.SrcPorts)
		}
	case 1, 58:
		if r.ICMPType >= 0 {
			typ = ival{small(uint64(r.ICMPType)), small(uint64(r.ICMPType))}
		}
		if r.ICMPCode >= 0 {
			code = ival{small(uint64(r.ICMPCode)), small(uint64(r.ICMPCode))}
		}
	}
	for _, fam := range []uint8{4, 6} {
		var locals []ival
		if r.Local == nil {
			locals = []ival{famIval(fam)}
		} else {
			for _, p := range r.Local {
				if p.IsValid() && famOf(p) == fam {
					locals = append(locals, prefixIval(p))
				}
			}
		}
		for _, rp := range remote {
			if !rp.IsValid() || famOf(rp) != fam {
				continue
			}
			rem := prefixIval(rp)
			for _, l := range locals {
				for _, p := range ports {
					for _, s := range sports {
						out = append(out, Box{fam: fam, d: [nDims]ival{proto, p, s, typ, code, rem, l}})
					}
				}
			}
		}
	}
	return out
}

func portIvals(rs []policy.PortRange) []ival {
	if len(rs) == 0 {
		return []ival{full16}
	}
	out := make([]ival, 0, len(rs))
	for _, r := range rs {
		lo, hi := r.Lo, r.Hi
		if lo > hi {
			lo, hi = hi, lo
		}
		out = append(out, ival{small(uint64(lo)), small(uint64(hi))})
	}
	return out
}

// owned is a box that belongs to a rule at some position of a list.
type owned struct {
	Box
	owner int
}

// partition splits b into cells such that in each cell the first box of
// cands (in list order) that meets the cell contains all of it, and calls fn
// with each cell and that box's owner, or -1 when no box meets the cell. It
// stops early when fn returns false and reports whether it ran to the end.
// This is first-match evaluation over whole regions: split by the first
// candidate that meets the region, recurse on its inside and outside parts.
func partition(b Box, cands []owned, fn func(cell Box, owner int) bool) bool {
	for i := range cands {
		c := &cands[i]
		if !c.overlaps(&b) {
			continue
		}
		if c.containsBox(&b) {
			return fn(b, c.owner)
		}
		rest := cands[i+1:]
		// Cut b along the first dimension where c does not contain it; the
		// part inside c on that dimension recurses with c still first.
		for d := 0; d < nDims; d++ {
			bi, ci := b.d[d], c.d[d]
			if ci.contains(bi) {
				continue
			}
			if bi.lo.less(ci.lo) {
				lower := b
				lower.d[d] = ival{bi.lo, ci.lo.dec()}
				if !partition(lower, rest, fn) {
					return false
				}
			}
			if ci.hi.less(bi.hi) {
				upper := b
				upper.d[d] = ival{ci.hi.inc(), bi.hi}
				if !partition(upper, rest, fn) {
					return false
				}
			}
			mid := b
			mid.d[d] = ival{maxU(bi.lo, ci.lo), minU(bi.hi, ci.hi)}
			return partition(mid, cands[i:], fn)
		}
		return fn(b, c.owner) // unreachable: c contains b
	}
	return fn(b, -1)
}

func maxU(a, b u128) u128 {
	if a.less(b) {
		return b
	}
	return a
}

func minU(a, b u128) u128 {
	if a.less(b) {
		return a
	}
	return b
}
