package main

import (
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/input"
)

// inputFlags are the flags every command that reads inputs shares.
type inputFlags struct {
	format    string
	awsFields string
	strict    bool
	quiet     bool
}

func (f *inputFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.format, "input-format", "", "read every input as this format instead of detecting it:\n"+strings.Join(sourceNames(), ", "))
	fs.StringVar(&f.awsFields, "aws-fields", "", "field order of AWS text without a header line, space- or comma-separated\n(default: the version 2 default format); a header in the input still wins")
	fs.BoolVar(&f.strict, "strict", false, "stop at the first malformed line (exit status 1)")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "do not print the summary (problems are still reported)")
}

func sourceNames() []string {
	var out []string
	for _, s := range flowlog.Sources() {
		if s != flowlog.SourceLive {
			out = append(out, s.String())
		}
	}
	return out
}

func (f *inputFlags) options(e *env) input.Options {
	o := input.Options{
		Format: f.format,
		Strict: f.strict,
		OnProblem: func(p flowlog.Problem) {
			fmt.Fprintln(e.stderr, p.String())
		},
		Capture: captureOpener(),
	}
	if f.awsFields != "" {
		o.AWSFields = strings.FieldsFunc(f.awsFields, func(r rune) bool { return r == ' ' || r == ',' })
	}
	return o
}

// readInputs expands args and runs fn over every record, drawing progress
// on a terminal. It returns the summary and fn's error.
func readInputs(e *env, flags *inputFlags, args []string, fn func(*flowlog.Record) error) (*input.Summary, error) {
	opts := flags.options(e)
	var n atomic.Int64
	stop := startProgress(e, &n)
	sum, err := input.Run(input.Expand(args, e.stdin), opts, func(r *flowlog.Record) error {
		n.Add(1)
		return fn(r)
	})
	stop()
	return sum, err
}

// readInputsParts is readInputs through input.RunParts: a large plain AWS
// text file is read by every CPU at once, into parts of its own; other
// inputs as by readInputsBatched. The parts come back in input order.
func readInputsParts[P any](e *env, flags *inputFlags, args []string, newPart func() P, add func(P, *flowlog.Record)) ([]P, *input.Summary, error) {
	opts := flags.options(e)
	var n atomic.Int64
	stop := startProgress(e, &n)
	// Progress is counted per part and published every 4096 records, so
	// the parts' goroutines do not share a cache line per record.
	type counted struct {
		p    P
		seen int64
	}
	cs, sum, err := input.RunParts(input.Expand(args, e.stdin), opts, runtime.GOMAXPROCS(0), func() *counted {
		return &counted{p: newPart()}
	}, func(c *counted, r *flowlog.Record) {
		add(c.p, r)
		if c.seen++; c.seen&4095 == 0 {
			n.Add(4096)
		}
	})
	stop()
	parts := make([]P, len(cs))
	for i, c := range cs {
		parts[i] = c.p
	}
	return parts, sum, err
}

// startProgress prints a record counter to stderr every 250 ms, only when
// stderr is a terminal. The returned func erases it.
func startProgress(e *env, n *atomic.Int64) func() {
	if !e.stderrIsTTY {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		start := time.Now()
		for {
			select {
			case <-done:
				fmt.Fprint(e.stderr, "\r\033[K")
				return
			case <-t.C:
				el := time.Since(start).Seconds()
				fmt.Fprintf(e.stderr, "\r\033[K%s records  %s records/s", group(n.Load()), group(int64(float64(n.Load())/el)))
			}
		}
	}()
	return func() { close(done); <-finished }
}

// printSummary writes the run summary to w. Its lines never take the
// PATH:LINE: shape of problem reports.
func printSummary(w io.Writer, sum *input.Summary) {
	tot := sum.Totals()
	unusable, empty := 0, 0
	for _, t := range sum.Files {
		if t.Unusable != flowlog.NoticeNone {
			unusable++
		}
		if t.Empty {
			empty++
		}
	}
	fmt.Fprintf(w, "summary: %d input(s), %s record(s), %s malformed%s, %s NODATA, %s SKIPDATA, %d empty, %d unusable\n",
		len(sum.Files), group(tot.Records), group(tot.MalformedTotal()), kindBreakdown(&tot),
		group(tot.NoData), group(tot.SkipData), empty, unusable)
	if len(sum.Files) <= 1 && tot.BadPktIP == 0 {
		return
	}
	for _, t := range sum.Files {
		state := ""
		switch {
		case t.Unusable != flowlog.NoticeNone:
			state = " UNUSABLE (" + t.Unusable.String() + ")"
		case t.Empty:
			state = " empty"
		case t.Truncated:
			state = " truncated"
		}
		format := t.Format.String()
		if format == "" {
			format = "-"
		}
		fmt.Fprintf(w, "summary: file %q format %s: %s record(s), %s malformed%s, %s NODATA, %s SKIPDATA, %s blank, %s header line(s)%s",
			t.Path, format, group(t.Records), group(t.MalformedTotal()), kindBreakdown(t), group(t.NoData), group(t.SkipData),
			group(t.Blank), group(t.Headers), state)
		if t.BadPktIP > 0 {
			fmt.Fprintf(w, ", %s pkt-* address(es) not parsed (left out)", group(t.BadPktIP))
		}
		fmt.Fprintln(w)
	}
}

func kindBreakdown(t *flowlog.Tally) string {
	var parts []string
	for k, n := range t.Malformed {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", flowlog.Kind(k), n))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	sort.Strings(parts)
	return " (" + strings.Join(parts, ", ") + ")"
}

// group formats n with thousands separators.
func group(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// exitFor maps a finished run to its exit status.
func exitFor(sum *input.Summary) int {
	if sum.Unusable() || sum.Aborted() {
		return exitUnusable
	}
	return exitOK
}
