package alibaba

import (
	"net/netip"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/internal/lex"
)

// field is one documented key of an Alibaba flow-log row (FORMATS.md 5.1).
type field uint8

const (
	fVersion field = iota
	fVSwitchID
	fVMID
	fVPCID
	fAccountID
	fENIID
	fRegion
	fType
	fSrcAddr
	fDstAddr
	fSrcPort
	fDstPort
	fProtocol
	fDirection
	fPackets
	fBytes
	fStart
	fEnd
	fLogStatus
	fAction
	fTCPFlags
	fTrafficPath
	fSrcType
	fDstType
	numFields

	noField field = 255 // an unknown key or column: ignored
)

var fieldNames = [numFields]string{
	fVersion:     "version",
	fVSwitchID:   "vswitch-id",
	fVMID:        "vm-id",
	fVPCID:       "vpc-id",
	fAccountID:   "account-id",
	fENIID:       "eni-id",
	fRegion:      "region",
	fType:        "type",
	fSrcAddr:     "srcaddr",
	fDstAddr:     "dstaddr",
	fSrcPort:     "srcport",
	fDstPort:     "dstport",
	fProtocol:    "protocol",
	fDirection:   "direction",
	fPackets:     "packets",
	fBytes:       "bytes",
	fStart:       "start",
	fEnd:         "end",
	fLogStatus:   "log-status",
	fAction:      "action",
	fTCPFlags:    "tcp-flags",
	fTrafficPath: "traffic_path",
	fSrcType:     "srctype",
	fDstType:     "dsttype",
}

// lookup maps a key to its field; it does not allocate. Keys are matched
// exactly as documented (SLS metadata keys and anything else are ignored).
func lookup(key []byte) field {
	switch string(key) {
	case "version":
		return fVersion
	case "vswitch-id":
		return fVSwitchID
	case "vm-id":
		return fVMID
	case "vpc-id":
		return fVPCID
	case "account-id":
		return fAccountID
	case "eni-id":
		return fENIID
	case "region":
		return fRegion
	case "type":
		return fType
	case "srcaddr":
		return fSrcAddr
	case "dstaddr":
		return fDstAddr
	case "srcport":
		return fSrcPort
	case "dstport":
		return fDstPort
	case "protocol":
		return fProtocol
	case "direction":
		return fDirection
	case "packets":
		return fPackets
	case "bytes":
		return fBytes
	case "start":
		return fStart
	case "end":
		return fEnd
	case "log-status":
		return fLogStatus
	case "action":
		return fAction
	case "tcp-flags":
		return fTCPFlags
	case "traffic_path":
		return fTrafficPath
	case "srctype":
		return fSrcType
	case "dsttype":
		return fDstType
	}
	return noField
}

// kind is what a row holds for a field.
type kind uint8

const (
	vAbsent kind = iota // key missing, or JSON null
	vText               // a JSON string or a CSV cell
	vNumber             // a JSON number, b is its literal text
	vOther              // a JSON object, array, true or false: never a valid value
)

type value struct {
	b    []byte // the text; for vOther the JSON type's name (for reports)
	kind kind
}

// absent reports whether v counts as no value: missing, null, empty or "-"
// (FORMATS.md 1.3, 5.2).
func (v *value) absent() bool {
	return v.kind == vAbsent || (v.kind != vOther && (len(v.b) == 0 || (len(v.b) == 1 && v.b[0] == '-')))
}

func (v *value) is(s string) bool { return v.kind != vOther && string(v.b) == s }

// rowRules holds the values of one row, whatever its encoding, and turns
// them into a record by the rules of FORMATS.md 5.2. Both the JSON decoder
// and the CSV reader fill vals and call build.
type rowRules struct {
	t    *flowlog.Tally
	src  flowlog.Source
	in   flowlog.Interner
	vals [numFields]value
}

func (r *rowRules) clear() { r.vals = [numFields]value{} }

