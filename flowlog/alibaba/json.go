package alibaba

import (
	"github.com/valyala/fastjson"

	"github.com/flowsift/flowsift/flowlog"
)

// Decoder maps parsed SLS JSON rows onto records. It keeps per-input state
// (the string interner, scratch buffers): give each input its own.
type Decoder struct {
	rules rowRules
	nums  []byte   // literal text of the row's JSON numbers
	spans [][2]int // where each number field's text is in nums, by field
}

// NewDecoder returns a decoder reporting to t; records get source src
// (normally flowlog.SourceAlibabaJSON).
func NewDecoder(t *flowlog.Tally, src flowlog.Source) *Decoder {
	return &Decoder{
		rules: rowRules{t: t, src: src},
		nums:  make([]byte, 0, 256),
		spans: make([][2]int, numFields),
	}
}

// DecodeJSON turns one parsed JSON object, found at position pos, into rec
// (FORMATS.md 5.1, 5.2). It returns true when rec holds a record. Otherwise
// the row was counted (t.NoData / t.SkipData) or reported at pos through the
// tally. It never increments t.Records: the JSON reader that calls it does.
// Values may be JSON strings or numbers; null is absent; unknown keys are
// ignored; when a key repeats, its first value is used (as fastjson's Get
// does). rec.Attrs may alias memory reused by the next call.
func (d *Decoder) DecodeJSON(v *fastjson.Value, pos int64, rec *flowlog.Record) bool {
	r := &d.rules
	o, err := v.Object()
	if err != nil {
		r.t.Badf(pos, flowlog.KindBadJSON, "a flow-log row must be a JSON object, not %s", v.Type())
		return false
	}
	r.clear()
	d.nums = d.nums[:0]
	hasNum := false
	o.Visit(func(key []byte, x *fastjson.Value) {
		f := lookup(key)
		if f == noField {
			return
		}
		val := &r.vals[f]
		if val.kind != vAbsent {
			return // repeated key: the first value counts
		}
		switch t := x.Type(); t {
		case fastjson.TypeString:
			val.b, _ = x.StringBytes()
			val.kind = vText
		case fastjson.TypeNumber:
			start := len(d.nums)
			d.nums = x.MarshalTo(d.nums)
			d.spans[f] = [2]int{start, len(d.nums)}
			val.kind = vNumber
			hasNum = true
		case fastjson.TypeNull:
			// absent
		default:
			val.kind = vOther
			val.b = typeName(t)
		}
	})
	if hasNum { // nums may have moved while growing: slice it afterwards
		for f := range r.vals {
			if r.vals[f].kind == vNumber {
				s := d.spans[f]
				r.vals[f].b = d.nums[s[0]:s[1]:s[1]]
			}
		}
	}
	return r.build(pos, rec)
}

var (
	nameObject  = []byte("object")
	nameArray   = []byte("array")
	nameBoolean = []byte("boolean")
)

func typeName(t fastjson.Type) []byte {
	switch t {
	case fastjson.TypeObject:
		return nameObject
	case fastjson.TypeArray:
		return nameArray
	}
	return nameBoolean
}
