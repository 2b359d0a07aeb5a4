// Package decode owns turning a captured frame into the flow key of its
// innermost IP packet: it unwraps link layers (Ethernet, Linux SLL v1/v2,
// BSD null/loop, raw IP), VLAN/QinQ, MPLS, PPPoE/PPP and up to MaxTunnels
// nested encapsulations (IP-in-IP, GRE, GRE-in-UDP, ERSPAN I/II/III, VXLAN,
// Geneve with AWS GWLB options, MPLS-in-UDP) and fills a capture.Packet. It
// leaves reading frames to capture/pcapfile and capture/live and building
// flow records to capture/flowtable.
//
// # Driver
//
// Decoding is driven by gopacket's DecodingLayerParser (never
// gopacket.NewPacket). A DecodingLayerParser keeps one instance per layer
// type, so a nested IPv4 header would overwrite the outer one; the Decoder
// therefore keeps one "stage" per nesting level (MaxTunnels+1 of them),
// each with its own instance of every layer and one parser per possible
// first layer (Ethernet, IPv4, IPv6, MPLS, PPP, …; made on first use, so no
// dispatch layer is needed). A stage ends at an encapsulation boundary (a
// tunnel's payload, IP-in-IP, MPLS or PPP behind an IP header): its last
// layer reports LayerTypeNextStage, which no parser registers, so
// DecodeLayers returns, and the driver runs the next stage's parser for
// the boundary's first layer on the payload.
//
// Fast path: the common layers (Ethernet, 802.1Q, IPv4, IPv6, TCP, UDP,
// VXLAN) decode the layer that follows them in line (a direct call instead
// of the parser's dispatch: three interface calls per layer) as long as it
// is another common layer, and stop exactly where the parser would hand
// over (empty payload, stage boundary, or a layer they do not inline,
// which the parser then dispatches). A VXLAN layer also starts the next
// stage in line with the inner Ethernet header; when that stage stops at
// a layer the parser dispatches, the driver continues it with a parser
// starting at that layer (made on first use). An Ethernet/IPv4/UDP/VXLAN/
// Ethernet/IPv4/TCP frame is thus one parser run calling one layer.
//
// The layers are this package's own gopacket.DecodingLayer types: they
// write straight into the Packet, allocate nothing, take l3_len from the
// header when the capture is cut short, and tell a truncated header from a
// malformed one. gopacket's own layers are not used: v1.1.19 has no SLL2,
// ERSPAN III, MPLS, PPP, PPPoE, SCTP or IPv6 fragment/routing
// DecodingLayers, its IPv4/TCP layers fail on the snaplen-truncated headers
// a mirror delivers, and through the same parsers they cost about 1.3
// times the instructions of this package's whole Decode on a VXLAN frame
// (BenchmarkGopacketLayersVXLAN). Layer types 1901-1907 are registered
// with gopacket for the layers and pseudo layers it lacks.
//
// A panic in a layer (a bug: every bound is checked, and FuzzDecode runs
// with the recover off) is recovered once per frame and reported as
// ReasonBadHeader. An IPv4 total length of 0 (a host capture before TCP
// segmentation offload) is read as the frame's remaining wire length, as
// TShark does.
//
// # Inner and outer
//
// The rule is the corpus's (shared/corpus/expected/README.md): the Packet
// describes the last (innermost) IP header; the IP header quoted in an ICMP
// error is not decoded; a tunnel whose payload is not IP (ARP, STP, PPP
// control, an unknown GRE protocol, an empty payload) gives no flow
// (ReasonNotIP, or ReasonTruncated when the capture was cut short), and
// neither does its outer IP header. A non-first fragment stops decoding at
// its IP header (no ports, no tunnel). UDP tunnels are recognised as TShark
// does: the lower port is tried first (4789 VXLAN, 6081 Geneve, 4754
// GRE-in-UDP, 6635 MPLS-in-UDP, plus Options ports), the higher one only
// when the lower is not below 1024. An IPsec AH header is skipped and
// Proto is the protocol behind it, for IPv4 as for IPv6 (uncertain: TShark
// reports ip.proto 51 for IPv4).
//
// Tunnels: every VXLAN, Geneve, GRE or ERSPAN layer adds a capture.Tunnel
// whose Src/Dst are the IP header carrying it (Frame.OuterSrc/OuterDst for
// LinkVXLAN/LinkGeneve frames, which also count as one IP layer). GRE
// carrying ERSPAN is one tunnel of type ERSPAN1/2/3 (session id in ID;
// ERSPAN III D bit in Direction). IP-in-IP, MPLS and PPP encapsulations
// count toward MaxTunnels but add no Tunnel (FORMATS.md names no type for
// them). Packet.VLAN is the first 802.1Q/802.1ad tag of the frame, else
// the VLAN field of an ERSPAN II/III header when non-zero.
package decode
