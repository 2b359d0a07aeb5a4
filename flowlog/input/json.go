package input

import (
	"bufio"
	"bytes"

	"github.com/valyala/fastjson"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/alibaba"
	"github.com/flowsift/flowsift/flowlog/aws"
	"github.com/flowsift/flowsift/flowlog/azure"
	"github.com/flowsift/flowsift/flowlog/gcp"
	"github.com/flowsift/flowsift/flowlog/internal/jsonstream"
	"github.com/flowsift/flowsift/flowlog/internal/lex"
	"github.com/flowsift/flowsift/flowlog/native"
)

// JSON inputs (FORMATS.md 2.3): NDJSON when the first line alone is a
// complete JSON value, otherwise a document walked element by element.
// CloudWatch subscription payloads and Azure {"records":[...]} documents
// are always walked as documents, even when written on one line, so that
// their positions are logEvents / records indexes (3.8.2, 7.1) and a
// document cut short keeps its complete elements.

type jsonKind uint8

const (
	kindNone jsonKind = iota
	kindAzure
	kindCWL
	kindGCP
	kindNative
	kindAlibaba
)

// rowDecoder maps one parsed object at a position onto one record.
type rowDecoder interface {
	DecodeJSON(v *fastjson.Value, pos int64, rec *flowlog.Record) bool
}

const (
	keyRecords   = "records"
	keyLogEvents = "logEvents"
)

// noFastPaths turns the hand-written scanners off (differential tests).
var noFastPaths bool

type jsonReader struct {
	t     *flowlog.Tally
	p     fastjson.Parser
	hp    fastjson.Parser // wrapper headers
	lines *lex.Lines      // NDJSON mode
	doc   *jsonstream.Doc // document mode
	kind  jsonKind
	first bool // NDJSON line 1 (may start with a BOM)

	gcp *gcp.Decoder
	az  *azure.Decoder
	cwl *aws.CWLJSON
	row rowDecoder // native or Alibaba
	nat *native.Decoder
	ali *alibaba.Decoder // Alibaba's fast path, when row is one

	seq     int  // document container whose header was read
	control bool // that container is a CloudWatch CONTROL_MESSAGE
	events  []*fastjson.Value
	evPos   int64
	done    bool
}

func openJSON(br *bufio.Reader, t *flowlog.Tally, opts *Options) (flowlog.Reader, error) {
	return newJSONReader(br, t, kindNone, flowlog.SourceUnknown), nil
}

func openJSONAs(br *bufio.Reader, t *flowlog.Tally, opts *Options, src flowlog.Source) (flowlog.Reader, error) {
	var k jsonKind
	switch src {
	case flowlog.SourceGCPFlows, flowlog.SourceGCPFirewall:
		k = kindGCP
	case flowlog.SourceAzureNSG, flowlog.SourceAzureVNet:
		k = kindAzure
	case flowlog.SourceAWSCWLJSON:
		k = kindCWL
	case flowlog.SourceAlibabaJSON:
		k = kindAlibaba
	default:
		t.Note(flowlog.NoticeUnsupported, "input format "+src.String()+" is not a JSON format")
		return nil, nil
	}
	r := newJSONReader(br, t, k, src)
	t.Format = src
	return r, nil
}

func newJSONReader(br *bufio.Reader, t *flowlog.Tally, k jsonKind, src flowlog.Source) *jsonReader {
	r := &jsonReader{t: t}
	var wrappers []string
	switch k {
	case kindNone:
		wrappers = []string{keyRecords, keyLogEvents}
	case kindAzure:
		wrappers = []string{keyRecords}
	case kindCWL:
		wrappers = []string{keyLogEvents}
	}
	if ndjsonFirstLine(br, &r.p, wrappers) {
		r.lines = lex.NewLines(br)
		r.first = true
	} else {
		r.doc = jsonstream.NewDoc(br, jsonstream.DefaultMax, wrappers...)
	}
	if k != kindNone {
		r.setKind(k, src)
	}
	return r
}

