package flowlog

import (
	"fmt"
	"strconv"
)

// Kind is why a line, element or row was rejected (FORMATS.md 2.7).
type Kind uint8

const (
	KindFieldCount Kind = iota
	KindBadHeader
	KindBadNumber
	KindBadPort
	KindBadProtocol
	KindBadIP
	KindBadValue
	KindBadTime
	KindBadJSON
	KindMissingField
	KindTruncated
	NumKinds
)

var kindNames = [NumKinds]string{
	"field-count", "bad-header", "bad-number", "bad-port", "bad-protocol",
	"bad-ip", "bad-value", "bad-time", "bad-json", "missing-field", "truncated",
}

func (k Kind) String() string {
	if k >= NumKinds {
		return "unknown-kind"
	}
	return kindNames[k]
}

// Notice is a file-level condition (no position).
type Notice uint8

const (
	NoticeNone         Notice = iota
	NoticeEmpty               // no bytes or only whitespace: not an error
	NoticeUnrecognized        // no reader recognizes the content: unusable
	NoticeUnreadable          // missing, permission, I/O, glob without match: unusable
	NoticeUnsupported         // recognized but cannot be read (e.g. a Parquet column type): unusable
	NoticeInfo                // informational (e.g. unknown Parquet columns ignored)
)

var noticeNames = [...]string{"", "empty", "unrecognized", "unreadable", "unsupported", "note"}

func (n Notice) String() string { return noticeNames[n] }

// Unusable reports whether the notice makes the input unusable (exit 1).
func (n Notice) Unusable() bool {
	return n == NoticeUnrecognized || n == NoticeUnreadable || n == NoticeUnsupported
}

// Problem is one report: a malformed position (Pos > 0) or a file notice.
type Problem struct {
	Path   string
	Pos    int64 // line, 1-based element index or Parquet row; 0 for a file notice
	Kind   Kind
	Notice Notice
	Detail string
}

// String formats the problem the way stderr shows it:
// "PATH:LINE: KIND: detail" or "PATH: NOTICE: detail".
func (p Problem) String() string {
	if p.Pos > 0 {
		s := p.Path + ":" + strconv.FormatInt(p.Pos, 10) + ": " + p.Kind.String()
		if p.Detail != "" {
			s += ": " + p.Detail
		}
		return s
	}
	s := p.Path + ": " + p.Notice.String()
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	return s
}

// Tally counts what reading one input gave and forwards every report to
// OnProblem. Readers call Bad for each malformed position and the counting
// helpers for the rest; the driver prints the summary from it.
type Tally struct {
	Path   string
	Format Source // detected format (SourceUnknown until known)

	Records   int64 // records produced
	NoData    int64 // AWS/Alibaba NODATA lines
	SkipData  int64 // SKIPDATA lines
	Blank     int64 // blank lines skipped
	Headers   int64 // AWS header lines
	BadPktIP  int64 // AWS pkt-srcaddr/pkt-dstaddr that did not parse (key left out)
	Malformed [NumKinds]int64

	Empty     bool
	Truncated bool
	Unusable  Notice // NoticeNone when usable

	// OnProblem receives every report in order; nil drops them (tests).
	OnProblem func(Problem)
	// Strict makes the first malformed position stop the input (Aborted).
	Strict  bool
	aborted bool
}

// Bad reports a malformed position. Only the first defect of a position is
// reported: readers return after calling it.
func (t *Tally) Bad(pos int64, k Kind, detail string) {
	t.Malformed[k]++
	if k == KindTruncated {
		t.Truncated = true
	}
	if t.OnProblem != nil {
		t.OnProblem(Problem{Path: t.Path, Pos: pos, Kind: k, Detail: detail})
	}
	if t.Strict {
		t.aborted = true
	}
}

// Badf is Bad with a formatted detail.
func (t *Tally) Badf(pos int64, k Kind, format string, args ...any) {
	t.Bad(pos, k, fmt.Sprintf(format, args...))
}

// Note reports a file-level notice. Unusable notices mark the input unusable.
func (t *Tally) Note(n Notice, detail string) {
	switch {
	case n == NoticeEmpty:
		t.Empty = true
	case n.Unusable():
		t.Unusable = n
	}
	if t.OnProblem != nil {
		t.OnProblem(Problem{Path: t.Path, Notice: n, Detail: detail})
	}
}

// Add adds o's counts to t: records, NODATA, SKIPDATA, blank and header
// lines, bad packet addresses, malformed positions and truncation (the
// file-level state, path, format and notices, stays t's).
func (t *Tally) Add(o *Tally) {
	t.Records += o.Records
	t.NoData += o.NoData
	t.SkipData += o.SkipData
	t.Blank += o.Blank
	t.Headers += o.Headers
	t.BadPktIP += o.BadPktIP
	for k, n := range o.Malformed {
		t.Malformed[k] += n
	}
	t.Truncated = t.Truncated || o.Truncated
}

// Aborted reports whether a strict tally saw a malformed position.
func (t *Tally) Aborted() bool { return t.aborted }

// MalformedTotal is the number of malformed positions of all kinds.
func (t *Tally) MalformedTotal() int64 {
	var n int64
	for _, c := range t.Malformed {
		n += c
	}
	return n
}

// Reader yields the records of one input. Next fills rec and returns true,
// or returns false at the end of the input (or when the Tally is aborted).
// Problems are reported through the reader's Tally, never returned.
// rec.Attrs may alias reader-owned memory until the next call.
type Reader interface {
	Next(rec *Record) bool
}
