package decode

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/flowsift/flowsift/capture"
)

// build serializes layers with gopacket (lengths fixed, no checksums);
// gopacket.Payload stands in for headers gopacket cannot serialize.
func build(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

var (
	mac1 = net.HardwareAddr{0, 1, 2, 3, 4, 5}
	mac2 = net.HardwareAddr{0, 1, 2, 3, 4, 6}
)

func eth(et layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: mac1, DstMAC: mac2, EthernetType: et}
}

func ip4(src, dst string, proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
}

func ip6(src, dst string, nh layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: nh, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
}

func tcp(sp, dp uint16) *layers.TCP {
	return &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), SYN: true, ACK: true, Window: 1000}
}

func udp(sp, dp uint16) *layers.UDP {
	return &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
}

var payload = gopacket.Payload([]byte("0123456789abcdef"))

func decodeLink(link capture.LinkType, b []byte) capture.Packet {
	d := New(Options{})
	var p capture.Packet
	d.Decode(&capture.Frame{Data: b, OrigLen: uint32(len(b)), Link: link, Time: 7, Iface: 3}, &p)
	return p
}

// flow checks the inner flow key of a decoded packet.
func flow(t *testing.T, p capture.Packet, src, dst string, proto uint8, sp, dp uint16, ipLayers uint8) {
	t.Helper()
	if p.Reason != capture.ReasonNone {
		t.Fatalf("reason %v", p.Reason)
	}
	if p.Src != netip.MustParseAddr(src) || p.Dst != netip.MustParseAddr(dst) || p.Proto != proto || p.SrcPort != sp || p.DstPort != dp {
		t.Errorf("flow %v > %v proto %d ports %d > %d; want %s > %s proto %d ports %d > %d", p.Src, p.Dst, p.Proto, p.SrcPort, p.DstPort, src, dst, proto, sp, dp)
	}
	if p.IPLayers != ipLayers {
		t.Errorf("ip layers %d, want %d", p.IPLayers, ipLayers)
	}
	fam := uint8(4)
	if p.Src.Is6() {
		fam = 6
	}
	if p.Family != fam {
		t.Errorf("family %d", p.Family)
	}
	if p.Time != 7 || p.Iface != 3 {
		t.Errorf("time/iface %d/%d not copied", p.Time, p.Iface)
	}
}

func TestEthernetTCP(t *testing.T) {
	b := build(t, eth(layers.EthernetTypeIPv4), ip4("10.0.0.1", "10.0.0.2", layers.IPProtocolTCP), tcp(1234, 80), payload)
	p := decodeLink(capture.LinkEthernet, b)
	flow(t, p, "10.0.0.1", "10.0.0.2", 6, 1234, 80, 1)
	if p.TCPFlags != 0x12 || p.L3Len != 20+20+16 || p.Truncated || p.Fragment || p.Tunnels != 0 || p.HasVLAN {
		t.Errorf("%+v", p)
	}
}

func TestIPv4TSOLengthZero(t *testing.T) {
	b := build(t, eth(layers.EthernetTypeIPv4), ip4("10.0.0.1", "10.0.0.2", layers.IPProtocolTCP), tcp(1234, 80), gopacket.Payload(make([]byte, 3000)))
	binary.BigEndian.PutUint16(b[14+2:], 0)
	d := New(Options{})
	var p capture.Packet
	d.Decode(&capture.Frame{Data: b[:200], OrigLen: uint32(len(b)), Link: capture.LinkEthernet, Time: 7, Iface: 3}, &p)
	flow(t, p, "10.0.0.1", "10.0.0.2", 6, 1234, 80, 1)
	if p.L3Len != 3040 || !p.Truncated {
		t.Errorf("l3 %d truncated %v", p.L3Len, p.Truncated)
	}
}

func TestQinQ(t *testing.T) {
	b := build(t, eth(layers.EthernetTypeQinQ),
		&layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeDot1Q},
		&layers.Dot1Q{VLANIdentifier: 200, Type: layers.EthernetTypeIPv6},
		ip6("2001:db8::1", "2001:db8::2", layers.IPProtocolUDP), udp(5353, 53), payload)
	p := decodeLink(capture.LinkEthernet, b)
	flow(t, p, "2001:db8::1", "2001:db8::2", 17, 5353, 53, 1)
	if !p.HasVLAN || p.VLAN != 100 || p.L3Len != 40+8+16 {
		t.Errorf("vlan %v %d l3 %d", p.HasVLAN, p.VLAN, p.L3Len)
	}
}

func TestMPLS(t *testing.T) {
	b := build(t, eth(layers.EthernetTypeMPLSUnicast),
		&layers.MPLS{Label: 16, TTL: 64}, &layers.MPLS{Label: 17, StackBottom: true, TTL: 64},
		ip4("10.0.0.1", "10.0.0.2", layers.IPProtocolUDP), udp(1000, 2000), payload)
	flow(t, decodeLink(capture.LinkEthernet, b), "10.0.0.1", "10.0.0.2", 17, 1000, 2000, 1)
}

