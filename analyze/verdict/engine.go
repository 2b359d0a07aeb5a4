package verdict

import (
	"net/netip"

	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/flowlog"
)

type outcome struct {
	action policy.Action // 0 = unknown
	id     string
	rule   *policy.Rule
	reason string
}

// Engine judges records against one policy set. It is safe for concurrent
// use (it holds no per-record state).
type Engine struct {
	set  *policy.Set
	comp *compiled // nil: the reference walk
}

// NewEngine returns the fast engine (compiled chain indexes).
func NewEngine(set *policy.Set) *Engine {
	set.Index()
	return &Engine{set: set, comp: compile(set)}
}

// NewReferenceEngine returns the engine that walks every chain rule by rule,
// as POLICY.md describes it. It is the oracle the compiled engine is tested
// against.
func NewReferenceEngine(set *policy.Set) *Engine {
	set.Index()
	return &Engine{set: set}
}

// Set returns the policy set.
func (e *Engine) Set() *policy.Set { return e.set }

// JudgeAll judges a batch: the reply pre-pass over all records, then every
// record. out must have len(recs) elements (reused between calls).
func (e *Engine) JudgeAll(recs []flowlog.Record, out []Result) {
	ix := NewReplyIndex(recs)
	for i := range recs {
		e.Evaluate(&recs[i], ix.Detect(i), &out[i])
	}
}

// Evaluate judges one record whose reply side is already known.
func (e *Engine) Evaluate(rec *flowlog.Record, rep Reply, res *Result) {
	if e.comp != nil {
		e.evaluateCompiled(rec, rep, res)
		return
	}
	res.reset(rep)
	q := QueryOf(rec)
	src, dst := rec.Src.Unmap(), rec.Dst.Unmap()
	e.interfaces(rec, src, dst, &q, res)
	e.deployments(src, dst, &q, res)
	e.nodes(src, dst, &q, res)
	e.combine(rec, res)
}

// QueryOf returns the record's protocol part of a query (Remote, Local and
// RemoteInternet are set per scope). Both evaluators and the rule
// statistics (analyze/rulestats) build their queries with it.
func QueryOf(rec *flowlog.Record) policy.Query {
	q := policy.Query{Proto: rec.Proto, SPort: rec.SrcPort, DPort: rec.DstPort}
	if rec.Proto == 1 || rec.Proto == 58 {
		code := false
		for _, a := range rec.Attrs {
			switch a.Key {
			case flowlog.AttrIcmpType:
				q.HasICMP, q.ICMPType = true, int16(a.Int)
			case flowlog.AttrIcmpCode:
				q.ICMPCode, code = int16(a.Int), true
			}
		}
		if q.HasICMP && !code {
			q.ICMPCode = -2 // unknown code: a code-restricted rule cannot match with certainty
		}
	}
	return q
}

func (e *Engine) interfaces(rec *flowlog.Record, src, dst netip.Addr, q *policy.Query, res *Result) {
	if len(e.set.Interfaces) == 0 {
		return
	}
	var ifc *policy.Interface
	dir := rec.Direction
	if len(rec.Iface) > 4 && rec.Iface[:4] == "eni-" {
		ifc = e.set.InterfaceByID(rec.Iface)
	} else {
		switch dir {
		case flowlog.DirIngress:
			ifc = e.set.InterfaceByAddr(dst)
		case flowlog.DirEgress:
			ifc = e.set.InterfaceByAddr(src)
		default:
			if ifc = e.set.InterfaceByAddr(dst); ifc == nil {
				ifc = e.set.InterfaceByAddr(src)
			}
		}
	}
	if ifc == nil {
		return
	}
	if dir == flowlog.DirUnknown {
		// POLICY.md 2: derive the direction from the interface's addresses.
		switch {
		case hasAddr(ifc.Addrs, dst):
			dir = flowlog.DirIngress
		case hasAddr(ifc.Addrs, src):
			dir = flowlog.DirEgress
		default:
			return
		}
	}
	pd := policy.Ingress
	q.Remote, q.Local = src, dst
	if dir == flowlog.DirEgress {
		pd = policy.Egress
		q.Remote, q.Local = dst, src
	}
	q.RemoteInternet = e.set.IsInternet(q.Remote)
	res.Covered = true
	if pd == policy.Ingress && !res.Reply {
		res.Inbound = true
		res.Internet = q.RemoteInternet
	}
	if ifc.IsUnfiltered(q.Remote) || (ifc.UnfilteredDHCP && q.Proto == 17 && isDHCP(q.SPort, q.DPort)) {
		res.Unfiltered = true
		return
	}
	for _, l := range ifc.Layers {
		if l.SkipLocal && ifc.InLocal(q.Remote) {
			continue
		}
		e.layer(l, ifc.ID, pd, q, res)
	}
}

