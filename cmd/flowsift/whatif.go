package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/flowsift/flowsift/analyze/whatif"
	whtml "github.com/flowsift/flowsift/analyze/whatif/html"
	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/storage/clickhouse"
	"github.com/flowsift/flowsift/storage/flowtext"
)

func init() {
	registered = append(registered, command{"whatif", "compare a proposed policy with the current one over observed traffic", runWhatif})
}

const whatifHelp = `Usage: flowsift whatif --current FILE... --proposed FILE... [FLAGS] INPUT...
       flowsift whatif --current FILE... --proposed FILE... --from clickhouse://USER@HOST:PORT/DB [--since 30d]

Judge observed traffic under the current and a proposed policy
(reference/POLICY.md 10) before deploying the change: which flows would be
newly denied (would break: flows, bytes, distinct peers, last seen,
examples), which newly allowed (newly exposed: which sources reach which
ports), each attributed to the rule or binding change responsible (the
proposed rule if new or modified, else the current rule if removed or
modified, else an association, group-list or order change such as
association:<ruleset>->deployment:<id>). The report also has the rule-level
diff of the two policies, the changes no observed flow touches (a removed
rule that never matched is safe to remove), and, apart from what was
observed, the allowed (protocol, port, remote) space that the change opens
or closes per scope.

The proposed policy is either full policy files (any format analyze reads:
AWS, Alibaba Cloud, Elastic, flowsift YAML from 'policy show --format yaml',
edited) or edit files applied to the current policy:

  flowsift_policy_edit: 1
  edits:
    - remove: acl-0public000000001/ingress/120
    - change: sg-0web0000000000001/ingress/0
      remote: [10.0.0.0/8]
    - add: {id: acl-0public000000001/ingress/85, action: deny, proto: 6,
            ports: ["22"], remote: [0.0.0.0/0], priority: 85}
      scope: acl-0public000000001
      direction: ingress

Flows are deduplicated by (scope, direction, src, dst, dport, proto) with
replies folded onto their connection, each distinct flow judged once under
both policies. From files the records stream through a fixed-size key table;
from ClickHouse (--from, data stored by analyze --store) the deduplication
runs in SQL over the flow_keys aggregate and only distinct flows travel.

--per-flow prints one line per record instead (files only; reply detection
over all records exactly as analyze): the record's keys, then before and
after (verdicts), change (newly-denied, newly-allowed or ""; transitions
from or to unknown have change ""), attributed_to, rules_before and
rules_after.

Examples:
  # would tightening SSH on the public NACL break anything?
  flowsift whatif --current sg.json,nacl.json,eni.json --proposed edit.yaml flowlogs/

  flowsift whatif --current sg.json,nacl.json,eni.json \
      --proposed sg-new.json,nacl.json,eni.json --format html -o report.html flowlogs/

  # deployment gate: fail when the change denies anything seen in 30 days
  flowsift whatif --current cur/ --proposed new.yaml \
      --from clickhouse://default@ch:9000/flowsift --since 30d --fail-on newly-denied

  # Elastic: what would associating a traffic filter cut off?
  flowsift whatif --current rulesets.json,bindings.yaml \
      --proposed rulesets-associated.json,bindings.yaml --per-flow capture.pcap

Besides the statuses below, whatif exits with 1 when --fail-on matched, and
with 2 when a policy or edit file is invalid.

Flags:
`

