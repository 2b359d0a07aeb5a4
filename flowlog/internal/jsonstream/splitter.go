package jsonstream

import (
	"errors"
	"io"
)

// DefaultMax is the largest value a Splitter keeps whole (64 MiB, the same
// bound as the longest text line); larger values are skipped and reported.
const DefaultMax = 64 << 20

var (
	// ErrTruncated: the input ended inside a value (or a container).
	ErrTruncated = errors.New("input ends inside a JSON value")
	// ErrTooLarge: the value exceeded the size bound; it was skipped.
	ErrTooLarge = errors.New("JSON value larger than the size limit")
	// ErrSyntax: a byte that cannot start or continue the structure here.
	ErrSyntax = errors.New("JSON syntax error")
)

// Splitter cuts a byte stream into JSON values without parsing them: it
// tracks string and escape state and bracket depth only. It keeps line
// numbers (1-based, counting '\n') and never holds more than Max bytes of
// one value plus a read chunk.
type Splitter struct {
	r    io.Reader
	buf  []byte
	off  int   // first unconsumed byte
	n    int   // end of valid bytes
	line int64 // line of buf[off]
	eof  bool
	err  error // read error other than io.EOF
	max  int
	// value scan state, kept across refills
	big bool // the current value exceeded max and is being skipped
}

// NewSplitter reads r; max bounds one value (0 means DefaultMax).
func NewSplitter(r io.Reader, max int) *Splitter {
	if max <= 0 {
		max = DefaultMax
	}
	size := 64 << 10
	if size > max+1 {
		size = max + 1
	}
	return &Splitter{r: r, buf: make([]byte, size), line: 1, max: max}
}

// Line is the line number of the next unconsumed byte.
func (s *Splitter) Line() int64 { return s.line }

// ReadErr returns the read error (other than io.EOF) that ended the input.
func (s *Splitter) ReadErr() error { return s.err }

// fill reads more bytes, keeping buf[keep:n]. It returns false when no
// more bytes can come (end of input or read error).
func (s *Splitter) fill(keep int) bool {
	if s.eof || s.err != nil {
		return false
	}
	if keep > 0 {
		copy(s.buf, s.buf[keep:s.n])
		s.n -= keep
		s.off -= keep
	}
	if s.n == len(s.buf) {
		nb := make([]byte, 2*len(s.buf))
		copy(nb, s.buf[:s.n])
		s.buf = nb
	}
	for tries := 0; tries < 100; tries++ {
		m, err := s.r.Read(s.buf[s.n:])
		s.n += m
		if err != nil {
			if err == io.EOF {
				s.eof = true
			} else {
				s.err = err
			}
			return m > 0
		}
		if m > 0 {
			return true
		}
	}
	s.err = io.ErrNoProgress
	return false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// Peek skips whitespace (and a UTF-8 byte order mark at the very start)
// and returns the next byte without consuming it; ok is false at the end.
func (s *Splitter) Peek() (byte, bool) {
	for {
		for s.off < s.n {
			c := s.buf[s.off]
			if !isSpace(c) {
				if c == 0xEF && s.line == 1 && s.off+2 < s.n && s.buf[s.off+1] == 0xBB && s.buf[s.off+2] == 0xBF {
					s.off += 3
					continue
				}
				if c == 0xEF && s.line == 1 && s.off+2 >= s.n && !s.eof && s.err == nil {
					break // maybe a BOM cut by the buffer end: read more first
				}
				return c, true
			}
			if c == '\n' {
				s.line++
			}
			s.off++
		}
		if !s.fill(s.off) {
			if s.off < s.n { // a lone 0xEF at the end
				return s.buf[s.off], true
			}
			return 0, false
		}
	}
}

// Advance consumes one byte (the one Peek returned).
func (s *Splitter) Advance() {
	if s.off < s.n {
		if s.buf[s.off] == '\n' {
			s.line++
		}
		s.off++
	}
}

// SkipLine discards everything up to and including the next '\n'.
func (s *Splitter) SkipLine() {
	for {
		for s.off < s.n {
			c := s.buf[s.off]
			s.off++
			if c == '\n' {
				s.line++
				return
			}
		}
		if !s.fill(s.off) {
			return
		}
	}
}

// Value returns the bytes of the next complete JSON value and the line it
// starts on. The bytes are valid until the next call. Errors: io.EOF (no
// value left), ErrTruncated (the input ended inside the value, or a read
// error did: see ReadErr), ErrTooLarge (the value was skipped whole),
// ErrSyntax (the next byte cannot start a value: it is not consumed).
//
// Only string/escape state and bracket depth are tracked: the caller
// validates the value with a real parser.
func (s *Splitter) Value() ([]byte, int64, error) {
	c, ok := s.Peek()
	if !ok {
		return nil, s.line, io.EOF
	}
	startLine := s.line
	switch c {
	case ']', '}', ',', ':':
		return nil, startLine, ErrSyntax
	}
	start := s.off
	i := start
	depth := 0
	inStr := false
	esc := false
	scalar := c != '{' && c != '[' && c != '"'
	var nl int64
	s.big = false
	for {
		for ; i < s.n; i++ {
			b := s.buf[i]
			if scalar {
				if isSpace(b) || b == ',' || b == ']' || b == '}' || b == ':' || b == '[' || b == '{' || b == '"' {
					return s.finish(start, i, startLine, nl)
				}
				continue
			}
			if b == '\n' {
				nl++ // only inside strings (invalid JSON, but lines must stay right) or between tokens
			}
			if inStr {
				switch {
				case esc:
					esc = false
				case b == '\\':
					esc = true
				case b == '"':
					inStr = false
					if depth == 0 { // a top-level string ends here
						return s.finish(start, i+1, startLine, nl)
					}
				}
				continue
			}
			switch b {
			case '"':
				inStr = true
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth <= 0 {
					return s.finish(start, i+1, startLine, nl)
				}
			}
		}
		// Need more input.
		if i-start >= s.max {
			// Too large: drop what was scanned, keep scanning to the end.
			s.big = true
			start = i
		}
		keep := start
		s.off = start
		more := s.fill(keep)
		i -= keep
		start -= keep
		if !more {
			if scalar && s.err == nil && i > start {
				return s.finish(start, i, startLine, nl) // a scalar ending at EOF
			}
			s.line = startLine + nl
			s.off = s.n
			s.big = false
			return nil, startLine, ErrTruncated
		}
	}
}

func (s *Splitter) finish(start, end int, startLine, nl int64) ([]byte, int64, error) {
	s.off = end
	s.line = startLine + nl
	if s.big {
		s.big = false
		return nil, startLine, ErrTooLarge
	}
	return s.buf[start:end], startLine, nil
}
