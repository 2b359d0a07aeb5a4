package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/flowsift/flowsift/analyze/lint"
	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/analyze/policy/load"
	"github.com/flowsift/flowsift/analyze/policy/native"
	"github.com/flowsift/flowsift/storage/flowtext"
)

const policyHelp = `Usage: flowsift policy show --policy FILE... [--format yaml|table]
       flowsift policy lint --policy FILE... [--format table|json|markdown] [--fail-on SEVERITY]

Load policy files (AWS, Alibaba Cloud, Elastic, flowsift YAML; detected by
content, mixed freely) and print the model flowsift judges records with: every
scope (interface, deployment, node), its layers, and every rule in evaluation
order with its id. No traffic is read.

--format yaml prints flowsift's native policy YAML: edit it, keep it in
version control, and pass it back with --policy; it gives the same decisions
as the provider files it came from.

policy lint checks the configuration alone (reference/POLICY.md 5.3, 5.4,
8.1, 9): shadowed rules of network ACLs and Alibaba groups (earlier rules
cover the whole match space; error when their action is the opposite),
redundant rules, sensitive ports open to 0.0.0.0/0 or ::/0, network ACLs
whose outbound entries drop replies to client ports 1024-65535 for a service
the groups expose, groups no interface lists, and quotas (60 rules per group,
direction and family; 5 groups per interface; 20 NACL entries per direction
and family). Each finding names its rule ids, scope, severity (info, warning,
error) and a one-line fix. --format json prints an array of {severity,
check, scope, rules, message, fix}; with --fail-on SEVERITY lint exits with
status 1 when a finding of that severity or worse exists.

Examples:
  # what does flowsift make of these AWS outputs?
  flowsift policy show --policy sg.json,nacl.json,eni.json

  # convert to one reviewable file and analyze with it
  flowsift policy show --policy sg.json,nacl.json,eni.json --format yaml > policy.yaml
  flowsift analyze --policy policy.yaml flows.log.gz

  # CI gate on the configuration
  flowsift policy lint --policy sg.json,nacl.json,eni.json --fail-on error

An invalid policy file exits with status 2; the message names the file and
the JSON path.

Flags:
`

