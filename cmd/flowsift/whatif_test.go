package main

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/flowsift/flowsift/flowlog/input"
)

const wiExamples = "../../../shared/reference/samples/policy/examples"

func exPolicy(dir string, names ...string) string {
	var out []string
	for _, n := range names {
		out = append(out, filepath.Join(wiExamples, dir, n))
	}
	return strings.Join(out, ",")
}

var bundledPolicyCSV = strings.Join([]string{storePolicy[1], storePolicy[3], storePolicy[5]}, ",")

func tempFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// whatifScenario is one what-if case run from files and from ClickHouse.
type whatifScenario struct {
	name              string
	current, proposed string
	inputs            []string
	denied, allowed   bool   // some flow must be newly denied / allowed
	change            string // the change the first by_change entry must name
}

func scenarios(t *testing.T) []whatifScenario {
	sgEdit := tempFile(t, "sg-edit.yaml", `flowsift_policy_edit: 1
edits:
  - change: sg-0web0000000000001/ingress/0
    remote: [10.0.0.0/8]
  - remove: sg-0app0000000000001/ingress/1
`)
	naclEdit := tempFile(t, "nacl-edit.yaml", `flowsift_policy_edit: 1
edits:
  - remove: acl-01a2b3c4d5e6f7001/ingress/100
  - add: {id: acl-01a2b3c4d5e6f7001/ingress/150, action: deny, proto: 6, ports: ["22"], remote: [203.0.113.0/24], priority: 150}
    scope: acl-01a2b3c4d5e6f7001
    direction: ingress
`)
	aliEdit := tempFile(t, "ali-edit.yaml", `flowsift_policy_edit: 1
edits:
  - change: sg-bp1ex4mpl3sg0000009/ingress/1
    priority: 2
`)
	nacl := exPolicy("01-aws-nacl-rule-order", "describe-security-groups.json", "describe-network-acls.json", "describe-network-interfaces.json")
	ali := exPolicy("09-ali-drop-beats-accept", "describe-network-interfaces.json", "describe-security-group-attribute.sg-bp1ex4mpl3sg0000009.json", "describe-security-groups.json")
	e12 := "12-ec-associate-ruleset"
	return []whatifScenario{
		{"aws-security-group", bundledPolicyCSV, sgEdit, storeInputs, true, false, "sg-0web0000000000001/ingress/0"},
		{"aws-nacl", nacl, naclEdit, []string{filepath.Join(wiExamples, "01-aws-nacl-rule-order", "flows.jsonl")}, true, true, ""},
		{"alibaba", ali, aliEdit, []string{filepath.Join(wiExamples, "09-ali-drop-beats-accept", "flows.jsonl")}, false, true, "sg-bp1ex4mpl3sg0000009/ingress/1"},
		{"elastic-associate", exPolicy(e12, "current/traffic-filter-rulesets.json", "bindings.yaml"),
			exPolicy(e12, "proposed/traffic-filter-rulesets.json", "bindings.yaml"), []string{filepath.Join(wiExamples, e12, "flows.jsonl")},
			true, false, "association:c1a2b3d4e5f6a7b8c9d0e1f2a3b4c5d6->deployment:0a1b2c3d4e5f60718293a4b5c6d7e8f9"},
	}
}

type reportJSON struct {
	Totals struct {
		Flows int64 `json:"flows"`
	} `json:"totals"`
	NewlyDenied  summaryJ `json:"newly_denied"`
	NewlyAllowed summaryJ `json:"newly_allowed"`
	ByChange     []struct {
		ID string `json:"id"`
	} `json:"by_change"`
	Diff []struct {
		ID   string `json:"id"`
		Safe bool   `json:"safe"`
	} `json:"diff"`
}

type summaryJ struct {
	Connections int   `json:"connections"`
	Flows       int64 `json:"flows"`
	Bytes       int64 `json:"bytes"`
	Peers       int   `json:"distinct_peers"`
	Last        int64 `json:"last_seen"`
}

func runReport(t *testing.T, args ...string) reportJSON {
	t.Helper()
	code, out, errs := flowsCLI(t, "", append([]string{"whatif", "-q", "--format", "json"}, args...)...)
	if code != exitOK {
		t.Fatalf("whatif %v: exit %d\n%s", args, code, errs)
	}
	var r reportJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return r
}