func TestPPPoE(t *testing.T) {
	b := build(t, eth(layers.EthernetTypePPPoESession),
		&layers.PPPoE{Version: 1, Type: 1, Code: layers.PPPoECodeSession, SessionId: 9},
		&layers.PPP{PPPType: layers.PPPTypeIPv6},
		ip6("fe80::1", "ff02::1", layers.IPProtocolICMPv6),
		&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(135, 0)}, payload)
	p := decodeLink(capture.LinkEthernet, b)
	flow(t, p, "fe80::1", "ff02::1", 58, 0, 0, 1)
	if !p.HasICMP || p.ICMPType != 135 || p.ICMPCode != 0 {
		t.Errorf("icmp %v %d %d", p.HasICMP, p.ICMPType, p.ICMPCode)
	}
	// LCP in a PPPoE session: no IP flow.
	b = build(t, eth(layers.EthernetTypePPPoESession),
		&layers.PPPoE{Version: 1, Type: 1, Code: layers.PPPoECodeSession},
		&layers.PPP{PPPType: 0xc021}, payload)
	if p := decodeLink(capture.LinkEthernet, b); p.Reason != capture.ReasonNotIP || p.Family != 0 {
		t.Errorf("LCP: reason %v family %d", p.Reason, p.Family)
	}
}

func TestCookedAndLoopback(t *testing.T) {
	inner4 := []gopacket.SerializableLayer{ip4("10.1.1.1", "10.2.2.2", layers.IPProtocolTCP), tcp(40000, 443), payload}
	inner6 := []gopacket.SerializableLayer{ip6("2001:db8::a", "2001:db8::b", layers.IPProtocolTCP), tcp(40000, 443), payload}

	sll := make([]byte, 16)
	binary.BigEndian.PutUint16(sll[2:], 1) // ARPHRD_ETHER
	binary.BigEndian.PutUint16(sll[14:], 0x0800)
	flow(t, decodeLink(capture.LinkLinuxSLL, build(t, append([]gopacket.SerializableLayer{gopacket.Payload(sll)}, inner4...)...)), "10.1.1.1", "10.2.2.2", 6, 40000, 443, 1)

	sll2 := make([]byte, 20)
	binary.BigEndian.PutUint16(sll2, 0x86dd)
	binary.BigEndian.PutUint16(sll2[8:], 1)
	flow(t, decodeLink(capture.LinkLinuxSLL2, build(t, append([]gopacket.SerializableLayer{gopacket.Payload(sll2)}, inner6...)...)), "2001:db8::a", "2001:db8::b", 6, 40000, 443, 1)

	// SLL2 carrying ARP
	binary.BigEndian.PutUint16(sll2, 0x0806)
	if p := decodeLink(capture.LinkLinuxSLL2, append(sll2, make([]byte, 28)...)); p.Reason != capture.ReasonNotIP {
		t.Errorf("sll2 arp: %v", p.Reason)
	}

	// BSD null, host (little-endian) order, AF_INET, via gopacket's Loopback
	flow(t, decodeLink(capture.LinkNull, build(t, append([]gopacket.SerializableLayer{&layers.Loopback{Family: layers.ProtocolFamilyIPv4}}, inner4...)...)), "10.1.1.1", "10.2.2.2", 6, 40000, 443, 1)
	// OpenBSD loop, network order, AF_INET6 = 24; and Darwin's 30
	for _, af := range []uint32{24, 28, 30, 10} {
		hdr := binary.BigEndian.AppendUint32(nil, af)
		flow(t, decodeLink(capture.LinkLoop, build(t, append([]gopacket.SerializableLayer{gopacket.Payload(hdr)}, inner6...)...)), "2001:db8::a", "2001:db8::b", 6, 40000, 443, 1)
	}

	// raw IP link types
	flow(t, decodeLink(capture.LinkRaw, build(t, inner4...)), "10.1.1.1", "10.2.2.2", 6, 40000, 443, 1)
	flow(t, decodeLink(capture.LinkRaw, build(t, inner6...)), "2001:db8::a", "2001:db8::b", 6, 40000, 443, 1)
	flow(t, decodeLink(capture.LinkIPv4, build(t, inner4...)), "10.1.1.1", "10.2.2.2", 6, 40000, 443, 1)
	flow(t, decodeLink(capture.LinkIPv6, build(t, inner6...)), "2001:db8::a", "2001:db8::b", 6, 40000, 443, 1)
}

func fragHdr(nh uint8, off uint16, more bool, id uint32) gopacket.Payload {
	b := []byte{nh, 0, 0, 0, 0, 0, 0, 0}
	v := off << 3
	if more {
		v |= 1
	}
	binary.BigEndian.PutUint16(b[2:], v)
	binary.BigEndian.PutUint32(b[4:], id)
	return b
}

