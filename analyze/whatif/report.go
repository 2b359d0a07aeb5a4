package whatif

// Report is a what-if report. Its JSON form is the --format json output;
// keys are never removed, new keys may be added.
type Report struct {
	Before PolicyInfo `json:"current"`
	After  PolicyInfo `json:"proposed"`
	Totals Totals     `json:"totals"`
	// Headline counts per change. Connections are deduplicated report
	// groups (scope, direction, src, dst, dport, proto; replies folded).
	NewlyDenied  Summary `json:"newly_denied"`
	NewlyAllowed Summary `json:"newly_allowed"`
	Unknown      Summary `json:"unknown_transitions"` // from or to unknown
	// ByChange: each rule or binding change and the traffic attributed to it.
	ByChange []*Impact `json:"by_change"`
	// The largest changed connections (top N by bytes).
	Denied        []*Group `json:"denied"`
	Allowed       []*Group `json:"allowed"`
	UnknownGroups []*Group `json:"unknown"`
	// Exposed: newly allowed, per destination and port: which sources.
	Exposed []*Exposure `json:"exposed"`
	// Diff is the rule-level diff; Unobserved the entries no flow touched.
	Diff       []DiffEntry `json:"diff"`
	Unobserved []DiffEntry `json:"unobserved"`
	// Space: per scope and direction, the allowed (protocol, port, remote)
	// space that changed, observed or not.
	Space    []ScopeSpace `json:"space"`
	Timeline []TimePoint  `json:"timeline"`
	// Source says where the flows came from (files, clickhouse://…).
	Source string `json:"source,omitempty"`
}

// PolicyInfo names a policy set.
type PolicyInfo struct {
	Files []string `json:"files"`
	Rules int      `json:"written_rules"`
}

// Totals are over every judged row.
type Totals struct {
	Rows      int64  `json:"distinct_flows"` // deduplicated rows judged
	Flows     int64  `json:"flows"`          // records
	Packets   int64  `json:"packets"`
	Bytes     int64  `json:"bytes"`
	First     int64  `json:"first_start"`
	Last      int64  `json:"last_end"`
	FirstText string `json:"first_start_text"`
	LastText  string `json:"last_end_text"`
}

// Summary counts one kind of change.
type Summary struct {
	Connections int    `json:"connections"`
	Flows       int64  `json:"flows"`
	Packets     int64  `json:"packets"`
	Bytes       int64  `json:"bytes"`
	Peers       int    `json:"distinct_peers"`
	First       int64  `json:"first_start"`
	Last        int64  `json:"last_seen"`
	LastText    string `json:"last_seen_text"`
}

func (s *Summary) add(r *Row) {
	if s.Flows == 0 || r.First < s.First {
		s.First = r.First
	}
	if r.Last > s.Last {
		s.Last = r.Last
	}
	s.Flows += r.Flows
	s.Packets += r.Packets
	s.Bytes += r.Bytes
}

func (r *Report) summary(c Change) *Summary {
	switch c {
	case NewlyDenied:
		return &r.NewlyDenied
	case NewlyAllowed:
		return &r.NewlyAllowed
	case ToUnknown, FromUnknown:
		return &r.Unknown
	}
	return nil
}

// Impact is the traffic one change is responsible for.
type Impact struct {
	ID       string   `json:"id"`
	Status   Status   `json:"status,omitempty"`
	Kind     string   `json:"kind,omitempty"`
	Scope    string   `json:"scope,omitempty"`
	Before   string   `json:"before,omitempty"`
	After    string   `json:"after,omitempty"`
	Denied   Summary  `json:"newly_denied"`
	Allowed  Summary  `json:"newly_allowed"`
	Unknown  Summary  `json:"unknown_transitions"`
	Examples []*Group `json:"examples"`
}

func (im *Impact) summary(c Change) *Summary {
	switch c {
	case NewlyDenied:
		return &im.Denied
	case NewlyAllowed:
		return &im.Allowed
	}
	return &im.Unknown
}

func (im *Impact) total() int64 { return im.Denied.Flows + im.Allowed.Flows + im.Unknown.Flows }

func (im *Impact) fill() {
	if im.Examples == nil {
		im.Examples = []*Group{}
	}
}

// Group is one changed connection: rows deduplicated by (scope, direction,
// src, dst, dport, proto), replies folded onto their connection (src and
// dst swapped, dport = the reply's source port).
type Group struct {
	Change       Change    `json:"change"`
	Transition   string    `json:"transition"` // before->after verdicts
	AttributedTo string    `json:"attributed_to"`
	Iface        string    `json:"iface"`
	Direction    string    `json:"direction"`
	Src          string    `json:"src"`
	Dst          string    `json:"dst"`
	DstPort      uint16    `json:"dport"`
	Proto        uint8     `json:"proto"`
	Flows        int64     `json:"flows"`
	ReplyFlows   int64     `json:"reply_flows"`
	Packets      int64     `json:"packets"`
	Bytes        int64     `json:"bytes"`
	First        int64     `json:"first_start"`
	Last         int64     `json:"last_seen"`
	LastText     string    `json:"last_seen_text"`
	RulesBefore  []string  `json:"rules_before"`
	RulesAfter   []string  `json:"rules_after"`
	Examples     []Example `json:"examples"`
}

// Example is one deduplicated row behind a group.
type Example struct {
	Src       string `json:"src"`
	SrcPort   uint16 `json:"sport"`
	Dst       string `json:"dst"`
	DstPort   uint16 `json:"dport"`
	Proto     uint8  `json:"proto"`
	Direction string `json:"direction"`
	Reply     bool   `json:"reply"`
	Start     int64  `json:"start"`
	Flows     int64  `json:"flows"`
	Bytes     int64  `json:"bytes"`
}

// Exposure: a destination port newly reachable, and from where.
type Exposure struct {
	Iface        string   `json:"iface"`
	Dst          string   `json:"dst"`
	Port         uint16   `json:"dport"`
	Proto        uint8    `json:"proto"`
	Sources      []string `json:"sources"` // first 20
	SourceCount  int      `json:"source_count"`
	Flows        int64    `json:"flows"`
	Bytes        int64    `json:"bytes"`
	AttributedTo string   `json:"attributed_to"`
}

// TimePoint is one hour of the timeline of changed traffic.
type TimePoint struct {
	Start        int64 `json:"start"`
	DeniedFlows  int64 `json:"denied_flows"`
	DeniedBytes  int64 `json:"denied_bytes"`
	AllowedFlows int64 `json:"allowed_flows"`
	AllowedBytes int64 `json:"allowed_bytes"`
}
