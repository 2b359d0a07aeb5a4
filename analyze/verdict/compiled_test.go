package verdict

import (
	"fmt"
	"slices"

	"github.com/flowsift/flowsift/flowlog"
	"math/rand/v2"
	"reflect"
	"testing"
	"unsafe"
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

// TestCompiledMatchesReferenceModels is the property test of the compiled
// evaluator: per model, at least 1,000,000 random (record, policy) pairs
// (100,000 under -short) judged by both engines must agree on verdict,
// rules, finding, reason and every layer's outcome.
func TestCompiledMatchesReferenceModels(t *testing.T) {
	const perPolicy = 2000
	pairs := 1_000_000
	if testing.Short() {
		pairs = 100_000
	}
	for mi, model := range []string{"aws", "alibaba", "elastic-cloud", "elasticsearch"} {
		t.Run(model, func(t *testing.T) {
			t.Parallel()
			var a, b Result
			var rec flowlog.Record
			seen := map[Verdict]int{}
			reasons := map[string]bool{}
			for p := 0; p*perPolicy < pairs; p++ {
				seed := uint64(p)
				rng := rand.New(rand.NewPCG(seed, uint64(mi)))
				set, g := genModelSet(rng, model)
				ref, fast := NewReferenceEngine(set), NewEngine(set)
				for i := 0; i < perPolicy; i++ {
					g.record(set, &rec)
					rep := DetectOne(&rec)
					if rng.IntN(3) == 0 {
						rep = Reply{Reply: rng.IntN(2) == 0, Basis: BasisReverse}
					}
					ref.Evaluate(&rec, rep, &a)
					fast.Evaluate(&rec, rep, &b)
					if msg := diffResults(&a, &b); msg != "" {
						t.Fatalf("%s policy seed %d record %d %+v: %s\nreference: %s", model, seed, i, rec, msg, a.Why())
					}
					seen[a.Verdict]++
					reasons[a.Reason] = true
				}
			}
			// The generator must reach every verdict and several reasons, or
			// the comparison proves little.
			if len(seen) != 3 || len(reasons) < 3 {
				t.Errorf("%s: verdicts %v, reasons %v: the generator misses cases", model, seen, reasons)
			}
			t.Logf("%s: %d pairs agree; verdicts %v; %d distinct reasons", model, pairs, seen, len(reasons))
		})
	}
}

func diffResults(a, b *Result) string {
	if a.Verdict != b.Verdict || !slices.Equal(a.Rules, b.Rules) || a.Reason != b.Reason || a.Finding != b.Finding {
		return fmt.Sprintf("reference %v %v %q %q, compiled %v %v %q %q", a.Verdict, a.Rules, a.Reason, a.Finding,
			b.Verdict, b.Rules, b.Reason, b.Finding)
	}
	if a.Covered != b.Covered || a.Unfiltered != b.Unfiltered || a.Visible != b.Visible || a.HasVisible != b.HasVisible ||
		a.Inbound != b.Inbound || a.Internet != b.Internet {
		return fmt.Sprintf("flags differ: %+v vs %+v", *a, *b)
	}
	la, lb := a.Layers(), b.Layers()
	if len(la) != len(lb) {
		return fmt.Sprintf("%d layers vs %d", len(la), len(lb))
	}
	for i := range la {
		if la[i] != lb[i] {
			return fmt.Sprintf("layer %d: reference %+v, compiled %+v", i, la[i], lb[i])
		}
	}
	return ""
}

// TestCompiledSplitNodes runs the comparison with unmerged nodes (lookups
// walk every enclosing prefix), on large AWS-shaped chains and on the
// model generators.
func TestCompiledSplitNodes(t *testing.T) {
	splitNodes = true
	defer func() { splitNodes = false }()
	var a, b Result
	var rec flowlog.Record
	for seed := uint64(0); seed < 60; seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		model := []string{"aws", "alibaba", "elastic-cloud", "elasticsearch"}[seed%4]
		set, g := genModelSet(rng, model)
		if seed%3 == 0 {
			set = genSet(rng, 3000, true)
		}
		ref, fast := NewReferenceEngine(set), NewEngine(set)
		split := 0
		for _, l := range fast.comp.layers {
			for _, n := range append(append([]cnode{}, l.in.nodes...), l.out.nodes...) {
				if n.next >= 0 {
					split++
				}
			}
		}
		recs := genRecords(rng, 2000)
		for i := range recs {
			r := &recs[i]
			if seed%3 != 0 {
				g.record(set, &rec)
				r = &rec
			}
			rep := DetectOne(r)
			ref.Evaluate(r, rep, &a)
			fast.Evaluate(r, rep, &b)
			if msg := diffResults(&a, &b); msg != "" {
				t.Fatalf("seed %d record %+v: %s", seed, *r, msg)
			}
		}
		if seed%3 == 0 && split == 0 {
			t.Fatalf("seed %d: no split node; the test does not exercise the walk", seed)
		}
	}
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

// TestCompiledStepLayout checks the storage of step functions: each is
// stored once, starts at key 0, has strictly ascending keys and no two
// equal neighbouring values, and one of at most 16 runs lies in one
// 64-byte block of keys.
func TestCompiledStepLayout(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	eng := NewEngine(genSet(rng, 4000, true))
	fns := 0
	for _, l := range eng.comp.layers {
		for _, cc := range []*cchain{l.in, l.out} {
			if len(cc.skeys) > 0 && uintptr(unsafe.Pointer(&cc.skeys[0]))%64 != 0 {
				t.Fatalf("skeys not 64-byte aligned")
			}
			seen := map[span]bool{}
			content := map[string]span{}
			for _, nd := range cc.nodes {
				sp := nd.fn
				if seen[sp] {
					continue
				}
				seen[sp] = true
				fns++
				keys, vals := cc.skeys[sp.off:sp.off+sp.n], cc.svals[sp.off:sp.off+sp.n]
				if keys[0] != 0 {
					t.Fatalf("function at %d starts at key %d", sp.off, keys[0])
				}
				for i := 1; i < len(keys); i++ {
					if keys[i] <= keys[i-1] || vals[i] == vals[i-1] {
						t.Fatalf("function at %d: run %d (%d %v) after (%d %v)", sp.off, i, keys[i], vals[i], keys[i-1], vals[i-1])
					}
				}
				if sp.n > 1 && sp.n <= 16 && sp.off%16+sp.n > 16 {
					t.Fatalf("function at %d of %d runs straddles a 64-byte block", sp.off, sp.n)
				}
				k := fmt.Sprint(keys, vals)
				if o, dup := content[k]; dup {
					t.Fatalf("function stored twice, at %d and %d", o.off, sp.off)
				}
				content[k] = sp
			}
		}
	}
	if fns < 100 {
		t.Fatalf("only %d distinct functions: the policy exercises little", fns)
	}
}
