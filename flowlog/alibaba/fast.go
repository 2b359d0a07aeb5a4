package alibaba

import (
	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/internal/jsonstream"
)

// The fast path fills the row values in one pass over an SLS JSON row's
// bytes, without fastjson, then runs the same row rules as DecodeJSON. It
// reads the common shape — one flat object whose documented keys hold
// strings, numbers or null, in any order — and accepts a strict subset of
// what fastjson accepts (the jsonstream scan helpers). It never reports:
// on anything else (a documented key holding an object, array or boolean,
// an escaped key, an escape it does not reproduce byte for byte, NaN or
// '+' numbers, a syntax error) it declines, and the caller parses the row
// with fastjson and calls DecodeJSON, which alone reports. Repeated keys
// act as in DecodeJSON: the first value that is not null counts. Unknown
// keys (SLS metadata) are skipped whatever their value, when the strict
// skipper accepts it.

// DecodeBytes maps the row whose JSON text is b (one NDJSON line, no BOM)
// at position pos. handled is false, with nothing reported or counted,
// when the scanner declines; otherwise ok is what DecodeJSON would return
// for the same row, with the same reports and counts.
func (d *Decoder) DecodeBytes(b []byte, pos int64, rec *flowlog.Record) (ok, handled bool) {
	if !d.scan(b) {
		return false, false
	}
	return d.rules.build(pos, rec), true
}

// scan fills d.rules.vals from b; false when it declines.
func (d *Decoder) scan(b []byte) bool {
	r := &d.rules
	r.clear()
	d.nums = d.nums[:0] // unescaped strings, here
	var escaped uint32  // fields whose text is in d.nums
	i := jsonstream.SkipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = jsonstream.SkipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			if i >= len(b) || b[i] != '"' {
				return false
			}
			end, esc := jsonstream.StringEnd(b, i+1)
			if end < 0 || esc {
				return false // fastjson unescapes keys: leave those to it
			}
			f := lookup(b[i+1 : end])
			i = jsonstream.SkipWS(b, end+1)
			if i >= len(b) || b[i] != ':' {
				return false
			}
			i = jsonstream.SkipWS(b, i+1)
			if i >= len(b) {
				return false
			}
			if f == noField {
				if i = jsonstream.Skip(b, i, jsonstream.MaxSkipDepth); i < 0 {
					return false
				}
			} else {
				val := &r.vals[f]
				switch c := b[i]; {
				case c == '"':
					end, esc := jsonstream.StringEnd(b, i+1)
					if end < 0 {
						return false
					}
					if val.kind == vAbsent { // else a repeated key: the first counts
						if esc {
							start := len(d.nums)
							var ok bool
							if d.nums, ok = jsonstream.Unescape(d.nums, b[i+1:end]); !ok {
								return false
							}
							d.spans[f] = [2]int{start, len(d.nums)}
							escaped |= 1 << f
						} else {
							val.b = b[i+1 : end : end]
						}
						val.kind = vText
					}
					i = end + 1
				case c == 'n':
					if len(b)-i < 4 || string(b[i:i+4]) != "null" {
						return false
					}
					i += 4 // null is absent: a later repeat of the key may count
				case c == '-' || c >= '0' && c <= '9':
					end, ok := jsonstream.NumberEnd(b, i)
					if !ok {
						return false
					}
					if val.kind == vAbsent {
						val.b = b[i:end:end] // fastjson's number text is the literal
						val.kind = vNumber
					}
					i = end
				default:
					return false // object, array, boolean or not JSON: fastjson's
				}
			}
			i = jsonstream.SkipWS(b, i)
			if i >= len(b) {
				return false
			}
			if b[i] == '}' {
				i++
				break
			}
			if b[i] != ',' {
				return false
			}
			i = jsonstream.SkipWS(b, i+1)
		}
	}
	if jsonstream.SkipWS(b, i) != len(b) {
		return false
	}
	if escaped != 0 { // d.nums may have moved while growing: slice it now
		for f := range r.vals {
			if escaped&(1<<f) != 0 {
				s := d.spans[f]
				r.vals[f].b = d.nums[s[0]:s[1]:s[1]]
			}
		}
	}
	return true
}
