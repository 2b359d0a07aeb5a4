package whatif

import (
	"cmp"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
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

	spaceOnce sync.Once
	spaceDone chan struct{}
	space     []ScopeSpace
}

// spaceLimit bounds the examples of each scope's space difference.
const spaceLimit = 20

// SpaceAhead starts computing the difference in allowed space (the
// report's Space, which depends on the policies only) on a goroutine of
// its own, so that it overlaps the reading of the traffic. Report waits
// for it; without SpaceAhead, Report computes it itself.
func (c *Comparison) SpaceAhead() {
	c.spaceOnce.Do(func() {
		c.spaceDone = make(chan struct{})
		go func() {
			c.space = SpaceDiff(c.Before, c.After, spaceLimit)
			close(c.spaceDone)
		}()
	})
}

// spaceDiff is the result SpaceAhead started.
func (c *Comparison) spaceDiff() []ScopeSpace {
	c.SpaceAhead()
	<-c.spaceDone
	return slices.Clone(c.space)
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
		j.Attribution = c.Diff.Attribute(&j.Before, &j.After, rec.Iface)
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
	groups   map[groupKey]*grp
	impacts  map[string]*Impact
	peers    map[Change]map[netip.Addr]struct{}
	impPeers map[impKey]map[netip.Addr]struct{}
	exposed  map[expKey]*exp
	expSrc   map[expKey]map[netip.Addr]struct{}
	timeline map[int64]*TimePoint
	scopeHit map[string]int64 // flows per scope that has binding changes
	// counts: the observation of each diff entry (by DiffEntry.idx), kept
	// here so that builders of one comparison do not share them.
	counts []entryCounts
	first  bool
	// slab: groups are carved from chunks (no allocation per group);
	// ruleLists: the distinct deciding-id lists, shared by the groups.
	slab      []grp
	ruleLists map[string][]string
	keyBuf    []byte
}

type entryCounts struct{ HitsBefore, HitsAfter, Changed int64 }

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
	b := &Builder{c: c, top: top, groups: map[groupKey]*grp{}, impacts: map[string]*Impact{},
		peers: map[Change]map[netip.Addr]struct{}{}, impPeers: map[impKey]map[netip.Addr]struct{}{},
		exposed: map[expKey]*exp{}, expSrc: map[expKey]map[netip.Addr]struct{}{},
		timeline: map[int64]*TimePoint{}, scopeHit: map[string]int64{}, first: true, ruleLists: map[string][]string{}}
	b.counts = make([]entryCounts, len(c.Diff.Entries))
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
	b.c.Judge(&b.rec, row.Reply, &b.j)
	b.accumulate(row, &b.j)
}

// judgeChunk is a stretch of rows on their way through AddAll.
type judgeChunk struct {
	rows  []Row
	js    []Judgment
	rec   flowlog.Record
	ready chan struct{} // receives once the rows are judged
}

const judgeChunkRows = 512

// AddAll adds every row of a, as a.Rows(b.Add) does, with the judging
// spread over workers goroutines: the rows are accumulated in table order
// on the caller's goroutine, so the report is the same.
func (b *Builder) AddAll(a *Aggregator, workers int) {
	if workers < 2 {
		a.Rows(b.Add)
		return
	}
	free := make(chan *judgeChunk, 2*workers+2)
	for range cap(free) {
		free <- &judgeChunk{rows: make([]Row, 0, judgeChunkRows), js: make([]Judgment, judgeChunkRows), ready: make(chan struct{}, 1)}
	}
	todo := make(chan *judgeChunk, cap(free))
	inOrder := make(chan *judgeChunk, cap(free))
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ch := range todo {
				for i := range ch.rows {
					RecordOf(&ch.rows[i], &ch.rec)
					b.c.Judge(&ch.rec, ch.rows[i].Reply, &ch.js[i])
				}
				ch.ready <- struct{}{}
			}
		}()
	}
	go func() {
		cur := <-free
		a.Rows(func(r *Row) {
			cur.rows = append(cur.rows, *r)
			if len(cur.rows) == judgeChunkRows {
				todo <- cur
				inOrder <- cur
				cur = <-free
			}
		})
		if len(cur.rows) > 0 {
			todo <- cur
			inOrder <- cur
		}
		close(todo)
		close(inOrder)
	}()
	for ch := range inOrder {
		<-ch.ready
		for i := range ch.rows {
			b.accumulate(&ch.rows[i], &ch.js[i])
		}
		ch.rows = ch.rows[:0]
		free <- ch
	}
	wg.Wait()
}

