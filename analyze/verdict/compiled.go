package verdict

import (
	"encoding/binary"
	"math"
	"net/netip"
	"slices"
	"sort"
	"unsafe"

	"github.com/flowsift/flowsift/analyze/policy"
)

// The compiled evaluator answers EvalChain's question (the first rule that
// matches with certainty, and the undecidable rules before it) without
// walking the chain.
//
// Per chain and address family the remote prefixes of the rules form a
// laminar family (two prefixes are nested or disjoint). Each distinct
// prefix is a node; the address space is cut into elementary intervals,
// each labelled with the deepest node containing it (index4 / index6). A
// node holds
//
//   - a step function over the (protocol, destination port) key space
//     (protoKey) giving, per key, the lowest-order "simple" rule — one
//     whose only conditions are protocol, destination ports and the
//     remote prefix — that matches with certainty, and the lowest-order
//     undecidable simple allow and deny, over the node and, when the node
//     is complete, all enclosing nodes (one function with triple values,
//     so a node costs one search; functions are stored once per distinct
//     content and shared by every node that has them);
//   - the orders of its "complex" rules (local address, source ports, ICMP
//     type or code, undecidable parts), matched with Rule.Match, again
//     merged with the enclosing nodes' when complete;
//   - next: -1 when complete, else the enclosing node to consult as well
//     (merging is skipped when it would copy too much: memory stays linear
//     in the rules).
//
// Rules whose remote test is more than prefixes (RemoteGlob, RemoteUnknown)
// are "global": matched with Rule.Match for every query. Complex and global
// rules are only matched while their order is below the best certain match
// found so far. The undecidable matches before the deciding order are then
// resolved as in EvalChain (POLICY.md 4.3). Lookups do not allocate.
//
// The compiled form is a snapshot: the Set must not change after NewEngine.

const noRule = math.MaxInt32

// splitNodes, set by tests, never merges a node's lists with its parent's,
// so lookups walk the enclosing nodes (the path large policies take when
// merging would copy too much).
var splitNodes bool

type compiled struct {
	layers []clayer
	scopes *scopeIndex
	ifaces ifaceIndex
}

type clayer struct{ in, out *cchain }

// crule is what the evaluator needs of a rule by its order in the chain.
// Half a cache line: the reason is an index into cchain.reasons.
type crule struct {
	id     string
	rule   *policy.Rule
	action policy.Action
	def    bool   // policy.IsDefaultID(id)
	reason uint32 // cchain.reasons[reason] is maybeReason, for table rules
}

type cchain struct {
	c      *policy.Chain
	defDef bool // policy.IsDefaultID(c.Default.ID)
	// usesInet: a rule reads Query.RemoteInternet (UnknownSkipsInternet
	// on an undecidable remote).
	usesInet bool
	rules    []crule
	reasons  []string // distinct maybeReasons
	v4       index4[leafRef]
	v6       index6[leafRef]
	nodes    []cnode
	// The step functions of every node, interned by content: skeys holds
	// the run starts and svals the values, in parallel. Functions of at
	// most 16 runs never straddle a 64-byte block of skeys, so a lookup
	// reads one line of keys and one of values. Offset 0 is the constant
	// function (noRule everywhere).
	skeys  []uint32
	svals  []sval
	cplx   []int32 // every node's complex orders, by offset
	global []int32 // orders of global rules, ascending
}

// sval is the value of a node's step function at one run: the lowest order
// of a certain match, of an undecidable allow and of an undecidable deny.
type sval struct{ yes, mAllow, mDeny int32 }

var noMatch = sval{noRule, noRule, noRule}

// A node's build-time lists: yes (certain matches), maybe-allow and
// maybe-deny step functions.
const (
	lYes = iota
	lMaybeAllow
	lMaybeDeny
	nLists
)

type span struct{ off, n uint32 }

// leafRef is what the address index gives for an elementary interval: the
// step function of its deepest node, and the node itself when that has
// more to consult (complex rules, an enclosing node), else -1.
type leafRef struct {
	fn   span
	node int32
}

var noLeaf = leafRef{span{0, 1}, -1}

type cnode struct {
	fn   span  // step function (into skeys/svals)
	cplx span  // complex orders (into cplx)
	next int32 // -1: the lists cover every enclosing prefix; else go on there
}

