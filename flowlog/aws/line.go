package aws

import (
	"math/bits"
	"net/netip"
	"unsafe"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/internal/lex"
)

// padded returns line, or a copy of it with room after it when it has
// none: fast's scans and finish's compares read whole words past the end
// of a field (rare: the end of a read buffer).
func (p *LineParser) padded(line []byte) []byte {
	if lex.Padded(line) {
		return line
	}
	p.pad = append(append(p.pad[:0], line...), make([]byte, lex.ScanPad)...)
	return p.pad[:len(line)]
}

// maxFields bounds the tokens kept per line (every known field fits).
const maxFields = 72

// LineParser turns one data line of a known Format into a record. It is
// shared by the text reader and the CloudWatch shapes, whose messages are
// lines of the default format.
type LineParser struct {
	Format *Format
	Tally  *flowlog.Tally
	In     *flowlog.Interner
	Source flowlog.Source

	spans [maxFields]lex.Span
	ints  [maxFields]int64 // parsed optional integers, by line position
	line  []byte           // the line being parsed
	pad   []byte           // a copy of a line with lex.ScanPad bytes after it
	// prev is the last value kept at each line position (string fields):
	// consecutive lines mostly repeat account, VPC, region, type. Any
	// value whose bytes match is right, whatever the format was then.
	prev [maxFields]prevTok
	// toks is a direct-mapped cache of interned strings of 8 bytes or
	// more by a hash of their bytes, looked at before the Interner (ENI,
	// instance and subnet ids that change from line to line). Allocated on
	// first use.
	toks *[1 << tokCacheBits]tokEntry
	// quads caches the dotted quads fast has read (srcaddr, dstaddr),
	// direct-mapped by their text. Allocated on first use.
	quads *[1 << quadCacheBits]quadEntry
	// v4 caches the interned text of IPv4 addresses for pkt-srcaddr and
	// pkt-dstaddr (direct-mapped by the address; s == "" is empty).
	v4 [v4CacheSize]v4Entry
	// attrs backs the optional keys the straight-line parsers write into a
	// record that brings too little room (allocated on first use).
	attrs *[maxSpecAttrs]flowlog.Attr
}

const v4CacheSize = 1024

// prevTok is an interned value and its first bytes (up to eight, as loaded
// from the line it came from; compares mask what follows the value).
type prevTok struct {
	s string
	w uint64
}

// str returns the interned value of the string field at line position s
// (a position of the format whose span lies within p.line), "" for "-".
func (p *LineParser) str(s int16) string {
	sp := *(*lex.Span)(unsafe.Add(unsafe.Pointer(&p.spans), uintptr(s)*unsafe.Sizeof(lex.Span{})))
	l := int(sp.Hi - sp.Lo)
	w := lex.Load8(p.line, int(sp.Lo)) // within the padding after the line
	if l == 1 && byte(w) == '-' {
		return ""
	}
	e := (*prevTok)(unsafe.Add(unsafe.Pointer(&p.prev), uintptr(s)*unsafe.Sizeof(prevTok{})))
	b := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(p.line)), sp.Lo)), l)
	if l == len(e.s) {
		if l <= 8 {
			if (w^e.w)<<((64-8*uint(l))&63) == 0 {
				return e.s
			}
		} else if w == e.w && lex.SameTail(e.s, b) {
			return e.s
		}
	}
	str := p.intern(b)
	e.s, e.w = str, w
	return str
}

const tokCacheBits = 12

const quadCacheBits = 14

// quadEntry is a dotted quad's text (up to 15 bytes in two words, zeros
// after it) and its address (ip, first field in the high byte); n == 0 is
// an empty entry. s is the text interned, once asked for (pkt-*addr
// fields mostly repeat srcaddr or dstaddr), "" until then.
type quadEntry struct {
	w0, w1 uint64
	ip     uint32
	n      uint32
	s      string
}

// quadSlot is the quads entry for the text w0, w1 (p.quads allocated).
func (p *LineParser) quadSlot(w0, w1 uint64) *quadEntry {
	return &p.quads[((w0*0x9e3779b97f4a7c15)^w1)*0xff51afd7ed558ccd>>(64-quadCacheBits)]
}

