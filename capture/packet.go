package capture

import "net/netip"

// The types in this file are the contract between the capture stages:
//
//	source (capture/pcapfile, capture/live) --Frame--> decoder (capture/decode)
//	  --Packet--> flow table (capture/flowtable) --flowlog.Record--> consumers
//
// Every stage reuses its buffers: a Frame's Data and a Packet are valid only
// until the stage that produced them is called again.

// LinkType is a pcap LINKTYPE_* value (https://www.tcpdump.org/linktypes.html),
// plus the pseudo link types below for payloads a mirror-target listener
// receives without their outer headers.
type LinkType uint32

// Link types flowsift decodes.
const (
	LinkNull      LinkType = 0   // BSD loopback: 4-byte host-order address family
	LinkEthernet  LinkType = 1   // Ethernet II / 802.3
	LinkRaw       LinkType = 101 // raw IPv4 or IPv6 (version nibble decides); DLT_RAW 12/14 are mapped here by the readers
	LinkLoop      LinkType = 108 // OpenBSD loopback: 4-byte network-order address family
	LinkLinuxSLL  LinkType = 113 // Linux cooked capture v1
	LinkIPv4      LinkType = 228 // raw IPv4
	LinkIPv6      LinkType = 229 // raw IPv6
	LinkLinuxSLL2 LinkType = 276 // Linux cooked capture v2

	// LinkVXLAN and LinkGeneve are UDP payloads received by the mirror
	// target listener: the Frame's Data starts at the VXLAN/Geneve header and
	// Frame.OuterSrc/OuterDst carry the outer addresses from the socket.
	LinkVXLAN  LinkType = 0xFFFF0001
	LinkGeneve LinkType = 0xFFFF0002

	// LinkPcapngCustom is a pcapng Custom Block (types 0x00000BAD and
	// 0x40000BAD): not a packet, but TShark counts it as a frame, so the
	// file readers deliver it (Data = the custom data after the Private
	// Enterprise Number, NoTime set) and the decoder reports it as
	// ReasonUnsupported.
	LinkPcapngCustom LinkType = 0xFFFF0003
)

// Frame is one captured link-layer frame as a source delivers it.
type Frame struct {
	Time     int64    // capture time, Unix nanoseconds
	Data     []byte   // captured bytes (may be shorter than OrigLen); valid until the source's next call
	OrigLen  uint32   // length on the wire
	Link     LinkType // how Data starts
	Iface    uint32   // interface index within the source (pcapng IDB index; 0 for pcap and listeners)
	Number   uint64   // 1-based frame number within the source
	Offset   int64    // byte offset of the frame's record in its file (0 for live sources)
	OuterSrc netip.Addr
	OuterDst netip.Addr // LinkVXLAN/LinkGeneve only: the tunnel's outer addresses
	// NoTime is set when the record carries no timestamp (pcapng Simple
	// Packet Block, custom block); Time is then 0.
	NoTime bool
}

// TunnelType names an encapsulation (FORMATS.md section 8, key tunnel_type).
type TunnelType uint8

// Tunnel types.
const (
	TunnelNone TunnelType = iota
	TunnelVXLAN
	TunnelGeneve
	TunnelGRE
	TunnelERSPAN1
	TunnelERSPAN2
	TunnelERSPAN3
)

var tunnelNames = [...]string{"", "vxlan", "geneve", "gre", "erspan1", "erspan2", "erspan3"}

// String returns the tunnel_type value ("" for none).
func (t TunnelType) String() string {
	if int(t) < len(tunnelNames) {
		return tunnelNames[t]
	}
	return ""
}

// Tunnel is the identity of one encapsulation layer.
type Tunnel struct {
	Type     TunnelType
	HasVNI   bool   // VXLAN/Geneve
	VNI      uint32 // 24-bit
	HasID    bool   // GRE key or ERSPAN session id
	ID       uint32
	Src, Dst netip.Addr // the IP header that carries the tunnel
	// ERSPAN III direction bit: 1 ingress, 2 egress, 0 not stated.
	Direction uint8
	// AWS Gateway Load Balancer Geneve options (class 0x0108), raw bytes
	// kept in fixed arrays so a Packet never allocates; lengths 0 when absent.
	GWLBEndpoint   [8]byte
	GWLBAttachment [8]byte
	GWLBCookie     [4]byte
	GWLBLens       [3]uint8 // lengths present for endpoint, attachment, cookie
}

// Reason says why a frame yields no inner IP flow (Packet.Reason).
type Reason uint8

// Reasons a frame is undecodable or carries no IP flow. Counted per reason.
const (
	ReasonNone        Reason = iota // decoded: Packet describes an inner IP flow
	ReasonNotIP                     // link/tunnel payload is not IP (ARP, STP, LCP, …): not an error
	ReasonTruncated                 // captured bytes end before the headers needed
	ReasonBadHeader                 // a header is malformed (bad version, length, …)
	ReasonUnsupported               // link type or encapsulation flowsift does not decode
	ReasonTooDeep                   // more nested tunnels than the decoder unwraps
	numReasons
)

var reasonNames = [numReasons]string{"", "not-ip", "truncated", "bad-header", "unsupported", "too-deep"}

// String returns the counter name of the reason.
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// NumReasons is the number of Reason values, for counter arrays.
const NumReasons = int(numReasons)

// Packet is what the decoder extracts from one Frame: the innermost IP
// packet's flow key and sizes, and the tunnels around it.
type Packet struct {
	Time   int64 // from the Frame
	Iface  uint32
	Reason Reason // ReasonNone: the fields below describe an inner IP flow

	Family           uint8 // 4 or 6
	Proto            uint8 // IANA number; for IPv6 the protocol after extension headers
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16 // TCP, UDP, SCTP; 0 otherwise (and 0 on non-first fragments)
	HasICMP          bool   // ICMP/ICMPv6: type and code below are valid
	ICMPType         uint8
	ICMPCode         uint8
	TCPFlags         uint8  // flags byte of the TCP header (FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32, ECE 64, CWR 128)
	L3Len            uint32 // IPv4 total length, IPv6 payload length + 40 (from the header, not the capture)
	Truncated        bool   // the frame was cut short of the inner packet's length (snaplen / mirror packet length)

	// Fragments (inner header). Fragment is true when IPv4 MF is set or the
	// offset is non-zero, or an IPv6 fragment header is present. FragOffset
	// is in 8-byte units; a non-first fragment has no ports and is attributed
	// to its flow by (Src, Dst, Proto, FragID) in the flow table.
	Fragment   bool
	FragID     uint32
	FragOffset uint16
	MoreFrags  bool

	IPLayers uint8 // IP headers in the frame (2 or more: tunnelled)
	VLAN     uint16
	HasVLAN  bool // the outermost 802.1Q tag's VLAN id (FORMATS key vlan)

	// Outer is the outermost tunnel (its identity goes to the record's
	// tunnel_* / gwlb_* keys, FORMATS.md 8); Inner the tunnel closest to
	// the inner packet (the corpus's tunnel_id column). Equal when there is
	// one tunnel; Type TunnelNone when there is none.
	Outer, Inner Tunnel
	Tunnels      uint8 // tunnel layers unwrapped
}