// bnode is a node while compiling: its lists (a child that is not merged
// shares nothing; a merged child owns the composition).
type bnode struct {
	l    [nLists][]step
	cplx []int32
	next int32
}

// chainBuilder holds the compile-time state of one chain.
type chainBuilder struct {
	cc       *cchain
	nodes    []bnode
	interned map[string]span
	// reasonIdx indexes cc.reasons.
	reasonIdx map[string]uint32
	keyBuf    []byte
}

func compile(set *policy.Set) *compiled {
	ls := set.Layers()
	c := &compiled{layers: make([]clayer, len(ls)), scopes: newScopeIndex(set)}
	for i, l := range ls {
		c.layers[i] = clayer{compileChain(&l.In), compileChain(&l.Out)}
	}
	c.ifaces = newIfaceIndex(c, set)
	return c
}

// chain returns the compiled chain of layer l in direction d, or nil when
// l is not the layer compiled under its Seq.
func (c *compiled) chain(l *policy.Layer, d policy.Dir) *cchain {
	if l.Seq < 0 || l.Seq >= len(c.layers) {
		return nil
	}
	ch := c.layers[l.Seq].in
	if d == policy.Egress {
		ch = c.layers[l.Seq].out
	}
	if ch.c != l.Chain(d) {
		return nil
	}
	return ch
}

// eval sets lr's Action, ID, Rule and Reason for layer l in direction d
// and reports whether lr.ID is a default id (policy.IsDefaultID).
func (c *compiled) eval(l *policy.Layer, d policy.Dir, q *policy.Query, lr *LayerResult) bool {
	ch := c.chain(l, d)
	if ch == nil {
		o := EvalChain(l.Chain(d), q)
		lr.Action, lr.ID, lr.Rule, lr.Reason = o.action, o.id, o.rule, o.reason
		return policy.IsDefaultID(o.id)
	}
	return ch.evalRef(ch.leaf(q.Remote), q, lr)
}

// isGlobal: the remote condition is not a plain prefix test.
func isGlobal(r *policy.Rule) bool { return len(r.RemoteGlob) > 0 || r.RemoteUnknown != "" }

// icmpRestricted: an ICMP rule restricted by type or code.
func icmpRestricted(r *policy.Rule) bool {
	return (r.Proto == 1 || r.Proto == 58) && (r.ICMPType >= 0 || r.ICMPCode >= 0)
}

// inTables reports whether Rule.Match of r is decided by the protocol key
// and the remote prefix alone, so r can live in a node's step functions:
// certain where it matches ("Yes"), and undecidable ("Maybe", reason
// maybeReason) where an Unknown or an ICMP type/code the record does not
// carry makes it so. Anything else is matched with Rule.Match.
func inTables(r *policy.Rule) bool {
	if r.Local != nil || len(r.SrcPorts) > 0 || isGlobal(r) || r.Proto < -1 || r.Proto > 255 {
		return false
	}
	if icmpRestricted(r) {
		// A type-less code restriction would need a range per type.
		return r.Unknown == "" && r.ICMPType >= 0 && r.ICMPType <= 255 && r.ICMPCode <= 255
	}
	return true
}

// maybeReason is the reason of a table rule's Maybe.
func maybeReason(r *policy.Rule) string {
	if icmpRestricted(r) {
		return policy.ReasonICMPType
	}
	return r.Unknown
}

// The protocol key: protocol number in bits 20-27; below it the
// destination port for TCP and UDP, and for ICMP and ICMPv6 records that
// carry them 1<<18 | type<<9 | code, with type 256 for a value outside
// 0-255, code 256 when unknown (negative) and 257 above 255.
const keySpace = 1 << 28

const icmpHas = 1 << 18

func protoKey(q *policy.Query) uint32 {
	base := uint32(q.Proto) << 20
	switch q.Proto {
	case 6, 17:
		return base | uint32(q.DPort)
	case 1, 58:
		if !q.HasICMP {
			return base
		}
		t, c := uint32(q.ICMPType), uint32(q.ICMPCode)
		if q.ICMPType < 0 || q.ICMPType > 255 {
			t = 256
		}
		switch {
		case q.ICMPCode < 0:
			c = 256
		case q.ICMPCode > 255:
			c = 257
		}
		return base | icmpHas | t<<9 | c
	}
	return base
}