// scanIPv4 is lex.ScanIPv4 on a padded line, looking the field up first
// among the quads already read: addresses repeat from line to line. The
// field is the bytes up to the next one below '!' (ScanToken's end).
func (p *LineParser) scanIPv4(line []byte, i int) (netip.Addr, int, bool) {
	const ones, high = 0x2121212121212121, 0x8080808080808080
	w0, w1 := lex.Load8(line, i), lex.Load8(line, i+8)
	var n int
	if m := (w0 - ones) &^ w0 & high; m != 0 {
		n = bits.TrailingZeros64(m) >> 3
		w0, w1 = w0&(1<<(8*uint(n))-1), 0
	} else if m = (w1 - ones) &^ w1 & high; m != 0 {
		n = 8 + bits.TrailingZeros64(m)>>3
		w1 &= 1<<(8*uint(n-8)) - 1
	} else {
		return lex.ScanIPv4(line, i) // 16 bytes or more: not a quad
	}
	if p.quads == nil {
		p.quads = new([1 << quadCacheBits]quadEntry)
	}
	e := p.quadSlot(w0, w1)
	if e.w0 == w0 && e.w1 == w1 && e.n != 0 {
		return netip.AddrFrom4([4]byte{byte(e.ip >> 24), byte(e.ip >> 16), byte(e.ip >> 8), byte(e.ip)}), i + n, true
	}
	a, j, ok := lex.ScanIPv4(line, i)
	if ok && j == i+n {
		q := a.As4()
		*e = quadEntry{w0: w0, w1: w1, ip: uint32(q[0])<<24 | uint32(q[1])<<16 | uint32(q[2])<<8 | uint32(q[3]), n: uint32(n)}
	}
	return a, j, ok
}

// intern returns the interned string equal to b (not empty).
func (p *LineParser) intern(b []byte) string {
	n := len(b)
	if n < 8 {
		return p.In.Bytes(b)
	}
	if p.toks == nil {
		p.toks = new([1 << tokCacheBits]tokEntry)
	}
	// First, middle and last words: ids differ at either end or, like
	// subnet-0a1b…/subnet-0g1b…, in the middle.
	base := unsafe.Pointer(unsafe.SliceData(b))
	w0 := *(*uint64)(base)
	wm := *(*uint64)(unsafe.Add(base, n/2-4))
	w1 := *(*uint64)(unsafe.Add(base, n-8))
	h := ((w0*0x9e3779b97f4a7c15^wm)*0xff51afd7ed558ccd ^ w1 ^ uint64(n)) * 0xc4ceb9fe1a85ec53
	e := &p.toks[h>>(64-tokCacheBits)]
	// The three words cover every byte of a value of 8 to 24 bytes.
	if len(e.s) == n && e.w0 == w0 && e.wm == wm && e.w1 == w1 && (n <= 24 || lex.Same(e.s, b)) {
		return e.s
	}
	s := p.In.Bytes(b)
	*e = tokEntry{w0, wm, w1, s}
	return s
}

// tokEntry is an interned string of 8 bytes or more and its first, middle
// and last words (as intern reads them); s == "" is an empty entry.
type tokEntry struct {
	w0, wm, w1 uint64
	s          string
}

type v4Entry struct {
	a uint32
	s string
}

// v4String returns the interned text of the dotted quad b, whose value is
// a (b is canonical: a valid dotted quad is netip's text of its address).
func (p *LineParser) v4String(a netip.Addr, b []byte) string {
	q := a.As4()
	k := uint32(q[0])<<24 | uint32(q[1])<<16 | uint32(q[2])<<8 | uint32(q[3])
	e := &p.v4[(k*0x9e3779b1)>>(32-10)&(v4CacheSize-1)]
	if e.a == k && e.s != "" {
		return e.s
	}
	s := p.In.Bytes(b)
	e.a, e.s = k, s
	return s
}

// at returns the token at line position s.
func (p *LineParser) at(s int16) []byte {
	sp := p.spans[s]
	return p.line[sp.Lo:sp.Hi]
}

// tok returns the token of field id, or nil when the format lacks it.
func (p *LineParser) tok(id fieldID) []byte {
	if s := p.Format.core[id]; s >= 0 {
		return p.at(s)
	}
	return nil
}

func isDash(b []byte) bool { return len(b) == 1 && b[0] == '-' }

