package aws

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/flowsift/flowsift/analyze/policy"
)

// awsUnfiltered are link-local services whose traffic security groups and
// network ACLs never filter (POLICY.md 5.3): DNS resolver, metadata, Time Sync.
var awsUnfiltered = []netip.Prefix{
	netip.MustParsePrefix("169.254.169.253/32"),
	netip.MustParsePrefix("169.254.169.254/32"),
	netip.MustParsePrefix("169.254.169.123/32"),
	netip.MustParsePrefix("fd00:ec2::253/128"),
	netip.MustParsePrefix("fd00:ec2::254/128"),
	netip.MustParsePrefix("fd00:ec2::123/128"),
}

// Build adds the AWS scopes to set.
func (in *Input) Build(set *policy.Set) {
	set.Warnings = append(set.Warnings, in.warnings...)
	for _, gid := range in.ruleOrder {
		if _, ok := in.groups[gid]; ok {
			set.Warnf("security group %s is in both describe-security-groups and describe-security-group-rules; the former is used", gid)
			continue
		}
		in.groups[gid] = in.rulesOnly[gid]
	}
	if !in.haveNACLs && len(in.enis) > 0 {
		set.Warnf("no describe-network-acls input: the network ACL layer is skipped for AWS interfaces")
	}
	for _, p := range in.subnets {
		set.Own = append(set.Own, p...)
	}
	for _, p := range in.vpcs {
		set.Own = append(set.Own, p...)
	}
	// members: private IPv4 addresses (primary and secondary) by group.
	members := map[string][]netip.Prefix{}
	bySubnet := map[string][]netip.Prefix{}
	for _, e := range in.enis {
		for _, g := range e.groups {
			for _, a := range e.v4 {
				members[g] = append(members[g], policy.Host(a))
			}
		}
		for _, a := range append(append([]netip.Addr(nil), e.v4...), e.v6...) {
			bySubnet[e.subnet] = append(bySubnet[e.subnet], policy.Host(a))
		}
	}
	naclLayers := map[string]*policy.Layer{}
	sgLayers := map[string]*policy.Layer{}
	for _, e := range in.enis {
		ifc := &policy.Interface{ID: e.id, Provider: "aws", Subnet: e.subnet, VPC: e.vpc, Owner: e.owner, UnfilteredDHCP: true}
		ifc.Addrs = append(append(ifc.Addrs, e.v4...), e.v6...)
		ifc.Local = append(append([]netip.Prefix(nil), bySubnet[e.subnet]...), in.subnets[e.subnet]...)
		ifc.Unfiltered = append([]netip.Prefix(nil), awsUnfiltered...)
		for _, p := range in.vpcs[e.vpc] {
			if p.Addr().Is4() && p.Bits() <= 30 {
				a := p.Masked().Addr().Next().Next() // VPC+2: the Route 53 Resolver
				ifc.Unfiltered = append(ifc.Unfiltered, policy.Host(a))
			}
		}
		if in.haveNACLs {
			n := in.naclFor(e)
			key := "?" + e.subnet + "|" + e.vpc
			if n != nil {
				key = n.id
			}
			l := naclLayers[key]
			if l == nil {
				l = in.naclLayer(n, e)
				naclLayers[key] = l
			}
			ifc.Layers = append(ifc.Layers, l)
		}
		key := strings.Join(e.groups, "+") + "|" + e.owner
		l := sgLayers[key]
		if l == nil {
			l = in.sgLayer(e, members)
			sgLayers[key] = l
		}
		ifc.Layers = append(ifc.Layers, l)
		set.Interfaces = append(set.Interfaces, ifc)
	}
}

func (in *Input) naclFor(e *eni) *nacl {
	for _, n := range in.nacls {
		for _, s := range n.subnets {
			if s == e.subnet && s != "" {
				return n
			}
		}
	}
	for _, n := range in.nacls {
		if n.isDefault && n.vpc == e.vpc {
			return n
		}
	}
	return nil
}

