package verdict

import (
	"math"
	"net/netip"
	"sort"

	"github.com/flowsift/flowsift/analyze/policy"
)

// The compiled evaluator answers EvalChain's question without walking
// every rule. Per chain and address family it keeps a binary trie of the
// rules' remote prefixes; a trie node holds the rules whose prefix ends
// there, split into
//
//   - simple rules (protocol, destination ports and the remote prefix are
//     all their conditions): for TCP and UDP a sorted list of elementary port
//     intervals, each with the lowest-order simple rule covering it; for
//     other protocols the lowest-order all-protocol rule;
//   - complex rules (local address, source ports, ICMP type, undecidable
//     parts, specific other protocols), matched with Rule.Match.
//
// Rules whose remote test is more than prefixes (RemoteGlob, RemoteUnknown)
// are matched with Rule.Match for every query. The answer is the lowest
// order among certain matches plus the maybes before it, resolved as in
// EvalChain. Lookups do not allocate.

const noRule = math.MaxInt32

type compiled struct {
	layers []clayer
}

type clayer struct{ in, out *cchain }

type cchain struct {
	c      *policy.Chain
	v4, v6 trie
	global []int32 // rules matched with Rule.Match for every query
}

type trie struct {
	nodes []tnode
	data  []nodeData
}

type tnode struct {
	child [2]int32 // 0 = none (node 0 is the root, never a child)
	data  int32    // index into data, -1 = none
}

type nodeData struct {
	tcp, udp portTable
	// first is the lowest-order simple rule per protocol class for classes
	// without ports (ICMP, ICMPv6, other).
	first [numClasses]int32
	// complex rule orders per protocol class, ascending.
	complex [numClasses][]int32
}

// Protocol classes of the per-node tables.
const (
	classTCP = iota
	classUDP
	classICMP
	classICMP6
	classOther
	numClasses
)

func protoClass(p uint8) int {
	switch p {
	case 6:
		return classTCP
	case 17:
		return classUDP
	case 1:
		return classICMP
	case 58:
		return classICMP6
	}
	return classOther
}

// portTable maps a port to the lowest-order rule covering it.
type portTable struct {
	starts []uint16 // interval i is [starts[i], starts[i+1])
	first  []int32
}

func (p *portTable) lookup(port uint16) int32 {
	s := p.starts
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s[m] <= port {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		return noRule
	}
	return p.first[lo-1]
}

func compile(set *policy.Set) *compiled {
	ls := set.Layers()
	c := &compiled{layers: make([]clayer, len(ls))}
	for i, l := range ls {
		c.layers[i] = clayer{compileChain(&l.In), compileChain(&l.Out)}
	}
	return c
}

func (c *compiled) eval(l *policy.Layer, d policy.Dir, q *policy.Query) outcome {
	if l.Seq >= len(c.layers) {
		return EvalChain(l.Chain(d), q)
	}
	cl := &c.layers[l.Seq]
	ch := cl.in
	if d == policy.Egress {
		ch = cl.out
	}
	if ch.c != l.Chain(d) { // the set changed after compiling
		return EvalChain(l.Chain(d), q)
	}
	return ch.eval(q)
}

func isSimple(r *policy.Rule) bool {
	if r.Unknown != "" || r.Local != nil || len(r.SrcPorts) > 0 {
		return false
	}
	switch r.Proto {
	case -1, 6, 17:
		return true
	case 1, 58:
		return r.ICMPType < 0 && r.ICMPCode < 0
	}
	return false
}

// classesOf lists the protocol classes a rule can match.
func classesOf(r *policy.Rule) []int {
	if r.Proto == -1 {
		return []int{classTCP, classUDP, classICMP, classICMP6, classOther}
	}
	return []int{protoClass(uint8(r.Proto))}
}

