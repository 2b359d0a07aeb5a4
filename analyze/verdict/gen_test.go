package verdict

import (
	"fmt"
	"math/rand/v2"
	"net/netip"

	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/flowlog"
)

// genSet builds a synthetic AWS-shaped policy: one interface with a network
// ACL of n/2 ordered entries and a security-group layer of n/2 allow rules.
// Prefixes cluster in 10.0.0.0/8 and 198.51.100.0/24 so records hit them.
func genSet(rng *rand.Rand, n int, withMaybes bool) *policy.Set {
	addr := func() netip.Addr {
		if rng.IntN(4) == 0 {
			return netip.AddrFrom4([4]byte{198, 51, 100, byte(rng.IntN(256))})
		}
		return netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256))})
	}
	pfx := func() netip.Prefix {
		bits := []int{8, 16, 20, 24, 28, 32, 32, 32}[rng.IntN(8)]
		if rng.IntN(50) == 0 {
			if rng.IntN(2) == 0 {
				return policy.AllV4
			}
			return netip.MustParsePrefix("2001:db8::/32")
		}
		p, _ := addr().Prefix(bits)
		return p
	}
	rule := func(id string, allow bool) *policy.Rule {
		r := &policy.Rule{ID: id, Action: policy.Deny, Proto: []int16{-1, 6, 6, 6, 17, 1}[rng.IntN(6)], ICMPType: -1, ICMPCode: -1}
		if allow {
			r.Action = policy.Allow
		}
		if r.Proto == 6 || r.Proto == 17 {
			lo := uint16(rng.IntN(65536))
			w := []uint16{0, 0, 10, 1000, 30000}[rng.IntN(5)]
			hi := lo + w
			if hi < lo {
				hi = 65535
			}
			r.Ports = []policy.PortRange{{Lo: lo, Hi: hi}}
			if rng.IntN(5) == 0 {
				r.Ports = append(r.Ports, policy.PortRange{Lo: 22, Hi: 22})
			}
		}
		if r.Proto == 1 && rng.IntN(2) == 0 {
			r.ICMPType = int16(rng.IntN(16))
		}
		k := 1 + rng.IntN(2)
		for i := 0; i < k; i++ {
			r.Remote = append(r.Remote, pfx())
		}
		if withMaybes {
			switch rng.IntN(40) {
			case 0:
				r.RemoteUnknown = policy.ReasonPrefixList
			case 1:
				r.Unknown = policy.ReasonPortList
			case 2:
				r.Local = []netip.Prefix{pfx()}
			case 3:
				r.SrcPorts = []policy.PortRange{{Lo: 1024, Hi: 65535}}
			case 4:
				r.RemoteGlob = []string{"10.1.*"}
			}
		}
		return r
	}
	nacl := &policy.Layer{Name: "acl-bench", Kind: policy.KindAWSNACL}
	sg := &policy.Layer{Name: "sg-bench", Kind: policy.KindAWSSG}
	for i := 0; i < n/2+n%2; i++ {
		d := policy.Dir(rng.IntN(2))
		nacl.Chain(d).Rules = append(nacl.Chain(d).Rules, rule(fmt.Sprintf("acl-bench/%s/%d", d, i+1), rng.IntN(3) > 0))
	}
	for i := 0; i < n/2; i++ {
		d := policy.Dir(rng.IntN(2))
		sg.Chain(d).Rules = append(sg.Chain(d).Rules, rule(fmt.Sprintf("sg-bench/%s/%d", d, i), true))
	}
	nacl.In.Default = policy.Outcome{Action: policy.Deny, ID: "acl-bench/ingress/*"}
	nacl.Out.Default = policy.Outcome{Action: policy.Deny, ID: "acl-bench/egress/*"}
	sg.In.Default = policy.Outcome{Action: policy.Deny, ID: "default/aws-sg/deny"}
	sg.Out.Default = sg.In.Default
	if withMaybes && rng.IntN(3) == 0 {
		nacl.In.Default = policy.Outcome{Reason: policy.ReasonNACLNotFound}
	}
	set := &policy.Set{Interfaces: []*policy.Interface{{ID: "eni-bench", Provider: "aws",
		Addrs: []netip.Addr{netip.MustParseAddr("10.9.9.9")}, Layers: []*policy.Layer{nacl, sg}}}}
	set.Index()
	return set
}

