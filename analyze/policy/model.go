package policy

import (
	"net/netip"
	"slices"
	"strings"
)

// Action is what a rule or layer does with a packet.
type Action uint8

const (
	Allow Action = iota + 1
	Deny
)

func (a Action) String() string {
	switch a {
	case Allow:
		return "allow"
	case Deny:
		return "deny"
	}
	return "unknown"
}

// Dir is a direction relative to a scope.
type Dir uint8

const (
	Ingress Dir = iota
	Egress
)

func (d Dir) String() string {
	if d == Egress {
		return "egress"
	}
	return "ingress"
}

// Layer kinds.
type Kind uint8

const (
	KindAWSNACL Kind = iota + 1
	KindAWSSG
	KindAliNACL
	KindAliSG
	KindECFilter
	KindESFilter
)

var kindNames = [...]string{"", "aws-nacl", "aws-sg", "ali-nacl", "ali-sg", "ec-filter", "es-filter"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "?"
}

// ParseKind maps a kind name back.
func ParseKind(s string) (Kind, bool) {
	for i, n := range kindNames {
		if i > 0 && n == s {
			return Kind(i), true
		}
	}
	return 0, false
}

// Stateful reports whether the kind admits replies without its rules.
func (k Kind) Stateful() bool { return k != KindAWSNACL && k != KindAliNACL }

// Visible reports whether the kind's decisions show in flow logs (POLICY.md
// 7.4): AWS and Alibaba layers are, Elastic layers are not.
func (k Kind) Visible() bool { return k != KindECFilter && k != KindESFilter }

// ReplyID is the id a stateful layer of this kind gives a reply.
func (k Kind) ReplyID() string {
	switch k {
	case KindAWSSG:
		return "default/aws-sg/reply"
	case KindAliSG:
		return "default/ali-sg/reply"
	case KindECFilter:
		return "default/ec-filter/reply"
	case KindESFilter:
		return "default/es-filter/reply"
	}
	return ""
}

// Unknown reasons (POLICY.md 4.3).
const (
	ReasonNotCovered        = "not-covered"
	ReasonICMPType          = "icmp-type-unknown"
	ReasonPrefixList        = "prefix-list-entries-missing"
	ReasonGroupNotDescribed = "group-not-described"
	ReasonGroupMembers      = "referenced-group-members-unknown"
	ReasonNACLNotFound      = "nacl-not-found"
	ReasonPortList          = "port-list-unknown"
	ReasonPrivateEndpoint   = "private-endpoint-unbound"
	ReasonRemoteCluster     = "remote-cluster-unbound"
	ReasonHostname          = "hostname-rule"
	ReasonAssociations      = "ruleset-associations-missing"
	ReasonUnsupportedProto  = "unsupported-protocol"
)

// PortRange is an inclusive range of ports.
type PortRange struct{ Lo, Hi uint16 }

// AllPorts is 0-65535.
var AllPorts = PortRange{0, 65535}

// Contains reports whether p is inside r.
func (r PortRange) Contains(p uint16) bool { return r.Lo <= p && p <= r.Hi }

// IsAll reports whether r covers every port.
func (r PortRange) IsAll() bool { return r.Lo == 0 && r.Hi == 65535 }

