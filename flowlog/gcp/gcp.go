package gcp

import (
	"bytes"
	"net/netip"

	"github.com/valyala/fastjson"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/internal/jsonstream"
	"github.com/flowsift/flowsift/flowlog/internal/lex"
)

// Decoder maps parsed LogEntries onto records. Each entry is classified by
// its own logName and payload (FORMATS.md 6.1) unless Force is set.
type Decoder struct {
	Tally *flowlog.Tally
	In    *flowlog.Interner
	// Force, when SourceGCPFlows or SourceGCPFirewall, reads every entry as
	// that kind (a forced --input-format); otherwise entries are classified.
	Force flowlog.Source

	e  entry  // the entry being decoded
	nb []byte // number literals and unescaped strings of e
}

// NewDecoder returns a decoder reporting to t.
func NewDecoder(t *flowlog.Tally) *Decoder {
	return &Decoder{Tally: t, In: &flowlog.Interner{}}
}

// Classify tells a firewall log from a flow log: logName ending in
// %2Ffirewall or /firewall, or a payload with disposition or rule_details.
func Classify(v *fastjson.Value) flowlog.Source {
	if firewallLogName(jsonstream.Str(v.Get("logName"))) {
		return flowlog.SourceGCPFirewall
	}
	if p := v.Get("jsonPayload"); p != nil && (p.Get("disposition") != nil || p.Get("rule_details") != nil) {
		return flowlog.SourceGCPFirewall
	}
	return flowlog.SourceGCPFlows
}

// firewallLogName: a logName ending in %2Ffirewall (either case of the
// escape) or /firewall.
func firewallLogName(name []byte) bool {
	return bytes.HasSuffix(name, []byte("%2Ffirewall")) || bytes.HasSuffix(name, []byte("%2ffirewall")) ||
		bytes.HasSuffix(name, []byte("/firewall"))
}

// Decode maps one LogEntry at position pos. It returns true when rec holds
// a record; otherwise the entry was reported.
func (d *Decoder) Decode(v *fastjson.Value, pos int64, rec *flowlog.Record) bool {
	d.fill(v)
	return d.decode(&d.e, pos, rec)
}

// decode maps the entry's values (filled from fastjson or by the scanner).
func (d *Decoder) decode(e *entry, pos int64, rec *flowlog.Record) bool {
	kind := d.Force
	if kind != flowlog.SourceGCPFlows && kind != flowlog.SourceGCPFirewall {
		kind = e.classify()
	}
	t := d.Tally
	if !e.payload.set || e.payload.t != fastjson.TypeObject {
		t.Bad(pos, flowlog.KindMissingField, "no jsonPayload object")
		return false
	}
	if !e.conn.set || e.conn.t != fastjson.TypeObject {
		t.Bad(pos, flowlog.KindMissingField, "no jsonPayload.connection object")
		return false
	}
	rec.Reset()
	rec.Source = kind
	var ok bool
	if rec.Src, ok = d.addr(pos, "connection.src_ip", &e.srcIP); !ok {
		return false
	}
	if rec.Dst, ok = d.addr(pos, "connection.dest_ip", &e.destIP); !ok {
		return false
	}
	var n int64
	if n, ok = d.num(pos, "connection.src_port", &e.srcPort, lex.MaxPort, flowlog.KindBadPort); !ok {
		return false
	}
	rec.SrcPort = uint16(n)
	if n, ok = d.num(pos, "connection.dest_port", &e.destPort, lex.MaxPort, flowlog.KindBadPort); !ok {
		return false
	}
	rec.DstPort = uint16(n)
	if n, ok = d.proto(pos, &e.protocol, kind == flowlog.SourceGCPFirewall); !ok {
		return false
	}
	rec.Proto = uint8(n)
	if kind == flowlog.SourceGCPFirewall {
		return d.firewall(e, pos, rec)
	}
	return d.flows(e, pos, rec)
}

