package aws

import (
	"fmt"
	"slices"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/internal/lex"
)

// Format is a field order: the default format, or the one a header names.
type Format struct {
	fields []fieldID
	slot   []int16 // slot[fieldID] = position in the line, -1 when absent
	// attrs lists the optional-key fields by ascending attribute key, so a
	// record's Attrs are filled in order without sorting.
	attrs []fieldID
	// core is slot for the core fields, in a fixed-size array the parser
	// indexes without bounds checks; int64s lists the slots of the optional
	// int64 fields (packets-lost-*), validated before the int32 ones.
	core   [numCore]int16
	int64s []int16
	// attrSteps is attrs with what finish needs of each, in key order.
	attrSteps []attrStep
	// ops is the fast path's plan: how to read the field at each line
	// position (see LineParser.fast).
	ops []op
	// spec names the straight-line parser of this field order, if any.
	spec spec
}

// attrStep is one optional key of a format: its line position, kind and key.
type attrStep struct {
	slot int16
	kind fieldKind
	key  flowlog.AttrKey
}

// op says how the fast path reads one field.
type op uint8

const (
	opStr op = iota // kept as a token: core and optional strings, pkt-*addr
	opSrcAddr
	opDstAddr
	opSrcPort
	opDstPort
	opProto
	opPackets
	opBytes
	opStart
	opEnd
	opTCPFlags
	opInt64 // optional, <= 2^63-1, into LineParser.ints
	opInt32 // optional, <= 2^31-1, into LineParser.ints
	opAction
	opDirection
	opStatus
)

// opOf is the fast-path op of a field.
func opOf(id fieldID) op {
	switch id {
	case fSrcAddr:
		return opSrcAddr
	case fDstAddr:
		return opDstAddr
	case fSrcPort:
		return opSrcPort
	case fDstPort:
		return opDstPort
	case fProtocol:
		return opProto
	case fPackets:
		return opPackets
	case fBytes:
		return opBytes
	case fStart:
		return opStart
	case fEnd:
		return opEnd
	case fTCPFlags:
		return opTCPFlags
	case fAction:
		return opAction
	case fFlowDirection:
		return opDirection
	case fLogStatus:
		return opStatus
	}
	switch fieldDefs[id].kind {
	case kInt64:
		return opInt64
	case kInt32:
		return opInt32
	}
	return opStr
}

// NewFormat builds a format from field names. Unknown or repeated names are
// an error.
func NewFormat(names []string) (*Format, error) {
	f := &Format{slot: make([]int16, len(fieldDefs))}
	for i := range f.slot {
		f.slot[i] = -1
	}
	for i, n := range names {
		id, ok := fieldByName[n]
		if !ok {
			return nil, fmt.Errorf("unknown field %q", n)
		}
		if f.slot[id] >= 0 {
			return nil, fmt.Errorf("repeated field %q", n)
		}
		f.slot[id] = int16(i)
		f.fields = append(f.fields, id)
		f.ops = append(f.ops, opOf(id))
		if fieldDefs[id].kind != kCore {
			f.attrs = append(f.attrs, id)
		}
	}
	copy(f.core[:], f.slot[:numCore])
	f.spec = specOf(names)
	if !f.has(fSrcAddr) || !f.has(fDstAddr) {
		f.ops = nil // every line is reported (bad-ip): no fast path
	}
	for i, id := range f.fields {
		if fieldDefs[id].kind == kInt64 {
			f.int64s = append(f.int64s, int16(i))
		}
	}
	slices.SortFunc(f.attrs, func(a, b fieldID) int { return int(fieldDefs[a].attr) - int(fieldDefs[b].attr) })
	for _, id := range f.attrs {
		f.attrSteps = append(f.attrSteps, attrStep{slot: f.slot[id], kind: fieldDefs[id].kind, key: fieldDefs[id].attr})
	}
	return f, nil
}

// Len is the number of fields of a line in this format.
func (f *Format) Len() int { return len(f.fields) }

// Names returns the field names in line order.
func (f *Format) Names() []string {
	out := make([]string, len(f.fields))
	for i, id := range f.fields {
		out[i] = fieldDefs[id].name
	}
	return out
}

func (f *Format) has(id fieldID) bool { return f.slot[id] >= 0 }

// DefaultFormat is the version 2 default (14 fields).
var DefaultFormat = mustFormat(DefaultFields)

func mustFormat(names []string) *Format {
	f, err := NewFormat(names)
	if err != nil {
		panic(err)
	}
	return f
}

// headerClass tells what a line is with respect to headers (FORMATS.md 3.1).
type headerClass uint8

const (
	notHeader headerClass = iota
	isHeader
	lookAlike // reported bad-header; bad names the offending token
)

// classifyHeader decides whether toks form a header, a header look-alike or
// data. For a look-alike, detail names the first unknown (or repeated) token.
func classifyHeader(toks [][]byte, n int) (headerClass, string) {
	if n == 0 || n != len(toks) || !isNameToken(toks[0]) {
		return notHeader, ""
	}
	known := 0
	var seen [128]bool // fieldDefs has fewer than 128 entries
	firstBad := ""
	for _, t := range toks {
		if !isNameToken(t) {
			return notHeader, ""
		}
		id, ok := fieldByName[lex.String(t)]
		switch {
		case !ok:
			if firstBad == "" {
				firstBad = fmt.Sprintf("unknown field name %q", t)
			}
		case seen[id]:
			known++
			if firstBad == "" {
				firstBad = fmt.Sprintf("repeated field name %q", t)
			}
		default:
			seen[id] = true
			known++
		}
	}
	if firstBad == "" {
		return isHeader, ""
	}
	if n >= 2 && known*2 >= n {
		return lookAlike, firstBad
	}
	return notHeader, ""
}

// isNameToken matches [a-z][a-z0-9-]*.
func isNameToken(t []byte) bool {
	if len(t) == 0 || t[0] < 'a' || t[0] > 'z' {
		return false
	}
	for _, c := range t[1:] {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// IsHeaderLike reports whether toks (n tokens in all) form a header or a
// header look-alike (FORMATS.md 3.1), for format detection.
func IsHeaderLike(toks [][]byte, n int) bool {
	cls, _ := classifyHeader(toks, n)
	return cls != notHeader
}
