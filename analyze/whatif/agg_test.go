package whatif

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/analyze/verdict"
	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/flowgen"
)

// genRecords: n records replaying conns connections (both directions, some
// with TCP flags, some without, some without an interface), over span
// seconds.
func genRecords(n, conns int, span int64) []flowlog.Record {
	g := flowgen.NewConns(3, conns, span, n)
	recs := make([]flowlog.Record, n)
	for i := range recs {
		f := g.Next()
		r := &recs[i]
		*r = flowlog.Record{Src: f.Src, Dst: f.Dst, SrcPort: f.SrcPort, DstPort: f.DstPort, Proto: f.Proto,
			Packets: f.Packets, Bytes: f.Bytes, Start: f.Start, End: f.End, Iface: f.Iface}
		switch i % 5 {
		case 0:
			r.TCPFlags = f.TCPFlags
		case 1:
			r.Iface = ""
		}
		if f.Ingress {
			r.Direction = flowlog.DirIngress
		} else {
			r.Direction = flowlog.DirEgress
		}
	}
	return recs
}

// TestRepliesMatchScan: the run-based reverse lookup decides every row as
// a scan of the whole table in order would.
func TestRepliesMatchScan(t *testing.T) {
	for _, tc := range []struct {
		n, conns int
		span     int64
	}{{4000, 300, 3600}, {3000, 40, 20000}, {500, 500, 600}} {
		agg := NewAggregator()
		for _, r := range genRecords(tc.n, tc.conns, tc.span) {
			agg.Add(&r)
		}
		all := make([]uint64, agg.Len())
		for i := range all {
			all[i] = uint64(i)
		}
		reps := agg.replies()
		var byRev int
		for i := range agg.entries.n {
			if agg.entries.at(i).key.cls != clsUndecided {
				continue
			}
			want, ok := agg.reverse(i, all)
			if !ok {
				want = verdict.Reply{}
			}
			if reps[i] != want {
				t.Fatalf("%+v row %d %+v: reply %+v, scan says %+v", tc, i, agg.entries.at(i).key, reps[i], want)
			}
			if want.Basis == verdict.BasisReverse {
				byRev++
			}
		}
		if byRev == 0 {
			t.Errorf("%+v: no row decided by its reverse", tc)
		}
	}
}

// TestReportTopGroups: the bounded selections list exactly the first
// groups of a full sort, per change and per impact.
func TestReportTopGroups(t *testing.T) {
	recs := genRecords(20000, 3000, 7200)
	c := NewComparison(benchSets(recs, false), benchSets(recs, true))
	agg := NewAggregator()
	for i := range recs {
		agg.Add(&recs[i])
	}
	b := c.NewBuilder(7)
	agg.Rows(b.Add)
	rep := b.Report()
	var all []*grp
	for _, g := range b.groups {
		all = append(all, g)
	}
	slices.SortFunc(all, grpCmp)
	first := func(keep func(*grp) bool, n int) []string {
		var out []string
		for _, g := range all {
			if keep(g) && len(out) < n {
				out = append(out, groupText(g.group()))
			}
		}
		return out
	}
	texts := func(gs []*Group) []string {
		var out []string
		for _, g := range gs {
			out = append(out, groupText(g))
		}
		return out
	}
	if rep.NewlyDenied.Connections <= 7 || len(rep.ByChange) < 2 {
		t.Fatalf("too few changes to test: %d denied, %d impacts", rep.NewlyDenied.Connections, len(rep.ByChange))
	}
	for _, tc := range []struct {
		ch   Change
		list []*Group
	}{{NewlyDenied, rep.Denied}, {NewlyAllowed, rep.Allowed}, {ToUnknown, rep.UnknownGroups}} {
		want := first(func(g *grp) bool { return g.k.change == tc.ch || (tc.ch == ToUnknown && g.k.change == FromUnknown) }, 7)
		if got := texts(tc.list); !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", tc.ch, got, want)
		}
	}
	for _, im := range rep.ByChange {
		want := first(func(g *grp) bool { return g.k.attribute == im.ID }, 5)
		if got := texts(im.Examples); !slices.Equal(got, want) {
			t.Errorf("impact %s: got %v, want %v", im.ID, got, want)
		}
	}
}