// keyRanges appends the key ranges [lo, hi] where a table rule matches
// with certainty (yes) or undecidably (maybe).
func keyRanges(r *policy.Rule, yes, maybe [][2]uint32) ([][2]uint32, [][2]uint32) {
	base := uint32(r.Proto) << 20
	switch {
	case r.Proto == -1:
		yes = append(yes, [2]uint32{0, keySpace - 1})
	case (r.Proto == 6 || r.Proto == 17) && len(r.Ports) > 0:
		for _, p := range r.Ports {
			if p.Lo <= p.Hi {
				yes = append(yes, [2]uint32{base | uint32(p.Lo), base | uint32(p.Hi)})
			}
		}
	case icmpRestricted(r):
		t := base | icmpHas | uint32(r.ICMPType)<<9
		maybe = append(maybe, [2]uint32{base, base}) // type and code not carried
		if r.ICMPCode < 0 {
			yes = append(yes, [2]uint32{t, t | 511})
		} else {
			yes = append(yes, [2]uint32{t | uint32(r.ICMPCode), t | uint32(r.ICMPCode)})
			maybe = append(maybe, [2]uint32{t | 256, t | 256}) // code not carried
		}
		return yes, maybe
	default:
		yes = append(yes, [2]uint32{base, base | (1<<20 - 1)})
	}
	if r.Unknown != "" { // every match is undecidable
		maybe = append(maybe, yes...)
		yes = yes[:0]
	}
	return yes, maybe
}

// paint builds the step function giving, per key, the lowest owner of the
// ranges covering it. Owners are ascending; each key is painted once (a
// next-unpainted pointer skips painted runs).
func paint(ranges [][2]uint32, owner []int32) []step {
	if len(ranges) == 0 {
		return nil
	}
	pts := []uint32{0}
	for _, r := range ranges {
		pts = append(pts, r[0])
		if r[1] < keySpace-1 {
			pts = append(pts, r[1]+1)
		}
	}
	slices.Sort(pts)
	u := slices.Compact(pts)
	first := make([]int32, len(u))
	for i := range first {
		first[i] = noRule
	}
	next := make([]int, len(u)+1)
	for i := range next {
		next[i] = i
	}
	find := func(i int) int {
		r := i
		for next[r] != r {
			r = next[r]
		}
		for next[i] != r { // path compression
			next[i], i = r, next[i]
		}
		return r
	}
	idx := func(k uint32) int {
		i, _ := slices.BinarySearch(u, k)
		return i
	}
	for k, r := range ranges {
		lo, hi := idx(r[0]), len(u)
		if r[1] < keySpace-1 {
			hi = idx(r[1] + 1)
		}
		for i := find(lo); i < hi; i = find(i) {
			first[i] = owner[k]
			next[i] = i + 1
		}
	}
	out := make([]step, 0, len(u))
	for i, s := range u {
		if len(out) == 0 || out[len(out)-1].first != first[i] {
			out = append(out, step{s, first[i]})
		}
	}
	return out
}

// compose returns the pointwise minimum of two step functions.
func compose(a, b []step) []step {
	out := make([]step, 0, len(a)+len(b))
	i, j := 0, 0
	va, vb := int32(noRule), int32(noRule)
	for i < len(a) || j < len(b) {
		var s uint32
		switch {
		case j == len(b) || (i < len(a) && a[i].start < b[j].start):
			s, va = a[i].start, a[i].first
			i++
		case i == len(a) || b[j].start < a[i].start:
			s, vb = b[j].start, b[j].first
			j++
		default:
			s, va, vb = a[i].start, a[i].first, b[j].first
			i++
			j++
		}
		v := min(va, vb)
		if n := len(out); n > 0 && out[n-1].start == s {
			out[n-1].first = v
			if n > 1 && out[n-2].first == v {
				out = out[:n-1]
			}
			continue
		}
		if n := len(out); n == 0 || out[n-1].first != v {
			out = append(out, step{s, v})
		}
	}
	return out
}

func mergeOrders(a, b []int32) []int32 {
	out := make([]int32, 0, len(a)+len(b))
	out = append(append(out, a...), b...)
	slices.Sort(out)
	return slices.Compact(out)
}

