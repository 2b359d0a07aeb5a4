package native

import (
	"encoding/binary"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/internal/jsonstream"
	"github.com/flowsift/flowsift/flowlog/internal/lex"
)

// The fast path reads the shape flowlog.AppendJSON writes — one flat
// object whose values are strings, integers or null — in one pass over
// the bytes, without fastjson. It never reports: whenever anything is
// unexpected (another value type, a bad value, an escape it does not
// reproduce byte for byte, a syntax error) it gives up, and the caller
// parses the object with fastjson and calls DecodeJSON, which reports
// exactly as it always did. Key order does not matter; duplicate keys act
// as in DecodeJSON (the last one wins), unknown keys are ignored.

// Field codes of the fixed keys; attribute keys are attrBase+AttrKey.
const (
	fStart uint16 = iota + 1
	fEnd
	fSrc
	fDst
	fSport
	fDport
	fProto
	fPackets
	fBytes
	fAction
	fDirection
	fIface
	fVPC
	fSubnet
	fAccount
	fTCPFlags
	fSource
	attrBase = 256
)

var fixedKeys = [...]string{fStart: "start", fEnd: "end", fSrc: "src", fDst: "dst", fSport: "sport",
	fDport: "dport", fProto: "proto", fPackets: "packets", fBytes: "bytes", fAction: "action",
	fDirection: "direction", fIface: "iface", fVPC: "vpc", fSubnet: "subnet", fAccount: "account",
	fTCPFlags: "tcp_flags", fSource: "source"}

// quotedKeys are the fixed keys as AppendJSON writes them, with the colon.
var quotedKeys = func() (q [fSource + 1]string) {
	for c := fStart; c <= fSource; c++ {
		q[c] = `"` + fixedKeys[c] + `":`
	}
	return q
}()

// keyWord is a quoted key of at most 16 bytes as two masked words, so
// that matching it costs two loads and compares.
type keyWord struct {
	w, m [2]uint64
	n    uint8
}

// match reports whether b (at least 16 bytes) starts with the key.
func (k *keyWord) match(b []byte) bool {
	return binary.LittleEndian.Uint64(b)&k.m[0] == k.w[0] && binary.LittleEndian.Uint64(b[8:])&k.m[1] == k.w[1]
}

var keyWords = func() (kw [fSource + 1]keyWord) {
	for c := fStart; c <= fSource; c++ {
		q := quotedKeys[c]
		if len(q) > 16 {
			panic("native: fixed key longer than 16 bytes: " + q)
		}
		var buf, mask [16]byte
		copy(buf[:], q)
		for i := range q {
			mask[i] = 0xff
		}
		kw[c] = keyWord{n: uint8(len(q))}
		for h := 0; h < 2; h++ {
			kw[c].w[h] = binary.LittleEndian.Uint64(buf[8*h:])
			kw[c].m[h] = binary.LittleEndian.Uint64(mask[8*h:])
		}
	}
	return kw
}()

// keyTab is an open-addressing table from key name to field code (a
// map lookup by string(key) costs several times more on this path).
const keyTabSize = 512

type keyEntry struct {
	name string
	code uint16
}

var keyTab = func() (t [keyTabSize]keyEntry) {
	add := func(name string, code uint16) {
		for h := keyHash([]byte(name)); ; h = (h + 1) % keyTabSize {
			if t[h].code == 0 {
				t[h] = keyEntry{name, code}
				return
			}
		}
	}
	for c := fStart; c <= fSource; c++ {
		add(fixedKeys[c], c)
	}
	for _, k := range flowlog.AttrKeys() {
		add(k.Name(), attrBase+uint16(k))
	}
	return t
}()

func keyHash(b []byte) uint32 {
	n := len(b)
	h := uint32(n) * 0x9e3779b1
	if n > 0 {
		h ^= uint32(b[0]) | uint32(b[n-1])<<8 | uint32(b[n/2])<<16 | uint32(b[(n-1)/3])<<24
	}
	h *= 0x85ebca6b
	return (h >> 16) % keyTabSize
}

func lookupKey(b []byte) uint16 {
	for h := keyHash(b); ; h = (h + 1) % keyTabSize {
		e := &keyTab[h]
		if e.code == 0 {
			return 0
		}
		if e.name == string(b) {
			return e.code
		}
	}
}

// value kinds of the fast path
const (
	vNull = iota
	vStr
	vNum // a number for a key that is not an integer key
	vInt // an integer key's value, in range
)