func runPolicy(e *env, args []string) int {
	if len(args) == 0 || (args[0] != "show" && args[0] != "lint" && !strings.HasPrefix(args[0], "-")) {
		if len(args) > 0 {
			return usageError(e, "policy", "unknown subcommand %q (want show or lint)", args[0])
		}
		return usageError(e, "policy", "no subcommand given (want show or lint)")
	}
	if args[0] == "lint" {
		return runPolicyLint(e, args[1:])
	}
	if args[0] == "show" {
		args = args[1:]
	}
	fs := pflag.NewFlagSet("policy", pflag.ContinueOnError)
	policies := fs.StringSlice("policy", nil, "policy file (repeatable, or comma-separated)")
	format := fs.String("format", "table", "output format: table or yaml")
	if done, st := parseFlags(e, fs, policyHelp, args); done {
		return st
	}
	if fs.NArg() > 0 {
		return usageError(e, "policy", "unexpected argument %q (policy files go with --policy)", fs.Arg(0))
	}
	if len(*policies) == 0 {
		return usageError(e, "policy", "no --policy file given")
	}
	if *format != "table" && *format != "yaml" {
		return usageError(e, "policy", "unknown --format %q (want table or yaml)", *format)
	}
	set, ok := loadPolicySet(e, *policies)
	if !ok {
		return exitUsage
	}
	w := bufio.NewWriter(e.stdout)
	var err error
	if *format == "yaml" {
		err = native.Write(w, set)
	} else {
		err = writePolicyTable(w, set)
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if err != nil && !errors.Is(err, syscall.EPIPE) { // | head is not a failure
		fmt.Fprintf(e.stderr, "flowsift policy: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// loadPolicySet loads the --policy files of a policy subcommand and prints
// their warnings; on an invalid file it prints the error and reports false.
func loadPolicySet(e *env, files []string) (*policy.Set, bool) {
	set, err := load.Files(files)
	if err != nil {
		fmt.Fprintf(e.stderr, "flowsift policy: %v\n", err)
		return nil, false
	}
	for _, w := range set.Warnings {
		fmt.Fprintf(e.stderr, "flowsift policy: warning: %s\n", w)
	}
	return set, true
}

func writePolicyTable(w *bufio.Writer, set *policy.Set) error {
	var srows [][]string
	for _, ifc := range set.Interfaces {
		var ls, as []string
		for _, l := range ifc.Layers {
			ls = append(ls, l.Name)
		}
		for _, a := range ifc.Addrs {
			as = append(as, a.String())
		}
		srows = append(srows, []string{ifc.Provider + " interface", ifc.ID, dashIfEmpty(strings.Join(as, ",")), dashIfEmpty(strings.Join(ls, ", "))})
	}
	for _, d := range set.Deployments {
		srows = append(srows, []string{"elastic-cloud deployment", d.ID, dashIfEmpty(policy.RemoteText(&policy.Rule{Remote: d.Addrs})), d.Layer.Name})
	}
	for _, n := range set.Nodes {
		var fs []string
		for _, f := range n.Filters {
			fs = append(fs, fmt.Sprintf("%d-%d→%s", f.Ports.Lo, f.Ports.Hi, f.Layer.Name))
		}
		addrs := "any"
		if len(n.Addrs) > 0 {
			addrs = policy.RemoteText(&policy.Rule{Remote: n.Addrs})
		}
		srows = append(srows, []string{"elasticsearch node", n.Name, addrs, strings.Join(fs, ", ")})
	}
	fmt.Fprintln(w, "Scopes")
	if err := flowtext.WriteTable(w, []string{"KIND", "ID", "ADDRESSES", "LAYERS"}, srows, nil); err != nil {
		return err
	}
	var rrows [][]string
	for _, l := range set.Layers() {
		for _, c := range []struct {
			dir policy.Dir
			ch  *policy.Chain
		}{{policy.Ingress, &l.In}, {policy.Egress, &l.Out}} {
			for _, r := range c.ch.Rules {
				note := r.Unknown
				if note == "" && r.RemoteUnknown != "" {
					note = "remote: " + r.RemoteUnknown
				}
				rrows = append(rrows, []string{l.Name, c.dir.String(), r.ID, r.Text, dashIfEmpty(note)})
			}
			d := c.ch.Default
			text := "default " + d.Action.String()
			if d.Action == 0 {
				text = "unknown (" + d.Reason + ")"
			}
			rrows = append(rrows, []string{l.Name, c.dir.String(), dashIfEmpty(d.ID), text, "-"})
		}
	}
	fmt.Fprintln(w, "\nRules (evaluation order per layer and direction)")
	return flowtext.WriteTable(w, []string{"LAYER", "DIR", "ID", "MATCH", "UNDECIDABLE"}, rrows, nil)
}

func runPolicyLint(e *env, args []string) int {
	fs := pflag.NewFlagSet("policy lint", pflag.ContinueOnError)
	policies := fs.StringSlice("policy", nil, "policy file (repeatable, or comma-separated)")
	format := fs.String("format", "table", "output format: table, json or markdown")
	failOn := fs.String("fail-on", "", "exit with status 1 when a finding of this severity or worse exists\n(info, warning, error)")
	if done, st := parseFlags(e, fs, policyHelp, args); done {
		return st
	}
	if fs.NArg() > 0 {
		return usageError(e, "policy", "unexpected argument %q (policy files go with --policy)", fs.Arg(0))
	}
	if len(*policies) == 0 {
		return usageError(e, "policy", "no --policy file given")
	}
	if *format != "table" && *format != "json" && *format != "markdown" {
		return usageError(e, "policy", "unknown --format %q for lint (want table, json or markdown)", *format)
	}
	threshold, gate := lint.Severity(0), *failOn != ""
	if gate {
		var ok bool
		if threshold, ok = lint.ParseSeverity(*failOn); !ok {
			return usageError(e, "policy", "unknown severity %q in --fail-on (want info, warning or error)", *failOn)
		}
	}
	set, ok := loadPolicySet(e, *policies)
	if !ok {
		return exitUsage
	}
	findings := lint.Run(set, lint.ReadInventory(*policies))
	w := bufio.NewWriter(e.stdout)
	err := writeLint(w, *format, findings)
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if err != nil && !errors.Is(err, syscall.EPIPE) {
		fmt.Fprintf(e.stderr, "flowsift policy: %v\n", err)
		return exitFailure
	}
	if gate {
		for _, f := range findings {
			if f.Severity >= threshold {
				return exitUnusable
			}
		}
	}
	return exitOK
}

func writeLint(w io.Writer, format string, findings []lint.Finding) error {
	if format == "json" {
		if findings == nil {
			findings = []lint.Finding{}
		}
		for i := range findings {
			if findings[i].Rules == nil {
				findings[i].Rules = []string{}
			}
		}
		b, err := json.MarshalIndent(findings, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	counts := [3]int{}
	var rows [][]string
	for _, f := range findings {
		counts[f.Severity]++
		rows = append(rows, []string{f.Severity.String(), f.Check, f.Scope, dashIfEmpty(strings.Join(f.Rules, " ")), f.Message, f.Fix})
	}
	header := []string{"SEVERITY", "CHECK", "SCOPE", "RULES", "FINDING", "FIX"}
	var err error
	if len(rows) > 0 {
		if format == "markdown" {
			err = writeMarkdown(w, header, rows)
		} else {
			err = flowtext.WriteTable(w, header, rows, nil)
		}
		if err != nil {
			return err
		}
	}
	_, err = fmt.Fprintf(w, "\n%d error(s), %d warning(s), %d info\n", counts[lint.Error], counts[lint.Warning], counts[lint.Info])
	return err
}
