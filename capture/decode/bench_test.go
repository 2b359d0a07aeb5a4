package decode

import (
	"encoding/binary"
	"testing"

	"github.com/flowsift/flowsift/capture"
	"github.com/flowsift/flowsift/internal/benchutil"
)

// benchFrames builds 4096 distinct frames: Ethernet/IPv4 or IPv6, TCP or UDP
// (70% IPv4, 60% TCP), optionally wrapped in Ethernet/IPv4/UDP/VXLAN.
func benchFrames(vxlan bool) []capture.Frame {
	frames := make([]capture.Frame, 0, 4096)
	for i := 0; i < 4096; i++ {
		var b []byte
		v6 := i%10 >= 7
		tcp := i%5 < 3
		inner := buildInner(i, v6, tcp)
		if vxlan {
			b = buildVXLAN(uint32(i%7+1), inner)
		} else {
			b = inner
		}
		frames = append(frames, capture.Frame{Data: b, OrigLen: uint32(len(b)), Link: capture.LinkEthernet})
	}
	// Lay the frames back to back in one buffer, as a file reader's buffer
	// holds them, so that a sequential pass streams through memory.
	n := 0
	for _, f := range frames {
		n += len(f.Data)
	}
	all := make([]byte, 0, n)
	for i := range frames {
		all = append(all, frames[i].Data...)
		frames[i].Data = all[len(all)-len(frames[i].Data) : len(all) : len(all)]
	}
	return frames
}

func buildInner(i int, v6, tcp bool) []byte {
	proto := byte(17)
	l4 := 8
	if tcp {
		proto, l4 = 6, 20
	}
	pay := 40 + i%200
	var b []byte
	b = append(b, make([]byte, 12)...)
	if v6 {
		b = binary.BigEndian.AppendUint16(b, 0x86dd)
		ip := make([]byte, 40)
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:], uint16(l4+pay))
		ip[6], ip[7] = proto, 64
		ip[8], ip[23] = 0x20, byte(i)
		ip[24], ip[39] = 0x20, byte(i>>8)
		b = append(b, ip...)
	} else {
		b = binary.BigEndian.AppendUint16(b, 0x0800)
		ip := make([]byte, 20)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(20+l4+pay))
		ip[8], ip[9] = 64, proto
		binary.BigEndian.PutUint32(ip[12:], 0x0a000000|uint32(i))
		binary.BigEndian.PutUint32(ip[16:], 0x0a010000|uint32(i*7))
		b = append(b, ip...)
	}
	l := make([]byte, l4)
	binary.BigEndian.PutUint16(l, uint16(1024+i))
	binary.BigEndian.PutUint16(l[2:], uint16(80+i%3))
	if tcp {
		l[12], l[13] = 0x50, 0x18
	} else {
		binary.BigEndian.PutUint16(l[4:], uint16(8+pay))
	}
	b = append(b, l...)
	return append(b, make([]byte, pay)...)
}

func buildVXLAN(vni uint32, inner []byte) []byte {
	b := make([]byte, 12, 50+len(inner))
	b = binary.BigEndian.AppendUint16(b, 0x0800)
	ip := make([]byte, 20)
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+8+len(inner)))
	ip[8], ip[9] = 64, 17
	binary.BigEndian.PutUint32(ip[12:], 0xac100001)
	binary.BigEndian.PutUint32(ip[16:], 0xac100002)
	b = append(b, ip...)
	u := make([]byte, 8)
	binary.BigEndian.PutUint16(u, 50000)
	binary.BigEndian.PutUint16(u[2:], 4789)
	binary.BigEndian.PutUint16(u[4:], uint16(16+len(inner)))
	b = append(b, u...)
	vx := []byte{0x08, 0, 0, 0, byte(vni >> 16), byte(vni >> 8), byte(vni), 0}
	b = append(b, vx...)
	return append(b, inner...)
}

const benchN = 1 << 20 // frames per benchmark iteration (≥ 1,000,000)

func benchDecode(b *testing.B, vxlan bool) {
	frames := benchFrames(vxlan)
	d := New(Options{})
	var p capture.Packet
	for i := range frames { // sanity: every frame decodes
		d.Decode(&frames[i], &p)
		if p.Reason != capture.ReasonNone || (vxlan && p.Inner.Type != capture.TunnelVXLAN) {
			b.Fatalf("frame %d: reason %v", i, p.Reason)
		}
	}
	m := benchutil.Start(b)
	var total int64
	var sink uint32
	for it := 0; it < b.N; it++ {
		for i := 0; i < benchN; i++ {
			d.Decode(&frames[i&(len(frames)-1)], &p)
			sink += uint32(p.SrcPort)
		}
		total += benchN
	}
	m.Stop(total)
	if sink == 1 {
		b.Log(sink)
	}
}

func BenchmarkDecodePlain(b *testing.B) { benchDecode(b, false) }
func BenchmarkDecodeVXLAN(b *testing.B) { benchDecode(b, true) }
