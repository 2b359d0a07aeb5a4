package pcapgen

import (
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net/netip"
	"sort"

	"github.com/flowsift/flowsift/capture"
	"github.com/flowsift/flowsift/capture/pcapfile"
)

// Config describes the traffic.
type Config struct {
	Seed      uint64
	Packets   int     // frames to generate
	Flows     int     // distinct connections (each gives a record per direction)
	IPv6Share float64 // share of IPv6 connections (default 0.3; negative: none)
	// Hosts, when set, are the only addresses used: every connection goes
	// between Hosts4[0] and Hosts4[1] (or Hosts6) and differs by ports
	// (live tests may only use the test hosts' addresses). Otherwise
	// clients come from 10.0.0.0/8 and fd00::/16, servers from
	// 172.16.0.0/12 and fd01::/16.
	Hosts4, Hosts6 [2]netip.Addr
	// VXLAN wraps every frame in Ethernet/IPv4/UDP 4789/VXLAN with VNI,
	// from OuterSrc to OuterDst (default 10.255.0.1 → 10.255.0.2).
	VXLAN              bool
	VNI                uint32
	OuterSrc, OuterDst netip.Addr
	Start              int64 // first timestamp, Unix ns (default 2026-01-01)
	PPS                int   // timestamp spacing: packets per second (default 1,000,000)
	MaxPayload         int   // largest L4 payload (default 1400)
	// SrcMAC and DstMAC of the (inner) Ethernet header.
	SrcMAC, DstMAC [6]byte
}

// Key is a unidirectional 5-tuple. ICMP echo flows have the ICMP type in
// SrcPort and the echo identifier in DstPort (pcapgen's own convention;
// compare ICMP by addresses and protocol).
type Key struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto            uint8
}

// Count is what one direction of a flow carried.
type Count struct {
	Packets, Bytes uint64 // Bytes: inner L3 lengths
	First, Last    int64  // timestamps
}

// Truth is the ground truth of a generated capture.
type Truth map[Key]*Count

// Keys returns the keys in a stable order.
func (t Truth) Keys() []Key {
	ks := make([]Key, 0, len(t))
	for k := range t {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		a, b := ks[i], ks[j]
		if c := a.Src.Compare(b.Src); c != 0 {
			return c < 0
		}
		if c := a.Dst.Compare(b.Dst); c != 0 {
			return c < 0
		}
		if a.Proto != b.Proto {
			return a.Proto < b.Proto
		}
		if a.SrcPort != b.SrcPort {
			return a.SrcPort < b.SrcPort
		}
		return a.DstPort < b.DstPort
	})
	return ks
}

type conn struct {
	proto      uint8
	v6         bool
	a, b       netip.Addr
	aPort      uint16
	bPort      uint16
	state      int // TCP: packets sent so far (handshake is 0..2)
	seqA, seqB uint32
	echoSeq    uint16
}

// Generator yields the frames of a Config one at a time.
type Generator struct {
	cfg   Config
	rng   *rand.Rand
	conns []conn
	n     int
	buf   []byte
	truth Truth
	Track bool // keep the Truth (costs a map update per frame)
}

// New returns a generator. Track the truth with g.Track = true before the
// first Next.
func New(cfg Config) *Generator {
	if cfg.IPv6Share == 0 {
		cfg.IPv6Share = 0.3
	}
	if cfg.Flows <= 0 {
		cfg.Flows = 1
	}
	if cfg.PPS <= 0 {
		cfg.PPS = 1_000_000
	}
	if cfg.MaxPayload <= 0 {
		cfg.MaxPayload = 1400
	}
	if cfg.Start == 0 {
		cfg.Start = 1767225600_000000000
	}
	if !cfg.OuterSrc.IsValid() {
		cfg.OuterSrc = netip.AddrFrom4([4]byte{10, 255, 0, 1})
	}
	if !cfg.OuterDst.IsValid() {
		cfg.OuterDst = netip.AddrFrom4([4]byte{10, 255, 0, 2})
	}
	if cfg.SrcMAC == ([6]byte{}) {
		cfg.SrcMAC = [6]byte{2, 0, 0, 0, 0, 1}
	}
	if cfg.DstMAC == ([6]byte{}) {
		cfg.DstMAC = [6]byte{2, 0, 0, 0, 0, 2}
	}
	g := &Generator{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)), truth: Truth{}}
	used := map[[5]uint64]bool{}
	for i := 0; i < cfg.Flows; i++ {
		var c conn
		r := g.rng.IntN(10)
		switch {
		case r < 6:
			c.proto = 6
		case r < 9:
			c.proto = 17
		default:
			c.proto = 1
		}
		c.v6 = g.rng.Float64() < cfg.IPv6Share
		if c.v6 && c.proto == 1 {
			c.proto = 58
		}
		for {
			c.aPort = uint16(32768 + g.rng.IntN(28000))
			c.bPort = []uint16{443, 80, 8443, 22, 8080, 5432, 3306, 6379}[g.rng.IntN(8)]
			if c.proto == 1 || c.proto == 58 {
				c.bPort = uint16(g.rng.IntN(65536)) // echo identifier
			}
			c.a, c.b = g.addrs(c.v6)
			k := [5]uint64{uint64(c.proto), uint64(c.aPort), uint64(c.bPort), addrBits(c.a), addrBits(c.b)}
			if !used[k] {
				used[k] = true
				break
			}
		}
		c.seqA, c.seqB = g.rng.Uint32(), g.rng.Uint32()
		g.conns = append(g.conns, c)
	}
	return g
}

