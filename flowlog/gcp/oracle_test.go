// Code below is the GCP decoder as it was before the fast path (commit 94c030c),
// kept as the oracle of the differential tests: the new decoder must give
// exactly its records and reports.

package gcp

import (
	"bytes"
	"net/netip"

	"github.com/valyala/fastjson"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/internal/jsonstream"
	"github.com/flowsift/flowsift/flowlog/internal/lex"
)

// oldDecoder maps parsed LogEntries onto records. Each entry is classified by
// its own logName and payload (FORMATS.md 6.1) unless Force is set.
type oldDecoder struct {
	Tally *flowlog.Tally
	In    *flowlog.Interner
	// Force, when SourceGCPFlows or SourceGCPFirewall, reads every entry as
	// that kind (a forced --input-format); otherwise entries are classified.
	Force   flowlog.Source
	scratch [64]byte
}

// newOldDecoder returns a decoder reporting to t.
func newOldDecoder(t *flowlog.Tally) *oldDecoder {
	return &oldDecoder{Tally: t, In: &flowlog.Interner{}}
}

// oldClassify tells a firewall log from a flow log: logName ending in
// %2Ffirewall or /firewall, or a payload with disposition or rule_details.
func oldClassify(v *fastjson.Value) flowlog.Source {
	name := jsonstream.Str(v.Get("logName"))
	if bytes.HasSuffix(name, []byte("%2Ffirewall")) || bytes.HasSuffix(name, []byte("%2ffirewall")) ||
		bytes.HasSuffix(name, []byte("/firewall")) {
		return flowlog.SourceGCPFirewall
	}
	if p := v.Get("jsonPayload"); p != nil && (p.Get("disposition") != nil || p.Get("rule_details") != nil) {
		return flowlog.SourceGCPFirewall
	}
	return flowlog.SourceGCPFlows
}

// Decode maps one LogEntry at position pos. It returns true when rec holds
// a record; otherwise the entry was reported.
func (d *oldDecoder) Decode(v *fastjson.Value, pos int64, rec *flowlog.Record) bool {
	kind := d.Force
	if kind != flowlog.SourceGCPFlows && kind != flowlog.SourceGCPFirewall {
		kind = oldClassify(v)
	}
	t := d.Tally
	p := v.Get("jsonPayload")
	if p == nil || p.Type() != fastjson.TypeObject {
		t.Bad(pos, flowlog.KindMissingField, "no jsonPayload object")
		return false
	}
	conn := p.Get("connection")
	if conn == nil || conn.Type() != fastjson.TypeObject {
		t.Bad(pos, flowlog.KindMissingField, "no jsonPayload.connection object")
		return false
	}
	rec.Reset()
	rec.Source = kind
	var ok bool
	if rec.Src, ok = d.addr(pos, "connection.src_ip", conn.Get("src_ip")); !ok {
		return false
	}
	if rec.Dst, ok = d.addr(pos, "connection.dest_ip", conn.Get("dest_ip")); !ok {
		return false
	}
	var n int64
	if n, ok = d.num(pos, "connection.src_port", conn.Get("src_port"), lex.MaxPort, flowlog.KindBadPort); !ok {
		return false
	}
	rec.SrcPort = uint16(n)
	if n, ok = d.num(pos, "connection.dest_port", conn.Get("dest_port"), lex.MaxPort, flowlog.KindBadPort); !ok {
		return false
	}
	rec.DstPort = uint16(n)
	if n, ok = d.proto(pos, conn.Get("protocol"), kind == flowlog.SourceGCPFirewall); !ok {
		return false
	}
	rec.Proto = uint8(n)
	if kind == flowlog.SourceGCPFirewall {
		return d.firewall(v, p, pos, rec)
	}
	return d.flows(p, pos, rec)
}