// numField validates one integer token; "-" is absent (0).
func (p *LineParser) numField(pos int64, name string, b []byte, max uint64, overKind flowlog.Kind) (int64, bool) {
	if b == nil || isDash(b) { // absent from the format, or "-"
		return 0, true
	}
	v, e := lex.ParseUint(b, max)
	switch e {
	case lex.NumSyntax:
		p.Tally.Badf(pos, flowlog.KindBadNumber, "%s %q is not a decimal integer", name, b)
		return 0, false
	case lex.NumOverflow:
		if overKind == flowlog.KindBadNumber {
			p.Tally.Badf(pos, overKind, "%s %q is out of range", name, b)
		} else {
			p.Tally.Badf(pos, overKind, "%s %q is larger than %d", name, b, max)
		}
		return 0, false
	}
	return int64(v), true
}

// optInt validates an optional integer field: -1 for "-" (left out).
func (p *LineParser) optInt(pos int64, name string, b []byte, max uint64) (int64, bool) {
	if isDash(b) {
		return -1, true
	}
	return p.numField(pos, name, b, max, flowlog.KindBadNumber)
}

// Parse parses a data line at position pos (a line that is not a header).
// It returns true when rec holds a record; otherwise the line was reported
// (malformed) or counted (NODATA/SKIPDATA).
func (p *LineParser) Parse(line []byte, pos int64, rec *flowlog.Record) bool {
	switch p.Format.spec {
	case specV5:
		if p.fastV5(line, rec) {
			return true
		}
	case specV2:
		if p.fastV2(line, rec) {
			return true
		}
	}
	if !p.fast(line, rec) && !p.slow(line, pos, rec) {
		return false
	}
	p.finish(rec)
	return true
}

// fast reads a well-formed line in one pass over its bytes, splitting and
// converting each field as the format's plan says (Format.ops). It accepts
// only lines that slow would accept with the same result: fields separated
// by single spaces, valid values, log-status OK or "-". On anything else
// (tabs, runs of spaces, a bad or unusual value, NODATA/SKIPDATA, a wrong
// field count) it returns false without reporting, and slow re-reads the
// line to report its first defect in table order.
func (p *LineParser) fast(line []byte, rec *flowlog.Record) bool {
	ops := p.Format.ops
	last := len(ops) - 1
	if last < 0 || len(ops) > maxFields {
		return false
	}
	line = p.padded(line)
	n := len(line)
	*rec = flowlog.Record{Source: p.Source, Attrs: rec.Attrs[:0]}
	spans := p.spans[:len(ops)]
	ints := p.ints[:len(ops)]
	base := unsafe.Pointer(unsafe.SliceData(line))
	i, j := 0, 0
	for k, o := range ops {
		switch o {
		case opStr:
			if j = lex.ScanToken(line, i); j <= i {
				return false // an empty field (a run of separators)
			}
			spans[k] = lex.Span{Lo: int32(i), Hi: int32(j)}
		case opSrcAddr, opDstAddr:
			a, e, ok := p.scanIPv4(line, i)
			if !ok || e < n && line[e] != ' ' {
				if a, e = scanAddr(line, i); e < 0 {
					return false
				}
			}
			if j = e; o == opSrcAddr {
				rec.Src = a
			} else {
				rec.Dst = a
			}
			spans[k] = lex.Span{Lo: int32(i), Hi: int32(j)}
		case opAction:
			switch w := lex.Load8(line, i); {
			case w&0xffffffffffff == 0x545045434341: // "ACCEPT"
				rec.Action, j = flowlog.ActionAccept, i+6
			case w&0xffffffffffff == 0x5443454a4552: // "REJECT"
				rec.Action, j = flowlog.ActionReject, i+6
			case byte(w) == '-':
				j = i + 1
			default:
				return false
			}
		case opDirection:
			switch w := lex.Load8(line, i); {
			case w&0xffffffffffffff == 0x73736572676e69: // "ingress"
				rec.Direction, j = flowlog.DirIngress, i+7
			case w&0xffffffffffff == 0x737365726765: // "egress"
				rec.Direction, j = flowlog.DirEgress, i+6
			case byte(w) == '-':
				j = i + 1
			default:
				return false
			}
		case opStatus:
			switch w := lex.Load8(line, i); {
			case w&0xffff == 0x4b4f: // "OK"
				j = i + 2
			case byte(w) == '-':
				j = i + 1
			default:
				return false // NODATA, SKIPDATA, or bad: slow decides
			}
		case opSrcPort, opDstPort, opProto, opPackets, opBytes, opStart, opEnd, opTCPFlags, opInt64, opInt32:
			// A number: up to 16 digits in two words here, longer ones
			// by lex.ScanUint; "-" is 0.
			// Digits are counted without regard to the end of the
			// line: a number that runs past it fails the separator check
			// below (j >= n), and slow takes the line.
			w := lex.Load8(line, i)
			d := lex.LeadingDigits(w)
			if d == 0 {
				if byte(w) != '-' {
					return false
				}
				if j = i + 1; o >= opInt64 {
					ints[k] = -1 // left out
				}
				break
			}
			v := lex.DigitsValue(w, d)
			if j = i + d; d == 8 {
				w = lex.Load8(line, j)
				if d = lex.LeadingDigits(w); d == 8 {
					if v, j = lex.ScanUint(line, i); j == i {
						return false
					}
				} else if d > 0 {
					v, j = v*lex.Pow10[d&7]+lex.DigitsValue(w, d), j+d
				}
			}
			switch o {
			case opSrcPort:
				rec.SrcPort = uint16(v)
				if v > lex.MaxPort {
					return false
				}
			case opDstPort:
				rec.DstPort = uint16(v)
				if v > lex.MaxPort {
					return false
				}
			case opProto:
				rec.Proto = uint8(v)
				if v > lex.MaxProto {
					return false
				}
			case opPackets:
				rec.Packets = int64(v)
				if v > lex.MaxInt64 {
					return false
				}
			case opBytes:
				rec.Bytes = int64(v)
				if v > lex.MaxInt64 {
					return false
				}
			case opStart:
				rec.Start = int64(v)
				if v > lex.MaxInt64 {
					return false
				}
			case opEnd:
				rec.End = int64(v)
				if v > lex.MaxInt64 {
					return false
				}
			case opTCPFlags:
				rec.TCPFlags = int32(v)
				if v > lex.MaxInt32 {
					return false
				}
			case opInt64:
				ints[k] = int64(v)
				if v > lex.MaxInt64 {
					return false
				}
			case opInt32:
				ints[k] = int64(v)
				if v > lex.MaxInt32 {
					return false
				}
			}
		default:
			return false
		}
		// The field is line[i:j], not empty (every case above makes sure
		// j > i), and followed by one space (the end of the line after
		// the last field). The byte at j is readable: j <= n+24, within
		// the padding. Spans are kept for the fields finish reads
		// (strings and addresses).
		if j >= n || *(*byte)(unsafe.Add(base, j)) != ' ' {
			if k == last && j == n {
				break
			}
			return false
		}
		i = j + 1
	}
	if j != n { // the last field was followed by a space
		return false
	}
	p.line = line
	return true
}

