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
