package azure

import (
	"bytes"
	"net/netip"
	"strconv"

	"github.com/valyala/fastjson"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/internal/jsonstream"
	"github.com/flowsift/flowsift/flowlog/internal/lex"
)

// Classify tells an NSG record (properties.flows) from a VNet record
// (flowRecords.flows); SourceUnknown when it is neither.
func Classify(v *fastjson.Value) flowlog.Source {
	if v == nil || v.Type() != fastjson.TypeObject {
		return flowlog.SourceUnknown
	}
	if f := v.Get("properties", "flows"); f != nil && f.Type() == fastjson.TypeArray {
		return flowlog.SourceAzureNSG
	}
	if f := v.Get("flowRecords", "flows"); f != nil && f.Type() == fastjson.TypeArray {
		return flowlog.SourceAzureVNet
	}
	return flowlog.SourceUnknown
}

// Decoder turns one Azure record object into its flow records, which Next
// then returns one by one. Not safe for concurrent use.
type Decoder struct {
	Tally *flowlog.Tally
	In    *flowlog.Interner

	recs []flowlog.Record // records of the current object
	n    int              // valid records in recs
	next int

	// per-object context
	src     flowlog.Source
	pos     int64
	ordinal int // tuple ordinal within the record (1-based)
	iface   string
	account string
	vpc     string
	subnet  string
	resID   string
	rule    string
	aclID   string

	toks    [14][]byte
	scratch []byte
}

// NewDecoder returns a decoder reporting to t.
func NewDecoder(t *flowlog.Tally) *Decoder {
	return &Decoder{Tally: t, In: &flowlog.Interner{}}
}

// Next returns the next queued record of the last decoded object.
func (d *Decoder) Next(rec *flowlog.Record) bool {
	if d.next >= d.n {
		return false
	}
	*rec = d.recs[d.next]
	d.next++
	return true
}

// Pending reports whether Next has records left.
func (d *Decoder) Pending() bool { return d.next < d.n }

// Decode reads one record object at position pos and queues its flow
// records. Problems are reported at pos; a bad tuple names its 1-based
// ordinal within the record and spoils no other tuple. A value that is
// not a record (no properties.flows, no flowRecords.flows; a nested
// {"records":[...]} wrapper included) is missing-field.
func (d *Decoder) Decode(v *fastjson.Value, pos int64) {
	d.n, d.next = 0, 0
	d.decodeOne(v, pos)
}

// DecodeWrapper reads every record of a {"records":[...]} object held as
// one value (one wrapper per NDJSON line), all at position pos.
func (d *Decoder) DecodeWrapper(v *fastjson.Value, pos int64) {
	d.n, d.next = 0, 0
	for _, r := range v.GetArray("records") {
		d.decodeOne(r, pos)
	}
}

func (d *Decoder) decodeOne(v *fastjson.Value, pos int64) {
	d.src = Classify(v)
	d.pos = pos
	d.ordinal = 0
	switch d.src {
	case flowlog.SourceAzureNSG:
		if d.Tally.Format == flowlog.SourceUnknown {
			d.Tally.Format = d.src
		}
		d.nsg(v)
	case flowlog.SourceAzureVNet:
		if d.Tally.Format == flowlog.SourceUnknown {
			d.Tally.Format = d.src
		}
		d.vnet(v)
	default:
		d.Tally.Bad(pos, flowlog.KindMissingField, "record has neither properties.flows (NSG) nor flowRecords.flows (VNet)")
	}
}

func (d *Decoder) nsg(v *fastjson.Value) {
	res := jsonstream.Str(v.Get("resourceId"))
	d.resID = d.In.Bytes(res)
	d.account = d.subscription(res)
	d.vpc, d.subnet, d.aclID = "", "", ""
	groups, _ := v.Get("properties", "flows").Array()
	for _, g := range groups {
		d.rule = d.In.Bytes(jsonstream.Str(g.Get("rule")))
		flows := g.GetArray("flows")
		for _, f := range flows {
			d.iface = d.In.Bytes(jsonstream.Str(f.Get("mac")))
			for _, tu := range f.GetArray("flowTuples") {
				d.tuple(tu)
			}
		}
	}
}

func (d *Decoder) vnet(v *fastjson.Value) {
	target := jsonstream.Str(v.Get("targetResourceID"))
	d.resID = d.In.Bytes(target)
	d.account = d.subscription(target)
	d.vpc = d.In.Bytes(cutAfter(target, "virtualnetworks"))
	d.subnet = d.In.Bytes(cutAfter(target, "subnets"))
	d.iface = d.In.Bytes(jsonstream.Str(v.Get("macAddress")))
	flows, _ := v.Get("flowRecords", "flows").Array()
	for _, f := range flows {
		d.aclID = d.In.Bytes(jsonstream.Str(f.Get("aclID")))
		for _, g := range f.GetArray("flowGroups") {
			d.rule = d.In.Bytes(jsonstream.Str(g.Get("rule")))
			for _, tu := range g.GetArray("flowTuples") {
				d.tuple(tu)
			}
		}
	}
}

