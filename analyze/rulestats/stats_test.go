package rulestats_test

import (
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/analyze/policy/load"
	"github.com/flowsift/flowsift/analyze/rulestats"
	"github.com/flowsift/flowsift/analyze/verdict"
	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/benchutil"
)

// twoLayerSet is one interface (10.0.0.10) behind a NACL and a group.
func twoLayerSet() *policy.Set {
	nacl := &policy.Layer{Name: "acl-1", Kind: policy.KindAWSNACL}
	nacl.In = policy.Chain{Rules: []*policy.Rule{
		rule("acl-1/ingress/100", allow, 6, "22", "0.0.0.0/0"),
		rule("acl-1/ingress/200", allow, 6, "20-30", "10.0.0.0/8"),
		rule("acl-1/ingress/300", allow, 6, "", "0.0.0.0/0"),
	}, Default: policy.Outcome{Action: deny, ID: "acl-1/ingress/*"}}
	nacl.Out = policy.Chain{Rules: []*policy.Rule{rule("acl-1/egress/100", allow, -1, "", "0.0.0.0/0")},
		Default: policy.Outcome{Action: deny, ID: "acl-1/egress/*"}}
	sg := &policy.Layer{Name: "sg-1", Kind: policy.KindAWSSG}
	sg.In = policy.Chain{Rules: []*policy.Rule{
		rule("sg-1/ingress/0", allow, 6, "", "0.0.0.0/0"),
		rule("sg-1/ingress/1", allow, 17, "53", "10.0.0.0/8"),
	}, Default: policy.Outcome{Action: deny, ID: "default/aws-sg/deny"}}
	sg.Out = policy.Chain{Rules: []*policy.Rule{rule("sg-1/egress/0", allow, -1, "", "0.0.0.0/0")},
		Default: policy.Outcome{Action: deny, ID: "default/aws-sg/deny"}}
	for _, l := range []*policy.Layer{nacl, sg} {
		for _, c := range []*policy.Chain{&l.In, &l.Out} {
			for _, r := range c.Rules {
				r.Kind, r.Scope = l.Kind, l.Name
			}
		}
	}
	set := &policy.Set{Interfaces: []*policy.Interface{{ID: "eni-1", Provider: "aws",
		Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.10")}, Layers: []*policy.Layer{nacl, sg}}}}
	set.Index()
	return set
}

func syn(src string, dport uint16, start int64) flowlog.Record {
	return flowlog.Record{Start: start, End: start + 60, Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr("10.0.0.10"),
		SrcPort: 40000, DstPort: dport, Proto: 6, Packets: 2, Bytes: 100, Action: flowlog.ActionAccept,
		Direction: flowlog.DirIngress, Iface: "eni-1", TCPFlags: 2}
}

func collect(set *policy.Set, recs []flowlog.Record) *rulestats.Report {
	res := make([]verdict.Result, len(recs))
	verdict.NewReferenceEngine(set).JudgeAll(recs, res)
	c := rulestats.New(set)
	for i := range recs {
		c.Observe(&recs[i], &res[i])
	}
	return c.Report(nil)
}

func TestCollectorStatistics(t *testing.T) {
	var recs []flowlog.Record
	remotes := []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"}
	for i := 0; i < 150; i++ {
		recs = append(recs, syn(remotes[i%3], []uint16{443, 8443}[i%2], 1000+int64(i)))
	}
	recs = append(recs, syn("10.1.1.1", 22, 500), syn("10.1.1.1", 22, 5000))
	rep := collect(twoLayerSet(), recs)

	sg, ok := find(rep.Rules, hitsID, "sg-1/ingress/0")
	want := rulestats.Hits{Records: 152, Packets: 304, Bytes: 15200, First: 500, Last: 5060}
	if !ok || sg.Hits != want {
		t.Errorf("sg-1/ingress/0 hits = %+v, want %+v", sg.Hits, want)
	}
	if rep.Rules[0].ID != "sg-1/ingress/0" {
		t.Errorf("top rule %s", rep.Rules[0].ID)
	}
	if h, _ := find(rep.Rules, hitsID, "acl-1/ingress/300"); h.Records != 150 {
		t.Errorf("acl 300 hits %d", h.Records)
	}
	var unused []string
	for _, u := range rep.Unused {
		unused = append(unused, u.ID)
	}
	if !reflect.DeepEqual(unused, []string{"acl-1/ingress/200", "acl-1/egress/100", "sg-1/ingress/1", "sg-1/egress/0"}) {
		t.Errorf("unused = %v", unused)
	}
	// 200 matched the two SSH records alone; 100 decided them.
	if len(rep.ShadowedObserved) != 1 || rep.ShadowedObserved[0].ID != "acl-1/ingress/200" {
		t.Errorf("shadowed by observation = %+v", rep.ShadowedObserved)
	}
	if len(rep.ShadowedConfig) != 0 {
		t.Errorf("shadowed by configuration = %+v", rep.ShadowedConfig)
	}
	var broad []string
	for _, b := range rep.OverlyBroad {
		broad = append(broad, b.ID)
	}
	if !reflect.DeepEqual(broad, []string{"acl-1/ingress/300", "sg-1/ingress/0"}) {
		t.Fatalf("overly broad = %v", broad)
	}
	b := rep.OverlyBroad[1]
	if !reflect.DeepEqual(b.Remotes, []string{"10.1.1.1", "203.0.113.1", "203.0.113.2", "203.0.113.3"}) ||
		!reflect.DeepEqual(b.Ports, []string{"tcp/22", "tcp/443", "tcp/8443"}) ||
		b.Suggest != "allow tcp 22,443,8443 from 10.1.1.1/32,203.0.113.1/32,203.0.113.2/32,203.0.113.3/32" ||
		b.Why != "0.0.0.0/0, 65536 ports" {
		t.Errorf("broad = %+v", b)
	}
}

func TestOverlyBroadThresholds(t *testing.T) {
	mk := func(n, remotes, ports int) []flowlog.Record {
		var recs []flowlog.Record
		for i := 0; i < n; i++ {
			a := netip.AddrFrom4([4]byte{203, 0, 113, byte(1 + i%remotes)})
			recs = append(recs, syn(a.String(), uint16(1000+i%ports), int64(i)))
		}
		return recs
	}
	for _, tc := range []struct {
		n, remotes, ports int
		broad             bool
	}{{100, 8, 4, true}, {99, 8, 4, false}, {100, 9, 4, false}, {100, 8, 5, false}, {5000, 200, 4, false}} {
		rep := collect(twoLayerSet(), mk(tc.n, tc.remotes, tc.ports))
		_, got := find(rep.OverlyBroad, func(b rulestats.Broad) string { return b.ID }, "sg-1/ingress/0")
		if got != tc.broad {
			t.Errorf("%d hits, %d remotes, %d ports: broad %v, want %v", tc.n, tc.remotes, tc.ports, got, tc.broad)
		}
	}
}

// Replies to a stateful layer do not count as matches alone; defaults are
// counted under their ids.
func TestCollectorRepliesAndDefaults(t *testing.T) {
	r := syn("203.0.113.9", 443, 10)
	r.TCPFlags = 18 // SYN-ACK: a reply (ingress, to 443 here; only the flags matter)
	denied := flowlog.Record{Start: 20, End: 80, Src: netip.MustParseAddr("203.0.113.9"), Dst: netip.MustParseAddr("10.0.0.10"),
		SrcPort: 4000, DstPort: 53, Proto: 17, Packets: 1, Bytes: 70, Direction: flowlog.DirIngress, Iface: "eni-1"}
	rep := collect(twoLayerSet(), []flowlog.Record{r, denied})
	if h, ok := find(rep.Rules, hitsID, "default/aws-sg/reply"); !ok || h.Records != 1 || !h.Default {
		t.Errorf("reply hits = %+v", h)
	}
	if h, ok := find(rep.Rules, hitsID, "acl-1/ingress/*"); !ok || h.Records != 1 || h.Bytes != 70 {
		t.Errorf("NACL default deny hits = %+v", h)
	}
	if _, ok := find(rep.ShadowedObserved, shadowID, "sg-1/ingress/0"); ok {
		t.Errorf("a reply counted as a match of sg-1/ingress/0")
	}
}

func TestObserveAllocationFree(t *testing.T) {
	set := twoLayerSet()
	var recs []flowlog.Record
	for i := 0; i < 64; i++ {
		recs = append(recs, syn(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}).String(), uint16(20+i%12), int64(i)))
	}
	res := make([]verdict.Result, len(recs))
	verdict.NewEngine(set).JudgeAll(recs, res)
	c := rulestats.New(set)
	for i := range recs {
		c.Observe(&recs[i], &res[i])
	}
	if n := testing.AllocsPerRun(20, func() {
		for i := range recs {
			c.Observe(&recs[i], &res[i])
		}
	}); n != 0 {
		t.Errorf("Observe allocates %.1f times per %d records", n, len(recs))
	}
}

// BenchmarkRuleStats measures the statistics pass over records judged
// against the bundled demo policy: a pool of 65,536 generated records
// (judged once, outside the timer) observed 16 times = 1,048,576 records per
// iteration.
func BenchmarkRuleStats(b *testing.B) {
	dir := "../../examples/policy/aws"
	set, err := load.Files([]string{filepath.Join(dir, "describe-security-groups.json"),
		filepath.Join(dir, "describe-network-acls.json"), filepath.Join(dir, "describe-network-interfaces.json")})
	if err != nil {
		b.Fatal(err)
	}
	const pool, rounds = 1 << 16, 16
	rng := rand.New(rand.NewPCG(1, 2))
	var enis []*policy.Interface
	enis = append(enis, set.Interfaces...)
	recs := make([]flowlog.Record, pool)
	for i := range recs {
		e := enis[rng.IntN(len(enis))]
		remote := netip.AddrFrom4([4]byte{byte(rng.IntN(4) * 50), 51, byte(rng.IntN(256)), byte(rng.IntN(256))})
		if rng.IntN(3) == 0 {
			remote = netip.AddrFrom4([4]byte{10, 0, byte(1 + rng.IntN(3)), byte(rng.IntN(40))})
		}
		r := flowlog.Record{Start: int64(1763800000 + i), End: int64(1763800060 + i), Packets: int64(1 + rng.IntN(20)),
			Bytes: int64(60 + rng.IntN(9000)), Proto: []uint8{6, 6, 6, 17, 1}[rng.IntN(5)], Iface: e.ID,
			Action: flowlog.ActionAccept, TCPFlags: 2}
		if r.Proto != 1 {
			r.SrcPort, r.DstPort = uint16(32768+rng.IntN(28000)), []uint16{22, 80, 443, 5432, 8080, 53}[rng.IntN(6)]
		}
		if rng.IntN(2) == 0 {
			r.Direction, r.Src, r.Dst = flowlog.DirIngress, remote, e.Addrs[0]
		} else {
			r.Direction, r.Src, r.Dst = flowlog.DirEgress, e.Addrs[0], remote
			r.SrcPort, r.DstPort = r.DstPort, r.SrcPort
			r.TCPFlags = 18
		}
		recs[i] = r
	}
	res := make([]verdict.Result, pool)
	verdict.NewEngine(set).JudgeAll(recs, res)
	m := benchutil.Start(b)
	var n int64
	for it := 0; it < b.N; it++ {
		c := rulestats.New(set)
		for k := 0; k < rounds; k++ {
			for i := range recs {
				c.Observe(&recs[i], &res[i])
			}
		}
		n += pool * rounds
		if rep := c.Report(nil); len(rep.Rules) == 0 {
			b.Fatal("no hits")
		}
	}
	m.Stop(n)
}
