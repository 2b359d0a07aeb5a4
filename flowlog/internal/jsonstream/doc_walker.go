package jsonstream

import (
	"io"
)

// Container says where an Item came from, which decides its position.
type Container uint8

const (
	// TopLevel: a top-level value that is neither an array nor a wrapper
	// object; its position is the line it starts on.
	TopLevel Container = iota
	// Element: an element of a top-level array or of a wrapper's array;
	// its position is its 1-based ordinal.
	Element
)

// Item is one value of a document, or the report of one that could not be
// delimited (Err set).
type Item struct {
	Value []byte // valid until the next call of Next
	Pos   int64  // line (TopLevel) or 1-based ordinal (Element)
	Line  int64  // the line the value starts on
	In    Container
	// Key is the wrapper key when the element comes from a wrapper object's
	// array ("records", "logEvents"); "" for a plain top-level array.
	Key string
	// Header holds the members of the wrapper object that came before Key,
	// as a JSON object ("{...}"); valid until the next call of Next.
	Header []byte
	// Seq numbers the containers (arrays, wrappers) of the document: it
	// changes when a new one starts, so a caller can re-read Header.
	Seq int
	// Err: ErrTruncated (the input ended inside this item, or a read error
	// did: Splitter.ReadErr), ErrTooLarge or ErrSyntax.
	Err error
}

type state uint8

const (
	stTop state = iota
	stArray
	stObjRest // the members after a wrapper's array
)

// Doc walks a JSON document (or a sequence of top-level values) and yields
// the values to decode: the elements of a top-level array, the elements of
// the array under a wrapper key of a top-level object (streamed, never the
// whole document in memory), and any other top-level value whole.
type Doc struct {
	s        *Splitter
	wrappers []string
	st       state
	first    bool // no element of the current array yet
	key      string
	ord      int64 // running element ordinal (1-based after increment)
	hdr      []byte
	objLine  int64 // line where the current top-level object starts
	seq      int
	done     bool
}

// NewDoc walks r. wrappers are the object keys whose array value is
// streamed element by element (e.g. "records", "logEvents").
func NewDoc(r io.Reader, max int, wrappers ...string) *Doc {
	return &Doc{s: NewSplitter(r, max), wrappers: wrappers}
}

// Splitter returns the underlying splitter (for ReadErr and Line).
func (d *Doc) Splitter() *Splitter { return d.s }

// Next returns the next item; false at the end. After an ErrTruncated item
// there is nothing more.
func (d *Doc) Next() (Item, bool) {
	for !d.done {
		switch d.st {
		case stTop:
			if it, ok := d.top(); ok {
				return it, true
			}
		case stArray:
			if it, ok := d.array(); ok {
				return it, true
			}
		case stObjRest:
			if it, ok := d.objRest(); ok {
				return it, true
			}
		}
	}
	return Item{}, false
}

func (d *Doc) truncated(pos, line int64, in Container) (Item, bool) {
	d.done = true
	return Item{Pos: pos, Line: line, In: in, Key: d.key, Err: ErrTruncated}, true
}

// top handles the start of a top-level value.
func (d *Doc) top() (Item, bool) {
	s := d.s
	c, ok := s.Peek()
	if !ok {
		d.done = true
		if s.err != nil {
			return Item{Pos: s.line, Line: s.line, Err: ErrTruncated}, true
		}
		return Item{}, false
	}
	switch c {
	case '[':
		s.Advance()
		d.st, d.first, d.key = stArray, true, ""
		d.hdr = d.hdr[:0]
		d.seq++
		return Item{}, false
	case '{':
		return d.object()
	}
	line := s.line
	v, _, err := s.Value()
	switch err {
	case nil:
		return Item{Value: v, Pos: line, Line: line, In: TopLevel}, true
	case ErrSyntax:
		s.SkipLine()
		return Item{Pos: line, Line: line, In: TopLevel, Err: ErrSyntax}, true
	case ErrTruncated:
		return d.truncated(line, line, TopLevel)
	}
	return Item{Pos: line, Line: line, In: TopLevel, Err: err}, true
}