// subscription returns the path segment after /subscriptions/ (any case),
// lower-cased and interned.
func (d *Decoder) subscription(id []byte) string {
	seg := segmentAfter(id, "subscriptions")
	if seg == nil {
		return ""
	}
	d.scratch = append(d.scratch[:0], seg...)
	for i, c := range d.scratch {
		if c >= 'A' && c <= 'Z' {
			d.scratch[i] = c + 'a' - 'A'
		}
	}
	return d.In.Bytes(d.scratch)
}

// segmentAfter returns the path segment that follows the segment name
// (compared case-insensitively), or nil.
func segmentAfter(id []byte, name string) []byte {
	end := cutAfter(id, name)
	if end == nil {
		return nil
	}
	i := bytes.LastIndexByte(end, '/')
	return end[i+1:]
}

// cutAfter returns id up to and including the segment after the segment
// name ("…/virtualNetworks/myVNet"), or nil when name is not a segment
// followed by a non-empty one.
func cutAfter(id []byte, name string) []byte {
	for i := 0; i+len(name)+2 <= len(id); i++ {
		if id[i] != '/' || !bytes.EqualFold(id[i+1:i+1+len(name)], []byte(name)) {
			continue
		}
		j := i + 1 + len(name)
		if j >= len(id) || id[j] != '/' {
			continue
		}
		k := j + 1
		for k < len(id) && id[k] != '/' {
			k++
		}
		if k == j+1 {
			return nil
		}
		return id[:k]
	}
	return nil
}

var flowStates = [256]string{'B': "B", 'C': "C", 'E': "E", 'D': "D"}

// tuple validates one tuple and queues its records (FORMATS.md 7.2-7.5).
func (d *Decoder) tuple(tv *fastjson.Value) {
	d.ordinal++
	t := d.Tally
	b := jsonstream.Str(tv)
	if b == nil {
		t.Badf(d.pos, flowlog.KindBadValue, "tuple %d is not a string", d.ordinal)
		return
	}
	nf := 0
	for start := 0; ; {
		i := bytes.IndexByte(b[start:], ',')
		end := len(b)
		if i >= 0 {
			end = start + i
		}
		if nf < len(d.toks) {
			d.toks[nf] = b[start:end]
		}
		nf++
		if i < 0 {
			break
		}
		start = end + 1
	}
	vnet := d.src == flowlog.SourceAzureVNet
	if vnet && nf != 13 || !vnet && nf != 8 && nf != 13 {
		want := "8 or 13"
		if vnet {
			want = "13"
		}
		t.Badf(d.pos, flowlog.KindFieldCount, "tuple %d: %d tuple fields, want %s", d.ordinal, nf, want)
		return
	}
	f := &d.toks
	tm, ok := d.num(f[0], "time", lex.MaxInt64, flowlog.KindBadNumber, false)
	if !ok {
		return
	}
	if len(f[0]) >= 13 { // milliseconds (FORMATS.md 7.3)
		tm /= 1000
	}
	src, ok := d.addr(f[1], "source")
	if !ok {
		return
	}
	dst, ok := d.addr(f[2], "destination")
	if !ok {
		return
	}
	sp, ok := d.num(f[3], "sport", lex.MaxPort, flowlog.KindBadPort, true)
	if !ok {
		return
	}
	dp, ok := d.num(f[4], "dport", lex.MaxPort, flowlog.KindBadPort, true)
	if !ok {
		return
	}
	var proto int64
	switch p := f[5]; {
	case len(p) == 1 && (p[0] == 'T' || p[0] == 't'):
		proto = 6
	case len(p) == 1 && (p[0] == 'U' || p[0] == 'u'):
		proto = 17
	case len(p) > 0 && p[0] >= '0' && p[0] <= '9':
		if proto, ok = d.num(p, "protocol", lex.MaxProto, flowlog.KindBadProtocol, false); !ok {
			return
		}
	default:
		// Letters other than T/U are undocumented (FORMATS.md 12.12).
		t.Badf(d.pos, flowlog.KindBadProtocol, "tuple %d: protocol %q is not T, U or a number", d.ordinal, p)
		return
	}
	var fwd, rev flowlog.Direction
	switch string(f[6]) {
	case "I":
		fwd, rev = flowlog.DirIngress, flowlog.DirEgress
	case "O":
		fwd, rev = flowlog.DirEgress, flowlog.DirIngress
	default:
		t.Badf(d.pos, flowlog.KindBadValue, "tuple %d: direction %q is not I or O", d.ordinal, f[6])
		return
	}
	var action flowlog.Action
	var state, enc string
	if vnet {
		if len(f[7]) != 1 || flowStates[f[7][0]] == "" {
			t.Badf(d.pos, flowlog.KindBadValue, "tuple %d: state %q is not B, C, E or D", d.ordinal, f[7])
			return
		}
		state = flowStates[f[7][0]]
		action = flowlog.ActionAccept
		if state == "D" {
			action = flowlog.ActionReject
		}
		enc = d.In.Bytes(f[8]) // copied as written (FORMATS.md 7.2 lists the known values)
	} else {
		switch string(f[7]) {
		case "A":
			action = flowlog.ActionAccept
		case "D":
			action = flowlog.ActionReject
		default:
			t.Badf(d.pos, flowlog.KindBadValue, "tuple %d: decision %q is not A or D", d.ordinal, f[7])
			return
		}
		if nf == 13 {
			if len(f[8]) != 1 || f[8][0] == 'D' || flowStates[f[8][0]] == "" {
				t.Badf(d.pos, flowlog.KindBadValue, "tuple %d: state %q is not B, C or E", d.ordinal, f[8])
				return
			}
			state = flowStates[f[8][0]]
		}
	}
	var cnt [4]int64
	if nf == 13 {
		names := [4]string{"packets source to destination", "bytes source to destination",
			"packets destination to source", "bytes destination to source"}
		for i := range cnt {
			if cnt[i], ok = d.num(f[9+i], names[i], lex.MaxInt64, flowlog.KindBadNumber, true); !ok {
				return
			}
		}
	}
	base := flowlog.Record{Start: tm, End: tm, Proto: uint8(proto), Action: action, Source: d.src,
		Iface: d.iface, VPC: d.vpc, Subnet: d.subnet, Account: d.account}
	hasFwd := cnt[0] != 0 || cnt[1] != 0
	hasRev := cnt[2] != 0 || cnt[3] != 0
	if hasFwd || !hasRev {
		r := d.push(&base, state, enc)
		r.Src, r.Dst, r.SrcPort, r.DstPort = src, dst, uint16(sp), uint16(dp)
		r.Direction = fwd
		r.Packets, r.Bytes = cnt[0], cnt[1]
	}
	if hasRev {
		r := d.push(&base, state, enc)
		r.Src, r.Dst, r.SrcPort, r.DstPort = dst, src, uint16(dp), uint16(sp)
		r.Direction = rev
		r.Packets, r.Bytes = cnt[2], cnt[3]
	}
}

