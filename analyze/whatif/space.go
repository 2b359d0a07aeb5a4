package whatif

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/analyze/rulestats"
)

// The allowed space of a scope is a union of disjoint boxes over protocol ×
// destination port × source port × ICMP type × ICMP code × remote address ×
// local address (per family), for new connections (box arithmetic:
// analyze/rulestats). Chains are evaluated over whole regions (first match,
// as analyze/rulestats does for shadowing), so the difference is exact for
// rules without undecidable conditions; a rule with one counts only for what
// it matches with certainty (its listed prefixes), and a layer skipped for
// local remotes (AWS NACLs within a subnet) is taken as crossed.

// maxCells bounds the work per chain; past it the space is reported as
// not computed.
const maxCells = 20000

// ScopeSpace is the allowed-space difference of one scope and direction.
type ScopeSpace struct {
	Scope string `json:"scope"`
	Dir   string `json:"dir"`
	// NewlyAllowed / NewlyDenied describe boxes ("tcp 22 from
	// 198.51.100.0/24"); Truncated when more than the limit.
	NewlyAllowed []string `json:"newly_allowed"`
	NewlyDenied  []string `json:"newly_denied"`
	Truncated    bool     `json:"truncated,omitempty"`
	Note         string   `json:"note,omitempty"`
}

type scopeLayers struct {
	id     string
	layers []*policy.Layer
	// portsOf restricts a layer to a destination port range (node filters).
	ports []policy.PortRange
	// local: remotes for which SkipLocal layers are not crossed.
	local []netip.Prefix
}

func scopesOf(set *policy.Set) map[string]scopeLayers {
	m := map[string]scopeLayers{}
	for _, ifc := range set.Interfaces {
		m["interface "+ifc.ID] = scopeLayers{id: ifc.ID, layers: ifc.Layers, local: ifc.Local}
	}
	for _, d := range set.Deployments {
		if d.Layer != nil {
			m["deployment "+d.ID] = scopeLayers{id: d.ID, layers: []*policy.Layer{d.Layer}}
		}
	}
	for _, n := range set.Nodes {
		sl := scopeLayers{id: n.Name}
		for _, f := range n.Filters {
			sl.layers = append(sl.layers, f.Layer)
			sl.ports = append(sl.ports, f.Ports)
		}
		m["node "+n.Name] = sl
	}
	return m
}

// scopeAllowed is the space a scope admits for new connections in dir.
func scopeAllowed(sl scopeLayers, dir policy.Dir) ([]rulestats.Box, bool) {
	base := rulestats.Everything()
	if sl.ports != nil {
		// Elasticsearch node: each filter governs its ports, first filter
		// wins (selection order); ports no filter governs are not covered.
		var out []rulestats.Box
		var taken []rulestats.Box
		for i, l := range sl.layers {
			var region []rulestats.Box
			for _, fb := range base {
				region = append(region, fb.WithPorts(sl.ports[i].Lo, sl.ports[i].Hi))
			}
			region = rulestats.Subtract(region, taken, maxCells)
			a, ok := rulestats.Allowed(l.Chain(dir), region, maxCells)
			if !ok {
				return nil, false
			}
			out = append(out, a...)
			taken = append(taken, region...)
		}
		return out, true
	}
	// Remotes inside the interface's local prefixes bypass SkipLocal
	// layers (AWS NACLs within a subnet).
	var local []rulestats.Box
	for _, p := range sl.local {
		if !p.IsValid() {
			continue
		}
		local = append(local, rulestats.RemoteIn(p))
	}
	cur := base
	for _, l := range sl.layers {
		in := cur
		var bypass []rulestats.Box
		if l.SkipLocal && len(local) > 0 {
			outside := rulestats.Subtract(cur, local, maxCells)
			bypass = rulestats.Subtract(cur, outside, maxCells) // cur ∩ local
			in = outside
		}
		a, ok := rulestats.Allowed(l.Chain(dir), in, maxCells)
		if !ok {
			return nil, false
		}
		cur = append(a, bypass...)
	}
	return cur, true
}