func runWhatif(e *env, args []string) int {
	fs := pflag.NewFlagSet("whatif", pflag.ContinueOnError)
	var in inputFlags
	in.register(fs)
	current := fs.StringSlice("current", nil, "current policy file (repeatable, or comma-separated)")
	proposed := fs.StringSlice("proposed", nil, "proposed policy: full policy files or flowsift_policy_edit files")
	from := fs.String("from", "", "read stored flows from ClickHouse instead of files:\nclickhouse://USER@HOST:PORT/DB (password from $CLICKHOUSE_PASSWORD or --password-file)")
	since := fs.String("since", "30d", "with --from: flows that started within this period (e.g. 30d, 12h, 90m; 0 = all)")
	pwFile := fs.String("password-file", "", "file whose first line is the ClickHouse password (default: $CLICKHOUSE_PASSWORD)")
	format := fs.String("format", "", "report: table (default), json, markdown or html;\nwith --per-flow: jsonl (default), json or csv")
	out := fs.StringP("output", "o", "", "write the report to this file instead of standard output")
	perFlow := fs.Bool("per-flow", false, "one line per record with before, after and change (files only)")
	failOn := fs.StringSlice("fail-on", nil, "exit with status 1 when any flow is newly-denied and/or newly-allowed")
	top := fs.Int("top", 10, "connections listed per section, examples per change")
	if done, st := parseFlags(e, fs, whatifHelp, args); done {
		return st
	}
	if len(*current) == 0 || len(*proposed) == 0 {
		return usageError(e, "whatif", "both --current and --proposed are needed")
	}
	if *from == "" && fs.NArg() == 0 {
		return usageError(e, "whatif", "no input given (files, or --from clickhouse://…)")
	}
	if *from != "" && fs.NArg() > 0 {
		return usageError(e, "whatif", "give either input files or --from, not both")
	}
	if *from != "" && *perFlow {
		return usageError(e, "whatif", "--per-flow reads files; with --from the flows are deduplicated in ClickHouse")
	}
	if *format == "" {
		*format = "table"
		if *perFlow {
			*format = "jsonl"
		}
	}
	ok := map[string]bool{"table": !*perFlow, "json": true, "markdown": !*perFlow, "html": !*perFlow, "jsonl": *perFlow, "csv": *perFlow}
	if !ok[*format] {
		return usageError(e, "whatif", "unknown --format %q for %s", *format, map[bool]string{true: "--per-flow", false: "the report"}[*perFlow])
	}
	gate := map[whatif.Change]bool{}
	for _, f := range *failOn {
		switch c := whatif.Change(f); c {
		case whatif.NewlyDenied, whatif.NewlyAllowed:
			gate[c] = true
		default:
			return usageError(e, "whatif", "unknown change %q in --fail-on (want newly-denied or newly-allowed)", f)
		}
	}
	var window time.Duration
	if *from != "" {
		var err error
		if window, err = parsePeriod(*since); err != nil {
			return usageError(e, "whatif", "--since: %v", err)
		}
	}
	before, after, err := whatif.LoadSets(*current, *proposed)
	if err != nil {
		fmt.Fprintf(e.stderr, "flowsift whatif: %v\n", err)
		return exitUsage
	}
	for _, w := range before.Warnings {
		fmt.Fprintf(e.stderr, "flowsift whatif: warning: current: %s\n", w)
	}
	for _, w := range after.Warnings {
		fmt.Fprintf(e.stderr, "flowsift whatif: warning: proposed: %s\n", w)
	}
	cmp := whatif.NewComparison(before, after)

	var dst io.Writer = e.stdout
	var file *os.File
	if *out != "" {
		if file, err = os.Create(*out); err != nil {
			fmt.Fprintf(e.stderr, "flowsift whatif: %v\n", err)
			return exitFailure
		}
		defer file.Close()
		dst = file
	}
	w := bufio.NewWriterSize(dst, 256<<10)

	if *perFlow {
		return whatifPerFlow(e, &in, fs.Args(), cmp, w, file, *format, gate)
	}

	cmp.SpaceAhead() // policies only: computed while the traffic is read
	b := cmp.NewBuilder(*top)
	status := exitOK
	var source string
	if *from != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		q := clickhouse.WhatifQuery{Bounds: whatif.PortBounds(before, after)}
		if window > 0 {
			q.Since = time.Now().Add(-window)
			q.BucketWidth = timelineWidth(window)
		}
		start := time.Now()
		err = clickhouse.WhatifRows(ctx, *from, clickhouse.Options{PasswordFile: *pwFile}, q, b.Add)
		if err != nil {
			fmt.Fprintf(e.stderr, "flowsift whatif: %v\n", err)
			return exitFailure
		}
		t, _ := clickhouse.ParseURL(*from)
		source = t.String()
		if !in.quiet {
			fmt.Fprintf(e.stderr, "summary: %s distinct flow(s) from %s in %.1fs\n", group(b.Rows()), source, time.Since(start).Seconds())
		}
	} else {
		// A large plain file is parsed and aggregated by every CPU, a
		// range each, and the parts merged in input order; other inputs
		// are read on one goroutine beside the aggregation.
		parts, sum, err := readInputsParts(e, &in, fs.Args(), whatif.NewAggregator, (*whatif.Aggregator).Add)
		if err != nil {
			fmt.Fprintf(e.stderr, "flowsift whatif: %v\n", err)
			return exitFailure
		}
		agg := whatif.MergeAll(parts)
		b.AddAll(agg, runtime.GOMAXPROCS(0))
		if !in.quiet {
			printSummary(e.stderr, sum)
		}
		status = exitFor(sum)
		source = strings.Join(fs.Args(), " ")
	}
	rep := b.Report()
	rep.Source = source
	err = writeWhatif(w, *format, rep)
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		if errors.Is(err, syscall.EPIPE) {
			return exitOK
		}
		fmt.Fprintf(e.stderr, "flowsift whatif: writing the report: %v\n", err)
		return exitFailure
	}
	if file != nil {
		if err := file.Close(); err != nil {
			fmt.Fprintf(e.stderr, "flowsift whatif: %v\n", err)
			return exitFailure
		}
		if !in.quiet {
			fmt.Fprintf(e.stderr, "whatif: report written to %s\n", *out)
		}
	}
	if status != exitOK {
		return status
	}
	if (gate[whatif.NewlyDenied] && rep.NewlyDenied.Flows > 0) || (gate[whatif.NewlyAllowed] && rep.NewlyAllowed.Flows > 0) {
		return exitUnusable
	}
	return exitOK
}

