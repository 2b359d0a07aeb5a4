package native

import (
	"net/netip"

	"github.com/valyala/fastjson"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/internal/lex"
)

// Decoder maps flowsift JSONL objects onto records.
//
// Rules (FORMATS.md 2.3): missing keys take the defaults of 1.1, except
// src and dst, which a record needs (missing → missing-field, empty or
// unparseable → bad-ip); integers must be JSON integers (no quotes,
// fraction or exponent) in the range of their key (sport/dport 0..65535 →
// bad-port, proto 0..255 → bad-protocol, packets/bytes ≥ 0 int64,
// tcp_flags ≥ 0 int32, start/end and integer optional keys int64 → bad-number);
// action, direction and source must be names flowsift prints (bad-value);
// null is the default. Keys flowsift never prints are ignored.
type Decoder struct {
	Tally *flowlog.Tally
	In    *flowlog.Interner

	rec     *flowlog.Record
	pos     int64
	bad     bool
	haveSrc bool
	haveDst bool
	scratch [32]byte
	buf     []byte                 // unescaped strings of the fast path
	last    [attrBase + 256]string // the fast path's last string per key code
	visit   func(key []byte, v *fastjson.Value)
}

// NewDecoder returns a decoder reporting to t.
func NewDecoder(t *flowlog.Tally) *Decoder {
	d := &Decoder{Tally: t, In: &flowlog.Interner{}}
	d.visit = d.member
	return d
}

// DecodeJSON maps one object at position pos. It returns true when rec
// holds a record; otherwise the object was reported.
func (d *Decoder) DecodeJSON(v *fastjson.Value, pos int64, rec *flowlog.Record) bool {
	o, err := v.Object()
	if err != nil {
		d.Tally.Badf(pos, flowlog.KindBadJSON, "a JSON %s, not an object", v.Type())
		return false
	}
	rec.Reset()
	d.rec, d.pos, d.bad, d.haveSrc, d.haveDst = rec, pos, false, false, false
	o.Visit(d.visit)
	d.rec = nil
	if d.bad {
		return false
	}
	if !d.haveSrc {
		d.Tally.Bad(pos, flowlog.KindMissingField, "no src")
		return false
	}
	if !d.haveDst {
		d.Tally.Bad(pos, flowlog.KindMissingField, "no dst")
		return false
	}
	if d.Tally.Format == flowlog.SourceUnknown {
		d.Tally.Format = rec.Source
	}
	return true
}

func (d *Decoder) fail(k flowlog.Kind, format string, args ...any) {
	if !d.bad {
		d.bad = true
		d.Tally.Badf(d.pos, k, format, args...)
	}
}

// member handles one key of the object (fastjson Visit order = input order).
func (d *Decoder) member(key []byte, v *fastjson.Value) {
	if d.bad {
		return
	}
	r := d.rec
	null := v.Type() == fastjson.TypeNull
	switch string(key) {
	case "start":
		r.Start = d.int(key, v, true, lex.MaxInt64, flowlog.KindBadNumber)
	case "end":
		r.End = d.int(key, v, true, lex.MaxInt64, flowlog.KindBadNumber)
	case "src":
		r.Src = d.addr(key, v)
		d.haveSrc = !null
	case "dst":
		r.Dst = d.addr(key, v)
		d.haveDst = !null
	case "sport":
		r.SrcPort = uint16(d.int(key, v, false, lex.MaxPort, flowlog.KindBadPort))
	case "dport":
		r.DstPort = uint16(d.int(key, v, false, lex.MaxPort, flowlog.KindBadPort))
	case "proto":
		r.Proto = uint8(d.int(key, v, false, lex.MaxProto, flowlog.KindBadProtocol))
	case "packets":
		r.Packets = d.int(key, v, false, lex.MaxInt64, flowlog.KindBadNumber)
	case "bytes":
		r.Bytes = d.int(key, v, false, lex.MaxInt64, flowlog.KindBadNumber)
	case "tcp_flags":
		r.TCPFlags = int32(d.int(key, v, false, lex.MaxInt32, flowlog.KindBadNumber))
	case "action":
		a, ok := flowlog.ParseAction(lex.String(d.str(key, v)))
		if !ok {
			d.fail(flowlog.KindBadValue, "action %q is not accept, reject or empty", d.str(key, v))
		}
		r.Action = a
	case "direction":
		a, ok := flowlog.ParseDirection(lex.String(d.str(key, v)))
		if !ok {
			d.fail(flowlog.KindBadValue, "direction %q is not ingress, egress or empty", d.str(key, v))
		}
		r.Direction = a
	case "source":
		s := d.str(key, v)
		if len(s) == 0 {
			r.Source = flowlog.SourceUnknown
			return
		}
		src, ok := flowlog.ParseSource(lex.String(s))
		if !ok {
			d.fail(flowlog.KindBadValue, "source %q is not a format name", s)
		}
		r.Source = src
	case "iface":
		r.Iface = d.In.Bytes(d.str(key, v))
	case "vpc":
		r.VPC = d.In.Bytes(d.str(key, v))
	case "subnet":
		r.Subnet = d.In.Bytes(d.str(key, v))
	case "account":
		r.Account = d.In.Bytes(d.str(key, v))
	default:
		k, ok := flowlog.LookupAttr(string(key))
		if !ok || null {
			return // a key flowsift never prints, or null: absent
		}
		if k.IsInt() {
			r.SetInt(k, d.int(key, v, true, lex.MaxInt64, flowlog.KindBadNumber))
		} else {
			r.SetStr(k, d.In.Bytes(d.str(key, v)))
		}
	}
}

// str returns a string value (null → empty); other types are bad-value.
func (d *Decoder) str(key []byte, v *fastjson.Value) []byte {
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return b
	case fastjson.TypeNull:
		return nil
	}
	d.fail(flowlog.KindBadValue, "%s is a JSON %s, not a string", key, v.Type())
	return nil
}

// int reads a JSON integer literal: optional '-' when signed, digits only.
func (d *Decoder) int(key []byte, v *fastjson.Value, signed bool, max uint64, over flowlog.Kind) int64 {
	switch v.Type() {
	case fastjson.TypeNull:
		return 0
	case fastjson.TypeNumber:
	default:
		d.fail(flowlog.KindBadNumber, "%s is a JSON %s, not an integer", key, v.Type())
		return 0
	}
	b := v.MarshalTo(d.scratch[:0])
	neg := false
	if signed && len(b) > 1 && b[0] == '-' {
		neg, b = true, b[1:]
	}
	limit := max
	if neg {
		limit = max + 1 // -2^63 is in range
	}
	n, e := lex.ParseUint(b, limit)
	switch e {
	case lex.NumSyntax:
		d.fail(flowlog.KindBadNumber, "%s %s is not an integer in range", key, v.MarshalTo(d.scratch[:0]))
		return 0
	case lex.NumOverflow:
		if over == flowlog.KindBadNumber {
			d.fail(over, "%s %s is out of range", key, v.MarshalTo(d.scratch[:0]))
		} else {
			d.fail(over, "%s %s is larger than %d", key, b, max)
		}
		return 0
	}
	if neg {
		return -int64(n)
	}
	return int64(n)
}

func (d *Decoder) addr(key []byte, v *fastjson.Value) (a netip.Addr) {
	b := d.str(key, v)
	if d.bad || v.Type() == fastjson.TypeNull {
		return a
	}
	a, ok := lex.ParseAddr(b)
	if !ok {
		d.fail(flowlog.KindBadIP, "%s %q is not an IP address", key, b)
	}
	return a
}