// pnode is a distinct prefix of one family while compiling.
type pnode struct {
	lo, hi u128
	bits   int
	orders []int32
	parent int
}

func compileChain(c *policy.Chain) *cchain {
	cc := &cchain{c: c, rules: make([]crule, len(c.Rules)), defDef: policy.IsDefaultID(c.Default.ID)}
	cb := &chainBuilder{cc: cc, interned: map[string]span{}, reasonIdx: map[string]uint32{}}
	var fam [2][]pnode // IPv4, IPv6
	for i, r := range c.Rules {
		cc.rules[i] = crule{id: r.ID, rule: r, action: r.Action, def: policy.IsDefaultID(r.ID), reason: cb.reason(maybeReason(r))}
		if r.RemoteUnknown != "" && r.UnknownSkipsInternet {
			cc.usesInet = true
		}
		if isGlobal(r) {
			cc.global = append(cc.global, int32(i))
			continue
		}
		for _, p := range r.Remote {
			if !p.IsValid() {
				continue
			}
			lo, hi := prefixRange(p)
			f := 0
			if p.Addr().Is6() {
				f = 1
			}
			fam[f] = append(fam[f], pnode{lo: lo, hi: hi, bits: p.Bits(), orders: []int32{int32(i)}})
		}
	}
	cb.addFn([]uint32{0}, []sval{noMatch}) // offset 0: the constant function
	budget := 1 << 16
	for f := range fam {
		budget += 8 * len(fam[f])
	}
	var starts [2][]u128
	var leaves [2][]int32
	for f := range fam {
		starts[f], leaves[f] = cb.buildFamily(fam[f], f == 0, &budget)
	}
	cc.nodes = make([]cnode, len(cb.nodes))
	for i := range cb.nodes {
		bn := &cb.nodes[i]
		cc.nodes[i] = cnode{fn: cb.fn(bn), cplx: cb.addOrders(bn.cplx), next: bn.next}
	}
	cb.nodes = nil
	cc.skeys = alignedKeys(cc.skeys)
	for f := range fam {
		vals := make([]leafRef, len(leaves[f]))
		for i, n := range leaves[f] {
			vals[i] = cc.leafRef(n)
		}
		if f == 0 {
			s4 := make([]uint32, len(starts[f]))
			for i, s := range starts[f] {
				s4[i] = uint32(s.lo)
			}
			cc.v4 = newIndex4(s4, vals)
		} else {
			cc.v6 = index6[leafRef]{starts: starts[f], vals: vals}
		}
	}
	return cc
}

// alignedKeys returns a copy of k whose first element is 64-byte aligned,
// so the 16-key blocks addFn lays out are cache lines.
func alignedKeys(k []uint32) []uint32 {
	buf := make([]uint32, len(k)+16)
	skip := 0
	if a := uintptr(unsafe.Pointer(&buf[0])) % 64; a != 0 {
		skip = int(64-a) / 4
	}
	out := buf[skip : skip+len(k) : skip+len(k)]
	copy(out, k)
	return out
}

