package input

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/aws"
)

// Options control how inputs are read.
type Options struct {
	// Format forces a reader by source name (FORMATS.md 1.5), skipping
	// detection: "aws-vpc-text", "gcp-vpc-flows", ... Empty means detect.
	Format string
	// AWSFields is the field order of headerless AWS text (default: the
	// version 2 default format). A header in the input still wins.
	AWSFields []string
	// Strict stops the run at the first malformed position.
	Strict bool
	// OnProblem receives every report, in order.
	OnProblem func(flowlog.Problem)
	// Capture opens pcap/pcapng content. Nil: capture files are unsupported.
	Capture func(r io.Reader, t *flowlog.Tally, pcapng bool) flowlog.Reader
}

// Summary is what a run read, per input.
type Summary struct {
	Files []*flowlog.Tally
}

// Unusable reports whether some input could not be used (exit status 1).
func (s *Summary) Unusable() bool {
	for _, t := range s.Files {
		if t.Unusable != flowlog.NoticeNone {
			return true
		}
	}
	return false
}

// Aborted reports whether a strict run stopped at a malformed position.
func (s *Summary) Aborted() bool {
	for _, t := range s.Files {
		if t.Aborted() {
			return true
		}
	}
	return false
}

// Totals adds up the tallies.
func (s *Summary) Totals() (tot flowlog.Tally) {
	for _, t := range s.Files {
		tot.Add(t)
	}
	return tot
}