func groupText(g *Group) string {
	return fmt.Sprintf("%s %s %s %s>%s:%d/%d %d %d %s", g.Change, g.Iface, g.Direction, g.Src, g.Dst, g.DstPort, g.Proto, g.Bytes, g.Flows, g.AttributedTo)
}

// TestAggregatorQueue: records wait in a short prefetch queue before they
// are folded in; Len and Rows see every record added so far, whenever
// they are called, and the rows equal a key-by-key count made here.
func TestAggregatorQueue(t *testing.T) {
	recs := readRecords(t, bundledFlows...)
	if len(recs) < 100 {
		t.Fatalf("only %d bundled records", len(recs))
	}
	type key struct {
		iface        string
		src, dst     netip.Addr
		sport, dport uint16
		proto        uint8
		dir          flowlog.Direction
		bucket       int64
	}
	want := map[key]int64{}
	a := NewAggregator()
	for i := range recs {
		r := &recs[i]
		a.Add(r)
		want[key{r.Iface, r.Src.Unmap(), r.Dst.Unmap(), r.SrcPort, r.DstPort, r.Proto, r.Direction, r.Start / BucketWidth * BucketWidth}] += r.Packets
		if i%7 == 3 {
			// Rows split by TCP flag class can outnumber these keys, never
			// the other way round.
			n := 0
			for range want {
				n++
			}
			if got := a.Len(); got < n {
				t.Fatalf("after %d records Len is %d, want at least %d", i+1, got, n)
			}
		}
	}
	got := map[key]int64{}
	a.Rows(func(r *Row) {
		got[key{r.Iface, r.Src, r.Dst, r.SrcPort, r.DstPort, r.Proto, r.Direction, r.Bucket}] += r.Packets
	})
	if len(got) != len(want) {
		t.Fatalf("%d keys in the rows, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%+v: %d packets in the rows, want %d", k, got[k], v)
		}
	}
}

// TestMergeAsOne: aggregators of consecutive stretches of the records,
// merged in order, give the rows of one aggregator fed every record —
// the same rows in the same order with the same reply sides (reverse rows
// are consulted in table order) — whatever the cut points, and the
// interface ids of the parts differ.
func TestMergeAsOne(t *testing.T) {
	recs := append(readRecords(t, bundledFlows...), genRecords(30_000, 400, 7200)...)
	rows := func(a *Aggregator) []Row {
		var out []Row
		a.Rows(func(r *Row) { out = append(out, *r) })
		return out
	}
	one := NewAggregator()
	for i := range recs {
		one.Add(&recs[i])
	}
	want := rows(one)
	for _, cuts := range [][]int{{0}, {50}, {len(recs) / 3, len(recs) / 2}, {7, 8, 9, 20_000}} {
		var parts []*Aggregator
		lo := 0
		for _, hi := range append(cuts, len(recs)) {
			p := NewAggregator()
			for i := lo; i < hi; i++ {
				p.Add(&recs[i])
			}
			parts = append(parts, p)
			lo = hi
		}
		m := MergeAll(parts)
		if m.Records != int64(len(recs)) {
			t.Errorf("cuts %v: %d records, want %d", cuts, m.Records, len(recs))
		}
		got := rows(m)
		if len(got) != len(want) {
			t.Fatalf("cuts %v: %d rows, want %d", cuts, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("cuts %v: row %d is\n%+v, want\n%+v", cuts, i, got[i], want[i])
			}
		}
	}
	if MergeAll(nil).Len() != 0 {
		t.Error("MergeAll(nil) is not empty")
	}
}

