package gcp

import (
	"github.com/valyala/fastjson"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/internal/jsonstream"
)

// The fast path fills the entry in one pass over the LogEntry's bytes,
// without fastjson, then maps it with the same code as Decode. The scanner
// accepts a strict subset of what fastjson accepts (no escaped keys, no
// NaN or '+' numbers, no UTF-16 surrogate escapes in the strings it
// keeps, bounded nesting) and, like fastjson's Get, keeps the first of
// duplicate keys; whenever it declines, the caller parses the entry with
// fastjson and calls Decode, so records and reports are the same.

// DecodeBytes maps the LogEntry whose JSON text is b at position pos.
// handled is false, with nothing reported, when the scanner declines;
// otherwise ok is Decode's answer.
func (d *Decoder) DecodeBytes(b []byte, pos int64, rec *flowlog.Record) (ok, handled bool) {
	e := &d.e
	*e = entry{}
	d.nb = d.nb[:0]
	i := jsonstream.SkipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false, false
	}
	if i = d.object(b, i, lvTop, jsonstream.MaxSkipDepth); i < 0 || jsonstream.SkipWS(b, i) != len(b) {
		return false, false
	}
	if d.Tally.Format == flowlog.SourceUnknown {
		d.Tally.Format = e.classify()
	}
	return d.decode(e, pos, rec), true
}

// level names the object the scanner is in.
type level uint8

const (
	lvTop level = iota
	lvPayload
	lvConn
	lvSrcLoc
	lvDstLoc
	lvSrcVPC
	lvDstVPC
	lvVPC
	lvSrcGKE
	lvDstGKE
	lvSrcGKECluster
	lvSrcGKEPod
	lvDstGKECluster
	lvDstGKEPod
	lvSrcInst
	lvDstInst
	lvInst
	lvRemoteInst
	lvRule
)

// object scans the object at b[i] ('{') and returns the index past it, or
// -1 when the scanner declines.
func (d *Decoder) object(b []byte, i int, lv level, depth int) int {
	if depth <= 0 {
		return -1
	}
	i = jsonstream.SkipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return -1
		}
		end, esc := jsonstream.StringEnd(b, i+1)
		if end < 0 || esc {
			return -1
		}
		key := b[i+1 : end]
		i = jsonstream.SkipWS(b, end+1)
		if i >= len(b) || b[i] != ':' {
			return -1
		}
		i = jsonstream.SkipWS(b, i+1)
		if i = d.member(lv, key, b, i, depth-1); i < 0 {
			return -1
		}
		i = jsonstream.SkipWS(b, i)
		if i >= len(b) {
			return -1
		}
		if b[i] == '}' {
			return i + 1
		}
		if b[i] != ',' {
			return -1
		}
		i = jsonstream.SkipWS(b, i+1)
	}
}

