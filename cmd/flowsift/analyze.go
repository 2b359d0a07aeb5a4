package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/flowsift/flowsift/analyze/policy/load"
	"github.com/flowsift/flowsift/analyze/rulestats"
	"github.com/flowsift/flowsift/analyze/verdict"
	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/storage/flowtext"
)

const analyzeHelp = `Usage: flowsift analyze --policy FILE... [FLAGS] INPUT...

Judge every flow record against security groups, network ACLs and IP
filters: the verdict the policy gives (accept, reject, unknown), the rules
that decided, and a finding when the log and the policy disagree or the
policy is worth a look (reference/POLICY.md).

Policy files are detected by content and may be mixed: AWS CLI outputs
(describe-security-groups, describe-security-group-rules,
describe-network-acls, describe-network-interfaces, describe-managed-prefix-lists,
get-managed-prefix-list-entries with the pl- id in the file name), Alibaba
Cloud responses (DescribeSecurityGroupAttribute, DescribeSecurityGroups,
DescribeNetworkInterfaces, DescribeNetworkAcls), Elastic Cloud traffic-filter
rule sets with a bindings YAML, elasticsearch.yml, and flowsift's own policy
YAML (flowsift policy show --format yaml).

Findings, first that applies: unknown-interface (no policy covers the
record), violation (log ACCEPT, policy reject), unexpected-reject (log
REJECT, policy accept), exposure (a sensitive port reachable from the
internet), default-deny (rejected by a default, no written rule), and
implicit-allow (allowed only by a default).

Examples:
  # AWS: which logged flows contradict the groups and NACLs?
  aws ec2 describe-security-groups > sg.json
  aws ec2 describe-network-acls > nacl.json
  aws ec2 describe-network-interfaces > eni.json
  flowsift analyze --policy sg.json --policy nacl.json --policy eni.json flowlogs/

  # one line per record with verdict, rules and finding
  flowsift analyze --policy sg.json,nacl.json,eni.json --per-flow flows.log.gz

  # CI gate: fail when anything is exposed or contradicts the policy
  flowsift analyze --policy policy.yaml --fail-on exposure,violation flows.log

  # Elasticsearch node filters against a capture
  flowsift analyze --policy elasticsearch.yml --per-flow --format table trace.pcap

The summary (without --per-flow) also has the rule statistics: the rules
with the most hits (records whose rules list the id, default ids included),
unused written rules, rules shadowed by configuration (network ACLs and
Alibaba groups: earlier rules cover the rule's whole match space; an
opposite action is flagged as a likely mistake), rules shadowed by
observation (matched records alone, decided none), redundant rules
(removable without changing any decision) and overly broad allow rules
(wider than /16 or /48, more than 1,024 ports or all protocols, yet 100+ hits
from at most 8 addresses to at most 4 ports) with a narrower suggestion.

JSON summary (--format json): records, packets, bytes; verdicts and
findings: {name: {Records, Packets, Bytes}}; offenders: {finding: [{iface,
src, dst, dport, proto, rule, records, packets, bytes}]}; extra.rules: the
rule statistics:
  rules              [{id, default, kind, scope, dir, action, text, origin,
                      records, packets, bytes, first_start, last_end}],
                     most records first (every id with a hit)
  unused             same shape, written rules without a hit
  shadowed_config    same shape + covering (ids deciding its packets first),
                     opposite_action, layers
  shadowed_observed  same shape
  redundant          same shape + model (ordered|allow-only), covering
                     (ids that would decide its packets instead), layers
  overly_broad       same shape + why, remotes, ports ("tcp/443"), suggest
  written_rules, used_written_rules
Keys are never removed; new keys may be added.

Besides the statuses below, analyze exits with 1 when --fail-on matched a
record, and with 2 when a policy file is invalid (the message names the file
and the JSON path, e.g. sg.json: $.SecurityGroups[0].IpPermissions[1].FromPort).

Flags:
`

