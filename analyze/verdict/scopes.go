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

// scopeIndex finds the Elastic deployments and Elasticsearch nodes whose
// addresses hold an address without scanning every scope: the compiled
// engine's replacement for the linear walks of Engine.deployments and
// Engine.nodes (same order, same results).
type scopeIndex struct {
	deps  addrSets // deployment indexes by address
	nodes addrSets // node indexes by address (nodes with addresses)
	// anyNode lists the nodes without addresses (they cover every dst).
	anyNode []int32
}

// addrSets maps an address to the ascending indexes of the scopes whose
// prefixes hold it. Prefixes may overlap arbitrarily.
type addrSets struct {
	empty bool // no scope has a prefix: every lookup is empty
	v4    index4[int32]
	v6    index6[int32]
	lists [][]int32 // vals of v4/v6 index lists; list 0 is empty
}

func (s *addrSets) lookup(a netip.Addr) []int32 {
	switch {
	case s.empty:
		return nil
	case a.Is4():
		return s.lists[s.v4.find(key4(a))]
	case a.Is6() && a.Zone() == "":
		return s.lists[s.v6.find(key6(a))]
	}
	return nil
}

func newScopeIndex(set *policy.Set) *scopeIndex {
	x := &scopeIndex{}
	deps := make([][]netip.Prefix, len(set.Deployments))
	for i, d := range set.Deployments {
		deps[i] = d.Addrs
	}
	x.deps = newAddrSets(deps)
	nodes := make([][]netip.Prefix, len(set.Nodes))
	for i, n := range set.Nodes {
		if len(n.Addrs) == 0 {
			x.anyNode = append(x.anyNode, int32(i))
		}
		nodes[i] = n.Addrs
	}
	x.nodes = newAddrSets(nodes)
	return x
}

