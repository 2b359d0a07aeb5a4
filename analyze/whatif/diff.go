package whatif

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/analyze/verdict"
)

// Status is what happened to a rule or binding between the two sets.
type Status string

const (
	Added    Status = "added"
	Removed  Status = "removed"
	Modified Status = "modified"
	Binding  Status = "binding" // an association, group list or order change
)

// DiffEntry is one change of the rule-level diff (POLICY.md 10).
type DiffEntry struct {
	ID     string `json:"id"` // rule id, or binding id (association:<set>->deployment:<id>, …)
	Status Status `json:"status"`
	Kind   string `json:"kind"`  // layer kind
	Scope  string `json:"scope"` // group, ACL, rule set, interface, deployment, node
	Dir    string `json:"dir,omitempty"`
	Before string `json:"before,omitempty"` // rule text before ("" when added)
	After  string `json:"after,omitempty"`  // rule text after ("" when removed)
	// Observation: flows (deduplicated rows' record counts) whose deciding
	// rules include the id under the current / proposed set, and flows whose
	// verdict change is attributed to this entry.
	HitsBefore int64 `json:"hits_before"`
	HitsAfter  int64 `json:"hits_after"`
	Changed    int64 `json:"changed_flows"`
	// Observed is false when no observed flow touches the change: nothing
	// matched the rule on either side and no change is attributed to it.
	Observed bool `json:"observed"`
	// Safe: a removed or modified rule that no observed flow matched before
	// and no flow matches after.
	Safe bool `json:"safe"`

	idx int // position in Diff.Entries (a Builder counts by it)
}

// Diff pairs the rules of two sets by identity (policy.Rule.Identity, else
// the id) and lists bindings that changed.
type Diff struct {
	Entries []*DiffEntry

	byID map[string]*DiffEntry
	// status of each rule object of either set (by pointer): Added/Modified
	// for rules of the proposed set, Removed/Modified for the current set.
	before, after map[*policy.Rule]Status
	// binding changes by scope (interface, deployment, node id).
	bindings map[string][]*DiffEntry
}

func pairKey(r *policy.Rule) string {
	if r.Identity != "" {
		return r.Identity
	}
	return r.ID
}

// signature is the matching content of a rule; two rules with the same key
// and signature decide the same packets the same way.
func signature(r *policy.Rule) string {
	return fmt.Sprintf("%v|%d|%v|%v|%d|%d|%v|%v|%s|%v|%v|%s|%d", r.Action, r.Proto, r.Ports, r.SrcPorts, r.ICMPType, r.ICMPCode,
		r.Remote, r.RemoteGlob, r.RemoteUnknown, r.UnknownSkipsInternet, r.Local, r.Unknown, r.Priority)
}

type ruleInfo struct {
	rule  *policy.Rule
	sig   string
	all   []*policy.Rule // every object with this key (a group's rule per ENI layer)
	layer *policy.Layer
}

func collect(set *policy.Set) (map[string]*ruleInfo, []string) {
	m := map[string]*ruleInfo{}
	var order []string
	for _, l := range set.Layers() {
		for _, c := range []*policy.Chain{&l.In, &l.Out} {
			for _, r := range c.Rules {
				if !r.Written() {
					continue
				}
				k := pairKey(r)
				if ri := m[k]; ri != nil {
					ri.all = append(ri.all, r)
					continue
				}
				m[k] = &ruleInfo{rule: r, sig: signature(r), all: []*policy.Rule{r}, layer: l}
				order = append(order, k)
			}
		}
	}
	return m, order
}

// NewDiff compares two sets.
func NewDiff(before, after *policy.Set) *Diff {
	d := &Diff{byID: map[string]*DiffEntry{}, before: map[*policy.Rule]Status{}, after: map[*policy.Rule]Status{},
		bindings: map[string][]*DiffEntry{}}
	bm, border := collect(before)
	am, aorder := collect(after)
	add := func(e *DiffEntry) *DiffEntry {
		if old := d.byID[e.ID]; old != nil {
			// A rule removed and one added under the same id (an AWS
			// permission whose peers changed): one modification.
			if old.Status == Removed && e.Status == Added {
				old.Status, old.After = Modified, e.After
				return old
			}
			if old.Status == Added && e.Status == Removed {
				old.Status, old.Before = Modified, e.Before
				return old
			}
			return old
		}
		d.byID[e.ID] = e
		e.idx = len(d.Entries)
		d.Entries = append(d.Entries, e)
		return e
	}
	for _, k := range border {
		b := bm[k]
		a := am[k]
		switch {
		case a == nil:
			for _, r := range b.all {
				d.before[r] = Removed
			}
			add(&DiffEntry{ID: b.rule.ID, Status: Removed, Kind: b.rule.Kind.String(), Scope: b.rule.Scope, Dir: b.rule.Dir.String(), Before: b.rule.Text})
		case a.sig != b.sig:
			for _, r := range b.all {
				d.before[r] = Modified
			}
			for _, r := range a.all {
				d.after[r] = Modified
			}
			add(&DiffEntry{ID: a.rule.ID, Status: Modified, Kind: a.rule.Kind.String(), Scope: a.rule.Scope, Dir: a.rule.Dir.String(),
				Before: b.rule.Text, After: a.rule.Text})
		}
	}
	for _, k := range aorder {
		if bm[k] != nil {
			continue
		}
		a := am[k]
		for _, r := range a.all {
			d.after[r] = Added
		}
		add(&DiffEntry{ID: a.rule.ID, Status: Added, Kind: a.rule.Kind.String(), Scope: a.rule.Scope, Dir: a.rule.Dir.String(), After: a.rule.Text})
	}
	d.diffBindings(before, after, bm, am)
	return d
}

