package verdict

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/flowlog"
)

// benchSizes are the rule counts of BenchmarkEvaluate: n/2 network ACL
// entries and n/2 security group permissions on one interface (genSet).
var benchSizes = []struct {
	name string
	n    int
}{{"rules=10", 10}, {"rules=10k", 10_000}, {"rules=100k", 100_000}}

// BenchmarkEvaluate measures the compiled engine's Evaluate on one core.
// Besides ns/op it reports evals/s (wall clock) and cpu-evals/s (CPU time
// of the benchmark's own thread, which other processes on a shared
// machine do not inflate). Compare ns/op across sizes within one run for
// the scaling ratio.
func BenchmarkEvaluate(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(uint64(sz.n), 1))
			eng := NewEngine(genSet(rng, sz.n, false))
			recs := genRecords(rng, 1<<14)
			reps := make([]Reply, len(recs))
			for i := range recs {
				reps[i] = DetectOne(&recs[i])
			}
			var res Result
			runLoop(b, func(i int) { eng.Evaluate(&recs[i&(len(recs)-1)], reps[i&(len(recs)-1)], &res) })
			b.ReportMetric(eng.comp.footprint(), "B/chain")
		})
	}
}

// BenchmarkEvalChain measures one chain lookup alone (the security group
// ingress chain of BenchmarkEvaluate's policy).
func BenchmarkEvalChain(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(uint64(sz.n), 1))
			set := genSet(rng, sz.n, false)
			eng := NewEngine(set)
			l := set.Interfaces[0].Layers[1]
			recs := genRecords(rng, 1<<14)
			qs := make([]policy.Query, len(recs))
			for i, r := range recs {
				qs[i] = policy.Query{Proto: r.Proto, SPort: r.SrcPort, DPort: r.DstPort, Remote: r.Src.Unmap(), Local: r.Dst.Unmap()}
				if r.Direction == flowlog.DirEgress {
					qs[i].Remote, qs[i].Local = qs[i].Local, qs[i].Remote
				}
			}
			var lr LayerResult
			runLoop(b, func(i int) { eng.comp.eval(l, policy.Ingress, &qs[i&(len(qs)-1)], &lr) })
		})
	}
}

func runLoop(b *testing.B, f func(i int)) {
	runtime.GC()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), threadCPU()
	for i := 0; i < b.N; i++ {
		f(i)
	}
	cpu, wall := threadCPU()-cpu0, time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/wall.Seconds(), "evals/s")
	if cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "cpu-evals/s")
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// threadCPU is the CPU time of the calling OS thread (the goroutine is
// locked to it).
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestCompiledPathsAgree holds the compiled engine's less travelled paths
// to the reference: interfaces without a joint index (noJoint) or whose
// joint index lacks the internet flag (noJointInet), zoned
// addresses, and RemoteInternet read by undecidable-remote rules in every
// chain, including stateless ones judging replies (where the compiled path
// computes the internet test only on demand).
func TestCompiledPathsAgree(t *testing.T) {
	defer func() { noJoint, noJointInet = false, false }()
	var a, b Result
	var rec flowlog.Record
	for seed := uint64(0); seed < 240; seed++ {
		noJoint, noJointInet = seed%3 == 1, seed%3 == 2
		rng := rand.New(rand.NewPCG(seed, 7))
		model := []string{"aws", "alibaba", "elastic-cloud", "elasticsearch"}[seed/2%4]
		set, g := genModelSet(rng, model)
		for _, l := range set.Layers() {
			for _, c := range []*policy.Chain{&l.In, &l.Out} {
				for _, r := range c.Rules {
					if rng.IntN(4) == 0 {
						r.RemoteUnknown, r.UnknownSkipsInternet = policy.ReasonPrivateEndpoint, rng.IntN(3) > 0
					}
				}
			}
		}
		ref, fast := NewReferenceEngine(set), NewEngine(set)
		joint := 0
		for _, ci := range fast.comp.ifaces.ifcs {
			for _, j := range ci.joint {
				if j != nil {
					joint++
					if j.inet == noJointInet {
						t.Fatalf("seed %d: noJointInet %v but joint index inet %v", seed, noJointInet, j.inet)
					}
				}
			}
		}
		if noJoint != (joint == 0) && len(set.Interfaces) > 0 {
			t.Fatalf("seed %d: noJoint %v but %d joint indexes", seed, noJoint, joint)
		}
		for i := 0; i < 3000; i++ {
			g.record(set, &rec)
			if rng.IntN(8) == 0 && rec.Src.Is6() {
				rec.Src = rec.Src.WithZone("eth0")
			}
			if rng.IntN(8) == 0 && rec.Dst.Is6() {
				rec.Dst = rec.Dst.WithZone("1")
			}
			rep := Reply{Reply: rng.IntN(2) == 0, Basis: BasisReverse}
			ref.Evaluate(&rec, rep, &a)
			fast.Evaluate(&rec, rep, &b)
			if msg := diffResults(&a, &b); msg != "" {
				t.Fatalf("%s seed %d noJoint %v noJointInet %v record %d %+v: %s\nreference: %s", model, seed, noJoint, noJointInet, i, rec, msg, a.Why())
			}
		}
	}
}

