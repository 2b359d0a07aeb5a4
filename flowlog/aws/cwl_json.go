package aws

import (
	"bytes"

	"github.com/valyala/fastjson"

	"github.com/flowsift/flowsift/flowlog"
)

// CWLJSON reads the log events of CloudWatch Logs subscription payloads
// (FORMATS.md 3.8.2): each logEvents[].message is one line of the default
// format, parsed at the event's position (its 1-based index in logEvents).
type CWLJSON struct {
	p LineParser
}

// NewCWLJSON returns a decoder of subscription log events reporting to t.
func NewCWLJSON(t *flowlog.Tally) *CWLJSON {
	t.Format = flowlog.SourceAWSCWLJSON
	return &CWLJSON{p: LineParser{Format: DefaultFormat, Tally: t, In: &flowlog.Interner{}, Source: flowlog.SourceAWSCWLJSON}}
}

// IsControl reports whether a payload (or the header members of one that
// precede logEvents) is a CONTROL_MESSAGE, whose events give nothing.
func IsControl(payload *fastjson.Value) bool {
	if payload == nil {
		return false
	}
	mt := payload.Get("messageType")
	if mt == nil || mt.Type() != fastjson.TypeString {
		return false
	}
	b, _ := mt.StringBytes()
	return string(b) == "CONTROL_MESSAGE"
}

// DecodeEvent parses one logEvents element at pos. It returns true when rec
// holds a record; otherwise the event was reported or counted (NODATA,
// SKIPDATA).
func (c *CWLJSON) DecodeEvent(ev *fastjson.Value, pos int64, rec *flowlog.Record) bool {
	t := c.p.Tally
	if ev.Type() != fastjson.TypeObject {
		t.Badf(pos, flowlog.KindBadJSON, "log event is a JSON %s, not an object", ev.Type())
		return false
	}
	m := ev.Get("message")
	if m == nil || m.Type() == fastjson.TypeNull {
		t.Bad(pos, flowlog.KindMissingField, "log event has no message")
		return false
	}
	if m.Type() != fastjson.TypeString {
		t.Badf(pos, flowlog.KindBadValue, "log event message is a JSON %s, not a string", m.Type())
		return false
	}
	line, _ := m.StringBytes()
	line = bytes.TrimRight(line, "\r\n")
	return c.p.Parse(line, pos, rec)
}
