package lex

import (
	"bufio"
	"errors"
	"io"
)

// MaxLine is the longest line kept whole; longer lines are cut (Long is set)
// so that one bad line cannot exhaust memory.
const MaxLine = 64 << 20

// Lines reads \n-terminated lines (one \r before the \n is dropped; a last
// line without \n is still a line at a clean end of input). Line numbers
// count every line from 1. A read error other than io.EOF stops the scanner
// and the incomplete line is discarded: Err returns the error and the first
// line that was not read whole is N+1.
type Lines struct {
	r    *bufio.Reader
	N    int64  // number of the current line
	Line []byte // current line, valid until the next call
	Long bool   // the current line exceeded MaxLine and was cut
	long []byte
	err  error
}

// NewLines reads from r with a 256 KiB buffer (or r itself if it is already
// a large enough *bufio.Reader).
func NewLines(r io.Reader) *Lines {
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < 64<<10 {
		br = bufio.NewReaderSize(r, 256<<10)
	}
	return &Lines{r: br}
}

// Next advances to the next line.
func (l *Lines) Next() bool {
	if l.err != nil {
		return false
	}
	l.Long = false
	b, err := l.r.ReadSlice('\n')
	if err == nil {
		l.N++
		l.Line = trimCR(b[:len(b)-1])
		return true
	}
	if errors.Is(err, bufio.ErrBufferFull) {
		return l.slow(b)
	}
	return l.finish(b, err)
}

func (l *Lines) slow(b []byte) bool {
	l.long = append(l.long[:0], b...)
	for {
		b, err := l.r.ReadSlice('\n')
		if len(l.long) < MaxLine {
			room := MaxLine - len(l.long)
			if len(b) > room {
				l.long = append(l.long, b[:room]...)
				l.Long = true
			} else {
				l.long = append(l.long, b...)
			}
		} else {
			l.Long = true
		}
		if err == nil {
			l.N++
			if !l.Long {
				l.long = l.long[:len(l.long)-1]
			}
			l.Line = trimCR(l.long)
			return true
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return l.finish(l.long, err)
	}
}

func (l *Lines) finish(pending []byte, err error) bool {
	if err == io.EOF {
		l.err = io.EOF
		if len(pending) > 0 {
			l.N++
			l.Line = trimCR(pending)
			return true
		}
		return false
	}
	l.err = err
	return false
}

// Err returns the read error that stopped the scanner, or nil after a clean
// end of input.
func (l *Lines) Err() error {
	if l.err == io.EOF {
		return nil
	}
	return l.err
}

func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}