// DecodeLine maps one JSONL object, given as its bytes, onto rec without
// fastjson. It returns false, having reported nothing and with rec in no
// particular state, when the object is not in the shape it reads; the
// caller then parses b with fastjson and calls DecodeJSON.
func (d *Decoder) DecodeLine(b []byte, rec *flowlog.Record) bool {
	i := jsonstream.SkipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	rec.Reset()
	d.buf = d.buf[:0]
	haveSrc, haveDst := false, false
	next := fStart
	i = jsonstream.SkipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return false // no src: DecodeJSON reports it
	}
	for {
		// Key: first the one AppendJSON writes next (`"start":` …), then
		// any key without escapes (an escaped key goes the slow way).
		var code uint16
		if next <= fSource && len(b)-i >= 16 && keyWords[next].match(b[i:]) {
			code = next
			i += int(keyWords[next].n)
			next++
		} else {
			if i >= len(b) || b[i] != '"' {
				return false
			}
			end, esc := jsonstream.StringEnd(b, i+1)
			if end < 0 || esc {
				return false
			}
			code = lookupKey(b[i+1 : end])
			i = jsonstream.SkipWS(b, end+1)
			if i >= len(b) || b[i] != ':' {
				return false
			}
			i++
		}
		i = jsonstream.SkipWS(b, i)
		if i >= len(b) {
			return false
		}
		// Value: a string, an integer literal or null.
		var kind int
		var val []byte
		var num int64
		switch c := b[i]; {
		case c == '"':
			end, esc := jsonstream.StringEnd(b, i+1)
			if end < 0 {
				return false
			}
			val = b[i+1 : end]
			if esc {
				start := len(d.buf)
				var ok bool
				if d.buf, ok = jsonstream.Unescape(d.buf, val); !ok {
					return false
				}
				val = d.buf[start:]
			}
			kind, i = vStr, end+1
		case c == 'n':
			if len(b)-i < 4 || string(b[i:i+4]) != "null" {
				return false
			}
			kind, i = vNull, i+4
		default:
			if spec := &intSpecs[code]; spec.max != 0 {
				// An integer key: digits parsed as they are scanned.
				n, end, ok := scanInt(b, i, spec.signed, spec.max)
				if !ok {
					return false
				}
				kind, num, i = vInt, n, end
				break
			}
			end, ok := jsonstream.NumberEnd(b, i)
			if !ok {
				return false
			}
			kind, val, i = vNum, b[i:end], end
		}
		switch code {
		case 0:
			// A key flowsift never prints: ignored, whatever its value.
		case fStart, fEnd:
			n, ok := fastInt(kind, num)
			if !ok {
				return false
			}
			if code == fStart {
				rec.Start = n
			} else {
				rec.End = n
			}
		case fSport, fDport, fProto, fPackets, fBytes, fTCPFlags:
			n, ok := fastInt(kind, num)
			if !ok {
				return false
			}
			switch code {
			case fSport:
				rec.SrcPort = uint16(n)
			case fDport:
				rec.DstPort = uint16(n)
			case fProto:
				rec.Proto = uint8(n)
			case fPackets:
				rec.Packets = n
			case fBytes:
				rec.Bytes = n
			case fTCPFlags:
				rec.TCPFlags = int32(n)
			}
		case fSrc, fDst:
			if kind != vStr {
				return false // null (missing) or not a string: reported
			}
			a, ok := lex.ParseAddr(val)
			if !ok {
				return false
			}
			if code == fSrc {
				rec.Src, haveSrc = a, true
			} else {
				rec.Dst, haveDst = a, true
			}
		default:
			if kind == vNum {
				return false // a number where a string belongs: reported
			}
			if kind == vStr && intSpecs[code].max != 0 {
				return false // a string where an integer belongs: reported
			}
			if !d.fastStr(rec, code, kind, val, num) {
				return false
			}
		}
		i = jsonstream.SkipWS(b, i)
		if i >= len(b) {
			return false
		}
		if b[i] == '}' {
			break
		}
		if b[i] != ',' {
			return false
		}
		i = jsonstream.SkipWS(b, i+1)
	}
	if jsonstream.SkipWS(b, i+1) != len(b) || !haveSrc || !haveDst {
		return false
	}
	if d.Tally.Format == flowlog.SourceUnknown {
		d.Tally.Format = rec.Source
	}
	return true
}

