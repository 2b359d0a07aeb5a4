package whatif

import (
	"net/netip"
	"sort"
	"time"

	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/analyze/verdict"
	"github.com/flowsift/flowsift/flowlog"
)

// Change is a verdict change of POLICY.md 10.
type Change string

const (
	NoChange     Change = ""
	NewlyDenied  Change = "newly-denied"  // accept → reject
	NewlyAllowed Change = "newly-allowed" // reject → accept
	// ToUnknown / FromUnknown: transitions from or to unknown, listed apart
	// (their per-flow change is "").
	ToUnknown   Change = "to-unknown"
	FromUnknown Change = "from-unknown"
)

// Classify returns the change between two verdicts.
func Classify(before, after verdict.Verdict) Change {
	switch {
	case before == after:
		return NoChange
	case before == verdict.Accept && after == verdict.Reject:
		return NewlyDenied
	case before == verdict.Reject && after == verdict.Accept:
		return NewlyAllowed
	case after == verdict.Unknown:
		return ToUnknown
	}
	return FromUnknown
}

// PerFlow is the per-record change: newly-denied, newly-allowed or "".
func (c Change) PerFlow() Change {
	if c == NewlyDenied || c == NewlyAllowed {
		return c
	}
	return NoChange
}

// Comparison judges records under a current and a proposed policy set with
// the compiled engine of analyze/verdict (the same semantics as analyze).
type Comparison struct {
	Before, After *policy.Set
	Diff          *Diff
	eb, ea        *verdict.Engine
}

// NewComparison compiles both sets and diffs them.
func NewComparison(before, after *policy.Set) *Comparison {
	return &Comparison{Before: before, After: after, Diff: NewDiff(before, after),
		eb: verdict.NewEngine(before), ea: verdict.NewEngine(after)}
}

// Judgment is one record judged under both sets.
type Judgment struct {
	Before, After verdict.Result
	Change        Change
	Attribution   string // "" when the verdict did not change
}

// Judge judges one record whose reply side is known. It allocates only
// when the verdict changed (attribution).
func (c *Comparison) Judge(rec *flowlog.Record, rep verdict.Reply, j *Judgment) {
	c.eb.Evaluate(rec, rep, &j.Before)
	c.ea.Evaluate(rec, rep, &j.After)
	j.Change = Classify(j.Before.Verdict, j.After.Verdict)
	j.Attribution = ""
	if j.Change != NoChange {
		j.Attribution = c.Diff.Attribute(&j.Before, &j.After)
	}
}

// JudgeAll judges a batch exactly as analyze does (reply detection over
// the whole batch, POLICY.md 3). out must have len(recs) elements.
func (c *Comparison) JudgeAll(recs []flowlog.Record, out []Judgment) {
	ix := verdict.NewReplyIndex(recs)
	for i := range recs {
		c.Judge(&recs[i], ix.Detect(i), &out[i])
	}
}

// Builder accumulates a report from rows.
type Builder struct {
	c   *Comparison
	top int
	rec flowlog.Record
	j   Judgment

	rep      Report
	groups   map[groupKey]*Group
	impacts  map[string]*Impact
	peers    map[Change]map[netip.Addr]struct{}
	impPeers map[impKey]map[netip.Addr]struct{}
	exposed  map[expKey]*Exposure
	expSrc   map[expKey]map[netip.Addr]struct{}
	timeline map[int64]*TimePoint
	scopeHit map[string]int64 // flows per scope that has binding changes
	first    bool
}

type groupKey struct {
	iface     string
	dir       flowlog.Direction
	src, dst  netip.Addr
	dport     uint16
	proto     uint8
	change    Change
	attribute string
}

type impKey struct {
	id     string
	change Change
}

type expKey struct {
	iface string
	dst   netip.Addr
	port  uint16
	proto uint8
}

// NewBuilder starts a report; top bounds the examples listed per section.
func (c *Comparison) NewBuilder(top int) *Builder {
	if top <= 0 {
		top = 10
	}
	b := &Builder{c: c, top: top, groups: map[groupKey]*Group{}, impacts: map[string]*Impact{},
		peers: map[Change]map[netip.Addr]struct{}{}, impPeers: map[impKey]map[netip.Addr]struct{}{},
		exposed: map[expKey]*Exposure{}, expSrc: map[expKey]map[netip.Addr]struct{}{},
		timeline: map[int64]*TimePoint{}, scopeHit: map[string]int64{}, first: true}
	b.rep.Before = PolicyInfo{Files: c.Before.Files, Rules: len(c.Before.Rules())}
	b.rep.After = PolicyInfo{Files: c.After.Files, Rules: len(c.After.Rules())}
	return b
}

// RecordOf fills rec from a row (the judge's view of its records).
func RecordOf(row *Row, rec *flowlog.Record) {
	attrs := rec.Attrs[:0]
	*rec = flowlog.Record{Src: row.Src, Dst: row.Dst, SrcPort: row.SrcPort, DstPort: row.DstPort, Proto: row.Proto,
		Direction: row.Direction, Iface: row.Iface, Start: row.First, End: row.Last, Packets: row.Packets, Bytes: row.Bytes}
	rec.Attrs = attrs
	if row.ICMPType >= 0 {
		if row.ICMPCode >= 0 {
			rec.SetInt(flowlog.AttrIcmpCode, int64(row.ICMPCode))
		}
		rec.SetInt(flowlog.AttrIcmpType, int64(row.ICMPType))
	}
}

