package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/flowsift/flowsift/analyze/verdict"
	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/storage/parquet"
)

// writeParquetDir is the sink of `flowsift analyze -o DIR`: the judged
// records as Hive-partitioned Parquet under dir (storage/parquet DirWriter:
// date=YYYY-MM-DD/hour=HH/part-RUN-N.parquet, new parts beside any
// existing files, never overwriting). The records are written hour by hour,
// so each partition gets one file per run. SIGINT/SIGTERM stop the writing
// early; what was written is still published as whole files. A summary
// goes to stderr unless quiet.
func writeParquetDir(e *env, dir string, policies []string, recs []flowlog.Record, results []verdict.Result, quiet bool) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	policyID, err := policySnapshotID(policies)
	if err != nil {
		fmt.Fprintf(e.stderr, "flowsift analyze: policy snapshot: %v\n", err)
		return exitFailure
	}
	d, err := parquet.OpenDir(dir, parquet.DirOptions{Options: parquet.Options{Judged: true, Policy: policyID}})
	if err != nil {
		fmt.Fprintf(e.stderr, "flowsift analyze: -o %s: %v\n", dir, err)
		return exitFailure
	}
	for n, i := range parquet.Hours(recs) {
		if n&1023 == 0 && ctx.Err() != nil {
			fmt.Fprintf(e.stderr, "flowsift analyze: -o: interrupted after %d of %d records\n", n, len(recs))
			break
		}
		if d.Write(&recs[i], &results[i]) != nil {
			break // Close reports it
		}
	}
	err = d.Close()
	st := d.Stats()
	if err != nil {
		fmt.Fprintf(e.stderr, "flowsift analyze: -o %s: %v\n", dir, err)
		return exitFailure
	}
	if !quiet {
		fmt.Fprintf(e.stderr, "flowsift analyze: wrote %s record(s) as Parquet in %d file(s), %d partition(s), under %s (run %s, policy %s)\n",
			group(st.Rows), len(st.Files), st.Partitions, dir, st.RunID, policyID)
	}
	return exitOK
}

// isDirTarget reports whether -o names a directory for Hive-partitioned
// Parquet: a path ending in a separator, or an existing directory.
func isDirTarget(out string) bool {
	if out == "" {
		return false
	}
	if os.IsPathSeparator(out[len(out)-1]) {
		return true
	}
	fi, err := os.Stat(out)
	return err == nil && fi.IsDir()
}

// flowsToParquetDir is `flowsift flows --format parquet -o DIR`: records
// stream into a DirWriter as they are read (no judgment columns). Inputs in
// time order give one file per hour partition; inputs that jump between
// more hours than the writer keeps open give more, smaller files.
func flowsToParquetDir(e *env, in *inputFlags, args []string, dir string) int {
	d, err := parquet.OpenDir(dir, parquet.DirOptions{})
	if err != nil {
		fmt.Fprintf(e.stderr, "flowsift flows: -o %s: %v\n", dir, err)
		return exitFailure
	}
	sum, err := readInputs(e, in, args, func(r *flowlog.Record) error { return d.Write(r, nil) })
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if !in.quiet {
		printSummary(e.stderr, sum)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "flowsift flows: -o %s: %v\n", dir, err)
		return exitFailure
	}
	if !in.quiet {
		st := d.Stats()
		fmt.Fprintf(e.stderr, "flowsift flows: wrote %s record(s) as Parquet in %d file(s), %d partition(s), under %s (run %s)\n",
			group(st.Rows), len(st.Files), st.Partitions, dir, st.RunID)
	}
	return exitFor(sum)
}
