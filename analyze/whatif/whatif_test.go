package whatif

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowsift/flowsift/analyze/policy/load"
	"github.com/flowsift/flowsift/analyze/verdict"
	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/input"
)

const examples = "../../../shared/reference/samples/policy/examples"

func exFiles(dir string, names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, filepath.Join(examples, dir, n))
	}
	return out
}

var bundledPolicy = []string{
	"../../examples/policy/aws/describe-security-groups.json",
	"../../examples/policy/aws/describe-network-acls.json",
	"../../examples/policy/aws/describe-network-interfaces.json",
}

var bundledFlows = []string{"../../examples/flowlogs/aws-s3", "../../examples/flowlogs/cloudwatch"}

func readRecords(t testing.TB, paths ...string) []flowlog.Record {
	t.Helper()
	var recs []flowlog.Record
	_, err := input.Run(input.Expand(paths, nil), input.Options{}, func(r *flowlog.Record) error {
		recs = append(recs, r.Clone())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 {
		t.Fatalf("%v: no records", paths)
	}
	return recs
}

func writeFile(t testing.TB, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func compare(t testing.TB, current, proposed []string) *Comparison {
	t.Helper()
	b, a, err := LoadSets(current, proposed)
	if err != nil {
		t.Fatal(err)
	}
	return NewComparison(b, a)
}

func judgeAll(c *Comparison, recs []flowlog.Record) []Judgment {
	js := make([]Judgment, len(recs))
	c.JudgeAll(recs, js)
	return js
}

// report builds the aggregated report of recs (the streaming path).
func report(c *Comparison, recs []flowlog.Record) *Report {
	agg := NewAggregator()
	for i := range recs {
		agg.Add(&recs[i])
	}
	b := c.NewBuilder(50)
	agg.Rows(b.Add)
	return b.Report()
}

// checkOracle: before and after of every record equal the reference
// engine's verdicts (POLICY.md followed rule by rule) on each set.
func checkOracle(t *testing.T, c *Comparison, recs []flowlog.Record, js []Judgment) {
	t.Helper()
	for side, set := range map[string]bool{"before": false, "after": true} {
		s := c.Before
		if set {
			s = c.After
		}
		ref := make([]verdict.Result, len(recs))
		verdict.NewReferenceEngine(s).JudgeAll(recs, ref)
		for i := range recs {
			got := js[i].Before.Verdict
			if set {
				got = js[i].After.Verdict
			}
			if got != ref[i].Verdict {
				t.Errorf("record %d (%s:%d->%s:%d) %s: %s, reference engine %s", i, recs[i].Src, recs[i].SrcPort, recs[i].Dst, recs[i].DstPort, side, got, ref[i].Verdict)
			}
		}
	}
}

// TestExample12Association: E12 of POLICY.md 11, compared line by line with
// expected.whatif.jsonl (before, after, change, attributed_to).
func TestExample12Association(t *testing.T) {
	d := "12-ec-associate-ruleset"
	c := compare(t, exFiles(d, "current/traffic-filter-rulesets.json", "bindings.yaml"), exFiles(d, "proposed/traffic-filter-rulesets.json", "bindings.yaml"))
	recs := readRecords(t, filepath.Join(examples, d, "flows.jsonl"))
	js := judgeAll(c, recs)
	checkOracle(t, c, recs, js)
	f, err := os.Open(filepath.Join(examples, d, "expected.whatif.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		var want struct {
			Line                                int
			Before, After, Change, AttributedTo string
		}
		var raw map[string]any
		json.Unmarshal(sc.Bytes(), &raw)
		want.Line = int(raw["line"].(float64))
		want.Before, want.After, want.Change, want.AttributedTo = raw["before"].(string), raw["after"].(string), raw["change"].(string), raw["attributed_to"].(string)
		j := js[want.Line-1]
		got := [4]string{j.Before.Verdict.String(), j.After.Verdict.String(), string(j.Change.PerFlow()), j.Attribution}
		if got != [4]string{want.Before, want.After, want.Change, want.AttributedTo} {
			t.Errorf("line %d: got %q, want %+v", want.Line, got, want)
		}
		n++
	}
	if n != len(recs) || n == 0 {
		t.Fatalf("%d expected lines for %d records", n, len(recs))
	}
}

// TestUnchangedExamples: every worked example compared with itself changes
// nothing, and before equals the example's expected verdicts.
func TestUnchangedExamples(t *testing.T) {
	var man struct {
		Examples []struct {
			Dir, Flows string
			Expected   json.RawMessage
			Policy     []string
		}
	}
	b, err := os.ReadFile(filepath.Join(examples, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ex := range man.Examples {
		var expected string
		if len(ex.Policy) == 0 || json.Unmarshal(ex.Expected, &expected) != nil {
			continue // what-if examples name two policies
		}
		pol := exFiles(ex.Dir, ex.Policy...)
		c := compare(t, pol, pol)
		recs := readRecords(t, filepath.Join(examples, ex.Dir, ex.Flows))
		js := judgeAll(c, recs)
		checkOracle(t, c, recs, js)
		exp, _ := os.ReadFile(filepath.Join(examples, ex.Dir, expected))
		for i, line := range strings.Split(strings.TrimSpace(string(exp)), "\n") {
			var e struct{ Verdict string }
			json.Unmarshal([]byte(line), &e)
			if js[i].Before.Verdict.String() != e.Verdict || js[i].Change != NoChange {
				t.Errorf("%s line %d: before %s change %q, expected verdict %s", ex.Dir, i+1, js[i].Before.Verdict, js[i].Change, e.Verdict)
			}
		}
		if len(c.Diff.Entries) != 0 {
			t.Errorf("%s: a set differs from itself: %+v", ex.Dir, c.Diff.Entries[0])
		}
		n++
	}
	if n < 10 {
		t.Fatalf("only %d examples", n)
	}
}

// TestAWSNACLEdit: E1 with the deny at 100 removed and a deny at 150 added.
func TestAWSNACLEdit(t *testing.T) {
	d := "01-aws-nacl-rule-order"
	pol := exFiles(d, "describe-security-groups.json", "describe-network-acls.json", "describe-network-interfaces.json")
	edit := writeFile(t, "edit.yaml", `flowsift_policy_edit: 1
edits:
  - remove: acl-01a2b3c4d5e6f7001/ingress/100
  - add: {id: acl-01a2b3c4d5e6f7001/ingress/150, action: deny, proto: 6, ports: ["22"], remote: [203.0.113.0/24], priority: 150}
    scope: acl-01a2b3c4d5e6f7001
    direction: ingress
`)
	c := compare(t, pol, append(pol, edit)[3:])
	recs := readRecords(t, filepath.Join(examples, d, "flows.jsonl"))
	js := judgeAll(c, recs)
	checkOracle(t, c, recs, js)
	want := map[string][2]string{
		"198.51.100.7": {"newly-allowed", "acl-01a2b3c4d5e6f7001/ingress/100"},
		"203.0.113.25": {"newly-denied", "acl-01a2b3c4d5e6f7001/ingress/150"},
	}
	for i := range recs {
		w, ok := want[recs[i].Src.String()]
		if !ok {
			continue
		}
		if got := [2]string{string(js[i].Change), js[i].Attribution}; got != w {
			t.Errorf("%s: %q, want %q", recs[i].Src, got, w)
		}
		delete(want, recs[i].Src.String())
	}
	if len(want) > 0 {
		t.Errorf("records not found: %v", want)
	}
	rep := report(c, recs)
	if rep.NewlyDenied.Flows != 1 || rep.NewlyAllowed.Flows != 1 {
		t.Errorf("report: denied %d allowed %d flows, want 1 and 1", rep.NewlyDenied.Flows, rep.NewlyAllowed.Flows)
	}
	// Rule order is by number: 150 sits between 100 (gone) and 200.
	var ids []string
	for _, r := range c.After.Interfaces[0].Layers[0].In.Rules {
		ids = append(ids, r.ID)
	}
	if got := strings.Join(ids, " "); !strings.Contains(got, "ingress/150 acl-01a2b3c4d5e6f7001/ingress/200") || strings.Contains(got, "/ingress/100") {
		t.Errorf("NACL order after the edit: %s", got)
	}
	// Unobserved space: the deny at 150 closes tcp 22 from 203.0.113.0/24,
	// the removal of 100 opens tcp 22 from 198.51.100.0/24.
	var closes, opens []string
	for _, s := range rep.Space {
		if s.Dir == "ingress" {
			closes = append(closes, s.NewlyDenied...)
			opens = append(opens, s.NewlyAllowed...)
		}
	}
	if !slicesHave(closes, "tcp port 22 remote 203.0.113.0/24") || !slicesHave(opens, "tcp port 22 remote 198.51.100.0/24") {
		t.Errorf("space: closes %q opens %q", closes, opens)
	}
}

func slicesHave(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestAWSSecurityGroupEdit: on the bundled AWS scenario, HTTPS of the web
// group restricted to 10.0.0.0/8 cuts off the internet clients; removing a
// rule no flow matched is reported as safe.
func TestAWSSecurityGroupEdit(t *testing.T) {
	edit := writeFile(t, "edit.yaml", `flowsift_policy_edit: 1
edits:
  - change: sg-0web0000000000001/ingress/0
    remote: [10.0.0.0/8]
  - remove: sg-0app0000000000001/ingress/1
`)
	c := compare(t, bundledPolicy, []string{edit})
	recs := readRecords(t, bundledFlows...)
	js := judgeAll(c, recs)
	checkOracle(t, c, recs, js)
	denied := 0
	for i := range js {
		switch js[i].Change {
		case NewlyDenied:
			denied++
			if js[i].Attribution != "sg-0web0000000000001/ingress/0" || recs[i].DstPort != 443 || netip.MustParsePrefix("10.0.0.0/8").Contains(recs[i].Src) {
				t.Errorf("record %d: %s:%d -> %s:%d denied, attributed to %s", i, recs[i].Src, recs[i].SrcPort, recs[i].Dst, recs[i].DstPort, js[i].Attribution)
			}
		case NewlyAllowed:
			t.Errorf("record %d newly allowed", i)
		}
	}
	if denied == 0 {
		t.Fatal("no record newly denied")
	}
	rep := report(c, recs)
	if rep.NewlyDenied.Flows != int64(denied) {
		t.Errorf("report: %d newly denied flows, per-flow %d", rep.NewlyDenied.Flows, denied)
	}
	if len(rep.ByChange) != 1 || rep.ByChange[0].ID != "sg-0web0000000000001/ingress/0" || rep.ByChange[0].Status != Modified {
		t.Errorf("by change: %+v", rep.ByChange)
	}
	if rep.NewlyDenied.Peers == 0 || rep.NewlyDenied.Peers > rep.NewlyDenied.Connections {
		t.Errorf("peers %d, connections %d", rep.NewlyDenied.Peers, rep.NewlyDenied.Connections)
	}
	var safe []string
	for _, e := range rep.Unobserved {
		if e.Safe {
			safe = append(safe, e.ID)
		}
	}
	if len(safe) != 1 || safe[0] != "sg-0app0000000000001/ingress/1" {
		t.Errorf("safe unobserved changes %q", safe)
	}
	// The modified group rule closes tcp 443 from every non-10/8 IPv4 remote.
	found := false
	for _, s := range rep.Space {
		if strings.Contains(s.Scope, "eni-") && s.Dir == "ingress" {
			for _, x := range s.NewlyDenied {
				if strings.HasPrefix(x, "tcp port 443 remote 0.0.0.0/5") {
					found = true
				}
			}
		}
	}
	if !found {
		t.Errorf("space: no closed tcp 443 region: %+v", rep.Space)
	}
}

// TestAlibabaEdit: E9 with the Drop moved to priority 2: Accept at 1 now
// decides first; the change is attributed to the modified Drop rule.
func TestAlibabaEdit(t *testing.T) {
	d := "09-ali-drop-beats-accept"
	pol := exFiles(d, "describe-network-interfaces.json", "describe-security-group-attribute.sg-bp1ex4mpl3sg0000009.json", "describe-security-groups.json")
	edit := writeFile(t, "edit.yaml", `flowsift_policy_edit: 1
edits:
  - change: sg-bp1ex4mpl3sg0000009/ingress/1
    priority: 2
`)
	c := compare(t, pol, []string{edit})
	recs := readRecords(t, filepath.Join(examples, d, "flows.jsonl"))
	js := judgeAll(c, recs)
	checkOracle(t, c, recs, js)
	for i := range recs {
		want := NoChange
		if recs[i].Src.String() == "198.51.100.20" {
			want = NewlyAllowed
		}
		if js[i].Change != want || (want != NoChange && js[i].Attribution != "sg-bp1ex4mpl3sg0000009/ingress/1") {
			t.Errorf("%s: %q by %q, want %q", recs[i].Src, js[i].Change, js[i].Attribution, want)
		}
	}
	rep := report(c, recs)
	if len(rep.Exposed) != 1 || rep.Exposed[0].Port != 22 || rep.Exposed[0].Sources[0] != "198.51.100.20" {
		t.Errorf("exposed: %+v", rep.Exposed)
	}
}

// elasticScenario writes rule-set listings (office set not associated /
// associated) and bindings, and flows of five clients to the deployment on
// 9200.
func elasticScenario(t testing.TB) (cur, prop []string, flows string) {
	dir := t.TempDir()
	set := func(assoc string) string {
		return `{"rulesets": [{"id": "aa11bb22cc33dd44ee55ff6677889900", "name": "office", "type": "ip", "region": "us-east-1",
  "include_by_default": false, "rules": [{"id": "r1", "source": "203.0.113.0/24"}, {"id": "r2", "source": "198.51.100.64/26"}],
  "associations": [` + assoc + `], "total_associations": 0}]}`
	}
	w := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bind := w("bindings.yaml", "elastic_cloud:\n  deployments:\n    - id: 0f0e0d0c0b0a09080706050403020100\n      addresses: [34.200.1.2]\n")
	cur = []string{w("current.json", set("")), bind}
	prop = []string{w("proposed.json", set(`{"entity_type": "deployment", "id": "0f0e0d0c0b0a09080706050403020100"}`)), bind}
	var b strings.Builder
	clients := []string{"203.0.113.5", "203.0.113.77", "198.51.100.70", "198.51.100.9", "192.0.2.44"}
	for i, c := range clients {
		for k := 0; k < 3; k++ {
			start := 1763800000 + int64(i*600+k*3600)
			fmt.Fprintf(&b, `{"start":%d,"end":%d,"src":"%s","dst":"34.200.1.2","sport":%d,"dport":9200,"proto":6,"packets":10,"bytes":%d,"action":"","direction":"","iface":"","tcp_flags":2,"source":"pcap"}`+"\n",
				start, start+30, c, 40000+i*10+k, 1000*(i+1))
			fmt.Fprintf(&b, `{"start":%d,"end":%d,"src":"34.200.1.2","dst":"%s","sport":9200,"dport":%d,"proto":6,"packets":8,"bytes":%d,"action":"","direction":"","iface":"","tcp_flags":18,"source":"pcap"}`+"\n",
				start, start+30, c, 40000+i*10+k, 5000*(i+1))
		}
	}
	return cur, prop, w("flows.jsonl", b.String())
}

// TestElasticAssociateCutsOff: associating a traffic filter turns
// allow-everything into deny-everything-else: the clients of 9200 outside
// the set's rules are cut off, attributed to the association.
func TestElasticAssociateCutsOff(t *testing.T) {
	cur, prop, flows := elasticScenario(t)
	c := compare(t, cur, prop)
	recs := readRecords(t, flows)
	js := judgeAll(c, recs)
	checkOracle(t, c, recs, js)
	assoc := "association:aa11bb22cc33dd44ee55ff6677889900->deployment:0f0e0d0c0b0a09080706050403020100"
	cut := map[string]bool{}
	for i := range recs {
		if js[i].Change == NewlyDenied {
			if js[i].Attribution != assoc {
				t.Errorf("attributed to %q", js[i].Attribution)
			}
			cut[recs[i].Src.String()] = true
		}
	}
	if len(cut) != 2 || !cut["198.51.100.9"] || !cut["192.0.2.44"] {
		t.Errorf("cut off: %v, want 198.51.100.9 and 192.0.2.44", cut)
	}
	rep := report(c, recs)
	// Replies are admitted by the filter either way: only the 6 openers.
	if rep.NewlyDenied.Flows != 6 || rep.NewlyDenied.Peers != 2 || rep.NewlyDenied.Connections != 2 {
		t.Errorf("newly denied %+v", rep.NewlyDenied)
	}
	for _, g := range rep.Denied {
		if g.DstPort != 9200 || g.Dst != "34.200.1.2" {
			t.Errorf("denied group %+v", g)
		}
	}
	if len(rep.ByChange) != 1 || rep.ByChange[0].ID != assoc || rep.ByChange[0].Status != Binding {
		t.Errorf("by change %+v", rep.ByChange)
	}
	hours := map[int64]bool{}
	for i := range recs {
		if js[i].Change == NewlyDenied {
			hours[recs[i].Start/3600*3600] = true
		}
	}
	var sum int64
	for _, p := range rep.Timeline {
		if !hours[p.Start] {
			t.Errorf("timeline point at %d: no denied record started in that hour", p.Start)
		}
		sum += p.DeniedFlows
	}
	if len(rep.Timeline) != len(hours) || sum != 6 {
		t.Errorf("timeline: %d points, %d flows; want %d points, 6 flows", len(rep.Timeline), sum, len(hours))
	}
}

// TestAggregateMatchesPerFlow: the streaming report counts exactly the
// per-flow changes on the bundled scenario (flows of all kinds, replies).
func TestAggregateMatchesPerFlow(t *testing.T) {
	edit := writeFile(t, "edit.yaml", `flowsift_policy_edit: 1
edits:
  - change: acl-0public000000001/ingress/130
    ports: ["32768-65535"]
  - change: acl-0data0000000001/egress/100
    ports: ["1024-65535"]
  - remove: acl-0public000000001/ingress/90
`)
	c := compare(t, bundledPolicy, []string{edit})
	recs := readRecords(t, bundledFlows...)
	js := judgeAll(c, recs)
	checkOracle(t, c, recs, js)
	var want [2]int64
	for i := range js {
		switch js[i].Change {
		case NewlyDenied:
			want[0]++
		case NewlyAllowed:
			want[1]++
		}
	}
	rep := report(c, recs)
	if got := [2]int64{rep.NewlyDenied.Flows, rep.NewlyAllowed.Flows}; got != want {
		t.Errorf("report denied/allowed %v, per-flow %v", got, want)
	}
	if want[0]+want[1] == 0 {
		t.Error("the edit changes nothing on the scenario")
	}
	if rep.Totals.Flows != int64(len(recs)) {
		t.Errorf("totals %d flows, %d records", rep.Totals.Flows, len(recs))
	}
}

func TestEditErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"flowsift_policy_edit: 1\nedits:\n  - remove: nope/ingress/1\n", "edit.yaml:3: edits[0]: remove: no rule \"nope/ingress/1\""},
		{"flowsift_policy_edit: 2\nedits: []\n", "unsupported version 2"},
		{"flowsift_policy_edit: 1\nedits:\n  - add: {id: x/1, action: allow}\n    direction: ingress\n", "scope"},
		{"flowsift_policy_edit: 1\nedits:\n  - change: sg-0web0000000000001/ingress/0\n    ports: [\"99999\"]\n", "bad port"},
		{"flowsift_policy_edit: 1\nedits:\n  - remove: a\n    bogus: 1\n", "bogus"},
	} {
		p := writeFile(t, "edit.yaml", c.text)
		_, _, err := LoadSets(bundledPolicy, []string{p})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.text, err, c.want)
		}
	}
	// Mixing an edit with full files is refused.
	p := writeFile(t, "edit.yaml", "flowsift_policy_edit: 1\nedits: []\n")
	if _, _, err := LoadSets(bundledPolicy, []string{p, bundledPolicy[0]}); err == nil {
		t.Error("edit mixed with a full file accepted")
	}
	if _, err := load.Files([]string{p}); err == nil {
		t.Error("an edit file loads as a policy")
	}
}

// TestPortBounds: replacing a port by its interval's lowest port keeps
// every verdict (the ClickHouse query relies on it).
func TestPortBounds(t *testing.T) {
	c := compare(t, bundledPolicy, []string{writeFile(t, "e.yaml", "flowsift_policy_edit: 1\nedits:\n  - change: acl-0data0000000001/egress/100\n    ports: [\"1024-65535\"]\n")})
	bounds := PortBounds(c.Before, c.After)
	rep := func(p uint16) uint16 {
		r := bounds[0]
		for _, b := range bounds {
			if b <= p {
				r = b
			}
		}
		return r
	}
	recs := readRecords(t, bundledFlows...)
	js := judgeAll(c, recs)
	ix := verdict.NewReplyIndex(recs)
	var j Judgment
	n := 0
	for i := range recs {
		r := recs[i]
		rp := ix.Detect(i)
		if rp.Reply {
			r.DstPort = rep(r.DstPort)
		} else {
			r.SrcPort = rep(r.SrcPort)
		}
		c.Judge(&r, rp, &j)
		if j.Before.Verdict != js[i].Before.Verdict || j.After.Verdict != js[i].After.Verdict {
			t.Errorf("record %d: port representative changes the verdict", i)
		}
		if r.SrcPort != recs[i].SrcPort || r.DstPort != recs[i].DstPort {
			n++
		}
	}
	if n == 0 {
		t.Error("no port was replaced")
	}
}
