package capture_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowsift/flowsift/capture"
	"github.com/flowsift/flowsift/capture/decode"
	"github.com/flowsift/flowsift/capture/flowtable"
	"github.com/flowsift/flowsift/capture/pcapfile"
	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/benchutil"
	"github.com/flowsift/flowsift/internal/pcapgen"
)

// newFileReader is what cmd/flowsift wires for pcap inputs.
func newFileReader(t testing.TB, r io.Reader, tally *flowlog.Tally, cfg flowtable.Config) (*capture.Pipeline, *flowtable.Table) {
	t.Helper()
	pr, err := pcapfile.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	tb := flowtable.New(cfg)
	return capture.NewPipeline(capture.PipelineConfig{
		Source: pr, Decode: decode.New(decode.Options{}).Decode, Table: tb, Tally: tally,
	}), tb
}

type dirKey struct {
	src, dst         netip.Addr
	sport, dport     uint16
	proto            uint8
	tunnel           string
	vni              int64
	tunSrc, tunDst   string
	hasVNI, hasTunAd bool
}

// TestPipelineMatchesGeneratedTruth reads generated captures (plain and
// VXLAN, 200 connections over 30,000 packets spread across about four
// minutes, so records expire idle and split on the active timeout while
// reading) and compares the per-direction totals with the generator's
// ground truth: packets and L3 bytes per TCP/UDP direction, per address
// pair and protocol for ICMP, and the tunnel keys of every record.
func TestPipelineMatchesGeneratedTruth(t *testing.T) {
	for _, vxlan := range []bool{false, true} {
		var buf bytes.Buffer
		cfg := pcapgen.Config{Seed: 7, Packets: 30000, Flows: 200, PPS: 120, MaxPayload: 300, VXLAN: vxlan, VNI: 4242}
		truth, err := pcapgen.Write(&buf, cfg, true)
		if err != nil {
			t.Fatal(err)
		}
		tally := &flowlog.Tally{}
		p, tb := newFileReader(t, &buf, tally, flowtable.Config{Source: flowlog.SourcePcap})
		type tot struct{ pk, by int64 }
		got := map[pcapgen.Key]tot{}
		var rec flowlog.Record
		n := 0
		for p.Next(&rec) {
			n++
			k := pcapgen.Key{Src: rec.Src, Dst: rec.Dst, SrcPort: rec.SrcPort, DstPort: rec.DstPort, Proto: rec.Proto}
			if rec.Proto == 1 || rec.Proto == 58 {
				k.SrcPort, k.DstPort = 0, 0
			}
			g := got[k]
			g.pk += rec.Packets
			g.by += rec.Bytes
			got[k] = g
			typ, _ := rec.Attr(flowlog.AttrTunnelType)
			vni, _ := rec.Attr(flowlog.AttrTunnelVni)
			src, _ := rec.Attr(flowlog.AttrTunnelSrc)
			dst, _ := rec.Attr(flowlog.AttrTunnelDst)
			if vxlan && (typ.Str != "vxlan" || vni.Int != 4242 || src.Str != "10.255.0.1" || dst.Str != "10.255.0.2") {
				t.Fatalf("vxlan record attrs %v", rec.Attrs)
			}
			if !vxlan && len(rec.Attrs) != 0 && rec.Proto != 1 && rec.Proto != 58 {
				t.Fatalf("plain record attrs %v", rec.Attrs)
			}
		}
		want := map[pcapgen.Key]tot{}
		for k, c := range truth {
			if k.Proto == 1 || k.Proto == 58 {
				k.SrcPort, k.DstPort = 0, 0
			}
			w := want[k]
			w.pk += int64(c.Packets)
			w.by += int64(c.Bytes)
			want[k] = w
		}
		if len(got) != len(want) {
			t.Errorf("vxlan=%v: %d directions, want %d", vxlan, len(got), len(want))
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("vxlan=%v %v: got %+v want %+v", vxlan, k, got[k], w)
			}
		}
		s := tb.Stats()
		if s.Idle == 0 || s.Split == 0 || tally.Records != int64(n) || tally.MalformedTotal() != 0 {
			t.Errorf("vxlan=%v: stats %+v, tally %+v, %d records", vxlan, s, tally, n)
		}
	}
}

// benchFile is a cached generated capture of 1,000,000 frames over 10,000
// connections (small payloads keep it near 150 MB).
func benchFile(b *testing.B, vxlan bool) string {
	name := "capture-1m-10k.pcap"
	if vxlan {
		name = "capture-1m-10k-vxlan.pcap"
	}
	return benchutil.File(b, name, func(path string) error {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		if _, err := pcapgen.Write(w, pcapgen.Config{Seed: 1, Packets: 1_000_000, Flows: 10_000, MaxPayload: 64, VXLAN: vxlan, VNI: 4242}, true); err != nil {
			f.Close()
			return err
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
}

// benchPipeline reads the whole file per iteration through pcapfile,
// decode and the flow table; "records" are frames read.
func benchPipeline(b *testing.B, vxlan bool) {
	path := benchFile(b, vxlan)
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var frames uint64
	m := benchutil.Start(b)
	for i := 0; i < b.N; i++ {
		tally := &flowlog.Tally{}
		p, _ := newFileReader(b, bytes.NewReader(data), tally, flowtable.Config{Idle: 15 * time.Second})
		var rec flowlog.Record
		for p.Next(&rec) {
		}
		frames += p.Frames()
	}
	m.Stop(int64(frames))
}

func BenchmarkPipelinePlain(b *testing.B) { benchPipeline(b, false) }
func BenchmarkPipelineVXLAN(b *testing.B) { benchPipeline(b, true) }

// FuzzPipeline reads arbitrary bytes as a capture file through pcapfile,
// decode and a small flow table (seeded with the corpus captures).
// Invariants: no panic; every frame that decoded to an IP flow comes out in
// exactly one record (packets + frag_packets == frames with ReasonNone);
// the tally counts the records returned; at most one malformed position
// (the damage that ends the frames) is reported.
func FuzzPipeline(f *testing.F) {
	files, _ := filepath.Glob("../../shared/corpus/pcap/*")
	if len(files) == 0 {
		f.Fatal("no corpus captures")
	}
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && len(b) < 1<<16 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pr, err := pcapfile.NewReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		tally := &flowlog.Tally{}
		tb := flowtable.New(flowtable.Config{MaxFlows: 4, Idle: time.Second, Active: 3 * time.Second})
		p := capture.NewPipeline(capture.PipelineConfig{Source: pr, Decode: decode.New(decode.Options{}).Decode, Table: tb, Tally: tally})
		var rec flowlog.Record
		var n, pk int64
		for p.Next(&rec) {
			n++
			fp, _ := rec.Attr(flowlog.AttrFragPackets)
			pk += rec.Packets + fp.Int
			if _, err := json.Marshal(json.RawMessage(flowlog.AppendJSON(nil, &rec))); err != nil {
				t.Fatalf("record JSON: %v", err)
			}
		}
		r := p.Reasons()
		if pk != int64(r[capture.ReasonNone]) || tally.Records != n || tally.MalformedTotal() > 1 || tb.Len() != 0 {
			t.Fatalf("packets out %d, IP frames %d, records %d (tally %d), malformed %d, left %d",
				pk, r[capture.ReasonNone], n, tally.Records, tally.MalformedTotal(), tb.Len())
		}
	})
}