// perFlowChanges runs --per-flow --format jsonl and counts the changes.
func perFlowChanges(t *testing.T, s whatifScenario) (denied, allowed int64) {
	args := append([]string{"whatif", "-q", "--per-flow", "--format", "jsonl", "--current", s.current, "--proposed", s.proposed}, s.inputs...)
	code, out, errs := flowsCLI(t, "", args...)
	if code != exitOK {
		t.Fatalf("%s: per-flow exit %d\n%s", s.name, code, errs)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%s: %v: %s", s.name, err, line)
		}
		for _, k := range []string{"src", "dst", "sport", "dport", "proto", "start", "before", "after", "change"} {
			if _, ok := r[k]; !ok {
				t.Fatalf("%s: per-flow record lacks %q: %s", s.name, k, line)
			}
		}
		switch r["change"] {
		case "newly-denied":
			denied++
			if r["before"] != "accept" || r["after"] != "reject" {
				t.Errorf("%s: %s", s.name, line)
			}
		case "newly-allowed":
			allowed++
			if r["before"] != "reject" || r["after"] != "accept" {
				t.Errorf("%s: %s", s.name, line)
			}
		}
	}
	return
}

// TestWhatifFiles: every scenario from files; the report agrees with the
// per-flow output, --fail-on gates.
func TestWhatifFiles(t *testing.T) {
	for _, s := range scenarios(t) {
		t.Run(s.name, func(t *testing.T) {
			rep := runReport(t, append([]string{"--current", s.current, "--proposed", s.proposed}, s.inputs...)...)
			d, a := perFlowChanges(t, s)
			if rep.NewlyDenied.Flows != d || rep.NewlyAllowed.Flows != a {
				t.Errorf("report denied/allowed %d/%d, per-flow %d/%d", rep.NewlyDenied.Flows, rep.NewlyAllowed.Flows, d, a)
			}
			if (d > 0) != s.denied || (a > 0) != s.allowed {
				t.Errorf("denied %d allowed %d; want denied %v allowed %v", d, a, s.denied, s.allowed)
			}
			if s.change != "" && (len(rep.ByChange) == 0 || rep.ByChange[0].ID != s.change) {
				t.Errorf("by_change %+v, want %s first", rep.ByChange, s.change)
			}
			for change, want := range map[string]bool{"newly-denied": s.denied, "newly-allowed": s.allowed} {
				args := append([]string{"whatif", "-q", "--fail-on", change, "--current", s.current, "--proposed", s.proposed}, s.inputs...)
				code, _, errs := flowsCLI(t, "", args...)
				if wantCode := map[bool]int{true: exitUnusable, false: exitOK}[want]; code != wantCode {
					t.Errorf("--fail-on %s: exit %d, want %d\n%s", change, code, wantCode, errs)
				}
			}
		})
	}
}

// TestWhatifFromClickHouse: each scenario's flows stored with analyze
// --store, then whatif --from: the SQL-deduplicated report equals the one
// from files.
func TestWhatifFromClickHouse(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("CLICKHOUSE_PASSWORD", "")
	for _, s := range scenarios(t) {
		t.Run(s.name, func(t *testing.T) {
			db := chsrv.NewDatabase(t)
			args := append([]string{"analyze", "-q", "--store", chsrv.URL(db), "--policy", s.current}, s.inputs...)
			if code, _, errs := flowsCLI(t, "", args...); code != exitOK {
				t.Fatalf("analyze --store: exit %d\n%s", code, errs)
			}
			files := runReport(t, append([]string{"--current", s.current, "--proposed", s.proposed}, s.inputs...)...)
			ch := runReport(t, "--current", s.current, "--proposed", s.proposed, "--from", chsrv.URL(db), "--since", "0")
			if ch.Totals.Flows != files.Totals.Flows {
				t.Errorf("clickhouse: %d flows, files %d", ch.Totals.Flows, files.Totals.Flows)
			}
			if ch.NewlyDenied != files.NewlyDenied || ch.NewlyAllowed != files.NewlyAllowed {
				t.Errorf("clickhouse denied %+v allowed %+v\n     files denied %+v allowed %+v", ch.NewlyDenied, ch.NewlyAllowed, files.NewlyDenied, files.NewlyAllowed)
			}
			if fmt.Sprint(ch.ByChange) != fmt.Sprint(files.ByChange) {
				t.Errorf("by_change: clickhouse %v, files %v", ch.ByChange, files.ByChange)
			}
			// A window that ends before the data: nothing.
			empty := runReport(t, "--current", s.current, "--proposed", s.proposed, "--from", chsrv.URL(db), "--since", "1h")
			if empty.Totals.Flows != 0 {
				t.Errorf("--since 1h: %d flows of 2025 data", empty.Totals.Flows)
			}
		})
	}
}