// genRecords returns records on eni-bench with random remotes near the
// generated prefixes.
func genRecords(rng *rand.Rand, n int) []flowlog.Record {
	out := make([]flowlog.Record, n)
	for i := range out {
		r := &out[i]
		var remote netip.Addr
		switch rng.IntN(8) {
		case 0:
			remote = netip.AddrFrom4([4]byte{198, 51, 100, byte(rng.IntN(256))})
		case 1:
			remote = netip.AddrFrom4([4]byte{byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
		case 2:
			remote = netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", rng.IntN(65536)))
		default:
			remote = netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256))})
		}
		local := netip.MustParseAddr("10.9.9.9")
		r.Iface, r.Proto = "eni-bench", []uint8{6, 6, 6, 17, 1, 47}[rng.IntN(6)]
		r.SrcPort, r.DstPort = uint16(rng.IntN(65536)), uint16(rng.IntN(65536))
		if rng.IntN(3) == 0 {
			r.DstPort = 22
		}
		if rng.IntN(2) == 0 {
			r.Direction, r.Src, r.Dst = flowlog.DirIngress, remote, local
		} else {
			r.Direction, r.Src, r.Dst = flowlog.DirEgress, local, remote
		}
		if r.Proto == 1 && rng.IntN(2) == 0 {
			r.SetInt(flowlog.AttrIcmpType, int64(rng.IntN(16)))
			r.SetInt(flowlog.AttrIcmpCode, 0)
		}
	}
	return out
}

// Model-shaped random policies for the property test: every chain shape
// the loaders build (POLICY.md 5-7), with overlapping and nested prefixes
// of both families, unmasked host bits, port ranges, ICMP type/code
// restrictions, undecidable rules of every kind, and records drawn near the
// policy's prefix and port boundaries.

// pgen draws rules and records over a shared pool of anchor prefixes so
// that rules overlap and records land on their edges.
type pgen struct {
	rng     *rand.Rand
	anchors []netip.Prefix
	ports   []uint16 // range edges used by rules
	locals  []netip.Addr
	seq     int
}

func newPgen(rng *rand.Rand) *pgen {
	g := &pgen{rng: rng}
	g.anchors = append(g.anchors, policy.AllV4, policy.AllV6)
	for i := 0; i < 3+rng.IntN(4); i++ {
		p := g.randV4(8 + 4*rng.IntN(3))
		g.anchors = append(g.anchors, p)
		// nested children, some sharing the parent's first address
		for j := 0; j < 1+rng.IntN(3); j++ {
			g.anchors = append(g.anchors, g.inside(p, p.Bits()+1+rng.IntN(32-p.Bits())))
		}
	}
	for i := 0; i < 2+rng.IntN(3); i++ {
		p := netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(rng.IntN(4))}), 32+8*rng.IntN(3)).Masked()
		g.anchors = append(g.anchors, p, g.inside(p, p.Bits()+1+rng.IntN(128-p.Bits())))
	}
	g.anchors = append(g.anchors, netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("10.0.0.0/8"))
	for i := 0; i < 6; i++ {
		g.ports = append(g.ports, uint16(rng.IntN(65536)))
	}
	g.ports = append(g.ports, 0, 22, 443, 1023, 1024, 9200, 9300, 9443, 65535)
	return g
}

func (g *pgen) randV4(bits int) netip.Prefix {
	var b [4]byte
	for i := range b {
		b[i] = byte(g.rng.IntN(256))
	}
	if g.rng.IntN(2) == 0 {
		b[0] = 10
	}
	return netip.PrefixFrom(netip.AddrFrom4(b), bits).Masked()
}

// inside returns a random prefix of the given length inside p.
func (g *pgen) inside(p netip.Prefix, bits int) netip.Prefix {
	a := g.addrIn(p)
	q, _ := a.Prefix(bits)
	return q
}

func (g *pgen) addrIn(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As16()
	off := 0
	if p.Addr().Is4() {
		off = 96
	}
	for i := off + p.Bits(); i < 128; i++ {
		if g.rng.IntN(2) == 0 {
			b[i/8] |= 0x80 >> (i % 8)
		}
	}
	a := netip.AddrFrom16(b)
	if p.Addr().Is4() {
		a = a.Unmap()
	}
	return a
}

