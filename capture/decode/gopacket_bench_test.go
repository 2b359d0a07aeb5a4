package decode

import (
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/flowsift/flowsift/capture"
	"github.com/flowsift/flowsift/internal/benchutil"
)

// BenchmarkGopacketLayersVXLAN is the comparison behind the design: the
// same VXLAN frames through DecodingLayerParsers (one per nesting level)
// with gopacket's own layer types, extracting only addresses and ports.
func BenchmarkGopacketLayersVXLAN(b *testing.B) {
	frames := benchFrames(true)
	var (
		eth1, eth2 layers.Ethernet
		ip41, ip42 layers.IPv4
		ip62       layers.IPv6
		udp1, udp2 layers.UDP
		tcp2       layers.TCP
		vx         layers.VXLAN
	)
	outer := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth1, &ip41, &udp1, &vx)
	inner := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth2, &ip42, &ip62, &udp2, &tcp2)
	outer.IgnoreUnsupported, inner.IgnoreUnsupported = true, true
	outer.SetDecodingLayerContainer(gopacket.DecodingLayerSparse(nil))
	inner.SetDecodingLayerContainer(gopacket.DecodingLayerSparse(nil))
	for _, l := range []gopacket.DecodingLayer{&eth1, &ip41, &udp1, &vx} {
		outer.AddDecodingLayer(l)
	}
	for _, l := range []gopacket.DecodingLayer{&eth2, &ip42, &ip62, &udp2, &tcp2} {
		inner.AddDecodingLayer(l)
	}
	decoded := make([]gopacket.LayerType, 0, 16)
	var p capture.Packet
	m := benchutil.Start(b)
	var total int64
	for it := 0; it < b.N; it++ {
		for i := 0; i < benchN; i++ {
			f := &frames[i&(len(frames)-1)]
			if err := outer.DecodeLayers(f.Data, &decoded); err != nil {
				b.Fatal(err)
			}
			if err := inner.DecodeLayers(vx.Payload, &decoded); err != nil {
				b.Fatal(err)
			}
			for _, t := range decoded {
				switch t {
				case layers.LayerTypeIPv4:
					p.Src = netip.AddrFrom4([4]byte(ip42.SrcIP))
					p.Dst = netip.AddrFrom4([4]byte(ip42.DstIP))
				case layers.LayerTypeIPv6:
					p.Src = netip.AddrFrom16([16]byte(ip62.SrcIP))
					p.Dst = netip.AddrFrom16([16]byte(ip62.DstIP))
				case layers.LayerTypeTCP:
					p.SrcPort, p.DstPort = uint16(tcp2.SrcPort), uint16(tcp2.DstPort)
				case layers.LayerTypeUDP:
					p.SrcPort, p.DstPort = uint16(udp2.SrcPort), uint16(udp2.DstPort)
				}
			}
		}
		total += benchN
	}
	m.Stop(total)
}