func TestWhatifFormatsAndErrors(t *testing.T) {
	s := scenarios(t)[0]
	base := append([]string{"whatif", "-q", "--current", s.current, "--proposed", s.proposed}, s.inputs...)
	code, out, _ := flowsCLI(t, "", base...)
	if code != exitOK || !strings.Contains(out, "Newly denied connections (would break)") || !strings.Contains(out, "unobserved (safe)") {
		t.Errorf("table: exit %d\n%s", code, out)
	}
	code, out, _ = flowsCLI(t, "", append(base, "--format", "markdown")...)
	if code != exitOK || !strings.Contains(out, "### By rule change") {
		t.Errorf("markdown: exit %d\n%s", code, out)
	}
	html := filepath.Join(t.TempDir(), "r.html")
	code, _, errs := flowsCLI(t, "", append(base, "--format", "html", "-o", html)...)
	b, _ := os.ReadFile(html)
	if code != exitOK || !strings.Contains(string(b), `id="denied-flows"`) {
		t.Errorf("html: exit %d %s", code, errs)
	}
	for _, bad := range [][]string{
		{"whatif", "--current", s.current, s.inputs[0]},
		{"whatif", "--current", s.current, "--proposed", s.proposed, "--format", "jsonl", s.inputs[0]},
		{"whatif", "--current", s.current, "--proposed", s.proposed, "--fail-on", "exposure", s.inputs[0]},
		{"whatif", "--current", s.current, "--proposed", tempFile(t, "bad.yaml", "flowsift_policy_edit: 1\nedits:\n  - remove: nope\n"), s.inputs[0]},
		{"whatif", "--current", s.current, "--proposed", s.proposed, "--from", "clickhouse://x@127.0.0.1:1/db", s.inputs[0]},
	} {
		if code, _, _ := flowsCLI(t, "", bad...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", bad, code, exitUsage)
		}
	}
	code, out, _ = flowsCLI(t, "", "whatif", "--help")
	if code != exitOK || !strings.Contains(out, "flowsift_policy_edit") {
		t.Errorf("help: %d", code)
	}
}

// TestWhatifSplitFile: a plain file large enough to be read in ranges by
// every CPU (input.RunParts) gives the report that the same bytes give
// through standard input, read whole — byte for byte, but the source.
func TestWhatifSplitFile(t *testing.T) {
	var block []byte
	err := filepath.WalkDir("../../examples/flowlogs/aws-s3", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(zr)
		block = append(block, b...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var text []byte
	for len(text) < input.MinSplit+len(block) {
		text = append(text, block...)
	}
	path := tempFile(t, "big.log", string(text))
	s := scenarios(t)[0]
	args := []string{"whatif", "-q", "--format", "json", "--current", s.current, "--proposed", s.proposed}
	code, fromFile, errs := flowsCLI(t, "", append(args, path)...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	code, fromStdin, errs := flowsCLI(t, string(text), append(args, "-")...)
	if code != exitOK {
		t.Fatalf("stdin: exit %d\n%s", code, errs)
	}
	fromFile = strings.Replace(fromFile, `"source": `+strconv.Quote(path), `"source": "-"`, 1)
	if fromFile != fromStdin {
		t.Fatalf("reports differ:\n%s\n%s", fromFile, fromStdin)
	}
	var r reportJSON
	if err := json.Unmarshal([]byte(fromFile), &r); err != nil {
		t.Fatal(err)
	}
	if r.Totals.Flows < int64(len(text)/len(block))*100 || r.NewlyDenied.Flows == 0 {
		t.Fatalf("totals %+v, newly denied %+v: the scenario judged too little", r.Totals, r.NewlyDenied)
	}
}
