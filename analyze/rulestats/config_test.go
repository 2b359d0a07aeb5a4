package rulestats_test

import (
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/analyze/rulestats"
)

// rule builds a written rule: ports "22", "20-30", "" (all); cidrs as text.
func rule(id string, a policy.Action, proto int16, ports string, cidrs ...string) *policy.Rule {
	r := &policy.Rule{ID: id, Action: a, Proto: proto, ICMPType: -1, ICMPCode: -1}
	if ports != "" {
		for _, p := range strings.Split(ports, ",") {
			lo, hi, ok := strings.Cut(p, "-")
			if !ok {
				hi = lo
			}
			l, _ := strconv.Atoi(lo)
			h, _ := strconv.Atoi(hi)
			r.Ports = append(r.Ports, policy.PortRange{Lo: uint16(l), Hi: uint16(h)})
		}
	}
	for _, c := range cidrs {
		r.Remote = append(r.Remote, netip.MustParsePrefix(c))
	}
	return r
}

// chainSet puts rules into the ingress chain of one layer of kind k on one
// interface; the chain's default is a deny named acl/ingress/*.
func chainSet(k policy.Kind, rules ...*policy.Rule) *policy.Set {
	l := &policy.Layer{Name: "layer", Kind: k}
	for _, r := range rules {
		r.Kind, r.Scope = k, "scope"
	}
	l.In = policy.Chain{Rules: rules, Default: policy.Outcome{Action: policy.Deny, ID: "acl/ingress/*"}}
	l.Out = policy.Chain{Default: policy.Outcome{Action: policy.Deny, ID: "acl/egress/*"}}
	set := &policy.Set{Interfaces: []*policy.Interface{{ID: "eni-1", Layers: []*policy.Layer{l}}}}
	set.Index()
	return set
}

func configOf(set *policy.Set) map[string]rulestats.ConfigFinding {
	out := map[string]rulestats.ConfigFinding{}
	for _, f := range rulestats.Config(set) {
		out[f.ID] = f
	}
	return out
}

const (
	allow = policy.Allow
	deny  = policy.Deny
)

// The covering set is a union: neither earlier rule covers 120 alone.
func TestShadowedByUnion(t *testing.T) {
	set := chainSet(policy.KindAWSNACL,
		rule("a/100", allow, 6, "20-29", "10.0.0.0/9"),
		rule("a/110", allow, 6, "20-23,24-29", "10.128.0.0/9"),
		rule("a/115", allow, 17, "", "0.0.0.0/0"),
		rule("a/120", deny, 6, "22-25", "10.0.0.0/8"),
	)
	got := configOf(set)
	f, ok := got["a/120"]
	if !ok || !f.Shadowed {
		t.Fatalf("a/120 not shadowed: %+v", got)
	}
	if !reflect.DeepEqual(f.Covering, []string{"a/100", "a/110"}) || !f.Opposite {
		t.Errorf("covering %v opposite %v, want [a/100 a/110] true", f.Covering, f.Opposite)
	}
	for _, id := range []string{"a/100", "a/110", "a/115"} {
		if got[id].Shadowed {
			t.Errorf("%s shadowed", id)
		}
	}
}

// One port of the later rule is left open: not shadowed.
func TestNotShadowedMissingOnePort(t *testing.T) {
	set := chainSet(policy.KindAWSNACL,
		rule("a/100", allow, 6, "20-24", "10.0.0.0/8"),
		rule("a/110", allow, 6, "26-30", "10.0.0.0/8"),
		rule("a/120", allow, 6, "20-30", "10.0.0.0/8"),
	)
	if f, ok := configOf(set)["a/120"]; ok && f.Shadowed {
		t.Fatalf("a/120 shadowed although port 25 reaches it: %+v", f)
	}
	// Close the gap and it is shadowed, with the same action.
	set = chainSet(policy.KindAWSNACL,
		rule("a/100", allow, 6, "20-24", "10.0.0.0/8"),
		rule("a/105", allow, 6, "25", "10.0.0.0/8"),
		rule("a/110", allow, 6, "26-30", "10.0.0.0/8"),
		rule("a/120", allow, 6, "20-30", "10.0.0.0/8"),
	)
	f := configOf(set)["a/120"]
	if !f.Shadowed || f.Opposite || len(f.Covering) != 3 {
		t.Errorf("closed gap: %+v", f)
	}
}

