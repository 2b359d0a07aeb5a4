package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/analyze/policy/load"
	"github.com/flowsift/flowsift/analyze/rulestats"
	"github.com/flowsift/flowsift/analyze/verdict"
	"github.com/flowsift/flowsift/storage/clickhouse"
)

func init() {
	registered = append(registered, command{"report", "print the analyze summary from a ClickHouse store's rollups", runStoredReport})
}

const reportHelp = `Usage: flowsift report --from clickhouse://USER@HOST:PORT/DB [--since 24h] [FLAGS]

Print the analyze summary (verdicts, findings, worst offenders per finding
such as exposures, rule statistics) for records stored by analyze --store,
answered from the stored rollups: no raw row is read or transferred.

The range is whole hours (the rollups' granularity): --since is rounded
down to the hour, --until up. Rule hits come from the 1-minute rollup, so
FIRST START and LAST END are minutes (start times; no end time is kept).

Rule statistics need the policy for what has no hit: with --policy (the same
files analyze judged with) the summary lists unused written rules and the
rules shadowed by configuration and redundant ones; without it, only the rules
with hits. Shadowed-by-observation and overly-broad rules need the matched
records themselves and are never available from the store.

--since and --until take a duration before now (24h, 90m, 7d) or a time
(2026-11-23T08:00:00Z, or 2026-11-23 for midnight UTC).

The password comes from $CLICKHOUSE_PASSWORD or --password-file, never from
the URL.

Examples:
  flowsift report --from clickhouse://default@127.0.0.1:9000/flowsift --since 24h
  flowsift report --from clickhouse://default@ch.internal/flowsift --since 7d --format markdown \
      --policy sg.json,nacl.json,eni.json
  flowsift report --from clickhouse://default@127.0.0.1/flowsift --since 2026-11-01 --until 2026-11-02 --format json

Flags:
`

// parseWhen reads a --since/--until value: a duration before now, or a
// time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if strings.HasSuffix(s, "d") {
		var days int
		if _, err := fmt.Sscanf(s, "%dd", &days); err == nil && fmt.Sprintf("%dd", days) == s && days >= 0 {
			return now.Add(-time.Duration(days) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("negative duration %q", s)
		}
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither a duration (24h, 7d) nor a time (2026-11-23T08:00:00Z)", s)
}

func runStoredReport(e *env, args []string) int {
	fs := pflag.NewFlagSet("report", pflag.ContinueOnError)
	fs.SortFlags = false
	from := fs.String("from", "", "ClickHouse store `URL` (clickhouse://USER@HOST:PORT/DB)")
	since := fs.String("since", "24h", "records starting at or after this (duration before now or time; rounded down to the hour)")
	until := fs.String("until", "", "records starting before this (duration before now or time; rounded up to the hour; default: no end)")
	format := fs.String("format", "table", "output format: table, json or markdown")
	top := fs.Int("top", 10, "worst offenders listed per finding")
	policies := fs.StringSlice("policy", nil, "policy `FILE`s analyze judged with (repeatable, or comma-separated): adds unused,\nshadowed-by-configuration and redundant rules")
	pwFile := fs.String("password-file", "", "read the password from `FILE` (default: $CLICKHOUSE_PASSWORD)")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after `DURATION`")
	if done, st := parseFlags(e, fs, reportHelp, args); done {
		return st
	}
	if *from == "" {
		return usageError(e, "report", "no --from store given")
	}
	if fs.NArg() > 0 {
		return usageError(e, "report", "unexpected argument %q", fs.Arg(0))
	}
	if *format != "table" && *format != "json" && *format != "markdown" {
		return usageError(e, "report", "unknown --format %q (table, json or markdown)", *format)
	}
	if *top < 1 {
		return usageError(e, "report", "--top must be at least 1")
	}
	now := time.Now()
	var q clickhouse.ReportQuery
	var err error
	if q.Since, err = parseWhen(*since, now); err != nil {
		return usageError(e, "report", "--since: %v", err)
	}
	if *until != "" {
		if q.Until, err = parseWhen(*until, now); err != nil {
			return usageError(e, "report", "--until: %v", err)
		}
		if !q.Until.After(q.Since) {
			return usageError(e, "report", "--until is not after --since")
		}
	}
	q.Top = *top
	var set *policy.Set
	policyID := ""
	if len(*policies) > 0 {
		if set, err = load.Files(*policies); err != nil {
			fmt.Fprintf(e.stderr, "flowsift report: policy: %v\n", err)
			return exitUsage
		}
		for _, w := range set.Warnings {
			fmt.Fprintf(e.stderr, "flowsift report: warning: %s\n", w)
		}
		if policyID, err = policySnapshotID(*policies); err != nil {
			fmt.Fprintf(e.stderr, "flowsift report: policy: %v\n", err)
			return exitUsage
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	agg, err := clickhouse.ReportURL(ctx, *from, clickhouse.Options{PasswordFile: *pwFile}, q)
	if err != nil {
		fmt.Fprintf(e.stderr, "flowsift report: %v\n", err)
		return exitFailure
	}
	if set != nil && agg.Total.Records > 0 && (len(agg.Policies) != 1 || agg.Policies[0] != policyID) {
		fmt.Fprintf(e.stderr, "flowsift report: warning: the records in the range were judged with policy snapshot(s) %s, the --policy files are %s: rules changed since are counted against the files given\n",
			quoteIDs(agg.Policies), policyID)
	}

	tables, rules := reportTables(agg, set)
	target, _ := clickhouse.ParseURL(*from)
	tables.Extra["store"] = target.String()
	w := bufio.NewWriterSize(e.stdout, 256<<10)
	if *format != "json" {
		to := "now"
		if agg.To != 0 {
			to = time.Unix(agg.To, 0).UTC().Format("2006-01-02 15:04")
		}
		heading := fmt.Sprintf("%s: records starting %s to %s UTC (whole hours, from the rollups)", target, time.Unix(agg.From, 0).UTC().Format("2006-01-02 15:04"), to)
		if *format == "markdown" {
			heading = "## " + heading
		}
		fmt.Fprintln(w, heading)
	}
	err = writeSummaryTables(w, *format, tables, rules, *top)
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		if errors.Is(err, syscall.EPIPE) {
			return exitOK
		}
		fmt.Fprintf(e.stderr, "flowsift report: writing: %v\n", err)
		return exitFailure
	}
	return exitOK
}

func quoteIDs(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		if id == "" {
			id = "(none)"
		}
		q[i] = id
	}
	return strings.Join(q, ", ")
}