// object reads a top-level object's members up to a wrapper key whose value
// is an array (then streams it), or to its end (then yields it whole).
func (d *Doc) object() (Item, bool) {
	s := d.s
	line := s.line
	d.objLine = line
	s.Advance() // '{'
	d.hdr = append(d.hdr[:0], '{')
	members := 0
	for {
		c, ok := s.Peek()
		if !ok {
			return d.truncated(line, line, TopLevel)
		}
		if c == '}' {
			s.Advance()
			d.hdr = append(d.hdr, '}')
			return Item{Value: d.hdr, Pos: line, Line: line, In: TopLevel}, true
		}
		if members > 0 {
			if c != ',' {
				return d.syntax(line)
			}
			s.Advance()
			if c, ok = s.Peek(); !ok {
				return d.truncated(line, line, TopLevel)
			}
		}
		if c != '"' {
			return d.syntax(line)
		}
		k, _, err := s.Value()
		if err != nil {
			return d.valueErr(err, line)
		}
		mark := len(d.hdr)
		if members > 0 {
			d.hdr = append(d.hdr, ',')
		}
		d.hdr = append(d.hdr, k...)
		if c, ok = s.Peek(); !ok {
			return d.truncated(line, line, TopLevel)
		}
		if c != ':' {
			return d.syntax(line)
		}
		s.Advance()
		if c, ok = s.Peek(); !ok {
			return d.truncated(line, line, TopLevel)
		}
		if c == '[' {
			if w := d.wrapper(k); w != "" {
				d.hdr = append(d.hdr[:mark], '}')
				s.Advance()
				d.st, d.first, d.key = stArray, true, w
				d.seq++
				return Item{}, false
			}
		}
		v, _, err := s.Value()
		if err != nil {
			return d.valueErr(err, line)
		}
		if len(d.hdr)+len(v) > s.max {
			return d.valueErr(ErrTooLarge, line)
		}
		d.hdr = append(d.hdr, ':')
		d.hdr = append(d.hdr, v...)
		members++
	}
}

func (d *Doc) wrapper(quoted []byte) string {
	if len(quoted) < 2 {
		return ""
	}
	k := quoted[1 : len(quoted)-1]
	for _, w := range d.wrappers {
		if string(k) == w {
			return w
		}
	}
	return ""
}

func (d *Doc) syntax(line int64) (Item, bool) {
	d.s.SkipLine()
	d.st = stTop
	return Item{Pos: line, Line: line, In: TopLevel, Err: ErrSyntax}, true
}

func (d *Doc) valueErr(err error, line int64) (Item, bool) {
	switch err {
	case ErrTruncated, io.EOF:
		return d.truncated(line, line, TopLevel)
	case ErrSyntax:
		return d.syntax(line)
	}
	// ErrTooLarge: the member was skipped; the object cannot be yielded
	// whole any more: skip to the end of the line and start again.
	d.s.SkipLine()
	d.st = stTop
	return Item{Pos: line, Line: line, In: TopLevel, Err: err}, true
}

// array yields the next element of the current array.
func (d *Doc) array() (Item, bool) {
	s := d.s
	c, ok := s.Peek()
	if !ok {
		return d.truncated(d.ord+1, s.line, Element)
	}
	if c == ']' {
		s.Advance()
		if d.key != "" {
			d.st = stObjRest
		} else {
			d.st = stTop
		}
		return Item{}, false
	}
	if !d.first {
		if c != ',' {
			// Resynchronise: report, skip the rest of the line, go on.
			line := s.line
			s.SkipLine()
			d.first = true // a following comma is optional now
			d.ord++        // the broken element takes its ordinal
			return Item{Pos: d.ord, Line: line, In: Element, Key: d.key, Header: d.hdr, Seq: d.seq, Err: ErrSyntax}, true
		}
		s.Advance()
		if c, ok = s.Peek(); !ok {
			return d.truncated(d.ord+1, s.line, Element)
		}
		if c == ']' { // trailing comma: tolerated by the splitter, caught nowhere else
			return Item{}, false
		}
	} else if c == ',' {
		s.Advance()
		return Item{}, false
	}
	d.first = false
	d.ord++
	line := s.line
	v, _, err := s.Value()
	switch err {
	case nil:
		return Item{Value: v, Pos: d.ord, Line: line, In: Element, Key: d.key, Header: d.hdr, Seq: d.seq}, true
	case ErrTruncated:
		return d.truncated(d.ord, line, Element)
	case ErrSyntax:
		s.SkipLine()
		d.first = true
	}
	return Item{Pos: d.ord, Line: line, In: Element, Key: d.key, Header: d.hdr, Seq: d.seq, Err: err}, true
}

// objRest skips the members of a wrapper object after its array.
func (d *Doc) objRest() (Item, bool) {
	s := d.s
	line := s.line
	c, ok := s.Peek()
	if !ok {
		// No element is cut: the wrapper object itself is, at its line.
		return d.truncated(d.objLine, d.objLine, TopLevel)
	}
	switch c {
	case '}':
		s.Advance()
		d.st = stTop
		return Item{}, false
	case ',', ':':
		s.Advance()
		return Item{}, false
	}
	if _, _, err := s.Value(); err != nil {
		if err == ErrTruncated {
			return d.truncated(d.objLine, d.objLine, TopLevel)
		}
		return d.syntax(line)
	}
	return Item{}, false
}