// accumulate adds a judged row to the report.
func (b *Builder) accumulate(row *Row, j *Judgment) {
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
					b.counts[e.idx].HitsBefore += row.Flows
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
					b.counts[e.idx].HitsAfter += row.Flows
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

// grp is a changed connection while rows are added (strings are made
// once, in Report).
type grp struct {
	k                                 groupKey
	before, after                     verdict.Verdict
	proto                             uint8
	flows, replyFlows, packets, bytes int64
	first, last                       int64
	rulesBefore, rulesAfter           []string
	ex                                [3]Row
	nex                               int
}

// exp is an exposure while rows are added.
type exp struct {
	ex      Exposure
	sources []netip.Addr
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
		if len(b.slab) == cap(b.slab) {
			b.slab = make([]grp, 0, 1024)
		}
		b.slab = append(b.slab, grp{k: k, before: j.Before.Verdict, after: j.After.Verdict, proto: row.Proto, first: row.First,
			last: row.Last, rulesBefore: b.ruleList(j.Before.Rules), rulesAfter: b.ruleList(j.After.Rules)})
		g = &b.slab[len(b.slab)-1]
		b.groups[k] = g
	}
	g.flows += row.Flows
	g.packets += row.Packets
	g.bytes += row.Bytes
	if row.Reply.Reply {
		g.replyFlows += row.Flows
	}
	g.first = min(g.first, row.First)
	g.last = max(g.last, row.Last)
	if g.nex < len(g.ex) {
		g.ex[g.nex] = *row
		g.nex++
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
		b.counts[e.idx].Changed += row.Flows
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
			ex = &exp{ex: Exposure{Iface: row.Iface, Port: k.dport, Proto: row.Proto, AttributedTo: j.Attribution}}
			b.exposed[ek] = ex
			b.expSrc[ek] = map[netip.Addr]struct{}{}
		}
		ex.ex.Flows += row.Flows
		ex.ex.Bytes += row.Bytes
		if _, ok := b.expSrc[ek][k.src]; !ok {
			b.expSrc[ek][k.src] = struct{}{}
			if len(ex.sources) < 20 {
				ex.sources = append(ex.sources, k.src)
			}
		}
	}
}

// ruleList returns a copy of ids shared with every group that has the same
// list (the lists are never modified).
func (b *Builder) ruleList(ids []string) []string {
	k := b.keyBuf[:0]
	for _, id := range ids {
		k = append(k, id...)
		k = append(k, 0)
	}
	b.keyBuf = k
	if l, ok := b.ruleLists[string(k)]; ok {
		return l
	}
	l := append([]string{}, ids...)
	b.ruleLists[string(k)] = l
	return l
}

func (g *grp) group() *Group {
	out := &Group{Change: g.k.change, Transition: g.before.String() + "->" + g.after.String(), AttributedTo: g.k.attribute,
		Iface: g.k.iface, Direction: g.k.dir.String(), Src: g.k.src.String(), Dst: g.k.dst.String(), DstPort: g.k.dport,
		Proto: g.proto, Flows: g.flows, ReplyFlows: g.replyFlows, Packets: g.packets, Bytes: g.bytes, First: g.first, Last: g.last,
		LastText: timeText(g.last), RulesBefore: g.rulesBefore, RulesAfter: g.rulesAfter, Examples: []Example{}}
	for _, r := range g.ex[:g.nex] {
		out.Examples = append(out.Examples, Example{Src: r.Src.String(), SrcPort: r.SrcPort, Dst: r.Dst.String(), DstPort: r.DstPort,
			Proto: r.Proto, Direction: r.Direction.String(), Reply: r.Reply.Reply, Start: r.First, Flows: r.Flows, Bytes: r.Bytes})
	}
	return out
}