func TestIPv6ExtensionHeaders(t *testing.T) {
	hbh := &layers.IPv6HopByHop{}
	hbh.NextHeader = layers.IPProtocolIPv6Destination
	hbh.Options = []*layers.IPv6HopByHopOption{{OptionType: 1, OptionData: []byte{0, 0, 0, 0}}}
	dst := &layers.IPv6Destination{}
	dst.NextHeader = layers.IPProtocolIPv6Routing
	dst.Options = []*layers.IPv6DestinationOption{{OptionType: 1, OptionData: []byte{0, 0, 0, 0}}}
	routing := gopacket.Payload(append([]byte{44, 2, 0, 1, 0, 0, 0, 0}, net.ParseIP("2001:db8::99")...)) // type 0, one address
	b := build(t, eth(layers.EthernetTypeIPv6), ip6("2001:db8::1", "2001:db8::2", layers.IPProtocolIPv6HopByHop),
		hbh, dst, routing, fragHdr(17, 0, true, 0xabcdef), udp(111, 222), payload)
	p := decodeLink(capture.LinkEthernet, b)
	flow(t, p, "2001:db8::1", "2001:db8::2", 17, 111, 222, 1)
	if !p.Fragment || !p.MoreFrags || p.FragOffset != 0 || p.FragID != 0xabcdef {
		t.Errorf("first fragment: %v %v %d %x", p.Fragment, p.MoreFrags, p.FragOffset, p.FragID)
	}
	// a later fragment: no ports
	b = build(t, eth(layers.EthernetTypeIPv6), ip6("2001:db8::1", "2001:db8::2", layers.IPProtocolIPv6Fragment),
		fragHdr(17, 185, false, 0xabcdef), payload)
	p = decodeLink(capture.LinkEthernet, b)
	flow(t, p, "2001:db8::1", "2001:db8::2", 17, 0, 0, 1)
	if !p.Fragment || p.MoreFrags || p.FragOffset != 185 || p.FragID != 0xabcdef || p.L3Len != 40+8+16 {
		t.Errorf("later fragment: %+v", p)
	}
	// AH in front of TCP
	ah := gopacket.Payload([]byte{6, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	b = build(t, eth(layers.EthernetTypeIPv6), ip6("2001:db8::1", "2001:db8::2", layers.IPProtocolAH), ah, tcp(5, 6), payload)
	flow(t, decodeLink(capture.LinkEthernet, b), "2001:db8::1", "2001:db8::2", 6, 5, 6, 1)
}

func TestIPv4Fragments(t *testing.T) {
	first := ip4("10.0.0.1", "10.0.0.2", layers.IPProtocolUDP)
	first.Flags, first.Id = layers.IPv4MoreFragments, 4242
	p := decodeLink(capture.LinkEthernet, build(t, eth(layers.EthernetTypeIPv4), first, udp(53, 5353), payload))
	flow(t, p, "10.0.0.1", "10.0.0.2", 17, 53, 5353, 1)
	if !p.Fragment || !p.MoreFrags || p.FragID != 4242 || p.FragOffset != 0 {
		t.Errorf("first: %+v", p)
	}
	later := ip4("10.0.0.1", "10.0.0.2", layers.IPProtocolUDP)
	later.FragOffset, later.Id = 3, 4242
	p = decodeLink(capture.LinkEthernet, build(t, eth(layers.EthernetTypeIPv4), later, payload))
	flow(t, p, "10.0.0.1", "10.0.0.2", 17, 0, 0, 1)
	if !p.Fragment || p.MoreFrags || p.FragOffset != 3 {
		t.Errorf("later: %+v", p)
	}
	// a later fragment of a GRE packet is not decoded as GRE
	later.Protocol = layers.IPProtocolGRE
	p = decodeLink(capture.LinkEthernet, build(t, eth(layers.EthernetTypeIPv4), later, payload))
	flow(t, p, "10.0.0.1", "10.0.0.2", 47, 0, 0, 1)
	if p.Tunnels != 0 {
		t.Errorf("tunnel from a later fragment")
	}
}

func TestIPinIP(t *testing.T) {
	b := build(t, eth(layers.EthernetTypeIPv4), ip4("1.1.1.1", "2.2.2.2", layers.IPProtocolIPv4),
		ip4("10.0.0.1", "10.0.0.2", layers.IPProtocolTCP), tcp(1, 2), payload)
	p := decodeLink(capture.LinkEthernet, b)
	flow(t, p, "10.0.0.1", "10.0.0.2", 6, 1, 2, 2)
	if p.Tunnels != 0 || p.L3Len != 20+20+16 {
		t.Errorf("4in4: %+v", p)
	}
	b = build(t, eth(layers.EthernetTypeIPv4), ip4("1.1.1.1", "2.2.2.2", layers.IPProtocolIPv6),
		ip6("2001:db8::1", "2001:db8::2", layers.IPProtocolUDP), udp(1, 2), payload)
	flow(t, decodeLink(capture.LinkEthernet, b), "2001:db8::1", "2001:db8::2", 17, 1, 2, 2)
}

func TestTooDeep(t *testing.T) {
	mk := func(n int) []byte { // n IP-in-IP encapsulations around UDP
		ls := []gopacket.SerializableLayer{eth(layers.EthernetTypeIPv4)}
		for i := 0; i < n; i++ {
			ls = append(ls, ip4("1.1.1.1", "2.2.2.2", layers.IPProtocolIPv4))
		}
		return build(t, append(ls, ip4("10.0.0.1", "10.0.0.2", layers.IPProtocolUDP), udp(1, 2), payload)...)
	}
	flow(t, decodeLink(capture.LinkEthernet, mk(MaxTunnels)), "10.0.0.1", "10.0.0.2", 17, 1, 2, MaxTunnels+1)
	if p := decodeLink(capture.LinkEthernet, mk(MaxTunnels+1)); p.Reason != capture.ReasonTooDeep {
		t.Errorf("%d tunnels: reason %v", MaxTunnels+1, p.Reason)
	}
}

func TestGRE(t *testing.T) {
	gre := &layers.GRE{ChecksumPresent: true, KeyPresent: true, SeqPresent: true, Key: 0x1234, Seq: 9, Protocol: layers.EthernetTypeIPv4}
	b := build(t, eth(layers.EthernetTypeIPv4), ip4("192.0.2.1", "192.0.2.2", layers.IPProtocolGRE), gre,
		ip4("10.0.0.1", "10.0.0.2", layers.IPProtocolUDP), udp(7, 8), payload)
	p := decodeLink(capture.LinkEthernet, b)
	flow(t, p, "10.0.0.1", "10.0.0.2", 17, 7, 8, 2)
	want := capture.Tunnel{Type: capture.TunnelGRE, HasID: true, ID: 0x1234, Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("192.0.2.2")}
	if p.Tunnels != 1 || p.Outer != want || p.Inner != want {
		t.Errorf("tunnel %+v", p.Outer)
	}
	// transparent Ethernet bridging, IPv6 outer
	gre = &layers.GRE{Protocol: layers.EthernetTypeTransparentEthernetBridging}
	b = build(t, eth(layers.EthernetTypeIPv6), ip6("2001:db8::1", "2001:db8::2", layers.IPProtocolGRE), gre,
		eth(layers.EthernetTypeIPv4), ip4("10.0.0.1", "10.0.0.2", layers.IPProtocolTCP), tcp(7, 8), payload)
	p = decodeLink(capture.LinkEthernet, b)
	flow(t, p, "10.0.0.1", "10.0.0.2", 6, 7, 8, 2)
	if p.Outer.Type != capture.TunnelGRE || p.Outer.HasID || p.Outer.Src != netip.MustParseAddr("2001:db8::1") {
		t.Errorf("teb tunnel %+v", p.Outer)
	}
	// GRE carrying ARP: no flow, the tunnel is still reported
	b = build(t, eth(layers.EthernetTypeIPv4), ip4("192.0.2.1", "192.0.2.2", layers.IPProtocolGRE),
		&layers.GRE{Protocol: layers.EthernetTypeTransparentEthernetBridging}, eth(layers.EthernetTypeARP), gopacket.Payload(make([]byte, 28)))
	p = decodeLink(capture.LinkEthernet, b)
	if p.Reason != capture.ReasonNotIP || p.Tunnels != 1 || p.IPLayers != 1 || p.Family != 0 {
		t.Errorf("gre arp: %+v", p)
	}
	// GRE-in-UDP (4754)
	b = build(t, eth(layers.EthernetTypeIPv4), ip4("192.0.2.1", "192.0.2.2", layers.IPProtocolUDP), udp(50000, 4754),
		&layers.GRE{Protocol: layers.EthernetTypeIPv4}, ip4("10.0.0.1", "10.0.0.2", layers.IPProtocolUDP), udp(7, 8), payload)
	p = decodeLink(capture.LinkEthernet, b)
	flow(t, p, "10.0.0.1", "10.0.0.2", 17, 7, 8, 2)
	if p.Outer.Type != capture.TunnelGRE {
		t.Errorf("gre-in-udp %+v", p.Outer)
	}
	// PPTP enhanced GRE (version 1) carrying PPP carrying IPv4
	pptp := &layers.GRE{Version: 1, KeyPresent: true, SeqPresent: true, AckPresent: true, Key: 0x00200001, Protocol: layers.EthernetTypePPP}
	b = build(t, eth(layers.EthernetTypeIPv4), ip4("192.0.2.1", "192.0.2.2", layers.IPProtocolGRE), pptp,
		gopacket.Payload([]byte{0xff, 0x03, 0x00, 0x21}), ip4("10.0.0.1", "10.0.0.2", layers.IPProtocolUDP), udp(7, 8), payload)
	p = decodeLink(capture.LinkEthernet, b)
	flow(t, p, "10.0.0.1", "10.0.0.2", 17, 7, 8, 2)
	if p.Outer.HasID {
		t.Errorf("pptp call id taken as a key")
	}
	// Cisco MetaData inside GRE (ethertype first) and on Ethernet
	b = build(t, eth(layers.EthernetTypeIPv4), ip4("192.0.2.1", "192.0.2.2", layers.IPProtocolGRE), &layers.GRE{Protocol: 0x8909},
		gopacket.Payload([]byte{0x08, 0x00, 1, 1, 0, 1, 0, 5}), ip4("10.0.0.1", "10.0.0.2", layers.IPProtocolUDP), udp(7, 8), payload)
	flow(t, decodeLink(capture.LinkEthernet, b), "10.0.0.1", "10.0.0.2", 17, 7, 8, 2)
	b = build(t, eth(0x8909), gopacket.Payload([]byte{1, 1, 0, 1, 0, 5, 0x08, 0x00}), ip4("10.0.0.1", "10.0.0.2", layers.IPProtocolUDP), udp(7, 8), payload)
	flow(t, decodeLink(capture.LinkEthernet, b), "10.0.0.1", "10.0.0.2", 17, 7, 8, 1)
}

func TestMPLSinUDP(t *testing.T) {
	b := build(t, eth(layers.EthernetTypeIPv4), ip4("192.0.2.1", "192.0.2.2", layers.IPProtocolUDP), udp(49152, 6635),
		&layers.MPLS{Label: 100, StackBottom: true, TTL: 9}, ip4("10.0.0.1", "10.0.0.2", layers.IPProtocolICMPv4),
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0)}, payload)
	p := decodeLink(capture.LinkEthernet, b)
	flow(t, p, "10.0.0.1", "10.0.0.2", 1, 0, 0, 2)
	if !p.HasICMP || p.ICMPType != 8 {
		t.Errorf("icmp %+v", p)
	}
}