// A missing host: 10.0.0.0/8 minus one address is not the whole /8.
func TestNotShadowedMissingOneAddress(t *testing.T) {
	set := chainSet(policy.KindAWSNACL,
		rule("a/100", deny, -1, "", "10.0.0.0/9", "10.128.0.0/10", "10.192.0.0/11", "10.224.0.0/12"),
		rule("a/101", deny, -1, "", "10.240.0.0/13", "10.248.0.0/14", "10.252.0.0/15", "10.254.0.0/16", "10.255.0.0/17"),
		rule("a/102", deny, -1, "", "10.255.128.0/18", "10.255.192.0/19", "10.255.224.0/20", "10.255.240.0/21",
			"10.255.248.0/22", "10.255.252.0/23", "10.255.254.0/24", "10.255.255.0/25", "10.255.255.128/26",
			"10.255.255.192/27", "10.255.255.224/28", "10.255.255.240/29", "10.255.255.248/30", "10.255.255.252/31"),
		rule("a/110", allow, 6, "443", "10.0.0.0/8"),
	)
	if f := configOf(set)["a/110"]; f.Shadowed {
		t.Fatalf("shadowed although 10.255.255.254/31 reaches it: %+v", f)
	}
	set.Interfaces[0].Layers[0].In.Rules[2].Remote = append(set.Interfaces[0].Layers[0].In.Rules[2].Remote, netip.MustParsePrefix("10.255.255.254/31"))
	if f := configOf(set)["a/110"]; !f.Shadowed || !f.Opposite {
		t.Fatalf("not shadowed once the last /31 is denied: %+v", f)
	}
}

// Families are separate: ::/0 is not covered by 0.0.0.0/0; protocols and
// ICMP types likewise.
func TestShadowDimensions(t *testing.T) {
	icmp8 := rule("a/130", allow, 1, "", "0.0.0.0/0")
	icmp8.ICMPType = 8
	set := chainSet(policy.KindAWSNACL,
		rule("a/100", allow, -1, "", "0.0.0.0/0"),
		rule("a/110", allow, -1, "", "::/0"),
		rule("a/120", allow, 6, "443", "0.0.0.0/0", "2001:db8::/32"),
		icmp8,
	)
	got := configOf(set)
	if got["a/110"].Shadowed {
		t.Errorf("::/0 shadowed by 0.0.0.0/0")
	}
	if f := got["a/120"]; !f.Shadowed || !reflect.DeepEqual(f.Covering, []string{"a/100", "a/110"}) {
		t.Errorf("a/120 = %+v, want shadowed by both families", f)
	}
	if !got["a/130"].Shadowed {
		t.Errorf("icmp type 8 not shadowed by all protocols")
	}
	// ICMP type 8 first, then all ICMP: the wider rule is not shadowed.
	all := rule("a/110", allow, 1, "", "0.0.0.0/0")
	t8 := rule("a/100", allow, 1, "", "0.0.0.0/0")
	t8.ICMPType = 8
	if f := configOf(chainSet(policy.KindAWSNACL, t8, all))["a/110"]; f.Shadowed {
		t.Errorf("all ICMP shadowed by type 8")
	}
}

// An earlier rule that cannot be decided covers only its certain part.
func TestUndecidableEarlierRule(t *testing.T) {
	pl := rule("a/100", deny, 6, "443", "10.0.0.0/8")
	pl.RemoteUnknown = policy.ReasonPrefixList
	set := chainSet(policy.KindAliSG, pl, rule("a/110", allow, 6, "443", "10.1.0.0/16"), rule("a/120", allow, 6, "443", "192.168.0.0/16"))
	got := configOf(set)
	if !got["a/110"].Shadowed {
		t.Errorf("a/110 inside the certain part of a/100 not shadowed")
	}
	if got["a/120"].Shadowed || got["a/120"].Redundant {
		t.Errorf("a/120 (only the undecidable part of a/100 meets it) = %+v", got["a/120"])
	}
	if _, ok := got["a/100"]; ok {
		t.Errorf("undecidable rule reported: %+v", got["a/100"])
	}
}