// reportTables turns stored aggregates into what the summary prints, and
// the rule statistics the store can answer: hits always; unused, shadowed
// by configuration and redundant with the policy; never those that need the
// matched records.
func reportTables(a *clickhouse.Aggregates, set *policy.Set) (summaryTables, *rulestats.Report) {
	t := summaryTables{Records: a.Total.Records, Packets: a.Total.Packets, Bytes: a.Total.Bytes,
		ByVerdict: a.ByVerdict, ByFinding: a.ByFinding,
		Offenders: func(f verdict.Finding, n int) []verdict.Offender {
			o := a.Offenders[f]
			return o[:min(n, len(o))]
		},
		Extra: map[string]any{}, Gaps: map[string]string{}}
	rng := map[string]any{"from": time.Unix(a.From, 0).UTC().Format(time.RFC3339), "to": nil}
	if a.To != 0 {
		rng["to"] = time.Unix(a.To, 0).UTC().Format(time.RFC3339)
	}
	t.Extra["range"] = rng
	t.Extra["policies"] = a.Policies
	const needRecords = "not available from the store (needs the matched records: run analyze)"
	t.Gaps["shadowed_observed"] = needRecords
	t.Gaps["overly_broad"] = needRecords

	written := map[string]*policy.Rule{}
	var order []*policy.Rule
	if set != nil {
		order = set.Rules()
		for _, r := range order {
			written[r.ID] = r
		}
	}
	hitOf := func(id string, h rulestats.Hits) rulestats.RuleHits {
		rh := rulestats.RuleHits{ID: id, Default: policy.IsDefaultID(id), Hits: h}
		if r := written[id]; r != nil {
			rh.Kind, rh.Scope, rh.Dir, rh.Action, rh.Text, rh.Origin = r.Kind.String(), r.Scope, r.Dir.String(), r.Action.String(), r.Text, r.Origin
		}
		return rh
	}
	hits := map[string]rulestats.Hits{}
	rep := &rulestats.Report{Rules: []rulestats.RuleHits{}}
	for _, h := range a.Rules {
		x := rulestats.Hits{Records: h.Records, Packets: h.Packets, Bytes: h.Bytes, First: h.First, Last: h.Last}
		hits[h.ID] = x
		rep.Rules = append(rep.Rules, hitOf(h.ID, x))
	}
	if set == nil {
		const needPolicy = "needs the policy: add --policy FILE..."
		t.Gaps["unused"] = needPolicy
		t.Gaps["shadowed_config"] = needPolicy
		t.Gaps["redundant"] = needPolicy
		t.Gaps["written_rules"] = "unused rules need --policy"
	} else {
		rep.Unused, rep.ShadowedConfig, rep.Redundant = []rulestats.RuleHits{}, []rulestats.Shadowed{}, []rulestats.Redundant{}
		rep.WrittenRules = len(order)
		for _, r := range order {
			if hits[r.ID].Records > 0 {
				rep.UsedRules++
			} else {
				rep.Unused = append(rep.Unused, hitOf(r.ID, rulestats.Hits{}))
			}
		}
		for _, f := range rulestats.Config(set) {
			switch {
			case f.Shadowed:
				rep.ShadowedConfig = append(rep.ShadowedConfig, rulestats.Shadowed{RuleHits: hitOf(f.ID, hits[f.ID]), Covering: f.Covering, Opposite: f.Opposite, Layers: f.Layers})
			case f.Redundant:
				rep.Redundant = append(rep.Redundant, rulestats.Redundant{RuleHits: hitOf(f.ID, hits[f.ID]), Model: f.Model, Covering: f.Covering, Layers: f.Layers})
			}
		}
	}
	unavailable := map[string]string{}
	for k, why := range t.Gaps {
		if k != "written_rules" {
			unavailable[k] = why
		}
	}
	t.Extra["rules_unavailable"] = unavailable
	return t, rep
}
