package jsonstream

import "github.com/valyala/fastjson"

// Text returns the text of a JSON string (unescaped) or the literal of a
// JSON number, the two shapes in which cloud logs write numbers. isNull
// is true for null; ok is false for other types (object, array, bool).
func Text(v *fastjson.Value, scratch []byte) (b []byte, isNull, ok bool) {
	switch v.Type() {
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		return s, false, true
	case fastjson.TypeNumber:
		return v.MarshalTo(scratch[:0]), false, true
	case fastjson.TypeNull:
		return nil, true, false
	}
	return nil, false, false
}

// Str returns the bytes of a JSON string value, or nil for anything else
// (absent, null, other types).
func Str(v *fastjson.Value) []byte {
	if v == nil || v.Type() != fastjson.TypeString {
		return nil
	}
	s, _ := v.StringBytes()
	return s
}
