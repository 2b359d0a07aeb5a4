package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/storage/flowtext"
)

const flowsHelp = `Usage: flowsift flows [FLAGS] INPUT...

Read flow logs (AWS VPC text and Parquet, CloudWatch exports, GCP VPC Flow
Logs and firewall logs, Azure NSG and VNet flow logs, Alibaba Cloud SLS
exports, flowsift's own JSONL/Parquet) and capture files, and print one
normalized record per flow and direction.

Every input's format is detected from its content; gzip is undone. Malformed
lines are skipped and reported on stderr as PATH:LINE: KIND: detail, and a
summary is printed at the end.

Examples:
  # S3 export tree of VPC flow logs, as JSON lines
  flowsift flows ~/flowlogs/AWSLogs/ > flows.jsonl

  # a CloudWatch Logs export from stdin, as a table
  aws logs filter-log-events ... | jq -r '.events[].message' | flowsift flows --format table -

  # Azure blobs and GCP exports in one run, as CSV
  flowsift flows --format csv -o flows.csv 'insights-logs-*/**/PT1H.json' gcs-export/

  # Hive-partitioned Parquet (DuckDB, pyarrow and flowsift read it back)
  flowsift flows --format parquet -o lake/ ~/flowlogs/AWSLogs/

  # stop at the first malformed line (exit status 1)
  flowsift flows --strict flows.log

Flags:
`

func runFlows(e *env, args []string) int {
	fs := pflag.NewFlagSet("flows", pflag.ContinueOnError)
	var in inputFlags
	in.register(fs)
	format := fs.String("format", "jsonl", "output format: jsonl, csv, table or parquet")
	out := fs.StringP("output", "o", "", "write records to this file instead of standard output;\nwith --format parquet, an existing directory or a path ending in /\ngets Hive-partitioned files (date=YYYY-MM-DD/hour=HH/part-RUN-N.parquet)")
	if done, st := parseFlags(e, fs, flowsHelp, args); done {
		return st
	}
	if fs.NArg() == 0 {
		return usageError(e, "flows", "no input given")
	}
	if *format == "parquet" && *out == "" {
		return usageError(e, "flows", "--format parquet needs -o FILE")
	}
	if *format == "parquet" && isDirTarget(*out) {
		return flowsToParquetDir(e, &in, fs.Args(), *out)
	}
	w := e.stdout
	var file *os.File
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintf(e.stderr, "flowsift flows: %v\n", err)
			return exitFailure
		}
		file, w = f, f
	}
	sink, err := newRecordWriter(*format, w)
	if err != nil {
		return usageError(e, "flows", "%v", err)
	}
	sum, err := readInputs(e, &in, fs.Args(), func(r *flowlog.Record) error { return sink.Write(r) })
	if cerr := sink.Close(); err == nil {
		err = cerr
	}
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}
	if !in.quiet {
		printSummary(e.stderr, sum)
	}
	if err != nil {
		if errors.Is(err, syscall.EPIPE) {
			return exitOK // the reader of our output went away (| head)
		}
		fmt.Fprintf(e.stderr, "flowsift flows: writing records: %v\n", err)
		return exitFailure
	}
	return exitFor(sum)
}

// newRecordWriter returns the sink for an output format.
func newRecordWriter(format string, w io.Writer) (flowtext.Writer, error) {
	if format == "parquet" {
		return newParquetWriter(w)
	}
	return flowtext.New(format, w)
}