// build validates the row at pos and fills rec. It returns false after
// counting a NODATA/SKIPDATA row or reporting the row's first defect.
func (r *rowRules) build(pos int64, rec *flowlog.Record) bool {
	v := &r.vals
	// NODATA / SKIPDATA: counted, nothing else validated.
	if st := &v[fLogStatus]; st.kind == vText {
		switch string(st.b) {
		case "NODATA":
			r.t.NoData++
			return false
		case "SKIPDATA":
			r.t.SkipData++
			return false
		}
	}
	// Both addresses must be there: srcaddr first, then dstaddr.
	for _, f := range [2]field{fSrcAddr, fDstAddr} {
		if a := &v[f]; a.absent() {
			r.missing(pos, f)
			return false
		}
	}
	rec.Reset()
	rec.Source = r.src
	var ok bool
	if rec.Src, ok = r.addr(pos, fSrcAddr); !ok {
		return false
	}
	if rec.Dst, ok = r.addr(pos, fDstAddr); !ok {
		return false
	}
	var n int64
	if n, ok = r.num(pos, fSrcPort, lex.MaxPort, flowlog.KindBadPort); !ok {
		return false
	}
	rec.SrcPort = uint16(n)
	if n, ok = r.num(pos, fDstPort, lex.MaxPort, flowlog.KindBadPort); !ok {
		return false
	}
	rec.DstPort = uint16(n)
	if n, ok = r.num(pos, fProtocol, lex.MaxProto, flowlog.KindBadProtocol); !ok {
		return false
	}
	rec.Proto = uint8(n)
	if rec.Packets, ok = r.num(pos, fPackets, lex.MaxInt64, flowlog.KindBadNumber); !ok {
		return false
	}
	if rec.Bytes, ok = r.num(pos, fBytes, lex.MaxInt64, flowlog.KindBadNumber); !ok {
		return false
	}
	if rec.Start, ok = r.num(pos, fStart, lex.MaxInt64, flowlog.KindBadNumber); !ok {
		return false
	}
	if rec.End, ok = r.num(pos, fEnd, lex.MaxInt64, flowlog.KindBadNumber); !ok {
		return false
	}
	var version int64
	if version, ok = r.num(pos, fVersion, lex.MaxInt32, flowlog.KindBadNumber); !ok {
		return false
	}
	if n, ok = r.num(pos, fTCPFlags, lex.MaxInt32, flowlog.KindBadNumber); !ok {
		return false
	}
	rec.TCPFlags = int32(n)
	// traffic_path: digits are the numeric code (newer docs), a word is
	// the older path name. A JSON number that is not a plain decimal
	// integer (-1, 1.5) is a bad number, not a name.
	tp := &v[fTrafficPath]
	tpNumeric := false
	var tpCode int64
	if !tp.absent() {
		if tp.kind == vOther {
			r.t.Badf(pos, flowlog.KindBadValue, "traffic_path is a JSON %s, not a code or a name", tp.b)
			return false
		}
		if tp.kind == vNumber || allDigits(tp.b) {
			tpNumeric = true
			if tpCode, ok = r.num(pos, fTrafficPath, lex.MaxInt32, flowlog.KindBadNumber); !ok {
				return false
			}
		}
	}
	if a := &v[fAction]; !a.absent() {
		switch {
		case a.is("ACCEPT"):
			rec.Action = flowlog.ActionAccept
		case a.is("REJECT"):
			rec.Action = flowlog.ActionReject
		default:
			r.badValue(pos, fAction, "ACCEPT, REJECT or -")
			return false
		}
	}
	if d := &v[fDirection]; !d.absent() {
		switch {
		case d.is("in"):
			rec.Direction = flowlog.DirIngress
		case d.is("out"):
			rec.Direction = flowlog.DirEgress
		default:
			r.badValue(pos, fDirection, "in, out or -")
			return false
		}
	}
	if st := &v[fLogStatus]; !st.absent() && !st.is("OK") {
		r.badValue(pos, fLogStatus, "OK, NODATA, SKIPDATA or -")
		return false
	}
	// String fields hold any text or number; an object, array or boolean
	// is not a value for them.
	for _, f := range [...]field{fAccountID, fENIID, fVPCID, fVSwitchID, fDstType, fVMID, fRegion, fSrcType, fType} {
		if v[f].kind == vOther {
			r.t.Badf(pos, flowlog.KindBadValue, "%s is a JSON %s, not a string", fieldNames[f], v[f].b)
			return false
		}
	}
	// The record. Optional keys are appended in ascending key order.
	rec.Account = r.str(fAccountID)
	rec.Iface = r.str(fENIID)
	rec.VPC = r.str(fVPCID)
	rec.Subnet = r.str(fVSwitchID)
	r.attr(rec, flowlog.AttrDstType, fDstType)
	r.attr(rec, flowlog.AttrInstanceId, fVMID)
	r.attr(rec, flowlog.AttrRegion, fRegion)
	r.attr(rec, flowlog.AttrSrcType, fSrcType)
	if tpNumeric {
		rec.Attrs = append(rec.Attrs, flowlog.Attr{Key: flowlog.AttrTrafficPath, Int: tpCode})
	} else {
		r.attr(rec, flowlog.AttrTrafficPathName, fTrafficPath)
	}
	r.attr(rec, flowlog.AttrType, fType)
	if !v[fVersion].absent() {
		rec.Attrs = append(rec.Attrs, flowlog.Attr{Key: flowlog.AttrVersion, Int: version})
	}
	return true
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

func (r *rowRules) missing(pos int64, f field) {
	a := &r.vals[f]
	switch {
	case a.kind == vAbsent:
		r.t.Badf(pos, flowlog.KindMissingField, "%s is missing: a record needs both addresses", fieldNames[f])
	case len(a.b) == 0:
		r.t.Badf(pos, flowlog.KindMissingField, "%s is empty on a row that is not NODATA/SKIPDATA", fieldNames[f])
	default:
		r.t.Badf(pos, flowlog.KindMissingField, "%s is \"-\" on a row that is not NODATA/SKIPDATA", fieldNames[f])
	}
}

func (r *rowRules) addr(pos int64, f field) (netip.Addr, bool) {
	a := &r.vals[f]
	if a.kind == vOther {
		r.t.Badf(pos, flowlog.KindBadIP, "%s is a JSON %s, not an IP address", fieldNames[f], a.b)
		return netip.Addr{}, false
	}
	ip, ok := lex.ParseAddr(a.b)
	if !ok {
		r.t.Badf(pos, flowlog.KindBadIP, "%s %q is not an IP address", fieldNames[f], a.b)
	}
	return ip, ok
}

// num validates an integer field (FORMATS.md 2.6); an absent value is 0.
func (r *rowRules) num(pos int64, f field, max uint64, overKind flowlog.Kind) (int64, bool) {
	a := &r.vals[f]
	if a.absent() {
		return 0, true
	}
	if a.kind == vOther {
		r.t.Badf(pos, flowlog.KindBadNumber, "%s is a JSON %s, not a decimal integer", fieldNames[f], a.b)
		return 0, false
	}
	n, e := lex.ParseUint(a.b, max)
	switch e {
	case lex.NumSyntax:
		r.t.Badf(pos, flowlog.KindBadNumber, "%s %q is not a decimal integer", fieldNames[f], a.b)
		return 0, false
	case lex.NumOverflow:
		if overKind == flowlog.KindBadNumber {
			r.t.Badf(pos, overKind, "%s %q is out of range", fieldNames[f], a.b)
		} else {
			r.t.Badf(pos, overKind, "%s %q is larger than %d", fieldNames[f], a.b, max)
		}
		return 0, false
	}
	return int64(n), true
}

func (r *rowRules) badValue(pos int64, f field, want string) {
	a := &r.vals[f]
	if a.kind == vOther {
		r.t.Badf(pos, flowlog.KindBadValue, "%s is a JSON %s, not %s", fieldNames[f], a.b, want)
		return
	}
	r.t.Badf(pos, flowlog.KindBadValue, "%s %q is not %s", fieldNames[f], a.b, want)
}

func (r *rowRules) str(f field) string {
	if a := &r.vals[f]; !a.absent() {
		return r.in.Bytes(a.b)
	}
	return ""
}

func (r *rowRules) attr(rec *flowlog.Record, k flowlog.AttrKey, f field) {
	if a := &r.vals[f]; !a.absent() {
		rec.Attrs = append(rec.Attrs, flowlog.Attr{Key: k, Str: r.in.Bytes(a.b)})
	}
}