// buildFamily turns the prefixes of one family into nodes and returns the
// elementary intervals (start, deepest node or -1).
func (cb *chainBuilder) buildFamily(items []pnode, v4 bool, budget *int) ([]u128, []int32) {
	sort.Slice(items, func(i, j int) bool {
		a, b := &items[i], &items[j]
		if a.lo != b.lo {
			return a.lo.less(b.lo)
		}
		return a.bits < b.bits
	})
	// One pnode per distinct prefix.
	var ps []pnode
	for _, it := range items {
		if n := len(ps); n > 0 && ps[n-1].lo == it.lo && ps[n-1].bits == it.bits {
			ps[n-1].orders = append(ps[n-1].orders, it.orders...)
			continue
		}
		ps = append(ps, it)
	}
	familyEnd := u128{^uint64(0), ^uint64(0)}
	if v4 {
		familyEnd = u128{0, math.MaxUint32}
	}
	var starts []u128
	var vals []int32
	emit := func(s u128, v int32) {
		if n := len(starts); n > 0 && starts[n-1] == s {
			vals[n-1] = v
			if n > 1 && vals[n-2] == v {
				starts, vals = starts[:n-1], vals[:n-1]
			}
			return
		}
		if n := len(vals); n > 0 && vals[n-1] == v {
			return
		}
		starts, vals = append(starts, s), append(vals, v)
	}
	emit(u128{}, -1)
	base := int32(len(cb.nodes))
	// Sweep: the stack holds the open prefixes, innermost on top; pos is
	// the first address not yet labelled.
	var stack []int
	pos, done := u128{}, false
	closeTop := func() {
		t := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if done {
			return
		}
		if pos.lessEq(ps[t].hi) {
			emit(pos, base+int32(t))
		}
		if ps[t].hi == familyEnd {
			done = true
		} else if pos.lessEq(ps[t].hi) {
			pos, _ = ps[t].hi.inc()
		}
	}
	for i := range ps {
		for len(stack) > 0 && ps[stack[len(stack)-1]].hi.less(ps[i].lo) {
			closeTop()
		}
		parent := -1
		if len(stack) > 0 {
			parent = stack[len(stack)-1]
		}
		if pos.less(ps[i].lo) {
			v := int32(-1)
			if parent >= 0 {
				v = base + int32(parent)
			}
			emit(pos, v)
		}
		pos = ps[i].lo
		emit(pos, base+int32(i))
		ps[i].parent = parent
		stack = append(stack, i)
	}
	for len(stack) > 0 {
		closeTop()
	}
	if !done {
		emit(pos, -1)
	}
	// Nodes, parents first (the sort puts a prefix before those it holds).
	for i := range ps {
		cb.nodes = append(cb.nodes, cb.node(&ps[i], base, budget))
	}
	return starts, vals
}

// reason returns the index of s in cc.reasons, adding it if new.
func (cb *chainBuilder) reason(s string) uint32 {
	if i, ok := cb.reasonIdx[s]; ok {
		return i
	}
	cc := cb.cc
	i := uint32(len(cc.reasons))
	cc.reasons = append(cc.reasons, s)
	cb.reasonIdx[s] = i
	return i
}

// node builds the build-time node of p; its parent's node already exists.
func (cb *chainBuilder) node(p *pnode, base int32, budget *int) bnode {
	cc := cb.cc
	slices.Sort(p.orders)
	p.orders = slices.Compact(p.orders)
	var yes, maybeA, maybeD [][2]uint32
	var yesO, maybeAO, maybeDO []int32
	var own [nLists][]step
	var complex []int32
	for _, o := range p.orders {
		r := cc.c.Rules[o]
		if !inTables(r) {
			complex = append(complex, o)
			continue
		}
		var y, m [][2]uint32
		y, m = keyRanges(r, nil, nil)
		yes = append(yes, y...)
		for range y {
			yesO = append(yesO, o)
		}
		if r.Action == policy.Allow {
			maybeA = append(maybeA, m...)
			for range m {
				maybeAO = append(maybeAO, o)
			}
		} else {
			maybeD = append(maybeD, m...)
			for range m {
				maybeDO = append(maybeDO, o)
			}
		}
	}
	own[lYes], own[lMaybeAllow], own[lMaybeDeny] = paint(yes, yesO), paint(maybeA, maybeAO), paint(maybeD, maybeDO)
	ownN := len(complex)
	for _, st := range own {
		ownN += len(st)
	}
	if ownN == 0 && p.parent >= 0 {
		return cb.nodes[base+int32(p.parent)] // same answers as the enclosing prefix
	}
	var par *bnode
	if p.parent >= 0 {
		par = &cb.nodes[base+int32(p.parent)]
	}
	n := bnode{next: -1}
	if par != nil && par.next < 0 && !splitNodes {
		// Try to make the node complete by merging the parent's lists in.
		var merged [nLists][]step
		cost := 0
		for l := range merged {
			if len(own[l]) > 0 {
				merged[l] = compose(par.l[l], own[l])
				cost += len(merged[l])
			}
		}
		var mc []int32
		if len(complex) > 0 {
			mc = mergeOrders(par.cplx, complex)
			cost += len(mc)
		}
		if free := 4*ownN + 16; cost <= free || cost-free <= *budget {
			if cost > free {
				*budget -= cost - free
			}
			n.l, n.cplx = par.l, par.cplx
			for l := range merged {
				if len(own[l]) > 0 {
					n.l[l] = merged[l]
				}
			}
			if len(complex) > 0 {
				n.cplx = mc
			}
			return n
		}
	}
	if par != nil {
		n.next = base + int32(p.parent)
	}
	n.l, n.cplx = own, complex
	return n
}

