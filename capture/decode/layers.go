package decode

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/flowsift/flowsift/capture"
)

// Layer types flowsift registers with gopacket for the layers gopacket
// v1.1.19 lacks (or that are pseudo layers of the stage driver). Numbers
// 1901-1907 are taken from gopacket's "application" range (1000-1999).
var (
	// LayerTypeNextStage ends a stage at an encapsulation boundary; no
	// parser registers it, so DecodeLayers stops there.
	LayerTypeNextStage = gopacket.RegisterLayerType(1901, gopacket.LayerTypeMetadata{Name: "flowsift next stage"})
	// LayerTypeNotIP ends a stage at a non-IP payload (ARP, LLC, PPP control …).
	LayerTypeNotIP = gopacket.RegisterLayerType(1902, gopacket.LayerTypeMetadata{Name: "flowsift not IP"})
	// LayerTypeLinuxSLL2 is Linux cooked capture v2 (LINKTYPE_LINUX_SLL2).
	LayerTypeLinuxSLL2 = gopacket.RegisterLayerType(1903, gopacket.LayerTypeMetadata{Name: "Linux SLL2"})
	// LayerTypeERSPANIII is the ERSPAN type III header (GRE 0x22EB).
	LayerTypeERSPANIII = gopacket.RegisterLayerType(1904, gopacket.LayerTypeMetadata{Name: "ERSPAN Type III"})
	// LayerTypeCiscoMetaData is Cisco MetaData (ethertype 0x8909) on Ethernet.
	LayerTypeCiscoMetaData = gopacket.RegisterLayerType(1905, gopacket.LayerTypeMetadata{Name: "Cisco MetaData"})
	// LayerTypeCiscoMetaDataGRE is Cisco MetaData as a GRE payload (ethertype first).
	LayerTypeCiscoMetaDataGRE = gopacket.RegisterLayerType(1906, gopacket.LayerTypeMetadata{Name: "Cisco MetaData in GRE"})
	// LayerTypeIPv6Ext is an IPv6 hop-by-hop, routing or destination options header.
	LayerTypeIPv6Ext = gopacket.RegisterLayerType(1907, gopacket.LayerTypeMetadata{Name: "IPv6 extension"})
)

// Sentinel errors of the layers (no allocation on the error path).
var (
	errTruncated = errors.New("truncated")
	errBadHeader = errors.New("bad header")
)

var be = binary.BigEndian

// Well-known UDP ports of UDP-carried encapsulations.
const (
	portVXLAN      = 4789
	portGeneve     = 6081
	portGREinUDP   = 4754
	portMPLSinUDP  = 6635
	udpTunVXLAN    = 1
	udpTunGeneve   = 2
	udpTunGRE      = 3
	udpTunMPLS     = 4
	geneveClassAWS = 0x0108
)

// stage is one nesting level: a gopacket.DecodingLayerParser with one
// instance of every layer. A stage ends at the next encapsulation boundary
// (a tunnel payload, IP-in-IP, MPLS after IP), where the driver continues
// with the next stage, so repeated layer types never share an instance.
type stage struct {
	d       *Decoder
	parsers [len(firstTypes)]*gopacket.DecodingLayerParser
	next    gopacket.LayerType                                   // NextLayerType of the last decoded layer
	payload []byte                                               // LayerPayload of the last decoded layer
	jump    int                                                  // firstTypes index of the next stage's first layer (next == LayerTypeNextStage)
	hasIP   bool                                                 // an IP header was decoded in this stage
	depth   int                                                  // index in Decoder.stages
	resumes map[gopacket.LayerType]*gopacket.DecodingLayerParser // see resume

	eth     ethLayer
	vlan    vlanLayer
	mpls    mplsLayer
	pppoe   pppoeLayer
	ppp     pppLayer
	sll     sllLayer
	sll2    sll2Layer
	loop    loopLayer
	cmd     cmdLayer
	cmdGRE  cmdGRELayer
	ip4     ipv4Layer
	ip6     ipv6Layer
	ext6    ipv6ExtLayer
	frag6   ipv6FragLayer
	ah      ahLayer
	tcp     tcpLayer
	udp     udpLayer
	sctp    sctpLayer
	icmp4   icmp4Layer
	icmp6   icmp6Layer
	gre     greLayer
	vxlan   vxlanLayer
	geneve  geneveLayer
	erspan2 erspan2Layer
	erspan3 erspan3Layer
}