// scanAddr reads an address field of fast that is not a plain dotted quad
// (IPv6); j < 0 when it is not an address ("-" included: only slow reports
// it).
func scanAddr(b []byte, i int) (netip.Addr, int) {
	j := lex.ScanToken(b, i)
	a, ok := lex.ParseAddr(b[i:j])
	if !ok {
		return a, -1
	}
	return a, j
}

// slow validates a line field by field in the order of FORMATS.md 3.4, so
// that the first defect is the one reported. It runs when fast gives up.
func (p *LineParser) slow(line []byte, pos int64, rec *flowlog.Record) bool {
	f := p.Format
	line = p.padded(line) // finish reads words (p.line)
	n := lex.Spans(line, p.spans[:])
	if n != len(f.fields) {
		p.Tally.Badf(pos, flowlog.KindFieldCount, "%d fields, the format has %d", n, len(f.fields))
		return false
	}
	p.line = line
	// (2) NODATA / SKIPDATA: counted, nothing else validated.
	status := p.tok(fLogStatus)
	if len(status) == 6 && string(status) == "NODATA" {
		p.Tally.NoData++
		return false
	}
	if len(status) == 8 && string(status) == "SKIPDATA" {
		p.Tally.SkipData++
		return false
	}
	// (3) Field values, in the order of the FORMATS.md 3.4 table.
	rec.Reset()
	rec.Source = p.Source
	var ok bool
	if rec.Src, ok = p.addr(pos, "srcaddr", p.tok(fSrcAddr)); !ok {
		return false
	}
	if rec.Dst, ok = p.addr(pos, "dstaddr", p.tok(fDstAddr)); !ok {
		return false
	}
	var v int64
	if v, ok = p.numField(pos, "srcport", p.tok(fSrcPort), lex.MaxPort, flowlog.KindBadPort); !ok {
		return false
	}
	rec.SrcPort = uint16(v)
	if v, ok = p.numField(pos, "dstport", p.tok(fDstPort), lex.MaxPort, flowlog.KindBadPort); !ok {
		return false
	}
	rec.DstPort = uint16(v)
	if v, ok = p.numField(pos, "protocol", p.tok(fProtocol), lex.MaxProto, flowlog.KindBadProtocol); !ok {
		return false
	}
	rec.Proto = uint8(v)
	if rec.Packets, ok = p.numField(pos, "packets", p.tok(fPackets), lex.MaxInt64, flowlog.KindBadNumber); !ok {
		return false
	}
	if rec.Bytes, ok = p.numField(pos, "bytes", p.tok(fBytes), lex.MaxInt64, flowlog.KindBadNumber); !ok {
		return false
	}
	if rec.Start, ok = p.numField(pos, "start", p.tok(fStart), lex.MaxInt64, flowlog.KindBadNumber); !ok {
		return false
	}
	if rec.End, ok = p.numField(pos, "end", p.tok(fEnd), lex.MaxInt64, flowlog.KindBadNumber); !ok {
		return false
	}
	// Optional integers: packets-lost-* (int64), then version, tcp-flags, traffic-path (int32).
	for _, i := range f.int64s {
		if p.ints[i], ok = p.optInt(pos, fieldDefs[f.fields[i]].name, p.at(i), lex.MaxInt64); !ok {
			return false
		}
	}
	if s := f.slot[fVersion]; s >= 0 {
		if p.ints[s], ok = p.optInt(pos, "version", p.at(s), lex.MaxInt32); !ok {
			return false
		}
	}
	if v, ok = p.numField(pos, "tcp-flags", p.tok(fTCPFlags), lex.MaxInt32, flowlog.KindBadNumber); !ok {
		return false
	}
	rec.TCPFlags = int32(v)
	if s := f.slot[fTrafficPath]; s >= 0 {
		if p.ints[s], ok = p.optInt(pos, "traffic-path", p.at(s), lex.MaxInt32); !ok {
			return false
		}
	}
	if rec.Action, ok = p.action(pos, "action", p.tok(fAction)); !ok {
		return false
	}
	if rec.Direction, ok = p.direction(pos, "flow-direction", p.tok(fFlowDirection)); !ok {
		return false
	}
	if !p.status(pos, "log-status", status) {
		return false
	}
	return true
}

