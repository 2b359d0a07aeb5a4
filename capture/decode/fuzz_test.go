package decode

import (
	"testing"

	"github.com/flowsift/flowsift/capture"
)

var fuzzLinks = []capture.LinkType{
	capture.LinkEthernet, capture.LinkRaw, capture.LinkIPv4, capture.LinkIPv6, capture.LinkNull, capture.LinkLoop,
	capture.LinkLinuxSLL, capture.LinkLinuxSLL2, capture.LinkVXLAN, capture.LinkGeneve, capture.LinkPcapngCustom,
}

func fuzzLinkIndex(l capture.LinkType) uint8 {
	for i, x := range fuzzLinks {
		if x == l {
			return uint8(i)
		}
	}
	return 0
}

// FuzzDecode decodes arbitrary frames of every link type. It checks that
// nothing panics (the per-frame recover is off), that a decoded flow is
// well formed, that a frame without a flow carries no flow key, and that
// the result does not depend on the frames decoded before.
func FuzzDecode(f *testing.F) {
	for _, file := range corpusFiles(f) {
		for _, fr := range corpusFrames(f, file) {
			f.Add(fuzzLinkIndex(fr.Link), fr.Data, fr.OrigLen)
		}
	}
	d := New(Options{VXLANPorts: []uint16{8472}})
	d.noRecover = true
	other := New(Options{VXLANPorts: []uint16{8472}})
	other.noRecover = true
	perturb := benchFrames(true)[:3]
	f.Fuzz(func(t *testing.T, link uint8, data []byte, origLen uint32) {
		fr := capture.Frame{Data: data, OrigLen: origLen, Link: fuzzLinks[int(link)%len(fuzzLinks)], Time: 99, Iface: 5}
		var p, q capture.Packet
		d.Decode(&fr, &p)
		if p.Time != 99 || p.Iface != 5 {
			t.Fatalf("time/iface not copied")
		}
		if p.Reason == capture.ReasonNone {
			switch {
			case p.Family == 4 && (!p.Src.Is4() || !p.Dst.Is4() || p.L3Len < 20):
				t.Fatalf("bad IPv4 flow %+v", p)
			case p.Family == 6 && (!p.Src.Is6() || !p.Dst.Is6() || p.L3Len < 40):
				t.Fatalf("bad IPv6 flow %+v", p)
			case p.Family != 4 && p.Family != 6:
				t.Fatalf("family %d", p.Family)
			case p.IPLayers == 0:
				t.Fatalf("flow without IP layer")
			case p.FragOffset != 0 && (p.SrcPort != 0 || p.DstPort != 0 || !p.Fragment):
				t.Fatalf("later fragment with ports %+v", p)
			case p.HasICMP && p.Proto != 1 && p.Proto != 58:
				t.Fatalf("ICMP fields with proto %d", p.Proto)
			}
		} else if p.Family != 0 || p.Src.IsValid() || p.Dst.IsValid() || p.SrcPort != 0 || p.L3Len != 0 {
			t.Fatalf("reason %v with a flow key %+v", p.Reason, p)
		}
		if p.Tunnels > MaxTunnels+1 || (p.Tunnels == 0) != (p.Outer.Type == capture.TunnelNone) || (p.Tunnels == 0) != (p.Inner.Type == capture.TunnelNone) {
			t.Fatalf("tunnels %d outer %v inner %v", p.Tunnels, p.Outer.Type, p.Inner.Type)
		}
		// the same frame after different ones decodes the same
		for i := range perturb {
			other.Decode(&perturb[i], &q)
		}
		other.Decode(&fr, &q)
		if p != q {
			t.Fatalf("result depends on history:\n%+v\n%+v", p, q)
		}
	})
}
