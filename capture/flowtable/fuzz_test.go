package flowtable

import (
	"net/netip"
	"testing"
	"time"

	"github.com/flowsift/flowsift/capture"
	"github.com/flowsift/flowsift/flowlog"
)

var fuzzAddrs = []netip.Addr{
	netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"),
	netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("::ffff:10.0.0.1"),
}

// fuzzPacket builds a packet from 4 bytes of fuzz input.
func fuzzPacket(b []byte, now int64) capture.Packet {
	p := capture.Packet{Time: now, IPLayers: 1}
	sel, fl, fr := b[0], b[1], b[3]
	p.Reason = capture.Reason(sel >> 6 & 3)
	if sel>>6 == 3 {
		p.Reason = capture.ReasonNone
	}
	p.Src, p.Dst = fuzzAddrs[sel&3], fuzzAddrs[sel>>2&3]
	p.Family = 4
	if p.Src.Is6() {
		p.Family = 6
	}
	if sel&0x30 == 0x30 {
		p.Family = 0 // invalid: must be skipped, not counted
	}
	switch fl & 3 {
	case 0:
		p.Proto, p.SrcPort, p.DstPort, p.TCPFlags = 6, uint16(fl>>2&7), 80, fl
	case 1:
		p.Proto, p.SrcPort, p.DstPort = 17, 53, uint16(fl>>2&7)
	case 2:
		p.Proto, p.HasICMP, p.ICMPType, p.ICMPCode = 1, true, fl>>2&3, fl>>4&1
	case 3:
		p.Proto = 47
	}
	p.L3Len = uint32(b[2]) * 6
	if fr&1 != 0 {
		p.Fragment, p.FragID, p.MoreFrags = true, uint32(fr>>4), fr&2 != 0
		if fr&4 != 0 {
			p.FragOffset = uint16(fr>>3&7) + 1
			p.SrcPort, p.DstPort, p.HasICMP = 0, 0, false
		}
	}
	if fr&8 != 0 {
		p.Tunnels = 1
		p.Outer = capture.Tunnel{Type: capture.TunnelVXLAN, HasVNI: true, VNI: uint32(fr >> 6), Src: fuzzAddrs[0], Dst: fuzzAddrs[1]}
		if fr&0x20 != 0 {
			p.Outer = capture.Tunnel{Type: capture.TunnelERSPAN3, HasID: true, ID: 7, Direction: fr >> 6 & 2,
				Src: fuzzAddrs[2], GWLBLens: [3]uint8{8, 0, 4}, GWLBCookie: [4]byte{fr}}
		}
		p.Inner = p.Outer
	}
	p.Truncated = b[2]&1 != 0
	p.Iface = uint32(fr >> 7)
	p.HasVLAN, p.VLAN = fl&0x80 != 0, uint16(fl)
	return p
}

// FuzzTable feeds arbitrary packet sequences (with expiries) into a small
// table. Invariants: every counted packet comes out in exactly one record
// (packets + frag_packets == packets added), the table never holds more than
// MaxFlows flows nor more memory than MaxFootprint, the stats add up, and
// every record has ascending attrs and valid JSON.
func FuzzTable(f *testing.F) {
	f.Add([]byte{0xc0, 0, 10, 0, 0xc5, 1, 20, 0, 0xc0, 0, 10, 0x11, 0xc0, 0, 10, 0x15, 0, 0, 0, 0})
	f.Add([]byte{0xc1, 0x83, 200, 0x29, 0xc1, 0x83, 200, 0x2d, 0xd2, 2, 5, 0x48, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte("the quick brown fox jumps over the lazy dog, again and again and again"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := Config{MaxFlows: 5, FragSlots: 4, Idle: 3 * time.Second, Active: 7 * time.Second, Source: flowlog.SourceLive}
		tb := New(cfg)
		var outPk, outRecs int64
		emit := func(r *flowlog.Record) {
			checkRecord(t, r)
			fp, _ := attrInt(r, flowlog.AttrFragPackets)
			outPk += r.Packets + fp
			outRecs++
		}
		now := int64(1e18)
		var added int64
		for len(data) >= 4 {
			op := data[:4]
			data = data[4:]
			if op[0] == 0 && op[1] == 0 {
				now += int64(op[2]) * int64(time.Second) / 4
				tb.Expire(now, emit)
				continue
			}
			now += int64(op[2]) * int64(time.Millisecond) * 10
			if op[3]&0x80 != 0 && op[2]&0x40 != 0 {
				now -= int64(time.Second) // time going back must not break anything
			}
			p := fuzzPacket(op, now)
			h := tb.Prefetch(&p) // prefetching any packet or hash is harmless
			tb.PrefetchEntry(h)
			tb.PrefetchEntry(h ^ uint64(op[1])<<40 ^ uint64(op[3]))
			before := tb.Stats().Packets
			tb.Add(&p, emit)
			added += int64(tb.Stats().Packets - before)
			if tb.Len() > cfg.MaxFlows {
				t.Fatalf("table holds %d flows", tb.Len())
			}
		}
		if tb.Footprint() > MaxFootprint(cfg) {
			t.Fatalf("footprint %d over %d", tb.Footprint(), MaxFootprint(cfg))
		}
		tb.Flush(emit)
		s := tb.Stats()
		if outPk != added || uint64(added) != s.Packets {
			t.Fatalf("packets out %d, added %d, stats %d", outPk, added, s.Packets)
		}
		if s.Emitted != uint64(outRecs) || s.Emitted != s.Idle+s.Split+s.Evicted+s.Flushed || s.Active != 0 {
			t.Fatalf("stats %+v, %d records", s, outRecs)
		}
		if s.Emitted != s.Created {
			t.Fatalf("emitted %d records, created %d", s.Emitted, s.Created)
		}
	})
}