func (d *Decoder) flows(e *entry, pos int64, rec *flowlog.Record) bool {
	var ok bool
	if rec.Packets, ok = d.num(pos, "packets_sent", &e.packets, lex.MaxInt64, flowlog.KindBadNumber); !ok {
		return false
	}
	if rec.Bytes, ok = d.num(pos, "bytes_sent", &e.bytes, lex.MaxInt64, flowlog.KindBadNumber); !ok {
		return false
	}
	if rec.Start, ok = d.time(pos, "start_time", &e.start); !ok {
		return false
	}
	if rec.End, ok = d.time(pos, "end_time", &e.end); !ok {
		return false
	}
	rtt, ok := d.num(pos, "rtt_msec", &e.rtt, lex.MaxInt64, flowlog.KindBadNumber)
	if !ok {
		return false
	}
	srcASN, ok := d.num(pos, "src_location.asn", &e.srcLoc.asn, lex.MaxInt64, flowlog.KindBadNumber)
	if !ok {
		return false
	}
	dstASN, ok := d.num(pos, "dest_location.asn", &e.dstLoc.asn, lex.MaxInt64, flowlog.KindBadNumber)
	if !ok {
		return false
	}
	var side *vpcVals
	switch string(e.reporter.str()) {
	case "SRC":
		rec.Direction = flowlog.DirEgress
		side = &e.srcVPC
	case "DEST":
		rec.Direction = flowlog.DirIngress
		side = &e.dstVPC
	}
	if side != nil {
		rec.VPC = d.str(&side.name)
		rec.Subnet = d.str(&side.subnet)
		rec.Account = d.str(&side.project)
	}
	// Optional keys in ascending key order (the fast path of SetStr/SetInt).
	if e.dstLoc.asn.present() {
		rec.SetInt(flowlog.AttrDstAsn, dstASN)
	}
	rec.SetStr(flowlog.AttrDstCountry, d.str(&e.dstLoc.country))
	rec.SetStr(flowlog.AttrDstGkeCluster, d.str(&e.dstGKE.cluster))
	rec.SetStr(flowlog.AttrDstGkeNamespace, d.str(&e.dstGKE.namespace))
	rec.SetStr(flowlog.AttrDstGkePod, d.str(&e.dstGKE.pod))
	rec.SetStr(flowlog.AttrDstInstance, d.str(&e.dstInst))
	rec.SetStr(flowlog.AttrDstVpc, d.str(&e.dstVPC.name))
	rec.SetStr(flowlog.AttrReporter, d.str(&e.reporter))
	if e.rtt.present() {
		rec.SetInt(flowlog.AttrRttMsec, rtt)
	}
	if e.srcLoc.asn.present() {
		rec.SetInt(flowlog.AttrSrcAsn, srcASN)
	}
	rec.SetStr(flowlog.AttrSrcCountry, d.str(&e.srcLoc.country))
	rec.SetStr(flowlog.AttrSrcGkeCluster, d.str(&e.srcGKE.cluster))
	rec.SetStr(flowlog.AttrSrcGkeNamespace, d.str(&e.srcGKE.namespace))
	rec.SetStr(flowlog.AttrSrcGkePod, d.str(&e.srcGKE.pod))
	rec.SetStr(flowlog.AttrSrcInstance, d.str(&e.srcInst))
	rec.SetStr(flowlog.AttrSrcVpc, d.str(&e.srcVPC.name))
	return true
}

func (d *Decoder) firewall(e *entry, pos int64, rec *flowlog.Record) bool {
	ts, ok := d.time(pos, "timestamp", &e.timestamp)
	if !ok {
		return false
	}
	rec.Start, rec.End = ts, ts
	prio, ok := d.num(pos, "rule_details.priority", &e.rule.priority, lex.MaxInt64, flowlog.KindBadNumber)
	if !ok {
		return false
	}
	switch string(e.disposition.str()) {
	case "ALLOWED":
		rec.Action = flowlog.ActionAccept
	case "DENIED":
		rec.Action = flowlog.ActionReject
	} // INTERCEPTED and anything else: no decision ("")
	switch dir := e.rule.direction.str(); {
	case bytes.EqualFold(dir, []byte("INGRESS")):
		rec.Direction = flowlog.DirIngress
	case bytes.EqualFold(dir, []byte("EGRESS")):
		rec.Direction = flowlog.DirEgress
	}
	rec.VPC = d.str(&e.vpc.name)
	rec.Subnet = d.str(&e.vpc.subnet)
	rec.Account = d.str(&e.vpc.project)
	rec.SetStr(flowlog.AttrDisposition, d.str(&e.disposition))
	rec.SetStr(flowlog.AttrInstance, d.str(&e.inst))
	rec.SetStr(flowlog.AttrRemoteInstance, d.str(&e.remoteInst))
	rec.SetStr(flowlog.AttrRule, d.str(&e.rule.reference))
	rec.SetStr(flowlog.AttrRuleAction, d.str(&e.rule.action))
	if e.rule.priority.present() {
		rec.SetInt(flowlog.AttrRulePriority, prio)
	}
	return true
}

