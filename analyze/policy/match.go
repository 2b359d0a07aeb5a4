package policy

import "net/netip"

// Query is what a rule is matched against: one record seen from a scope.
type Query struct {
	Proto          uint8
	SPort, DPort   uint16
	Remote, Local  netip.Addr // unmapped
	HasICMP        bool       // the record carries icmp_type / icmp_code
	ICMPType       int16
	ICMPCode       int16
	RemoteInternet bool // Set.IsInternet(Remote)
}

// Match is the result of matching one rule.
type Match uint8

const (
	No    Match = iota // the rule does not apply
	Yes                // the rule applies with certainty
	Maybe              // the rule may apply; the reason says why it is undecidable
)

// Match tests r against q, following POLICY.md 1 and the provider sections.
// Every definite mismatch wins over an undecidable condition.
func (r *Rule) Match(q *Query) (Match, string) {
	if r.Proto >= 0 && uint8(r.Proto) != q.Proto {
		return No, ""
	}
	reason := ""
	switch r.Proto {
	case 6, 17:
		if !inRanges(r.Ports, q.DPort) || !inRanges(r.SrcPorts, q.SPort) {
			return No, ""
		}
	case 1, 58:
		if r.ICMPType >= 0 || r.ICMPCode >= 0 {
			switch {
			case !q.HasICMP:
				reason = ReasonICMPType
			case r.ICMPType >= 0 && r.ICMPType != q.ICMPType:
				return No, ""
			case r.ICMPCode >= 0 && q.ICMPCode < 0: // type known, code not carried
				reason = ReasonICMPType
			case r.ICMPCode >= 0 && r.ICMPCode != q.ICMPCode:
				return No, ""
			}
		}
	}
	if r.Local != nil && !inPrefixes(r.Local, q.Local) {
		return No, ""
	}
	if !r.RemoteMatches(q.Remote) {
		if r.RemoteUnknown == "" || (r.UnknownSkipsInternet && q.RemoteInternet) {
			return No, ""
		}
		if reason == "" {
			reason = r.RemoteUnknown
		}
	}
	if r.Unknown != "" && reason == "" {
		reason = r.Unknown
	}
	if reason != "" {
		return Maybe, reason
	}
	return Yes, ""
}

// RemoteMatches reports whether a is inside Remote or matches RemoteGlob.
func (r *Rule) RemoteMatches(a netip.Addr) bool {
	if inPrefixes(r.Remote, a) {
		return true
	}
	if len(r.RemoteGlob) > 0 {
		var buf [64]byte
		t := a.AppendTo(buf[:0])
		for _, g := range r.RemoteGlob {
			if Glob(g, t) {
				return true
			}
		}
	}
	return false
}

func inRanges(rs []PortRange, p uint16) bool {
	if len(rs) == 0 {
		return true
	}
	for _, r := range rs {
		if r.Lo <= p && p <= r.Hi {
			return true
		}
	}
	return false
}

func inPrefixes(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Glob matches text against a pattern with * (any run) and ? (one byte).
func Glob(pat string, text []byte) bool {
	p, t := 0, 0
	star, mark := -1, 0
	for t < len(text) {
		switch {
		case p < len(pat) && (pat[p] == '?' || pat[p] == text[t]):
			p++
			t++
		case p < len(pat) && pat[p] == '*':
			star, mark = p, t
			p++
		case star >= 0:
			p = star + 1
			mark++
			t = mark
		default:
			return false
		}
	}
	for p < len(pat) && pat[p] == '*' {
		p++
	}
	return p == len(pat)
}

// ParsePrefix reads CIDR text per POLICY.md 1: host bits masked, a bare
// address is a host prefix, IPv4-mapped IPv6 is unmapped.
func ParsePrefix(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// Host returns the host prefix of a.
func Host(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, a.BitLen()) }

// AllV4 and AllV6 are the default routes of each family.
var (
	AllV4 = netip.MustParsePrefix("0.0.0.0/0")
	AllV6 = netip.MustParsePrefix("::/0")
)

// ProtoNumber maps protocol text (POLICY.md 1) to a number; -1 = all.
func ProtoNumber(s string) (int16, bool) {
	switch lower(s) {
	case "-1", "all":
		return -1, true
	case "tcp":
		return 6, true
	case "udp":
		return 17, true
	case "icmp":
		return 1, true
	case "icmpv6":
		return 58, true
	case "gre":
		return 47, true
	case "esp":
		return 50, true
	}
	n := 0
	if s == "" || len(s) > 3 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	if n > 255 {
		return 0, false
	}
	return int16(n), true
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}
