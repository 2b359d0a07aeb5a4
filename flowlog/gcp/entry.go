package gcp

import (
	"github.com/valyala/fastjson"

	"github.com/flowsift/flowsift/flowlog"
)

// val is one JSON value the decoder reads: whether the key is there, its
// type, and its text (a string unescaped, a number's literal as written).
// A nested value is filled only when its parent is an object, as
// fastjson's Get finds nothing under anything else.
type val struct {
	b   []byte
	t   fastjson.Type
	set bool
}

// present: there and not null.
func (v *val) present() bool { return v.set && v.t != fastjson.TypeNull }

// str returns a string's bytes (never nil for a string, even empty), nil
// for anything else.
func (v *val) str() []byte {
	if !v.set || v.t != fastjson.TypeString {
		return nil
	}
	if v.b == nil {
		return []byte{}
	}
	return v.b
}

type locVals struct{ v, asn, country val }

type vpcVals struct{ v, name, subnet, project val }

// gkeVals: cluster.cluster_name, pod.pod_namespace, pod.pod_name.
type gkeVals struct{ v, clusterObj, podObj, cluster, namespace, pod val }

type ruleVals struct{ v, priority, direction, reference, action val }

// entry holds every value of a LogEntry the mapping reads (FORMATS.md 6).
type entry struct {
	logName, timestamp, payload val
	// jsonPayload members
	conn, disposition, packets, bytes, start, end, rtt, reporter val
	srcLoc, dstLoc                                               locVals
	srcVPC, dstVPC, vpc                                          vpcVals
	srcGKE, dstGKE                                               gkeVals
	rule                                                         ruleVals
	// *_instance objects and their vm_name
	srcInstObj, dstInstObj, instObj, remoteInstObj val
	srcInst, dstInst, inst, remoteInst             val
	// connection members
	srcIP, destIP, srcPort, destPort, protocol val
}

// classify is Classify on the entry's values.
func (e *entry) classify() flowlog.Source {
	if firewallLogName(e.logName.str()) {
		return flowlog.SourceGCPFirewall
	}
	if e.payload.set && e.payload.t == fastjson.TypeObject && (e.disposition.set || e.rule.v.set) {
		return flowlog.SourceGCPFirewall
	}
	return flowlog.SourceGCPFlows
}

// fill reads the entry's values from a parsed LogEntry. Get takes the
// first of duplicate keys; the scanner does the same.
func (d *Decoder) fill(v *fastjson.Value) {
	e := &d.e
	*e = entry{}
	d.nb = d.nb[:0]
	if v == nil || v.Type() != fastjson.TypeObject {
		return
	}
	d.mk(&e.logName, v.Get("logName"))
	d.mk(&e.timestamp, v.Get("timestamp"))
	p := d.mk(&e.payload, v.Get("jsonPayload"))
	if p == nil {
		return
	}
	if c := d.mk(&e.conn, p.Get("connection")); c != nil {
		d.mk(&e.srcIP, c.Get("src_ip"))
		d.mk(&e.destIP, c.Get("dest_ip"))
		d.mk(&e.srcPort, c.Get("src_port"))
		d.mk(&e.destPort, c.Get("dest_port"))
		d.mk(&e.protocol, c.Get("protocol"))
	}
	d.mk(&e.disposition, p.Get("disposition"))
	d.mk(&e.packets, p.Get("packets_sent"))
	d.mk(&e.bytes, p.Get("bytes_sent"))
	d.mk(&e.start, p.Get("start_time"))
	d.mk(&e.end, p.Get("end_time"))
	d.mk(&e.rtt, p.Get("rtt_msec"))
	d.mk(&e.reporter, p.Get("reporter"))
	for _, l := range [...]struct {
		v   *locVals
		key string
	}{{&e.srcLoc, "src_location"}, {&e.dstLoc, "dest_location"}} {
		if o := d.mk(&l.v.v, p.Get(l.key)); o != nil {
			d.mk(&l.v.asn, o.Get("asn"))
			d.mk(&l.v.country, o.Get("country"))
		}
	}
	for _, l := range [...]struct {
		v   *vpcVals
		key string
	}{{&e.srcVPC, "src_vpc"}, {&e.dstVPC, "dest_vpc"}, {&e.vpc, "vpc"}} {
		if o := d.mk(&l.v.v, p.Get(l.key)); o != nil {
			d.mk(&l.v.name, o.Get("vpc_name"))
			d.mk(&l.v.subnet, o.Get("subnetwork_name"))
			d.mk(&l.v.project, o.Get("project_id"))
		}
	}
	for _, l := range [...]struct {
		v   *gkeVals
		key string
	}{{&e.srcGKE, "src_gke_details"}, {&e.dstGKE, "dest_gke_details"}} {
		if o := d.mk(&l.v.v, p.Get(l.key)); o != nil {
			if c := d.mk(&l.v.clusterObj, o.Get("cluster")); c != nil {
				d.mk(&l.v.cluster, c.Get("cluster_name"))
			}
			if c := d.mk(&l.v.podObj, o.Get("pod")); c != nil {
				d.mk(&l.v.namespace, c.Get("pod_namespace"))
				d.mk(&l.v.pod, c.Get("pod_name"))
			}
		}
	}
	for _, l := range [...]struct {
		obj, vm *val
		key     string
	}{{&e.srcInstObj, &e.srcInst, "src_instance"}, {&e.dstInstObj, &e.dstInst, "dest_instance"},
		{&e.instObj, &e.inst, "instance"}, {&e.remoteInstObj, &e.remoteInst, "remote_instance"}} {
		if o := d.mk(l.obj, p.Get(l.key)); o != nil {
			d.mk(l.vm, o.Get("vm_name"))
		}
	}
	if o := d.mk(&e.rule.v, p.Get("rule_details")); o != nil {
		d.mk(&e.rule.priority, o.Get("priority"))
		d.mk(&e.rule.direction, o.Get("direction"))
		d.mk(&e.rule.reference, o.Get("reference"))
		d.mk(&e.rule.action, o.Get("action"))
	}
}

// mk records fv (nil: absent) in v and returns fv when it is an object.
func (d *Decoder) mk(v *val, fv *fastjson.Value) *fastjson.Value {
	if fv == nil {
		return nil
	}
	v.set, v.t = true, fv.Type()
	switch v.t {
	case fastjson.TypeString:
		v.b, _ = fv.StringBytes()
	case fastjson.TypeNumber:
		start := len(d.nb)
		d.nb = fv.MarshalTo(d.nb)
		v.b = d.nb[start:]
	case fastjson.TypeObject:
		return fv
	}
	return nil
}