func addrBits(a netip.Addr) uint64 {
	b := a.As16()
	return binary.BigEndian.Uint64(b[8:]) ^ binary.BigEndian.Uint64(b[:8])*31
}

func (g *Generator) addrs(v6 bool) (netip.Addr, netip.Addr) {
	if v6 && g.cfg.Hosts6[0].IsValid() {
		return g.cfg.Hosts6[0], g.cfg.Hosts6[1]
	}
	if !v6 && g.cfg.Hosts4[0].IsValid() {
		return g.cfg.Hosts4[0], g.cfg.Hosts4[1]
	}
	if v6 {
		var a, b [16]byte
		a[0], a[1] = 0xfd, 0x00
		b[0], b[1] = 0xfd, 0x01
		binary.BigEndian.PutUint64(a[8:], g.rng.Uint64()>>40)
		binary.BigEndian.PutUint64(b[8:], g.rng.Uint64()>>52)
		return netip.AddrFrom16(a), netip.AddrFrom16(b)
	}
	x, y := g.rng.Uint32(), g.rng.Uint32()
	return netip.AddrFrom4([4]byte{10, byte(x >> 16), byte(x >> 8), byte(x)}),
		netip.AddrFrom4([4]byte{172, 16 | byte(y>>16)&15, byte(y >> 8), byte(y)})
}

// OuterSrc and OuterDst are the VXLAN outer addresses in use.
func (g *Generator) OuterSrc() netip.Addr { return g.cfg.OuterSrc }
func (g *Generator) OuterDst() netip.Addr { return g.cfg.OuterDst }

// Truth returns the ground truth of the frames generated so far (Track
// must have been set).
func (g *Generator) Truth() Truth { return g.truth }

// Link returns the link type of the frames.
func (g *Generator) Link() capture.LinkType { return capture.LinkEthernet }

