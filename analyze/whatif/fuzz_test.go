package whatif

import (
	"os"
	"testing"

	"github.com/flowsift/flowsift/analyze/policy/load"
	"github.com/flowsift/flowsift/analyze/verdict"
)

// FuzzApplyEdit: any edit file either fails with an error or leaves a set
// that both engines judge identically (compiled = reference) — no panic,
// and an edit never corrupts the model.
func FuzzApplyEdit(f *testing.F) {
	seed, _ := os.ReadFile("../../examples/policy/aws/proposed-edit.yaml")
	f.Add(seed)
	for _, s := range []string{
		"flowsift_policy_edit: 1\nedits:\n  - remove: acl-0public000000001/ingress/90\n",
		"flowsift_policy_edit: 1\nedits:\n  - change: sg-0web0000000000001/ingress/0\n    remote: [10.0.0.0/8]\n    ports: [\"1-2\"]\n",
		"flowsift_policy_edit: 1\nedits:\n  - add: {id: x/1, action: deny, proto: 6, ports: [\"22\"], remote: [0.0.0.0/0], priority: 85}\n    scope: acl-0public000000001\n    direction: ingress\n",
		"flowsift_policy_edit: 1\nedits:\n  - add: {id: y/1, proto: -1, remote: [\"::/0\"]}\n    scope: sg-0web0000000000001\n    direction: egress\n    after: sg-0web0000000000001/egress/0\n",
	} {
		f.Add([]byte(s))
	}
	recs := readRecords(f, bundledFlows...)
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := load.Files(bundledPolicy)
		if err != nil {
			t.Fatal(err)
		}
		if err := ApplyEdit(set, "fuzz.yaml", data); err != nil {
			return
		}
		set.Index()
		a := make([]verdict.Result, len(recs))
		b := make([]verdict.Result, len(recs))
		verdict.NewEngine(set).JudgeAll(recs, a)
		verdict.NewReferenceEngine(set).JudgeAll(recs, b)
		for i := range recs {
			if a[i].Verdict != b[i].Verdict {
				t.Fatalf("record %d: compiled %s, reference %s", i, a[i].Verdict, b[i].Verdict)
			}
		}
	})
}