// SpaceDiff compares the allowed space of every scope present in both sets
// (and of scopes present in one only), listing at most limit boxes per side.
func SpaceDiff(before, after *policy.Set, limit int) []ScopeSpace {
	bs, as := scopesOf(before), scopesOf(after)
	var names []string
	for n := range bs {
		names = append(names, n)
	}
	for n := range as {
		if _, ok := bs[n]; !ok {
			names = append(names, n)
		}
	}
	sortStrings(names)
	var out []ScopeSpace
	// Scopes with the very same layers (and local prefixes, and ports)
	// have the same difference: interfaces sharing their security groups
	// and ACL are computed once.
	memo := map[string][]ScopeSpace{}
	sigs := map[*policy.Layer]string{}
	sig := func(l *policy.Layer) string {
		s, ok := sigs[l]
		if !ok {
			s = chainSig(l)
			sigs[l] = s
		}
		return s
	}
	for _, n := range names {
		b, hasB := bs[n]
		a, hasA := as[n]
		if hasB && hasA && sameLayers(b, a, sig) {
			continue
		}
		key := b.key(hasB) + "|" + a.key(hasA)
		diff, ok := memo[key]
		if !ok {
			diff = scopeDiff(b, hasB, a, hasA, limit)
			memo[key] = diff
		}
		for _, ss := range diff {
			ss.Scope = n
			out = append(out, ss)
		}
	}
	return out
}

// key identifies what the space of a scope depends on: its layers (by
// identity), their ports and the local prefixes.
func (sl scopeLayers) key(present bool) string {
	if !present {
		return "-"
	}
	var b strings.Builder
	for _, l := range sl.layers {
		fmt.Fprintf(&b, "%p,", l)
	}
	fmt.Fprintf(&b, " %v %v", sl.ports, sl.local)
	return b.String()
}

// scopeDiff is the difference of one scope per direction (Scope unset).
func scopeDiff(b scopeLayers, hasB bool, a scopeLayers, hasA bool, limit int) []ScopeSpace {
	var out []ScopeSpace
	for _, dir := range []policy.Dir{policy.Ingress, policy.Egress} {
		ss := ScopeSpace{Dir: dir.String()}
		var sb, sa []rulestats.Box
		okB, okA := true, true
		if hasB {
			sb, okB = scopeAllowed(b, dir)
		}
		if hasA {
			sa, okA = scopeAllowed(a, dir)
		}
		if !okB || !okA {
			ss.Note = "too many distinct regions; not computed"
			out = append(out, ss)
			continue
		}
		plus, minus := rulestats.Merge(rulestats.Subtract(sa, sb, maxCells)), rulestats.Merge(rulestats.Subtract(sb, sa, maxCells))
		if len(plus) == 0 && len(minus) == 0 {
			continue
		}
		ss.NewlyAllowed, ss.Truncated = describeBoxes(plus, limit)
		var t bool
		ss.NewlyDenied, t = describeBoxes(minus, limit)
		ss.Truncated = ss.Truncated || t
		if !hasB {
			ss.Note = "scope only in the proposed policy"
		}
		if !hasA {
			ss.Note = "scope only in the current policy"
		}
		out = append(out, ss)
	}
	return out
}

// sameLayers: the scope has the very same chains on both sides (layers are
// compared by content signature, sig: chainSig, remembered per layer).
func sameLayers(b, a scopeLayers, sig func(*policy.Layer) string) bool {
	if len(b.layers) != len(a.layers) || len(b.ports) != len(a.ports) {
		return false
	}
	for i := range b.layers {
		if i < len(b.ports) && b.ports[i] != a.ports[i] {
			return false
		}
		if sig(b.layers[i]) != sig(a.layers[i]) {
			return false
		}
	}
	return true
}

func chainSig(l *policy.Layer) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d|", l.Kind)
	for _, c := range []*policy.Chain{&l.In, &l.Out} {
		for _, r := range c.Rules {
			sb.WriteString(signature(r))
			sb.WriteByte(';')
		}
		fmt.Fprintf(&sb, "%v#", c.Default)
	}
	return sb.String()
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func describeBoxes(bs []rulestats.Box, limit int) ([]string, bool) {
	out := []string{}
	for i, b := range bs {
		if i == limit {
			return out, true
		}
		out = append(out, b.String())
	}
	return out, false
}