// parsePeriod reads 30d, 12h, 90m, 45s (or a Go duration); 0 = unbounded.
func parsePeriod(s string) (time.Duration, error) {
	if s == "0" || s == "" {
		return 0, nil
	}
	if n, err := strconv.Atoi(strings.TrimSuffix(s, "d")); err == nil && strings.HasSuffix(s, "d") && n > 0 {
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a period (e.g. 30d, 12h)", s)
	}
	return d, nil
}

// timelineWidth keeps the timeline near 120 points: whole hours.
func timelineWidth(window time.Duration) int64 {
	h := int64(window.Hours()/120) + 1
	return h * 3600
}

func whatifPerFlow(e *env, in *inputFlags, args []string, cmp *whatif.Comparison, w *bufio.Writer, file *os.File,
	format string, gate map[whatif.Change]bool) int {
	var recs []flowlog.Record
	sum, err := readInputs(e, in, args, func(r *flowlog.Record) error {
		recs = append(recs, r.Clone())
		return nil
	})
	if err != nil {
		fmt.Fprintf(e.stderr, "flowsift whatif: %v\n", err)
		return exitFailure
	}
	js := make([]whatif.Judgment, len(recs))
	cmp.JudgeAll(recs, js)
	hit := false
	for i := range js {
		if gate[js[i].Change] {
			hit = true
		}
	}
	err = writeWhatifPerFlow(w, format, recs, js)
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if file != nil && err == nil {
		err = file.Close()
	}
	if !in.quiet {
		printSummary(e.stderr, sum)
	}
	if err != nil {
		if errors.Is(err, syscall.EPIPE) {
			return exitOK
		}
		fmt.Fprintf(e.stderr, "flowsift whatif: writing results: %v\n", err)
		return exitFailure
	}
	if st := exitFor(sum); st != exitOK {
		return st
	}
	if hit {
		return exitUnusable
	}
	return exitOK
}

func appendStrings(buf []byte, ss []string) []byte {
	buf = append(buf, '[')
	for i, s := range ss {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = flowlog.AppendJSONString(buf, s)
	}
	return append(buf, ']')
}

