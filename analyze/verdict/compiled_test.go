package verdict

import (
	"math/rand/v2"
	"reflect"
	"syscall"
	"testing"
	"time"
)

// TestCompiledMatchesReference compares the compiled engine with the
// reference on random policies (with undecidable rules) and records.
func TestCompiledMatchesReference(t *testing.T) {
	pairs := 0
	for seed := uint64(1); seed <= 40; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		set := genSet(rng, []int{4, 20, 200, 2000}[seed%4], true)
		ref, fast := NewReferenceEngine(set), NewEngine(set)
		recs := genRecords(rng, 5000)
		var a, b Result
		for i := range recs {
			rep := Reply{Reply: rng.IntN(5) == 0, Basis: BasisPorts}
			ref.Evaluate(&recs[i], rep, &a)
			fast.Evaluate(&recs[i], rep, &b)
			if a.Verdict != b.Verdict || !reflect.DeepEqual(a.Rules, b.Rules) || a.Reason != b.Reason || a.Finding != b.Finding {
				t.Fatalf("seed %d record %+v:\n reference %v %v %q %q\n compiled  %v %v %q %q\n%s", seed, recs[i],
					a.Verdict, a.Rules, a.Reason, a.Finding, b.Verdict, b.Rules, b.Reason, b.Finding, a.Why())
			}
			for j, l := range a.Layers() {
				if l.ID != b.Layers()[j].ID || l.Action != b.Layers()[j].Action {
					t.Fatalf("seed %d layer %d differs: %+v vs %+v", seed, j, l, b.Layers()[j])
				}
			}
			pairs++
		}
	}
	t.Logf("%d record/policy pairs agree", pairs)
}

func TestEvaluateNoAlloc(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	eng := NewEngine(genSet(rng, 1000, true))
	recs := genRecords(rng, 512)
	var res Result
	for i := range recs {
		eng.Evaluate(&recs[i], Reply{}, &res)
	}
	i := 0
	allocs := testing.AllocsPerRun(2000, func() {
		eng.Evaluate(&recs[i%len(recs)], Reply{}, &res)
		i++
	})
	if allocs != 0 {
		t.Errorf("%.2f allocations per evaluation, want 0", allocs)
	}
}

func BenchmarkEvaluate(b *testing.B) {
	for _, n := range []int{10, 10_000, 100_000} {
		b.Run(itoa(n)+"rules", func(b *testing.B) {
			rng := rand.New(rand.NewPCG(uint64(n), 1))
			eng := NewEngine(genSet(rng, n, false))
			recs := genRecords(rng, 1<<14)
			var res Result
			b.ReportAllocs()
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			for i := 0; i < b.N; i++ {
				eng.Evaluate(&recs[i&(len(recs)-1)], Reply{}, &res)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "evals/s")
			// On a shared machine wall time includes other processes; the
			// process CPU time does not.
			if cpu := cpuTime() - cpu0; cpu > 0 {
				b.ReportMetric(float64(b.N)/cpu.Seconds(), "cpu-evals/s")
			}
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func itoa(n int) string {
	switch n {
	case 10:
		return "10"
	case 10_000:
		return "10k"
	}
	return "100k"
}
