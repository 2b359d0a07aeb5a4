package lint

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/analyze/rulestats"
	"github.com/flowsift/flowsift/analyze/verdict"
)

// Severity orders findings; --fail-on takes a threshold.
type Severity int

const (
	Info Severity = iota
	Warning
	Error
)

var sevNames = [...]string{"info", "warning", "error"}

func (s Severity) String() string { return sevNames[s] }

// MarshalText writes the name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ParseSeverity maps a name back.
func ParseSeverity(s string) (Severity, bool) {
	for i, n := range sevNames {
		if strings.EqualFold(n, s) {
			return Severity(i), true
		}
	}
	return 0, false
}

// Checks, as named in findings.
const (
	CheckShadowed   = "shadowed"
	CheckRedundant  = "redundant"
	CheckOpenWorld  = "open-to-world"
	CheckEphemeral  = "ephemeral-replies"
	CheckUnattached = "unattached-group"
	CheckQuota      = "quota"
)

// Quotas (POLICY.md 5.3, 5.4, 6.2).
const (
	QuotaSGRules      = 60 // per group, direction and family
	QuotaGroupsPerENI = 5
	QuotaNACLEntries  = 20 // per direction and family, * included
)

// Finding is one lint result.
type Finding struct {
	Severity Severity `json:"severity"`
	Check    string   `json:"check"`
	Scope    string   `json:"scope"` // group, ACL, layer, interface or node
	Rules    []string `json:"rules"` // rule ids concerned (may be empty)
	Message  string   `json:"message"`
	Fix      string   `json:"fix"`
}

// Run lints set; inv may be nil (then the inventory checks are skipped).
// Findings come most severe first, then by check and scope.
func Run(set *policy.Set, inv *Inventory) []Finding {
	var out []Finding
	cfg := rulestats.Config(set)
	shadowed := map[string]bool{}
	for _, f := range cfg {
		r := f.Rule
		scope := r.Scope
		if scope == "" {
			scope = strings.Join(f.Layers, ",")
		}
		if f.Shadowed {
			shadowed[f.ID] = true
			sev, fix := Warning, "remove it: the rules before it already decide every packet it matches"
			msg := fmt.Sprintf("%s (%s) is never reached: %s cover its whole match space", f.ID, r.Text, strings.Join(f.Covering, ", "))
			if f.Opposite {
				sev = Error
				msg += " with the opposite action"
				fix = "likely a mistake: move it before " + f.Covering[0] + " (lower rule number / priority) or remove it"
			}
			out = append(out, Finding{sev, CheckShadowed, scope, append([]string{f.ID}, f.Covering...), msg, fix})
		} else if f.Redundant {
			out = append(out, Finding{Info, CheckRedundant, scope, append([]string{f.ID}, f.Covering...),
				fmt.Sprintf("%s (%s) changes no decision: without it, %s decide its packets the same way (%s model)", f.ID, r.Text, strings.Join(f.Covering, ", "), f.Model),
				"remove it, unless it documents intent"})
		}
	}
	out = append(out, openToWorld(set, shadowed)...)
	out = append(out, ephemeral(set)...)
	if inv != nil {
		out = append(out, inventoryChecks(inv)...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if a.Check != b.Check {
			return a.Check < b.Check
		}
		return a.Scope < b.Scope
	})
	return out
}

// isWorld reports whether ps contains 0.0.0.0/0 or ::/0.
func isWorld(ps []netip.Prefix) []string {
	var w []string
	for _, p := range ps {
		if p.Bits() == 0 {
			w = append(w, p.String())
		}
	}
	return w
}

// sensitiveIn lists the sensitive services (POLICY.md 8.1) a rule's
// protocol and ports admit within the port window [lo, hi].
func sensitiveIn(r *policy.Rule, lo, hi uint16) []string {
	var out []string
	for _, proto := range []uint8{6, 17} {
		if r.Proto >= 0 && r.Proto != int16(proto) {
			continue
		}
		for p := int(lo); p <= int(hi) && p < 65536; p++ {
			if !verdict.IsSensitive(proto, uint16(p)) {
				continue
			}
			if r.Proto >= 0 && len(r.Ports) > 0 {
				in := false
				for _, pr := range r.Ports {
					in = in || pr.Contains(uint16(p))
				}
				if !in {
					continue
				}
			}
			out = append(out, policy.ProtoText(int16(proto))+"/"+strconv.Itoa(p))
		}
	}
	return out
}