// TestAddAllSameReport: judging on several goroutines (Builder.AddAll)
// gives the report of judging row by row, many changed rows included.
func TestAddAllSameReport(t *testing.T) {
	recs := genRecords(40_000, 3000, 7200)
	c := NewComparison(benchSets(recs, false), benchSets(recs, true))
	a := NewAggregator()
	for i := range recs {
		a.Add(&recs[i])
	}
	report := func(add func(*Builder)) string {
		b := c.NewBuilder(10)
		add(b)
		out, err := json.Marshal(b.Report())
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	want := report(func(b *Builder) { a.Rows(b.Add) })
	if !strings.Contains(want, `"newly_denied":{"connections":`) || strings.Contains(want, `"newly_denied":{"connections":0`) {
		t.Fatalf("the scenario changes nothing: %.300s", want)
	}
	for _, workers := range []int{1, 2, 3} {
		if got := report(func(b *Builder) { b.AddAll(a, workers) }); got != want {
			t.Fatalf("%d workers: reports differ:\n%.2000s\n%.2000s", workers, got, want)
		}
	}
}

// TestSpaceDiffShared: scopes with the same layers are computed once and
// get the difference each would get alone; a scope with other local
// prefixes (the NACL bypass) is computed on its own.
func TestSpaceDiffShared(t *testing.T) {
	recs := genRecords(5_000, 300, 3600)
	before, after := benchSets(recs, false), benchSets(recs, true)
	// One interface of each set with a local prefix: its NACL is skipped
	// for remotes inside it, so its space differs from the others'.
	for _, s := range []*policy.Set{before, after} {
		s.Interfaces[0].Local = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		s.Interfaces[0].Layers[0].SkipLocal = true // the NACL, shared by all
	}
	got := SpaceDiff(before, after, 20)
	bs, as := scopesOf(before), scopesOf(after)
	var want []ScopeSpace
	names := slices.Sorted(maps.Keys(bs))
	for _, n := range names {
		for _, ss := range scopeDiff(bs[n], true, as[n], true, 20) {
			ss.Scope = n
			want = append(want, ss)
		}
	}
	if len(names) < 10 || len(got) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%d scopes: shared computation differs:\n%v\n%v", len(names), got, want)
	}
	first := "interface " + before.Interfaces[0].ID
	var a, o string
	for _, ss := range got {
		if ss.Scope == first {
			a += fmt.Sprint(ss.NewlyAllowed, ss.NewlyDenied)
		} else if ss.Scope == "interface "+before.Interfaces[1].ID {
			o += fmt.Sprint(ss.NewlyAllowed, ss.NewlyDenied)
		}
	}
	if a == o {
		t.Errorf("the interface with local prefixes got the others' difference: %s", a)
	}
}

// TestAttributeOwnInterface: with several interfaces described only in the
// proposed set, a record's change is attributed to its own interface,
// every run the same.
func TestAttributeOwnInterface(t *testing.T) {
	sg := &policy.Layer{Name: "sg-x", Kind: policy.KindAWSSG}
	sg.In.Rules = []*policy.Rule{rule("sg-x/ingress/0", policy.Allow, 6, 443, 443, "0.0.0.0/0", policy.KindAWSSG, 0)}
	sg.In.Default = policy.Outcome{Action: policy.Deny, ID: "default/aws-sg/deny"}
	sg.Out.Default = sg.In.Default
	// eni-d has no layer at all: its change reaches the last resort of
	// Attribute (no layer on either side to name a binding).
	layers := func(id string) []*policy.Layer {
		if id == "eni-d" {
			return nil
		}
		return []*policy.Layer{sg}
	}
	mk := func(ids ...string) *policy.Set {
		s := &policy.Set{}
		for i, id := range ids {
			s.Interfaces = append(s.Interfaces, &policy.Interface{ID: id, Provider: "aws",
				Addrs: []netip.Addr{netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)})}, Layers: layers(id)})
		}
		s.Index()
		return s
	}
	c := NewComparison(mk("eni-a"), mk("eni-a", "eni-b", "eni-c", "eni-d"))
	for run := 0; run < 20; run++ {
		for i, id := range []string{"eni-b", "eni-c", "eni-d"} {
			rec := flowlog.Record{Iface: id, Src: netip.MustParseAddr("198.51.100.7"), Dst: netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 2)}),
				SrcPort: 40000, DstPort: 443, Proto: 6, Direction: flowlog.DirIngress}
			var j Judgment
			c.Judge(&rec, verdict.Reply{}, &j)
			if j.Change == NoChange || j.Attribution != "interface:"+id {
				t.Fatalf("run %d: %s: change %q attributed to %q", run, id, j.Change, j.Attribution)
			}
		}
	}
}