func (d *oldDecoder) flows(p *fastjson.Value, pos int64, rec *flowlog.Record) bool {
	var ok bool
	if rec.Packets, ok = d.num(pos, "packets_sent", p.Get("packets_sent"), lex.MaxInt64, flowlog.KindBadNumber); !ok {
		return false
	}
	if rec.Bytes, ok = d.num(pos, "bytes_sent", p.Get("bytes_sent"), lex.MaxInt64, flowlog.KindBadNumber); !ok {
		return false
	}
	if rec.Start, ok = d.time(pos, "start_time", p.Get("start_time")); !ok {
		return false
	}
	if rec.End, ok = d.time(pos, "end_time", p.Get("end_time")); !ok {
		return false
	}
	rtt, ok := d.num(pos, "rtt_msec", p.Get("rtt_msec"), lex.MaxInt64, flowlog.KindBadNumber)
	if !ok {
		return false
	}
	srcLoc, dstLoc := p.Get("src_location"), p.Get("dest_location")
	srcASN, ok := d.num(pos, "src_location.asn", oldField(srcLoc, "asn"), lex.MaxInt64, flowlog.KindBadNumber)
	if !ok {
		return false
	}
	dstASN, ok := d.num(pos, "dest_location.asn", oldField(dstLoc, "asn"), lex.MaxInt64, flowlog.KindBadNumber)
	if !ok {
		return false
	}
	reporter := jsonstream.Str(p.Get("reporter"))
	srcVPC, dstVPC := p.Get("src_vpc"), p.Get("dest_vpc")
	var side *fastjson.Value
	switch string(reporter) {
	case "SRC":
		rec.Direction = flowlog.DirEgress
		side = srcVPC
	case "DEST":
		rec.Direction = flowlog.DirIngress
		side = dstVPC
	}
	if side != nil {
		rec.VPC = d.str(oldField(side, "vpc_name"))
		rec.Subnet = d.str(oldField(side, "subnetwork_name"))
		rec.Account = d.str(oldField(side, "project_id"))
	}
	srcGKE, dstGKE := p.Get("src_gke_details"), p.Get("dest_gke_details")
	// Optional keys in ascending key order (the fast path of SetStr/SetInt).
	if oldPresent(oldField(dstLoc, "asn")) {
		rec.SetInt(flowlog.AttrDstAsn, dstASN)
	}
	rec.SetStr(flowlog.AttrDstCountry, d.str(oldField(dstLoc, "country")))
	rec.SetStr(flowlog.AttrDstGkeCluster, d.str(oldField(oldField(dstGKE, "cluster"), "cluster_name")))
	rec.SetStr(flowlog.AttrDstGkeNamespace, d.str(oldField(oldField(dstGKE, "pod"), "pod_namespace")))
	rec.SetStr(flowlog.AttrDstGkePod, d.str(oldField(oldField(dstGKE, "pod"), "pod_name")))
	rec.SetStr(flowlog.AttrDstInstance, d.str(oldField(p.Get("dest_instance"), "vm_name")))
	rec.SetStr(flowlog.AttrDstVpc, d.str(oldField(dstVPC, "vpc_name")))
	rec.SetStr(flowlog.AttrReporter, d.str(p.Get("reporter")))
	if oldPresent(p.Get("rtt_msec")) {
		rec.SetInt(flowlog.AttrRttMsec, rtt)
	}
	if oldPresent(oldField(srcLoc, "asn")) {
		rec.SetInt(flowlog.AttrSrcAsn, srcASN)
	}
	rec.SetStr(flowlog.AttrSrcCountry, d.str(oldField(srcLoc, "country")))
	rec.SetStr(flowlog.AttrSrcGkeCluster, d.str(oldField(oldField(srcGKE, "cluster"), "cluster_name")))
	rec.SetStr(flowlog.AttrSrcGkeNamespace, d.str(oldField(oldField(srcGKE, "pod"), "pod_namespace")))
	rec.SetStr(flowlog.AttrSrcGkePod, d.str(oldField(oldField(srcGKE, "pod"), "pod_name")))
	rec.SetStr(flowlog.AttrSrcInstance, d.str(oldField(p.Get("src_instance"), "vm_name")))
	rec.SetStr(flowlog.AttrSrcVpc, d.str(oldField(srcVPC, "vpc_name")))
	return true
}