func openToWorld(set *policy.Set, shadowed map[string]bool) []Finding {
	// Elasticsearch filters apply to the ports of their node filter.
	window := map[*policy.Layer][2]uint16{}
	for _, n := range set.Nodes {
		for _, f := range n.Filters {
			window[f.Layer] = [2]uint16{f.Ports.Lo, f.Ports.Hi}
		}
	}
	var out []Finding
	seen := map[string]bool{}
	for _, l := range set.Layers() {
		for _, r := range l.In.Rules {
			if !r.Written() || r.Action != policy.Allow || seen[r.ID] || shadowed[r.ID] || r.Unknown != "" {
				continue
			}
			world := isWorld(r.Remote)
			if len(world) == 0 {
				continue
			}
			lo, hi := uint16(0), uint16(65535)
			if w, ok := window[l]; ok {
				lo, hi = w[0], w[1]
			} else if l.Kind == policy.KindECFilter {
				continue // deployment endpoints (443, 9243, 9400, 9443) are not sensitive ports
			}
			sens := sensitiveIn(r, lo, hi)
			if len(sens) == 0 {
				continue
			}
			seen[r.ID] = true
			shown := sens
			if len(shown) > 6 {
				shown = append(shown[:6:6], fmt.Sprintf("and %d more", len(sens)-6))
			}
			sev := Error
			what := "admits"
			if !l.Kind.Stateful() {
				sev, what = Info, "lets through" // a NACL alone exposes nothing: the groups decide
			}
			scope := r.Scope
			if scope == "" {
				scope = l.Name
			}
			out = append(out, Finding{sev, CheckOpenWorld, scope, []string{r.ID},
				fmt.Sprintf("%s %s %s from %s (%s)", r.ID, what, strings.Join(shown, ", "), strings.Join(world, ", "), r.Text),
				"restrict the source to the networks that need it (a VPN, a bastion, a prefix list) or close the port"})
		}
	}
	return out
}

// ephemeral flags stateless layers whose outbound entries drop replies of a
// service the stateful layers of the same interface admit (POLICY.md 5.4):
// every reply to a client port in 1024-65535 must pass.
func ephemeral(set *policy.Set) []Finding {
	type key struct{ acl, rule string }
	type acc struct {
		ports    []policy.PortRange
		deciders []string
		rule     *policy.Rule
		proto    []string
	}
	found := map[key]*acc{}
	var order []key
	for _, ifc := range set.Interfaces {
		for _, nl := range ifc.Layers {
			if nl.Kind.Stateful() {
				continue
			}
			var skip []netip.Prefix
			if nl.SkipLocal {
				skip = ifc.Local
			}
			for _, gl := range ifc.Layers {
				if !gl.Kind.Stateful() {
					continue
				}
				for _, r := range gl.In.Rules {
					if !r.Written() || r.Action != policy.Allow || r.Unknown != "" || len(r.Remote) == 0 {
						continue
					}
					for _, proto := range []uint8{6, 17} {
						if r.Proto >= 0 && r.Proto != int16(proto) {
							continue
						}
						ports, ids := rulestats.DeniedPorts(&nl.Out, proto, r.Remote, skip, 1024, 65535)
						if len(ports) == 0 {
							continue
						}
						k := key{nl.Name, r.ID}
						a := found[k]
						if a == nil {
							a = &acc{rule: r}
							found[k] = a
							order = append(order, k)
						}
						a.ports = mergePorts(append(a.ports, ports...))
						for _, id := range ids {
							a.deciders = appendUnique(a.deciders, id)
						}
						a.proto = appendUnique(a.proto, policy.ProtoText(int16(proto)))
					}
				}
			}
		}
	}
	var out []Finding
	for _, k := range order {
		a := found[k]
		var pr []string
		for _, p := range a.ports {
			pr = append(pr, strconv.Itoa(int(p.Lo))+"-"+strconv.Itoa(int(p.Hi)))
		}
		out = append(out, Finding{Warning, CheckEphemeral, k.acl, append([]string{a.rule.ID}, a.deciders...),
			fmt.Sprintf("%s egress drops replies of %s (%s) to client ports %s (decided by %s); clients with other ephemeral ranges break (NAT gateways and load balancers use 1024-65535, Windows 49152-65535)",
				k.acl, a.rule.ID, a.rule.Text, strings.Join(pr, ", "), strings.Join(a.deciders, ", ")),
			fmt.Sprintf("add an egress allow %s 1024-65535 to %s before any deny", strings.Join(a.proto, "/"), policy.RemoteText(a.rule))})
	}
	return out
}

