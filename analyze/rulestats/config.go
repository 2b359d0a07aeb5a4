package rulestats

import (
	"net/netip"
	"sort"

	"github.com/flowsift/flowsift/analyze/policy"
)

// Model tells how a chain's rules combine.
type Model string

const (
	// Ordered: first match decides, rules allow or deny (NACLs, Alibaba groups).
	Ordered Model = "ordered"
	// AllowOnly: allow rules whose order only picks the reported id (AWS
	// groups, Elastic Cloud filters, Elasticsearch allow lists).
	AllowOnly Model = "allow-only"
)

// ModelOf returns the combination model of a layer kind.
func ModelOf(k policy.Kind) Model {
	switch k {
	case policy.KindAWSNACL, policy.KindAliNACL, policy.KindAliSG:
		return Ordered
	}
	return AllowOnly
}

// ConfigFinding is a written rule that is shadowed or redundant by
// configuration alone (POLICY.md 9).
type ConfigFinding struct {
	ID   string
	Rule *policy.Rule // one instance of the rule (a group's rule appears once per group combination)
	// Shadowed: ordered models only; the rules before it cover its whole
	// match space in every chain it is in. Covering names them (the first
	// match of each part of the space), Opposite is set when one of them has
	// the other action: the rule was probably meant to come first.
	Shadowed bool
	Opposite bool
	// Redundant: not shadowed, but removing it changes no decision: the
	// rules after it (ordered) or the other allow rules (allow-only) give
	// every packet it decides the same action. Covering names them (default
	// ids when the chain's default decides).
	Redundant bool
	Covering  []string
	Model     Model
	Layers    []string // names of the layers the rule is in
}

type chainState uint8

const (
	stNeeded chainState = iota
	stShadowed
	stRedundant
	stSkip // not decidable exactly
)

