package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const policyExamples = "../../../shared/reference/samples/policy/examples"

type exampleManifest struct {
	Examples []struct {
		Dir      string          `json:"dir"`
		Policy   []string        `json:"policy"`
		Current  []string        `json:"current"`
		Proposed []string        `json:"proposed"`
		Flows    string          `json:"flows"`
		Expected json.RawMessage `json:"expected"`
	} `json:"examples"`
}

// judged is the part of a per-flow row the examples fix.
type judged struct {
	Iface      string   `json:"iface"`
	Src        string   `json:"src"`
	Dst        string   `json:"dst"`
	Sport      int      `json:"sport"`
	Dport      int      `json:"dport"`
	Proto      int      `json:"proto"`
	Start      int64    `json:"start"`
	Verdict    string   `json:"verdict"`
	Rules      []string `json:"rules"`
	Finding    string   `json:"finding"`
	Reply      bool     `json:"reply"`
	ReplyBasis string   `json:"reply_basis"`
	Reason     *string  `json:"reason"`
	Why        string   `json:"why"`
}

func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	st := run(&env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}, args)
	return out.String(), errb.String(), st
}

func jsonLines(t *testing.T, s string) []judged {
	t.Helper()
	var rows []judged
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var j judged
		if err := json.Unmarshal(sc.Bytes(), &j); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		rows = append(rows, j)
	}
	return rows
}

// TestPolicyExamples runs `flowsift analyze --per-flow --format jsonl` on
// every worked example of POLICY.md 11 through the real input pipeline and
// compares every record with expected.jsonl (example 12: the current and
// the proposed policy).
func TestPolicyExamples(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(policyExamples, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m exampleManifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Examples) != 15 {
		t.Fatalf("%d examples, want 15", len(m.Examples))
	}
	for _, ex := range m.Examples {
		dir := filepath.Join(policyExamples, ex.Dir)
		type run struct {
			files    []string
			expected string
		}
		var runs []run
		if ex.Policy != nil {
			var e string
			if err := json.Unmarshal(ex.Expected, &e); err != nil {
				t.Fatal(err)
			}
			runs = append(runs, run{ex.Policy, e})
		} else {
			var e map[string]string
			if err := json.Unmarshal(ex.Expected, &e); err != nil {
				t.Fatal(err)
			}
			runs = append(runs, run{ex.Current, e["current"]}, run{ex.Proposed, e["proposed"]})
		}
		for _, r := range runs {
			t.Run(ex.Dir+"/"+r.expected, func(t *testing.T) {
				args := []string{"analyze", "--per-flow", "--format", "jsonl", "-q"}
				for _, p := range r.files {
					args = append(args, "--policy", filepath.Join(dir, p))
				}
				args = append(args, filepath.Join(dir, ex.Flows))
				out, stderr, st := runCLI(t, args...)
				if st != exitOK {
					t.Fatalf("exit %d: %s", st, stderr)
				}
				got := jsonLines(t, out)
				edata, err := os.ReadFile(filepath.Join(dir, r.expected))
				if err != nil {
					t.Fatal(err)
				}
				want := jsonLines(t, string(edata))
				if len(got) != len(want) {
					t.Fatalf("%d rows, want %d\n%s", len(got), len(want), out)
				}
				for i := range want {
					g, w := got[i], want[i]
					if g.Why == "" {
						t.Errorf("row %d: empty why", i)
					}
					g.Why, w.Why = "", ""
					if g.Rules == nil {
						g.Rules = []string{}
					}
					if w.Rules == nil {
						w.Rules = []string{}
					}
					if !reflect.DeepEqual(g, w) {
						t.Errorf("row %d:\n got  %+v\n want %+v", i, g, w)
					}
				}
			})
		}
	}
}