func erspan3Hdr(session uint16, vlan uint16, egress, platform bool, ft uint16) gopacket.Payload {
	b := make([]byte, 12)
	binary.BigEndian.PutUint16(b, 2<<12|vlan)
	binary.BigEndian.PutUint16(b[2:], session)
	binary.BigEndian.PutUint32(b[4:], 0x01020304) // timestamp
	w := ft << 10
	if egress {
		w |= 0x0008
	}
	if platform {
		w |= 1
		b = append(b, make([]byte, 8)...)
	}
	binary.BigEndian.PutUint16(b[10:], w)
	return b
}

func TestERSPAN(t *testing.T) {
	inner := []gopacket.SerializableLayer{eth(layers.EthernetTypeIPv4), ip4("10.0.0.1", "10.0.0.2", layers.IPProtocolTCP), tcp(1, 2), payload}
	outer := func(gre *layers.GRE, hdr ...gopacket.SerializableLayer) []byte {
		ls := append([]gopacket.SerializableLayer{eth(layers.EthernetTypeIPv4), ip4("192.0.2.1", "192.0.2.2", layers.IPProtocolGRE), gre}, hdr...)
		return build(t, append(ls, inner...)...)
	}
	// type I: no sequence number, no ERSPAN header
	p := decodeLink(capture.LinkEthernet, outer(&layers.GRE{Protocol: layers.EthernetTypeERSPAN}))
	flow(t, p, "10.0.0.1", "10.0.0.2", 6, 1, 2, 2)
	if p.Outer.Type != capture.TunnelERSPAN1 || p.Outer.HasID || p.Tunnels != 1 {
		t.Errorf("type I: %+v", p.Outer)
	}
	// type II
	p = decodeLink(capture.LinkEthernet, outer(&layers.GRE{SeqPresent: true, Seq: 1, Protocol: layers.EthernetTypeERSPAN},
		&layers.ERSPANII{Version: 1, VLANIdentifier: 12, SessionID: 77}))
	flow(t, p, "10.0.0.1", "10.0.0.2", 6, 1, 2, 2)
	if p.Outer.Type != capture.TunnelERSPAN2 || !p.Outer.HasID || p.Outer.ID != 77 || p.Outer.Direction != 0 || !p.HasVLAN || p.VLAN != 12 {
		t.Errorf("type II: %+v vlan %d", p.Outer, p.VLAN)
	}
	// type III: D bit → direction; O bit → platform sub-header skipped
	for _, c := range []struct {
		egress, platform bool
		dir              uint8
	}{{false, false, 1}, {true, false, 2}, {true, true, 2}, {false, true, 1}} {
		p = decodeLink(capture.LinkEthernet, outer(&layers.GRE{SeqPresent: true, Protocol: 0x22eb}, erspan3Hdr(1023, 0, c.egress, c.platform, 0)))
		flow(t, p, "10.0.0.1", "10.0.0.2", 6, 1, 2, 2)
		if p.Outer.Type != capture.TunnelERSPAN3 || p.Outer.ID != 1023 || p.Outer.Direction != c.dir {
			t.Errorf("type III egress=%v platform=%v: %+v", c.egress, c.platform, p.Outer)
		}
	}
	// type III with frame type IP (no inner Ethernet)
	b := build(t, eth(layers.EthernetTypeIPv4), ip4("192.0.2.1", "192.0.2.2", layers.IPProtocolGRE), &layers.GRE{Protocol: 0x22eb},
		erspan3Hdr(5, 0, true, false, 2), ip6("2001:db8::1", "2001:db8::2", layers.IPProtocolUDP), udp(1, 2), payload)
	p = decodeLink(capture.LinkEthernet, b)
	flow(t, p, "2001:db8::1", "2001:db8::2", 17, 1, 2, 2)
	if p.Outer.Direction != 2 {
		t.Errorf("ft=IP direction %d", p.Outer.Direction)
	}
}