func (d *Diff) binding(scope, id, kind, before, after string) {
	e := d.byID[id]
	if e == nil {
		e = &DiffEntry{ID: id, Status: Binding, Kind: kind, Scope: scope, Before: before, After: after, idx: len(d.Entries)}
		d.byID[id] = e
		d.Entries = append(d.Entries, e)
	}
	d.bindings[scope] = append(d.bindings[scope], e)
}

func layerOf(ls []*policy.Layer, k policy.Kind) *policy.Layer {
	for _, l := range ls {
		if l.Kind == k {
			return l
		}
	}
	return nil
}

// rulesetsOf lists the rule sets whose rules a deployment chain holds, and
// its default.
func rulesetsOf(c *policy.Chain) []string {
	var out []string
	for _, r := range c.Rules {
		if !slices.Contains(out, r.Scope) {
			out = append(out, r.Scope)
		}
	}
	sort.Strings(out)
	return out
}

func (d *Diff) diffBindings(before, after *policy.Set, bm, am map[string]*ruleInfo) {
	bIf := map[string]*policy.Interface{}
	for _, i := range before.Interfaces {
		bIf[i.ID] = i
	}
	seen := map[string]bool{}
	for _, ai := range after.Interfaces {
		seen[ai.ID] = true
		bi := bIf[ai.ID]
		if bi == nil {
			d.binding(ai.ID, "interface:"+ai.ID, ai.Provider, "", "described")
			continue
		}
		for _, k := range []policy.Kind{policy.KindAWSNACL, policy.KindAliNACL} {
			lb, la := layerOf(bi.Layers, k), layerOf(ai.Layers, k)
			nb, na := "", ""
			if lb != nil {
				nb = lb.Name
			}
			if la != nil {
				na = la.Name
			}
			if nb != na {
				sub := ai.Subnet
				if sub == "" {
					sub = ai.ID
				}
				d.binding(ai.ID, "association:"+na+"->subnet:"+sub, k.String(), nb, na)
			}
		}
		for _, k := range []policy.Kind{policy.KindAWSSG, policy.KindAliSG} {
			lb, la := layerOf(bi.Layers, k), layerOf(ai.Layers, k)
			if lb != nil && la != nil && lb.Name != la.Name {
				d.binding(ai.ID, "groups:"+ai.ID+"="+la.Name, k.String(), lb.Name, la.Name)
			}
		}
	}
	for _, bi := range before.Interfaces {
		if !seen[bi.ID] {
			d.binding(bi.ID, "interface:"+bi.ID, bi.Provider, "described", "")
		}
	}
	bDep := map[string]*policy.Deployment{}
	for _, dp := range before.Deployments {
		bDep[dp.ID] = dp
	}
	for _, ad := range after.Deployments {
		bd := bDep[ad.ID]
		if bd == nil || bd.Layer == nil || ad.Layer == nil {
			continue
		}
		for _, dir := range []policy.Dir{policy.Ingress, policy.Egress} {
			rb, ra := rulesetsOf(bd.Layer.Chain(dir)), rulesetsOf(ad.Layer.Chain(dir))
			for _, s := range ra {
				if !slices.Contains(rb, s) {
					d.binding(ad.ID, "association:"+s+"->deployment:"+ad.ID, policy.KindECFilter.String(), "not associated", "associated")
				}
			}
			for _, s := range rb {
				if !slices.Contains(ra, s) {
					d.binding(ad.ID, "association:"+s+"->deployment:"+ad.ID, policy.KindECFilter.String(), "associated", "not associated")
				}
			}
			db, da := bd.Layer.Chain(dir).Default, ad.Layer.Chain(dir).Default
			if db != da && len(ra) == len(rb) {
				d.binding(ad.ID, "default:"+ad.ID+"/"+dir.String(), policy.KindECFilter.String(), outcomeText(db), outcomeText(da))
			}
		}
	}
	bNode := map[string]*policy.Node{}
	for _, n := range before.Nodes {
		bNode[n.Name] = n
	}
	for _, an := range after.Nodes {
		bn := bNode[an.Name]
		if bn == nil {
			continue
		}
		var fb, fa []string
		for _, f := range bn.Filters {
			fb = append(fb, fmt.Sprintf("%d-%d:%s", f.Ports.Lo, f.Ports.Hi, f.Layer.Name))
		}
		for _, f := range an.Filters {
			fa = append(fa, fmt.Sprintf("%d-%d:%s", f.Ports.Lo, f.Ports.Hi, f.Layer.Name))
		}
		if strings.Join(fb, ",") != strings.Join(fa, ",") {
			d.binding(an.Name, "filters:"+an.Name, policy.KindESFilter.String(), strings.Join(fb, ", "), strings.Join(fa, ", "))
		}
	}
	// Order and default changes of layers present in both sets.
	bl := map[string]*policy.Layer{}
	for _, l := range before.Layers() {
		bl[l.Name] = l
	}
	for _, la := range after.Layers() {
		lb := bl[la.Name]
		if lb == nil {
			continue
		}
		for _, dir := range []policy.Dir{policy.Ingress, policy.Egress} {
			cb, ca := lb.Chain(dir), la.Chain(dir)
			kb, ka := unchangedOrder(cb, am), unchangedOrder(ca, bm)
			if strings.Join(kb, "\x00") != strings.Join(ka, "\x00") && la.Kind != policy.KindAWSSG && la.Kind != policy.KindECFilter {
				d.binding(la.Name, "order:"+la.Name+"/"+dir.String(), la.Kind.String(), "", "rules reordered")
			}
			if cb.Default != ca.Default && la.Kind != policy.KindECFilter {
				d.binding(la.Name, "default:"+la.Name+"/"+dir.String(), la.Kind.String(), outcomeText(cb.Default), outcomeText(ca.Default))
			}
		}
	}
}