func newAddrSets(scopes [][]netip.Prefix) addrSets {
	s := addrSets{lists: [][]int32{nil}, empty: true}
	for _, ps := range scopes {
		for _, p := range ps {
			if p.IsValid() {
				s.empty = false
			}
		}
	}
	ids := map[string]int32{"": 0}
	listID := func(l []int32) int32 {
		k := make([]byte, 0, 4*len(l))
		for _, v := range l {
			k = append(k, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
		}
		if id, ok := ids[string(k)]; ok {
			return id
		}
		id := int32(len(s.lists))
		ids[string(k)] = id
		s.lists = append(s.lists, slices.Clone(l))
		return id
	}
	for f := 0; f < 2; f++ {
		type ev struct {
			at    u128
			end   bool // at is one past the prefix
			scope int32
		}
		var evs []ev
		for i, ps := range scopes {
			for _, p := range ps {
				if !p.IsValid() || p.Addr().Is4() != (f == 0) {
					continue
				}
				lo, hi := prefixRange(p)
				evs = append(evs, ev{lo, false, int32(i)})
				if f == 0 && hi.lo == math.MaxUint32 {
					continue // runs to the end of the family
				}
				if next, over := hi.inc(); !over {
					evs = append(evs, ev{next, true, int32(i)})
				}
			}
		}
		sort.Slice(evs, func(i, j int) bool { return evs[i].at.less(evs[j].at) })
		count := make(map[int32]int) // scope -> prefixes of it covering the current point
		starts, vals := []u128{{}}, []int32{0}
		for i := 0; i < len(evs); {
			at := evs[i].at
			for ; i < len(evs) && evs[i].at == at; i++ {
				if evs[i].end {
					if count[evs[i].scope]--; count[evs[i].scope] == 0 {
						delete(count, evs[i].scope)
					}
				} else {
					count[evs[i].scope]++
				}
			}
			active := make([]int32, 0, len(count))
			for sc := range count {
				active = append(active, sc)
			}
			slices.Sort(active)
			v := listID(active)
			if starts[len(starts)-1] == at {
				vals[len(vals)-1] = v
			} else if vals[len(vals)-1] != v {
				starts, vals = append(starts, at), append(vals, v)
			}
		}
		if f == 0 {
			s4 := make([]uint32, len(starts))
			for i, st := range starts {
				s4[i] = uint32(st.lo)
			}
			s.v4 = newIndex4(s4, vals)
		} else {
			s.v6 = index6[int32]{starts: starts, vals: vals}
		}
	}
	return s
}

// deploymentsIndexed is Engine.deployments over the index: the deployments
// holding dst (ingress) or else src (egress), in set order.
func (e *Engine) deploymentsIndexed(fx *recFacts, q *policy.Query, res *Result) {
	x := e.comp.scopes
	if x.deps.empty {
		return // no deployment has an address
	}
	in, out := x.deps.lookup(fx.dst), x.deps.lookup(fx.src)
	for len(in) > 0 || len(out) > 0 {
		var i int32
		ingress := false
		switch {
		case len(out) == 0 || (len(in) > 0 && in[0] <= out[0]):
			i, ingress = in[0], true
			if len(out) > 0 && out[0] == i {
				out = out[1:]
			}
			in = in[1:]
		default:
			i, out = out[0], out[1:]
		}
		dep := e.set.Deployments[i]
		if dep.Layer == nil {
			continue
		}
		if ingress {
			inet := fx.remote(q, false, !res.Reply)
			res.Covered = true
			if !res.Reply {
				res.Inbound, res.Internet = true, inet
			}
			e.addLayer(dep.Layer, e.comp.chain(dep.Layer, policy.Ingress), nil, dep.ID, policy.Ingress, fx, q, res)
		} else {
			fx.remote(q, true, false)
			res.Covered = true
			e.addLayer(dep.Layer, e.comp.chain(dep.Layer, policy.Egress), nil, dep.ID, policy.Egress, fx, q, res)
		}
	}
}

// nodesIndexed is Engine.nodes over the index: the nodes holding dst and
// those without addresses, in set order.
func (e *Engine) nodesIndexed(fx *recFacts, q *policy.Query, res *Result) {
	x := e.comp.scopes
	if x.nodes.empty && len(x.anyNode) == 0 {
		return
	}
	a, b := x.nodes.lookup(fx.dst), x.anyNode
	for len(a) > 0 || len(b) > 0 {
		var i int32
		if len(b) == 0 || (len(a) > 0 && a[0] < b[0]) {
			i, a = a[0], a[1:]
		} else {
			i, b = b[0], b[1:]
		}
		n := e.set.Nodes[i]
		for _, f := range n.Filters {
			if !f.Ports.Contains(q.DPort) {
				continue
			}
			inet := fx.remote(q, false, !res.Reply)
			res.Covered = true
			if !res.Reply {
				res.Inbound, res.Internet = true, inet
			}
			e.addLayer(f.Layer, e.comp.chain(f.Layer, policy.Ingress), nil, n.Name, policy.Ingress, fx, q, res)
			break
		}
	}
}

// Interfaces. The compiled engine resolves a record's interface to a
// cifc, whose joint index answers, for the remote address, every question
// the interface path asks of it with one search: whether it is unfiltered
// (Interface.IsUnfiltered), whether SkipLocal layers are skipped
// (Interface.InLocal), and the leafRef of each layer's chain in that
// direction (cchain.leaf). The NACL and security group chains of an
// interface then do not each search the address in their own index.

// cifc is the compiled form of one interface.
type cifc struct {
	ifc   *policy.Interface
	joint [2]*jointIndex // by policy.Dir; nil: no joint index (budget)
}

// jointIndex is the union of the elementary intervals of an interface's
// layer chains (one direction) and of its Local and Unfiltered prefixes.
// Interval i has flags[i] and refs[i*len(chains):][:len(chains)].
type jointIndex struct {
	chains []*cchain // per layer; nil: not compiled (compiled.eval decides)
	v4     index4[struct{}]
	v6     index6[struct{}]
	v4refs []leafRef
	v6refs []leafRef
	v4fl   []uint8
	v6fl   []uint8
	// inet: the flags hold jInternet (the bounds of the set's internal
	// prefixes are among the starts); false when that would exceed the
	// budget, and the internet test is then Set.IsInternet's.
	inet bool
}

const (
	jUnfiltered = 1 << iota // Interface.IsUnfiltered
	jLocal                  // Interface.InLocal
	jInternet               // Set.IsInternet (when jointIndex.inet)
)

// row returns the flags and per-layer leafRefs of remote address a, which
// must be valid and unzoned.
func (j *jointIndex) row(a netip.Addr) (uint8, []leafRef) {
	n := len(j.chains)
	if a.Is4() {
		i := j.v4.pos(key4(a))
		return j.v4fl[i], j.v4refs[i*n : i*n+n]
	}
	i := j.v6.pos(key6(a))
	return j.v6fl[i], j.v6refs[i*n : i*n+n]
}

// ifaceIndex resolves records to compiled interfaces the way
// Set.InterfaceByID and Set.InterfaceByAddr do (later scopes win a
// duplicate id or address, as in Set.Index).
type ifaceIndex struct {
	ifcs   []cifc
	byID   map[string]*cifc
	byAddr map[netip.Addr]*cifc
}

func newIfaceIndex(c *compiled, set *policy.Set) ifaceIndex {
	x := ifaceIndex{ifcs: make([]cifc, len(set.Interfaces)), byID: map[string]*cifc{}, byAddr: map[netip.Addr]*cifc{}}
	// Joint indexes are shared by interfaces with the same layers and
	// prefixes (interfaces of one subnet and security group), and their
	// total size is bounded by a multiple of the chains' own: past it an
	// interface searches each chain itself.
	shared := map[string]*jointIndex{}
	internal := set.InternalPrefixes()
	if noJointInet {
		internal = nil
	}
	budget := 1 << 20
	for _, l := range c.layers {
		budget += 2 * (len(l.in.v4.starts) + len(l.in.v6.starts) + len(l.out.v4.starts) + len(l.out.v6.starts))
	}
	for i, ifc := range set.Interfaces {
		ci := &x.ifcs[i]
		ci.ifc = ifc
		for d := policy.Ingress; d <= policy.Egress; d++ {
			k := jointKey(ifc, d)
			if j, ok := shared[k]; ok {
				ci.joint[d] = j
				continue
			}
			// With the internet flag if it fits, else without.
			j := newJointIndex(c, set, ifc, d, internal, &budget)
			if j == nil {
				j = newJointIndex(c, set, ifc, d, nil, &budget)
			}
			shared[k] = j
			ci.joint[d] = j
		}
		x.byID[ifc.ID] = ci
		for _, a := range ifc.Addrs {
			x.byAddr[a] = ci
		}
	}
	return x
}

// jointKey identifies what a joint index depends on.
func jointKey(ifc *policy.Interface, d policy.Dir) string {
	b := []byte{byte(d)}
	for _, l := range ifc.Layers {
		b = binary.LittleEndian.AppendUint64(b, uint64(uintptr(unsafe.Pointer(l))))
	}
	for _, ps := range [][]netip.Prefix{ifc.Local, ifc.Unfiltered} {
		b = append(b, '|')
		for _, p := range ps {
			b, _ = p.AppendBinary(b)
			b = append(b, ',')
		}
	}
	return string(b)
}

// noJoint, set by tests, builds no joint index (the path an interface
// takes past the budget).
var noJoint bool

// noJointInet, set by tests, builds joint indexes without the internet
// flag (the path an interface takes when the flag exceeds the budget).
var noJointInet bool

// newJointIndex builds the joint index of ifc in direction d, or returns
// nil when it would exceed the budget. With internal (set's
// InternalPrefixes; the same for every interface of the set) it also
// holds the internet flag.
func newJointIndex(c *compiled, set *policy.Set, ifc *policy.Interface, d policy.Dir, internal []netip.Prefix, budget *int) *jointIndex {
	if noJoint {
		return nil
	}
	j := &jointIndex{chains: make([]*cchain, len(ifc.Layers)), inet: internal != nil}
	for i, l := range ifc.Layers {
		if l != nil {
			j.chains[i] = c.chain(l, d)
		}
	}
	// Every function of the remote address the row holds is constant
	// between consecutive points of its own; the union of the points cuts
	// the space into intervals where all of them are.
	var pts [2][]u128
	for _, ch := range j.chains {
		if ch == nil {
			continue
		}
		for _, s := range ch.v4.starts {
			pts[0] = append(pts[0], u128{0, uint64(s)})
		}
		pts[1] = append(pts[1], ch.v6.starts...)
	}
	for _, ps := range [][]netip.Prefix{ifc.Local, ifc.Unfiltered, internal} {
		for _, p := range ps {
			if !p.IsValid() {
				continue
			}
			f := 0
			if !p.Addr().Is4() {
				f = 1
			}
			lo, hi := prefixRange(p)
			pts[f] = append(pts[f], lo)
			if next, over := hi.inc(); !over && (f == 1 || next.lo <= math.MaxUint32) {
				pts[f] = append(pts[f], next)
			}
		}
	}
	n := len(j.chains)
	for f := range pts {
		pts[f] = append(pts[f], u128{})
		slices.SortFunc(pts[f], func(a, b u128) int {
			switch {
			case a.less(b):
				return -1
			case b.less(a):
				return 1
			}
			return 0
		})
		pts[f] = slices.Compact(pts[f])
		*budget -= len(pts[f]) * (n + 1)
	}
	if *budget < 0 {
		for f := range pts {
			*budget += len(pts[f]) * (n + 1)
		}
		return nil
	}
	for f := range pts {
		var starts []u128
		var refs []leafRef
		var fl []uint8
		for _, p := range pts[f] {
			var a netip.Addr
			if f == 0 {
				a = netip.AddrFrom4([4]byte{byte(p.lo >> 24), byte(p.lo >> 16), byte(p.lo >> 8), byte(p.lo)})
			} else {
				var b [16]byte
				binary.BigEndian.PutUint64(b[:8], p.hi)
				binary.BigEndian.PutUint64(b[8:], p.lo)
				a = netip.AddrFrom16(b)
			}
			var flag uint8
			if ifc.IsUnfiltered(a) {
				flag |= jUnfiltered
			}
			if ifc.InLocal(a) {
				flag |= jLocal
			}
			if j.inet && set.IsInternet(a) {
				flag |= jInternet
			}
			row := make([]leafRef, n)
			for i, ch := range j.chains {
				if ch != nil {
					row[i] = ch.leaf(a)
				}
			}
			if k := len(fl); k > 0 && fl[k-1] == flag && slices.Equal(refs[(k-1)*n:], row) {
				continue // same row as the interval before
			}
			starts, refs, fl = append(starts, p), append(refs, row...), append(fl, flag)
		}
		if f == 0 {
			s4 := make([]uint32, len(starts))
			for i, s := range starts {
				s4[i] = uint32(s.lo)
			}
			j.v4, j.v4refs, j.v4fl = newIndex4(s4, make([]struct{}, len(s4))), refs, fl
		} else {
			j.v6, j.v6refs, j.v6fl = index6[struct{}]{starts: starts, vals: make([]struct{}, len(starts))}, refs, fl
		}
	}
	return j
}