func vxlan(vni uint32) *layers.VXLAN { return &layers.VXLAN{ValidIDFlag: true, VNI: vni} }

func TestVXLAN(t *testing.T) {
	b := build(t, eth(layers.EthernetTypeIPv4), ip4("172.16.0.1", "172.16.0.2", layers.IPProtocolUDP), udp(61000, 4789), vxlan(4242),
		eth(layers.EthernetTypeIPv6), ip6("2001:db8::1", "2001:db8::2", layers.IPProtocolTCP), tcp(443, 50000), payload)
	p := decodeLink(capture.LinkEthernet, b)
	flow(t, p, "2001:db8::1", "2001:db8::2", 6, 443, 50000, 2)
	want := capture.Tunnel{Type: capture.TunnelVXLAN, HasVNI: true, VNI: 4242, Src: netip.MustParseAddr("172.16.0.1"), Dst: netip.MustParseAddr("172.16.0.2")}
	if p.Tunnels != 1 || p.Outer != want || p.Inner != want {
		t.Errorf("%+v", p.Outer)
	}
	// the same payload from the mirror-target listener
	inner := b[14+20+8:]
	d := New(Options{})
	var q capture.Packet
	d.Decode(&capture.Frame{Data: inner, OrigLen: uint32(len(inner)), Link: capture.LinkVXLAN, Time: 7, Iface: 3,
		OuterSrc: want.Src, OuterDst: want.Dst}, &q)
	flow(t, q, "2001:db8::1", "2001:db8::2", 6, 443, 50000, 2)
	if q.Outer != want {
		t.Errorf("listener: %+v", q.Outer)
	}
	// VXLAN on an extra port, and the lower-port rule
	b = build(t, eth(layers.EthernetTypeIPv4), ip4("172.16.0.1", "172.16.0.2", layers.IPProtocolUDP), udp(61000, 8472), vxlan(1),
		eth(layers.EthernetTypeIPv4), ip4("10.0.0.1", "10.0.0.2", layers.IPProtocolUDP), udp(1, 2), payload)
	d = New(Options{VXLANPorts: []uint16{8472}})
	d.Decode(&capture.Frame{Data: b, OrigLen: uint32(len(b)), Link: capture.LinkEthernet, Time: 7, Iface: 3}, &q)
	flow(t, q, "10.0.0.1", "10.0.0.2", 17, 1, 2, 2)
	b = build(t, eth(layers.EthernetTypeIPv4), ip4("10.0.0.1", "10.0.0.2", layers.IPProtocolUDP), udp(53, 4789), payload)
	flow(t, decodeLink(capture.LinkEthernet, b), "10.0.0.1", "10.0.0.2", 17, 53, 4789, 1)
	// VXLAN carrying ARP
	b = build(t, eth(layers.EthernetTypeIPv4), ip4("172.16.0.1", "172.16.0.2", layers.IPProtocolUDP), udp(4789, 4789), vxlan(9),
		eth(layers.EthernetTypeARP), gopacket.Payload(make([]byte, 28)))
	p = decodeLink(capture.LinkEthernet, b)
	if p.Reason != capture.ReasonNotIP || p.Inner.VNI != 9 || p.IPLayers != 1 {
		t.Errorf("arp: %+v", p)
	}
}

