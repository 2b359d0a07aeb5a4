package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// storedSummaryJSON is the part of the JSON summary that report and analyze must
// agree on.
type storedSummaryJSON struct {
	Records   int64                      `json:"records"`
	Packets   int64                      `json:"packets"`
	Bytes     int64                      `json:"bytes"`
	Verdicts  map[string]json.RawMessage `json:"verdicts"`
	Findings  map[string]json.RawMessage `json:"findings"`
	Offenders map[string]json.RawMessage `json:"offenders"`
	Extra     struct {
		Rules struct {
			Rules []struct {
				ID                      string
				Records, Packets, Bytes int64
				First                   int64 `json:"first_start"`
			} `json:"rules"`
			Unused         []struct{ ID string } `json:"unused"`
			ShadowedConfig []struct{ ID string } `json:"shadowed_config"`
			Redundant      []struct{ ID string } `json:"redundant"`
			Written        int                   `json:"written_rules"`
			Used           int                   `json:"used_written_rules"`
		} `json:"rules"`
		Unavailable map[string]string `json:"rules_unavailable"`
		Policies    []string          `json:"policies"`
	} `json:"extra"`
}

// TestReportMatchesAnalyze: after analyze --store on the examples, report
// over all time prints the same summary as analyze itself (counts,
// verdicts, findings, worst offenders, rule hits, unused / shadowed /
// redundant rules with --policy), read from the rollups.
func TestReportMatchesAnalyze(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("CLICKHOUSE_PASSWORD", "")
	db := chsrv.NewDatabase(t)
	url := chsrv.URL(db)
	args := append(append([]string{"analyze", "-q", "--store", url, "--format", "json", "--top", "5"}, storePolicy...), storeInputs...)
	code, out, errs := flowsCLI(t, "", args...)
	if code != exitOK {
		t.Fatalf("analyze --store: exit %d\n%s", code, errs)
	}
	var want storedSummaryJSON
	if err := json.Unmarshal([]byte(out), &want); err != nil {
		t.Fatal(err)
	}
	if want.Records == 0 || len(want.Findings) == 0 || len(want.Extra.Rules.Rules) == 0 || len(want.Extra.Rules.Unused) == 0 {
		t.Fatalf("the examples exercise too little: %+v", want)
	}
	code, out, errs = flowsCLI(t, "", append([]string{"report", "--from", url, "--since", "2000-01-01", "--format", "json", "--top", "5"}, storePolicy...)...)
	if code != exitOK {
		t.Fatalf("report: exit %d\n%s", code, errs)
	}
	if errs != "" {
		t.Errorf("report wrote to stderr: %s", errs)
	}
	var got storedSummaryJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.Records != want.Records || got.Packets != want.Packets || got.Bytes != want.Bytes {
		t.Errorf("totals %d/%d/%d, analyze %d/%d/%d", got.Records, got.Packets, got.Bytes, want.Records, want.Packets, want.Bytes)
	}
	for name, pair := range map[string][2]any{"verdicts": {got.Verdicts, want.Verdicts}, "findings": {got.Findings, want.Findings}, "offenders": {got.Offenders, want.Offenders}} {
		g, _ := json.Marshal(pair[0])
		w, _ := json.Marshal(pair[1])
		if string(g) != string(w) {
			t.Errorf("%s:\n report %s\nanalyze %s", name, g, w)
		}
	}
	gr, wr := got.Extra.Rules, want.Extra.Rules
	if len(gr.Rules) != len(wr.Rules) {
		t.Errorf("%d rules with hits, analyze %d", len(gr.Rules), len(wr.Rules))
	}
	for i := range min(len(gr.Rules), len(wr.Rules)) {
		g, w := gr.Rules[i], wr.Rules[i]
		if g.ID != w.ID || g.Records != w.Records || g.Packets != w.Packets || g.Bytes != w.Bytes || g.First != w.First/60*60 {
			t.Errorf("rule %d: %+v, analyze %+v (first start to the minute)", i, g, w)
		}
	}
	if !reflect.DeepEqual(gr.Unused, wr.Unused) || !reflect.DeepEqual(gr.ShadowedConfig, wr.ShadowedConfig) || !reflect.DeepEqual(gr.Redundant, wr.Redundant) ||
		gr.Written != wr.Written || gr.Used != wr.Used {
		t.Errorf("policy sections differ:\n report %+v\nanalyze %+v", gr, wr)
	}
	if _, ok := got.Extra.Unavailable["overly_broad"]; !ok || len(got.Extra.Unavailable) != 2 {
		t.Errorf("rules_unavailable %v, want shadowed_observed and overly_broad", got.Extra.Unavailable)
	}
	policyID, _ := policySnapshotID([]string{storePolicy[1], storePolicy[3], storePolicy[5]})
	if !reflect.DeepEqual(got.Extra.Policies, []string{policyID}) {
		t.Errorf("policies %v, want [%s]", got.Extra.Policies, policyID)
	}

	// Without --policy: hits only, and the table says what is missing.
	code, out, errs = flowsCLI(t, "", "report", "--from", url, "--since", "2000-01-01")
	if code != exitOK {
		t.Fatalf("report (table): exit %d\n%s", code, errs)
	}
	for _, s := range []string{"records starting 2000-01-01 00:00 to now", "Worst offenders: ", "Top rules by hits (unused rules need --policy)",
		"Unused rules (no hit): needs the policy", "Overly broad allow rules: not available from the store"} {
		if !strings.Contains(out, s) {
			t.Errorf("table output lacks %q:\n%s", s, out)
		}
	}
	// A range without records.
	code, out, _ = flowsCLI(t, "", "report", "--from", url, "--since", "1h", "--format", "markdown")
	if code != exitOK || !strings.Contains(out, "0 record(s)") || !strings.HasPrefix(out, "## ") {
		t.Errorf("empty range: exit %d\n%s", code, out)
	}
}

func TestReportUsage(t *testing.T) {
	for _, args := range [][]string{
		{"report"},
		{"report", "--from", "clickhouse://h/db", "--since", "yesterday"},
		{"report", "--from", "clickhouse://h/db", "--format", "csv"},
		{"report", "--from", "clickhouse://h/db", "--since", "1h", "--until", "2h"},
		{"report", "--from", "clickhouse://h/db", "extra"},
	} {
		if code, _, _ := flowsCLI(t, "", args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	// An unreachable store fails with exitFailure and never shows a password.
	code, out, errs := flowsCLI(t, "", "report", "--from", "clickhouse://default:pw@127.0.0.1:1/x")
	if code == exitOK || strings.Contains(out+errs, "pw@") {
		t.Errorf("password URL: exit %d %s", code, errs)
	}
	code, _, errs = flowsCLI(t, "", "report", "--from", "clickhouse://default@127.0.0.1:1/x", "--timeout", "3s")
	if code != exitFailure {
		t.Errorf("unreachable store: exit %d %s", code, errs)
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 11, 23, 20, 30, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"24h":                  now.Add(-24 * time.Hour),
		"7d":                   now.Add(-7 * 24 * time.Hour),
		"90m":                  now.Add(-90 * time.Minute),
		"2026-11-01":           time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		"2026-11-01T08:00:00Z": time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC),
	} {
		got, err := parseWhen(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: %v %v, want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1h", "7days", "d", "tomorrow"} {
		if _, err := parseWhen(bad, now); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