func TestAnalyzeFailOnAndUsage(t *testing.T) {
	dir := filepath.Join(policyExamples, "01-aws-nacl-rule-order")
	pol := strings.Join([]string{filepath.Join(dir, "describe-security-groups.json"),
		filepath.Join(dir, "describe-network-acls.json"), filepath.Join(dir, "describe-network-interfaces.json")}, ",")
	flows := filepath.Join(dir, "flows.jsonl")
	if _, _, st := runCLI(t, "analyze", "-q", "--policy", pol, "--fail-on", "violation", flows); st != exitUnusable {
		t.Errorf("--fail-on violation: exit %d, want %d", st, exitUnusable)
	}
	if _, _, st := runCLI(t, "analyze", "-q", "--policy", pol, "--fail-on", "unexpected-reject", flows); st != exitOK {
		t.Errorf("--fail-on unexpected-reject: exit %d, want 0", st)
	}
	if _, _, st := runCLI(t, "analyze", "--policy", pol, "--fail-on", "nonsense", flows); st != exitUsage {
		t.Errorf("bad finding: exit %d", st)
	}
	if _, _, st := runCLI(t, "analyze", flows); st != exitUsage {
		t.Errorf("no policy: exit %d", st)
	}
	out, _, st := runCLI(t, "analyze", "-q", "--policy", pol, "--format", "json", flows)
	if st != exitOK {
		t.Fatalf("summary json: exit %d", st)
	}
	var s struct {
		Records  int64 `json:"records"`
		Findings map[string]struct {
			Records int64 `json:"records"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if s.Records != 2 || s.Findings["violation"].Records != 1 || s.Findings["exposure"].Records != 1 {
		t.Errorf("summary: %+v", s)
	}
	// A broken policy names the file and the JSON path.
	bad := filepath.Join(t.TempDir(), "sg.json")
	os.WriteFile(bad, []byte(`{"SecurityGroups":[{"GroupId":"sg-1","IpPermissions":[{"IpProtocol":"tcp","FromPort":"x"}]}]}`), 0o644)
	_, stderr, st := runCLI(t, "analyze", "--policy", bad, flows)
	if st != exitUsage || !strings.Contains(stderr, bad) || !strings.Contains(stderr, "$.SecurityGroups[0].IpPermissions[0].FromPort") {
		t.Errorf("bad policy: exit %d, stderr %q", st, stderr)
	}
}

func TestPolicyShowYAMLRoundTrip(t *testing.T) {
	dir := filepath.Join(policyExamples, "07-aws-prefix-list-unknown")
	var pol []string
	for _, f := range []string{"describe-security-groups.json", "describe-network-acls.json", "describe-network-interfaces.json",
		"describe-managed-prefix-lists.json", "get-managed-prefix-list-entries.pl-0123456abcabcabc1.json"} {
		pol = append(pol, filepath.Join(dir, f))
	}
	out, stderr, st := runCLI(t, "policy", "show", "--format", "yaml", "--policy", strings.Join(pol, ","))
	if st != exitOK {
		t.Fatalf("exit %d: %s", st, stderr)
	}
	y := filepath.Join(t.TempDir(), "policy.yaml")
	os.WriteFile(y, []byte(out), 0o644)
	a, _, _ := runCLI(t, "analyze", "-q", "--per-flow", "--policy", strings.Join(pol, ","), filepath.Join(dir, "flows.jsonl"))
	b, _, _ := runCLI(t, "analyze", "-q", "--per-flow", "--policy", y, filepath.Join(dir, "flows.jsonl"))
	if a == "" || a != b {
		t.Errorf("native YAML judges differently:\n%s\n%s", a, b)
	}
	tab, _, st := runCLI(t, "policy", "show", "--policy", strings.Join(pol, ","))
	if st != exitOK || !strings.Contains(tab, "sg-07a2b3c4d5e6f7007/ingress/1") || !strings.Contains(tab, "prefix-list-entries-missing") {
		t.Errorf("table: %s", tab)
	}
}

// TestPerFlowJSONArray: --per-flow --format json is one JSON array holding
// exactly the objects --format jsonl prints, in the same order.
func TestPerFlowJSONArray(t *testing.T) {
	args := append([]string{"analyze", "-q", "--per-flow"}, storePolicy...)
	args = append(args, storeInputs...)
	lines, _, st := runCLI(t, append(args, "--format", "jsonl")...)
	if st != exitOK {
		t.Fatalf("jsonl: exit %d", st)
	}
	arr, _, st := runCLI(t, append(args, "--format", "json")...)
	if st != exitOK {
		t.Fatalf("json: exit %d", st)
	}
	var objs []json.RawMessage
	if err := json.Unmarshal([]byte(arr), &objs); err != nil {
		t.Fatalf("json output is not one array: %v", err)
	}
	want := strings.Split(strings.TrimSpace(lines), "\n")
	if len(objs) != len(want) || len(want) < 100 {
		t.Fatalf("%d objects in the array, %d lines of jsonl", len(objs), len(want))
	}
	for i := range want {
		if string(objs[i]) != want[i] {
			t.Fatalf("object %d differs:\n json  %s\n jsonl %s", i, objs[i], want[i])
		}
	}
}
