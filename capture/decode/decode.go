package decode

import (
	"net/netip"

	"github.com/google/gopacket"

	"github.com/flowsift/flowsift/capture"
)

// MaxTunnels is how many nested encapsulations Decode unwraps (VXLAN,
// Geneve, GRE, ERSPAN, IP-in-IP, MPLS or PPP behind an IP header …); a
// frame with more is ReasonTooDeep.
const MaxTunnels = 4

const maxStages = MaxTunnels + 1

// Options configure a Decoder.
type Options struct {
	// Extra UDP destination ports decoded as VXLAN or Geneve besides the
	// IANA ports 4789 and 6081 (e.g. an Azure TAP's destinationPort).
	VXLANPorts  []uint16
	GenevePorts []uint16
}

// Decoder turns Frames into Packets. It is not safe for concurrent use;
// use one per goroutine. A Decoder allocates nothing per frame.
type Decoder struct {
	stages    [maxStages]*stage
	cur       int // index of the stage decoding now (the last one entered); not a pointer: no write barrier per frame
	pkt       *capture.Packet
	decoded   []gopacket.LayerType
	lastTun   *capture.Tunnel // the tunnel the last tunnel layer started (for ERSPAN after GRE)
	needInner bool            // a tunnel or encapsulation was entered and no IP header followed yet
	udpPorts  [65536]uint8
	noRecover bool // tests: let a panic through
	capLen    int  // len(Frame.Data) of the frame being decoded
	origLen   int  // Frame.OrigLen (at least capLen)
}

// origLeft is the original (wire) length of the frame from b on, b being
// a suffix of the frame's data.
func (d *Decoder) origLeft(b []byte) int {
	return d.origLen - (d.capLen - len(b))
}

// New returns a Decoder.
func New(opts Options) *Decoder {
	d := &Decoder{decoded: make([]gopacket.LayerType, 0, 32)}
	for i := range d.stages {
		d.stages[i] = newStage(d)
		d.stages[i].depth = i
	}
	d.udpPorts[portVXLAN] = udpTunVXLAN
	d.udpPorts[portGeneve] = udpTunGeneve
	d.udpPorts[portGREinUDP] = udpTunGRE
	d.udpPorts[portMPLSinUDP] = udpTunMPLS
	for _, p := range opts.VXLANPorts {
		d.udpPorts[p] = udpTunVXLAN
	}
	for _, p := range opts.GenevePorts {
		d.udpPorts[p] = udpTunGeneve
	}
	return d
}

// firstLayer maps a link type to the first layer (firstTypes index) of the
// outermost stage, or -1.
func firstLayer(f *capture.Frame) int {
	switch f.Link {
	case capture.LinkEthernet:
		return firstEthernet
	case capture.LinkRaw:
		if len(f.Data) > 0 && f.Data[0]>>4 == 6 {
			return firstIPv6
		}
		return firstIPv4
	case capture.LinkIPv4:
		return firstIPv4
	case capture.LinkIPv6:
		return firstIPv6
	case capture.LinkNull, capture.LinkLoop:
		return firstLoopback
	case capture.LinkLinuxSLL:
		return firstSLL
	case capture.LinkLinuxSLL2:
		return firstSLL2
	case capture.LinkVXLAN:
		return firstVXLAN
	case capture.LinkGeneve:
		return firstGeneve
	}
	return -1
}

// Decode fills p from f: the innermost IP packet's flow key and sizes and
// the tunnels around it, or p.Reason saying why there is none. Every field
// of p is overwritten.
func (d *Decoder) Decode(f *capture.Frame, p *capture.Packet) {
	*p = capture.Packet{Time: f.Time, Iface: f.Iface}
	typ := firstLayer(f)
	if typ < 0 {
		p.Reason = capture.ReasonUnsupported
		return
	}
	d.pkt, d.needInner = p, false
	d.capLen, d.origLen = len(f.Data), max(int(f.OrigLen), len(f.Data))
	if f.Link == capture.LinkVXLAN || f.Link == capture.LinkGeneve {
		// The listener's socket stripped the outer IP/UDP headers.
		p.Src, p.Dst = f.OuterSrc, f.OuterDst
		if f.OuterSrc.IsValid() {
			p.IPLayers = 1
			if f.OuterSrc.Is4() {
				p.Family = 4
			} else {
				p.Family = 6
			}
		}
	}
	// One deferred check per frame; recover is called only when the
	// frame did not finish (a panic is unwinding), not on every frame.
	done := d.noRecover
	defer func() {
		if !done {
			d.recoverPanic(p, recover())
		}
	}()
	data := f.Data
	reason := capture.ReasonNone
	var last *stage
	for depth := 0; ; {
		if depth == maxStages {
			reason = capture.ReasonTooDeep
			break
		}
		s := d.stages[depth]
		s.reset()
		d.cur = depth
		ps := s.parsers[typ]
		if ps == nil {
			ps = s.newParser(typ)
		}
		err := ps.DecodeLayers(data, &d.decoded)
		for err == nil {
			// A stage a layer entered in line (VXLAN's inner frame) may
			// have stopped at a layer the parser dispatches: a parser
			// starting at that layer continues it.
			c := d.stages[d.cur]
			if len(c.payload) == 0 || c.next == gopacket.LayerTypeZero || c.next == LayerTypeNextStage || c.next == LayerTypeNotIP {
				break
			}
			err = c.resume(c.next).DecodeLayers(c.payload, &d.decoded)
		}
		last = d.stages[d.cur]
		if err != nil {
			if err == errTruncated {
				reason = capture.ReasonTruncated
			} else {
				reason = capture.ReasonBadHeader
			}
			break
		}
		if last.next == LayerTypeNextStage && len(last.payload) > 0 {
			typ, data = last.jump, last.payload
			depth = last.depth + 1
			continue
		}
		break
	}
	if reason == capture.ReasonNone && (d.needInner || p.IPLayers == 0 || p.Family == 0) {
		// A tunnel (or the link layer) carries no IP packet: ARP, STP,
		// PPP control, an unknown payload; or an empty one, because the
		// capture was cut short (truncated) or the packet has none.
		reason = capture.ReasonNotIP
		if last.next == LayerTypeNextStage && len(f.Data) < int(f.OrigLen) {
			reason = capture.ReasonTruncated
		}
	}
	if p.Tunnels == 1 {
		p.Inner = p.Outer
	}
	if reason != capture.ReasonNone {
		p.Reason = reason
		p.Family, p.Proto, p.Src, p.Dst = 0, 0, netipZero, netipZero
		p.SrcPort, p.DstPort, p.HasICMP, p.ICMPType, p.ICMPCode, p.TCPFlags = 0, 0, false, 0, 0, 0
		p.L3Len, p.Truncated = 0, false
		p.Fragment, p.FragID, p.FragOffset, p.MoreFrags = false, 0, 0, false
	}
	done = true
}

var netipZero netip.Addr

// recoverPanic turns a panic in a layer (a bug: layers check every bound)
// into ReasonBadHeader so that one frame cannot stop a capture.
func (d *Decoder) recoverPanic(p *capture.Packet, r any) {
	if r != nil {
		t, i := p.Time, p.Iface
		*p = capture.Packet{Time: t, Iface: i, Reason: capture.ReasonBadHeader}
	}
}
