package flowtable

import (
	"net/netip"
	"testing"

	"github.com/flowsift/flowsift/capture"
	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/benchutil"
)

// benchPacket fills p, the decoder's reused output, with a packet of flow
// direction i (30% IPv6, 70% TCP), optionally VXLAN-wrapped like an AWS
// Traffic Mirroring copy.
func benchPacket(p *capture.Packet, i uint32, vxlan bool) {
	*p = capture.Packet{IPLayers: 1}
	if i%10 < 3 {
		p.Family = 6
		p.Src = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)})
		p.Dst = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 4: 1, 15: 1})
	} else {
		p.Family = 4
		p.Src = netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
		p.Dst = netip.AddrFrom4([4]byte{10, 2, 0, 1})
	}
	p.Proto, p.SrcPort, p.DstPort, p.TCPFlags = 6, uint16(32768+i), 443, 0x18
	if i%10 >= 7 {
		p.Proto, p.TCPFlags, p.DstPort = 17, 0, 53
	}
	p.L3Len = 60 + i%1400
	if vxlan {
		p.IPLayers, p.Tunnels = 2, 1
		p.Outer = capture.Tunnel{Type: capture.TunnelVXLAN, HasVNI: true, VNI: 4242, Src: benchOuterSrc, Dst: benchOuterDst}
		p.Inner = p.Outer
	}
}

var benchOuterSrc, benchOuterDst = netip.MustParseAddr("10.255.0.1"), netip.MustParseAddr("10.255.0.2")

// benchAdd adds 1,000,000 packets per iteration, spread at random over
// 10,000 flow directions, advancing packet time 1 µs per packet and
// sweeping expiries every 1000 packets as the pipeline does.
func benchAdd(b *testing.B, vxlan bool) {
	flows := benchFlows
	const perIter = 1_000_000
	var p capture.Packet
	tb := New(Config{})
	var out int64
	emit := func(r *flowlog.Record) { out += r.Packets }
	now := int64(1_700_000_000e9)
	x := uint32(2463534242)
	for i := uint32(0); i < flows; i++ { // warm up: every flow in the table
		benchPacket(&p, i, vxlan)
		p.Time = now
		tb.Add(&p, emit)
	}
	m := benchutil.Start(b)
	for n := 0; n < b.N; n++ {
		for i := 0; i < perIter; i++ {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			benchPacket(&p, x%flows, vxlan)
			now += 1000
			p.Time = now
			tb.Add(&p, emit)
			if i%1000 == 0 {
				tb.Expire(now, emit)
			}
		}
	}
	m.Stop(int64(b.N) * perIter)
	if tb.Len() != int(flows) {
		b.Fatalf("table holds %d flows, want %d", tb.Len(), flows)
	}
}

var benchFlows uint32 = 10_000

func BenchmarkAddPlain(b *testing.B) { benchAdd(b, false) }
func BenchmarkAddVXLAN(b *testing.B) { benchAdd(b, true) }
