package pcapgen

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/flowsift/flowsift/capture"
	"github.com/flowsift/flowsift/capture/pcapfile"
)

// TestTruthMatchesFrames decodes every generated frame with gopacket
// (an independent decoder), checks the IP and L4 checksums, and rebuilds
// the truth from what it decoded.
func TestTruthMatchesFrames(t *testing.T) {
	for _, vx := range []bool{false, true} {
		var buf bytes.Buffer
		cfg := Config{Seed: 7, Packets: 20000, Flows: 300, VXLAN: vx, VNI: 4242}
		truth, err := Write(&buf, cfg, true)
		if err != nil {
			t.Fatal(err)
		}
		r, err := pcapfile.NewReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		got := Truth{}
		var f capture.Frame
		n := 0
		for r.Next(&f) == nil {
			n++
			p := gopacket.NewPacket(f.Data, layers.LayerTypeEthernet, gopacket.Default)
			if el := p.ErrorLayer(); el != nil {
				t.Fatalf("vxlan=%v frame %d: %v", vx, n, el.Error())
			}
			var ls []gopacket.Layer
			for _, l := range p.Layers() {
				ls = append(ls, l)
			}
			if vx {
				vl, ok := p.Layer(layers.LayerTypeVXLAN).(*layers.VXLAN)
				if !ok || vl.VNI != 4242 {
					t.Fatalf("frame %d: no VXLAN 4242 layer: %v", n, ls)
				}
			}
			// innermost network and transport layers
			var k Key
			var l3len uint64
			for _, l := range ls {
				switch v := l.(type) {
				case *layers.IPv4:
					k.Src, _ = netip.AddrFromSlice(v.SrcIP)
					k.Dst, _ = netip.AddrFromSlice(v.DstIP)
					k.Proto, l3len = uint8(v.Protocol), uint64(v.Length)
					if checksum(v.Contents, 0) != 0 {
						t.Fatalf("frame %d: bad IPv4 header checksum", n)
					}
				case *layers.IPv6:
					k.Src, _ = netip.AddrFromSlice(v.SrcIP)
					k.Dst, _ = netip.AddrFromSlice(v.DstIP)
					k.Proto, l3len = uint8(v.NextHeader), uint64(v.Length)+40
				case *layers.TCP:
					k.SrcPort, k.DstPort = uint16(v.SrcPort), uint16(v.DstPort)
				case *layers.UDP:
					if uint16(v.DstPort) != 4789 {
						k.SrcPort, k.DstPort = uint16(v.SrcPort), uint16(v.DstPort)
					}
				case *layers.ICMPv4:
					k.SrcPort, k.DstPort = uint16(v.TypeCode.Type()), v.Id
				case *layers.ICMPv6:
					k.SrcPort = uint16(v.TypeCode.Type())
				}
			}
			if k.Proto == 58 {
				if e, ok := p.Layer(layers.LayerTypeICMPv6Echo).(*layers.ICMPv6Echo); ok {
					k.DstPort = e.Identifier
				}
			}
			// L4 checksum over the innermost IP payload
			ipl := ls[len(ls)-1]
			for i := len(ls) - 1; i >= 0; i-- {
				if ls[i].LayerType() == layers.LayerTypeIPv4 || ls[i].LayerType() == layers.LayerTypeIPv6 {
					ipl = ls[i]
					break
				}
			}
			payload := ipl.LayerPayload()
			var sum uint32
			if k.Proto != 1 {
				sum = pseudo(k.Src, k.Dst, k.Proto, len(payload))
			}
			if checksum(payload, sum) != 0 {
				t.Fatalf("vxlan=%v frame %d: bad L4 checksum (proto %d)", vx, n, k.Proto)
			}
			c := got[k]
			if c == nil {
				c = &Count{First: f.Time}
				got[k] = c
			}
			c.Packets++
			c.Bytes += l3len
			c.Last = f.Time
		}
		if n != cfg.Packets {
			t.Fatalf("vxlan=%v: %d frames, want %d", vx, n, cfg.Packets)
		}
		if len(got) != len(truth) {
			t.Fatalf("vxlan=%v: %d keys decoded, truth has %d", vx, len(got), len(truth))
		}
		for k, c := range truth {
			if g := got[k]; g == nil || *g != *c {
				t.Fatalf("vxlan=%v: %+v: decoded %+v, truth %+v", vx, k, g, c)
			}
		}
	}
}

// TestHostsOnly checks that Hosts confines every flow to the given
// addresses and that generation is deterministic.
func TestHostsOnly(t *testing.T) {
	a, b := netip.MustParseAddr("10.9.0.1"), netip.MustParseAddr("10.9.0.2")
	a6, b6 := netip.MustParseAddr("fd09::1"), netip.MustParseAddr("fd09::2")
	cfg := Config{Seed: 3, Packets: 5000, Flows: 50, Hosts4: [2]netip.Addr{a, b}, Hosts6: [2]netip.Addr{a6, b6}}
	var b1, b2 bytes.Buffer
	truth, err := Write(&b1, cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(&b2, cfg, false); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
		t.Fatal("same config, different bytes")
	}
	ok := map[netip.Addr]bool{a: true, b: true, a6: true, b6: true}
	v6 := 0
	for k := range truth {
		if !ok[k.Src] || !ok[k.Dst] || k.Src == k.Dst {
			t.Fatalf("key %+v uses other addresses", k)
		}
		if k.Src.Is6() {
			v6++
		}
	}
	if v6 == 0 || v6 == len(truth) {
		t.Fatalf("%d of %d keys IPv6: want a mix", v6, len(truth))
	}
}