// prefix returns an anchor, a prefix inside one, or one with host bits set
// (as the native format may carry it).
func (g *pgen) prefix() netip.Prefix {
	a := g.anchors[g.rng.IntN(len(g.anchors))]
	max := 32
	if a.Addr().Is6() {
		max = 128
	}
	switch g.rng.IntN(6) {
	case 0:
		if a.Bits() < max {
			return g.inside(a, a.Bits()+1+g.rng.IntN(max-a.Bits()))
		}
	case 1:
		return netip.PrefixFrom(g.addrIn(a), a.Bits()) // unmasked
	case 2:
		return netip.PrefixFrom(g.addrIn(a), max)
	}
	return a
}

func (g *pgen) portRange() policy.PortRange {
	lo := g.ports[g.rng.IntN(len(g.ports))]
	hi := lo
	switch g.rng.IntN(5) {
	case 0:
		hi = g.ports[g.rng.IntN(len(g.ports))]
	case 1:
		if lo < 65535-100 {
			hi = lo + uint16(g.rng.IntN(100))
		}
	case 2:
		lo, hi = 0, 65535
	}
	if hi < lo && g.rng.IntN(4) != 0 { // keep some inverted (empty) ranges
		lo, hi = hi, lo
	}
	return policy.PortRange{Lo: lo, Hi: hi}
}

var genProtos = []int16{-1, -1, 6, 6, 6, 17, 17, 1, 58, 47, 50}

// rule draws a rule with the given id and action; knobs say which
// undecidable and complex features the model may carry.
func (g *pgen) rule(id string, a policy.Action, kn knobs) *policy.Rule {
	r := &policy.Rule{ID: id, Action: a, Proto: genProtos[g.rng.IntN(len(genProtos))], ICMPType: -1, ICMPCode: -1}
	switch r.Proto {
	case 6, 17:
		for i := g.rng.IntN(3); i > 0; i-- {
			r.Ports = append(r.Ports, g.portRange())
		}
		if kn.srcPorts && g.rng.IntN(6) == 0 {
			r.SrcPorts = []policy.PortRange{g.portRange()}
		}
	case 1, 58:
		switch g.rng.IntN(5) {
		case 0:
			r.ICMPType = int16(g.rng.IntN(4) * 4)
		case 1:
			r.ICMPType, r.ICMPCode = int16(g.rng.IntN(4)*4), int16(g.rng.IntN(3))
		case 2:
			r.ICMPCode = int16(g.rng.IntN(3))
		}
	default:
		if g.rng.IntN(4) == 0 {
			r.Ports = []policy.PortRange{g.portRange()} // ignored for these protocols
		}
	}
	for i := 1 + g.rng.IntN(3); i > 0; i-- {
		r.Remote = append(r.Remote, g.prefix())
	}
	if g.rng.IntN(30) == 0 {
		r.Remote = nil // e.g. a referenced group without members
	}
	if kn.local && g.rng.IntN(8) == 0 {
		switch g.rng.IntN(3) {
		case 0:
			r.Local = []netip.Prefix{} // nothing satisfies it
		default:
			r.Local = []netip.Prefix{g.prefix(), netip.PrefixFrom(g.locals[g.rng.IntN(len(g.locals))], 32)}
		}
	}
	if len(kn.unknown) > 0 && g.rng.IntN(12) == 0 {
		r.Unknown = kn.unknown[g.rng.IntN(len(kn.unknown))]
	}
	if len(kn.remoteUnknown) > 0 && g.rng.IntN(12) == 0 {
		r.RemoteUnknown = kn.remoteUnknown[g.rng.IntN(len(kn.remoteUnknown))]
		r.UnknownSkipsInternet = kn.skipsInternet && g.rng.IntN(2) == 0
		if g.rng.IntN(2) == 0 {
			r.Remote = nil
		}
	}
	if kn.glob && g.rng.IntN(10) == 0 {
		r.RemoteGlob = []string{[]string{"10.*", "192.168.0.*", "198.51.100.?", "2001:db8:*"}[g.rng.IntN(4)]}
	}
	return r
}

type knobs struct {
	srcPorts, local, glob, skipsInternet bool
	unknown, remoteUnknown               []string
}

