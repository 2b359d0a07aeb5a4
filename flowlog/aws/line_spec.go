package aws

import (
	"math/bits"
	"net/netip"
	"slices"
	"unsafe"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/internal/lex"
)

// Straight-line parsers for the two formats nearly every input uses: the
// version 2 default and the custom format with every version 5 field in
// AWS's documented order. Each reads a well-formed line and fills the whole
// record, optional keys included (in ascending key order, which a fixed
// format fixes), in one pass with no per-field dispatch. Like fast, they
// accept only lines that slow would accept with the same result and touch
// the Tally never: on anything unusual they return false and Parse runs the
// general plan (fast, then slow) on the line. Their one side effect on a
// line they give up on is the values interned or kept so far (a kept value
// is right for any later line whose bytes match, so results do not change).

// spec names a format with a straight-line parser.
type spec uint8

const (
	specNone spec = iota
	specV2        // DefaultFields
	specV5        // V5Fields
)

// V5Fields is the custom format with every version 5 field, in the order
// of AWS's documentation (FORMATS.md 3.2): the usual custom format.
var V5Fields = []string{"version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport",
	"dstport", "protocol", "packets", "bytes", "start", "end", "action", "log-status", "vpc-id",
	"subnet-id", "instance-id", "tcp-flags", "type", "pkt-srcaddr", "pkt-dstaddr", "region", "az-id",
	"sublocation-type", "sublocation-id", "pkt-src-aws-service", "pkt-dst-aws-service",
	"flow-direction", "traffic-path"}

// specOf returns the straight-line parser for a field order, if any.
func specOf(names []string) spec {
	switch {
	case slices.Equal(names, DefaultFields):
		return specV2
	case slices.Equal(names, V5Fields):
		return specV5
	}
	return specNone
}

// Line positions of the V5Fields fields the parser keeps values for.
const (
	v5Account     = 1
	v5Iface       = 2
	v5VPC         = 14
	v5Subnet      = 15
	v5Instance    = 16
	v5Type        = 18
	v5Region      = 21
	v5AZ          = 22
	v5SublocType  = 23
	v5SublocID    = 24
	v5PktSrcSvc   = 25
	v5PktDstSvc   = 26
	v2Account     = 1
	v2Iface       = 2
	maxSpecAttrs  = 16 // at least the optional keys of any spec format
	sepSpaceDash  = 0x202d
	wordOnes      = 0x2121212121212121
	wordHighBits  = 0x8080808080808080
	actionAccept6 = 0x545045434341 // "ACCEPT"
	actionReject6 = 0x5443454a4552 // "REJECT"
)

// specAttrs returns rec's Attrs as room for maxSpecAttrs keys: its own
// backing array when large enough (callers that reuse a record), else the
// parser's (valid until the next line, as the Reader contract allows).
func (p *LineParser) specAttrs(rec *flowlog.Record) *[maxSpecAttrs]flowlog.Attr {
	if cap(rec.Attrs) < maxSpecAttrs {
		if p.attrs == nil {
			p.attrs = new([maxSpecAttrs]flowlog.Attr)
		}
		rec.Attrs = p.attrs[:0]
	}
	return (*[maxSpecAttrs]flowlog.Attr)(rec.Attrs[:maxSpecAttrs])
}

// sword reads the string field at line[i:] (line position s, n = len(line))
// and returns its value ("" for "-") and where the next field starts, or
// next < 0 when the field is empty or not followed by a space within the
// line. A "-" field is taken inline.
func (p *LineParser) sword(line []byte, i, n, s int) (string, int) {
	if lex.Load8(line, i)&0xffff == sepSpaceDash && i+1 < n {
		return "", i + 2
	}
	return p.sfield(line, i, n, s)
}