func (in *Input) naclLayer(n *nacl, e *eni) *policy.Layer {
	if n == nil {
		u := policy.Outcome{Reason: policy.ReasonNACLNotFound}
		return &policy.Layer{Name: "nacl?" + e.subnet, Kind: policy.KindAWSNACL, SkipLocal: true,
			In: policy.Chain{Default: u}, Out: policy.Chain{Default: u}}
	}
	l := &policy.Layer{Name: n.id, Kind: policy.KindAWSNACL, SkipLocal: true}
	for d := 0; d < 2; d++ {
		dir := policy.Dir(d)
		ents := append([]*entry(nil), n.entries[d]...)
		sort.SliceStable(ents, func(i, j int) bool { return ents[i].num < ents[j].num })
		c := l.Chain(dir)
		for _, en := range ents {
			num := fmt.Sprint(en.num)
			if en.num >= 32767 {
				num = "*"
			}
			r := &policy.Rule{
				ID: n.id + "/" + dir.String() + "/" + num, Action: policy.Deny, Proto: en.proto,
				ICMPType: -1, ICMPCode: -1, Kind: policy.KindAWSNACL, Scope: n.id, Dir: dir,
				Priority: int(en.num), Origin: en.origin,
				Identity: "aws-nacl|" + n.id + "|" + dir.String() + "|" + fmt.Sprint(en.num),
			}
			if en.allow {
				r.Action = policy.Allow
			}
			if en.protoBad != "" {
				r.Unknown = policy.ReasonUnsupportedProto
			}
			if !en.cidrBad {
				r.Remote = []netip.Prefix{en.cidr}
			}
			if en.ports != nil && (en.proto == 6 || en.proto == 17) {
				r.Ports = []policy.PortRange{*en.ports}
			}
			if en.proto == 1 || en.proto == 58 {
				r.ICMPType, r.ICMPCode = en.icmpT, en.icmpC
			}
			r.Text = policy.Describe(r)
			c.Rules = append(c.Rules, r)
		}
		c.Default = policy.Outcome{Action: policy.Deny, ID: n.id + "/" + dir.String() + "/*"}
	}
	return l
}

func (in *Input) sgLayer(e *eni, members map[string][]netip.Prefix) *policy.Layer {
	l := &policy.Layer{Name: strings.Join(e.groups, "+"), Kind: policy.KindAWSSG}
	if l.Name == "" {
		l.Name = "no-groups:" + e.id
	}
	for d := 0; d < 2; d++ {
		dir := policy.Dir(d)
		c := l.Chain(dir)
		for _, gid := range e.groups {
			g := in.groups[gid]
			if g == nil {
				c.Rules = append(c.Rules, &policy.Rule{
					ID: gid + "/" + dir.String() + "/?", Action: policy.Allow, Proto: -1, ICMPType: -1, ICMPCode: -1,
					Remote: []netip.Prefix{policy.AllV4, policy.AllV6}, Unknown: policy.ReasonGroupNotDescribed,
					Kind: policy.KindAWSSG, Scope: gid, Dir: dir, Text: "group " + gid + " is not described by any input",
				})
				continue
			}
			for _, pm := range g.perms[d] {
				c.Rules = append(c.Rules, in.permRule(g, dir, pm, e, members))
			}
		}
		c.Default = policy.Outcome{Action: policy.Deny, ID: "default/aws-sg/deny"}
	}
	return l
}

func (in *Input) permRule(g *group, dir policy.Dir, pm *perm, e *eni, members map[string][]netip.Prefix) *policy.Rule {
	r := &policy.Rule{
		ID: g.id + "/" + dir.String() + "/" + pm.id, Action: policy.Allow, Proto: pm.proto,
		ICMPType: -1, ICMPCode: -1, Kind: policy.KindAWSSG, Scope: g.id, Dir: dir, Origin: pm.origin,
	}
	if pm.protoBad != "" {
		r.Unknown = policy.ReasonUnsupportedProto
	}
	switch pm.proto {
	case 6, 17:
		lo, hi := pm.from, pm.to
		if lo < 0 {
			lo = 0
		}
		if hi < 0 {
			hi = 65535
		}
		if lo > hi {
			lo, hi = hi, lo
		}
		if !(lo == 0 && hi == 65535) {
			r.Ports = []policy.PortRange{{Lo: uint16(lo), Hi: uint16(hi)}}
		}
	case 1, 58:
		if pm.hasPorts {
			r.ICMPType, r.ICMPCode = int16(pm.from), int16(pm.to)
		}
	}
	r.Remote = append(append(r.Remote, pm.v4...), pm.v6...)
	var peers []string
	for _, p := range pm.v4 {
		peers = append(peers, p.String())
	}
	for _, p := range pm.v6 {
		peers = append(peers, p.String())
	}
	for _, pr := range pm.pairs {
		peers = append(peers, pr.group)
		m := members[pr.group]
		foreign := pr.peering != "" || (pr.user != "" && e.owner != "" && pr.user != e.owner)
		if foreign && len(m) == 0 {
			if r.RemoteUnknown == "" {
				r.RemoteUnknown = policy.ReasonGroupMembers
			}
			continue
		}
		r.Remote = append(r.Remote, m...)
	}
	for _, pl := range pm.pls {
		peers = append(peers, pl)
		ents, ok := in.plEntries[pl]
		if !ok {
			if r.RemoteUnknown == "" {
				r.RemoteUnknown = policy.ReasonPrefixList
			}
			continue
		}
		r.Remote = append(r.Remote, ents...)
	}
	sort.Strings(peers)
	r.Identity = fmt.Sprintf("aws-sg|%s|%s|%d|%d-%d|%s", g.id, dir, pm.proto, pm.from, pm.to, strings.Join(peers, ","))
	r.Text = policy.Describe(r)
	if len(peers) > 0 {
		r.Text = strings.Replace(r.Text, policy.RemoteText(r), strings.Join(peers, ","), 1)
	}
	return r
}
