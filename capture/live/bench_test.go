package live

import (
	"testing"

	"github.com/flowsift/flowsift/capture"
	"github.com/flowsift/flowsift/capture/decode"
	"github.com/flowsift/flowsift/capture/flowtable"
	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/benchutil"
	"github.com/flowsift/flowsift/internal/pcapgen"
)

// benchEngineFile runs the cached 2 M-packet capture through the engine
// (one worker: file read, decode, flow table, record batches).
func benchEngineFile(b *testing.B, vxlan bool) {
	path := benchPcap(b, vxlan)
	var packets int64
	m := benchutil.Start(b)
	for i := 0; i < b.N; i++ {
		r, f := fileFrames(b, path)
		e := Start(EngineConfig{Sources: []Source{FromFrames(r)}})
		drain(e, nil)
		f.Close()
		if err := e.Err(); err != nil {
			b.Fatal(err)
		}
		packets += int64(e.Counters().Decoded())
	}
	m.Stop(packets)
}

// BenchmarkEngineFilePlain: records/s here are packets/s.
func BenchmarkEngineFilePlain(b *testing.B) { benchEngineFile(b, false) }

// BenchmarkEngineFileVXLAN: the same traffic wrapped in VXLAN.
func BenchmarkEngineFileVXLAN(b *testing.B) { benchEngineFile(b, true) }

// benchPerCore is decode + flow table on one goroutine over frames held
// in memory (200,000 generated frames replayed with time moving on): the
// per-core packet rate without I/O, in steady state. One pass over the
// frames warms the table up to its working size (about 40,000 flow
// directions) before the timer starts, as a long-running capture's table
// would be; then each op is 2,000,000 packets, and the table is flushed at
// the end of the last.
func benchPerCore(b *testing.B, strip bool) {
	mf := loadFrames(pcapgen.Config{Seed: 1, Packets: 200_000, Flows: 20_000, VXLAN: true, VNI: 4242})
	const total = 2_000_000
	var packets int64
	emitted := 0
	emit := func(*flowlog.Record) { emitted++ }
	warm := len(mf.ends)
	src := mf.replay(warm+b.N*total, strip)
	dec := decode.New(decode.Options{})
	tab := flowtable.New(flowtable.Config{Source: flowlog.SourceLive})
	var f capture.Frame
	ahead := capture.NewAhead(tab)
	next := int64(-1 << 63)
	add := func(p *capture.Packet) {
		tab.Add(p, emit)
		if p.Time >= next {
			tab.Expire(p.Time, emit)
			next = p.Time + 1e9
		}
		if p.Reason == capture.ReasonNone {
			packets++
		}
	}
	for i := 0; i < warm && src.Next(&f) == nil; i++ {
		dec.Decode(&f, ahead.Slot())
		if p := ahead.Push(); p != nil {
			add(p)
		}
	}
	if tab.Len() < 30_000 {
		b.Fatalf("warm-up left %d flows in the table", tab.Len())
	}
	packets = 0
	m := benchutil.Start(b)
	for i := 0; i < b.N; i++ {
		for n := 0; n < total && src.Next(&f) == nil; n++ {
			dec.Decode(&f, ahead.Slot())
			if p := ahead.Push(); p != nil {
				add(p)
			}
		}
	}
	for p := ahead.Pop(); p != nil; p = ahead.Pop() {
		add(p)
	}
	tab.Flush(emit)
	m.Stop(packets)
	if emitted == 0 {
		b.Fatal("no records")
	}
}

// BenchmarkPerCoreVXLAN: whole mirrored frames (Ethernet/IPv4/UDP/VXLAN/
// Ethernet/IP/L4), as an interface or a file delivers them.
func BenchmarkPerCoreVXLAN(b *testing.B) { benchPerCore(b, false) }

// BenchmarkPerCoreListenerVXLAN: the same frames as the mirror listener
// delivers them (from the VXLAN header on, outer addresses in the Frame).
func BenchmarkPerCoreListenerVXLAN(b *testing.B) { benchPerCore(b, true) }