// sfield is sword without the inline "-" test (for fields that are
// rarely "-").
func (p *LineParser) sfield(line []byte, i, n, s int) (string, int) {
	w := lex.Load8(line, i)
	base := unsafe.Pointer(unsafe.SliceData(line))
	e := (*prevTok)(unsafe.Add(unsafe.Pointer(&p.prev), uintptr(s)*unsafe.Sizeof(prevTok{})))
	// Mostly the value kept at this position: its bytes followed by a
	// space (the kept value has no byte below '!', so equal bytes are the
	// whole field). No scan for the field's end then.
	if l := len(e.s); l > 0 && i+l < n && *(*byte)(unsafe.Add(base, i+l)) == ' ' {
		if l <= 8 {
			if (w^e.w)<<((64-8*uint(l))&63) == 0 {
				return e.s, i + l + 1
			}
		} else if w == e.w && lex.SameTail(e.s, unsafe.Slice((*byte)(unsafe.Add(base, i)), l)) {
			return e.s, i + l + 1
		}
	}
	var j int
	if m := (w - wordOnes) &^ w & wordHighBits; m != 0 {
		j = i + bits.TrailingZeros64(m)>>3
	} else {
		j = lex.ScanToken(line, i+8)
	}
	l := j - i
	if l == 0 || j >= n || *(*byte)(unsafe.Add(base, j)) != ' ' {
		return "", -1
	}
	if l == 1 && byte(w) == '-' {
		return "", j + 1
	}
	str := p.intern(unsafe.Slice((*byte)(unsafe.Add(base, i)), l))
	e.s, e.w = str, w
	return str, j + 1
}

// snum reads the decimal number at line[i:], followed by a space within
// the line, and returns it and where the next field starts (next < 0: no
// digits, more than 19, or no space after them). It takes no "-". Numbers
// of up to seven digits are read inline (snumInline), longer ones here.
func snum(line []byte, i, n int) (uint64, int) {
	w := lex.Load8(line, i)
	d := lex.LeadingDigits(w)
	if d == 8 || d == 0 || i+d >= n || byte(w>>(8*uint(d))) != ' ' {
		return snumLong(line, i, n)
	}
	return lex.DigitsValue(w, d), i + d + 1
}

// snum1 is snum with a one-digit field (version, tcp-flags) read inline.
func snum1(line []byte, i, n int) (uint64, int) {
	w := lex.Load8(line, i)
	if c := byte(w) - '0'; c <= 9 && byte(w>>8) == ' ' && i+1 < n {
		return uint64(c), i + 2
	}
	return snum(line, i, n)
}

// snumLong is snum for a field of eight digits or more (or a bad one).
func snumLong(line []byte, i, n int) (uint64, int) {
	w := lex.Load8(line, i)
	d := lex.LeadingDigits(w)
	if d == 0 {
		return 0, -1
	}
	v, j := lex.DigitsValue(w, d), i+d
	if d == 8 {
		w = lex.Load8(line, j)
		if d = lex.LeadingDigits(w); d == 8 {
			if v, j = lex.ScanUint(line, i); j == i || j >= n || line[j] != ' ' {
				return 0, -1
			}
			return v, j + 1
		}
		if d > 0 {
			v, j = v*lex.Pow10[d&7]+lex.DigitsValue(w, d), j+d
		}
	}
	if j >= n || byte(w>>(8*uint(d)&63)) != ' ' {
		return 0, -1
	}
	return v, j + 1
}

// snums reads the seven numbers srcport, dstport, protocol, packets,
// bytes, start and end (each followed by a space within the line) into
// out, in one loop, and returns where the next field starts (< 0: not
// seven numbers). Values are not checked against their limits.
func snums(line []byte, i, n int, out *[7]uint64) int {
	for k := range out {
		w := lex.Load8(line, i)
		d := lex.LeadingDigits(w)
		if d == 0 {
			return -1
		}
		v, j := lex.DigitsValue(w, d), i+d
		if d == 8 { // up to 16 digits in two words, more by snumLong
			w = lex.Load8(line, j)
			if d = lex.LeadingDigits(w); d == 8 {
				if v, j = snumLong(line, i, n); j < 0 {
					return -1
				}
				out[k], i = v, j
				continue
			}
			if d > 0 {
				v, j = v*lex.Pow10[d&7]+lex.DigitsValue(w, d), j+d
			}
		}
		if j >= n || byte(w>>(8*uint(d)&63)) != ' ' {
			return -1
		}
		out[k], i = v, j+1
	}
	return i
}