// firstTypes are the layer types a stage can start with; a stage keeps one
// parser per first type (made on first use), so no dispatch layer is needed.
const (
	firstEthernet = iota
	firstIPv4
	firstIPv6
	firstMPLS
	firstPPP
	firstCMDGRE
	firstLoopback
	firstSLL
	firstSLL2
	firstVXLAN
	firstGeneve
)

var firstTypes = [...]gopacket.LayerType{
	layers.LayerTypeEthernet, layers.LayerTypeIPv4, layers.LayerTypeIPv6,
	layers.LayerTypeMPLS, layers.LayerTypePPP, LayerTypeCiscoMetaDataGRE,
	layers.LayerTypeLoopback, layers.LayerTypeLinuxSLL, LayerTypeLinuxSLL2,
	layers.LayerTypeVXLAN, layers.LayerTypeGeneve,
}

func newStage(d *Decoder) *stage {
	s := &stage{d: d}
	for _, l := range s.layers() {
		l.set(s)
	}
	return s
}

type stageLayer interface {
	gopacket.DecodingLayer
	set(*stage)
}

func (s *stage) layers() []stageLayer {
	return []stageLayer{&s.eth, &s.vlan, &s.mpls, &s.pppoe, &s.ppp, &s.sll, &s.sll2, &s.loop, &s.cmd, &s.cmdGRE,
		&s.ip4, &s.ip6, &s.ext6, &s.frag6, &s.ah, &s.tcp, &s.udp, &s.sctp, &s.icmp4, &s.icmp6,
		&s.gre, &s.vxlan, &s.geneve, &s.erspan2, &s.erspan3}
}

func (s *stage) newParser(i int) *gopacket.DecodingLayerParser {
	p := s.makeParser(firstTypes[i])
	s.parsers[i] = p
	return p
}

// reset prepares the stage for a new encapsulation level.
func (s *stage) reset() {
	s.hasIP, s.next, s.payload = false, gopacket.LayerTypeZero, nil
}

// resume returns the stage's parser starting at layer type t (made on
// first use): it continues a stage that a layer of the previous stage
// entered in line and that stopped at a layer the parser dispatches.
func (s *stage) resume(t gopacket.LayerType) *gopacket.DecodingLayerParser {
	if p := s.resumes[t]; p != nil {
		return p
	}
	if s.resumes == nil {
		s.resumes = make(map[gopacket.LayerType]*gopacket.DecodingLayerParser)
	}
	p := s.makeParser(t)
	s.resumes[t] = p
	return p
}

func (s *stage) makeParser(t gopacket.LayerType) *gopacket.DecodingLayerParser {
	p := gopacket.NewDecodingLayerParser(t)
	p.SetDecodingLayerContainer(gopacket.DecodingLayerSparse(nil))
	for _, l := range s.layers() {
		p.AddDecodingLayer(l)
	}
	p.IgnoreUnsupported = true
	// Panics are not turned into errors per stage (a deferred recover per
	// call costs more than the layers); Decode recovers once per frame.
	p.IgnorePanic = true
	return p
}

// base holds what every layer shares: the stage whose next/payload it reports.
type base struct{ s *stage }

func (b *base) set(s *stage)                              { b.s = s }
func (b *base) NextLayerType() gopacket.LayerType         { return b.s.next }
func (b *base) LayerPayload() []byte                      { return b.s.payload }
func (s *stage) finish(next gopacket.LayerType, p []byte) { s.next, s.payload = next, p }

// toStage ends the stage: the next stage starts with layer t on p.
func (s *stage) toStage(t int, p []byte) {
	s.next, s.jump, s.payload = LayerTypeNextStage, t, p
}

// toL3 continues with an IP (or MPLS/PPP) layer: in this stage when it
// has no IP header yet, else in the next stage.
func (s *stage) toL3(t int, p []byte) {
	if s.hasIP {
		s.d.needInner = true
		s.toStage(t, p)
		return
	}
	s.next, s.payload = firstTypes[t], p
}

// ethertype dispatches on an ethertype.
func (s *stage) ethertype(et uint16, p []byte) {
	switch et {
	case 0x0800:
		s.toL3(firstIPv4, p)
	case 0x86dd:
		s.toL3(firstIPv6, p)
	case 0x8100, 0x88a8, 0x9100, 0x9200:
		s.finish(layers.LayerTypeDot1Q, p)
	case 0x8847, 0x8848:
		s.toL3(firstMPLS, p)
	case 0x8864:
		s.finish(layers.LayerTypePPPoE, p)
	case 0x8909:
		s.finish(LayerTypeCiscoMetaData, p)
	default:
		s.finish(LayerTypeNotIP, p)
	}
}

