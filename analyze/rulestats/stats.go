package rulestats

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/analyze/verdict"
	"github.com/flowsift/flowsift/flowlog"
)

// Overly-broad thresholds (POLICY.md 9; flowsift's choice, 13.10).
const (
	BroadV4Bits    = 16   // an IPv4 prefix shorter than this is wide
	BroadV6Bits    = 48   // an IPv6 prefix shorter than this is wide
	BroadPorts     = 1024 // more ports than this is wide
	BroadMinHits   = 100  // at least this many hits
	BroadMaxRemote = 8    // from at most this many distinct remote addresses
	BroadMaxPorts  = 4    // to at most this many distinct (protocol, port)
)

// Distinct values are tracked up to one more than the thresholds: memory
// per rule is fixed whatever the input size.
const (
	capRemote = BroadMaxRemote + 1
	capPorts  = BroadMaxPorts + 1
)

// Hits are the records for which a rule is in `rules`.
type Hits struct {
	Records int64 `json:"records"`
	Packets int64 `json:"packets"`
	Bytes   int64 `json:"bytes"`
	First   int64 `json:"first_start"` // smallest start, unix seconds (0 when no hit)
	Last    int64 `json:"last_end"`    // largest end
}

type stat struct {
	id      string
	rule    *policy.Rule // nil for default ids without a rule
	broad   string       // why the rule is wide ("" = not a candidate)
	matched bool         // matched a record as if evaluated alone
	decided bool         // decided its layer's outcome for a record
	Hits
	nRemote uint8
	nPorts  uint8
	remotes [capRemote]netip.Addr
	ports   [capPorts]uint32 // proto<<16 | dport
}

// pend is a written rule of one chain not yet seen matching a record.
type pend struct {
	rule *policy.Rule
	idx  int32
}

// Collector accumulates rule statistics over judged records. Observe does
// not allocate in steady state: statistics live in a slice indexed by rule,
// looked up by rule pointer (built once) or, for default ids, by id (a new
// default id allocates once). Not safe for concurrent use.
type Collector struct {
	set     *policy.Set
	stats   []stat
	byRule  map[*policy.Rule]int32
	byID    map[string]int32
	pending [][]pend // by layer Seq*2 + direction
	written []int32  // indexes of written rules, in Set.Rules order
}

// New prepares a collector for records judged against set.
func New(set *policy.Set) *Collector {
	c := &Collector{set: set, byRule: map[*policy.Rule]int32{}, byID: map[string]int32{}}
	for _, r := range set.Rules() {
		c.written = append(c.written, c.index(r.ID, r))
	}
	layers := set.Layers()
	c.pending = make([][]pend, 2*len(layers))
	for _, l := range layers {
		for d, ch := range []*policy.Chain{&l.In, &l.Out} {
			for _, r := range ch.Rules {
				i := c.index(r.ID, r)
				c.byRule[r] = i
				if r.Written() && l.Seq*2+d < len(c.pending) {
					c.pending[l.Seq*2+d] = append(c.pending[l.Seq*2+d], pend{r, i})
				}
			}
			if ch.Default.ID != "" {
				c.index(ch.Default.ID, nil)
			}
		}
		if id := l.Kind.ReplyID(); id != "" {
			c.index(id, nil)
		}
	}
	return c
}

func (c *Collector) index(id string, r *policy.Rule) int32 {
	if i, ok := c.byID[id]; ok {
		if c.stats[i].rule == nil && r != nil {
			c.stats[i].rule = r
			c.stats[i].broad = broadReason(r)
		}
		return i
	}
	i := int32(len(c.stats))
	s := stat{id: id, rule: r}
	if r != nil {
		s.broad = broadReason(r)
	}
	c.stats = append(c.stats, s)
	c.byID[id] = i
	return i
}

// broadReason says why a written allow rule is wide (POLICY.md 9), or "".
func broadReason(r *policy.Rule) string {
	if !r.Written() || r.Action != policy.Allow {
		return ""
	}
	var why []string
	for _, p := range r.Remote {
		if (p.Addr().Is4() && p.Bits() < BroadV4Bits) || (!p.Addr().Is4() && p.Bits() < BroadV6Bits) {
			why = append(why, p.String())
		}
	}
	switch r.Proto {
	case -1:
		why = append(why, "all protocols")
	case 6, 17:
		n := 0
		for _, pr := range r.Ports {
			n += int(pr.Hi) - int(pr.Lo) + 1
		}
		if len(r.Ports) == 0 {
			n = 65536
		}
		if n > BroadPorts {
			why = append(why, strconv.Itoa(n)+" ports")
		}
	}
	return strings.Join(why, ", ")
}