// appendWhatifJSON: the record's keys (flowlog.AppendJSON), then before,
// after, change, attributed_to, rules_before, rules_after.
func appendWhatifJSON(buf []byte, r *flowlog.Record, j *whatif.Judgment) []byte {
	buf = flowlog.AppendJSON(buf, r)
	buf = buf[:len(buf)-1]
	buf = append(buf, `,"before":"`...)
	buf = append(buf, j.Before.Verdict.String()...)
	buf = append(buf, `","after":"`...)
	buf = append(buf, j.After.Verdict.String()...)
	buf = append(buf, `","change":"`...)
	buf = append(buf, j.Change.PerFlow()...)
	buf = append(buf, `","attributed_to":`...)
	buf = flowlog.AppendJSONString(buf, j.Attribution)
	buf = append(buf, `,"rules_before":`...)
	buf = appendStrings(buf, j.Before.Rules)
	buf = append(buf, `,"rules_after":`...)
	buf = appendStrings(buf, j.After.Rules)
	return append(buf, '}')
}

func writeWhatifPerFlow(w io.Writer, format string, recs []flowlog.Record, js []whatif.Judgment) error {
	switch format {
	case "jsonl", "json":
		return writeJSONObjects(w, format == "json", len(recs), func(buf []byte, i int) []byte {
			return appendWhatifJSON(buf, &recs[i], &js[i])
		})
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write([]string{"start", "src", "sport", "dst", "dport", "proto", "direction", "iface", "before", "after", "change",
			"attributed_to", "rules_before", "rules_after"})
		for i := range recs {
			r, j := &recs[i], &js[i]
			cw.Write([]string{strconv.FormatInt(r.Start, 10), r.Src.String(), strconv.Itoa(int(r.SrcPort)), r.Dst.String(),
				strconv.Itoa(int(r.DstPort)), flowtext.ProtoName(r.Proto), r.Direction.String(), r.Iface,
				j.Before.Verdict.String(), j.After.Verdict.String(), string(j.Change.PerFlow()), j.Attribution,
				strings.Join(j.Before.Rules, " "), strings.Join(j.After.Rules, " ")})
		}
		cw.Flush()
		return cw.Error()
	}
	return fmt.Errorf("unknown format %q", format)
}