// Rule is one entry of a chain: a written rule of a provider policy, or an
// implicit provider rule with a default id.
//
// A rule matches a record when every condition holds: protocol; for TCP and
// UDP rules the destination port in one of Ports (empty = all) and the source
// port in SrcPorts (empty = all); for ICMP rules the type and code; the local
// address in Local (nil = any); the remote address in Remote or RemoteGlob.
// A condition that cannot be decided makes the match a "maybe" with a reason.
type Rule struct {
	ID     string // POLICY.md 4.2; unique per written rule
	Action Action
	Proto  int16 // IANA number; -1 = all protocols
	// Ports are destination port ranges for Proto 6 or 17; empty = all.
	Ports []PortRange
	// SrcPorts are source port ranges (Alibaba SourcePortRange); empty = all.
	SrcPorts []PortRange
	// ICMPType and ICMPCode restrict Proto 1/58 rules; -1 = any.
	ICMPType, ICMPCode int16
	// Remote holds the prefixes the remote address must be in (a prefix
	// matches only its own family).
	Remote []netip.Prefix
	// RemoteGlob is an all-numeric Elasticsearch pattern ("192.168.0.*")
	// matched against the address text.
	RemoteGlob []string
	// RemoteUnknown, when set, makes a remote outside Remote a maybe with this
	// reason (a prefix list without entries, a group of another account).
	RemoteUnknown string
	// UnknownSkipsInternet: a remote internet address never matches instead of
	// maybe (Elastic private-link rules without bindings).
	UnknownSkipsInternet bool
	// Local, when not nil, holds the prefixes the local address must be in.
	Local []netip.Prefix
	// Unknown makes every otherwise-matching record a maybe (a port list, a
	// host-name pattern, a group nobody described).
	Unknown string

	// Descriptive fields, not used for matching.
	Kind     Kind   // layer kind
	Scope    string // owning object: ACL id, group id, rule set id, "es:<node>/<list>"
	Dir      Dir
	Priority int    // Alibaba priority, AWS NACL rule number
	Identity string // what-if pairing key (POLICY.md 10)
	Origin   string // "file: $.json.path"
	Text     string // short human description
}

// IsDefaultID reports whether id names a default decision (POLICY.md 4.2).
func IsDefaultID(id string) bool {
	return strings.HasPrefix(id, "default/") || strings.HasSuffix(id, "/*")
}

// Written reports whether r is a written provider rule (not implicit and
// not a placeholder for something undescribed).
func (r *Rule) Written() bool { return !IsDefaultID(r.ID) && !strings.HasSuffix(r.ID, "/?") }

// Outcome is a chain's default decision: Action with ID, or unknown with
// Reason (Action 0).
type Outcome struct {
	Action Action
	ID     string
	Reason string
}

// Chain is an ordered rule list and what happens when no rule matches.
type Chain struct {
	Rules   []*Rule
	Default Outcome
}

// Layer is one enforcement mechanism applied to a scope.
type Layer struct {
	Name string // e.g. "acl-0a1b", "sg-1+sg-2", "es:node/transport"
	Kind Kind
	// SkipLocal: the layer is not crossed when the remote address is inside
	// the scope's Local prefixes (AWS NACLs within a subnet).
	SkipLocal bool
	In, Out   Chain
	// Seq is the layer's index in Set.Layers(), assigned by Set.Index, so
	// evaluators can keep per-layer data in slices.
	Seq int
}

// Chain returns the chain for a direction.
func (l *Layer) Chain(d Dir) *Chain {
	if d == Egress {
		return &l.Out
	}
	return &l.In
}

// Interface is an AWS or Alibaba network interface: a scope bound to
// records by its id or its addresses.
type Interface struct {
	ID       string
	Provider string // "aws" or "alibaba"
	Subnet   string
	VPC      string
	Owner    string
	Addrs    []netip.Addr
	// Local holds the remote prefixes for which SkipLocal layers are not
	// crossed (addresses of interfaces in the same subnet, subnet CIDRs).
	Local []netip.Prefix
	// Unfiltered holds remote prefixes whose traffic no layer filters (AWS
	// DNS resolver, metadata, Time Sync); UnfilteredDHCP adds UDP 67/68.
	Unfiltered     []netip.Prefix
	UnfilteredDHCP bool
	Layers         []*Layer // evaluation order: network ACL first

	localSet, unfilteredSet *PrefixSet // built by Set.Index
}

// InLocal reports whether a is inside Local (SkipLocal layers not crossed).
func (i *Interface) InLocal(a netip.Addr) bool {
	if i.localSet == nil {
		i.localSet = NewPrefixSet(i.Local)
	}
	return i.localSet.Contains(a)
}

// IsUnfiltered reports whether a is inside Unfiltered.
func (i *Interface) IsUnfiltered(a netip.Addr) bool {
	if i.unfilteredSet == nil {
		i.unfilteredSet = NewPrefixSet(i.Unfiltered)
	}
	return i.unfilteredSet.Contains(a)
}

// Deployment is an Elastic Cloud deployment.
type Deployment struct {
	ID    string
	Addrs []netip.Prefix
	Layer *Layer // In: ingress filter; Out: egress firewall
}