// fn interns the step function of bn: its three lists as one function
// whose value at each key is the triple of their values.
func (cb *chainBuilder) fn(bn *bnode) span {
	var keys []uint32
	var vals []sval
	var i [nLists]int
	v := noMatch
	for {
		s := uint32(keySpace) // the next start of any list
		for l := range nLists {
			if i[l] < len(bn.l[l]) {
				s = min(s, bn.l[l][i[l]].start)
			}
		}
		if s == keySpace {
			break
		}
		for l := range nLists {
			if i[l] < len(bn.l[l]) && bn.l[l][i[l]].start == s {
				f := bn.l[l][i[l]].first
				switch l {
				case lYes:
					v.yes = f
				case lMaybeAllow:
					v.mAllow = f
				default:
					v.mDeny = f
				}
				i[l]++
			}
		}
		if n := len(vals); n == 0 && s != 0 { // lists start at 0; be safe
			keys, vals = append(keys, 0), append(vals, noMatch)
		}
		if n := len(vals); n > 0 && vals[n-1] == v {
			continue
		}
		keys, vals = append(keys, s), append(vals, v)
	}
	if len(keys) == 0 {
		return span{0, 1}
	}
	return cb.addFn(keys, vals)
}

// addFn stores a step function once per distinct content.
func (cb *chainBuilder) addFn(keys []uint32, vals []sval) span {
	b := cb.keyBuf[:0]
	for i, k := range keys {
		b = binary.LittleEndian.AppendUint32(b, k)
		b = binary.LittleEndian.AppendUint32(b, uint32(vals[i].yes))
		b = binary.LittleEndian.AppendUint32(b, uint32(vals[i].mAllow))
		b = binary.LittleEndian.AppendUint32(b, uint32(vals[i].mDeny))
	}
	cb.keyBuf = b
	if sp, ok := cb.interned[string(b)]; ok {
		return sp
	}
	cc := cb.cc
	n := len(keys)
	if off := len(cc.skeys); n > 1 && (off%16+n > 16 || n > 16) && off%16 != 0 {
		pad := 16 - off%16 // start a new 64-byte block
		for range pad {
			cc.skeys, cc.svals = append(cc.skeys, 0), append(cc.svals, noMatch)
		}
	}
	sp := span{uint32(len(cc.skeys)), uint32(n)}
	cc.skeys, cc.svals = append(cc.skeys, keys...), append(cc.svals, vals...)
	cb.interned[string(b)] = sp
	return sp
}

func (cb *chainBuilder) addOrders(o []int32) span {
	cc := cb.cc
	off := uint32(len(cc.cplx))
	cc.cplx = append(cc.cplx, o...)
	return span{off, uint32(len(o))}
}

func (cc *cchain) leafRef(n int32) leafRef {
	if n < 0 {
		return noLeaf
	}
	nd := &cc.nodes[n]
	lr := leafRef{nd.fn, n}
	if nd.next < 0 && nd.cplx.n == 0 {
		lr.node = -1 // the step function says it all
	}
	return lr
}

// leaf returns the interval data of the deepest node whose prefix holds a.
// A zoned or invalid address is in no prefix (netip.Prefix.Contains).
func (cc *cchain) leaf(a netip.Addr) leafRef {
	if a.Is4() {
		return cc.v4.find(key4(a))
	}
	if a.Is6() && a.Zone() == "" {
		return cc.v6.find(key6(a))
	}
	return noLeaf
}

// lookup returns the value of step function sp at key k.
func (cc *cchain) lookup(sp span, k uint32) sval {
	if sp.n == 1 {
		return cc.svals[sp.off]
	}
	return cc.svals[int(sp.off)+searchBlock(cc.skeys[sp.off:sp.off+sp.n], k)]
}

// eval is evalInto returning an outcome (tests compare it with EvalChain).
func (cc *cchain) eval(q *policy.Query) outcome {
	var lr LayerResult
	cc.evalInto(q, &lr)
	return outcome{action: lr.Action, id: lr.ID, rule: lr.Rule, reason: lr.Reason}
}

