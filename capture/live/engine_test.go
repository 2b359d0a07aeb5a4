package live

import (
	"errors"
	"io"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowsift/flowsift/capture"
	"github.com/flowsift/flowsift/capture/flowtable"
	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/pcapgen"
)

type tkey struct {
	src, dst     netip.Addr
	sport, dport uint16
	proto        uint8
}

func truthTotals(tr pcapgen.Truth, into map[tkey][2]uint64) {
	for k, c := range tr {
		tk := tkey{k.Src, k.Dst, k.SrcPort, k.DstPort, k.Proto}
		if k.Proto == 1 || k.Proto == 58 {
			tk.sport, tk.dport = 0, 0
		}
		v := into[tk]
		into[tk] = [2]uint64{v[0] + c.Packets, v[1] + c.Bytes}
	}
}

func drain(e *Engine, fn func(r *flowlog.Record)) {
	for b := range e.Records() {
		for i := range b.Recs {
			if fn != nil {
				fn(&b.Recs[i])
			}
		}
		b.Done()
	}
}

// TestEngineTotals: two workers over two generated captures (one plain,
// one VXLAN) give records whose totals are exactly the traffic's, the
// counters add up, and a small --max-flows evicts without losing packets.
func TestEngineTotals(t *testing.T) {
	for _, maxFlows := range []int{0, 100} {
		cfgs := []pcapgen.Config{
			{Seed: 1, Packets: 30000, Flows: 400, PPS: 10000},
			{Seed: 2, Packets: 20000, Flows: 300, VXLAN: true, VNI: 9, PPS: 10000},
		}
		want := map[tkey][2]uint64{}
		var srcs []Source
		for _, c := range cfgs {
			g := pcapgen.New(c)
			g.Track = true
			m := &memFrames{link: capture.LinkEthernet}
			var f capture.Frame
			for g.Next(&f) {
				m.slab = append(m.slab, f.Data...)
				m.ends = append(m.ends, len(m.slab))
				m.times = append(m.times, f.Time)
			}
			truthTotals(g.Truth(), want)
			srcs = append(srcs, FromFrames(m.replay(c.Packets, false)))
		}
		e := Start(EngineConfig{Sources: srcs, Table: flowtable.Config{MaxFlows: maxFlows, Source: flowlog.SourceLive}, Batch: 7})
		got := map[tkey][2]uint64{}
		vxlan := 0
		drain(e, func(r *flowlog.Record) {
			k := tkey{r.Src, r.Dst, r.SrcPort, r.DstPort, r.Proto}
			v := got[k]
			got[k] = [2]uint64{v[0] + uint64(r.Packets), v[1] + uint64(r.Bytes)}
			if a, ok := r.Attr(flowlog.AttrTunnelVni); ok && a.Int == 9 {
				vxlan++
			}
		})
		if err := e.Err(); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("max %d: %d flow directions, want %d", maxFlows, len(got), len(want))
		}
		for k, w := range want {
			if got[k] != w {
				t.Fatalf("max %d: %+v: got %v want %v", maxFlows, k, got[k], w)
			}
		}
		c := e.Counters()
		if c.Frames != 50000 || c.Decoded() != 50000 || c.Source.Frames != 50000 || c.Flows.Active != 0 {
			t.Fatalf("counters %+v", c)
		}
		if vxlan == 0 {
			t.Fatal("no record with tunnel_vni from the VXLAN source")
		}
		if maxFlows > 0 && c.Flows.Evicted == 0 {
			t.Fatalf("max %d: no evictions: %+v", maxFlows, c.Flows)
		}
		if c.Flows.Emitted != c.Flows.Idle+c.Flows.Split+c.Flows.Evicted+c.Flows.Flushed {
			t.Fatalf("emitted %+v", c.Flows)
		}
	}
}

// scripted is a Source that delivers some frames, then only timeouts
// until stopped.
type scripted struct {
	frames []capture.Frame
	i      int
	reads  atomic.Int64
	closed atomic.Bool
}