func runAnalyze(e *env, args []string) int {
	fs := pflag.NewFlagSet("analyze", pflag.ContinueOnError)
	var in inputFlags
	in.register(fs)
	policies := fs.StringSlice("policy", nil, "policy file (repeatable, or comma-separated)")
	perFlow := fs.Bool("per-flow", false, "print one result per record instead of the summary")
	format := fs.String("format", "", "output format: table, json or markdown for the summary (default table);\njsonl, json, csv, table or markdown with --per-flow (default jsonl)")
	failOn := fs.StringSlice("fail-on", nil, "exit with status 1 when any record has one of these findings\n(unknown-interface, violation, unexpected-reject, exposure, default-deny, implicit-allow)")
	top := fs.Int("top", 10, "worst offenders listed per finding in the summary")
	store := fs.String("store", "", "also store records, verdicts and findings in ClickHouse:\nclickhouse://USER@HOST:PORT/DB (password from $CLICKHOUSE_PASSWORD or --password-file,\nnever in the URL); the schema is created or upgraded on first use")
	pwFile := fs.String("password-file", "", "file whose first line is the ClickHouse password (default: $CLICKHOUSE_PASSWORD)")
	outDir := fs.StringP("output", "o", "", "also write the judged records as Hive-partitioned Parquet under this directory\n(DIR/date=YYYY-MM-DD/hour=HH/part-RUN-N.parquet; new files beside existing ones, never overwritten)")
	if done, st := parseFlags(e, fs, analyzeHelp, args); done {
		return st
	}
	if len(*policies) == 0 {
		return usageError(e, "analyze", "no --policy file given")
	}
	if fs.NArg() == 0 {
		return usageError(e, "analyze", "no input given")
	}
	if *format == "" {
		*format = "table"
		if *perFlow {
			*format = "jsonl"
		}
	}
	okFormats := map[string]bool{"table": true, "json": true, "markdown": true}
	if *perFlow {
		okFormats["jsonl"], okFormats["csv"] = true, true
	}
	if !okFormats[*format] {
		return usageError(e, "analyze", "unknown --format %q for %s", *format, map[bool]string{true: "--per-flow", false: "the summary"}[*perFlow])
	}
	fail := map[verdict.Finding]bool{}
	for _, f := range *failOn {
		fd, ok := verdict.ParseFinding(f)
		if !ok || fd == verdict.FindingNone {
			return usageError(e, "analyze", "unknown finding %q in --fail-on", f)
		}
		fail[fd] = true
	}
	set, err := load.Files(*policies)
	if err != nil {
		fmt.Fprintf(e.stderr, "flowsift analyze: policy: %v\n", err)
		return exitUsage
	}
	for _, w := range set.Warnings {
		fmt.Fprintf(e.stderr, "flowsift analyze: warning: %s\n", w)
	}
	eng := verdict.NewEngine(set)

	// Reply detection needs the reverse record anywhere in the input
	// (POLICY.md 3), so the records are judged after reading them all.
	var recs []flowlog.Record
	sum, err := readInputs(e, &in, fs.Args(), func(r *flowlog.Record) error {
		recs = append(recs, r.Clone())
		return nil
	})
	if err != nil {
		fmt.Fprintf(e.stderr, "flowsift analyze: %v\n", err)
		return exitFailure
	}
	results := make([]verdict.Result, len(recs))
	eng.JudgeAll(recs, results)

	if *store != "" {
		if st := storeResults(e, *store, *pwFile, *policies, recs, results); st != exitOK {
			return st
		}
	}
	if *outDir != "" {
		if st := writeParquetDir(e, *outDir, *policies, recs, results, in.quiet); st != exitOK {
			return st
		}
	}

	failed := false
	tally := verdict.NewSummary()
	var stats *rulestats.Collector
	if !*perFlow {
		stats = rulestats.New(set)
		tally.Rules = stats
	}
	for i := range recs {
		tally.Add(&recs[i], &results[i])
		if fail[results[i].Finding] {
			failed = true
		}
	}
	w := bufio.NewWriterSize(e.stdout, 256<<10)
	if *perFlow {
		err = writePerFlow(w, *format, recs, results)
	} else {
		err = writeSummary(w, *format, tally, stats.Report(nil), *top)
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if !in.quiet {
		printSummary(e.stderr, sum)
	}
	if err != nil {
		if errors.Is(err, syscall.EPIPE) {
			return exitOK
		}
		fmt.Fprintf(e.stderr, "flowsift analyze: writing results: %v\n", err)
		return exitFailure
	}
	if st := exitFor(sum); st != exitOK {
		return st
	}
	if failed {
		return exitUnusable
	}
	return exitOK
}

// appendResultJSON appends one per-flow JSON object: the record's keys
// (flowlog.AppendJSON) followed by the judgment.
func appendResultJSON(buf []byte, r *flowlog.Record, res *verdict.Result) []byte {
	buf = flowlog.AppendJSON(buf, r)
	buf = buf[:len(buf)-1]
	buf = append(buf, `,"verdict":"`...)
	buf = append(buf, res.Verdict.String()...)
	buf = append(buf, `","finding":"`...)
	buf = append(buf, res.Finding...)
	buf = append(buf, `","rules":[`...)
	for i, id := range res.Rules {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = flowlog.AppendJSONString(buf, id)
	}
	buf = append(buf, `],"reply":`...)
	buf = strconv.AppendBool(buf, res.Reply)
	buf = append(buf, `,"reply_basis":"`...)
	buf = append(buf, res.Basis.String()...)
	buf = append(buf, '"')
	if res.Verdict == verdict.Unknown {
		buf = append(buf, `,"reason":`...)
		buf = flowlog.AppendJSONString(buf, res.Reason)
	}
	buf = append(buf, `,"why":`...)
	buf = flowlog.AppendJSONString(buf, res.Why())
	return append(buf, '}')
}

var perFlowColumns = []string{"start", "src", "sport", "dst", "dport", "proto", "action", "direction", "iface",
	"verdict", "finding", "rules", "reply", "reply_basis", "reason", "why"}

func perFlowRow(r *flowlog.Record, res *verdict.Result) []string {
	reason := ""
	if res.Verdict == verdict.Unknown {
		reason = res.Reason
	}
	return []string{strconv.FormatInt(r.Start, 10), r.Src.String(), strconv.Itoa(int(r.SrcPort)), r.Dst.String(),
		strconv.Itoa(int(r.DstPort)), flowtext.ProtoName(r.Proto), r.Action.String(), r.Direction.String(), r.Iface,
		res.Verdict.String(), string(res.Finding), strings.Join(res.Rules, " "), strconv.FormatBool(res.Reply),
		res.Basis.String(), reason, res.Why()}
}

// writeJSONObjects writes n JSON objects made by appendObj, one per line
// (JSONL), or as one JSON array when array is set.
func writeJSONObjects(w io.Writer, array bool, n int, appendObj func(buf []byte, i int) []byte) error {
	var buf []byte
	if array {
		if _, err := io.WriteString(w, "[\n"); err != nil {
			return err
		}
	}
	for i := 0; i < n; i++ {
		buf = appendObj(buf[:0], i)
		if array && i < n-1 {
			buf = append(buf, ',')
		}
		buf = append(buf, '\n')
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	if array {
		_, err := io.WriteString(w, "]\n")
		return err
	}
	return nil
}

func writePerFlow(w io.Writer, format string, recs []flowlog.Record, results []verdict.Result) error {
	switch format {
	case "jsonl", "json":
		return writeJSONObjects(w, format == "json", len(recs), func(buf []byte, i int) []byte {
			return appendResultJSON(buf, &recs[i], &results[i])
		})
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(perFlowColumns); err != nil {
			return err
		}
		for i := range recs {
			if err := cw.Write(perFlowRow(&recs[i], &results[i])); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	case "table", "markdown":
		header := []string{"SRC", "SPORT", "DST", "DPORT", "PROTO", "ACTION", "DIR", "IFACE", "VERDICT", "FINDING", "RULES", "REPLY"}
		var rows [][]string
		for i := range recs {
			f := perFlowRow(&recs[i], &results[i])
			v := f[9]
			if f[14] != "" {
				v += " (" + f[14] + ")"
			}
			rows = append(rows, []string{f[1], f[2], f[3], f[4], f[5], dashIfEmpty(f[6]), dashIfEmpty(f[7]), dashIfEmpty(f[8]),
				v, dashIfEmpty(f[10]), dashIfEmpty(f[11]), f[12] + "/" + f[13]})
		}
		if format == "markdown" {
			return writeMarkdown(w, header, rows)
		}
		return flowtext.WriteTable(w, header, rows, []bool{false, true, false, true})
	}
	return fmt.Errorf("unknown format %q", format)
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeMarkdown(w io.Writer, header []string, rows [][]string) error {
	var b strings.Builder
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	b.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for range header {
		b.WriteString("---|")
	}
	b.WriteByte('\n')
	for _, r := range rows {
		for i := range r {
			r[i] = esc(r[i])
		}
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// summaryJSON is the --format json summary; the rule statistics (POLICY.md 9)
// go in Extra["rules"].
type summaryJSON struct {
	Records   int64                     `json:"records"`
	Packets   int64                     `json:"packets"`
	Bytes     int64                     `json:"bytes"`
	Verdicts  map[string]verdict.Count  `json:"verdicts"`
	Findings  map[string]verdict.Count  `json:"findings"`
	Offenders map[string][]offenderJSON `json:"offenders"`
	Extra     map[string]any            `json:"extra,omitempty"` // extension point (rule statistics)
}

type offenderJSON struct {
	Iface   string `json:"iface"`
	Src     string `json:"src"`
	Dst     string `json:"dst"`
	Dport   uint16 `json:"dport"`
	Proto   uint8  `json:"proto"`
	Rule    string `json:"rule"`
	Records int64  `json:"records"`
	Packets int64  `json:"packets"`
	Bytes   int64  `json:"bytes"`
}

// summaryTables is what the summary prints: analyze fills it from a
// verdict.Summary, report from stored aggregates.
type summaryTables struct {
	Records, Packets, Bytes int64
	ByVerdict               map[verdict.Verdict]*verdict.Count
	ByFinding               map[verdict.Finding]*verdict.Count
	Offenders               func(f verdict.Finding, n int) []verdict.Offender
	// Extra keys of the JSON summary besides "rules".
	Extra map[string]any
	// Gaps names rule statistics that could not be computed (JSON key of
	// rulestats.Report -> why): printed instead of "none".
	Gaps map[string]string
}

func writeSummary(w io.Writer, format string, s *verdict.Summary, rules *rulestats.Report, top int) error {
	return writeSummaryTables(w, format, summaryTables{Records: s.Records, Packets: s.Packets, Bytes: s.Bytes,
		ByVerdict: s.ByVerdict, ByFinding: s.ByFinding, Offenders: s.Offenders}, rules, top)
}

func writeSummaryTables(w io.Writer, format string, s summaryTables, rules *rulestats.Report, top int) error {
	verdicts := []verdict.Verdict{verdict.Accept, verdict.Reject, verdict.Unknown}
	switch format {
	case "json":
		out := summaryJSON{Records: s.Records, Packets: s.Packets, Bytes: s.Bytes,
			Verdicts: map[string]verdict.Count{}, Findings: map[string]verdict.Count{}, Offenders: map[string][]offenderJSON{}}
		for _, v := range verdicts {
			if c := s.ByVerdict[v]; c != nil {
				out.Verdicts[v.String()] = *c
			}
		}
		for _, f := range verdict.Findings {
			if c := s.ByFinding[f]; c != nil {
				out.Findings[string(f)] = *c
				for _, o := range s.Offenders(f, top) {
					out.Offenders[string(f)] = append(out.Offenders[string(f)], offenderJSON{o.Key.Iface, o.Key.Src.String(),
						o.Key.Dst.String(), o.Key.DstPort, o.Key.Proto, o.Key.Rule, o.Records, o.Packets, o.Bytes})
				}
			}
		}
		if rules != nil || len(s.Extra) > 0 {
			out.Extra = map[string]any{}
			for k, v := range s.Extra {
				out.Extra[k] = v
			}
			if rules != nil {
				out.Extra["rules"] = rules
			}
		}
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	case "table", "markdown":
		var vrows, frows [][]string
		for _, v := range verdicts {
			c := s.ByVerdict[v]
			if c == nil {
				c = &verdict.Count{}
			}
			vrows = append(vrows, []string{v.String(), group(c.Records), group(c.Packets), group(c.Bytes)})
		}
		for _, f := range verdict.Findings {
			c := s.ByFinding[f]
			if c == nil {
				c = &verdict.Count{}
			}
			frows = append(frows, []string{string(f), group(c.Records), group(c.Packets), group(c.Bytes)})
		}
		write := func(title string, header []string, rows [][]string, right []bool) error {
			if format == "markdown" {
				if _, err := io.WriteString(w, "\n### "+title+"\n\n"); err != nil {
					return err
				}
				return writeMarkdown(w, header, rows)
			}
			if _, err := io.WriteString(w, "\n"+title+"\n"); err != nil {
				return err
			}
			return flowtext.WriteTable(w, header, rows, right)
		}
		if _, err := fmt.Fprintf(w, "%s record(s), %s packet(s), %s byte(s) judged\n", group(s.Records), group(s.Packets), group(s.Bytes)); err != nil {
			return err
		}
		if err := write("Verdicts", []string{"VERDICT", "RECORDS", "PACKETS", "BYTES"}, vrows, []bool{false, true, true, true}); err != nil {
			return err
		}
		if err := write("Findings", []string{"FINDING", "RECORDS", "PACKETS", "BYTES"}, frows, []bool{false, true, true, true}); err != nil {
			return err
		}
		for _, f := range verdict.Findings {
			offs := s.Offenders(f, top)
			if len(offs) == 0 {
				continue
			}
			var rows [][]string
			for _, o := range offs {
				rows = append(rows, []string{dashIfEmpty(o.Key.Iface), o.Key.Src.String(), o.Key.Dst.String(),
					strconv.Itoa(int(o.Key.DstPort)), flowtext.ProtoName(o.Key.Proto), dashIfEmpty(o.Key.Rule),
					group(o.Records), group(o.Bytes)})
			}
			if err := write("Worst offenders: "+string(f), []string{"IFACE", "SRC", "DST", "DPORT", "PROTO", "RULE", "RECORDS", "BYTES"},
				rows, []bool{false, false, false, true, false, false, true, true}); err != nil {
				return err
			}
		}
		if rules != nil {
			return writeRuleStats(w, rules, top, format == "markdown", write, s.Gaps)
		}
		return nil
	}
	return fmt.Errorf("unknown format %q", format)
}

type sectionWriter func(title string, header []string, rows [][]string, right []bool) error

// writeRuleStats prints the rule statistics sections of the summary
// (POLICY.md 9): the top rules by hits, then every finding in full. A
// section named in gaps (by its JSON key) prints why it is missing.
func writeRuleStats(w io.Writer, rep *rulestats.Report, top int, markdown bool, write sectionWriter, gaps map[string]string) error {
	when := func(t int64) string {
		if t == 0 {
			return "-"
		}
		return time.Unix(t, 0).UTC().Format("2006-01-02 15:04:05")
	}
	var rows [][]string
	for i, h := range rep.Rules {
		if i == top {
			break
		}
		rows = append(rows, []string{h.ID, dashIfEmpty(h.Action), group(h.Records), group(h.Packets), group(h.Bytes), when(h.First), when(h.Last)})
	}
	title := fmt.Sprintf("Top rules by hits (%s of %s written rules used)", group(int64(rep.UsedRules)), group(int64(rep.WrittenRules)))
	if why, ok := gaps["written_rules"]; ok {
		title = "Top rules by hits (" + why + ")"
	}
	if err := write(title, []string{"RULE", "ACTION", "RECORDS", "PACKETS", "BYTES", "FIRST START", "LAST END"}, rows,
		[]bool{false, false, true, true, true, false, false}); err != nil {
		return err
	}
	sect := func(key, title string, header []string, rows [][]string, right []bool) error {
		why, gap := gaps[key]
		if len(rows) == 0 || gap {
			if !gap {
				why = "none"
			}
			var err error
			if markdown {
				_, err = io.WriteString(w, "\n### "+title+"\n\n"+why+"\n")
			} else {
				_, err = io.WriteString(w, "\n"+title+": "+why+"\n")
			}
			return err
		}
		return write(title, header, rows, right)
	}
	rows = nil
	for _, u := range rep.Unused {
		rows = append(rows, []string{u.ID, dashIfEmpty(u.Text)})
	}
	if err := sect("unused", "Unused rules (no hit)", []string{"RULE", "MATCH"}, rows, nil); err != nil {
		return err
	}
	rows = nil
	for _, s := range rep.ShadowedConfig {
		note := "same action: remove it"
		if s.Opposite {
			note = "OPPOSITE ACTION: likely a mistake (move it before the covering rules)"
		}
		rows = append(rows, []string{s.ID, dashIfEmpty(s.Text), strings.Join(s.Covering, " "), note})
	}
	if err := sect("shadowed_config", "Shadowed by configuration (no packet reaches the rule)", []string{"RULE", "MATCH", "COVERED BY", "NOTE"}, rows, nil); err != nil {
		return err
	}
	rows = nil
	for _, s := range rep.ShadowedObserved {
		rows = append(rows, []string{s.ID, dashIfEmpty(s.Text)})
	}
	if err := sect("shadowed_observed", "Shadowed by observation (matched records, decided none)", []string{"RULE", "MATCH"}, rows, nil); err != nil {
		return err
	}
	rows = nil
	for _, r := range rep.Redundant {
		rows = append(rows, []string{r.ID, dashIfEmpty(r.Text), string(r.Model), strings.Join(r.Covering, " ")})
	}
	if err := sect("redundant", "Redundant (removing it changes no decision)", []string{"RULE", "MATCH", "MODEL", "DECIDED INSTEAD BY"}, rows, nil); err != nil {
		return err
	}
	rows = nil
	for _, b := range rep.OverlyBroad {
		rows = append(rows, []string{b.ID, b.Why, group(b.Records), strings.Join(b.Remotes, " "), strings.Join(b.Ports, " "), b.Suggest})
	}
	return sect("overly_broad", "Overly broad allow rules", []string{"RULE", "WIDE", "HITS", "REMOTES SEEN", "PORTS SEEN", "SUGGESTED"}, rows,
		[]bool{false, false, true, false, false, false})
}