// Observe adds one judged record (implements verdict.Observer).
func (c *Collector) Observe(rec *flowlog.Record, res *verdict.Result) {
	var q policy.Query
	qReady := false
	src, dst := rec.Src.Unmap(), rec.Dst.Unmap()
	ls := res.Layers()
	for li := range ls {
		l := &ls[li]
		remote, local := src, dst
		if l.Dir == policy.Egress {
			remote, local = dst, src
		}
		if l.ID != "" {
			s := &c.stats[c.lookup(l)]
			s.decided = true
			hit := res.Verdict == verdict.Accept ||
				(res.Verdict == verdict.Reject && l.Action == policy.Deny) ||
				(res.Verdict == verdict.Unknown && l.Action == policy.Allow)
			if hit { // the id is in res.Rules (POLICY.md 4.1)
				if s.Records == 0 || rec.Start < s.First {
					s.First = rec.Start
				}
				if rec.End > s.Last {
					s.Last = rec.End
				}
				s.Records++
				s.Packets += rec.Packets
				s.Bytes += rec.Bytes
				if s.broad != "" {
					s.track(remote, uint32(rec.Proto)<<16|uint32(rec.DstPort))
				}
			}
		}
		if l.Reply {
			continue
		}
		k := l.Layer.Seq*2 + int(l.Dir)
		if k < 0 || k >= len(c.pending) || len(c.pending[k]) == 0 {
			continue
		}
		if !qReady {
			q = verdict.QueryOf(rec)
			qReady = true
		}
		q.Remote, q.Local = remote, local
		internet := 0 // the internet test only for rules that need it
		p := c.pending[k]
		for j := 0; j < len(p); {
			s := &c.stats[p[j].idx]
			if !s.matched {
				if p[j].rule.UnknownSkipsInternet && internet == 0 {
					q.RemoteInternet, internet = c.set.IsInternet(remote), 1
				}
				if m, _ := p[j].rule.Match(&q); m == policy.Yes {
					s.matched = true
				}
			}
			if s.matched { // done with it in this chain
				p[j] = p[len(p)-1]
				p = p[:len(p)-1]
				continue
			}
			j++
		}
		c.pending[k] = p
	}
}

func (c *Collector) lookup(l *verdict.LayerResult) int32 {
	if l.Rule != nil {
		if i, ok := c.byRule[l.Rule]; ok {
			return i
		}
	}
	if i, ok := c.byID[l.ID]; ok {
		return i
	}
	return c.index(l.ID, l.Rule)
}

func (s *stat) track(remote netip.Addr, port uint32) {
	if s.nRemote < capRemote {
		found := false
		for _, a := range s.remotes[:s.nRemote] {
			if a == remote {
				found = true
				break
			}
		}
		if !found {
			s.remotes[s.nRemote] = remote
			s.nRemote++
		}
	}
	if s.nPorts < capPorts {
		for _, p := range s.ports[:s.nPorts] {
			if p == port {
				return
			}
		}
		s.ports[s.nPorts] = port
		s.nPorts++
	}
}

// RuleHits is one rule's line in the report.
type RuleHits struct {
	ID      string `json:"id"`
	Default bool   `json:"default"` // a default id (POLICY.md 4.2)
	Kind    string `json:"kind,omitempty"`
	Scope   string `json:"scope,omitempty"`
	Dir     string `json:"dir,omitempty"`
	Action  string `json:"action,omitempty"`
	Text    string `json:"text,omitempty"`
	Origin  string `json:"origin,omitempty"`
	Hits
}

// Shadowed is a written rule no packet can reach (by configuration) or
// that never decided a record it matched (by observation). "Decided" means
// decided its layer for the record, whatever the other layers did: a NACL
// allow followed by a group's default deny still decided the NACL layer, so
// it is not shadowed (it is unused when no record it decided was accepted).
type Shadowed struct {
	RuleHits
	Covering []string `json:"covering,omitempty"` // configuration: the rules deciding its packets first
	Opposite bool     `json:"opposite_action"`    // configuration: a covering rule has the other action (likely a mistake)
	Layers   []string `json:"layers,omitempty"`
}

// Redundant is a written rule whose removal changes no decision.
type Redundant struct {
	RuleHits
	Model    Model    `json:"model"`
	Covering []string `json:"covering"` // rules (or default ids) that would decide its packets instead
	Layers   []string `json:"layers,omitempty"`
}

// Broad is a wide written allow rule used by a few addresses and ports.
type Broad struct {
	RuleHits
	Why     string   `json:"why"`     // what makes it wide
	Remotes []string `json:"remotes"` // observed remote addresses
	Ports   []string `json:"ports"`   // observed "proto/port"
	Suggest string   `json:"suggest"` // the narrower rule
}

// Report is the rule statistics of POLICY.md 9.
type Report struct {
	Rules            []RuleHits  `json:"rules"`              // every rule with hits, most records first
	Unused           []RuleHits  `json:"unused"`             // written rules with no hit
	ShadowedConfig   []Shadowed  `json:"shadowed_config"`    // ordered models: covered by earlier rules
	ShadowedObserved []Shadowed  `json:"shadowed_observed"`  // matched records alone, decided none (not shadowed by configuration)
	Redundant        []Redundant `json:"redundant"`          // removable without changing any decision
	OverlyBroad      []Broad     `json:"overly_broad"`       // wide rules used narrowly
	WrittenRules     int         `json:"written_rules"`      // rules of the policy
	UsedRules        int         `json:"used_written_rules"` // written rules with at least one hit
}

