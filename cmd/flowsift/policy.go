package main

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/analyze/policy/load"
	"github.com/flowsift/flowsift/analyze/policy/native"
	"github.com/flowsift/flowsift/storage/flowtext"
)

const policyHelp = `Usage: flowsift policy show --policy FILE... [--format yaml|table]

Load policy files (AWS, Alibaba Cloud, Elastic, flowsift YAML; detected by
content, mixed freely) and print the model flowsift judges records with: every
scope (interface, deployment, node), its layers, and every rule in evaluation
order with its id. No traffic is read.

--format yaml prints flowsift's native policy YAML: edit it, keep it in
version control, and pass it back with --policy; it gives the same decisions
as the provider files it came from.

Examples:
  # what does flowsift make of these AWS outputs?
  flowsift policy show --policy sg.json,nacl.json,eni.json

  # convert to one reviewable file and analyze with it
  flowsift policy show --policy sg.json,nacl.json,eni.json --format yaml > policy.yaml
  flowsift analyze --policy policy.yaml flows.log.gz

An invalid policy file exits with status 2; the message names the file and
the JSON path.

Flags:
`

func runPolicy(e *env, args []string) int {
	if len(args) == 0 || (args[0] != "show" && !strings.HasPrefix(args[0], "-")) {
		if len(args) > 0 {
			return usageError(e, "policy", "unknown subcommand %q (want show)", args[0])
		}
		return usageError(e, "policy", "no subcommand given (want show)")
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
	set, err := load.Files(*policies)
	if err != nil {
		fmt.Fprintf(e.stderr, "flowsift policy: %v\n", err)
		return exitUsage
	}
	for _, w := range set.Warnings {
		fmt.Fprintf(e.stderr, "flowsift policy: warning: %s\n", w)
	}
	w := bufio.NewWriter(e.stdout)
	if *format == "yaml" {
		err = native.Write(w, set)
	} else {
		err = writePolicyTable(w, set)
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "flowsift policy: %v\n", err)
		return exitFailure
	}
	return exitOK
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