func writeWhatif(w io.Writer, format string, r *whatif.Report) error {
	switch format {
	case "json":
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	case "html":
		return whtml.Write(w, r)
	}
	md := format == "markdown"
	write := func(title string, header []string, rows [][]string, right []bool) error {
		if md {
			if _, err := io.WriteString(w, "\n### "+title+"\n\n"); err != nil {
				return err
			}
			if len(rows) == 0 {
				_, err := io.WriteString(w, "none\n")
				return err
			}
			return writeMarkdown(w, header, rows)
		}
		if len(rows) == 0 {
			_, err := io.WriteString(w, "\n"+title+": none\n")
			return err
		}
		if _, err := io.WriteString(w, "\n"+title+"\n"); err != nil {
			return err
		}
		return flowtext.WriteTable(w, header, rows, right)
	}
	t := r.Totals
	if md {
		io.WriteString(w, "## What-if report\n\n")
	}
	fmt.Fprintf(w, "%s distinct flow(s) from %s record(s), %s byte(s), %s to %s\n", group(t.Rows), group(t.Flows), group(t.Bytes),
		dashIfEmpty(t.FirstText), dashIfEmpty(t.LastText))
	sumRow := func(name string, s whatif.Summary) []string {
		return []string{name, group(int64(s.Connections)), group(s.Flows), group(s.Bytes), group(int64(s.Peers)), dashIfEmpty(s.LastText)}
	}
	if err := write("Headline", []string{"CHANGE", "CONNECTIONS", "FLOWS", "BYTES", "PEERS", "LAST SEEN"}, [][]string{
		sumRow("newly denied (would break)", r.NewlyDenied), sumRow("newly allowed (newly exposed)", r.NewlyAllowed),
		sumRow("to/from unknown", r.Unknown)}, []bool{false, true, true, true, true, false}); err != nil {
		return err
	}
	var rows [][]string
	for _, im := range r.ByChange {
		rows = append(rows, []string{im.ID, dashIfEmpty(string(im.Status)), group(im.Denied.Flows), group(im.Denied.Bytes),
			group(int64(im.Denied.Peers)), group(im.Allowed.Flows), group(int64(im.Allowed.Peers)), group(im.Unknown.Flows)})
	}
	if err := write("By rule change", []string{"CHANGE", "STATUS", "DENIED FLOWS", "DENIED BYTES", "DENIED PEERS", "ALLOWED FLOWS",
		"ALLOWED PEERS", "TO/FROM UNKNOWN"}, rows, []bool{false, false, true, true, true, true, true, true}); err != nil {
		return err
	}
	groupRows := func(gs []*whatif.Group) [][]string {
		var rows [][]string
		for _, g := range gs {
			rows = append(rows, []string{dashIfEmpty(g.Iface), dashIfEmpty(g.Direction), g.Src, g.Dst, strconv.Itoa(int(g.DstPort)),
				flowtext.ProtoName(g.Proto), group(g.Flows), group(g.Bytes), g.LastText, g.AttributedTo})
		}
		return rows
	}
	gh := []string{"IFACE", "DIR", "SRC", "DST", "DPORT", "PROTO", "FLOWS", "BYTES", "LAST SEEN", "ATTRIBUTED TO"}
	gr := []bool{false, false, false, false, true, false, true, true, false, false}
	if err := write("Newly denied connections (would break)", gh, groupRows(r.Denied), gr); err != nil {
		return err
	}
	if err := write("Newly allowed connections", gh, groupRows(r.Allowed), gr); err != nil {
		return err
	}
	if len(r.UnknownGroups) > 0 {
		if err := write("Transitions from or to unknown", gh, groupRows(r.UnknownGroups), gr); err != nil {
			return err
		}
	}
	rows = nil
	for _, x := range r.Exposed {
		src := strings.Join(x.Sources, " ")
		if x.SourceCount > len(x.Sources) {
			src += fmt.Sprintf(" (+%d)", x.SourceCount-len(x.Sources))
		}
		rows = append(rows, []string{dashIfEmpty(x.Iface), x.Dst, strconv.Itoa(int(x.Port)), flowtext.ProtoName(x.Proto), src, group(x.Flows), x.AttributedTo})
	}
	if err := write("Newly exposed: which sources reach which ports", []string{"IFACE", "DST", "DPORT", "PROTO", "SOURCES", "FLOWS", "ATTRIBUTED TO"},
		rows, []bool{false, false, true, false, false, true, false}); err != nil {
		return err
	}
	rows = nil
	for _, d := range r.Diff {
		obs := "observed"
		switch {
		case d.Safe:
			obs = "unobserved (safe)"
		case !d.Observed:
			obs = "unobserved"
		}
		rows = append(rows, []string{d.ID, string(d.Status), dashIfEmpty(d.Before), dashIfEmpty(d.After), group(d.HitsBefore), group(d.HitsAfter), group(d.Changed), obs})
	}
	if err := write("Rule-level diff", []string{"ID", "STATUS", "BEFORE", "AFTER", "HITS BEFORE", "HITS AFTER", "CHANGED FLOWS", "TRAFFIC"},
		rows, []bool{false, false, false, false, true, true, true, false}); err != nil {
		return err
	}
	rows = nil
	for _, s := range r.Space {
		for _, a := range s.NewlyAllowed {
			rows = append(rows, []string{s.Scope, s.Dir, "opens", a})
		}
		for _, a := range s.NewlyDenied {
			rows = append(rows, []string{s.Scope, s.Dir, "closes", a})
		}
		if s.Note != "" {
			rows = append(rows, []string{s.Scope, s.Dir, "note", s.Note})
		}
		if s.Truncated {
			rows = append(rows, []string{s.Scope, s.Dir, "…", "more regions not listed"})
		}
	}
	return write("Allowed space that changes, observed or not (new connections)", []string{"SCOPE", "DIR", "CHANGE", "REGION"}, rows, nil)
}
