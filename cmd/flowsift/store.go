package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/flowsift/flowsift/analyze/verdict"
	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/storage/clickhouse"
)

// policySnapshotID names the policy a run judged with: the first 12 hex
// digits of the SHA-256 of the policy files' contents, in order. Stored with
// every row so results of different policies are never mixed up.
func policySnapshotID(files []string) (string, error) {
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%d\n", len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// storeResults writes judged records to ClickHouse. SIGINT/SIGTERM stop
// the writing early; Close always runs, which flushes what was written
// (to the server, or to the spool when it is down).
func storeResults(e *env, url, pwFile string, policies []string, recs []flowlog.Record, results []verdict.Result) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	policyID, err := policySnapshotID(policies)
	if err != nil {
		fmt.Fprintf(e.stderr, "flowsift analyze: policy snapshot: %v\n", err)
		return exitFailure
	}
	sink, err := clickhouse.Open(ctx, url, clickhouse.Options{PasswordFile: pwFile, Policy: policyID,
		Logf: func(f string, a ...any) { fmt.Fprintf(e.stderr, "flowsift analyze: store: "+f+"\n", a...) }})
	if err != nil {
		fmt.Fprintf(e.stderr, "flowsift analyze: store: %v\n", err)
		return exitFailure
	}
	for i := range recs {
		if ctx.Err() != nil {
			fmt.Fprintf(e.stderr, "flowsift analyze: store: interrupted after %d of %d records; flushing\n", i, len(recs))
			break
		}
		if err := sink.Write(&recs[i], &results[i]); err != nil {
			break // Close reports it
		}
	}
	if err := sink.Close(); err != nil {
		switch {
		case errors.Is(err, clickhouse.ErrPending):
			fmt.Fprintf(e.stderr, "flowsift analyze: store: %v (kept in the spool; the next run sends it)\n", err)
		default:
			fmt.Fprintf(e.stderr, "flowsift analyze: store: %v\n", err)
		}
		return exitFailure
	}
	return exitOK
}
