package verdict

import (
	"net/netip"
	"sort"

	"github.com/flowsift/flowsift/flowlog"
)

// Summary aggregates judged records for the analyze report: counts by
// verdict and finding, and the worst offenders per finding. Rules, when set,
// receives every record Add counts: the rule statistics of POLICY.md 9
// (analyze/rulestats.Collector) plug in there.
type Summary struct {
	Records   int64
	Packets   int64
	Bytes     int64
	ByVerdict map[Verdict]*Count
	ByFinding map[Finding]*Count
	Rules     Observer
	offenders map[Finding]map[OffenderKey]*Count
}

// Observer receives judged records. Observe must not keep rec or res: both
// are reused by the caller.
type Observer interface {
	Observe(rec *flowlog.Record, res *Result)
}

// Count is records, packets and bytes.
type Count struct{ Records, Packets, Bytes int64 }

func (c *Count) add(r *flowlog.Record) {
	c.Records++
	c.Packets += r.Packets
	c.Bytes += r.Bytes
}

// OffenderKey groups records of one finding: the flow as the scope sees it.
type OffenderKey struct {
	Iface    string
	Src, Dst netip.Addr
	DstPort  uint16
	Proto    uint8
	Rule     string // last deciding id
}

// Offender is one group with its counts.
type Offender struct {
	Key OffenderKey
	Count
}

// NewSummary returns an empty summary.
func NewSummary() *Summary {
	return &Summary{ByVerdict: map[Verdict]*Count{}, ByFinding: map[Finding]*Count{}, offenders: map[Finding]map[OffenderKey]*Count{}}
}

// Add counts one judged record.
func (s *Summary) Add(r *flowlog.Record, res *Result) {
	s.Records++
	s.Packets += r.Packets
	s.Bytes += r.Bytes
	if s.Rules != nil {
		s.Rules.Observe(r, res)
	}
	countIn(s.ByVerdict, res.Verdict).add(r)
	if res.Finding == FindingNone {
		return
	}
	countIn(s.ByFinding, res.Finding).add(r)
	k := OffenderKey{Iface: r.Iface, Src: r.Src, Dst: r.Dst, DstPort: r.DstPort, Proto: r.Proto}
	if len(res.Rules) > 0 {
		k.Rule = res.Rules[len(res.Rules)-1]
	} else {
		k.Rule = res.Reason
	}
	m := s.offenders[res.Finding]
	if m == nil {
		m = map[OffenderKey]*Count{}
		s.offenders[res.Finding] = m
	}
	countIn(m, k).add(r)
}

// countIn returns m[k], adding a zero count first when k is new.
func countIn[K comparable](m map[K]*Count, k K) *Count {
	c := m[k]
	if c == nil {
		c = &Count{}
		m[k] = c
	}
	return c
}

// Offenders returns the n groups of a finding with the most records (then
// bytes), worst first.
func (s *Summary) Offenders(f Finding, n int) []Offender {
	var out []Offender
	for k, c := range s.offenders[f] {
		out = append(out, Offender{k, *c})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Records != b.Records {
			return a.Records > b.Records
		}
		if a.Bytes != b.Bytes {
			return a.Bytes > b.Bytes
		}
		return lessKey(a.Key, b.Key)
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

func lessKey(a, b OffenderKey) bool {
	if a.Iface != b.Iface {
		return a.Iface < b.Iface
	}
	if a.Src != b.Src {
		return a.Src.Less(b.Src)
	}
	if a.Dst != b.Dst {
		return a.Dst.Less(b.Dst)
	}
	if a.DstPort != b.DstPort {
		return a.DstPort < b.DstPort
	}
	if a.Proto != b.Proto {
		return a.Proto < b.Proto
	}
	return a.Rule < b.Rule
}

// ParseFinding maps a finding name back ("none" or "" = no finding).
func ParseFinding(s string) (Finding, bool) {
	for _, f := range Findings {
		if string(f) == s {
			return f, true
		}
	}
	if s == "none" || s == "" {
		return FindingNone, true
	}
	return FindingNone, false
}
