// Command flowgen writes synthetic flow logs for benchmarks and the
// streaming-memory check of `make bench`:
//
//	flowgen --format aws-v2 --bytes 10G | flowsift flows -q -
//
// It is a development tool, not part of the flowsift binary.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/flowsift/flowsift/internal/flowgen"
)

func main() {
	format := flag.String("format", "aws-v2", "aws-v2 (default format, no header) or aws-v5 (custom format with header)")
	n := flag.Int("n", 1_000_000, "records to write (ignored with --bytes)")
	size := flag.String("bytes", "", "write this much instead of -n records: 500M, 10G")
	seed := flag.Uint64("seed", 42, "generator seed")
	flag.Parse()
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer out.Flush()
	var fields []string
	switch *format {
	case "aws-v2":
	case "aws-v5":
		fields = flowgen.AWSV5Fields
	default:
		fmt.Fprintf(os.Stderr, "flowgen: unknown format %q\n", *format)
		os.Exit(2)
	}
	if *size == "" {
		if err := flowgen.AWSText(out, *n, fields, *seed); err != nil {
			fmt.Fprintln(os.Stderr, "flowgen:", err)
			os.Exit(1)
		}
		return
	}
	limit, err := parseSize(*size)
	if err != nil {
		fmt.Fprintln(os.Stderr, "flowgen:", err)
		os.Exit(2)
	}
	// Repeat 1 M-record chunks (different seeds) until the limit.
	w := &limitWriter{w: out, left: limit}
	for s := *seed; !w.done; s++ {
		if err := flowgen.AWSText(w, 1_000_000, fields, s); err != nil && err != errFull {
			fmt.Fprintln(os.Stderr, "flowgen:", err)
			os.Exit(1)
		}
		fields = nil // one header only
	}
}

var errFull = fmt.Errorf("size reached")

type limitWriter struct {
	w    io.Writer
	left int64
	done bool
}

// Write passes bytes on until the limit, then up to the end of the line
// in progress, so the output never ends inside a line.
func (l *limitWriter) Write(p []byte) (int, error) {
	if l.done {
		return 0, errFull
	}
	if l.left > int64(len(p)) {
		n, err := l.w.Write(p)
		l.left -= int64(n)
		return n, err
	}
	from := max(l.left-1, 0)
	j := bytes.IndexByte(p[from:], '\n')
	if j < 0 { // the line in progress goes on in the next write
		n, err := l.w.Write(p)
		l.left = 0
		return n, err
	}
	n, err := l.w.Write(p[:int(from)+j+1])
	l.done = true
	if err != nil {
		return n, err
	}
	return n, errFull
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return v * mult, nil
}
