package csvrow

import (
	"bytes"
	"io"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/internal/lex"
)

// MaxRowLines bounds how many lines one row may span through quoted
// newlines. A quote opened by mistake would otherwise swallow the rest of the
// input; past this bound the row is reported as badly quoted and reading
// resumes on its second line.
const MaxRowLines = 256

// maxRowBytes bounds the bytes of one multi-line row for the same reason.
const maxRowBytes = 1 << 20

// Scanner splits its input into CSV rows (RFC 4180, comma-separated, the
// quoting rules of encoding/csv without LazyQuotes): a cell starting with '"'
// is quoted, '""' inside it is one '"', and it may span lines; a '"' inside an
// unquoted cell, or anything but ',' or the end of the line after a closing
// quote, is a quoting error. Lines end at \n with one \r before it removed
// (a quoted newline reads as "\n", as encoding/csv gives it). Empty lines
// between rows are skipped, as encoding/csv does; with SkipBlank, lines of
// only spaces and tabs are skipped too and counted in Blank (FORMATS.md 2.4).
//
// After Next returns true, either Bad is non-empty (the row starting at Line
// could not be split; reading resumes on the line after Line, so that no line
// is lost to a stray quote) or Cells holds the row.
type Scanner struct {
	SkipBlank bool  // skip lines of only spaces and tabs (counted in Blank)
	TrimBOM   bool  // drop a UTF-8 byte order mark at the start of the input
	Blank     int64 // blank lines skipped (empty ones too when SkipBlank)

	Line  int64    // line number where the current row starts
	Cells [][]byte // the row's cells, valid until the next call
	Bad   string   // why the current row could not be split, or ""

	lines *lex.Lines
	buf   []byte // unquoted cell bytes of the current row
	ends  []int  // end offset in buf of each cell

	// Lines of the current row, kept only once it spans a second line, so
	// that a quoting error can resume on the row's second line.
	raw     []byte
	rawEnds []int
	multi   bool

	// Lines to read again before the underlying input (after a quoting
	// error in a multi-line row). Their numbers are consecutive from
	// pendFirst.
	pend      []byte
	pendEnds  []int
	pendNext  int
	pendFirst int64
	spare     []byte
	spareEnds []int

	lastN   int64 // number of the last line taken from the input
	long    bool  // a line of the current row was cut by lex.MaxLine
	partial int64 // first line of a row cut by a read error
}

// New returns a scanner over r.
func New(r io.Reader) *Scanner {
	return &Scanner{lines: lex.NewLines(r)}
}

// Err returns the read error that stopped the scanner (nil at a clean end).
func (s *Scanner) Err() error { return s.lines.Err() }

// Finish ends a reader's pass once Next has returned false: it adds the
// blank lines skipped to t.Blank (and clears Blank) and reports a read
// error as a truncation at TruncatedAt.
func (s *Scanner) Finish(t *flowlog.Tally) {
	t.Blank += s.Blank
	s.Blank = 0
	if err := s.Err(); err != nil {
		t.Badf(s.TruncatedAt(), flowlog.KindTruncated, "%v", err)
	}
}

// TruncatedAt is the line to name in a truncation report after a read
// error: the first line of a row that was cut (a quoted cell open across
// lines), else the line after the last complete one.
func (s *Scanner) TruncatedAt() int64 {
	if s.partial > 0 {
		return s.partial
	}
	return s.lastN + 1
}

// nextLine returns the next line to parse and its number.
func (s *Scanner) nextLine() ([]byte, int64, bool) {
	if s.pendNext < len(s.pendEnds) {
		i := s.pendNext
		start := 0
		if i > 0 {
			start = s.pendEnds[i-1]
		}
		s.pendNext++
		return s.pend[start:s.pendEnds[i]], s.pendFirst + int64(i), true
	}
	if !s.lines.Next() {
		return nil, 0, false
	}
	s.lastN = s.lines.N
	if s.lines.Long {
		s.long = true
	}
	line := s.lines.Line
	if s.lines.N == 1 && s.TrimBOM {
		line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
	}
	return line, s.lines.N, true
}

// keep saves a line of the current row for a possible resume.
func (s *Scanner) keep(line []byte) {
	s.raw = append(s.raw, line...)
	s.rawEnds = append(s.rawEnds, len(s.raw))
}

