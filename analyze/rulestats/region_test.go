package rulestats

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/flowsift/flowsift/analyze/policy"
)

// TestRegion: the exported region API computes what a chain admits, and
// the difference between two chains, exactly.
func TestRegion(t *testing.T) {
	mk := func(remote string, lo, hi uint16, a policy.Action) *policy.Rule {
		return &policy.Rule{ID: remote, Action: a, Proto: 6, ICMPType: -1, ICMPCode: -1,
			Ports: []policy.PortRange{{Lo: lo, Hi: hi}}, Remote: []netip.Prefix{netip.MustParsePrefix(remote)}}
	}
	before := &policy.Chain{Rules: []*policy.Rule{mk("10.0.0.0/8", 22, 22, policy.Allow)},
		Default: policy.Outcome{Action: policy.Deny}}
	after := &policy.Chain{Rules: []*policy.Rule{mk("10.1.0.0/16", 22, 22, policy.Deny), mk("10.0.0.0/8", 22, 23, policy.Allow)},
		Default: policy.Outcome{Action: policy.Deny}}
	b, ok := Allowed(before, Everything(), 1000)
	if !ok || len(b) != 1 || b[0].String() != "tcp port 22 remote 10.0.0.0/8" {
		t.Fatalf("before: %v %v", b, ok)
	}
	a, ok := Allowed(after, Everything(), 1000)
	if !ok {
		t.Fatal("after: not computed")
	}
	var plus, minus []string
	for _, x := range Merge(Subtract(a, b, 1000)) {
		plus = append(plus, x.String())
	}
	for _, x := range Merge(Subtract(b, a, 1000)) {
		minus = append(minus, x.String())
	}
	if got := strings.Join(plus, "|"); got != "tcp port 23 remote 10.0.0.0/8" {
		t.Errorf("newly allowed: %q", got)
	}
	if got := strings.Join(minus, "|"); got != "tcp port 22 remote 10.1.0.0/16" {
		t.Errorf("newly denied: %q", got)
	}
	if _, ok := Allowed(after, Everything(), 2); ok {
		t.Error("limit 2: computed anyway")
	}
	// Narrowing ports and remotes.
	w := RemoteIn(netip.MustParsePrefix("10.1.2.0/24")).WithPorts(20, 30)
	in, _ := Allowed(after, []Box{w}, 1000)
	if len(in) != 1 || in[0].String() != "tcp port 23 remote 10.1.2.0/24" {
		t.Errorf("10.1.2.0/24 ports 20-30 under after: %v", in)
	}
	in, _ = Allowed(before, []Box{RemoteIn(netip.MustParsePrefix("10.2.0.0/16")).WithPorts(20, 30)}, 1000)
	if len(in) != 1 || in[0].String() != "tcp port 22 remote 10.2.0.0/16" {
		t.Errorf("10.2.0.0/16 ports 20-30 under before: %v", in)
	}
}
