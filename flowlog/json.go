package flowlog

import (
	"strconv"
	"unicode/utf8"
)

// FixedKeys are the fixed JSONL keys in output order (FORMATS.md 1.1): the
// column names of every tabular sink and of flowsift's own Parquet.
var FixedKeys = [17]string{"start", "end", "src", "dst", "sport", "dport", "proto", "packets", "bytes",
	"action", "direction", "iface", "vpc", "subnet", "account", "tcp_flags", "source"}

// AppendJSON appends r as one JSONL object (no trailing newline) in the
// fixed key order of FORMATS.md 1.1 followed by the optional keys in
// byte-wise name order. It does not allocate when buf has room.
func AppendJSON(buf []byte, r *Record) []byte {
	buf = append(buf, `{"start":`...)
	buf = strconv.AppendInt(buf, r.Start, 10)
	buf = append(buf, `,"end":`...)
	buf = strconv.AppendInt(buf, r.End, 10)
	buf = append(buf, `,"src":"`...)
	if r.Src.IsValid() {
		buf = r.Src.AppendTo(buf)
	}
	buf = append(buf, `","dst":"`...)
	if r.Dst.IsValid() {
		buf = r.Dst.AppendTo(buf)
	}
	buf = append(buf, `","sport":`...)
	buf = strconv.AppendUint(buf, uint64(r.SrcPort), 10)
	buf = append(buf, `,"dport":`...)
	buf = strconv.AppendUint(buf, uint64(r.DstPort), 10)
	buf = append(buf, `,"proto":`...)
	buf = strconv.AppendUint(buf, uint64(r.Proto), 10)
	buf = append(buf, `,"packets":`...)
	buf = strconv.AppendInt(buf, r.Packets, 10)
	buf = append(buf, `,"bytes":`...)
	buf = strconv.AppendInt(buf, r.Bytes, 10)
	buf = append(buf, `,"action":"`...)
	buf = append(buf, r.Action.String()...)
	buf = append(buf, `","direction":"`...)
	buf = append(buf, r.Direction.String()...)
	buf = append(buf, `","iface":`...)
	buf = AppendJSONString(buf, r.Iface)
	buf = append(buf, `,"vpc":`...)
	buf = AppendJSONString(buf, r.VPC)
	buf = append(buf, `,"subnet":`...)
	buf = AppendJSONString(buf, r.Subnet)
	buf = append(buf, `,"account":`...)
	buf = AppendJSONString(buf, r.Account)
	buf = append(buf, `,"tcp_flags":`...)
	buf = strconv.AppendInt(buf, int64(r.TCPFlags), 10)
	buf = append(buf, `,"source":"`...)
	buf = append(buf, r.Source.String()...)
	buf = append(buf, '"')
	buf = AppendJSONAttrs(buf, r.Attrs)
	return append(buf, '}')
}

// AppendJSONAttrs appends `,"key":value` for each attribute.
func AppendJSONAttrs(buf []byte, attrs []Attr) []byte {
	for i := range attrs {
		a := &attrs[i]
		buf = append(buf, ',', '"')
		buf = append(buf, a.Key.Name()...)
		buf = append(buf, '"', ':')
		if a.Key.IsInt() {
			buf = strconv.AppendInt(buf, a.Int, 10)
		} else {
			buf = AppendJSONString(buf, a.Str)
		}
	}
	return buf
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string, escaping as encoding/json
// does (invalid UTF-8 becomes U+FFFD; <, >, & are left as they are).
func AppendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