// unchangedOrder lists the pairing keys of c's rules that also exist in
// other, in chain order.
func unchangedOrder(c *policy.Chain, other map[string]*ruleInfo) []string {
	var out []string
	for _, r := range c.Rules {
		if r.Written() && other[pairKey(r)] != nil {
			out = append(out, pairKey(r))
		}
	}
	return out
}

func outcomeText(o policy.Outcome) string {
	if o.Action == 0 {
		return "unknown (" + o.Reason + ")"
	}
	return o.Action.String() + " " + o.ID
}

// Entry returns the diff entry with id (nil when none).
func (d *Diff) Entry(id string) *DiffEntry { return d.byID[id] }

// RuleStatus returns what happened to r: for a rule of the current set
// Removed or Modified, of the proposed set Added or Modified, "" when
// unchanged.
func (d *Diff) RuleStatus(r *policy.Rule, proposed bool) Status {
	if proposed {
		return d.after[r]
	}
	return d.before[r]
}

// Attribute names the change responsible for a changed verdict (POLICY.md
// 10): the first layer whose outcome changed; its deciding rule after if
// new or modified, else its deciding rule before if gone or modified, else
// the layer's binding or order change; iface is the record's interface
// (for a change of the interfaces described).
func (d *Diff) Attribute(before, after *verdict.Result, iface string) string {
	lb, la := before.Layers(), after.Layers()
	n := max(len(lb), len(la))
	for i := 0; i < n; i++ {
		if i >= len(lb) || i >= len(la) || lb[i].Layer.Kind != la[i].Layer.Kind || lb[i].Scope != la[i].Scope {
			// A layer appeared or disappeared: a binding of the scope.
			var scope string
			var k policy.Kind
			if i < len(la) {
				scope, k = la[i].Scope, la[i].Layer.Kind
			} else {
				scope, k = lb[i].Scope, lb[i].Layer.Kind
			}
			return d.bindingFor(scope, k, "")
		}
		b, a := &lb[i], &la[i]
		if b.Action == a.Action {
			continue
		}
		if a.Rule != nil {
			if s := d.after[a.Rule]; s == Added || s == Modified {
				return a.ID
			}
		}
		if b.Rule != nil {
			if s := d.before[b.Rule]; s == Removed || s == Modified {
				return b.ID
			}
		}
		return d.bindingFor(a.Scope, a.Layer.Kind, a.Layer.Name+"/"+a.Dir.String())
	}
	if !before.Covered || !after.Covered {
		// The record's interface appeared or disappeared: its own entry.
		// Without one (a record naming no interface, matched by address),
		// the first interface entry in the diff's order (the sets' order), so that
		// the attribution is the same on every run.
		if e := d.byID["interface:"+iface]; e != nil && iface != "" {
			return e.ID
		}
		for _, e := range d.Entries {
			if e.Status == Binding && strings.HasPrefix(e.ID, "interface:") {
				return e.ID
			}
		}
	}
	return "unattributed"
}

// bindingFor picks the binding change of a scope for a layer kind: an
// association or group-list change, else the order or default change of
// the layer's chain.
func (d *Diff) bindingFor(scope string, k policy.Kind, chain string) string {
	var fallback string
	for _, e := range d.bindings[scope] {
		if e.Kind == k.String() {
			return e.ID
		}
		if fallback == "" {
			fallback = e.ID
		}
	}
	if chain != "" {
		for _, prefix := range []string{"order:", "default:"} {
			if e := d.byID[prefix+chain]; e != nil {
				return e.ID
			}
		}
	}
	if fallback != "" {
		return fallback
	}
	if chain != "" {
		return "layer:" + chain
	}
	return "scope:" + scope
}
