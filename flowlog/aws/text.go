package aws

import (
	"bytes"
	"io"
	"slices"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/internal/lex"
)

// TextReader reads AWS flow-log text: an optional header line names the
// field order (S3 objects), otherwise the default format applies
// (CloudWatch messages). A later header takes effect from the next line.
type TextReader struct {
	lines *lex.Lines
	p     LineParser
	tally *flowlog.Tally
	toks  [maxFields][]byte
	done  bool
}

// NewTextReader reads r, reporting to t. A nil format means the default.
func NewTextReader(r io.Reader, t *flowlog.Tally, format *Format) *TextReader {
	if format == nil {
		format = DefaultFormat
	}
	t.Format = flowlog.SourceAWSText
	return &TextReader{
		lines: lex.NewLines(r),
		p:     LineParser{Format: format, Tally: t, In: &flowlog.Interner{}, Source: flowlog.SourceAWSText},
		tally: t,
	}
}

// Format returns the field order in effect.
func (tr *TextReader) Format() *Format { return tr.p.Format }

// Next implements flowlog.Reader.
func (tr *TextReader) Next(rec *flowlog.Record) bool {
	if tr.done {
		return false
	}
	t := tr.tally
	for !t.Aborted() && tr.lines.Next() {
		line := tr.lines.Line
		pos := tr.lines.N
		first := firstNonBlank(line)
		if first < 0 {
			t.Blank++
			continue
		}
		if c := line[first]; c >= 'a' && c <= 'z' {
			switch f, cls, detail := headerLine(line, &tr.toks); cls {
			case isHeader:
				if f != nil { // classifyHeader guarantees it
					tr.p.Format = f
				}
				t.Headers++
				continue
			case lookAlike:
				t.Bad(pos, flowlog.KindBadHeader, detail+": not a header, the field order stays as it was")
				continue
			}
		}
		if tr.p.Parse(line, pos, rec) {
			t.Records++
			return true
		}
	}
	tr.done = true
	if err := tr.lines.Err(); err != nil {
		t.Badf(tr.lines.N+1, flowlog.KindTruncated, "%v", err)
	}
	return false
}

func firstNonBlank(b []byte) int {
	for i, c := range b {
		if c != ' ' && c != '\t' {
			return i
		}
	}
	return -1
}

// Lines is the number of lines read so far (the last one's number).
func (tr *TextReader) Lines() int64 { return tr.lines.N }

// headerLine classifies a non-blank line (FORMATS.md 3.1): for a header,
// the field order it names; for a look-alike, the detail to report.
func headerLine(line []byte, buf *[maxFields][]byte) (*Format, headerClass, string) {
	toks, n := lex.Fields(line, buf[:0:maxFields])
	cls, detail := classifyHeader(toks, n)
	if cls != isHeader {
		return nil, cls, detail
	}
	names := make([]string, len(toks))
	for i, tk := range toks {
		names[i] = string(tk)
	}
	f, err := NewFormat(names)
	if err != nil {
		return nil, cls, ""
	}
	return f, cls, ""
}

// LeadingFormat is the field order in effect after the first non-blank
// line of head: the header's when that line is one, def otherwise (nil
// meaning the default format). A first line longer than head is taken as
// data. Splitting a file by byte ranges (flowlog/input) starts the later
// ranges with it and checks the guess against the reader of the range
// before.
func LeadingFormat(head []byte, def *Format) *Format {
	if def == nil {
		def = DefaultFormat
	}
	var buf [maxFields][]byte
	for line := range bytes.Lines(head[:bytes.LastIndexByte(head, '\n')+1]) {
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte{'\n'}), []byte{'\r'})
		if lex.IsBlank(line) {
			continue
		}
		if f, cls, _ := headerLine(line, &buf); cls == isHeader && f != nil {
			return f
		}
		return def
	}
	return def
}

// Same reports whether f and o read lines the same way (the same fields in
// the same order); nil is the default format.
func (f *Format) Same(o *Format) bool {
	if f == nil {
		f = DefaultFormat
	}
	if o == nil {
		o = DefaultFormat
	}
	return f == o || slices.Equal(f.fields, o.fields)
}