// The reference walk: interfaces, deployments, nodes and combine follow
// POLICY.md step by step; the compiled engine's counterparts are in the
// second part of this file and must give the same results.

func isDHCP(s, d uint16) bool { return (s == 67 || s == 68) && (d == 67 || d == 68) }

func (e *Engine) layer(l *policy.Layer, scope string, d policy.Dir, q *policy.Query, res *Result) {
	if res.nLayers >= maxLayers {
		return // dropped, as Result.add does
	}
	lr := &res.layers[res.nLayers] // filled in place: no copy of the result
	res.nLayers++
	lr.Layer, lr.Scope, lr.Dir = l, scope, d
	if res.Reply && l.Kind.Stateful() {
		lr.Action, lr.ID, lr.Rule, lr.Reason, lr.Reply = policy.Allow, l.Kind.ReplyID(), nil, "", true
		return
	}
	lr.Reply = false
	o := EvalChain(l.Chain(d), q)
	lr.Action, lr.ID, lr.Rule, lr.Reason = o.action, o.id, o.rule, o.reason
}

func (e *Engine) deployments(src, dst netip.Addr, q *policy.Query, res *Result) {
	for _, dep := range e.set.Deployments {
		if dep.Layer == nil {
			continue
		}
		switch {
		case inPrefixes(dep.Addrs, dst):
			q.Remote, q.Local = src, dst
			q.RemoteInternet = e.set.IsInternet(src)
			res.Covered = true
			if !res.Reply {
				res.Inbound, res.Internet = true, q.RemoteInternet
			}
			e.layer(dep.Layer, dep.ID, policy.Ingress, q, res)
		case inPrefixes(dep.Addrs, src):
			q.Remote, q.Local = dst, src
			q.RemoteInternet = e.set.IsInternet(dst)
			res.Covered = true
			e.layer(dep.Layer, dep.ID, policy.Egress, q, res)
		}
	}
}

func (e *Engine) nodes(src, dst netip.Addr, q *policy.Query, res *Result) {
	for _, n := range e.set.Nodes {
		if len(n.Addrs) > 0 && !inPrefixes(n.Addrs, dst) {
			continue
		}
		for _, f := range n.Filters {
			if !f.Ports.Contains(q.DPort) {
				continue
			}
			q.Remote, q.Local = src, dst
			q.RemoteInternet = e.set.IsInternet(src)
			res.Covered = true
			if !res.Reply {
				res.Inbound, res.Internet = true, q.RemoteInternet
			}
			e.layer(f.Layer, n.Name, policy.Ingress, q, res)
			break
		}
	}
}

// combine applies POLICY.md 4.1 and 8.
func (e *Engine) combine(rec *flowlog.Record, res *Result) {
	if !res.Covered {
		res.Verdict, res.Reason, res.Finding = Unknown, policy.ReasonNotCovered, FindingUnknownInterface
		return
	}
	ls := res.Layers()
	res.Verdict = combineLayers(ls, false)
	res.Visible = combineLayers(ls, true)
	for _, l := range ls {
		if l.Layer.Kind.Visible() {
			res.HasVisible = true
		}
	}
	if res.Unfiltered {
		res.HasVisible = true
	}
	for _, l := range ls {
		switch res.Verdict {
		case Accept:
			if l.ID != "" {
				res.Rules = append(res.Rules, l.ID)
			}
		case Reject:
			if l.Action == policy.Deny {
				res.Rules = append(res.Rules, l.ID)
			}
		default:
			if l.Action == policy.Allow {
				res.Rules = append(res.Rules, l.ID)
			} else if l.Action == 0 && res.Reason == "" {
				res.Reason = l.Reason
			}
		}
	}
	res.Finding = e.finding(rec, res)
}

func combineLayers(ls []LayerResult, visibleOnly bool) Verdict {
	v := Accept
	for _, l := range ls {
		if visibleOnly && !l.Layer.Kind.Visible() {
			continue
		}
		switch l.Action {
		case policy.Deny:
			return Reject
		case 0:
			v = Unknown
		}
	}
	return v
}

