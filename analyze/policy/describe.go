package policy

import (
	"fmt"
	"strings"
)

// Describe is a short human text of a rule, for why and show.
func Describe(r *Rule) string {
	var b strings.Builder
	b.WriteString(r.Action.String())
	b.WriteByte(' ')
	b.WriteString(ProtoText(r.Proto))
	for i, p := range r.Ports {
		if i == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteByte(',')
		}
		if p.Lo == p.Hi {
			fmt.Fprint(&b, p.Lo)
		} else {
			fmt.Fprintf(&b, "%d-%d", p.Lo, p.Hi)
		}
	}
	if r.ICMPType >= 0 || r.ICMPCode >= 0 {
		fmt.Fprintf(&b, " type %d code %d", r.ICMPType, r.ICMPCode)
	}
	b.WriteByte(' ')
	b.WriteString(RemoteText(r))
	return b.String()
}

// RemoteText lists the remote prefixes of r.
func RemoteText(r *Rule) string {
	if len(r.Remote) == 0 {
		return "(no peer)"
	}
	var s []string
	for _, p := range r.Remote {
		s = append(s, p.String())
	}
	return strings.Join(s, ",")
}

// ProtoText names a protocol number (-1 = all).
func ProtoText(p int16) string {
	switch p {
	case -1:
		return "all"
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 1:
		return "icmp"
	case 58:
		return "icmpv6"
	}
	return fmt.Sprint(p)
}
