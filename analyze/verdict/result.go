package verdict

import (
	"strings"

	"github.com/flowsift/flowsift/analyze/policy"
)

// Verdict is the combined decision for a record.
type Verdict uint8

const (
	Unknown Verdict = iota
	Accept
	Reject
)

func (v Verdict) String() string {
	switch v {
	case Accept:
		return "accept"
	case Reject:
		return "reject"
	}
	return "unknown"
}

// Finding is one of POLICY.md 8.1 ("" = none).
type Finding string

const (
	FindingNone             Finding = ""
	FindingUnknownInterface Finding = "unknown-interface"
	FindingViolation        Finding = "violation"
	FindingUnexpectedReject Finding = "unexpected-reject"
	FindingExposure         Finding = "exposure"
	FindingDefaultDeny      Finding = "default-deny"
	FindingImplicitAllow    Finding = "implicit-allow"
)

// Findings lists every finding in precedence order.
var Findings = []Finding{FindingUnknownInterface, FindingViolation, FindingUnexpectedReject, FindingExposure, FindingDefaultDeny, FindingImplicitAllow}

// LayerResult is the outcome of one layer for one record.
type LayerResult struct {
	Layer  *policy.Layer
	Scope  string     // interface id, deployment id, node name
	Dir    policy.Dir // the record's direction as the scope sees it
	Action policy.Action
	ID     string       // deciding id ("" when unknown)
	Rule   *policy.Rule // deciding rule (nil for defaults)
	Reason string       // when unknown
	Reply  bool         // admitted as a reply by a stateful layer
}

// maxLayers bounds the layers of one record (interface: NACL + groups;
// deployment; node); more are dropped with Overflow set.
const maxLayers = 8

// Result is the judgment of one record. Reuse one Result across records:
// Evaluate does not allocate once Rules has grown.
type Result struct {
	Verdict Verdict
	Finding Finding
	Rules   []string // deciding ids, POLICY.md 4.1
	Reply   bool
	Basis   Basis
	Reason  string // when Verdict is Unknown

	// Covered is false when no model covers the record.
	Covered bool
	// Unfiltered: the record is AWS traffic no layer filters (metadata…).
	Unfiltered bool
	// Visible is the verdict of the packet-visible layers (AWS, Alibaba);
	// HasVisible is false when no such layer applied.
	Visible    Verdict
	HasVisible bool
	// Inbound: the record is an opener-direction flow toward a protected
	// scope (ingress for interfaces, dst = deployment/node for Elastic).
	Inbound bool
	// Internet: the remote address of the inbound view is an internet address.
	Internet bool

	layers  [maxLayers]LayerResult
	nLayers int
	// defMask has bit i when layers[i].ID is a default id (compiled
	// engine only).
	defMask uint8
	// The compiled engine's last interface resolved by id, and the index
	// it came from (a Result may move between engines).
	lastIfc *cifc
	lastOf  *ifaceIndex
}

// Layers returns the per-layer outcomes in evaluation order.
func (r *Result) Layers() []LayerResult { return r.layers[:r.nLayers] }

func (r *Result) reset(rep Reply) {
	r.Verdict, r.Finding, r.Rules, r.Reason = Unknown, FindingNone, r.Rules[:0], ""
	r.Reply, r.Basis = rep.Reply, rep.Basis
	r.Covered, r.Unfiltered, r.Visible, r.HasVisible, r.Inbound, r.Internet = false, false, Unknown, false, false, false
	r.nLayers = 0
}

func (r *Result) add(l LayerResult) {
	if r.nLayers < maxLayers {
		r.layers[r.nLayers] = l
		r.nLayers++
	}
}

// Why explains the result for people (never parsed). It allocates; call it
// only when printing.
func (r *Result) Why() string {
	var parts []string
	if !r.Covered {
		return "no loaded policy covers this record (interface, deployment or node)"
	}
	if r.Unfiltered {
		return "traffic to an AWS link-local service (DNS resolver, metadata, Time Sync) or DHCP is never filtered"
	}
	if r.Reply {
		parts = append(parts, "reply ("+r.Basis.String()+")")
	} else {
		parts = append(parts, "opener ("+r.Basis.String()+")")
	}
	for _, l := range r.Layers() {
		s := l.Layer.Kind.String() + " " + l.Layer.Name + " " + l.Dir.String() + ": "
		switch {
		case l.Action == 0:
			s += "unknown (" + l.Reason + ")"
		case l.Reply:
			s += "reply admitted by connection tracking"
		case l.Rule != nil:
			s += l.Action.String() + " by " + l.ID
			if l.Rule.Text != "" {
				s += " (" + l.Rule.Text + ")"
			}
		default:
			s += l.Action.String() + " by default " + l.ID
		}
		parts = append(parts, s)
	}
	if len(r.Layers()) == 0 {
		parts = append(parts, "no layer is crossed")
	}
	return strings.Join(parts, "; ")
}