// setNums stores the numbers snums read into rec, false when one is over
// its limit.
func setNums(rec *flowlog.Record, v *[7]uint64) bool {
	if v[0] > lex.MaxPort || v[1] > lex.MaxPort || v[2] > lex.MaxProto ||
		v[3] > lex.MaxInt64 || v[4] > lex.MaxInt64 || v[5] > lex.MaxInt64 || v[6] > lex.MaxInt64 {
		return false
	}
	rec.SrcPort, rec.DstPort, rec.Proto = uint16(v[0]), uint16(v[1]), uint8(v[2])
	rec.Packets, rec.Bytes, rec.Start, rec.End = int64(v[3]), int64(v[4]), int64(v[5]), int64(v[6])
	return true
}

// slast reads the last field of a line, an optional number: -1 for "-";
// ok is false unless it ends the line exactly.
func slast(line []byte, i, n int, max uint64) (int64, bool) {
	w := lex.Load8(line, i)
	if byte(w) == '-' {
		return -1, i+1 == n
	}
	v, j := lex.ScanUint(line, i)
	return int64(v), j > i && j == n && v <= max
}

// saddr reads the address field at line[i:] (srcaddr, dstaddr) and returns
// it and where the next field starts (next < 0: not an address followed by
// a space).
func (p *LineParser) saddr(line []byte, i, n int) (netip.Addr, int) {
	// Mostly a dotted quad already read: looked up by its text first.
	w0, w1 := lex.Load8(line, i), lex.Load8(line, i+8)
	var l int
	if m := (w0 - wordOnes) &^ w0 & wordHighBits; m != 0 {
		l = bits.TrailingZeros64(m) >> 3
		w0, w1 = w0&(1<<(8*uint(l))-1), 0
	} else if m = (w1 - wordOnes) &^ w1 & wordHighBits; m != 0 {
		l = 8 + bits.TrailingZeros64(m)>>3
		w1 &= 1<<(8*uint(l-8)) - 1
	} else {
		return p.saddrSlow(line, i, n)
	}
	if j := i + l; p.quads != nil && j < n && *(*byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(line)), j)) == ' ' {
		if e := p.quadSlot(w0, w1); e.w0 == w0 && e.w1 == w1 && e.n != 0 {
			return netip.AddrFrom4([4]byte{byte(e.ip >> 24), byte(e.ip >> 16), byte(e.ip >> 8), byte(e.ip)}), j + 1
		}
	}
	return p.saddrSlow(line, i, n)
}

// saddrSlow is saddr for a field not in the quad cache.
func (p *LineParser) saddrSlow(line []byte, i, n int) (a netip.Addr, next int) {
	a, e, ok := p.scanIPv4(line, i)
	if !ok || e >= n || line[e] != ' ' {
		if a, e = scanAddr(line, i); e < 0 || e >= n || line[e] != ' ' {
			return a, -1
		}
	}
	return a, e + 1
}

// spkt reads a pkt-srcaddr/pkt-dstaddr field at line[i:] and returns its
// canonical text ("" for "-") and where the next field starts. The text
// mostly repeats srcaddr's or dstaddr's: a dotted quad in p.quads, whose
// text is canonical. A field that is not an address gives next < 0: the
// general path counts it.
func (p *LineParser) spkt(line []byte, i, n int) (string, int) {
	w0, w1 := lex.Load8(line, i), lex.Load8(line, i+8)
	var l int
	if m := (w0 - wordOnes) &^ w0 & wordHighBits; m != 0 {
		l = bits.TrailingZeros64(m) >> 3
		w0, w1 = w0&(1<<(8*uint(l))-1), 0
	} else if m = (w1 - wordOnes) &^ w1 & wordHighBits; m != 0 {
		l = 8 + bits.TrailingZeros64(m)>>3
		w1 &= 1<<(8*uint(l-8)) - 1
	} else {
		l = lex.ScanToken(line, i+16) - i
	}
	j := i + l
	if l == 0 || j >= n || line[j] != ' ' {
		return "", -1
	}
	if l == 1 && byte(w0) == '-' {
		return "", j + 1
	}
	b := line[i:j]
	if l < 16 && p.quads != nil {
		// A dotted quad already read (srcaddr, dstaddr): canonical text.
		if e := p.quadSlot(w0, w1); e.w0 == w0 && e.w1 == w1 && e.n != 0 {
			if e.s == "" {
				e.s = p.In.Bytes(b)
			}
			return e.s, j + 1
		}
	}
	a, ok := lex.ParseAddr(b)
	if !ok {
		return "", -1
	}
	if a.Is4() {
		return p.In.Bytes(b), j + 1
	}
	return p.addrString(a), j + 1
}