// Next advances to the next row. It returns false at the end of the input
// (or at a read error: see Err).
func (s *Scanner) Next() bool {
	for {
		line, n, ok := s.nextLine()
		if !ok {
			return false
		}
		if len(line) == 0 || (s.SkipBlank && lex.IsBlank(line)) {
			s.Blank++
			s.long = false
			continue
		}
		s.Line = n
		s.Bad = ""
		s.buf = s.buf[:0]
		s.ends = s.ends[:0]
		s.multi = false
		more, bad := s.parse(line, false)
		for more && bad == "" {
			if !s.multi {
				s.raw = s.raw[:0]
				s.rawEnds = s.rawEnds[:0]
				s.keep(line)
				s.multi = true
			}
			if len(s.rawEnds) >= MaxRowLines || len(s.raw) > maxRowBytes {
				bad = "a quoted cell spans too many lines (unbalanced quotes?)"
				break
			}
			line, _, ok = s.nextLine()
			if !ok {
				if s.Err() != nil {
					// Damaged input: the partial row is the reader's
					// truncation report, not a quoting error.
					s.partial = s.Line
					return false
				}
				bad = "a quoted cell is not closed before the end of the input"
				break
			}
			s.keep(line)
			s.buf = append(s.buf, '\n')
			more, bad = s.parse(line, true)
		}
		if s.long && bad == "" {
			bad = "line longer than the limit"
		}
		s.long = false
		if bad != "" {
			s.Bad = bad
			s.Cells = s.Cells[:0]
			if s.multi {
				s.requeue()
			}
			return true
		}
		s.Cells = s.Cells[:0]
		start := 0
		for _, e := range s.ends {
			s.Cells = append(s.Cells, s.buf[start:e:e])
			start = e
		}
		return true
	}
}

// requeue puts the lines of the failed multi-line row, but its first, back
// in front of the unread pending lines.
func (s *Scanner) requeue() {
	np := s.spare[:0]
	ne := s.spareEnds[:0]
	first := s.rawEnds[0]
	for _, e := range s.rawEnds[1:] {
		np = append(np, s.raw[first:e]...)
		ne = append(ne, len(np))
		first = e
	}
	// Pending lines not read yet follow.
	if s.pendNext < len(s.pendEnds) {
		start := 0
		if s.pendNext > 0 {
			start = s.pendEnds[s.pendNext-1]
		}
		for _, e := range s.pendEnds[s.pendNext:] {
			np = append(np, s.pend[start:e]...)
			ne = append(ne, len(np))
			start = e
		}
	}
	s.spare, s.spareEnds = s.pend, s.pendEnds
	s.pend, s.pendEnds = np, ne
	s.pendNext = 0
	s.pendFirst = s.Line + 1
}

// parse splits one line of the current row into s.buf/s.ends. inQuote says
// a quoted cell continues from the previous line. It returns more when a
// quoted cell is still open at the end of the line, or a quoting error.
func (s *Scanner) parse(line []byte, inQuote bool) (more bool, bad string) {
	i := 0
	for {
		if inQuote || (i < len(line) && line[i] == '"') {
			if !inQuote {
				i++
			}
			inQuote = false
			for {
				j := bytes.IndexByte(line[i:], '"')
				if j < 0 {
					s.buf = append(s.buf, line[i:]...)
					return true, ""
				}
				s.buf = append(s.buf, line[i:i+j]...)
				i += j + 1
				if i < len(line) && line[i] == '"' {
					s.buf = append(s.buf, '"')
					i++
					continue
				}
				break
			}
			s.ends = append(s.ends, len(s.buf))
			if i == len(line) {
				return false, ""
			}
			if line[i] != ',' {
				return false, "extraneous or missing \" in a quoted cell"
			}
			i++
			continue
		}
		j := bytes.IndexByte(line[i:], ',')
		cell := line[i:]
		if j >= 0 {
			cell = line[i : i+j]
		}
		if bytes.IndexByte(cell, '"') >= 0 {
			return false, "bare \" in an unquoted cell"
		}
		s.buf = append(s.buf, cell...)
		s.ends = append(s.ends, len(s.buf))
		if j < 0 {
			return false, ""
		}
		i += j + 1
	}
}