// Add judges one row under both sets and accumulates it. An unchanged row
// costs two compiled evaluations and no allocation.
func (b *Builder) Add(row *Row) {
	RecordOf(row, &b.rec)
	j := &b.j
	b.c.Judge(&b.rec, row.Reply, j)
	t := &b.rep.Totals
	t.Rows++
	t.Flows += row.Flows
	t.Packets += row.Packets
	t.Bytes += row.Bytes
	if b.first || row.First < t.First {
		t.First = row.First
	}
	if b.first || row.Last > t.Last {
		t.Last = row.Last
	}
	b.first = false
	d := b.c.Diff
	if len(d.Entries) > 0 {
		scope := ""
		for _, lr := range j.Before.Layers() {
			if lr.Rule != nil && d.before[lr.Rule] != "" {
				if e := d.byID[lr.ID]; e != nil {
					e.HitsBefore += row.Flows
				}
			}
			if len(d.bindings) > 0 && lr.Scope != scope && d.bindings[lr.Scope] != nil {
				scope = lr.Scope
				b.scopeHit[lr.Scope] += row.Flows
			}
		}
		for _, lr := range j.After.Layers() {
			if lr.Rule != nil && d.after[lr.Rule] != "" {
				if e := d.byID[lr.ID]; e != nil {
					e.HitsAfter += row.Flows
				}
			}
			if scope == "" && len(d.bindings) > 0 && d.bindings[lr.Scope] != nil {
				scope = lr.Scope
				b.scopeHit[lr.Scope] += row.Flows
			}
		}
	}
	if j.Change == NoChange {
		return
	}
	b.changed(row, j)
}

func (b *Builder) changed(row *Row, j *Judgment) {
	// Fold replies onto their connection (POLICY.md 10).
	k := groupKey{iface: row.Iface, dir: row.Direction, src: row.Src, dst: row.Dst, dport: row.DstPort, proto: row.Proto,
		change: j.Change, attribute: j.Attribution}
	if row.Reply.Reply {
		k.src, k.dst, k.dport = row.Dst, row.Src, row.SrcPort
		switch row.Direction {
		case flowlog.DirIngress:
			k.dir = flowlog.DirEgress
		case flowlog.DirEgress:
			k.dir = flowlog.DirIngress
		}
	}
	g := b.groups[k]
	if g == nil {
		g = &Group{Change: j.Change, Transition: j.Before.Verdict.String() + "->" + j.After.Verdict.String(),
			AttributedTo: j.Attribution, Iface: row.Iface, Direction: k.dir.String(), Src: k.src.String(), Dst: k.dst.String(),
			DstPort: k.dport, Proto: row.Proto, First: row.First, Last: row.Last,
			RulesBefore: append([]string{}, j.Before.Rules...), RulesAfter: append([]string{}, j.After.Rules...)}
		b.groups[k] = g
	}
	g.Flows += row.Flows
	g.Packets += row.Packets
	g.Bytes += row.Bytes
	if row.Reply.Reply {
		g.ReplyFlows += row.Flows
	}
	g.First = min(g.First, row.First)
	g.Last = max(g.Last, row.Last)
	if len(g.Examples) < 3 {
		g.Examples = append(g.Examples, Example{Src: row.Src.String(), SrcPort: row.SrcPort, Dst: row.Dst.String(), DstPort: row.DstPort,
			Proto: row.Proto, Direction: row.Direction.String(), Reply: row.Reply.Reply, Start: row.First, Flows: row.Flows, Bytes: row.Bytes})
	}
	remote := k.src
	if k.dir == flowlog.DirEgress {
		remote = k.dst
	}
	ps := b.peers[j.Change]
	if ps == nil {
		ps = map[netip.Addr]struct{}{}
		b.peers[j.Change] = ps
	}
	ps[remote] = struct{}{}
	ik := impKey{j.Attribution, j.Change}
	ips := b.impPeers[ik]
	if ips == nil {
		ips = map[netip.Addr]struct{}{}
		b.impPeers[ik] = ips
	}
	ips[remote] = struct{}{}
	im := b.impacts[j.Attribution]
	if im == nil {
		im = &Impact{ID: j.Attribution}
		if e := b.c.Diff.Entry(j.Attribution); e != nil {
			im.Status, im.Kind, im.Scope, im.Before, im.After = e.Status, e.Kind, e.Scope, e.Before, e.After
		}
		b.impacts[j.Attribution] = im
	}
	if e := b.c.Diff.Entry(j.Attribution); e != nil {
		e.Changed += row.Flows
	}
	im.summary(j.Change).add(row)
	b.rep.summary(j.Change).add(row)
	if j.Change == NewlyDenied || j.Change == NewlyAllowed {
		tp := b.timeline[row.Bucket]
		if tp == nil {
			tp = &TimePoint{Start: row.Bucket}
			b.timeline[row.Bucket] = tp
		}
		if j.Change == NewlyDenied {
			tp.DeniedFlows += row.Flows
			tp.DeniedBytes += row.Bytes
		} else {
			tp.AllowedFlows += row.Flows
			tp.AllowedBytes += row.Bytes
		}
	}
	if j.Change == NewlyAllowed {
		ek := expKey{row.Iface, k.dst, k.dport, row.Proto}
		ex := b.exposed[ek]
		if ex == nil {
			ex = &Exposure{Iface: row.Iface, Dst: k.dst.String(), Port: k.dport, Proto: row.Proto}
			b.exposed[ek] = ex
			b.expSrc[ek] = map[netip.Addr]struct{}{}
		}
		ex.Flows += row.Flows
		ex.Bytes += row.Bytes
		if ex.AttributedTo == "" {
			ex.AttributedTo = j.Attribution
		}
		if _, ok := b.expSrc[ek][k.src]; !ok {
			b.expSrc[ek][k.src] = struct{}{}
			if len(ex.Sources) < 20 {
				ex.Sources = append(ex.Sources, k.src.String())
			}
		}
	}
}

