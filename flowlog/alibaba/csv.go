package alibaba

import (
	"io"
	"strconv"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/internal/csvrow"
)

// CSVReader reads the SLS CSV export (FORMATS.md 5): a header row naming the
// columns in any order, then one row per record, values double-quoted by RFC
// 4180 (quoted newlines included). Positions are line numbers of a row's
// first line; the header is line 1. A row with another cell count than the
// header is field-count, a row whose quoting is broken too (reading resumes
// on its next line); the other rules are those of the JSON rows.
type CSVReader struct {
	rows   *csvrow.Scanner
	t      *flowlog.Tally
	rules  rowRules
	cols   []field // field of each header column (noField: ignored)
	header bool    // the header row has been read
	done   bool
}

// NewCSVReader reads r, reporting to t. Records get source alibaba-sls-csv.
func NewCSVReader(r io.Reader, t *flowlog.Tally) *CSVReader {
	t.Format = flowlog.SourceAlibabaCSV
	rows := csvrow.New(r)
	rows.SkipBlank = true
	rows.TrimBOM = true
	return &CSVReader{
		rows:  rows,
		t:     t,
		rules: rowRules{t: t, src: flowlog.SourceAlibabaCSV},
	}
}

// Next implements flowlog.Reader.
func (cr *CSVReader) Next(rec *flowlog.Record) bool {
	if cr.done {
		return false
	}
	t := cr.t
	rows := cr.rows
	for !t.Aborted() && rows.Next() {
		pos := rows.Line
		if !cr.header {
			if !cr.readHeader(pos) {
				break
			}
			continue
		}
		if rows.Bad != "" {
			t.Badf(pos, flowlog.KindFieldCount, "CSV quoting: %s", rows.Bad)
			continue
		}
		if len(rows.Cells) != len(cr.cols) {
			t.Badf(pos, flowlog.KindFieldCount, "%d cells, the header has %d", len(rows.Cells), len(cr.cols))
			continue
		}
		r := &cr.rules
		r.clear()
		for i, c := range rows.Cells {
			if f := cr.cols[i]; f != noField {
				r.vals[f] = value{b: c, kind: vText}
			}
		}
		if r.build(pos, rec) {
			t.Records++
			return true
		}
	}
	cr.done = true
	rows.Finish(t)
	return false
}

// readHeader maps the columns of the header row at line pos. It returns
// false when the input cannot be read (the header row cannot be split).
func (cr *CSVReader) readHeader(pos int64) bool {
	t := cr.t
	if cr.rows.Bad != "" {
		t.Note(flowlog.NoticeUnsupported, "line "+strconv.FormatInt(pos, 10)+": the CSV header row cannot be read: "+cr.rows.Bad)
		return false
	}
	cr.header = true
	t.Headers++
	cr.cols = make([]field, len(cr.rows.Cells))
	var seen [numFields]bool
	repeated := false
	for i, c := range cr.rows.Cells {
		f := lookup(c)
		if f != noField && seen[f] {
			// The first column of that name is used; one report per
			// position (the first repeat).
			if !repeated {
				t.Badf(pos, flowlog.KindBadHeader, "column %d repeats %q: the first one is used", i+1, c)
				repeated = true
			}
			f = noField
		}
		if f != noField {
			seen[f] = true
		}
		cr.cols[i] = f
	}
	return true
}