// finish fills the string fields and the optional keys of a line that
// fast or slow accepted (p.line and p.spans describe it, p.ints holds its
// optional integers).
func (p *LineParser) finish(rec *flowlog.Record) {
	f := p.Format
	if s := f.core[fAccountID]; s >= 0 {
		rec.Account = p.str(s)
	}
	if s := f.core[fInterfaceID]; s >= 0 {
		rec.Iface = p.str(s)
	}
	if s := f.core[fVPCID]; s >= 0 {
		rec.VPC = p.str(s)
	}
	if s := f.core[fSubnetID]; s >= 0 {
		rec.Subnet = p.str(s)
	}
	// Spans are within p.line (fast and slow made them so), and slots are
	// positions of the format, below maxFields: no bounds checks.
	for _, st := range f.attrSteps {
		switch st.kind {
		case kStr:
			if str := p.str(st.slot); str != "" {
				rec.Attrs = append(rec.Attrs, flowlog.Attr{Key: st.key, Str: str})
			}
		case kPktAddr:
			if str := p.pktAddr(rec, st.slot); str != "" {
				rec.Attrs = append(rec.Attrs, flowlog.Attr{Key: st.key, Str: str})
			}
		default: // kInt32, kInt64: -1 for "-" (left out)
			if v := *(*int64)(unsafe.Add(unsafe.Pointer(&p.ints), uintptr(st.slot)*8)); v >= 0 {
				rec.Attrs = append(rec.Attrs, flowlog.Attr{Key: st.key, Int: v})
			}
		}
	}
}

// spanAt returns the span at line position s (below maxFields).
func (p *LineParser) spanAt(s int16) lex.Span {
	return *(*lex.Span)(unsafe.Add(unsafe.Pointer(&p.spans), uintptr(s)*unsafe.Sizeof(lex.Span{})))
}