// member scans the value at b[i] of the member key of an object at level
// lv, keeping it when the mapping reads it.
func (d *Decoder) member(lv level, key, b []byte, i, depth int) int {
	e := &d.e
	switch lv {
	case lvTop:
		switch string(key) {
		case "jsonPayload":
			return d.obj(b, i, &e.payload, lvPayload, depth)
		case "logName":
			return d.leaf(b, i, &e.logName, depth)
		case "timestamp":
			return d.leaf(b, i, &e.timestamp, depth)
		}
	case lvPayload:
		switch string(key) {
		case "connection":
			return d.obj(b, i, &e.conn, lvConn, depth)
		case "bytes_sent":
			return d.leaf(b, i, &e.bytes, depth)
		case "packets_sent":
			return d.leaf(b, i, &e.packets, depth)
		case "start_time":
			return d.leaf(b, i, &e.start, depth)
		case "end_time":
			return d.leaf(b, i, &e.end, depth)
		case "rtt_msec":
			return d.leaf(b, i, &e.rtt, depth)
		case "reporter":
			return d.leaf(b, i, &e.reporter, depth)
		case "disposition":
			return d.leaf(b, i, &e.disposition, depth)
		case "src_location":
			return d.obj(b, i, &e.srcLoc.v, lvSrcLoc, depth)
		case "dest_location":
			return d.obj(b, i, &e.dstLoc.v, lvDstLoc, depth)
		case "src_vpc":
			return d.obj(b, i, &e.srcVPC.v, lvSrcVPC, depth)
		case "dest_vpc":
			return d.obj(b, i, &e.dstVPC.v, lvDstVPC, depth)
		case "vpc":
			return d.obj(b, i, &e.vpc.v, lvVPC, depth)
		case "src_gke_details":
			return d.obj(b, i, &e.srcGKE.v, lvSrcGKE, depth)
		case "dest_gke_details":
			return d.obj(b, i, &e.dstGKE.v, lvDstGKE, depth)
		case "src_instance":
			return d.obj(b, i, &e.srcInstObj, lvSrcInst, depth)
		case "dest_instance":
			return d.obj(b, i, &e.dstInstObj, lvDstInst, depth)
		case "instance":
			return d.obj(b, i, &e.instObj, lvInst, depth)
		case "remote_instance":
			return d.obj(b, i, &e.remoteInstObj, lvRemoteInst, depth)
		case "rule_details":
			return d.obj(b, i, &e.rule.v, lvRule, depth)
		}
	case lvConn:
		switch string(key) {
		case "src_ip":
			return d.leaf(b, i, &e.srcIP, depth)
		case "dest_ip":
			return d.leaf(b, i, &e.destIP, depth)
		case "src_port":
			return d.leaf(b, i, &e.srcPort, depth)
		case "dest_port":
			return d.leaf(b, i, &e.destPort, depth)
		case "protocol":
			return d.leaf(b, i, &e.protocol, depth)
		}
	case lvSrcLoc, lvDstLoc:
		l := &e.srcLoc
		if lv == lvDstLoc {
			l = &e.dstLoc
		}
		switch string(key) {
		case "asn":
			return d.leaf(b, i, &l.asn, depth)
		case "country":
			return d.leaf(b, i, &l.country, depth)
		}
	case lvSrcVPC, lvDstVPC, lvVPC:
		v := &e.srcVPC
		if lv == lvDstVPC {
			v = &e.dstVPC
		} else if lv == lvVPC {
			v = &e.vpc
		}
		switch string(key) {
		case "vpc_name":
			return d.leaf(b, i, &v.name, depth)
		case "subnetwork_name":
			return d.leaf(b, i, &v.subnet, depth)
		case "project_id":
			return d.leaf(b, i, &v.project, depth)
		}
	case lvSrcGKE, lvDstGKE:
		g, cl, pod := &e.srcGKE, lvSrcGKECluster, lvSrcGKEPod
		if lv == lvDstGKE {
			g, cl, pod = &e.dstGKE, lvDstGKECluster, lvDstGKEPod
		}
		switch string(key) {
		case "cluster":
			return d.obj(b, i, &g.clusterObj, cl, depth)
		case "pod":
			return d.obj(b, i, &g.podObj, pod, depth)
		}
	case lvSrcGKECluster, lvDstGKECluster:
		g := &e.srcGKE
		if lv == lvDstGKECluster {
			g = &e.dstGKE
		}
		if string(key) == "cluster_name" {
			return d.leaf(b, i, &g.cluster, depth)
		}
	case lvSrcGKEPod, lvDstGKEPod:
		g := &e.srcGKE
		if lv == lvDstGKEPod {
			g = &e.dstGKE
		}
		switch string(key) {
		case "pod_namespace":
			return d.leaf(b, i, &g.namespace, depth)
		case "pod_name":
			return d.leaf(b, i, &g.pod, depth)
		}
	case lvSrcInst, lvDstInst, lvInst, lvRemoteInst:
		if string(key) == "vm_name" {
			v := &e.srcInst
			switch lv {
			case lvDstInst:
				v = &e.dstInst
			case lvInst:
				v = &e.inst
			case lvRemoteInst:
				v = &e.remoteInst
			}
			return d.leaf(b, i, v, depth)
		}
	case lvRule:
		switch string(key) {
		case "priority":
			return d.leaf(b, i, &e.rule.priority, depth)
		case "direction":
			return d.leaf(b, i, &e.rule.direction, depth)
		case "reference":
			return d.leaf(b, i, &e.rule.reference, depth)
		case "action":
			return d.leaf(b, i, &e.rule.action, depth)
		}
	}
	return jsonstream.Skip(b, i, depth)
}

// obj scans a member the mapping looks into when it is an object.
func (d *Decoder) obj(b []byte, i int, v *val, lv level, depth int) int {
	if v.set || i >= len(b) || b[i] != '{' {
		return d.leaf(b, i, v, depth)
	}
	v.set, v.t = true, fastjson.TypeObject
	return d.object(b, i, lv, depth)
}

// leaf scans a value and records it in v, unless v was set by an earlier
// duplicate key (fastjson's Get takes the first).
func (d *Decoder) leaf(b []byte, i int, v *val, depth int) int {
	if v.set {
		return jsonstream.Skip(b, i, depth)
	}
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		end, esc := jsonstream.StringEnd(b, i+1)
		if end < 0 {
			return -1
		}
		s := b[i+1 : end]
		if esc {
			start := len(d.nb)
			var ok bool
			if d.nb, ok = jsonstream.Unescape(d.nb, s); !ok {
				return -1
			}
			s = d.nb[start:]
		}
		v.set, v.t, v.b = true, fastjson.TypeString, s
		return end + 1
	case '{', '[':
		v.set, v.t = true, fastjson.TypeObject
		if b[i] == '[' {
			v.t = fastjson.TypeArray
		}
		return jsonstream.Skip(b, i, depth)
	case 't':
		v.set, v.t = true, fastjson.TypeTrue
	case 'f':
		v.set, v.t = true, fastjson.TypeFalse
	case 'n':
		v.set, v.t = true, fastjson.TypeNull
	default:
		end, ok := jsonstream.NumberEnd(b, i)
		if !ok {
			return -1
		}
		v.set, v.t, v.b = true, fastjson.TypeNumber, b[i:end]
		return end
	}
	return jsonstream.Skip(b, i, depth) // the literal
}