func (g *pgen) chain(prefix string, n int, actions []policy.Action, kn knobs, def policy.Outcome) policy.Chain {
	c := policy.Chain{Default: def}
	for i := 0; i < n; i++ {
		g.seq++
		c.Rules = append(c.Rules, g.rule(fmt.Sprintf("%s/%d", prefix, g.seq), actions[g.rng.IntN(len(actions))], kn))
	}
	return c
}

func (g *pgen) size() int { return []int{0, 1, 3, 8, 20, 60}[g.rng.IntN(6)] }

var allowOnly, both = []policy.Action{policy.Allow}, []policy.Action{policy.Allow, policy.Deny}

// genModelSet builds a random policy set shaped like one model's loader.
func genModelSet(rng *rand.Rand, model string) (*policy.Set, *pgen) {
	g := newPgen(rng)
	set := &policy.Set{}
	for i := 0; i < 3; i++ {
		g.locals = append(g.locals, g.addrIn(g.anchors[2+rng.IntN(len(g.anchors)-2)]))
	}
	g.locals = append(g.locals, netip.MustParseAddr("2001:db8::1"))
	switch model {
	case "aws", "alibaba":
		kind := [2]policy.Kind{policy.KindAWSNACL, policy.KindAWSSG}
		unknown := []string{policy.ReasonUnsupportedProto, policy.ReasonGroupNotDescribed}
		remoteUnknown := []string{policy.ReasonPrefixList, policy.ReasonGroupMembers}
		sgActions := allowOnly
		kn := knobs{unknown: unknown, remoteUnknown: remoteUnknown}
		if model == "alibaba" {
			kind = [2]policy.Kind{policy.KindAliNACL, policy.KindAliSG}
			sgActions = both
			kn = knobs{srcPorts: true, local: true, unknown: []string{policy.ReasonPortList, policy.ReasonPrefixList, policy.ReasonUnsupportedProto}, remoteUnknown: []string{policy.ReasonPrefixList}}
		}
		nIf := 1 + rng.IntN(4)
		for i := 0; i < nIf; i++ {
			ifc := &policy.Interface{ID: fmt.Sprintf("eni-%d", i), Provider: model, Subnet: "subnet-1"}
			ifc.Addrs = append(ifc.Addrs, g.locals[i%len(g.locals)])
			if rng.IntN(2) == 0 {
				ifc.Addrs = append(ifc.Addrs, g.addrIn(g.prefix()))
			}
			if rng.IntN(2) == 0 {
				ifc.Local = []netip.Prefix{g.prefix()}
			}
			if model == "aws" {
				ifc.Unfiltered = []netip.Prefix{netip.MustParsePrefix("169.254.169.254/32"), netip.MustParsePrefix("10.0.0.2/32")}
				ifc.UnfilteredDHCP = true
			}
			if rng.IntN(5) != 0 {
				acl := &policy.Layer{Name: fmt.Sprintf("acl-%d", i), Kind: kind[0], SkipLocal: model == "aws"}
				for d := policy.Ingress; d <= policy.Egress; d++ {
					def := policy.Outcome{Action: policy.Deny, ID: fmt.Sprintf("acl-%d/%s/*", i, d)}
					if rng.IntN(10) == 0 {
						def = policy.Outcome{Reason: policy.ReasonNACLNotFound}
					}
					nk := kn
					nk.srcPorts, nk.local, nk.remoteUnknown = false, false, nil
					*acl.Chain(d) = g.chain(fmt.Sprintf("acl-%d/%s", i, d), g.size(), both, nk, def)
				}
				ifc.Layers = append(ifc.Layers, acl)
			}
			sg := &policy.Layer{Name: fmt.Sprintf("sg-%d", i), Kind: kind[1]}
			for d := policy.Ingress; d <= policy.Egress; d++ {
				def := policy.Outcome{Action: policy.Deny, ID: "default/aws-sg/deny"}
				if model == "alibaba" {
					def = policy.Outcome{Action: policy.Deny, ID: "default/ali-sg/ingress-drop"}
					if d == policy.Egress && rng.IntN(2) == 0 {
						def = policy.Outcome{Action: policy.Allow, ID: "default/ali-sg/egress-accept"}
					}
				}
				c := g.chain(fmt.Sprintf("sg-%d/%s", i, d), g.size(), sgActions, kn, def)
				if model == "alibaba" && rng.IntN(2) == 0 {
					c.Rules = append(c.Rules,
						&policy.Rule{ID: "default/ali-sg/inner-accept", Action: policy.Allow, Proto: -1, ICMPType: -1, ICMPCode: -1, Remote: []netip.Prefix{policy.Host(g.locals[0])}},
						&policy.Rule{ID: "default/ali-sg/inner-drop", Action: policy.Deny, Proto: -1, ICMPType: -1, ICMPCode: -1, Remote: []netip.Prefix{policy.Host(g.locals[0]), policy.Host(g.locals[1])}})
				}
				*sg.Chain(d) = c
			}
			ifc.Layers = append(ifc.Layers, sg)
			set.Interfaces = append(set.Interfaces, ifc)
		}
	case "elastic-cloud":
		kn := knobs{skipsInternet: true, unknown: []string{policy.ReasonAssociations, policy.ReasonUnsupportedProto},
			remoteUnknown: []string{policy.ReasonPrivateEndpoint, policy.ReasonRemoteCluster}}
		for i := 0; i < 1+rng.IntN(4); i++ {
			dep := &policy.Deployment{ID: fmt.Sprintf("dep-%d", i), Addrs: []netip.Prefix{g.prefix()}}
			if rng.IntN(3) == 0 {
				dep.Addrs = append(dep.Addrs, policy.Host(g.locals[rng.IntN(len(g.locals))]))
			}
			if rng.IntN(8) != 0 {
				l := &policy.Layer{Name: dep.ID, Kind: policy.KindECFilter}
				in := []policy.Outcome{{Action: policy.Deny, ID: "default/ec-filter/deny"}, {Action: policy.Allow, ID: "default/ec-filter/open"}, {Reason: policy.ReasonAssociations}}[rng.IntN(3)]
				out := []policy.Outcome{{Action: policy.Deny, ID: "default/ec-filter/egress-deny"}, {Action: policy.Allow, ID: "default/ec-filter/egress-open"}}[rng.IntN(2)]
				l.In = g.chain("rs-in", g.size(), allowOnly, kn, in)
				l.Out = g.chain("rs-out", g.size(), allowOnly, knobs{unknown: []string{policy.ReasonUnsupportedProto}}, out)
				dep.Layer = l
			}
			set.Deployments = append(set.Deployments, dep)
		}
		set.Own = []netip.Prefix{g.prefix()}
	case "elasticsearch":
		kn := knobs{glob: true, unknown: []string{policy.ReasonHostname}}
		for i := 0; i < 1+rng.IntN(3); i++ {
			n := &policy.Node{Name: fmt.Sprintf("node-%d", i)}
			if rng.IntN(3) != 0 {
				n.Addrs = []netip.Prefix{policy.Host(g.locals[rng.IntN(len(g.locals))])}
				if rng.IntN(3) == 0 {
					n.Addrs = append(n.Addrs, g.prefix())
				}
			}
			for _, pr := range []policy.PortRange{{Lo: 9200, Hi: 9200}, {Lo: 9443, Hi: 9443}, g.portRange(), {Lo: 9300, Hi: 9300}} {
				l := &policy.Layer{Name: "es:" + n.Name, Kind: policy.KindESFilter}
				if rng.IntN(6) == 0 {
					l.In.Default = policy.Outcome{Action: policy.Allow, ID: "default/es-filter/disabled"}
				} else {
					if len(n.Addrs) > 0 && rng.IntN(2) == 0 {
						l.In.Rules = append(l.In.Rules, &policy.Rule{ID: "default/es-filter/bound-address", Action: policy.Allow, Proto: -1, ICMPType: -1, ICMPCode: -1, Remote: n.Addrs})
					}
					allow := g.chain("es-allow", g.size(), allowOnly, kn, policy.Outcome{})
					deny := g.chain("es-deny", g.size(), []policy.Action{policy.Deny}, kn, policy.Outcome{})
					for _, r := range append(allow.Rules, deny.Rules...) {
						r.Proto, r.Ports, r.ICMPType, r.ICMPCode = -1, nil, -1, -1 // IP filters have no protocol
					}
					l.In.Rules = append(append(l.In.Rules, allow.Rules...), deny.Rules...)
					l.In.Default = policy.Outcome{Action: policy.Allow, ID: "default/es-filter/accept"}
				}
				l.Out.Default = l.In.Default
				n.Filters = append(n.Filters, policy.PortFilter{Ports: pr, Layer: l})
			}
			set.Nodes = append(set.Nodes, n)
		}
	}
	set.Index()
	return set, g
}