// chain decodes, in the layer the parser called, the layers that follow
// it as long as they are the common ones (VLAN, IPv4, IPv6, TCP, UDP,
// VXLAN): direct calls instead of one parser dispatch (three interface
// calls and a container lookup) per layer. It stops exactly where the
// parser would hand over to another layer: at an empty payload (the
// parser's end), at a stage boundary, or at a layer type it does not
// inline, which the parser then dispatches as before. Errors are the
// inlined layer's, as the parser would have returned them.
func (s *stage) chain() error {
	if len(s.payload) == 0 || s.next == LayerTypeNextStage { // inlined: nothing follows
		return nil
	}
	return s.chainLayers()
}

func (s *stage) chainLayers() error {
	for len(s.payload) > 0 && s.next != LayerTypeNextStage {
		var err error
		switch s.next {
		case layers.LayerTypeIPv4:
			err = s.decIPv4(s.payload)
		case layers.LayerTypeTCP:
			s.decTCP(s.payload)
		case layers.LayerTypeUDP:
			s.decUDP(s.payload)
		case layers.LayerTypeVXLAN:
			err = s.decVXLAN(s.payload)
		case layers.LayerTypeIPv6:
			err = s.decIPv6(s.payload)
		case layers.LayerTypeDot1Q:
			err = s.decVLAN(s.payload)
		default:
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ---- link layers ----

type ethLayer struct{ base }

func (l *ethLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeEthernet }
func (l *ethLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	if err := l.s.decEth(b); err != nil {
		return err
	}
	return l.s.chain()
}

func (s *stage) decEth(b []byte) error {
	if len(b) < 14 {
		return errTruncated
	}
	et := be.Uint16(b[12:])
	if et == 0x0800 && !s.hasIP { // fast path
		if len(b) > 14 {
			return s.decIPv4(b[14:])
		}
		s.next, s.payload = layers.LayerTypeIPv4, b[14:]
		return nil
	}
	if et < 0x0600 { // 802.3 length: LLC/SNAP (STP, CDP, …)
		s.finish(LayerTypeNotIP, b[14:])
		return nil
	}
	s.ethertype(et, b[14:])
	return nil
}

type vlanLayer struct{ base }

func (l *vlanLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeDot1Q }
func (l *vlanLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	if err := l.s.decVLAN(b); err != nil {
		return err
	}
	return l.s.chain()
}

func (s *stage) decVLAN(b []byte) error {
	if len(b) < 4 {
		return errTruncated
	}
	p := s.d.pkt
	if !p.HasVLAN {
		p.HasVLAN, p.VLAN = true, be.Uint16(b)&0x0fff
	}
	et := be.Uint16(b[2:])
	if et < 0x0600 {
		s.finish(LayerTypeNotIP, b[4:])
		return nil
	}
	s.ethertype(et, b[4:])
	return nil
}

type mplsLayer struct{ base }

func (l *mplsLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeMPLS }
func (l *mplsLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	for {
		if len(b) < 4 {
			return errTruncated
		}
		bottom := b[2]&1 != 0
		b = b[4:]
		if bottom {
			break
		}
	}
	if len(b) == 0 {
		return errTruncated
	}
	// No payload type in MPLS: the first nibble tells IPv4/IPv6 (TShark's
	// default); anything else (pseudowire control word, …) is not IP.
	switch b[0] >> 4 {
	case 4:
		l.s.toL3(firstIPv4, b)
	case 6:
		l.s.toL3(firstIPv6, b)
	default:
		l.s.finish(LayerTypeNotIP, b)
	}
	return nil
}

type pppoeLayer struct{ base }

func (l *pppoeLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypePPPoE }
func (l *pppoeLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	if len(b) < 6 {
		return errTruncated
	}
	if b[0] != 0x11 || b[1] != 0 {
		return errBadHeader
	}
	n := int(be.Uint16(b[4:]))
	p := b[6:]
	if n < len(p) {
		p = p[:n]
	}
	l.s.d.needInner = true // PPPoE is a tunnel entry of the corpus rule
	l.s.finish(layers.LayerTypePPP, p)
	return nil
}

type pppLayer struct{ base }

func (l *pppLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypePPP }
func (l *pppLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	if len(b) >= 2 && b[0] == 0xff && b[1] == 0x03 { // HDLC address/control
		b = b[2:]
	}
	if len(b) < 1 {
		return errTruncated
	}
	var proto uint16
	if b[0]&1 != 0 { // protocol-field compression
		proto, b = uint16(b[0]), b[1:]
	} else {
		if len(b) < 2 {
			return errTruncated
		}
		proto, b = be.Uint16(b), b[2:]
	}
	switch proto {
	case 0x0021:
		l.s.toL3(firstIPv4, b)
	case 0x0057:
		l.s.toL3(firstIPv6, b)
	case 0x0281:
		l.s.toL3(firstMPLS, b)
	default:
		l.s.finish(LayerTypeNotIP, b)
	}
	return nil
}

type sllLayer struct{ base }

func (l *sllLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeLinuxSLL }
func (l *sllLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	if len(b) < 16 {
		return errTruncated
	}
	l.s.sllProto(be.Uint16(b[2:]), be.Uint16(b[14:]), b[16:])
	return nil
}

// sllProto dispatches the protocol field of a cooked header.
func (s *stage) sllProto(arphrd, proto uint16, p []byte) {
	switch {
	case arphrd == 824: // ARPHRD_NETLINK
		s.finish(LayerTypeNotIP, p)
	case arphrd == 778 && proto != 0x0800 && proto != 0x86dd: // ARPHRD_IPGRE: protocol is the GRE protocol type
		s.finish(LayerTypeNotIP, p)
	case proto < 0x0600: // 0x0001 Novell 802.3, 0x0004 802.2 LLC, …
		s.finish(LayerTypeNotIP, p)
	default:
		s.ethertype(proto, p)
	}
}

type sll2Layer struct{ base }

func (l *sll2Layer) CanDecode() gopacket.LayerClass { return LayerTypeLinuxSLL2 }
func (l *sll2Layer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	// protocol(2) reserved(2) ifindex(4) arphrd(2) pkttype(1) addrlen(1) addr(8)
	if len(b) < 20 {
		return errTruncated
	}
	l.s.sllProto(be.Uint16(b[8:]), be.Uint16(b), b[20:])
	return nil
}

type loopLayer struct{ base }

func (l *loopLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeLoopback }
func (l *loopLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	if len(b) < 4 {
		return errTruncated
	}
	// DLT_NULL is in the capturing host's byte order, DLT_LOOP in network
	// order: take whichever reading is a small number.
	af := binary.LittleEndian.Uint32(b)
	if af > 0xffff {
		af = be.Uint32(b)
	}
	switch af {
	case 2:
		l.s.toL3(firstIPv4, b[4:])
	case 10, 24, 28, 30: // AF_INET6 on Linux, NetBSD/OpenBSD, FreeBSD, Darwin
		l.s.toL3(firstIPv6, b[4:])
	default:
		l.s.finish(LayerTypeNotIP, b[4:])
	}
	return nil
}

type cmdLayer struct{ base }

func (l *cmdLayer) CanDecode() gopacket.LayerClass { return LayerTypeCiscoMetaData }
func (l *cmdLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	// version(1) length(1) option(2) SGT(2) ethertype(2)
	if len(b) < 8 {
		return errTruncated
	}
	l.s.ethertype(be.Uint16(b[6:]), b[8:])
	return nil
}

type cmdGRELayer struct{ base }

func (l *cmdGRELayer) CanDecode() gopacket.LayerClass { return LayerTypeCiscoMetaDataGRE }
func (l *cmdGRELayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	// In GRE the ethertype comes first: ethertype(2) version(1) length(1) option(2) SGT(2)
	if len(b) < 8 {
		return errTruncated
	}
	l.s.ethertype(be.Uint16(b), b[8:])
	return nil
}

// ---- IP ----

// ipStart resets the per-IP-header fields of the packet for a new IP header.
func (s *stage) ipStart() *capture.Packet {
	p := s.d.pkt
	s.hasIP = true
	s.d.needInner = false
	if p.IPLayers != 0 {
		// Only layers behind an IP header set these (Decode zeroed
		// them), so the first IP header of a frame has nothing to reset.
		p.SrcPort, p.DstPort = 0, 0
		p.HasICMP, p.ICMPType, p.ICMPCode, p.TCPFlags = false, 0, 0, 0
		p.Fragment, p.FragID, p.FragOffset, p.MoreFrags = false, 0, 0, false
	}
	p.IPLayers++
	return p
}

type ipv4Layer struct{ base }

func (l *ipv4Layer) CanDecode() gopacket.LayerClass { return layers.LayerTypeIPv4 }
func (l *ipv4Layer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	if err := l.s.decIPv4(b); err != nil {
		return err
	}
	return l.s.chain()
}

func (s *stage) decIPv4(b []byte) error {
	if len(b) < 20 {
		return errTruncated
	}
	if b[0]>>4 != 4 {
		return errBadHeader
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(be.Uint16(b[2:]))
	if total == 0 {
		// TCP segmentation offload: a host capture of an outgoing
		// segment before the NIC split it. As TShark does, take the
		// packet's length on the wire from here on.
		total = s.d.origLeft(b)
	}
	if ihl < 20 || total < ihl {
		return errBadHeader
	}
	if len(b) < ihl {
		return errTruncated
	}
	p := s.ipStart()
	p.Family = 4
	p.Src = netip.AddrFrom4([4]byte(b[12:16]))
	p.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	p.Proto = b[9]
	p.L3Len = uint32(total)
	ff := be.Uint16(b[6:])
	off, mf := ff&0x1fff, ff&0x2000 != 0
	if mf || off != 0 {
		p.Fragment, p.FragID, p.FragOffset, p.MoreFrags = true, uint32(be.Uint16(b[4:])), off, mf
	}
	end := total
	p.Truncated = len(b) < total
	if p.Truncated {
		end = len(b)
	}
	switch {
	case off != 0: // a non-first fragment carries no transport header
		s.next, s.payload = gopacket.LayerTypeZero, nil
	case p.Proto == 6: // fast paths: decoded here, not dispatched (an empty
		// payload gives what the parser's stop would: no ports)
		s.decTCP(b[ihl:end])
	case p.Proto == 17:
		return s.decUDP(b[ihl:end])
	default:
		s.proto(p, p.Proto, b[ihl:end])
	}
	return nil
}

type ipv6Layer struct{ base }

func (l *ipv6Layer) CanDecode() gopacket.LayerClass { return layers.LayerTypeIPv6 }
func (l *ipv6Layer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	if err := l.s.decIPv6(b); err != nil {
		return err
	}
	return l.s.chain()
}

func (s *stage) decIPv6(b []byte) error {
	if len(b) < 40 {
		return errTruncated
	}
	if b[0]>>4 != 6 {
		return errBadHeader
	}
	p := s.ipStart()
	p.Family = 6
	p.Src = netip.AddrFrom16([16]byte(b[8:24]))
	p.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	p.Proto = b[6]
	total := int(be.Uint16(b[4:])) + 40
	p.L3Len = uint32(total)
	end := total
	p.Truncated = len(b) < total
	if p.Truncated {
		end = len(b)
	}
	switch p.Proto {
	case 6: // fast paths, as in decIPv4
		s.decTCP(b[40:end])
	case 17:
		return s.decUDP(b[40:end])
	default:
		s.proto(p, p.Proto, b[40:end])
	}
	return nil
}

// proto dispatches an IP protocol number (after the IP header or an
// IPv6 extension header).
func (s *stage) proto(p *capture.Packet, proto uint8, b []byte) {
	switch proto {
	case 6:
		s.finish(layers.LayerTypeTCP, b)
	case 17:
		s.finish(layers.LayerTypeUDP, b)
	case 132:
		s.finish(layers.LayerTypeSCTP, b)
	case 1:
		if p.Family == 4 {
			s.finish(layers.LayerTypeICMPv4, b)
			return
		}
		s.finish(gopacket.LayerTypeZero, nil)
	case 58:
		if p.Family == 6 {
			s.finish(layers.LayerTypeICMPv6, b)
			return
		}
		s.finish(gopacket.LayerTypeZero, nil)
	case 47:
		s.finish(layers.LayerTypeGRE, b)
	case 4:
		s.d.needInner = true
		s.toStage(firstIPv4, b)
	case 41:
		s.d.needInner = true
		s.toStage(firstIPv6, b)
	case 51:
		s.finish(layers.LayerTypeIPSecAH, b)
	case 0, 43, 60:
		if p.Family == 6 {
			s.finish(LayerTypeIPv6Ext, b)
			return
		}
		s.finish(gopacket.LayerTypeZero, nil)
	case 44:
		if p.Family == 6 {
			s.finish(layers.LayerTypeIPv6Fragment, b)
			return
		}
		s.finish(gopacket.LayerTypeZero, nil)
	default:
		s.finish(gopacket.LayerTypeZero, nil)
	}
}

type ipv6ExtLayer struct{ base }

func (l *ipv6ExtLayer) CanDecode() gopacket.LayerClass { return LayerTypeIPv6Ext }
func (l *ipv6ExtLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	if len(b) < 2 {
		return errTruncated
	}
	n := (int(b[1]) + 1) * 8
	if len(b) < n {
		return errTruncated
	}
	p := l.s.d.pkt
	p.Proto = b[0]
	l.s.proto(p, b[0], b[n:])
	return nil
}

type ipv6FragLayer struct{ base }

func (l *ipv6FragLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeIPv6Fragment }
func (l *ipv6FragLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	if len(b) < 8 {
		return errTruncated
	}
	p := l.s.d.pkt
	p.Proto = b[0]
	v := be.Uint16(b[2:])
	p.Fragment, p.FragOffset, p.MoreFrags, p.FragID = true, v>>3, v&1 != 0, be.Uint32(b[4:])
	if p.FragOffset != 0 {
		l.s.finish(gopacket.LayerTypeZero, nil)
		return nil
	}
	l.s.proto(p, b[0], b[8:])
	return nil
}

// ahLayer skips an IPsec Authentication Header; Proto becomes the protocol
// it protects (for IPv4 and IPv6 alike).
type ahLayer struct{ base }

func (l *ahLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeIPSecAH }
func (l *ahLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	if len(b) < 2 {
		return errTruncated
	}
	n := (int(b[1]) + 2) * 4
	if len(b) < n {
		return errTruncated
	}
	p := l.s.d.pkt
	p.Proto = b[0]
	l.s.proto(p, b[0], b[n:])
	return nil
}

// ---- transport ----

type tcpLayer struct{ base }

func (l *tcpLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeTCP }
func (l *tcpLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	l.s.decTCP(b)
	return nil
}

func (s *stage) decTCP(b []byte) {
	p := s.d.pkt
	if len(b) >= 4 {
		p.SrcPort, p.DstPort = be.Uint16(b), be.Uint16(b[2:])
	}
	if len(b) >= 14 {
		p.TCPFlags = b[13]
	}
	s.finish(gopacket.LayerTypeZero, nil)
}

type sctpLayer struct{ base }

func (l *sctpLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeSCTP }
func (l *sctpLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	p := l.s.d.pkt
	if len(b) >= 4 {
		p.SrcPort, p.DstPort = be.Uint16(b), be.Uint16(b[2:])
	}
	l.s.finish(gopacket.LayerTypeZero, nil)
	return nil
}

type icmp4Layer struct{ base }

func (l *icmp4Layer) CanDecode() gopacket.LayerClass { return layers.LayerTypeICMPv4 }
func (l *icmp4Layer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	l.s.icmp(b)
	return nil
}

type icmp6Layer struct{ base }

func (l *icmp6Layer) CanDecode() gopacket.LayerClass { return layers.LayerTypeICMPv6 }
func (l *icmp6Layer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	l.s.icmp(b)
	return nil
}

// icmp records type and code. The IP header an ICMP error quotes is not
// decoded: it is not a tunnel (corpus rule 1).
func (s *stage) icmp(b []byte) {
	p := s.d.pkt
	if len(b) >= 2 {
		p.HasICMP, p.ICMPType, p.ICMPCode = true, b[0], b[1]
	}
	s.finish(gopacket.LayerTypeZero, nil)
}

type udpLayer struct{ base }

func (l *udpLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeUDP }
func (l *udpLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	if err := l.s.decUDP(b); err != nil {
		return err
	}
	return l.s.chain()
}

func (s *stage) decUDP(b []byte) error {
	p := s.d.pkt
	if len(b) < 4 {
		s.finish(gopacket.LayerTypeZero, nil)
		return nil
	}
	sp, dp := be.Uint16(b), be.Uint16(b[2:])
	p.SrcPort, p.DstPort = sp, dp
	if len(b) < 8 {
		s.finish(gopacket.LayerTypeZero, nil)
		return nil
	}
	// TShark's rule: try the lower port first, then the higher one, each
	// only if a dissector is registered for it. Approximation: a low port
	// below 1024 (other than 0) is taken as registered to its own
	// protocol, so the higher one is then not tried; a registered low port
	// of 1024 or more (e.g. 4500 IPsec NAT-T to 4789) is not known here.
	lo, hi := sp, dp
	if lo > hi {
		lo, hi = hi, lo
	}
	tun := s.d.udpPorts[lo]
	if tun == 0 && (lo >= 1024 || lo == 0) { // port 0 is skipped, as TShark does
		tun = s.d.udpPorts[hi]
	}
	if tun == 0 {
		s.finish(gopacket.LayerTypeZero, nil)
		return nil
	}
	payload := b[8:]
	if n := int(be.Uint16(b[4:])); n >= 8 && n-8 < len(payload) {
		payload = payload[:n-8]
	}
	switch tun {
	case udpTunVXLAN:
		if len(payload) > 0 {
			return s.decVXLAN(payload)
		}
		s.finish(layers.LayerTypeVXLAN, payload)
	case udpTunGeneve:
		s.finish(layers.LayerTypeGeneve, payload)
	case udpTunGRE:
		s.finish(layers.LayerTypeGRE, payload)
	case udpTunMPLS:
		s.d.needInner = true
		s.toStage(firstMPLS, payload)
	}
	return nil
}

// ---- tunnels ----

// tunnel starts a tunnel entry carried by the current IP header.
func (s *stage) tunnel(t capture.TunnelType) *capture.Tunnel {
	d := s.d
	d.needInner = true
	// Only the outermost and innermost tunnels are kept: the first goes
	// to Packet.Outer, later ones overwrite Packet.Inner (Decode copies
	// Outer to Inner when there is one).
	p := d.pkt
	tu := &p.Outer // zeroed by Decode
	if p.Tunnels > 0 {
		tu = &p.Inner
		*tu = capture.Tunnel{}
	}
	p.Tunnels++
	tu.Type, tu.Src, tu.Dst = t, p.Src, p.Dst
	d.lastTun = tu
	return tu
}

type vxlanLayer struct{ base }

func (l *vxlanLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeVXLAN }
func (l *vxlanLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	return l.s.decVXLAN(b)
}

func (s *stage) decVXLAN(b []byte) error {
	if len(b) < 8 {
		return errTruncated
	}
	tu := s.tunnel(capture.TunnelVXLAN)
	if b[0]&0x08 != 0 { // I flag: the VNI is valid
		tu.HasVNI, tu.VNI = true, be.Uint32(b[4:])>>8
	}
	if len(b) > 8 && s.depth+1 < maxStages {
		// The inner frame is decoded in line in the next stage (as the
		// driver would start it, with its Ethernet layer); this stage
		// ends here. The driver continues from Decoder.cur, the stage
		// that was entered last, and lets a parser decode any layer the
		// in-line decoding stopped at.
		s.finish(gopacket.LayerTypeZero, nil)
		n := s.d.stages[s.depth+1]
		n.reset()
		s.d.cur = n.depth
		if err := n.decEth(b[8:]); err != nil {
			return err
		}
		return n.chain()
	}
	s.toStage(firstEthernet, b[8:])
	return nil
}

type geneveLayer struct{ base }

func (l *geneveLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeGeneve }
func (l *geneveLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	if len(b) < 8 {
		return errTruncated
	}
	if b[0]>>6 != 0 {
		return errBadHeader
	}
	n := 8 + int(b[0]&0x3f)*4
	if len(b) < n {
		return errTruncated
	}
	tu := l.s.tunnel(capture.TunnelGeneve)
	tu.HasVNI, tu.VNI = true, be.Uint32(b[4:])>>8
	for o := b[8:n]; len(o) >= 4; {
		class, typ, ol := be.Uint16(o), o[2]&0x7f, int(o[3]&0x1f)*4
		if 4+ol > len(o) {
			return errBadHeader
		}
		v := o[4 : 4+ol]
		if class == geneveClassAWS {
			switch typ {
			case 1:
				tu.GWLBLens[0] = uint8(copy(tu.GWLBEndpoint[:], v))
			case 2:
				tu.GWLBLens[1] = uint8(copy(tu.GWLBAttachment[:], v))
			case 3:
				tu.GWLBLens[2] = uint8(copy(tu.GWLBCookie[:], v))
			}
		}
		o = o[4+ol:]
	}
	p := b[n:]
	switch be.Uint16(b[2:]) {
	case 0x6558:
		l.s.toStage(firstEthernet, p)
	case 0x0800:
		l.s.toStage(firstIPv4, p)
	case 0x86dd:
		l.s.toStage(firstIPv6, p)
	default:
		l.s.finish(LayerTypeNotIP, p)
	}
	return nil
}

type greLayer struct{ base }

func (l *greLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeGRE }
func (l *greLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	if len(b) < 4 {
		return errTruncated
	}
	flags, proto := be.Uint16(b), be.Uint16(b[2:])
	ver := flags & 7
	if ver > 1 {
		return errBadHeader
	}
	if flags&0x4000 != 0 { // routing present (RFC 1701, obsolete)
		return errBadHeader
	}
	n := 4
	if flags&0x8000 != 0 { // checksum + reserved
		n += 4
	}
	var key uint32
	hasKey := flags&0x2000 != 0
	if hasKey {
		if len(b) < n+4 {
			return errTruncated
		}
		key = be.Uint32(b[n:])
		n += 4
	}
	hasSeq := flags&0x1000 != 0
	if hasSeq {
		n += 4
	}
	if ver == 1 && flags&0x0080 != 0 { // enhanced GRE acknowledgment
		n += 4
	}
	if len(b) < n {
		return errTruncated
	}
	s := l.s
	tu := s.tunnel(capture.TunnelGRE)
	if hasKey && ver == 0 { // PPTP's key field is length + call id, not a key
		tu.HasID, tu.ID = true, key
	}
	p := b[n:]
	switch proto {
	case 0x0800:
		s.toStage(firstIPv4, p)
	case 0x86dd:
		s.toStage(firstIPv6, p)
	case 0x6558:
		s.toStage(firstEthernet, p)
	case 0x8847, 0x8848:
		s.toStage(firstMPLS, p)
	case 0x880b:
		s.toStage(firstPPP, p)
	case 0x8909:
		s.toStage(firstCMDGRE, p)
	case 0x88be:
		if !hasSeq { // ERSPAN type I: no ERSPAN header
			tu.Type, tu.HasID, tu.ID = capture.TunnelERSPAN1, false, 0
			s.toStage(firstEthernet, p)
			return nil
		}
		s.finish(layers.LayerTypeERSPANII, p)
	case 0x22eb:
		s.finish(LayerTypeERSPANIII, p)
	default:
		s.finish(LayerTypeNotIP, p)
	}
	return nil
}

type erspan2Layer struct{ base }

func (l *erspan2Layer) CanDecode() gopacket.LayerClass { return layers.LayerTypeERSPANII }
func (l *erspan2Layer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	if len(b) >= 1 && b[0]>>4 == 2 { // a type III header behind 0x88BE
		return l.s.decodeERSPAN3(b)
	}
	if len(b) < 8 {
		return errTruncated
	}
	s := l.s
	tu := s.d.lastTun
	tu.Type, tu.HasID, tu.ID = capture.TunnelERSPAN2, true, uint32(be.Uint16(b[2:])&0x3ff)
	s.erspanVLAN(be.Uint16(b) & 0x0fff)
	s.toStage(firstEthernet, b[8:])
	return nil
}

type erspan3Layer struct{ base }

func (l *erspan3Layer) CanDecode() gopacket.LayerClass { return LayerTypeERSPANIII }
func (l *erspan3Layer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	return l.s.decodeERSPAN3(b)
}

// erspanVLAN takes the ERSPAN header's original VLAN when no 802.1Q tag
// was seen before it.
func (s *stage) erspanVLAN(v uint16) {
	p := s.d.pkt
	if !p.HasVLAN && v != 0 {
		p.HasVLAN, p.VLAN = true, v
	}
}

// decodeERSPAN3 decodes the 12-byte ERSPAN type III header: ver(4)=2 VLAN(12)
// COS(3) BSO(2) T(1) session(10) | timestamp(32) | SGT(16) P(1) FT(5)
// HW(6) D(1) Gra(2) O(1), then an 8-byte platform sub-header when O is set.
func (s *stage) decodeERSPAN3(b []byte) error {
	if len(b) < 12 {
		return errTruncated
	}
	if b[0]>>4 != 2 {
		return errBadHeader
	}
	w := be.Uint16(b[10:])
	n := 12
	if w&1 != 0 {
		n += 8
	}
	if len(b) < n {
		return errTruncated
	}
	tu := s.d.lastTun
	tu.Type, tu.HasID, tu.ID = capture.TunnelERSPAN3, true, uint32(be.Uint16(b[2:])&0x3ff)
	tu.Direction = 1 // D = 0: ingress
	if w&0x0008 != 0 {
		tu.Direction = 2 // D = 1: egress
	}
	s.erspanVLAN(be.Uint16(b) & 0x0fff)
	p := b[n:]
	switch ft := (w >> 10) & 0x1f; ft {
	case 0: // Ethernet
		s.toStage(firstEthernet, p)
	case 2: // IP
		if len(p) > 0 && p[0]>>4 == 6 {
			s.toStage(firstIPv6, p)
		} else {
			s.toStage(firstIPv4, p)
		}
	default:
		s.finish(LayerTypeNotIP, p)
	}
	return nil
}