func compileChain(c *policy.Chain) *cchain {
	cc := &cchain{c: c}
	type item struct {
		pfx   netip.Prefix
		order int32
	}
	var v4, v6 []item
	for i, r := range c.Rules {
		if len(r.RemoteGlob) > 0 || r.RemoteUnknown != "" {
			cc.global = append(cc.global, int32(i))
			continue
		}
		for _, p := range r.Remote {
			if !p.IsValid() {
				continue
			}
			if p.Addr().Is4() {
				v4 = append(v4, item{p.Masked(), int32(i)})
			} else {
				v6 = append(v6, item{p.Masked(), int32(i)})
			}
		}
	}
	build := func(items []item) trie {
		t := trie{nodes: []tnode{{data: -1}}}
		rulesAt := map[int32][]int32{} // node -> orders
		for _, it := range items {
			n := int32(0)
			a := it.pfx.Addr().As16()
			off := 0
			if it.pfx.Addr().Is4() {
				off = 96
			}
			for d := 0; d < it.pfx.Bits(); d++ {
				bit := (a[(off+d)/8] >> (7 - uint((off+d)%8))) & 1
				if t.nodes[n].child[bit] == 0 {
					t.nodes = append(t.nodes, tnode{data: -1})
					t.nodes[n].child[bit] = int32(len(t.nodes) - 1)
				}
				n = t.nodes[n].child[bit]
			}
			rulesAt[n] = append(rulesAt[n], it.order)
		}
		keys := make([]int32, 0, len(rulesAt))
		for k := range rulesAt {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
		for _, n := range keys {
			orders := rulesAt[n]
			sort.Slice(orders, func(i, j int) bool { return orders[i] < orders[j] })
			orders = dedup(orders)
			nd := nodeData{first: [numClasses]int32{noRule, noRule, noRule, noRule, noRule}}
			var simple []*policy.Rule
			var simpleOrd []int32
			for _, o := range orders {
				r := c.Rules[o]
				if isSimple(r) {
					simple = append(simple, r)
					simpleOrd = append(simpleOrd, o)
					for _, cl := range classesOf(r) {
						if cl >= classICMP && nd.first[cl] == noRule {
							nd.first[cl] = o
						}
					}
				} else {
					for _, cl := range classesOf(r) {
						nd.complex[cl] = append(nd.complex[cl], o)
					}
				}
			}
			nd.tcp = buildPorts(simple, simpleOrd, 6)
			nd.udp = buildPorts(simple, simpleOrd, 17)
			t.nodes[n].data = int32(len(t.data))
			t.data = append(t.data, nd)
		}
		return t
	}
	cc.v4, cc.v6 = build(v4), build(v6)
	return cc
}

func dedup(s []int32) []int32 {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// buildPorts paints elementary port intervals with the lowest-order rule
// (rules arrive in ascending order) using a next-unpainted pointer, so the
// cost stays near-linear in rules plus intervals.
func buildPorts(rules []*policy.Rule, orders []int32, proto int16) portTable {
	var ranges [][2]int // [lo, hi] per applicable rule range
	var owner []int32
	for i, r := range rules {
		if r.Proto != -1 && r.Proto != proto {
			continue
		}
		if r.Proto == -1 || len(r.Ports) == 0 {
			ranges = append(ranges, [2]int{0, 65535})
			owner = append(owner, orders[i])
			continue
		}
		for _, p := range r.Ports {
			ranges = append(ranges, [2]int{int(p.Lo), int(p.Hi)})
			owner = append(owner, orders[i])
		}
	}
	if len(ranges) == 0 {
		return portTable{}
	}
	pts := []int{0}
	for _, r := range ranges {
		pts = append(pts, r[0])
		if r[1] < 65535 {
			pts = append(pts, r[1]+1)
		}
	}
	sort.Ints(pts)
	u := pts[:1]
	for _, p := range pts[1:] {
		if p != u[len(u)-1] {
			u = append(u, p)
		}
	}
	first := make([]int32, len(u))
	for i := range first {
		first[i] = noRule
	}
	next := make([]int, len(u)+1) // DSU: next unpainted interval at or after i
	for i := range next {
		next[i] = i
	}
	var find func(i int) int
	find = func(i int) int {
		for next[i] != i {
			next[i] = next[next[i]]
			i = next[i]
		}
		return i
	}
	idx := func(p int) int { return sort.SearchInts(u, p) }
	for k, r := range ranges {
		lo, hi := idx(r[0]), idx(r[1]+1) // intervals [lo, hi)
		if r[1] == 65535 {
			hi = len(u)
		}
		for i := find(lo); i < hi; i = find(i) {
			first[i] = owner[k]
			next[i] = i + 1
		}
	}
	starts := make([]uint16, len(u))
	for i, p := range u {
		starts[i] = uint16(p)
	}
	// merge neighbours with the same owner
	ms, mf := starts[:1], first[:1]
	for i := 1; i < len(starts); i++ {
		if first[i] != mf[len(mf)-1] {
			ms = append(ms, starts[i])
			mf = append(mf, first[i])
		}
	}
	return portTable{starts: ms, first: mf}
}

type maybeHit struct {
	order  int32
	action policy.Action
	reason string
}

const maxMaybes = 16

func (cc *cchain) eval(q *policy.Query) outcome {
	best := int32(noRule)
	var maybes [maxMaybes]maybeHit
	nm := 0
	overflow := false
	consider := func(o int32) {
		r := cc.c.Rules[o]
		m, why := r.Match(q)
		switch m {
		case policy.Yes:
			if o < best {
				best = o
			}
		case policy.Maybe:
			if nm < maxMaybes {
				maybes[nm] = maybeHit{o, r.Action, why}
				nm++
			} else {
				overflow = true
			}
		}
	}
	for _, o := range cc.global {
		if o >= best {
			break
		}
		consider(o)
	}
	t := &cc.v4
	off := 96
	if !q.Remote.Is4() {
		t, off = &cc.v6, 0
	}
	cl := protoClass(q.Proto)
	if len(t.nodes) > 0 && q.Remote.IsValid() {
		a := q.Remote.As16()
		n := int32(0)
		bits := 128 - off
		for d := 0; ; d++ {
			nd := &t.nodes[n]
			if nd.data >= 0 {
				data := &t.data[nd.data]
				var o int32
				switch cl {
				case classTCP:
					o = data.tcp.lookup(q.DPort)
				case classUDP:
					o = data.udp.lookup(q.DPort)
				default:
					o = data.first[cl]
				}
				if o < best {
					best = o
				}
				for _, co := range data.complex[cl] {
					if co >= best {
						break
					}
					consider(co)
				}
			}
			if d == bits {
				break
			}
			bit := (a[(off+d)/8] >> (7 - uint((off+d)%8))) & 1
			c := nd.child[bit]
			if c == 0 {
				break
			}
			n = c
		}
	}
	if overflow {
		return EvalChain(cc.c, q)
	}
	// Resolve like EvalChain: the maybes before the deciding rule fork.
	var maybeAllow, maybeDeny bool
	reason, firstOrder := "", int32(noRule)
	for i := 0; i < nm; i++ {
		m := &maybes[i]
		if m.order >= best {
			continue
		}
		if m.action == policy.Allow {
			maybeAllow = true
		} else {
			maybeDeny = true
		}
		if m.order < firstOrder {
			firstOrder, reason = m.order, m.reason
		}
	}
	if best != noRule {
		r := cc.c.Rules[best]
		return settle(r.Action, r.ID, r, maybeAllow, maybeDeny, reason)
	}
	if cc.c.Default.Action == 0 {
		if reason == "" {
			reason = cc.c.Default.Reason
		}
		return outcome{reason: reason}
	}
	return settle(cc.c.Default.Action, cc.c.Default.ID, nil, maybeAllow, maybeDeny, reason)
}