func mergePorts(ps []policy.PortRange) []policy.PortRange {
	sort.Slice(ps, func(i, j int) bool { return ps[i].Lo < ps[j].Lo })
	var out []policy.PortRange
	for _, p := range ps {
		if n := len(out); n > 0 && int(p.Lo) <= int(out[n-1].Hi)+1 {
			if p.Hi > out[n-1].Hi {
				out[n-1].Hi = p.Hi
			}
			continue
		}
		out = append(out, p)
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

func inventoryChecks(inv *Inventory) []Finding {
	var out []Finding
	attached := map[string]bool{}
	for _, e := range inv.ENIs {
		for _, g := range e.Groups {
			attached[g] = true
		}
		if len(e.Groups) > QuotaGroupsPerENI {
			sev, fix := Warning, "merge groups, or request the quota increase (up to 16 groups per interface)"
			if e.Provider == "alibaba" {
				sev, fix = Error, "merge groups: an Alibaba ENI joins at most 5 groups"
			}
			out = append(out, Finding{sev, CheckQuota, e.ID, e.Groups,
				fmt.Sprintf("%s has %d security groups (quota %d)", e.ID, len(e.Groups), QuotaGroupsPerENI), fix})
		}
	}
	fam := [2]string{"IPv4", "IPv6"}
	for _, g := range inv.Groups {
		if inv.HaveENIs && !attached[g.ID] {
			out = append(out, Finding{Info, CheckUnattached, g.ID, nil,
				fmt.Sprintf("security group %s is attached to no interface of the input (%s)", g.ID, g.File),
				"delete it if it is unused, or check that every interface listing was supplied"})
		}
		if g.Provider != "aws" {
			continue
		}
		for d := 0; d < 2; d++ {
			n := g.Rules[d]
			for _, pl := range g.PrefixLists[d] {
				size := inv.PrefixListMax[pl]
				if size == 0 {
					size = 1 // maximum size unknown: counted once
				}
				n[0] += size
			}
			for f := 0; f < 2; f++ {
				if n[f] > QuotaSGRules {
					out = append(out, Finding{Error, CheckQuota, g.ID, nil,
						fmt.Sprintf("%s has %d %s %s rules (quota %d per direction and family; a prefix list counts as its maximum size)", g.ID, n[f], policy.Dir(d), fam[f], QuotaSGRules),
						"merge CIDRs into fewer, wider ranges or a prefix list, or split the group"})
				}
			}
		}
	}
	for _, a := range inv.NACLs {
		for d := 0; d < 2; d++ {
			for f := 0; f < 2; f++ {
				if a.Entries[d][f] > QuotaNACLEntries {
					out = append(out, Finding{Warning, CheckQuota, a.ID, nil,
						fmt.Sprintf("%s has %d %s %s entries (quota %d per direction and family, * included)", a.ID, a.Entries[d][f], policy.Dir(d), fam[f], QuotaNACLEntries),
						"merge entries, or request the quota increase (up to 40)"})
				}
			}
		}
	}
	return out
}
