package rulestats_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/analyze/policy/load"
	"github.com/flowsift/flowsift/analyze/rulestats"
	"github.com/flowsift/flowsift/analyze/verdict"
	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/input"
)

const examplesDir = "../../../shared/reference/samples/policy/examples"

type manifest struct {
	Examples []struct {
		Dir     string   `json:"dir"`
		Policy  []string `json:"policy"`
		Current []string `json:"current"`
		Flows   string   `json:"flows"`
	} `json:"examples"`
}

func readRecords(t testing.TB, path string) []flowlog.Record {
	t.Helper()
	var recs []flowlog.Record
	sum, err := input.Run(input.Expand([]string{path}, nil), input.Options{}, func(r *flowlog.Record) error {
		recs = append(recs, r.Clone())
		return nil
	})
	if err != nil || sum.Unusable() {
		t.Fatalf("%s: %v %+v", path, err, sum)
	}
	return recs
}

// example loads a worked example and returns its set and report.
func example(t *testing.T, dir string) (*policy.Set, *rulestats.Report) {
	t.Helper()
	var m manifest
	b, err := os.ReadFile(filepath.Join(examplesDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, ex := range m.Examples {
		if ex.Dir != dir {
			continue
		}
		files := ex.Policy
		if len(files) == 0 {
			files = ex.Current
		}
		var paths []string
		for _, f := range files {
			paths = append(paths, filepath.Join(examplesDir, dir, f))
		}
		set, err := load.Files(paths)
		if err != nil {
			t.Fatal(err)
		}
		recs := readRecords(t, filepath.Join(examplesDir, dir, ex.Flows))
		res := make([]verdict.Result, len(recs))
		verdict.NewEngine(set).JudgeAll(recs, res)
		sum := verdict.NewSummary()
		col := rulestats.New(set)
		sum.Rules = col
		for i := range recs {
			sum.Add(&recs[i], &res[i])
		}
		return set, col.Report(nil)
	}
	t.Fatalf("no example %s", dir)
	return nil, nil
}

func find[T any](xs []T, id func(T) string, want string) (T, bool) {
	for _, x := range xs {
		if id(x) == want {
			return x, true
		}
	}
	var zero T
	return zero, false
}

func hitsID(h rulestats.RuleHits) string   { return h.ID }
func shadowID(s rulestats.Shadowed) string { return s.ID }
func redID(r rulestats.Redundant) string   { return r.ID }

// E1: NACL rule 200 (allow tcp 22 0.0.0.0/0) comes after 100 (deny tcp 22
// 198.51.100.0/24): not shadowed, reached only from outside 198.51.100.0/24.
func TestExample01RuleOrder(t *testing.T) {
	_, rep := example(t, "01-aws-nacl-rule-order")
	const acl = "acl-01a2b3c4d5e6f7001/ingress/"
	if _, ok := find(rep.ShadowedConfig, shadowID, acl+"200"); ok {
		t.Errorf("rule 200 reported shadowed: %+v", rep.ShadowedConfig)
	}
	if _, ok := find(rep.Redundant, redID, acl+"100"); ok {
		t.Errorf("rule 100 (deny before allow) reported redundant")
	}
	h200, ok := find(rep.Rules, hitsID, acl+"200")
	if !ok || h200.Records != 1 || h200.Packets != 3 || h200.Bytes != 180 || h200.First != 1763800000 || h200.Last != 1763800060 {
		t.Errorf("hits of 200 = %+v, want the one record from 203.0.113.25", h200)
	}
	h100, ok := find(rep.Rules, hitsID, acl+"100")
	if !ok || h100.Records != 1 || h100.Action != "deny" {
		t.Errorf("hits of 100 = %+v", h100)
	}
	if _, ok := find(rep.Unused, hitsID, "acl-01a2b3c4d5e6f7001/egress/100"); !ok {
		t.Errorf("egress/100 not unused: %+v", rep.Unused)
	}
	for _, u := range rep.Unused {
		if u.Default {
			t.Errorf("default id %s listed as unused", u.ID)
		}
	}
}

// E2: rule 100 (allow tcp 5432 10.0.9.0/28) sits below 90 (deny all
// 10.0.9.0/24): shadowed by configuration, opposite action.
func TestExample02Shadowed(t *testing.T) {
	_, rep := example(t, "02-aws-nacl-deny-before-allow")
	s, ok := find(rep.ShadowedConfig, shadowID, "acl-02a2b3c4d5e6f7002/ingress/100")
	if !ok {
		t.Fatalf("rule 100 not shadowed: %+v", rep.ShadowedConfig)
	}
	if !s.Opposite || len(s.Covering) != 1 || s.Covering[0] != "acl-02a2b3c4d5e6f7002/ingress/90" {
		t.Errorf("shadowed = %+v, want covered by 90 with the opposite action", s)
	}
	if len(rep.ShadowedConfig) != 1 {
		t.Errorf("more shadowed rules than 100: %+v", rep.ShadowedConfig)
	}
	// 110 (allow all) decided the NACL layer for 172.31.5.5, which the group
	// then denied: not shadowed by observation, but it has no hit.
	if len(rep.ShadowedObserved) != 0 {
		t.Errorf("shadowed by observation: %+v", rep.ShadowedObserved)
	}
	if h, ok := find(rep.Rules, hitsID, "default/aws-sg/deny"); !ok || !h.Default || h.Records != 1 {
		t.Errorf("default/aws-sg/deny hits = %+v", h)
	}
}

// E9: the basic group's written accept-all egress rule gives what the
// implicit rules give anyway: redundant, covered by the defaults.
func TestExample09Redundant(t *testing.T) {
	_, rep := example(t, "09-ali-drop-beats-accept")
	r, ok := find(rep.Redundant, redID, "sg-bp1ex4mpl3sg0000009/egress/2")
	if !ok || r.Model != rulestats.Ordered {
		t.Fatalf("egress/2 not redundant: %+v", rep.Redundant)
	}
	if _, ok := find(rep.ShadowedConfig, shadowID, "sg-bp1ex4mpl3sg0000009/ingress/0"); ok {
		t.Errorf("accept 22 (priority 1, after the drop for 198.51.100.0/24) reported shadowed")
	}
}

// E11: group A's accept 3306 10.0.0.0/8 (priority 5) runs before group B's
// drop 3306 0.0.0.0/0 (priority 10): neither is shadowed nor redundant, and
// the ACL's accept-all after the drop of 1-1024 from 198.51.100.0/24 is not
// shadowed.
func TestExample11Ordering(t *testing.T) {
	_, rep := example(t, "11-ali-multi-group-and-nacl")
	for _, id := range []string{"sg-bp1ex4mpl3sgmysql11/ingress/0", "sg-bp1ex4mpl3sgguard11/ingress/0", "nacl-bp1ex4mpl3nacl00011/ingress/1"} {
		if _, ok := find(rep.ShadowedConfig, shadowID, id); ok {
			t.Errorf("%s reported shadowed", id)
		}
		if _, ok := find(rep.Redundant, redID, id); ok {
			t.Errorf("%s reported redundant", id)
		}
	}
	for _, id := range []string{"sg-bp1ex4mpl3sgmysql11/ingress/0", "sg-bp1ex4mpl3sgguard11/ingress/0", "nacl-bp1ex4mpl3nacl00011/ingress/0"} {
		if h, ok := find(rep.Rules, hitsID, id); !ok || h.Records != 1 {
			t.Errorf("%s hits = %+v, want 1", id, h)
		}
	}
}

// E14: the HTTP deny _all never decides: 10.9.9.9 is allowed by the HTTP
// allow list first, so the deny matched it alone and decided nothing.
func TestExample14ShadowedObserved(t *testing.T) {
	_, rep := example(t, "14-es-yml-allow-deny-all")
	if _, ok := find(rep.ShadowedObserved, shadowID, "es:es-node-1/http/deny/0"); !ok || len(rep.ShadowedObserved) != 1 {
		t.Errorf("shadowed by observation = %+v", rep.ShadowedObserved)
	}
	if _, ok := find(rep.ShadowedObserved, shadowID, "es:es-node-1/transport/deny/0"); ok {
		t.Errorf("transport deny decided a record")
	}
}

// Every example: the statistics agree with the per-record rules, and every
// written rule is either used or unused.
func TestExamplesConsistent(t *testing.T) {
	var m manifest
	b, err := os.ReadFile(filepath.Join(examplesDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Examples) != 15 {
		t.Fatalf("%d examples", len(m.Examples))
	}
	for _, ex := range m.Examples {
		set, rep := example(t, ex.Dir)
		if rep.UsedRules+len(rep.Unused) != len(set.Rules()) || rep.WrittenRules != len(set.Rules()) {
			t.Errorf("%s: used %d + unused %d != written %d", ex.Dir, rep.UsedRules, len(rep.Unused), len(set.Rules()))
		}
		var total int64
		for _, h := range rep.Rules {
			total += h.Records
		}
		if total == 0 {
			t.Errorf("%s: no hits", ex.Dir)
		}
	}
}