func TestRedundantOrdered(t *testing.T) {
	set := chainSet(policy.KindAWSNACL,
		rule("a/90", deny, 6, "22", "198.51.100.0/24"),
		rule("a/100", allow, 6, "443", "10.0.0.0/16"),
		rule("a/110", deny, 6, "23", "0.0.0.0/0"),
		rule("a/120", deny, 6, "22", "0.0.0.0/0"),
		rule("a/200", allow, 6, "", "0.0.0.0/0"),
	)
	got := configOf(set)
	if f := got["a/100"]; !f.Redundant || !reflect.DeepEqual(f.Covering, []string{"a/200"}) {
		t.Errorf("a/100 = %+v, want redundant by a/200", f)
	}
	// 90 denies part of what 120 denies anyway.
	if f := got["a/90"]; !f.Redundant || !reflect.DeepEqual(f.Covering, []string{"a/120"}) {
		t.Errorf("a/90 = %+v, want redundant by a/120", f)
	}
	// 110 and 120 deny what 200 would allow: needed.
	for _, id := range []string{"a/110", "a/120", "a/200"} {
		if got[id].Redundant || got[id].Shadowed {
			t.Errorf("%s = %+v", id, got[id])
		}
	}
	// A written deny with nothing after it repeats the default deny.
	set = chainSet(policy.KindAWSNACL, rule("a/100", allow, 6, "443", "0.0.0.0/0"), rule("a/200", deny, 6, "23", "0.0.0.0/0"))
	if f := configOf(set)["a/200"]; !f.Redundant || !reflect.DeepEqual(f.Covering, []string{"acl/ingress/*"}) {
		t.Errorf("deny before the default deny = %+v", f)
	}
	// A later undecidable rule of the other action makes it needed.
	pl := rule("a/150", deny, 6, "443", "0.0.0.0/0")
	pl.RemoteUnknown = policy.ReasonPrefixList
	set = chainSet(policy.KindAWSNACL, rule("a/100", allow, 6, "443", "10.0.0.0/16"), pl, rule("a/200", allow, 6, "", "0.0.0.0/0"))
	if f := configOf(set)["a/100"]; f.Redundant {
		t.Errorf("redundant although an undecidable deny follows: %+v", f)
	}
}

func TestRedundantAllowOnly(t *testing.T) {
	set := chainSet(policy.KindAWSSG,
		rule("sg-a/ingress/0", allow, 6, "443", "10.0.0.0/16"),
		rule("sg-b/ingress/0", allow, 6, "0-1023", "10.0.0.0/9"),
		rule("sg-b/ingress/1", allow, 6, "", "10.128.0.0/9"),
		rule("sg-b/ingress/2", allow, 17, "53", "10.0.0.0/8"),
	)
	got := configOf(set)
	if f := got["sg-a/ingress/0"]; !f.Redundant || f.Model != rulestats.AllowOnly || !reflect.DeepEqual(f.Covering, []string{"sg-b/ingress/0"}) {
		t.Errorf("sg-a/ingress/0 = %+v", f)
	}
	for _, id := range []string{"sg-b/ingress/0", "sg-b/ingress/1", "sg-b/ingress/2"} {
		if got[id].Redundant || got[id].Shadowed {
			t.Errorf("%s = %+v", id, got[id])
		}
	}
	// Allow-only models have no shadowing, whatever the order.
	set = chainSet(policy.KindAWSSG, rule("sg-a/ingress/0", allow, -1, "", "0.0.0.0/0"), rule("sg-a/ingress/1", allow, 6, "22", "0.0.0.0/0"))
	if f := configOf(set)["sg-a/ingress/1"]; f.Shadowed || !f.Redundant {
		t.Errorf("allow-only later rule = %+v, want redundant only", f)
	}
}

func TestDeniedPorts(t *testing.T) {
	c := &policy.Chain{Rules: []*policy.Rule{
		rule("a/100", allow, 6, "32768-60999", "0.0.0.0/0"),
		rule("a/110", deny, 6, "5000", "0.0.0.0/0"),
		rule("a/120", allow, 6, "1024-4999", "10.0.0.0/8"),
	}, Default: policy.Outcome{Action: policy.Deny, ID: "a/*"}}
	got, ids := rulestats.DeniedPorts(c, 6, []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}, nil, 1024, 65535)
	want := []policy.PortRange{{Lo: 5000, Hi: 32767}, {Lo: 61000, Hi: 65535}}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(ids, []string{"a/110", "a/*"}) {
		t.Errorf("DeniedPorts = %v %v, want %v [a/110 a/*]", got, ids, want)
	}
	// Remotes the layer does not see are skipped.
	got, _ = rulestats.DeniedPorts(c, 6, []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}, []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}, 1024, 65535)
	if got != nil {
		t.Errorf("skipped remote still denied: %v", got)
	}
	c.Rules = append(c.Rules, rule("a/130", allow, 6, "1024-65535", "0.0.0.0/0"))
	c.Rules[1].Ports[0] = policy.PortRange{Lo: 80, Hi: 80}
	if got, _ := rulestats.DeniedPorts(c, 6, []netip.Prefix{policy.AllV4}, nil, 1024, 65535); got != nil {
		t.Errorf("full cover reported %v", got)
	}
}