// sdefault resets rec and reads the fields both straight-line formats
// start with, those of the default format up to action (version,
// account-id, interface-id, addresses, ports, protocol, counters, times),
// interning account and interface in the given slots. It returns the
// version and the index past action, or -1.
func (p *LineParser) sdefault(line []byte, n int, rec *flowlog.Record, account, iface int) (uint64, int) {
	*rec = flowlog.Record{Source: p.Source, Attrs: rec.Attrs[:0]}
	version, i := snum1(line, 0, n)
	if i < 0 || version > lex.MaxInt32 {
		return 0, -1
	}
	if rec.Account, i = p.sfield(line, i, n, account); i < 0 {
		return 0, -1
	}
	if rec.Iface, i = p.sfield(line, i, n, iface); i < 0 {
		return 0, -1
	}
	if rec.Src, i = p.saddr(line, i, n); i < 0 {
		return 0, -1
	}
	if rec.Dst, i = p.saddr(line, i, n); i < 0 {
		return 0, -1
	}
	var nums [7]uint64
	if i = snums(line, i, n, &nums); i < 0 || !setNums(rec, &nums) {
		return 0, -1
	}
	return version, p.saction(line, i, n, rec)
}

// fastV5 is the straight-line parser of V5Fields.
func (p *LineParser) fastV5(line []byte, rec *flowlog.Record) bool {
	line = p.padded(line)
	n := len(line)
	attrs := p.specAttrs(rec)
	version, i := p.sdefault(line, n, rec, v5Account, v5Iface)
	if i < 0 {
		return false
	}
	if i = sstatus(line, i, n); i < 0 {
		return false
	}
	if rec.VPC, i = p.sfield(line, i, n, v5VPC); i < 0 {
		return false
	}
	if rec.Subnet, i = p.sfield(line, i, n, v5Subnet); i < 0 {
		return false
	}
	instance, i := p.sfield(line, i, n, v5Instance)
	if i < 0 {
		return false
	}
	v, i := snum1(line, i, n)
	if i < 0 || v > lex.MaxInt32 {
		return false
	}
	rec.TCPFlags = int32(v)
	typ, i := p.sfield(line, i, n, v5Type)
	if i < 0 {
		return false
	}
	pktSrc, i := p.spkt(line, i, n)
	if i < 0 {
		return false
	}
	pktDst, i := p.spkt(line, i, n)
	if i < 0 {
		return false
	}
	region, i := p.sfield(line, i, n, v5Region)
	if i < 0 {
		return false
	}
	az, i := p.sfield(line, i, n, v5AZ)
	if i < 0 {
		return false
	}
	// sublocation-type, sublocation-id, pkt-src-aws-service and
	// pkt-dst-aws-service: mostly all "-", one word.
	var sublocType, sublocID, srcSvc, dstSvc string
	if lex.Load8(line, i) == 0x202d202d202d202d && i+7 < n {
		i += 8
	} else {
		if sublocType, i = p.sword(line, i, n, v5SublocType); i < 0 {
			return false
		}
		if sublocID, i = p.sword(line, i, n, v5SublocID); i < 0 {
			return false
		}
		if srcSvc, i = p.sword(line, i, n, v5PktSrcSvc); i < 0 {
			return false
		}
		if dstSvc, i = p.sword(line, i, n, v5PktDstSvc); i < 0 {
			return false
		}
	}
	if i = p.sdirection(line, i, n, rec); i < 0 {
		return false
	}
	path, ok := slast(line, i, n, lex.MaxInt32)
	if !ok {
		return false
	}
	// Optional keys in ascending key order, empty ones left out.
	k := 0
	if az != "" {
		attrs[k&15] = flowlog.Attr{Key: flowlog.AttrAzId, Str: az}
		k++
	}
	if instance != "" {
		attrs[k&15] = flowlog.Attr{Key: flowlog.AttrInstanceId, Str: instance}
		k++
	}
	if dstSvc != "" {
		attrs[k&15] = flowlog.Attr{Key: flowlog.AttrPktDstAwsService, Str: dstSvc}
		k++
	}
	if pktDst != "" {
		attrs[k&15] = flowlog.Attr{Key: flowlog.AttrPktDstaddr, Str: pktDst}
		k++
	}
	if srcSvc != "" {
		attrs[k&15] = flowlog.Attr{Key: flowlog.AttrPktSrcAwsService, Str: srcSvc}
		k++
	}
	if pktSrc != "" {
		attrs[k&15] = flowlog.Attr{Key: flowlog.AttrPktSrcaddr, Str: pktSrc}
		k++
	}
	if region != "" {
		attrs[k&15] = flowlog.Attr{Key: flowlog.AttrRegion, Str: region}
		k++
	}
	if sublocID != "" {
		attrs[k&15] = flowlog.Attr{Key: flowlog.AttrSublocationId, Str: sublocID}
		k++
	}
	if sublocType != "" {
		attrs[k&15] = flowlog.Attr{Key: flowlog.AttrSublocationType, Str: sublocType}
		k++
	}
	if path >= 0 {
		attrs[k&15] = flowlog.Attr{Key: flowlog.AttrTrafficPath, Int: path}
		k++
	}
	if typ != "" {
		attrs[k&15] = flowlog.Attr{Key: flowlog.AttrType, Str: typ}
		k++
	}
	attrs[k&15] = flowlog.Attr{Key: flowlog.AttrVersion, Int: int64(version)}
	k++
	rec.Attrs = rec.Attrs[:k]
	return true
}

