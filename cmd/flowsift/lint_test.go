package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

var demoPolicy = strings.Join([]string{
	filepath.Join("../../examples/policy/aws", "describe-security-groups.json"),
	filepath.Join("../../examples/policy/aws", "describe-network-acls.json"),
	filepath.Join("../../examples/policy/aws", "describe-network-interfaces.json")}, ",")

func TestPolicyLintCLI(t *testing.T) {
	out, errs, st := runCLI(t, "policy", "lint", "--policy", demoPolicy, "--format", "json")
	if st != 0 {
		t.Fatalf("status %d: %s", st, errs)
	}
	var fs []struct {
		Severity, Check, Scope, Message, Fix string
		Rules                                []string
	}
	if err := json.Unmarshal([]byte(out), &fs); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	checks := map[string]bool{}
	for _, f := range fs {
		checks[f.Check+" "+f.Scope] = true
	}
	if !checks["open-to-world sg-0bastion00000001"] || !checks["ephemeral-replies acl-0data0000000001"] {
		t.Errorf("findings %v", checks)
	}
	// --fail-on: error exists (SSH open to the world), so status 1.
	if _, _, st := runCLI(t, "policy", "lint", "--policy", demoPolicy, "--fail-on", "error"); st != 1 {
		t.Errorf("--fail-on error: status %d, want 1", st)
	}
	out, _, st = runCLI(t, "policy", "lint", "--policy", demoPolicy)
	if st != 0 || !strings.Contains(out, "SEVERITY") || !strings.Contains(out, "1 error(s)") {
		t.Errorf("table: status %d\n%s", st, out)
	}
	out, _, _ = runCLI(t, "policy", "lint", "--policy", demoPolicy, "--format", "markdown")
	if !strings.HasPrefix(out, "| SEVERITY |") {
		t.Errorf("markdown: %s", out)
	}
	if _, errs, st := runCLI(t, "policy", "lint", "--policy", demoPolicy, "--fail-on", "fatal"); st != 2 || !strings.Contains(errs, "fatal") {
		t.Errorf("bad severity: status %d %s", st, errs)
	}
	if _, _, st := runCLI(t, "policy", "bogus"); st != 2 {
		t.Errorf("unknown subcommand: status %d", st)
	}
}

// Example 01 has no error-level finding: --fail-on error passes.
func TestPolicyLintCleanGate(t *testing.T) {
	dir := filepath.Join(policyExamples, "01-aws-nacl-rule-order")
	p := strings.Join([]string{filepath.Join(dir, "describe-security-groups.json"), filepath.Join(dir, "describe-network-acls.json"),
		filepath.Join(dir, "describe-network-interfaces.json")}, ",")
	out, errs, st := runCLI(t, "policy", "lint", "--policy", p, "--fail-on", "error", "--format", "json")
	var fs []struct{ Severity string }
	json.Unmarshal([]byte(out), &fs)
	hasErr := false
	for _, f := range fs {
		hasErr = hasErr || f.Severity == "error"
	}
	if (st == 1) != hasErr || st > 1 {
		t.Errorf("status %d with findings %s %s", st, out, errs)
	}
}

func TestAnalyzeSummaryRuleStats(t *testing.T) {
	dir := filepath.Join(policyExamples, "02-aws-nacl-deny-before-allow")
	p := strings.Join([]string{filepath.Join(dir, "describe-security-groups.json"), filepath.Join(dir, "describe-network-acls.json"),
		filepath.Join(dir, "describe-network-interfaces.json")}, ",")
	out, errs, st := runCLI(t, "analyze", "-q", "--policy", p, "--format", "json", filepath.Join(dir, "flows.jsonl"))
	if st != 0 {
		t.Fatalf("status %d: %s", st, errs)
	}
	var s struct {
		Extra struct {
			Rules struct {
				Rules []struct {
					ID      string
					Records int64
				}
				Unused         []struct{ ID string }
				ShadowedConfig []struct {
					ID       string
					Covering []string
					Opposite bool `json:"opposite_action"`
				} `json:"shadowed_config"`
				WrittenRules int `json:"written_rules"`
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	r := s.Extra.Rules
	if len(r.Rules) != 2 || r.WrittenRules != 6 || len(r.Unused) != 5 {
		t.Errorf("rules %+v unused %d written %d", r.Rules, len(r.Unused), r.WrittenRules)
	}
	if len(r.ShadowedConfig) != 1 || r.ShadowedConfig[0].ID != "acl-02a2b3c4d5e6f7002/ingress/100" || !r.ShadowedConfig[0].Opposite {
		t.Errorf("shadowed %+v", r.ShadowedConfig)
	}
	for _, format := range []string{"table", "markdown"} {
		out, _, st := runCLI(t, "analyze", "-q", "--policy", p, "--format", format, filepath.Join(dir, "flows.jsonl"))
		for _, want := range []string{"Top rules by hits (1 of 6 written rules used)", "Unused rules", "Shadowed by configuration",
			"OPPOSITE ACTION", "Shadowed by observation", "Redundant", "Overly broad"} {
			if st != 0 || !strings.Contains(out, want) {
				t.Errorf("%s: status %d, no %q in\n%s", format, st, want, out)
			}
		}
	}
	// --per-flow output is unchanged by the statistics.
	out, _, _ = runCLI(t, "analyze", "--policy", p, "--per-flow", filepath.Join(dir, "flows.jsonl"))
	if strings.Contains(out, "Top rules") || len(jsonLines(t, out)) != 2 {
		t.Errorf("per-flow: %s", out)
	}
}