func (d *oldDecoder) firewall(entry, p *fastjson.Value, pos int64, rec *flowlog.Record) bool {
	ts, ok := d.time(pos, "timestamp", entry.Get("timestamp"))
	if !ok {
		return false
	}
	rec.Start, rec.End = ts, ts
	rule := p.Get("rule_details")
	prio, ok := d.num(pos, "rule_details.priority", oldField(rule, "priority"), lex.MaxInt64, flowlog.KindBadNumber)
	if !ok {
		return false
	}
	disp := jsonstream.Str(p.Get("disposition"))
	switch string(disp) {
	case "ALLOWED":
		rec.Action = flowlog.ActionAccept
	case "DENIED":
		rec.Action = flowlog.ActionReject
	} // INTERCEPTED and anything else: no decision ("")
	switch dir := jsonstream.Str(oldField(rule, "direction")); {
	case bytes.EqualFold(dir, []byte("INGRESS")):
		rec.Direction = flowlog.DirIngress
	case bytes.EqualFold(dir, []byte("EGRESS")):
		rec.Direction = flowlog.DirEgress
	}
	vpc := p.Get("vpc")
	rec.VPC = d.str(oldField(vpc, "vpc_name"))
	rec.Subnet = d.str(oldField(vpc, "subnetwork_name"))
	rec.Account = d.str(oldField(vpc, "project_id"))
	rec.SetStr(flowlog.AttrDisposition, d.str(p.Get("disposition")))
	rec.SetStr(flowlog.AttrInstance, d.str(oldField(p.Get("instance"), "vm_name")))
	rec.SetStr(flowlog.AttrRemoteInstance, d.str(oldField(p.Get("remote_instance"), "vm_name")))
	rec.SetStr(flowlog.AttrRule, d.str(oldField(rule, "reference")))
	rec.SetStr(flowlog.AttrRuleAction, d.str(oldField(rule, "action")))
	if oldPresent(oldField(rule, "priority")) {
		rec.SetInt(flowlog.AttrRulePriority, prio)
	}
	return true
}

// field is v.Get(key) that tolerates a nil or non-object v.
func oldField(v *fastjson.Value, key string) *fastjson.Value {
	if v == nil || v.Type() != fastjson.TypeObject {
		return nil
	}
	return v.Get(key)
}

func oldPresent(v *fastjson.Value) bool { return v != nil && v.Type() != fastjson.TypeNull }

// str interns a string value; numbers keep their literal text; anything
// else (absent, null, object, array, bool) is absent ("").
func (d *oldDecoder) str(v *fastjson.Value) string {
	if v == nil {
		return ""
	}
	b, _, ok := jsonstream.Text(v, d.scratch[:0])
	if !ok {
		return ""
	}
	return d.In.Bytes(b)
}

func (d *oldDecoder) addr(pos int64, name string, v *fastjson.Value) (netip.Addr, bool) {
	if v == nil || v.Type() == fastjson.TypeNull {
		d.Tally.Badf(pos, flowlog.KindMissingField, "%s is missing", name)
		return netip.Addr{}, false
	}
	b := jsonstream.Str(v)
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
func (d *oldDecoder) num(pos int64, name string, v *fastjson.Value, max uint64, over flowlog.Kind) (int64, bool) {
	if v == nil {
		return 0, true
	}
	b, isNull, ok := jsonstream.Text(v, d.scratch[:0])
	if isNull {
		return 0, true
	}
	if !ok {
		d.Tally.Badf(pos, flowlog.KindBadNumber, "%s is a JSON %s, not a number", name, v.Type())
		return 0, false
	}
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

// oldProtoNames are the protocol names firewall logs may write (FORMATS.md 6.3).
var oldProtoNames = [...]struct {
	name string
	num  int64
}{{"tcp", 6}, {"udp", 17}, {"icmp", 1}, {"icmpv6", 58}, {"ipv6-icmp", 58}, {"esp", 50}, {"ah", 51}, {"gre", 47}, {"sctp", 132}}

func (d *oldDecoder) proto(pos int64, v *fastjson.Value, names bool) (int64, bool) {
	if names && v != nil && v.Type() == fastjson.TypeString {
		b, _ := v.StringBytes()
		if len(b) > 0 && (b[0] < '0' || b[0] > '9') {
			for _, p := range oldProtoNames {
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

func (d *oldDecoder) time(pos int64, name string, v *fastjson.Value) (int64, bool) {
	if v == nil || v.Type() == fastjson.TypeNull {
		return 0, true
	}
	b := jsonstream.Str(v)
	if b == nil {
		d.Tally.Badf(pos, flowlog.KindBadTime, "%s is a JSON %s, not an RFC 3339 string", name, v.Type())
		return 0, false
	}
	t, ok := ParseRFC3339(b)
	if !ok {
		d.Tally.Badf(pos, flowlog.KindBadTime, "%s %q is not an RFC 3339 time", name, b)
	}
	return t, ok
}