// record draws a record for the model's scopes, biased to the edges of
// the policy's prefixes and port ranges.
func (g *pgen) record(set *policy.Set, r *flowlog.Record) {
	rng := g.rng
	r.Reset()
	remote := g.edgeAddr()
	local := g.locals[rng.IntN(len(g.locals))]
	if rng.IntN(6) == 0 {
		local = g.edgeAddr()
	}
	r.Proto = []uint8{6, 6, 6, 17, 17, 1, 58, 47, 50, 0, 255}[rng.IntN(11)]
	r.SrcPort, r.DstPort = g.edgePort(), g.edgePort()
	if r.Proto != 6 && r.Proto != 17 && rng.IntN(2) == 0 {
		r.SrcPort, r.DstPort = 0, 0
	}
	if rng.IntN(10) == 0 {
		r.SrcPort, r.DstPort = []uint16{67, 68}[rng.IntN(2)], []uint16{67, 68}[rng.IntN(2)]
	}
	if (r.Proto == 1 || r.Proto == 58) && rng.IntN(2) == 0 {
		r.SetInt(flowlog.AttrIcmpType, []int64{0, 4, 8, 12, 3, -1, 300}[rng.IntN(7)])
		if rng.IntN(4) != 0 {
			r.SetInt(flowlog.AttrIcmpCode, []int64{0, 1, 2, -5, 256}[rng.IntN(5)])
		}
	}
	r.Direction = []flowlog.Direction{flowlog.DirIngress, flowlog.DirEgress, flowlog.DirUnknown}[rng.IntN(3)]
	switch {
	case r.Direction == flowlog.DirEgress || (r.Direction == flowlog.DirUnknown && rng.IntN(2) == 0):
		r.Src, r.Dst = local, remote
	default:
		r.Src, r.Dst = remote, local
	}
	if len(set.Interfaces) > 0 {
		switch rng.IntN(6) {
		case 0:
			r.Iface = ""
		case 1:
			r.Iface = "eni-none"
		default:
			r.Iface = set.Interfaces[rng.IntN(len(set.Interfaces))].ID
		}
	}
	if rng.IntN(20) == 0 { // IPv4-mapped IPv6 is unmapped first
		if r.Src.Is4() {
			r.Src = netip.AddrFrom16(r.Src.As16())
		}
	}
	if rng.IntN(200) == 0 {
		r.Dst = netip.Addr{}
	}
	r.Action = []flowlog.Action{flowlog.ActionAccept, flowlog.ActionReject, 0}[rng.IntN(3)]
	r.TCPFlags = []int32{0, 2, 18, 1}[rng.IntN(4)]
}

// edgeAddr returns an address at or next to a prefix boundary, inside an
// anchor, or anywhere.
func (g *pgen) edgeAddr() netip.Addr {
	rng := g.rng
	p := g.prefix().Masked()
	lo := p.Addr()
	hi := lastAddr(p)
	switch rng.IntN(7) {
	case 0:
		return lo
	case 1:
		return hi
	case 2:
		if a := lo.Prev(); a.IsValid() {
			return a
		}
	case 3:
		if a := hi.Next(); a.IsValid() {
			return a
		}
	case 4:
		return g.locals[rng.IntN(len(g.locals))]
	case 5:
		return netip.AddrFrom4([4]byte{byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
	}
	return g.addrIn(p)
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As16()
	off := 0
	if p.Addr().Is4() {
		off = 96
	}
	for i := off + p.Bits(); i < 128; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a := netip.AddrFrom16(b)
	if p.Addr().Is4() {
		a = a.Unmap()
	}
	return a
}

func (g *pgen) edgePort() uint16 {
	p := g.ports[g.rng.IntN(len(g.ports))]
	switch g.rng.IntN(4) {
	case 0:
		return p - 1
	case 1:
		return p + 1
	case 2:
		return uint16(g.rng.IntN(65536))
	}
	return p
}
