package verdict

import (
	"math"
	"net/netip"
	"slices"
	"sort"

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
func (e *Engine) deploymentsIndexed(src, dst netip.Addr, q *policy.Query, res *Result) {
	x := e.comp.scopes
	if x.deps.empty {
		return // no deployment has an address
	}
	in, out := x.deps.lookup(dst), x.deps.lookup(src)
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
			q.Remote, q.Local = src, dst
			q.RemoteInternet = e.set.IsInternet(src)
			res.Covered = true
			if !res.Reply {
				res.Inbound, res.Internet = true, q.RemoteInternet
			}
			e.layer(dep.Layer, dep.ID, policy.Ingress, q, res)
		} else {
			q.Remote, q.Local = dst, src
			q.RemoteInternet = e.set.IsInternet(dst)
			res.Covered = true
			e.layer(dep.Layer, dep.ID, policy.Egress, q, res)
		}
	}
}

// nodesIndexed is Engine.nodes over the index: the nodes holding dst and
// those without addresses, in set order.
func (e *Engine) nodesIndexed(src, dst netip.Addr, q *policy.Query, res *Result) {
	x := e.comp.scopes
	if x.nodes.empty && len(x.anyNode) == 0 {
		return
	}
	a, b := x.nodes.lookup(dst), x.anyNode
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