// geneveHdr builds a Geneve header with options (gopacket cannot serialize Geneve).
func geneveHdr(vni uint32, proto uint16, opts ...[]byte) gopacket.Payload {
	var o []byte
	for _, x := range opts {
		o = append(o, x...)
	}
	b := []byte{byte(len(o) / 4), 0, 0, 0, byte(vni >> 16), byte(vni >> 8), byte(vni), 0}
	binary.BigEndian.PutUint16(b[2:], proto)
	return append(b, o...)
}

func geneveOpt(class uint16, typ uint8, val []byte) []byte {
	b := []byte{0, 0, typ, byte(len(val) / 4)}
	binary.BigEndian.PutUint16(b, class)
	return append(b, val...)
}

func TestGeneveGWLB(t *testing.T) {
	endpoint := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	attach := []byte{9, 10, 11, 12, 13, 14, 15, 16}
	cookie := []byte{0xde, 0xad, 0xbe, 0xef}
	gen := geneveHdr(0, 0x0800,
		geneveOpt(0x0108, 1, endpoint), geneveOpt(0x0108, 2, attach), geneveOpt(0x0108, 3, cookie), geneveOpt(0x0101, 1, []byte{0, 0, 0, 0}))
	b := build(t, eth(layers.EthernetTypeIPv4), ip4("10.9.0.1", "10.9.0.2", layers.IPProtocolUDP), udp(50000, 6081), gen,
		ip4("10.0.0.1", "10.0.0.2", layers.IPProtocolTCP), tcp(1, 2), payload)
	p := decodeLink(capture.LinkEthernet, b)
	flow(t, p, "10.0.0.1", "10.0.0.2", 6, 1, 2, 2)
	o := p.Outer
	if o.Type != capture.TunnelGeneve || !o.HasVNI || o.VNI != 0 || o.GWLBLens != [3]uint8{8, 8, 4} ||
		string(o.GWLBEndpoint[:]) != string(endpoint) || string(o.GWLBAttachment[:]) != string(attach) || string(o.GWLBCookie[:]) != string(cookie) {
		t.Errorf("gwlb: %+v", o)
	}
	// GWLB Geneve around Traffic Mirroring VXLAN: outer = Geneve, inner = VXLAN
	b = build(t, eth(layers.EthernetTypeIPv4), ip4("10.9.0.1", "10.9.0.2", layers.IPProtocolUDP), udp(50000, 6081), gen,
		ip4("172.16.0.1", "172.16.0.2", layers.IPProtocolUDP), udp(61000, 4789), vxlan(77),
		eth(layers.EthernetTypeIPv4), ip4("10.0.0.1", "10.0.0.2", layers.IPProtocolUDP), udp(3, 4), payload)
	p = decodeLink(capture.LinkEthernet, b)
	flow(t, p, "10.0.0.1", "10.0.0.2", 17, 3, 4, 3)
	if p.Tunnels != 2 || p.Outer.Type != capture.TunnelGeneve || p.Outer.GWLBLens[2] != 4 || p.Inner.Type != capture.TunnelVXLAN || p.Inner.VNI != 77 ||
		p.Inner.Src != netip.MustParseAddr("172.16.0.1") || p.Outer.Src != netip.MustParseAddr("10.9.0.1") {
		t.Errorf("nested: outer %+v inner %+v", p.Outer, p.Inner)
	}
	// protocol types Ethernet and IPv6; listener frame
	b = build(t, geneveHdr(0x123456, 0x6558), eth(layers.EthernetTypeIPv4), ip4("10.0.0.1", "10.0.0.2", layers.IPProtocolUDP), udp(3, 4), payload)
	d := New(Options{})
	d.Decode(&capture.Frame{Data: b, OrigLen: uint32(len(b)), Link: capture.LinkGeneve, Time: 7, Iface: 3,
		OuterSrc: netip.MustParseAddr("2001:db8::1"), OuterDst: netip.MustParseAddr("2001:db8::2")}, &p)
	flow(t, p, "10.0.0.1", "10.0.0.2", 17, 3, 4, 2)
	if p.Outer.VNI != 0x123456 || p.Outer.Src != netip.MustParseAddr("2001:db8::1") || p.Outer.GWLBLens != [3]uint8{} {
		t.Errorf("listener geneve %+v", p.Outer)
	}
	b = build(t, geneveHdr(1, 0x86dd), ip6("2001:db8::5", "2001:db8::6", layers.IPProtocolUDP), udp(3, 4), payload)
	flow(t, decodeLink(capture.LinkGeneve, b), "2001:db8::5", "2001:db8::6", 17, 3, 4, 1)
	// unknown protocol type: no flow
	b = build(t, geneveHdr(1, 0x1234), payload)
	if p := decodeLink(capture.LinkGeneve, b); p.Reason != capture.ReasonNotIP {
		t.Errorf("geneve unknown proto: %v", p.Reason)
	}
}

