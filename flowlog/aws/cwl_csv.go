package aws

import (
	"io"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/internal/csvrow"
	"github.com/flowsift/flowsift/flowlog/internal/lex"
)

// CWLCSVReader reads the CloudWatch Logs console CSV export (FORMATS.md
// 3.8.3): a first row `timestamp,message`, then one CSV row per log event,
// the event time in milliseconds and the message, which is one flow-log line
// read as in 3.1. Position = the file line where the row starts; source
// aws-cwl-csv.
//
// Rules chosen here (the shape is known from one user report, FORMATS.md
// 12.6): a row must have exactly two cells (field-count, as must a row whose
// CSV quoting is broken); the timestamp must be a decimal integer (bad-number),
// although the record's times come from the message; a first row other than
// `timestamp,message` is read as an event, not skipped.
type CWLCSVReader struct {
	rows   *csvrow.Scanner
	t      *flowlog.Tally
	p      LineParser
	header bool // the first row has been looked at
	done   bool
}

// NewCWLCSVReader reads r, reporting to t. format is the field order of the
// messages (nil: the default format).
func NewCWLCSVReader(r io.Reader, t *flowlog.Tally, format *Format) *CWLCSVReader {
	if format == nil {
		format = DefaultFormat
	}
	t.Format = flowlog.SourceAWSCWLCSV
	rows := csvrow.New(r)
	rows.SkipBlank = true
	rows.TrimBOM = true
	return &CWLCSVReader{
		rows: rows,
		t:    t,
		p:    LineParser{Format: format, Tally: t, In: &flowlog.Interner{}, Source: flowlog.SourceAWSCWLCSV},
	}
}

// Next implements flowlog.Reader.
func (cr *CWLCSVReader) Next(rec *flowlog.Record) bool {
	if cr.done {
		return false
	}
	t := cr.t
	rows := cr.rows
	for !t.Aborted() && rows.Next() {
		pos := rows.Line
		if rows.Bad != "" {
			cr.header = true
			t.Badf(pos, flowlog.KindFieldCount, "CSV quoting: %s", rows.Bad)
			continue
		}
		cells := rows.Cells
		if !cr.header {
			cr.header = true
			if len(cells) == 2 && string(cells[0]) == "timestamp" && string(cells[1]) == "message" {
				t.Headers++
				continue
			}
		}
		if len(cells) != 2 {
			t.Badf(pos, flowlog.KindFieldCount, "%d cells, want 2 (timestamp,message)", len(cells))
			continue
		}
		if _, e := lex.ParseUint(cells[0], lex.MaxInt64); e != lex.NumOK {
			t.Badf(pos, flowlog.KindBadNumber, "timestamp %q is not a time in milliseconds", cells[0])
			continue
		}
		if cr.p.Parse(cells[1], pos, rec) {
			t.Records++
			return true
		}
	}
	cr.done = true
	rows.Finish(t)
	return false
}