func (e *Engine) finding(rec *flowlog.Record, res *Result) Finding {
	if res.HasVisible {
		if rec.Action == flowlog.ActionAccept && res.Visible == Reject {
			return FindingViolation
		}
		if rec.Action == flowlog.ActionReject && res.Visible == Accept {
			return FindingUnexpectedReject
		}
	}
	if res.Verdict == Accept && res.Inbound && !res.Reply && res.Internet && IsSensitive(rec.Proto, rec.DstPort) {
		return FindingExposure
	}
	if res.Verdict == Reject {
		all := true
		for _, id := range res.Rules {
			if !policy.IsDefaultID(id) {
				all = false
				break
			}
		}
		if all {
			return FindingDefaultDeny
		}
	}
	if res.Verdict == Accept && !res.Reply && len(res.Rules) > 0 && policy.IsDefaultID(res.Rules[len(res.Rules)-1]) {
		return FindingImplicitAllow
	}
	return FindingNone
}

var sensitiveTCP, sensitiveUDP = func() (t, u [1024]uint64) {
	for _, p := range []int{20, 21, 22, 23, 111, 135, 137, 138, 139, 445, 873, 1433, 1521, 2049, 2375, 2376, 2379, 2380,
		3306, 3389, 5432, 5601, 5900, 5984, 6379, 6443, 9042, 9092, 9200, 9300, 10250, 11211, 27017} {
		t[p/64] |= 1 << (p % 64)
	}
	for _, p := range []int{69, 111, 137, 138, 161, 1434, 2049, 11211} {
		u[p/64] |= 1 << (p % 64)
	}
	return
}()

// IsSensitive reports whether (proto, dport) is a sensitive service of
// POLICY.md 8.1.
func IsSensitive(proto uint8, port uint16) bool {
	switch proto {
	case 6:
		return sensitiveTCP[port/64]&(1<<(port%64)) != 0
	case 17:
		return sensitiveUDP[port/64]&(1<<(port%64)) != 0
	}
	return false
}

func hasAddr(as []netip.Addr, a netip.Addr) bool {
	for _, x := range as {
		if x == a {
			return true
		}
	}
	return false
}