// Report finishes the report (call once).
func (b *Builder) Report() *Report {
	r := &b.rep
	for ch, ps := range b.peers {
		if s := r.summary(ch); s != nil {
			s.Peers = len(ps)
		}
	}
	// Only the first groups of each list are shown: bounded selections in
	// grpCmp order instead of sorting every group.
	den, alw, unk := topK{k: b.top}, topK{k: b.top}, topK{k: b.top}
	imTop := map[string]*topK{}
	for _, gi := range b.groups {
		switch gi.k.change {
		case NewlyDenied:
			r.NewlyDenied.Connections++
			den.add(gi)
		case NewlyAllowed:
			r.NewlyAllowed.Connections++
			alw.add(gi)
		default:
			r.Unknown.Connections++
			unk.add(gi)
		}
		b.impacts[gi.k.attribute].summary(gi.k.change).Connections++
		t := imTop[gi.k.attribute]
		if t == nil {
			t = &topK{k: 5}
			imTop[gi.k.attribute] = t
		}
		t.add(gi)
	}
	r.Denied, r.Allowed, r.UnknownGroups = den.groups(), alw.groups(), unk.groups()
	for id, t := range imTop {
		b.impacts[id].Examples = t.groups()
	}
	for _, s := range []*Summary{&r.NewlyDenied, &r.NewlyAllowed, &r.Unknown} {
		s.LastText = timeText(s.Last)
	}
	for k, ps := range b.impPeers {
		b.impacts[k.id].summary(k.change).Peers = len(ps)
	}
	for _, im := range b.impacts {
		im.fill()
		for _, s := range []*Summary{&im.Denied, &im.Allowed, &im.Unknown} {
			s.LastText = timeText(s.Last)
		}
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
		x := ex.ex
		x.Dst = k.dst.String()
		x.SourceCount = len(b.expSrc[k])
		x.Sources = []string{}
		for _, a := range ex.sources {
			x.Sources = append(x.Sources, a.String())
		}
		r.Exposed = append(r.Exposed, &x)
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
	for _, de := range b.c.Diff.Entries {
		e := *de
		c := &b.counts[e.idx]
		e.HitsBefore, e.HitsAfter, e.Changed = c.HitsBefore, c.HitsAfter, c.Changed
		if e.Status == Binding {
			e.HitsBefore = b.scopeHit[e.Scope]
			e.HitsAfter = e.HitsBefore
		}
		e.Observed = e.HitsBefore > 0 || e.HitsAfter > 0 || e.Changed > 0
		e.Safe = (e.Status == Removed || e.Status == Modified) && e.HitsBefore == 0 && e.HitsAfter == 0 && e.Changed == 0
		r.Diff = append(r.Diff, e)
		if !e.Observed {
			r.Unobserved = append(r.Unobserved, e)
		}
	}
	r.Space = b.c.spaceDiff()
	r.Totals.FirstText, r.Totals.LastText = timeText(r.Totals.First), timeText(r.Totals.Last)
	return r
}

// topK keeps the first k groups in grpCmp order.
type topK struct {
	k  int
	gs []*grp
}

func (t *topK) add(g *grp) {
	if len(t.gs) == t.k && grpCmp(g, t.gs[t.k-1]) >= 0 {
		return
	}
	i, _ := slices.BinarySearchFunc(t.gs, g, grpCmp)
	if len(t.gs) < t.k {
		t.gs = append(t.gs, nil)
	}
	copy(t.gs[i+1:], t.gs[i:len(t.gs)-1])
	t.gs[i] = g
}

// groups is nil when empty (as the lists were).
func (t *topK) groups() []*Group {
	var out []*Group
	for _, g := range t.gs {
		out = append(out, g.group())
	}
	return out
}

// grpCmp orders groups by bytes, then flows (both descending), then by
// their key.
func grpCmp(a, b *grp) int {
	if c := cmp.Compare(b.bytes, a.bytes); c != 0 {
		return c
	}
	if c := cmp.Compare(b.flows, a.flows); c != 0 {
		return c
	}
	if c := a.k.src.Compare(b.k.src); c != 0 {
		return c
	}
	if c := a.k.dst.Compare(b.k.dst); c != 0 {
		return c
	}
	if c := cmp.Compare(a.k.dport, b.k.dport); c != 0 {
		return c
	}
	if c := strings.Compare(a.k.attribute, b.k.attribute); c != 0 {
		return c
	}
	if c := strings.Compare(a.k.iface, b.k.iface); c != 0 {
		return c
	}
	if c := cmp.Compare(a.k.dir, b.k.dir); c != 0 {
		return c
	}
	if c := cmp.Compare(a.k.proto, b.k.proto); c != 0 {
		return c
	}
	return strings.Compare(string(a.k.change), string(b.k.change))
}

func timeText(t int64) string {
	if t == 0 {
		return ""
	}
	return time.Unix(t, 0).UTC().Format("2006-01-02 15:04:05")
}

// Rows is the number of rows added so far.
func (b *Builder) Rows() int64 { return b.rep.Totals.Rows }