// Report finishes the report (call once).
func (b *Builder) Report() *Report {
	r := &b.rep
	for ch, ps := range b.peers {
		if s := r.summary(ch); s != nil {
			s.Peers = len(ps)
		}
	}
	var gs []*Group
	for _, g := range b.groups {
		gs = append(gs, g)
	}
	sort.Slice(gs, func(i, j int) bool { return groupLess(gs[i], gs[j]) })
	for _, g := range gs {
		g.fill()
		switch g.Change {
		case NewlyDenied:
			r.NewlyDenied.Connections++
			if len(r.Denied) < b.top {
				r.Denied = append(r.Denied, g)
			}
		case NewlyAllowed:
			r.NewlyAllowed.Connections++
			if len(r.Allowed) < b.top {
				r.Allowed = append(r.Allowed, g)
			}
		default:
			r.Unknown.Connections++
			if len(r.UnknownGroups) < b.top {
				r.UnknownGroups = append(r.UnknownGroups, g)
			}
		}
		im := b.impacts[g.AttributedTo]
		im.summary(g.Change).Connections++
		if len(im.Examples) < 5 {
			im.Examples = append(im.Examples, g)
		}
	}
	for k, ps := range b.impPeers {
		b.impacts[k.id].summary(k.change).Peers = len(ps)
	}
	for _, im := range b.impacts {
		im.fill()
		r.ByChange = append(r.ByChange, im)
	}
	sort.Slice(r.ByChange, func(i, j int) bool {
		a, c := r.ByChange[i], r.ByChange[j]
		if a.total() != c.total() {
			return a.total() > c.total()
		}
		return a.ID < c.ID
	})
	for k, ex := range b.exposed {
		ex.SourceCount = len(b.expSrc[k])
		r.Exposed = append(r.Exposed, ex)
	}
	sort.Slice(r.Exposed, func(i, j int) bool {
		a, c := r.Exposed[i], r.Exposed[j]
		if a.Flows != c.Flows {
			return a.Flows > c.Flows
		}
		return a.Dst+a.Iface < c.Dst+c.Iface || (a.Dst+a.Iface == c.Dst+c.Iface && a.Port < c.Port)
	})
	for _, tp := range b.timeline {
		r.Timeline = append(r.Timeline, *tp)
	}
	sort.Slice(r.Timeline, func(i, j int) bool { return r.Timeline[i].Start < r.Timeline[j].Start })
	for _, e := range b.c.Diff.Entries {
		if e.Status == Binding {
			e.HitsBefore = b.scopeHit[e.Scope]
			e.HitsAfter = e.HitsBefore
		}
		e.Observed = e.HitsBefore > 0 || e.HitsAfter > 0 || e.Changed > 0
		e.Safe = (e.Status == Removed || e.Status == Modified) && e.HitsBefore == 0 && e.HitsAfter == 0 && e.Changed == 0
		r.Diff = append(r.Diff, *e)
		if !e.Observed {
			r.Unobserved = append(r.Unobserved, *e)
		}
	}
	r.Space = SpaceDiff(b.c.Before, b.c.After, 20)
	r.Totals.FirstText, r.Totals.LastText = timeText(r.Totals.First), timeText(r.Totals.Last)
	return r
}

func groupLess(a, b *Group) bool {
	if a.Bytes != b.Bytes {
		return a.Bytes > b.Bytes
	}
	if a.Flows != b.Flows {
		return a.Flows > b.Flows
	}
	if a.Src != b.Src {
		return a.Src < b.Src
	}
	if a.Dst != b.Dst {
		return a.Dst < b.Dst
	}
	return a.DstPort < b.DstPort
}

func timeText(t int64) string {
	if t == 0 {
		return ""
	}
	return time.Unix(t, 0).UTC().Format("2006-01-02 15:04:05")
}

// Rows is the number of rows added so far.
func (b *Builder) Rows() int64 { return b.rep.Totals.Rows }