// PortFilter binds a port range of a node to a layer.
type PortFilter struct {
	Ports PortRange
	Layer *Layer
}

// Node is an Elasticsearch node.
type Node struct {
	Name  string
	Addrs []netip.Prefix // empty: every address
	// Filters in selection order (HTTP, remote cluster, profiles, transport).
	Filters []PortFilter
}

// Set is a loaded policy: every scope of every provider.
type Set struct {
	Interfaces  []*Interface
	Deployments []*Deployment
	Nodes       []*Node
	// Own holds the own networks for the internet test (POLICY.md 8.2),
	// besides the fixed private ranges and every interface address.
	Own []netip.Prefix
	// Warnings are printed once by the CLI.
	Warnings []string
	// Files lists the loaded files in order.
	Files []string

	ifaceByID   map[string]*Interface
	ifaceByAddr map[netip.Addr]*Interface
	internal    *PrefixSet
	own         []netip.Prefix // the prefixes of internal, by Index
}

// Warnf adds a warning.
func (s *Set) Warnf(format string, args ...any) {
	s.Warnings = append(s.Warnings, sprintf(format, args...))
}

// Index builds the lookup maps; call after all scopes are added.
func (s *Set) Index() {
	s.ifaceByID = make(map[string]*Interface, len(s.Interfaces))
	s.ifaceByAddr = make(map[netip.Addr]*Interface)
	var own []netip.Prefix
	own = append(own, privateRanges...)
	own = append(own, s.Own...)
	for _, ifc := range s.Interfaces {
		ifc.localSet, ifc.unfilteredSet = NewPrefixSet(ifc.Local), NewPrefixSet(ifc.Unfiltered)
		s.ifaceByID[ifc.ID] = ifc
		for _, a := range ifc.Addrs {
			s.ifaceByAddr[a] = ifc
			own = append(own, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	s.own = own
	s.internal = NewPrefixSet(own)
	for i, l := range s.Layers() {
		l.Seq = i
	}
}

// InterfaceByID returns the interface with that id.
func (s *Set) InterfaceByID(id string) *Interface {
	if s.ifaceByID == nil {
		s.Index()
	}
	return s.ifaceByID[id]
}

// InterfaceByAddr returns the interface owning address a.
func (s *Set) InterfaceByAddr(a netip.Addr) *Interface {
	if s.ifaceByAddr == nil {
		s.Index()
	}
	return s.ifaceByAddr[a]
}

// IsInternet reports whether a is an internet address (POLICY.md 8.2).
func (s *Set) IsInternet(a netip.Addr) bool {
	if s.internal == nil {
		s.Index()
	}
	return a.IsValid() && !s.internal.Contains(a.Unmap())
}

// InternalPrefixes returns the prefixes IsInternet tests: the private
// ranges, Own and every interface address (as of the last Index). An
// address is internet when it is valid and, unmapped, in none of them.
// The caller may modify the returned slice.
func (s *Set) InternalPrefixes() []netip.Prefix {
	if s.internal == nil {
		s.Index()
	}
	return slices.Clone(s.own)
}

// privateRanges are never internet (POLICY.md 8.2). Documentation ranges
// are deliberately absent: they count as internet.
var privateRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("fc00::/7"),
}

// Layers returns every distinct layer of the set, in scope order.
func (s *Set) Layers() []*Layer {
	seen := map[*Layer]bool{}
	var out []*Layer
	add := func(l *Layer) {
		if l != nil && !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	for _, ifc := range s.Interfaces {
		for _, l := range ifc.Layers {
			add(l)
		}
	}
	for _, d := range s.Deployments {
		add(d.Layer)
	}
	for _, n := range s.Nodes {
		for _, f := range n.Filters {
			add(f.Layer)
		}
	}
	return out
}

// Rules returns every written rule once (by id), in layer order. This is
// the list rule statistics and lint start from.
func (s *Set) Rules() []*Rule {
	seen := map[string]bool{}
	var out []*Rule
	for _, l := range s.Layers() {
		for _, c := range []*Chain{&l.In, &l.Out} {
			for _, r := range c.Rules {
				if r.Written() && !seen[r.ID] {
					seen[r.ID] = true
					out = append(out, r)
				}
			}
		}
	}
	return out
}