// Config finds shadowed and redundant written rules with exact interval
// and prefix set arithmetic over each chain. Rules with an undecidable
// condition (prefix lists without entries, port lists, host-name patterns)
// are never reported; as earlier rules they cover only what they match with
// certainty, as later rules they make a rule not redundant.
func Config(set *policy.Set) []ConfigFinding {
	type acc struct {
		f      ConfigFinding
		states []chainState
		seen   map[string]bool
	}
	byID := map[string]*acc{}
	var order []string
	for _, l := range set.Layers() {
		model := ModelOf(l.Kind)
		for _, c := range []*policy.Chain{&l.In, &l.Out} {
			defs := make([][]Box, len(c.Rules))
			for i, r := range c.Rules {
				defs[i] = definiteBoxes(r)
			}
			for i, r := range c.Rules {
				if !r.Written() {
					continue
				}
				a := byID[r.ID]
				if a == nil {
					a = &acc{f: ConfigFinding{ID: r.ID, Rule: r, Model: model}, seen: map[string]bool{}}
					byID[r.ID] = a
					order = append(order, r.ID)
				}
				a.f.Layers = appendUnique(a.f.Layers, l.Name)
				var st chainState
				var cover []string
				opp := false
				if !exact(r) {
					st = stSkip
				} else if model == Ordered {
					st, cover, opp = orderedState(c, defs, i)
				} else {
					st, cover = allowOnlyState(c, defs, i)
				}
				a.states = append(a.states, st)
				if st == stShadowed || st == stRedundant {
					for _, id := range cover {
						if !a.seen[id] {
							a.seen[id] = true
							a.f.Covering = append(a.f.Covering, id)
						}
					}
					a.f.Opposite = a.f.Opposite || opp
				}
			}
		}
	}
	var out []ConfigFinding
	for _, id := range order {
		a := byID[id]
		all, none := true, true
		for _, s := range a.states {
			if s != stShadowed {
				all = false
			}
			if s == stNeeded || s == stSkip {
				none = false
			}
		}
		switch {
		case all && len(a.states) > 0:
			a.f.Shadowed = true
		case none:
			a.f.Redundant, a.f.Opposite = true, false
		default:
			continue
		}
		out = append(out, a.f)
	}
	return out
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

func orderedState(c *policy.Chain, defs [][]Box, i int) (chainState, []string, bool) {
	r := c.Rules[i]
	var cands []owned
	for j := 0; j < i; j++ {
		for _, b := range defs[j] {
			cands = append(cands, owned{b, j})
		}
	}
	mine := defs[i]
	if len(mine) == 0 {
		return stSkip, nil, false // matches nothing: nothing to say
	}
	owners := map[int]bool{}
	shadowed := true
	for _, b := range mine {
		partition(b, cands, func(_ Box, o int) bool {
			if o < 0 {
				shadowed = false
				return false
			}
			owners[o] = true
			return true
		})
		if !shadowed {
			break
		}
	}
	if shadowed {
		ids, opp := ownerIDs(c, owners, r.Action)
		return stShadowed, ids, opp
	}
	// Redundancy: the rules after i, with undecidable ones at their widest.
	for j := i + 1; j < len(c.Rules); j++ {
		bs := defs[j]
		if !exact(c.Rules[j]) {
			bs = possibleBoxes(c.Rules[j])
		}
		for _, b := range bs {
			cands = append(cands, owned{b, j})
		}
	}
	later := map[int]bool{}
	redundant := true
	for _, b := range mine {
		partition(b, cands, func(_ Box, o int) bool {
			switch {
			case o >= 0 && o < i: // decided before i
				return true
			case o < 0:
				if c.Default.Action != r.Action {
					redundant = false
				}
			case !exact(c.Rules[o]) || c.Rules[o].Action != r.Action:
				redundant = false
			}
			later[o] = true
			return redundant
		})
		if !redundant {
			return stNeeded, nil, false
		}
	}
	ids, _ := ownerIDs(c, later, r.Action)
	return stRedundant, ids, false
}

func allowOnlyState(c *policy.Chain, defs [][]Box, i int) (chainState, []string) {
	r := c.Rules[i]
	if r.Action != policy.Allow || len(defs[i]) == 0 {
		return stSkip, nil
	}
	var cands []owned
	for j, o := range c.Rules {
		if o.Action != policy.Allow {
			if j < i {
				return stSkip, nil // a deny before it: not an allow list
			}
			break
		}
		if j == i {
			continue
		}
		for _, b := range defs[j] {
			cands = append(cands, owned{b, j})
		}
	}
	owners := map[int]bool{}
	for _, b := range defs[i] {
		if !partition(b, cands, func(_ Box, o int) bool {
			owners[o] = true
			return o >= 0
		}) {
			return stNeeded, nil
		}
	}
	ids, _ := ownerIDs(c, owners, r.Action)
	return stRedundant, ids
}

// ownerIDs lists the ids of owners in chain order (-1 = the default) and
// whether one of them has an action other than a.
func ownerIDs(c *policy.Chain, owners map[int]bool, a policy.Action) ([]string, bool) {
	idx := make([]int, 0, len(owners))
	for o := range owners {
		idx = append(idx, o)
	}
	sort.Ints(idx)
	var ids []string
	opp := false
	def := false
	for _, o := range idx {
		if o < 0 {
			def = true
			continue
		}
		ids = appendUnique(ids, c.Rules[o].ID)
		if c.Rules[o].Action != a {
			opp = true
		}
	}
	if def {
		ids = append(ids, c.Default.ID)
		if c.Default.Action != a {
			opp = true
		}
	}
	return ids, opp
}

// DeniedPorts checks that chain c allows, with certainty, every packet of
// protocol proto to a destination port in [lo, hi] whose remote address is
// inside remote and outside skip (addresses for which the layer is not
// crossed). It returns the merged port ranges some packet of which is not
// allowed and the ids that decide those packets (the default id when no
// rule matches; an undecidable rule counts as not allowing).
func DeniedPorts(c *policy.Chain, proto uint8, remote, skip []netip.Prefix, lo, hi uint16) ([]policy.PortRange, []string) {
	var cands []owned
	for _, p := range skip {
		for _, b := range ruleBoxes(&policy.Rule{Proto: -1, ICMPType: -1, ICMPCode: -1}, []netip.Prefix{p}, false) {
			cands = append(cands, owned{b, -2})
		}
	}
	for j, r := range c.Rules {
		bs := definiteBoxes(r)
		if !exact(r) {
			bs = possibleBoxes(r)
		}
		for _, b := range bs {
			cands = append(cands, owned{b, j})
		}
	}
	probe := policy.Rule{Proto: int16(proto), Ports: []policy.PortRange{{Lo: lo, Hi: hi}}, ICMPType: -1, ICMPCode: -1}
	var bad []ival
	owners := map[int]bool{}
	for _, b := range ruleBoxes(&probe, remote, false) {
		partition(b, cands, func(cell Box, o int) bool {
			switch {
			case o == -2:
				return true
			case o == -1:
				if c.Default.Action == policy.Allow {
					return true
				}
			case exact(c.Rules[o]) && c.Rules[o].Action == policy.Allow:
				return true
			}
			owners[o] = true
			bad = append(bad, cell.d[dPort])
			return true
		})
	}
	if len(bad) == 0 {
		return nil, nil
	}
	sort.Slice(bad, func(i, j int) bool { return bad[i].lo.less(bad[j].lo) })
	var out []policy.PortRange
	for _, iv := range bad {
		l, h := uint16(iv.lo.lo), uint16(iv.hi.lo)
		if n := len(out); n > 0 && int(l) <= int(out[n-1].Hi)+1 {
			if h > out[n-1].Hi {
				out[n-1].Hi = h
			}
			continue
		}
		out = append(out, policy.PortRange{Lo: l, Hi: h})
	}
	ids, _ := ownerIDs(c, owners, policy.Allow)
	return out, ids
}
