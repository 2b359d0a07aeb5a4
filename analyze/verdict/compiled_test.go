package verdict

import (
	"math/rand/v2"
	"reflect"
	"testing"
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