// Run reads every input in order and calls fn for each record. The record
// and its Attrs are only valid during the call. An error from fn stops the
// run and is returned (e.g. a closed output pipe); problems in the inputs
// never are: they are reported through Options.OnProblem and the Summary.
func Run(inputs []Input, opts Options, fn func(*flowlog.Record) error) (*Summary, error) {
	sum := &Summary{}
	var rec flowlog.Record
	for _, in := range inputs {
		t := &flowlog.Tally{Path: in.Path, OnProblem: opts.OnProblem, Strict: opts.Strict}
		sum.Files = append(sum.Files, t)
		if in.Err != nil {
			t.Note(in.Err.Notice, in.Err.Detail)
			continue
		}
		err := readOne(in, t, &opts, func(r flowlog.Reader) error {
			for r.Next(&rec) {
				if err := fn(&rec); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return sum, err
		}
		if t.Aborted() {
			break
		}
	}
	return sum, nil
}

// Open returns a reader for one input. Close releases its file.
func readOne(in Input, t *flowlog.Tally, opts *Options, use func(flowlog.Reader) error) error {
	rc, err := in.Open()
	if err != nil {
		t.Note(flowlog.NoticeUnreadable, errText(err))
		return nil
	}
	defer rc.Close()
	r, err := NewReader(rc, t, opts)
	if err != nil || r == nil {
		return nil // reported through t
	}
	if c, ok := r.(io.Closer); ok {
		defer c.Close()
	}
	return use(r)
}

// NewReader detects the content of src and returns the reader for it, or
// nil after reporting an empty or unusable input through t.
func NewReader(src io.Reader, t *flowlog.Tally, opts *Options) (r flowlog.Reader, err error) {
	var closers []io.Closer
	defer func() {
		if len(closers) == 0 {
			return
		}
		if r == nil {
			for _, c := range closers {
				c.Close()
			}
			return
		}
		r = &closingReader{Reader: r, closers: closers}
	}()
	br := bufio.NewReaderSize(&errReader{r: src, t: t}, 256<<10)
	head, _ := br.Peek(sniffLen)
	atEOF := len(head) < sniffLen
	kind, why := Detect(head, atEOF)
	if kind == KindGzip {
		zr, err := gzip.NewReader(br)
		if err != nil {
			t.Note(flowlog.NoticeUnreadable, "gzip: "+err.Error())
			return nil, err
		}
		async := newAsyncReader(&gzipErrReader{r: zr})
		closers = append(closers, async)
		br = bufio.NewReaderSize(async, 256<<10)
		head, _ = br.Peek(sniffLen)
		atEOF = len(head) < sniffLen
		kind, why = Detect(head, atEOF)
		if kind == KindGzip {
			kind, why = KindUnrecognized, "gzip inside gzip"
		}
		src = nil // Parquet inside gzip is read from memory
	}
	if opts.Format != "" {
		return openForced(br, t, opts)
	}
	switch kind {
	case KindEmpty:
		t.Note(flowlog.NoticeEmpty, "")
		return nil, nil
	case KindUnrecognized:
		if t.Unusable == flowlog.NoticeNone { // a read error may have been reported already
			t.Note(flowlog.NoticeUnrecognized, why)
		}
		return nil, nil
	case KindParquet:
		return openParquet(src, br, t, opts)
	case KindPcap, KindPcapng:
		if opts.Capture == nil {
			t.Note(flowlog.NoticeUnsupported, "capture files are read by `flowsift flows` and `flowsift capture` only")
			return nil, nil
		}
		return opts.Capture(br, t, kind == KindPcapng), nil
	case KindJSON:
		return openJSON(br, t, opts)
	case KindCWLCSV:
		return openCWLCSV(br, t, opts)
	case KindAlibabaCSV:
		return openAlibabaCSV(br, t, opts)
	case KindAWSText:
		return openAWSText(br, t, opts)
	}
	t.Note(flowlog.NoticeUnrecognized, why)
	return nil, nil
}

func openAWSText(br *bufio.Reader, t *flowlog.Tally, opts *Options) (flowlog.Reader, error) {
	f, err := awsFormat(t, opts)
	if err != nil {
		return nil, err
	}
	return aws.NewTextReader(br, t, f), nil
}

// awsFormat is the --aws-fields format (nil: the default one); an invalid
// one is noted as unsupported.
func awsFormat(t *flowlog.Tally, opts *Options) (*aws.Format, error) {
	if len(opts.AWSFields) == 0 {
		return nil, nil
	}
	f, err := aws.NewFormat(opts.AWSFields)
	if err != nil {
		t.Note(flowlog.NoticeUnsupported, "--aws-fields: "+err.Error())
		return nil, err
	}
	return f, nil
}

func openForced(br *bufio.Reader, t *flowlog.Tally, opts *Options) (flowlog.Reader, error) {
	src, ok := flowlog.ParseSource(opts.Format)
	if !ok {
		t.Note(flowlog.NoticeUnsupported, fmt.Sprintf("unknown input format %q", opts.Format))
		return nil, nil
	}
	switch src {
	case flowlog.SourceAWSText:
		return openAWSText(br, t, opts)
	case flowlog.SourceAWSParquet:
		return openParquet(nil, br, t, opts)
	case flowlog.SourceAWSCWLCSV:
		return openCWLCSV(br, t, opts)
	case flowlog.SourceAlibabaCSV:
		return openAlibabaCSV(br, t, opts)
	case flowlog.SourcePcap, flowlog.SourcePcapng:
		if opts.Capture != nil {
			return opts.Capture(br, t, src == flowlog.SourcePcapng), nil
		}
	case flowlog.SourceGCPFlows, flowlog.SourceGCPFirewall, flowlog.SourceAzureNSG,
		flowlog.SourceAzureVNet, flowlog.SourceAWSCWLJSON, flowlog.SourceAlibabaJSON:
		return openJSONAs(br, t, opts, src)
	}
	t.Note(flowlog.NoticeUnsupported, fmt.Sprintf("input format %q cannot be forced", opts.Format))
	return nil, nil
}

// closingReader releases what a reader's input needed (the decompressor's
// goroutine) when the run is done with it.
type closingReader struct {
	flowlog.Reader
	closers []io.Closer
}

func (c *closingReader) Close() error {
	for _, cl := range c.closers {
		cl.Close()
	}
	if inner, ok := c.Reader.(io.Closer); ok {
		return inner.Close()
	}
	return nil
}

// readAll buffers a whole input (Parquet from stdin or gzip).
func readAll(src io.Reader, br *bufio.Reader) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(br)
	return buf.Bytes(), err
}

// readerAt returns random access to the input: the file itself when src is
// an uncompressed regular file, else the whole input in memory.
func readerAt(src io.Reader, br *bufio.Reader) (io.ReaderAt, int64, error) {
	if f, ok := underlyingFile(src); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			return f, st.Size(), nil
		}
	}
	b, err := readAll(src, br)
	return bytes.NewReader(b), int64(len(b)), err
}

func underlyingFile(src io.Reader) (*os.File, bool) {
	if er, ok := src.(*errReader); ok {
		src = er.r
	}
	f, ok := src.(*os.File)
	return f, ok
}

// errReader turns read errors of the underlying input into one unreadable
// notice (I/O errors) while passing them on to stop the reader.
type errReader struct {
	r io.Reader
	t *flowlog.Tally
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.t.Unusable == flowlog.NoticeNone {
		e.t.Note(flowlog.NoticeUnreadable, errText(err))
	}
	return n, err
}

// ErrGzipTruncated is what readers see when a gzip stream ends early.
var ErrGzipTruncated = errors.New("unexpected end of gzip stream")

type gzipErrReader struct{ r io.Reader }

func (g *gzipErrReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	switch {
	case err == nil, err == io.EOF:
	case errors.Is(err, io.ErrUnexpectedEOF):
		err = ErrGzipTruncated
	default:
		err = fmt.Errorf("corrupt gzip stream: %v", err)
	}
	return n, err
}