func inPrefixes(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// EvalChain is the reference first-match evaluation of one chain. An
// undecidable ("maybe") rule forks: its branch ends in its action, the other
// branch continues. If every branch ends in the same action, that action
// stands, named by the first rule that matches with certainty (or the
// default); otherwise the chain is unknown with the first maybe's reason.
func EvalChain(c *policy.Chain, q *policy.Query) outcome {
	var maybeAllow, maybeDeny bool
	reason := ""
	for _, r := range c.Rules {
		m, why := r.Match(q)
		switch m {
		case policy.Maybe:
			if r.Action == policy.Allow {
				maybeAllow = true
			} else {
				maybeDeny = true
			}
			if reason == "" {
				reason = why
			}
		case policy.Yes:
			return settle(r.Action, r.ID, r, maybeAllow, maybeDeny, reason)
		}
	}
	if c.Default.Action == 0 {
		if reason == "" {
			reason = c.Default.Reason
		}
		return outcome{reason: reason}
	}
	return settle(c.Default.Action, c.Default.ID, nil, maybeAllow, maybeDeny, reason)
}

func settle(a policy.Action, id string, r *policy.Rule, maybeAllow, maybeDeny bool, reason string) outcome {
	if (a == policy.Allow && maybeDeny) || (a == policy.Deny && maybeAllow) {
		return outcome{reason: reason}
	}
	return outcome{action: a, id: id, rule: r}
}

// The compiled path. Per record it resolves the interface once (the
// Result remembers the last one), computes the internet test of each
// address at most once, searches the remote address once for all of an
// interface's layers (jointIndex), skips Elastic scopes the set does not
// have, and combines the layers and derives the finding in one pass
// (combineCompiled). TestCompiledMatchesReferenceModels holds it to the reference.

// recFacts holds the per-record facts every scope shares.
type recFacts struct {
	set      *policy.Set
	src, dst netip.Addr // unmapped
	inet     uint8      // fxSrc/fxDst: computed; fxSrcInet/fxDstInet: value
	// pending: the query's RemoteInternet is not set yet; it is the
	// internet test of dst when pendDst, else of src. Only rules with
	// UnknownSkipsInternet read it (cchain.usesInet), so a scope sets it
	// when its result needs it (inbound) or a layer's chain reads it.
	pending, pendDst bool
}

// remote sets q's Remote and Local for a scope whose remote side is dst
// (remoteDst) or src, and RemoteInternet now when inbound (the result
// records it), else when a layer needs it (fx.resolve). It returns
// RemoteInternet when inbound.
func (f *recFacts) remote(q *policy.Query, remoteDst, inbound bool) bool {
	if remoteDst {
		q.Remote, q.Local = f.dst, f.src
	} else {
		q.Remote, q.Local = f.src, f.dst
	}
	if inbound {
		q.RemoteInternet, f.pending = f.internet(remoteDst), false
		return q.RemoteInternet
	}
	f.pending, f.pendDst = true, remoteDst
	return false
}

// resolve sets q.RemoteInternet if it is pending.
func (f *recFacts) resolve(q *policy.Query) {
	if f.pending {
		q.RemoteInternet, f.pending = f.internet(f.pendDst), false
	}
}

const (
	fxSrc = 1 << iota
	fxDst
	fxSrcInet
	fxDstInet
)

// internet returns Set.IsInternet of src (dstSide false) or dst.
func (f *recFacts) internet(dstSide bool) bool {
	have, val, a := uint8(fxSrc), uint8(fxSrcInet), f.src
	if dstSide {
		have, val, a = fxDst, fxDstInet, f.dst
	}
	if f.inet&have == 0 {
		f.inet |= have
		if f.set.IsInternet(a) {
			f.inet |= val
		}
	}
	return f.inet&val != 0
}

func (e *Engine) evaluateCompiled(rec *flowlog.Record, rep Reply, res *Result) {
	c := e.comp
	// Only what combineCompiled and the scopes do not overwrite is reset.
	res.Rules, res.Reason = res.Rules[:0], ""
	res.Reply, res.Basis = rep.Reply, rep.Basis
	res.Covered, res.Unfiltered, res.Inbound, res.Internet = false, false, false, false
	res.nLayers, res.defMask = 0, 0
	q := QueryOf(rec)
	fx := recFacts{set: e.set, src: rec.Src.Unmap(), dst: rec.Dst.Unmap()}
	if len(c.ifaces.ifcs) > 0 {
		e.interfacesCompiled(rec, &fx, &q, res)
	}
	if !c.scopes.deps.empty {
		e.deploymentsIndexed(&fx, &q, res)
	}
	if !c.scopes.nodes.empty || len(c.scopes.anyNode) > 0 {
		e.nodesIndexed(&fx, &q, res)
	}
	combineCompiled(rec, res)
}

// iface resolves the record's interface as Engine.interfaces does.
func (e *Engine) iface(rec *flowlog.Record, src, dst netip.Addr, res *Result) *cifc {
	x := &e.comp.ifaces
	if len(rec.Iface) > 4 && rec.Iface[:4] == "eni-" {
		// Records of one interface come in runs: the Result keeps the last
		// one, keyed by the policy's own id string (never by the record's,
		// which may alias reader memory).
		if ci := res.lastIfc; ci != nil && res.lastOf == x && ci.ifc.ID == rec.Iface {
			return ci
		}
		ci := x.byID[rec.Iface]
		if ci != nil {
			res.lastIfc, res.lastOf = ci, x
		}
		return ci
	}
	switch rec.Direction {
	case flowlog.DirIngress:
		return x.byAddr[dst]
	case flowlog.DirEgress:
		return x.byAddr[src]
	}
	if ci := x.byAddr[dst]; ci != nil {
		return ci
	}
	return x.byAddr[src]
}

// interfacesCompiled is Engine.interfaces over the compiled indexes.
func (e *Engine) interfacesCompiled(rec *flowlog.Record, fx *recFacts, q *policy.Query, res *Result) {
	src, dst := fx.src, fx.dst
	ci := e.iface(rec, src, dst, res)
	if ci == nil {
		return
	}
	ifc := ci.ifc
	dir := rec.Direction
	if dir == flowlog.DirUnknown {
		// POLICY.md 2: derive the direction from the interface's addresses.
		switch {
		case hasAddr(ifc.Addrs, dst):
			dir = flowlog.DirIngress
		case hasAddr(ifc.Addrs, src):
			dir = flowlog.DirEgress
		default:
			return
		}
	}
	pd := policy.Ingress
	if dir == flowlog.DirEgress {
		pd = policy.Egress
	}
	inbound := pd == policy.Ingress && !res.Reply
	remoteDst := pd == policy.Egress
	remote := src
	if remoteDst {
		remote = dst
	}
	j := ci.joint[pd]
	var fl uint8
	var refs []leafRef
	joint := j != nil && (remote.Is4() || (remote.Is6() && remote.Zone() == ""))
	if joint {
		fl, refs = j.row(remote)
		if j.inet {
			// The row answers the internet test of the remote side.
			have, val := uint8(fxSrc), uint8(fxSrcInet)
			if remoteDst {
				have, val = fxDst, fxDstInet
			}
			fx.inet |= have
			if fl&jInternet != 0 {
				fx.inet |= val
			}
		}
	}
	inet := fx.remote(q, remoteDst, inbound)
	res.Covered = true
	if inbound {
		res.Inbound = true
		res.Internet = inet
	}
	dhcp := ifc.UnfilteredDHCP && q.Proto == 17 && isDHCP(q.SPort, q.DPort)
	if !joint {
		// No joint index, or an address no prefix holds but for which
		// PrefixSet answers by its bits: ask each structure itself.
		if ifc.IsUnfiltered(q.Remote) || dhcp {
			res.Unfiltered = true
			return
		}
		for _, l := range ifc.Layers {
			if l.SkipLocal && ifc.InLocal(q.Remote) {
				continue
			}
			e.addLayer(l, e.comp.chain(l, pd), nil, ifc.ID, pd, fx, q, res)
		}
		return
	}
	if fl&jUnfiltered != 0 || dhcp {
		res.Unfiltered = true
		return
	}
	for i, l := range ifc.Layers {
		if l.SkipLocal && fl&jLocal != 0 {
			continue
		}
		e.addLayer(l, j.chains[i], &refs[i], ifc.ID, pd, fx, q, res)
	}
}

// addLayer is Engine.layer for the compiled path: ch is l's compiled
// chain in direction d (nil: compiled.eval decides) and ref, when not nil,
// ch.leaf(q.Remote). It records in res.defMask whether the layer's id is a
// default id.
func (e *Engine) addLayer(l *policy.Layer, ch *cchain, ref *leafRef, scope string, d policy.Dir, fx *recFacts, q *policy.Query, res *Result) {
	i := res.nLayers
	if i >= maxLayers {
		return // dropped, as Result.add does
	}
	if ch == nil || ch.usesInet {
		fx.resolve(q)
	}
	lr := &res.layers[i] // filled in place: no copy of the result
	res.nLayers++
	lr.Layer, lr.Scope, lr.Dir = l, scope, d
	var def bool
	switch {
	case res.Reply && l.Kind.Stateful():
		id := l.Kind.ReplyID()
		lr.Action, lr.ID, lr.Rule, lr.Reason, lr.Reply = policy.Allow, id, nil, "", true
		def = policy.IsDefaultID(id)
	case ch == nil:
		lr.Reply = false
		def = e.comp.eval(l, d, q, lr)
	case ref == nil:
		lr.Reply = false
		def = ch.evalRef(ch.leaf(q.Remote), q, lr)
	default:
		lr.Reply = false
		def = ch.evalRef(*ref, q, lr)
	}
	if def {
		res.defMask |= 1 << i
	}
}

// combineCompiled is combine and finding in one pass over the layers (POLICY.md
// 4.1 and 8); it sets Verdict, Visible, HasVisible, Rules, Reason and
// Finding. Layer i's id is a default id when res.defMask has bit i.
func combineCompiled(rec *flowlog.Record, res *Result) {
	if !res.Covered {
		res.Verdict, res.Visible, res.HasVisible = Unknown, Unknown, false
		res.Reason, res.Finding = policy.ReasonNotCovered, FindingUnknownInterface
		return
	}
	ls := res.layers[:res.nLayers]
	v, vis, hasVis := Accept, Accept, res.Unfiltered
	for i := range ls {
		visible := ls[i].Layer.Kind.Visible()
		hasVis = hasVis || visible
		switch ls[i].Action {
		case policy.Deny:
			v = Reject
			if visible {
				vis = Reject
			}
		case 0:
			if v == Accept {
				v = Unknown
			}
			if visible && vis == Accept {
				vis = Unknown
			}
		}
	}
	allDef, lastDef := true, false
	for i := range ls {
		l := &ls[i]
		add := false
		switch v {
		case Accept:
			add = l.ID != ""
		case Reject:
			add = l.Action == policy.Deny
		default:
			if l.Action == policy.Allow {
				add = true
			} else if l.Action == 0 && res.Reason == "" {
				res.Reason = l.Reason
			}
		}
		if add {
			res.Rules = append(res.Rules, l.ID)
			lastDef = res.defMask&(1<<i) != 0
			allDef = allDef && lastDef
		}
	}
	res.Verdict, res.Visible, res.HasVisible = v, vis, hasVis
	f := FindingNone
	switch {
	case hasVis && rec.Action == flowlog.ActionAccept && vis == Reject:
		f = FindingViolation
	case hasVis && rec.Action == flowlog.ActionReject && vis == Accept:
		f = FindingUnexpectedReject
	case v == Accept && res.Inbound && !res.Reply && res.Internet && IsSensitive(rec.Proto, rec.DstPort):
		f = FindingExposure
	case v == Reject && allDef:
		f = FindingDefaultDeny
	case v == Accept && !res.Reply && len(res.Rules) > 0 && lastDef:
		f = FindingImplicitAllow
	}
	res.Finding = f
}