// push appends a copy of base (with the context's attributes) to the queue,
// reusing the queued record's Attrs capacity.
func (d *Decoder) push(base *flowlog.Record, state, enc string) *flowlog.Record {
	if d.n == len(d.recs) {
		d.recs = append(d.recs, flowlog.Record{})
	}
	r := &d.recs[d.n]
	d.n++
	attrs := r.Attrs[:0]
	*r = *base
	// Ascending key order: acl_id, encryption, flow_state, resource_id, rule.
	if d.aclID != "" {
		attrs = append(attrs, flowlog.Attr{Key: flowlog.AttrAclId, Str: d.aclID})
	}
	if enc != "" {
		attrs = append(attrs, flowlog.Attr{Key: flowlog.AttrEncryption, Str: enc})
	}
	if state != "" {
		attrs = append(attrs, flowlog.Attr{Key: flowlog.AttrFlowState, Str: state})
	}
	if d.resID != "" {
		attrs = append(attrs, flowlog.Attr{Key: flowlog.AttrResourceId, Str: d.resID})
	}
	if d.rule != "" {
		attrs = append(attrs, flowlog.Attr{Key: flowlog.AttrRule, Str: d.rule})
	}
	r.Attrs = attrs
	return r
}

func (d *Decoder) addr(b []byte, name string) (netip.Addr, bool) {
	a, ok := lex.ParseAddr(b)
	if !ok {
		d.Tally.Badf(d.pos, flowlog.KindBadIP, "tuple %d: %s %q is not an IP address", d.ordinal, name, b)
	}
	return a, ok
}

// num parses a tuple integer by FORMATS.md 2.6; emptyZero makes an empty
// field 0 (ports, counters).
func (d *Decoder) num(b []byte, name string, max uint64, over flowlog.Kind, emptyZero bool) (int64, bool) {
	if len(b) == 0 && emptyZero {
		return 0, true
	}
	n, e := lex.ParseUint(b, max)
	switch e {
	case lex.NumSyntax:
		d.Tally.Badf(d.pos, flowlog.KindBadNumber, "tuple %d: %s %q is not a decimal integer", d.ordinal, name, b)
		return 0, false
	case lex.NumOverflow:
		d.Tally.Badf(d.pos, over, "tuple %d: %s %q is out of range (max %s)", d.ordinal, name, b, strconv.FormatUint(max, 10))
		return 0, false
	}
	return int64(n), true
}