// saction reads the action field ("-" leaves it unknown) and returns where
// the next field starts (< 0: another value, or no space after it).
func (p *LineParser) saction(line []byte, i, n int, rec *flowlog.Record) int {
	w := lex.Load8(line, i)
	switch {
	case w&0xffffffffffffff == 0x20<<48|actionAccept6:
		rec.Action, i = flowlog.ActionAccept, i+7
	case w&0xffffffffffffff == 0x20<<48|actionReject6:
		rec.Action, i = flowlog.ActionReject, i+7
	case w&0xffff == sepSpaceDash:
		i += 2
	default:
		return -1
	}
	if i > n {
		return -1
	}
	return i
}

// sdirection reads flow-direction like saction.
func (p *LineParser) sdirection(line []byte, i, n int, rec *flowlog.Record) int {
	w := lex.Load8(line, i)
	switch {
	case w == 0x2073736572676e69: // "ingress "
		rec.Direction, i = flowlog.DirIngress, i+8
	case w&0xffffffffffffff == 0x20737365726765: // "egress "
		rec.Direction, i = flowlog.DirEgress, i+7
	case w&0xffff == sepSpaceDash:
		i += 2
	default:
		return -1
	}
	if i > n {
		return -1
	}
	return i
}

// sstatus reads log-status: "OK" or "-" (NODATA, SKIPDATA and bad values
// are the general path's).
func sstatus(line []byte, i, n int) int {
	w := lex.Load8(line, i)
	switch {
	case w&0xffffff == 0x204b4f: // "OK "
		i += 3
	case w&0xffff == sepSpaceDash:
		i += 2
	default:
		return -1
	}
	if i > n {
		return -1
	}
	return i
}

// fastV2 is the straight-line parser of DefaultFields.
func (p *LineParser) fastV2(line []byte, rec *flowlog.Record) bool {
	line = p.padded(line)
	n := len(line)
	attrs := p.specAttrs(rec)
	version, i := p.sdefault(line, n, rec, v2Account, v2Iface)
	if i < 0 {
		return false
	}
	// log-status ends the line: "OK" or "-".
	switch w := lex.Load8(line, i); {
	case w&0xffff == 0x4b4f && i+2 == n: // "OK"
	case byte(w) == '-' && i+1 == n:
	default:
		return false
	}
	attrs[0] = flowlog.Attr{Key: flowlog.AttrVersion, Int: int64(version)}
	rec.Attrs = rec.Attrs[:1]
	return true
}