// evalInto sets lr's Action, ID, Rule and Reason: EvalChain's answer.
func (cc *cchain) evalInto(q *policy.Query, lr *LayerResult) {
	cc.evalRef(cc.leaf(q.Remote), q, lr)
}

// evalRef is evalInto given ref = cc.leaf(q.Remote); it reports whether
// lr.ID is a default id (policy.IsDefaultID; false when unknown).
func (cc *cchain) evalRef(ref leafRef, q *policy.Query, lr *LayerResult) bool {
	key := protoKey(q)
	v := cc.lookup(ref.fn, key)
	best, mAllow, mDeny := v.yes, v.mAllow, v.mDeny
	leaf := ref.node
	if leaf >= 0 {
		for n := cc.nodes[leaf].next; n >= 0; n = cc.nodes[n].next {
			v := cc.lookup(cc.nodes[n].fn, key)
			best, mAllow, mDeny = min(best, v.yes), min(mAllow, v.mAllow), min(mDeny, v.mDeny)
		}
	}
	// The lowest-order maybe gives the reason; whether maybes of each
	// action precede the deciding rule settles the chain (EvalChain).
	mFirst := min(mAllow, mDeny)
	mReason := ""
	if mFirst < best {
		mReason = cc.reasons[cc.rules[mFirst].reason]
	}
	if leaf >= 0 || len(cc.global) > 0 {
		consider := func(o int32) { // o < best
			r := cc.rules[o].rule
			m, why := r.Match(q)
			switch m {
			case policy.Yes:
				best = o
			case policy.Maybe:
				if cc.rules[o].action == policy.Allow {
					mAllow = min(mAllow, o)
				} else {
					mDeny = min(mDeny, o)
				}
				if o < mFirst {
					mFirst, mReason = o, why
				}
			}
		}
		for n := leaf; n >= 0; n = cc.nodes[n].next {
			sp := cc.nodes[n].cplx
			for _, o := range cc.cplx[sp.off : sp.off+sp.n] {
				if o >= best {
					break
				}
				consider(o)
			}
		}
		for _, o := range cc.global {
			if o >= best {
				break
			}
			consider(o)
		}
	}
	maybeAllow, maybeDeny := mAllow < best, mDeny < best
	reason := ""
	if mFirst < best {
		reason = mReason
	}
	var a policy.Action
	var id string
	var rule *policy.Rule
	var def bool
	if best != noRule {
		r := &cc.rules[best]
		a, id, rule, def = r.action, r.id, r.rule, r.def
	} else {
		a, id, def = cc.c.Default.Action, cc.c.Default.ID, cc.defDef
		if a == 0 && reason == "" {
			reason = cc.c.Default.Reason
		}
	}
	// settle: an undecidable rule of the other action before the deciding
	// one makes the chain unknown (POLICY.md 4.3).
	if a == 0 || (a == policy.Allow && maybeDeny) || (a == policy.Deny && maybeAllow) {
		lr.Action, lr.ID, lr.Rule, lr.Reason = 0, "", nil, reason
		return false
	}
	lr.Action, lr.ID, lr.Rule, lr.Reason = a, id, rule, ""
	return def
}

// footprint is the size in bytes of the chain's lookup tables (what a
// lookup may touch; the rules themselves are not counted).
func (cc *cchain) footprint() int {
	n := len(cc.v4.starts)*4 + len(cc.v4.vals)*int(unsafe.Sizeof(leafRef{}))
	for _, l := range cc.v4.levels {
		n += len(l) * 4
	}
	n += len(cc.v6.starts)*16 + len(cc.v6.vals)*int(unsafe.Sizeof(leafRef{}))
	n += len(cc.nodes)*int(unsafe.Sizeof(cnode{})) + len(cc.skeys)*4 + len(cc.svals)*int(unsafe.Sizeof(sval{}))
	n += len(cc.cplx)*4 + len(cc.global)*4 + len(cc.rules)*int(unsafe.Sizeof(crule{}))
	return n
}

// footprint is the mean footprint of the compiled chains.
func (c *compiled) footprint() float64 {
	n, k := 0, 0
	for _, l := range c.layers {
		for _, ch := range []*cchain{l.in, l.out} {
			n += ch.footprint()
			k++
		}
	}
	if k == 0 {
		return 0
	}
	return float64(n) / float64(k)
}