func TestICMPErrorIsNotATunnel(t *testing.T) {
	quoted := build(t, ip4("10.0.0.2", "8.8.8.8", layers.IPProtocolUDP), udp(5000, 53))
	b := build(t, eth(layers.EthernetTypeIPv4), ip4("192.0.2.9", "10.0.0.2", layers.IPProtocolICMPv4),
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 3)}, gopacket.Payload(quoted))
	p := decodeLink(capture.LinkEthernet, b)
	flow(t, p, "192.0.2.9", "10.0.0.2", 1, 0, 0, 1)
	if p.ICMPType != 3 || p.ICMPCode != 3 {
		t.Errorf("icmp %d/%d", p.ICMPType, p.ICMPCode)
	}
}

func TestSCTP(t *testing.T) {
	b := build(t, eth(layers.EthernetTypeIPv4), ip4("10.0.0.1", "10.0.0.2", layers.IPProtocolSCTP),
		gopacket.Payload([]byte{0x0b, 0x59, 0x0b, 0x59, 0, 0, 0, 1, 0, 0, 0, 0}))
	flow(t, decodeLink(capture.LinkEthernet, b), "10.0.0.1", "10.0.0.2", 132, 2905, 2905, 1)
}

func TestTruncationAndErrors(t *testing.T) {
	full := build(t, eth(layers.EthernetTypeIPv4), ip4("10.0.0.1", "10.0.0.2", layers.IPProtocolTCP), tcp(1, 2), gopacket.Payload(make([]byte, 1000)))
	d := New(Options{})
	var p capture.Packet
	// snaplen cut inside the payload: flow kept, l3_len from the header
	d.Decode(&capture.Frame{Data: full[:96], OrigLen: uint32(len(full)), Link: capture.LinkEthernet}, &p)
	if p.Reason != capture.ReasonNone || !p.Truncated || p.L3Len != 1040 || p.SrcPort != 1 {
		t.Errorf("snaplen: %+v", p)
	}
	// cut inside the IP header
	d.Decode(&capture.Frame{Data: full[:20], OrigLen: uint32(len(full)), Link: capture.LinkEthernet}, &p)
	if p.Reason != capture.ReasonTruncated || p.Family != 0 {
		t.Errorf("cut IP header: %+v", p)
	}
	// a VXLAN frame cut inside the inner Ethernet header
	vx := build(t, eth(layers.EthernetTypeIPv4), ip4("172.16.0.1", "172.16.0.2", layers.IPProtocolUDP), udp(61000, 4789), vxlan(1),
		eth(layers.EthernetTypeIPv4), ip4("10.0.0.1", "10.0.0.2", layers.IPProtocolUDP), udp(1, 2), payload)
	d.Decode(&capture.Frame{Data: vx[:14+20+8+8+6], OrigLen: uint32(len(vx)), Link: capture.LinkEthernet}, &p)
	if p.Reason != capture.ReasonTruncated || p.Tunnels != 1 {
		t.Errorf("cut vxlan: %+v", p)
	}
	// ... and cut right after the VXLAN header
	d.Decode(&capture.Frame{Data: vx[:14+20+8+8], OrigLen: uint32(len(vx)), Link: capture.LinkEthernet}, &p)
	if p.Reason != capture.ReasonTruncated {
		t.Errorf("cut after vxlan: %v", p.Reason)
	}
	// bad IPv4 version under ethertype 0x0800
	bad := append([]byte(nil), full...)
	bad[14] = 0x55
	if d.Decode(&capture.Frame{Data: bad, OrigLen: uint32(len(bad)), Link: capture.LinkEthernet}, &p); p.Reason != capture.ReasonBadHeader {
		t.Errorf("bad version: %v", p.Reason)
	}
	// ARP on Ethernet; 802.3/LLC frame
	arp := build(t, eth(layers.EthernetTypeARP), gopacket.Payload(make([]byte, 28)))
	if d.Decode(&capture.Frame{Data: arp, OrigLen: uint32(len(arp)), Link: capture.LinkEthernet}, &p); p.Reason != capture.ReasonNotIP || p.IPLayers != 0 {
		t.Errorf("arp: %+v", p)
	}
	llc := build(t, eth(layers.EthernetType(38)), gopacket.Payload(make([]byte, 38)))
	if d.Decode(&capture.Frame{Data: llc, OrigLen: uint32(len(llc)), Link: capture.LinkEthernet}, &p); p.Reason != capture.ReasonNotIP {
		t.Errorf("llc: %v", p.Reason)
	}
	// unsupported link types
	for _, lt := range []capture.LinkType{capture.LinkPcapngCustom, 147, 9} {
		if d.Decode(&capture.Frame{Data: full, OrigLen: uint32(len(full)), Link: lt}, &p); p.Reason != capture.ReasonUnsupported {
			t.Errorf("link %d: %v", lt, p.Reason)
		}
	}
	// a decoded packet after an error carries no stale state
	d.Decode(&capture.Frame{Data: full, OrigLen: uint32(len(full)), Link: capture.LinkEthernet, Time: 7, Iface: 3}, &p)
	flow(t, p, "10.0.0.1", "10.0.0.2", 6, 1, 2, 1)
	if p.Tunnels != 0 || p.Outer.Type != capture.TunnelNone || p.Truncated {
		t.Errorf("stale: %+v", p)
	}
}

func TestDecodeAllocs(t *testing.T) {
	frames := benchFrames(true)
	d := New(Options{})
	var p capture.Packet
	n := testing.AllocsPerRun(1000, func() {
		for i := 0; i < 64; i++ {
			d.Decode(&frames[i], &p)
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per 64 frames", n)
	}
}