// ndjsonFirstLine reports whether the first non-blank line alone is a
// complete JSON value that is not a wrapper document (FORMATS.md 2.3). A
// first line longer than the read buffer is a big compact document.
func ndjsonFirstLine(br *bufio.Reader, p *fastjson.Parser, wrappers []string) bool {
	buf, _ := br.Peek(br.Size())
	full := len(buf) < br.Size() // the whole input is in buf
	b := bytes.TrimPrefix(buf, []byte("\xef\xbb\xbf"))
	for len(b) > 0 {
		line := b
		i := bytes.IndexByte(b, '\n')
		if i >= 0 {
			line, b = b[:i], b[i+1:]
		} else if !full {
			return false
		} else {
			b = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		v, err := p.ParseBytes(line)
		if err != nil {
			return false
		}
		return !isWrapper(v, wrappers)
	}
	return false
}

func isWrapper(v *fastjson.Value, wrappers []string) bool {
	if v.Type() != fastjson.TypeObject {
		return false
	}
	for _, w := range wrappers {
		if a := v.Get(w); a != nil && a.Type() == fastjson.TypeArray {
			return true
		}
	}
	return false
}

// classify decides the kind from the first value that parses (FORMATS.md
// 2.3, in its order).
func classify(v *fastjson.Value) jsonKind {
	if v.Type() != fastjson.TypeObject {
		return kindNone
	}
	switch {
	case v.Get(keyRecords) != nil:
		return kindAzure
	case v.Get("messageType") != nil && v.Get(keyLogEvents) != nil:
		return kindCWL
	case v.Get("jsonPayload") != nil || v.Get("logName") != nil:
		return kindGCP
	case v.Get("properties", "flows") != nil || v.Get("flowRecords") != nil:
		return kindAzure
	case v.Get("src") != nil && v.Get("dst") != nil && v.Get("start") != nil:
		return kindNative
	case v.Get("eni-id") != nil || v.Get("vswitch-id") != nil || v.Get("__topic__") != nil || v.Get("srcaddr") != nil:
		return kindAlibaba
	}
	return kindNone
}

func (r *jsonReader) setKind(k jsonKind, src flowlog.Source) {
	r.kind = k
	switch k {
	case kindGCP:
		r.gcp = gcp.NewDecoder(r.t)
		r.gcp.Force = src
	case kindAzure:
		r.az = azure.NewDecoder(r.t)
	case kindCWL:
		r.cwl = aws.NewCWLJSON(r.t)
	case kindNative:
		r.nat = native.NewDecoder(r.t)
		r.row = r.nat
	case kindAlibaba:
		r.row = newAlibabaJSON(r.t)
		r.ali, _ = r.row.(*alibaba.Decoder)
		r.t.Format = flowlog.SourceAlibabaJSON
	}
}

// Next implements flowlog.Reader.
func (r *jsonReader) Next(rec *flowlog.Record) bool {
	t := r.t
	for !t.Aborted() {
		if r.az != nil && r.az.Next(rec) {
			t.Records++
			return true
		}
		if len(r.events) > 0 {
			ev := r.events[0]
			r.events = r.events[1:]
			if r.cwl.DecodeEvent(ev, r.evPos, rec) {
				t.Records++
				return true
			}
			continue
		}
		if r.done {
			return false
		}
		b, pos, key, ok := r.raw()
		if !ok {
			r.done = true
			return false
		}
		// Fast paths: a hand-written scanner reads the value's bytes when it
		// has the expected shape; otherwise fastjson and the generic
		// decoders take it, and they alone report (so reports are the same).
		if key == "" && !noFastPaths {
			if r.nat != nil && r.nat.DecodeLine(b, rec) {
				t.Records++
				return true
			}
			if r.ali != nil {
				if ok, handled := r.ali.DecodeBytes(b, pos, rec); handled {
					if ok {
						t.Records++
						return true
					}
					continue
				}
			}
			if r.gcp != nil {
				if ok, handled := r.gcp.DecodeBytes(b, pos, rec); handled {
					if ok {
						t.Records++
						return true
					}
					continue
				}
			}
		}
		v, err := r.p.ParseBytes(b)
		if err != nil {
			t.Bad(pos, flowlog.KindBadJSON, jsonErr(err))
			continue
		}
		if r.decode(v, pos, key, rec) {
			t.Records++
			return true
		}
	}
	return false
}

// raw returns the bytes of the next value: an NDJSON line (not blank) or a
// document element, with its position and the wrapper key of a document
// element ("" otherwise). Lines and elements that cannot be values
// (too long, cut short, CloudWatch CONTROL_MESSAGE events) are reported
// or dropped here.
func (r *jsonReader) raw() ([]byte, int64, string, bool) {
	if r.lines != nil {
		return r.line()
	}
	t := r.t
	for !t.Aborted() {
		it, ok := r.doc.Next()
		if !ok {
			return nil, 0, "", false
		}
		if it.Err != nil {
			r.docErr(&it)
			continue
		}
		if it.Key == keyLogEvents && it.Seq != r.seq {
			r.seq = it.Seq
			r.control = false
			if h, err := r.hp.ParseBytes(it.Header); err == nil {
				r.control = aws.IsControl(h)
			}
		}
		if it.Key == keyLogEvents && r.control {
			continue // CONTROL_MESSAGE events give nothing
		}
		return it.Value, it.Pos, it.Key, true
	}
	return nil, 0, "", false
}

func (r *jsonReader) docErr(it *jsonstream.Item) {
	t := r.t
	switch it.Err {
	case jsonstream.ErrTruncated:
		if err := r.doc.Splitter().ReadErr(); err != nil {
			t.Bad(it.Pos, flowlog.KindTruncated, err.Error())
			return
		}
		if it.In == jsonstream.Element {
			t.Badf(it.Pos, flowlog.KindTruncated, "the document ends inside element %d", it.Pos)
		} else {
			t.Bad(it.Pos, flowlog.KindTruncated, "the input ends inside the JSON value starting on this line")
		}
	case jsonstream.ErrTooLarge:
		t.Badf(it.Pos, flowlog.KindBadJSON, "JSON value larger than %d MiB, skipped", jsonstream.DefaultMax>>20)
	default:
		t.Bad(it.Pos, flowlog.KindBadJSON, "JSON syntax error: unexpected character between values")
	}
}

// line returns the next NDJSON line that is not blank. The NDJSON path
// never runs the document splitter.
func (r *jsonReader) line() ([]byte, int64, string, bool) {
	t := r.t
	l := r.lines
	for !t.Aborted() && l.Next() {
		b := l.Line
		if r.first {
			r.first = false
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		}
		if lex.IsBlank(b) || len(bytes.TrimSpace(b)) == 0 {
			t.Blank++
			continue
		}
		if l.Long {
			t.Badf(l.N, flowlog.KindBadJSON, "line longer than %d MiB", lex.MaxLine>>20)
			continue
		}
		return b, l.N, "", true
	}
	if err := l.Err(); err != nil {
		t.Bad(l.N+1, flowlog.KindTruncated, err.Error())
	}
	return nil, 0, "", false
}

// jsonErr shortens fastjson's message (it quotes the unparsed tail).
func jsonErr(err error) string {
	s := err.Error()
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return "not a complete JSON value: " + s
}

// decode maps one parsed value; true when rec holds a record (Azure and
// CloudWatch payload values queue theirs for Next).
func (r *jsonReader) decode(v *fastjson.Value, pos int64, key string, rec *flowlog.Record) bool {
	t := r.t
	if v.Type() != fastjson.TypeObject {
		t.Badf(pos, flowlog.KindBadJSON, "a JSON %s, not an object", v.Type())
		return false
	}
	switch {
	case key == keyLogEvents && (r.kind == kindNone || r.kind == kindCWL):
		if r.kind == kindNone {
			r.setKind(kindCWL, flowlog.SourceUnknown)
		}
		return r.cwl.DecodeEvent(v, pos, rec)
	case key == keyRecords && (r.kind == kindNone || r.kind == kindAzure):
		if r.kind == kindNone {
			r.setKind(kindAzure, flowlog.SourceUnknown)
		}
		r.az.Decode(v, pos)
		return false // queued: Next takes them
	}
	if r.kind == kindNone {
		k := classify(v)
		if k == kindNone {
			t.Note(flowlog.NoticeUnrecognized, "JSON object at position "+itoa(int(pos))+
				" has none of the keys of a known flow-log format (FORMATS.md 2.3)")
			r.done = true
			return false
		}
		r.setKind(k, flowlog.SourceUnknown)
	}
	switch r.kind {
	case kindGCP:
		if t.Format == flowlog.SourceUnknown {
			t.Format = gcp.Classify(v)
		}
		return r.gcp.Decode(v, pos, rec)
	case kindAzure:
		if a := v.Get(keyRecords); a != nil && a.Type() == fastjson.TypeArray {
			r.az.DecodeWrapper(v, pos)
		} else {
			r.az.Decode(v, pos)
		}
		return false
	case kindCWL:
		if aws.IsControl(v) {
			return false
		}
		evs := v.Get(keyLogEvents)
		if evs == nil || evs.Type() != fastjson.TypeArray {
			t.Bad(pos, flowlog.KindMissingField, "CloudWatch payload has no logEvents array")
			return false
		}
		r.events, _ = evs.Array()
		r.evPos = pos
		return false
	default:
		return r.row.DecodeJSON(v, pos, rec)
	}
}