func (s *scripted) Read(f *capture.Frame) error {
	s.reads.Add(1)
	if s.i < len(s.frames) {
		*f = s.frames[s.i]
		s.i++
		return nil
	}
	time.Sleep(time.Millisecond)
	return ErrTimeout
}
func (s *scripted) Stats() Stats { return Stats{Frames: uint64(s.i)} }
func (s *scripted) Close() error { s.closed.Store(true); return nil }

// TestEngineIdleClock: with the source idle, flows expire on the clock
// and their records are shipped before Stop; Stop flushes the rest and
// closes the source.
func TestEngineIdleClock(t *testing.T) {
	g := pcapgen.New(pcapgen.Config{Seed: 3, Packets: 200, Flows: 20, PPS: 1000})
	src := &scripted{}
	var f capture.Frame
	for g.Next(&f) {
		c := f
		c.Data = append([]byte(nil), f.Data...)
		src.frames = append(src.frames, c)
	}
	last := src.frames[len(src.frames)-1].Time
	var clock atomic.Int64
	clock.Store(last)
	e := Start(EngineConfig{Sources: []Source{src}, Table: flowtable.Config{Idle: time.Second},
		Clock: func() int64 { return clock.Load() }})
	// Nothing is due yet: no batch while the clock stands still.
	select {
	case b := <-e.Records():
		t.Fatalf("records before any timeout: %d", len(b.Recs))
	case <-time.After(100 * time.Millisecond):
	}
	clock.Store(last + int64(2*time.Second))
	var n int
	select {
	case b := <-e.Records():
		n = len(b.Recs)
		b.Done()
	case <-time.After(5 * time.Second):
		t.Fatal("idle flows not expired on the clock")
	}
	if n == 0 {
		t.Fatal("empty batch")
	}
	e.Stop()
	drain(e, func(*flowlog.Record) { n++ })
	c := e.Counters()
	if uint64(n) != c.Flows.Emitted || c.Flows.Idle == 0 || c.Frames != 200 || !src.closed.Load() {
		t.Fatalf("%d records, counters %+v, closed %v", n, c.Flows, src.closed.Load())
	}
}

type failing struct{ n int }

func (s *failing) Read(f *capture.Frame) error {
	if s.n == 0 {
		return errors.New("socket exploded")
	}
	s.n--
	return ErrTimeout
}
func (s *failing) Stats() Stats { return Stats{} }
func (s *failing) Close() error { return nil }

// TestEngineError: a source error ends its worker and is reported; EOF
// is not an error.
func TestEngineError(t *testing.T) {
	e := Start(EngineConfig{Sources: []Source{&failing{n: 3}, FromFrames(eofSource{})}})
	drain(e, nil)
	if err := e.Err(); err == nil || err.Error() != "socket exploded" {
		t.Fatalf("err %v", err)
	}
}

type eofSource struct{}

func (eofSource) Next(*capture.Frame) error { return io.EOF }

// TestEngineAllocs: in steady state the engine allocates nothing per
// frame (decode, flow table, batches handed back and forth): a run of 1.5 M
// frames allocates no more than one of 0.5 M beyond noise (start-up, the
// tables growing and the batches' Attrs, is the same in both).
func TestEngineAllocs(t *testing.T) {
	m := loadFrames(pcapgen.Config{Seed: 4, Packets: 100000, Flows: 5000, VXLAN: true, VNI: 1})
	for _, strip := range []bool{false, true} {
		run := func(total int) uint64 {
			var ms0, ms1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms0)
			e := Start(EngineConfig{Sources: []Source{FromFrames(m.replay(total, strip))}})
			drain(e, nil)
			runtime.ReadMemStats(&ms1)
			if c := e.Counters(); c.Decoded() != uint64(total) {
				t.Fatalf("strip %v: decoded %d of %d: %+v", strip, c.Decoded(), total, c.Reasons)
			}
			return ms1.Mallocs - ms0.Mallocs
		}
		short, long := run(500_000), run(1_500_000)
		if long > short+100 {
			t.Fatalf("strip %v: %d allocations for 1.5 M frames, %d for 0.5 M: %.4f per frame", strip, long, short,
				float64(long-short)/1e6)
		}
	}
}