// str interns a string value; numbers keep their literal text; anything
// else (absent, null, object, array, bool) is absent ("").
func (d *Decoder) str(v *val) string {
	if !v.set || v.t != fastjson.TypeString && v.t != fastjson.TypeNumber {
		return ""
	}
	return d.In.Bytes(v.b)
}

func (d *Decoder) addr(pos int64, name string, v *val) (netip.Addr, bool) {
	if !v.present() {
		d.Tally.Badf(pos, flowlog.KindMissingField, "%s is missing", name)
		return netip.Addr{}, false
	}
	b := v.str()
	if b == nil {
		d.Tally.Badf(pos, flowlog.KindBadIP, "%s is not a string", name)
		return netip.Addr{}, false
	}
	a, ok := lex.ParseAddr(b)
	if !ok {
		d.Tally.Badf(pos, flowlog.KindBadIP, "%s %q is not an IP address", name, b)
	}
	return a, ok
}

// num reads an integer written as a JSON string or number (FORMATS.md 2.6
// applies to its text); absent or null is 0.
func (d *Decoder) num(pos int64, name string, v *val, max uint64, over flowlog.Kind) (int64, bool) {
	if !v.present() {
		return 0, true
	}
	if v.t != fastjson.TypeString && v.t != fastjson.TypeNumber {
		d.Tally.Badf(pos, flowlog.KindBadNumber, "%s is a JSON %s, not a number", name, v.t)
		return 0, false
	}
	b := v.b
	n, e := lex.ParseUint(b, max)
	switch e {
	case lex.NumSyntax:
		d.Tally.Badf(pos, flowlog.KindBadNumber, "%s %q is not a decimal integer", name, b)
		return 0, false
	case lex.NumOverflow:
		if over == flowlog.KindBadNumber {
			d.Tally.Badf(pos, over, "%s %q is out of range", name, b)
		} else {
			d.Tally.Badf(pos, over, "%s %q is larger than %d", name, b, max)
		}
		return 0, false
	}
	return int64(n), true
}

// protoNames are the protocol names firewall logs may write (FORMATS.md 6.3).
var protoNames = [...]struct {
	name string
	num  int64
}{{"tcp", 6}, {"udp", 17}, {"icmp", 1}, {"icmpv6", 58}, {"ipv6-icmp", 58}, {"esp", 50}, {"ah", 51}, {"gre", 47}, {"sctp", 132}}

func (d *Decoder) proto(pos int64, v *val, names bool) (int64, bool) {
	if names && v.set && v.t == fastjson.TypeString {
		b := v.b
		if len(b) > 0 && (b[0] < '0' || b[0] > '9') {
			for _, p := range protoNames {
				if bytes.EqualFold(b, []byte(p.name)) {
					return p.num, true
				}
			}
			// A word that is not a known name: an unknown protocol.
			d.Tally.Badf(pos, flowlog.KindBadProtocol, "connection.protocol %q is not a protocol number or a known name", b)
			return 0, false
		}
	}
	return d.num(pos, "connection.protocol", v, lex.MaxProto, flowlog.KindBadProtocol)
}

func (d *Decoder) time(pos int64, name string, v *val) (int64, bool) {
	if !v.present() {
		return 0, true
	}
	b := v.str()
	if b == nil {
		d.Tally.Badf(pos, flowlog.KindBadTime, "%s is a JSON %s, not an RFC 3339 string", name, v.t)
		return 0, false
	}
	t, ok := ParseRFC3339(b)
	if !ok {
		d.Tally.Badf(pos, flowlog.KindBadTime, "%s %q is not an RFC 3339 time", name, b)
	}
	return t, ok
}