// Next fills f with the next frame and reports false after cfg.Packets
// frames. f.Data is valid until the next call.
func (g *Generator) Next(f *capture.Frame) bool {
	if g.n >= g.cfg.Packets {
		return false
	}
	t := g.cfg.Start + int64(g.n)*1e9/int64(g.cfg.PPS)
	g.n++
	c := &g.conns[g.rng.IntN(len(g.conns))]
	fromA := g.rng.IntN(2) == 0
	payload := g.rng.IntN(g.cfg.MaxPayload + 1)
	var flags uint8
	icmpType := uint8(0)
	switch c.proto {
	case 6:
		switch c.state {
		case 0:
			fromA, flags, payload = true, 0x02, 0
		case 1:
			fromA, flags, payload = false, 0x12, 0
		case 2:
			fromA, flags, payload = true, 0x10, 0
		default:
			flags = 0x10
			if payload > 0 {
				flags |= 0x08
			}
		}
		c.state++
	case 1, 58:
		// echo request from A, reply from B, alternating
		fromA = c.state%2 == 0
		c.state++
		if fromA {
			icmpType = 8
			if c.proto == 58 {
				icmpType = 128
			}
		} else {
			icmpType = 0
			if c.proto == 58 {
				icmpType = 129
			}
		}
		if payload > 1000 {
			payload = 56
		}
	}
	src, dst, sport, dport := c.a, c.b, c.aPort, c.bPort
	if !fromA {
		src, dst, sport, dport = c.b, c.a, c.bPort, c.aPort
	}
	b := g.buf[:0]
	srcMAC, dstMAC := g.cfg.SrcMAC, g.cfg.DstMAC
	var outerStart int
	if g.cfg.VXLAN {
		// outer Ethernet + IPv4 + UDP + VXLAN, lengths patched below
		b = append(b, 0x02, 0, 0, 0, 0xee, 2, 0x02, 0, 0, 0, 0xee, 1, 0x08, 0x00)
		outerStart = len(b)
		var zero [20 + 8 + 8]byte
		b = append(b, zero[:]...)
	}
	b = append(b, dstMAC[:]...)
	b = append(b, srcMAC[:]...)
	l3 := len(b) + 2
	var l4len int
	switch c.proto {
	case 6:
		l4len = 20 + payload
	case 17:
		l4len = 8 + payload
	default:
		l4len = 8 + payload
	}
	var l3len int
	if c.v6 {
		b = append(b, 0x86, 0xdd)
		l3len = 40 + l4len
		b = append(b, 0x60, 0, 0, 0, byte(l4len>>8), byte(l4len), c.proto, 64)
		s16, d16 := src.As16(), dst.As16()
		b = append(b, s16[:]...)
		b = append(b, d16[:]...)
	} else {
		b = append(b, 0x08, 0x00)
		l3len = 20 + l4len
		id := uint16(g.n)
		s4, d4 := src.As4(), dst.As4()
		b = append(b, 0x45, 0, byte(l3len>>8), byte(l3len), byte(id>>8), byte(id), 0x40, 0, 64, c.proto, 0, 0)
		b = append(b, s4[:]...)
		b = append(b, d4[:]...)
		cs := checksum(b[l3:l3+20], 0)
		binary.BigEndian.PutUint16(b[l3+10:], cs)
	}
	l4 := len(b)
	switch c.proto {
	case 6:
		seq, ack := &c.seqA, c.seqB
		if !fromA {
			seq, ack = &c.seqB, c.seqA
		}
		b = binary.BigEndian.AppendUint16(b, sport)
		b = binary.BigEndian.AppendUint16(b, dport)
		b = binary.BigEndian.AppendUint32(b, *seq)
		if flags&0x10 == 0 {
			ack = 0
		}
		b = binary.BigEndian.AppendUint32(b, ack)
		b = append(b, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0)
		*seq += uint32(payload)
		if flags&0x02 != 0 {
			*seq++
		}
	case 17:
		b = binary.BigEndian.AppendUint16(b, sport)
		b = binary.BigEndian.AppendUint16(b, dport)
		b = append(b, byte(l4len>>8), byte(l4len), 0, 0)
	default:
		id := c.bPort
		b = append(b, icmpType, 0, 0, 0, byte(id>>8), byte(id), byte(c.echoSeq>>8), byte(c.echoSeq))
		if !fromA {
			c.echoSeq++
		}
		sport, dport = uint16(icmpType), id
	}
	for i := 0; i < payload; i++ {
		b = append(b, byte(i*7+int(sport)))
	}
	// L4 checksum (IPv4 ICMP has no pseudo-header)
	var sum uint32
	if c.proto != 1 {
		sum = pseudo(src, dst, c.proto, l4len)
	}
	ckOff := 2
	switch c.proto {
	case 6:
		ckOff = 16
	case 17:
		ckOff = 6
	}
	cs := checksum(b[l4:], sum)
	if c.proto == 17 && cs == 0 {
		cs = 0xffff
	}
	binary.BigEndian.PutUint16(b[l4+ckOff:], cs)
	if g.cfg.VXLAN {
		o := b[outerStart:]
		total := len(b) - outerStart
		s4, d4 := g.cfg.OuterSrc.As4(), g.cfg.OuterDst.As4()
		copy(o, []byte{0x45, 0, byte(total >> 8), byte(total), 0, 0, 0x40, 0, 64, 17, 0, 0})
		copy(o[12:], s4[:])
		copy(o[16:], d4[:])
		binary.BigEndian.PutUint16(o[10:], checksum(o[:20], 0))
		h := uint16(49152 + (uint32(sport)*31+uint32(dport)+addrHash(src)+addrHash(dst))%16384)
		binary.BigEndian.PutUint16(o[20:], h)
		binary.BigEndian.PutUint16(o[22:], 4789)
		binary.BigEndian.PutUint16(o[24:], uint16(total-20))
		o[28] = 0x08
		o[32], o[33], o[34] = byte(g.cfg.VNI>>16), byte(g.cfg.VNI>>8), byte(g.cfg.VNI)
	}
	g.buf = b
	if g.Track {
		k := Key{src, dst, sport, dport, c.proto}
		cnt := g.truth[k]
		if cnt == nil {
			cnt = &Count{First: t}
			g.truth[k] = cnt
		}
		cnt.Packets++
		cnt.Bytes += uint64(l3len)
		cnt.Last = t
	}
	*f = capture.Frame{Time: t, Data: b, OrigLen: uint32(len(b)), Link: capture.LinkEthernet, Number: uint64(g.n)}
	return true
}

func addrHash(a netip.Addr) uint32 { return uint32(addrBits(a)) }

func pseudo(src, dst netip.Addr, proto uint8, l4len int) uint32 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
	}
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		add(s[:])
		add(d[:])
	} else {
		s, d := src.As16(), dst.As16()
		add(s[:])
		add(d[:])
	}
	return sum + uint32(proto) + uint32(l4len)
}

func checksum(b []byte, sum uint32) uint16 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// Write generates every frame of cfg into a pcap file (microsecond
// timestamps unless nano) and returns the truth.
func Write(w io.Writer, cfg Config, nano bool) (Truth, error) {
	g := New(cfg)
	g.Track = true
	pw, err := pcapfile.NewWriter(w, capture.LinkEthernet, 65535, nano)
	if err != nil {
		return nil, err
	}
	var f capture.Frame
	for g.Next(&f) {
		if err := pw.WriteFrame(&f); err != nil {
			return nil, err
		}
	}
	return g.truth, pw.Flush()
}