func (s *stat) hits() RuleHits {
	h := RuleHits{ID: s.id, Default: policy.IsDefaultID(s.id), Hits: s.Hits}
	if r := s.rule; r != nil {
		h.Kind, h.Scope, h.Dir, h.Action, h.Text, h.Origin = r.Kind.String(), r.Scope, r.Dir.String(), r.Action.String(), r.Text, r.Origin
	}
	return h
}

// Report computes the statistics; config may be nil (then Config(set) is
// computed) or the result of an earlier Config call.
func (c *Collector) Report(config []ConfigFinding) *Report {
	if config == nil {
		config = Config(c.set)
	}
	rep := &Report{Rules: []RuleHits{}, Unused: []RuleHits{}, ShadowedConfig: []Shadowed{}, ShadowedObserved: []Shadowed{},
		Redundant: []Redundant{}, OverlyBroad: []Broad{}, WrittenRules: len(c.written)}
	for i := range c.stats {
		if c.stats[i].Records > 0 {
			rep.Rules = append(rep.Rules, c.stats[i].hits())
		}
	}
	sort.SliceStable(rep.Rules, func(i, j int) bool {
		a, b := rep.Rules[i], rep.Rules[j]
		if a.Records != b.Records {
			return a.Records > b.Records
		}
		if a.Bytes != b.Bytes {
			return a.Bytes > b.Bytes
		}
		return a.ID < b.ID
	})
	shadowCfg := map[string]bool{}
	for _, f := range config {
		s := &c.stats[c.byID[f.ID]]
		if f.Shadowed {
			shadowCfg[f.ID] = true
			rep.ShadowedConfig = append(rep.ShadowedConfig, Shadowed{RuleHits: s.hits(), Covering: f.Covering, Opposite: f.Opposite, Layers: f.Layers})
		} else if f.Redundant {
			rep.Redundant = append(rep.Redundant, Redundant{RuleHits: s.hits(), Model: f.Model, Covering: f.Covering, Layers: f.Layers})
		}
	}
	for _, i := range c.written {
		s := &c.stats[i]
		if s.Records == 0 {
			rep.Unused = append(rep.Unused, s.hits())
			if s.matched && !s.decided && !shadowCfg[s.id] {
				rep.ShadowedObserved = append(rep.ShadowedObserved, Shadowed{RuleHits: s.hits()})
			}
		} else {
			rep.UsedRules++
		}
		if s.broad != "" && s.Records >= BroadMinHits && int(s.nRemote) <= BroadMaxRemote && int(s.nPorts) <= BroadMaxPorts {
			rep.OverlyBroad = append(rep.OverlyBroad, s.broadReport())
		}
	}
	return rep
}

func (s *stat) broadReport() Broad {
	b := Broad{RuleHits: s.hits(), Why: s.broad}
	rem := append([]netip.Addr(nil), s.remotes[:s.nRemote]...)
	sort.Slice(rem, func(i, j int) bool { return rem[i].Less(rem[j]) })
	var hosts []string
	for _, a := range rem {
		b.Remotes = append(b.Remotes, a.String())
		hosts = append(hosts, netip.PrefixFrom(a, a.BitLen()).String())
	}
	ports := append([]uint32(nil), s.ports[:s.nPorts]...)
	sort.Slice(ports, func(i, j int) bool { return ports[i] < ports[j] })
	byProto := map[int16][]string{}
	var protos []int16
	for _, p := range ports {
		pr, port := int16(p>>16), p&0xffff
		txt := policy.ProtoText(pr)
		if pr == 6 || pr == 17 {
			txt += "/" + strconv.Itoa(int(port))
		}
		b.Ports = append(b.Ports, txt)
		if _, ok := byProto[pr]; !ok {
			protos = append(protos, pr)
		}
		if pr == 6 || pr == 17 {
			byProto[pr] = append(byProto[pr], strconv.Itoa(int(port)))
		} else {
			byProto[pr] = byProto[pr][:0:0]
		}
	}
	var parts []string
	for _, pr := range protos {
		t := policy.ProtoText(pr)
		if len(byProto[pr]) > 0 {
			t += " " + strings.Join(byProto[pr], ",")
		}
		parts = append(parts, t)
	}
	b.Suggest = "allow " + strings.Join(parts, "; ") + " from " + strings.Join(hosts, ",")
	if s.rule != nil && s.rule.Dir == policy.Egress {
		b.Suggest = "allow " + strings.Join(parts, "; ") + " to " + strings.Join(hosts, ",")
	}
	return b
}

var _ verdict.Observer = (*Collector)(nil)
