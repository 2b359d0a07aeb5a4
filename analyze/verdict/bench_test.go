package verdict

import (
	"math/rand/v2"
	"runtime"
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