// TestJointIndexRows checks every joint index against the structures it
// replaces at each point where one of them may change and the address
// before it. (Adjacent intervals with equal rows are merged: chains whose
// nodes share a step function give equal leafRefs, so a joint index can be
// far smaller than the chains' own indexes.)
func TestJointIndexRows(t *testing.T) {
	var inet, priv bool // some row says internet, some not
	for seed := uint64(0); seed < 40; seed++ {
		rng := rand.New(rand.NewPCG(seed, 11))
		set, _ := genModelSet(rng, []string{"aws", "alibaba"}[seed%2])
		if seed%5 == 0 {
			set = genSet(rng, 2000, true)
		}
		eng := NewEngine(set)
		for _, ci := range eng.comp.ifaces.ifcs {
			for d, j := range ci.joint {
				if j == nil {
					t.Fatalf("seed %d: interface %s has no joint index", seed, ci.ifc.ID)
				}
				if !j.inet {
					t.Fatalf("seed %d: interface %s dir %d: joint index without the internet flag", seed, ci.ifc.ID, d)
				}
				var addrs []netip.Addr
				// Every point where a replaced structure may change, and
				// the address before it: the joint index's own starts,
				// the chains' and the Local, Unfiltered and internal
				// (internet test) prefix bounds.
				s4 := slices.Clone(j.v4.starts)
				s6 := slices.Clone(j.v6.starts)
				for _, ch := range j.chains {
					if ch != nil {
						s4 = append(s4, ch.v4.starts...)
						s6 = append(s6, ch.v6.starts...)
					}
				}
				bounds := append(slices.Clone(ci.ifc.Local), ci.ifc.Unfiltered...)
				for _, p := range append(bounds, set.InternalPrefixes()...) {
					lo, hi := prefixRange(p)
					next, _ := hi.inc()
					if p.Addr().Is4() {
						s4 = append(s4, uint32(lo.lo), uint32(next.lo))
					} else {
						s6 = append(s6, lo, next)
					}
				}
				for _, s := range s4 {
					addrs = append(addrs, netip.AddrFrom4([4]byte{byte(s >> 24), byte(s >> 16), byte(s >> 8), byte(s)}))
					if s > 0 {
						s--
						addrs = append(addrs, netip.AddrFrom4([4]byte{byte(s >> 24), byte(s >> 16), byte(s >> 8), byte(s)}))
					}
				}
				for _, s := range s6 {
					for _, k := range []u128{s, s.dec()} {
						var b [16]byte
						binary.BigEndian.PutUint64(b[:8], k.hi)
						binary.BigEndian.PutUint64(b[8:], k.lo)
						addrs = append(addrs, netip.AddrFrom16(b))
					}
				}
				for _, a := range addrs {
					fl, refs := j.row(a)
					if got, want := fl&jUnfiltered != 0, ci.ifc.IsUnfiltered(a); got != want {
						t.Fatalf("seed %d %s dir %d %s: unfiltered %v, want %v", seed, ci.ifc.ID, d, a, got, want)
					}
					if got, want := fl&jLocal != 0, ci.ifc.InLocal(a); got != want {
						t.Fatalf("seed %d %s dir %d %s: local %v, want %v", seed, ci.ifc.ID, d, a, got, want)
					}
					if got, want := fl&jInternet != 0, set.IsInternet(a); got != want {
						t.Fatalf("seed %d %s dir %d %s: internet %v, want %v", seed, ci.ifc.ID, d, a, got, want)
					}
					inet = inet || fl&jInternet != 0
					priv = priv || fl&jInternet == 0
					for i, ch := range j.chains {
						if ch != nil && refs[i] != ch.leaf(a) {
							t.Fatalf("seed %d %s dir %d %s layer %d: leaf %+v, want %+v", seed, ci.ifc.ID, d, a, i, refs[i], ch.leaf(a))
						}
					}
				}
			}
		}
	}
	if !inet || !priv {
		t.Fatalf("internet flag seen set %v, clear %v: want both", inet, priv)
	}
}