// pktAddr returns the canonical text of the pkt-srcaddr or pkt-dstaddr
// field at line position s, "" for "-" or text that is not an address
// (not validated, FORMATS.md 3.4: the key is left out and counted).
func (p *LineParser) pktAddr(rec *flowlog.Record, s int16) string {
	sp := *(*lex.Span)(unsafe.Add(unsafe.Pointer(&p.spans), uintptr(s)*unsafe.Sizeof(lex.Span{})))
	b := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(p.line)), sp.Lo)), sp.Hi-sp.Lo)
	if len(b) == 1 && b[0] == '-' {
		return ""
	}
	// Mostly a repeat of srcaddr or dstaddr, whose IPv4 text is canonical
	// (a valid dotted quad is netip's text of its address, at most 15
	// bytes: two words compared, the bytes past the field masked).
	if n := len(b); n <= 15 {
		w0, w1 := lex.Load8(p.line, int(sp.Lo)), lex.Load8(p.line, int(sp.Lo)+8)
		m0, m1 := ^uint64(0), uint64(1)<<(8*uint(n-8)&63)-1
		if n < 8 {
			m0, m1 = 1<<(8*uint(n))-1, 0
		}
		f := p.Format
		if ss := p.spanAt(f.core[fSrcAddr]); rec.Src.Is4() && int(ss.Hi-ss.Lo) == n &&
			(lex.Load8(p.line, int(ss.Lo))^w0)&m0 == 0 && (lex.Load8(p.line, int(ss.Lo)+8)^w1)&m1 == 0 {
			return p.v4String(rec.Src, b)
		}
		if ds := p.spanAt(f.core[fDstAddr]); rec.Dst.Is4() && int(ds.Hi-ds.Lo) == n &&
			(lex.Load8(p.line, int(ds.Lo))^w0)&m0 == 0 && (lex.Load8(p.line, int(ds.Lo)+8)^w1)&m1 == 0 {
			return p.v4String(rec.Dst, b)
		}
	}
	a, ok := lex.ParseAddr(b)
	if !ok {
		p.Tally.BadPktIP++
		return ""
	}
	if a.Is4() {
		return p.In.Bytes(b) // a valid dotted quad is already canonical text
	}
	return p.addrString(a)
}

// action validates an action value (nil or "-": absent). Shared with the
// Parquet reader, which passes its column name.
func (p *LineParser) action(pos int64, name string, b []byte) (flowlog.Action, bool) {
	if b == nil || isDash(b) {
		return flowlog.ActionUnknown, true
	}
	switch string(b) {
	case "ACCEPT":
		return flowlog.ActionAccept, true
	case "REJECT":
		return flowlog.ActionReject, true
	}
	p.Tally.Badf(pos, flowlog.KindBadValue, "%s %q is not ACCEPT, REJECT or -", name, b)
	return flowlog.ActionUnknown, false
}

// direction validates a flow-direction value (nil or "-": absent).
func (p *LineParser) direction(pos int64, name string, b []byte) (flowlog.Direction, bool) {
	if b == nil || isDash(b) {
		return flowlog.DirUnknown, true
	}
	switch string(b) {
	case "ingress":
		return flowlog.DirIngress, true
	case "egress":
		return flowlog.DirEgress, true
	}
	p.Tally.Badf(pos, flowlog.KindBadValue, "%s %q is not ingress, egress or -", name, b)
	return flowlog.DirUnknown, false
}

// status validates a log-status value of a line that is not NODATA or
// SKIPDATA (checked first): OK, "-" or absent.
func (p *LineParser) status(pos int64, name string, b []byte) bool {
	if b == nil || isDash(b) || string(b) == "OK" {
		return true
	}
	p.Tally.Badf(pos, flowlog.KindBadValue, "%s %q is not OK, NODATA, SKIPDATA or -", name, b)
	return false
}

func (p *LineParser) addr(pos int64, name string, b []byte) (a netip.Addr, ok bool) {
	if b == nil {
		p.Tally.Badf(pos, flowlog.KindBadIP, "%s is not in the format: a record needs both addresses", name)
		return a, false
	}
	if isDash(b) {
		p.Tally.Badf(pos, flowlog.KindBadIP, "%s is \"-\" on a line that is not NODATA/SKIPDATA", name)
		return a, false
	}
	if a, ok = lex.ParseAddr(b); !ok {
		p.Tally.Badf(pos, flowlog.KindBadIP, "%s %q is not an IP address", name, b)
	}
	return a, ok
}

// addrString returns the canonical text of a, interned (pkt-* addresses
// repeat as much as srcaddr/dstaddr do).
func (p *LineParser) addrString(a netip.Addr) string {
	var buf [64]byte
	return p.In.Bytes(a.AppendTo(buf[:0]))
}
