package whatif

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/flowsift/flowsift/analyze/policy"
)

// The allowed space of a scope is a union of disjoint boxes over protocol ×
// destination port × source port × ICMP type × ICMP code × remote address ×
// local address (per family), for new connections. Chains are evaluated over
// whole regions (first match, as analyze/rulestats does for shadowing), so
// the difference is exact for rules without undecidable conditions; a rule
// with one counts only for what it matches with certainty (its listed
// prefixes), and a layer skipped for local remotes (AWS NACLs within a
// subnet) is taken as crossed.

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
func (a ival) inter(b ival) ival    { return ival{maxU(a.lo, b.lo), minU(a.hi, b.hi)} }

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

type box struct {
	fam uint8
	d   [nDims]ival
}

func (b *box) overlaps(c *box) bool {
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

func (b *box) containsBox(c *box) bool {
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
	full8  = ival{small(0), small(255)}
	full16 = ival{small(0), small(65535)}
	fullV4 = ival{small(0), small(1<<32 - 1)}
	fullV6 = ival{u128{}, u128{^uint64(0), ^uint64(0)}}
)

func famIval(fam uint8) ival {
	if fam == 4 {
		return fullV4
	}
	return fullV6
}

func fullBox(fam uint8) box {
	return box{fam: fam, d: [nDims]ival{full8, full16, full16, full8, full8, famIval(fam), famIval(fam)}}
}

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

func prefixIval(p netip.Prefix) ival {
	p = p.Masked()
	lo := addrKey(p.Addr())
	host := p.Addr().BitLen() - p.Bits()
	var span u128
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

// ruleBoxes is what r matches with certainty.
func ruleBoxes(r *policy.Rule) []box {
	if r.Unknown != "" {
		return nil
	}
	var out []box
	proto := full8
	if r.Proto >= 0 {
		proto = ival{small(uint64(r.Proto)), small(uint64(r.Proto))}
	}
	ports, sports := []ival{full16}, []ival{full16}
	typ, code := full8, full8
	switch r.Proto {
	case 6, 17:
		ports, sports = portIvals(r.Ports), portIvals(r.SrcPorts)
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
		for _, rp := range r.Remote {
			if !rp.IsValid() || famOf(rp) != fam {
				continue
			}
			rem := prefixIval(rp)
			for _, l := range locals {
				for _, p := range ports {
					for _, s := range sports {
						out = append(out, box{fam: fam, d: [nDims]ival{proto, p, s, typ, code, rem, l}})
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

type owned struct {
	box
	owner int
}

// partition: first-match evaluation over whole regions (see rulestats).
func partition(b box, cands []owned, fn func(cell box, owner int)) {
	for i := range cands {
		c := &cands[i]
		if !c.overlaps(&b) {
			continue
		}
		if c.containsBox(&b) {
			fn(b, c.owner)
			return
		}
		rest := cands[i+1:]
		for d := 0; d < nDims; d++ {
			bi, ci := b.d[d], c.d[d]
			if ci.contains(bi) {
				continue
			}
			if bi.lo.less(ci.lo) {
				lower := b
				lower.d[d] = ival{bi.lo, ci.lo.dec()}
				partition(lower, rest, fn)
			}
			if ci.hi.less(bi.hi) {
				upper := b
				upper.d[d] = ival{ci.hi.inc(), bi.hi}
				partition(upper, rest, fn)
			}
			mid := b
			mid.d[d] = bi.inter(ci)
			partition(mid, cands[i:], fn)
			return
		}
	}
	fn(b, -1)
}

// maxCells bounds the work per chain; past it the space is reported as
// not computed.
const maxCells = 20000

// allowed returns the boxes of within where chain c allows a new
// connection, or ok=false when the region splits into too many cells.
func allowed(c *policy.Chain, within []box) (out []box, ok bool) {
	var cands []owned
	for i, r := range c.Rules {
		for _, b := range ruleBoxes(r) {
			cands = append(cands, owned{b, i})
		}
	}
	n := 0
	for _, w := range within {
		partition(w, cands, func(cell box, owner int) {
			n++
			if n > maxCells {
				return
			}
			a := c.Default.Action
			if owner >= 0 {
				a = c.Rules[owner].Action
			}
			if a == policy.Allow {
				out = append(out, cell)
			}
		})
		if n > maxCells {
			return nil, false
		}
	}
	return out, true
}

// subtract returns a \ b for disjoint-box unions.
func subtract(as, bs []box) []box {
	cur := as
	for i := range bs {
		b := &bs[i]
		var next []box
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
				rest.d[d] = ri.inter(bi)
			}
		}
		cur = next
		if len(cur) > maxCells {
			return cur[:maxCells]
		}
	}
	return cur
}

// merge joins boxes that differ in one adjacent dimension only.
func merge(bs []box) []box {
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

// ScopeSpace is the allowed-space difference of one scope and direction.
type ScopeSpace struct {
	Scope string `json:"scope"`
	Dir   string `json:"dir"`
	// NewlyAllowed / NewlyDenied describe boxes ("tcp 22 from
	// 198.51.100.0/24"); Truncated when more than the limit.
	NewlyAllowed []string `json:"newly_allowed"`
	NewlyDenied  []string `json:"newly_denied"`
	Truncated    bool     `json:"truncated,omitempty"`
	Note         string   `json:"note,omitempty"`
}

type scopeLayers struct {
	id     string
	layers []*policy.Layer
	// portsOf restricts a layer to a destination port range (node filters).
	ports []policy.PortRange
	// local: remotes for which SkipLocal layers are not crossed.
	local []netip.Prefix
}

func scopesOf(set *policy.Set) map[string]scopeLayers {
	m := map[string]scopeLayers{}
	for _, ifc := range set.Interfaces {
		m["interface "+ifc.ID] = scopeLayers{id: ifc.ID, layers: ifc.Layers, local: ifc.Local}
	}
	for _, d := range set.Deployments {
		if d.Layer != nil {
			m["deployment "+d.ID] = scopeLayers{id: d.ID, layers: []*policy.Layer{d.Layer}}
		}
	}
	for _, n := range set.Nodes {
		sl := scopeLayers{id: n.Name}
		for _, f := range n.Filters {
			sl.layers = append(sl.layers, f.Layer)
			sl.ports = append(sl.ports, f.Ports)
		}
		m["node "+n.Name] = sl
	}
	return m
}

// scopeAllowed is the space a scope admits for new connections in dir.
func scopeAllowed(sl scopeLayers, dir policy.Dir) ([]box, bool) {
	base := []box{fullBox(4), fullBox(6)}
	if sl.ports != nil {
		// Elasticsearch node: each filter governs its ports, first filter
		// wins (selection order); ports no filter governs are not covered.
		var out []box
		var taken []box
		for i, l := range sl.layers {
			var region []box
			for _, fb := range base {
				b := fb
				b.d[dPort] = b.d[dPort].inter(ival{small(uint64(sl.ports[i].Lo)), small(uint64(sl.ports[i].Hi))})
				region = append(region, b)
			}
			region = subtract(region, taken)
			a, ok := allowed(l.Chain(dir), region)
			if !ok {
				return nil, false
			}
			out = append(out, a...)
			taken = append(taken, region...)
		}
		return out, true
	}
	// Remotes inside the interface's local prefixes bypass SkipLocal
	// layers (AWS NACLs within a subnet).
	var local []box
	for _, p := range sl.local {
		if !p.IsValid() {
			continue
		}
		b := fullBox(famOf(p))
		b.d[dRemote] = prefixIval(p)
		local = append(local, b)
	}
	cur := base
	for _, l := range sl.layers {
		in := cur
		var bypass []box
		if l.SkipLocal && len(local) > 0 {
			outside := subtract(cur, local)
			bypass = subtract(cur, outside) // cur ∩ local
			in = outside
		}
		a, ok := allowed(l.Chain(dir), in)
		if !ok {
			return nil, false
		}
		cur = append(a, bypass...)
	}
	return cur, true
}

// SpaceDiff compares the allowed space of every scope present in both sets
// (and of scopes present in one only), listing at most limit boxes per side.
func SpaceDiff(before, after *policy.Set, limit int) []ScopeSpace {
	bs, as := scopesOf(before), scopesOf(after)
	var names []string
	for n := range bs {
		names = append(names, n)
	}
	for n := range as {
		if _, ok := bs[n]; !ok {
			names = append(names, n)
		}
	}
	sortStrings(names)
	var out []ScopeSpace
	for _, n := range names {
		b, hasB := bs[n]
		a, hasA := as[n]
		if hasB && hasA && sameLayers(b, a) {
			continue
		}
		for _, dir := range []policy.Dir{policy.Ingress, policy.Egress} {
			ss := ScopeSpace{Scope: n, Dir: dir.String()}
			var sb, sa []box
			okB, okA := true, true
			if hasB {
				sb, okB = scopeAllowed(b, dir)
			}
			if hasA {
				sa, okA = scopeAllowed(a, dir)
			}
			if !okB || !okA {
				ss.Note = "too many distinct regions; not computed"
				out = append(out, ss)
				continue
			}
			plus, minus := merge(subtract(sa, sb)), merge(subtract(sb, sa))
			if len(plus) == 0 && len(minus) == 0 {
				continue
			}
			ss.NewlyAllowed, ss.Truncated = describeBoxes(plus, limit)
			var t bool
			ss.NewlyDenied, t = describeBoxes(minus, limit)
			ss.Truncated = ss.Truncated || t
			if !hasB {
				ss.Note = "scope only in the proposed policy"
			}
			if !hasA {
				ss.Note = "scope only in the current policy"
			}
			out = append(out, ss)
		}
	}
	return out
}

// sameLayers: the scope has the very same chains on both sides (layers are
// compared by content signature).
func sameLayers(b, a scopeLayers) bool {
	if len(b.layers) != len(a.layers) || len(b.ports) != len(a.ports) {
		return false
	}
	for i := range b.layers {
		if i < len(b.ports) && b.ports[i] != a.ports[i] {
			return false
		}
		if chainSig(b.layers[i]) != chainSig(a.layers[i]) {
			return false
		}
	}
	return true
}

func chainSig(l *policy.Layer) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d|", l.Kind)
	for _, c := range []*policy.Chain{&l.In, &l.Out} {
		for _, r := range c.Rules {
			sb.WriteString(signature(r))
			sb.WriteByte(';')
		}
		fmt.Fprintf(&sb, "%v#", c.Default)
	}
	return sb.String()
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func describeBoxes(bs []box, limit int) ([]string, bool) {
	out := []string{}
	for i, b := range bs {
		if i == limit {
			return out, true
		}
		out = append(out, describeBox(&b))
	}
	return out, false
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

func describeBox(b *box) string {
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
