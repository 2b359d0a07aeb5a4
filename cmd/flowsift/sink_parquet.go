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