// fastStr handles the string-valued fixed keys and every attribute (kind
// is vStr or vNull, or vNum for an integer attribute).
func (d *Decoder) fastStr(rec *flowlog.Record, code uint16, kind int, val []byte, num int64) bool {
	switch code {
	case fAction:
		a, ok := flowlog.ParseAction(lex.String(val))
		rec.Action = a
		return ok
	case fDirection:
		a, ok := flowlog.ParseDirection(lex.String(val))
		rec.Direction = a
		return ok
	case fSource:
		if len(val) == 0 {
			rec.Source = flowlog.SourceUnknown
			return true
		}
		s, ok := flowlog.ParseSource(lex.String(val))
		rec.Source = s
		return ok
	case fIface:
		rec.Iface = d.intern(fIface, val)
	case fVPC:
		rec.VPC = d.intern(fVPC, val)
	case fSubnet:
		rec.Subnet = d.intern(fSubnet, val)
	case fAccount:
		rec.Account = d.intern(fAccount, val)
	default:
		if kind == vNull {
			return true // null: absent
		}
		k := flowlog.AttrKey(code - attrBase)
		if k.IsInt() {
			n, ok := fastInt(kind, num)
			if !ok {
				return false
			}
			rec.SetInt(k, n)
		} else {
			rec.SetStr(k, d.intern(code, val))
		}
	}
	return true
}

// intern is In.Bytes behind a one-entry cache per key: most keys repeat
// the previous line's value (account, VPC, region, version …).
func (d *Decoder) intern(code uint16, val []byte) string {
	if int(code) < len(d.last) && d.last[code] == string(val) {
		return d.last[code]
	}
	s := d.In.Bytes(val)
	if int(code) < len(d.last) {
		d.last[code] = s
	}
	return s
}

// fastInt is Decoder.int for a value that scanned: null is 0, an integer
// is its value (scanInt checked its range), anything else is reported.
func fastInt(kind int, num int64) (int64, bool) {
	switch kind {
	case vNull:
		return 0, true
	case vInt:
		return num, true
	}
	return 0, false
}

// intSpec is the range of an integer key (max 0: not an integer key).
type intSpec struct {
	max    uint64
	signed bool
}

// intSpecs by field code, as DecodeJSON reads them: start, end and the
// integer attributes are signed int64; packets and bytes int64 ≥ 0;
// tcp_flags int32 ≥ 0; ports and protocol their ranges.
var intSpecs = func() (s [attrBase + 256]intSpec) {
	s[fStart] = intSpec{lex.MaxInt64, true}
	s[fEnd] = intSpec{lex.MaxInt64, true}
	s[fSport] = intSpec{lex.MaxPort, false}
	s[fDport] = intSpec{lex.MaxPort, false}
	s[fProto] = intSpec{lex.MaxProto, false}
	s[fPackets] = intSpec{lex.MaxInt64, false}
	s[fBytes] = intSpec{lex.MaxInt64, false}
	s[fTCPFlags] = intSpec{lex.MaxInt32, false}
	for _, k := range flowlog.AttrKeys() {
		if k.IsInt() {
			s[attrBase+uint16(k)] = intSpec{lex.MaxInt64, true}
		}
	}
	return s
}()

// scanInt parses the number token at b[i] the way DecodeJSON reads it
// (fastjson's token, an optional '-' when signed, then lex.ParseUint
// against max, or max+1 when negative); ok is false for anything else
// (a fraction, an exponent, out of range), which DecodeJSON reports.
func scanInt(b []byte, i int, signed bool, max uint64) (n int64, end int, ok bool) {
	j := i
	neg := false
	if signed && j < len(b) && b[j] == '-' {
		neg = true
		j++
	}
	start := j
	var u uint64
	for j < len(b) {
		c := b[j] - '0'
		if c > 9 {
			break
		}
		if u > (1<<64-1-9)/10 {
			return 0, 0, false
		}
		u = u*10 + uint64(c)
		j++
	}
	if j == start {
		return 0, 0, false
	}
	if j < len(b) {
		switch b[j] {
		case '.', 'e', 'E', '+', '-':
			return 0, 0, false // the token goes on: not an integer
		}
	}
	limit := max
	if neg {
		limit++
	}
	if u > limit {
		return 0, 0, false
	}
	if neg {
		return -int64(u), j, true
	}
	return int64(u), j, true
}
