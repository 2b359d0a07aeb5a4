package whatif

import (
	"net/netip"
	"os"
	"runtime"
	"testing"

	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/input"
	"github.com/flowsift/flowsift/internal/benchutil"
	"github.com/flowsift/flowsift/internal/flowgen"
)

const benchRecords = 1_000_000

func benchInput(b *testing.B) string {
	return benchutil.File(b, "whatif-aws-v2-1m.log", func(p string) error {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		if err := flowgen.AWSText(f, benchRecords, nil, 7); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
}

// benchConnsInput: 1M records over 20,000 connections (ephemeral client
// ports fixed per connection, both directions logged) in one hour — the
// flow logs of a VPC, where records repeat.
func benchConnsInput(b *testing.B) string {
	return benchutil.File(b, "whatif-aws-v2-1m-20kconns.log", func(p string) error {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		if err := flowgen.AWSTextConns(f, benchRecords, 20_000, 3600, 7); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
}

func pfx(s string) []netip.Prefix { return []netip.Prefix{netip.MustParsePrefix(s)} }

func rule(id string, a policy.Action, proto int16, lo, hi uint16, remote string, k policy.Kind, prio int) *policy.Rule {
	r := &policy.Rule{ID: id, Identity: id, Action: a, Proto: proto, ICMPType: -1, ICMPCode: -1, Remote: pfx(remote), Kind: k, Priority: prio}
	if proto == 6 || proto == 17 {
		r.Ports = []policy.PortRange{{Lo: lo, Hi: hi}}
	}
	r.Text = policy.Describe(r)
	return r
}

// benchSets builds a NACL + security group policy over the interfaces of
// the generated flows; the proposed set narrows HTTPS to 10.0.0.0/8 and
// replies to Linux ephemeral ports, so many flows change.
func benchSets(recs []flowlog.Record, proposed bool) *policy.Set {
	nacl := &policy.Layer{Name: "acl-bench", Kind: policy.KindAWSNACL}
	nk := policy.KindAWSNACL
	nacl.In.Rules = []*policy.Rule{
		rule("acl-bench/ingress/90", policy.Deny, -1, 0, 0, "198.51.100.0/24", nk, 90),
		rule("acl-bench/ingress/100", policy.Allow, 6, 0, 65535, "0.0.0.0/0", nk, 100),
		rule("acl-bench/ingress/110", policy.Allow, 17, 0, 65535, "0.0.0.0/0", nk, 110),
		rule("acl-bench/ingress/120", policy.Allow, 1, 0, 0, "0.0.0.0/0", nk, 120),
	}
	reply := uint16(1024)
	if proposed {
		reply = 32768
	}
	nacl.Out.Rules = []*policy.Rule{
		rule("acl-bench/egress/100", policy.Allow, 6, reply, 65535, "0.0.0.0/0", nk, 100),
		rule("acl-bench/egress/110", policy.Allow, 6, 0, 1023, "0.0.0.0/0", nk, 110),
		rule("acl-bench/egress/120", policy.Allow, 17, 0, 65535, "0.0.0.0/0", nk, 120),
	}
	nacl.In.Default = policy.Outcome{Action: policy.Deny, ID: "acl-bench/ingress/*"}
	nacl.Out.Default = policy.Outcome{Action: policy.Deny, ID: "acl-bench/egress/*"}
	sg := &policy.Layer{Name: "sg-bench", Kind: policy.KindAWSSG}
	sk := policy.KindAWSSG
	https := "0.0.0.0/0"
	if proposed {
		https = "10.0.0.0/8"
	}
	sg.In.Rules = []*policy.Rule{
		rule("sg-bench/ingress/0", policy.Allow, 6, 443, 443, https, sk, 0),
		rule("sg-bench/ingress/1", policy.Allow, 6, 80, 80, "0.0.0.0/0", sk, 0),
		rule("sg-bench/ingress/2", policy.Allow, 6, 22, 22, "10.0.0.0/8", sk, 0),
		rule("sg-bench/ingress/3", policy.Allow, 6, 5432, 5432, "10.0.0.0/16", sk, 0),
		rule("sg-bench/ingress/4", policy.Allow, 17, 53, 53, "0.0.0.0/0", sk, 0),
	}
	sg.Out.Rules = []*policy.Rule{rule("sg-bench/egress/0", policy.Allow, -1, 0, 0, "0.0.0.0/0", sk, 0)}
	sg.In.Default = policy.Outcome{Action: policy.Deny, ID: "default/aws-sg/deny"}
	sg.Out.Default = sg.In.Default
	set := &policy.Set{}
	seen := map[string]bool{}
	for i := range recs {
		r := &recs[i]
		if seen[r.Iface] {
			continue
		}
		seen[r.Iface] = true
		// The default format has no direction: the interface owns the
		// 10.0/16 side.
		local := r.Dst
		if !netip.MustParsePrefix("10.0.0.0/16").Contains(local) {
			local = r.Src
		}
		set.Interfaces = append(set.Interfaces, &policy.Interface{ID: r.Iface, Provider: "aws", Addrs: []netip.Addr{local},
			Layers: []*policy.Layer{nacl, sg}})
	}
	set.Index()
	return set
}

func loadBench(b *testing.B, path string) []flowlog.Record {
	recs := make([]flowlog.Record, 0, benchRecords)
	_, err := input.Run(input.Expand([]string{path}, nil), input.Options{}, func(r *flowlog.Record) error {
		recs = append(recs, r.Clone())
		return nil
	})
	if err != nil || len(recs) < benchRecords {
		b.Fatalf("read %d records: %v", len(recs), err)
	}
	return recs
}

// BenchmarkWhatifJudge: the judge path over 1M in-memory records, every
// one a distinct flow (the worst case) — aggregation into the key table,
// reply sides, both compiled evaluations per distinct row and the report
// accumulation.
func BenchmarkWhatifJudge(b *testing.B) { benchJudge(b, benchInput(b)) }

// BenchmarkWhatifJudgeConns: the judge path over 1M records of 20,000
// connections in one hour (realistic repetition).
func BenchmarkWhatifJudgeConns(b *testing.B) { benchJudge(b, benchConnsInput(b)) }

func benchJudge(b *testing.B, path string) {
	recs := loadBench(b, path)
	c := NewComparison(benchSets(recs, false), benchSets(recs, true))
	var changed int64
	m := benchutil.Start(b)
	for i := 0; i < b.N; i++ {
		agg := NewAggregator()
		for j := range recs {
			agg.Add(&recs[j])
		}
		bl := c.NewBuilder(10)
		agg.Rows(bl.Add)
		rep := bl.Report()
		changed = rep.NewlyDenied.Flows + rep.NewlyAllowed.Flows
	}
	m.Stop(int64(b.N) * int64(len(recs)))
	if changed == 0 {
		b.Fatal("nothing changed")
	}
}

// BenchmarkWhatifAggregate: the key table alone (Add per record), every
// record a distinct flow.
func BenchmarkWhatifAggregate(b *testing.B) { benchAggregate(b, benchInput(b)) }

// BenchmarkWhatifAggregateConns: the key table alone over 20,000
// connections.
func BenchmarkWhatifAggregateConns(b *testing.B) { benchAggregate(b, benchConnsInput(b)) }

func benchAggregate(b *testing.B, path string) {
	recs := loadBench(b, path)
	agg := NewAggregator()
	for j := range recs { // warm: the table has grown
		agg.Add(&recs[j])
	}
	m := benchutil.Start(b)
	for i := 0; i < b.N; i++ {
		for j := range recs {
			agg.Add(&recs[j])
		}
	}
	m.Stop(int64(b.N) * int64(len(recs)))
}

// BenchmarkWhatifFile: the whole streaming path from the generated AWS
// file (reader included), every record a distinct flow.
func BenchmarkWhatifFile(b *testing.B) { benchFile(b, benchInput(b)) }

// BenchmarkWhatifFileConns: the whole streaming path over 1M records of
// 20,000 connections in one hour.
func BenchmarkWhatifFileConns(b *testing.B) { benchFile(b, benchConnsInput(b)) }

func benchFile(b *testing.B, path string) {
	recs := loadBench(b, path)
	before, after := benchSets(recs, false), benchSets(recs, true)
	recs = nil
	m := benchutil.Start(b)
	var n int64
	for i := 0; i < b.N; i++ {
		// As flowsift whatif: compiled per run, the policy space diffed
		// while the traffic is read.
		c := NewComparison(before, after)
		c.SpaceAhead()
		// As flowsift whatif reads files: a range of the file per CPU.
		parts, _, err := input.RunParts(input.Expand([]string{path}, nil), input.Options{}, runtime.GOMAXPROCS(0), NewAggregator, (*Aggregator).Add)
		if err != nil {
			b.Fatal(err)
		}
		agg := MergeAll(parts)
		bl := c.NewBuilder(10)
		bl.AddAll(agg, runtime.GOMAXPROCS(0))
		bl.Report()
		n += agg.Records
	}
	m.Stop(n)
}

// TestJudgeRowNoAlloc: an unchanged row costs no allocation.
func TestJudgeRowNoAlloc(t *testing.T) {
	c := compare(t, bundledPolicy, bundledPolicy)
	recs := readRecords(t, bundledFlows...)
	agg := NewAggregator()
	for i := range recs {
		agg.Add(&recs[i])
	}
	var rows []Row
	agg.Rows(func(r *Row) { rows = append(rows, *r) })
	b := c.NewBuilder(10)
	for i := range rows {
		b.Add(&rows[i])
	}
	allocs := testing.AllocsPerRun(20, func() {
		for i := range rows {
			b.Add(&rows[i])
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per pass over %d rows", allocs, len(rows))
	}
	allocs = testing.AllocsPerRun(20, func() {
		for i := range recs {
			agg.Add(&recs[i])
		}
	})
	if allocs != 0 {
		t.Errorf("aggregator: %.1f allocations per pass over %d known records", allocs, len(recs))
	}
}
