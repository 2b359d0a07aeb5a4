package aws

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/analyze/policy/internal/pdoc"
)

// Input accumulates the AWS outputs of several files.
type Input struct {
	groups     map[string]*group
	groupOrder []string
	rulesOnly  map[string]*group // known only from describe-security-group-rules
	ruleOrder  []string
	nacls      []*nacl
	haveNACLs  bool
	enis       []*eni
	plists     map[string]string         // id -> address family
	plEntries  map[string][]netip.Prefix // id -> entries
	subnets    map[string][]netip.Prefix // id -> CIDRs
	subnetVPC  map[string]string
	vpcs       map[string][]netip.Prefix
	seen       pdoc.Seen
	warnings   []string
}

type group struct {
	id, vpc, owner string
	perms          [2][]*perm // by policy.Dir
	fromRules      bool
}

type pair struct{ group, user, peering string }

type perm struct {
	id       string // last id segment: index or sgr id
	proto    int16
	protoBad string
	from, to int64
	hasPorts bool
	v4, v6   []netip.Prefix
	pairs    []pair
	pls      []string
	origin   string
	text     string
}

type nacl struct {
	id, vpc   string
	isDefault bool
	subnets   []string
	entries   [2][]*entry
}

type entry struct {
	num      int64
	allow    bool
	proto    int16
	protoBad string
	cidr     netip.Prefix
	cidrBad  bool
	ports    *policy.PortRange
	icmpT    int16
	icmpC    int16
	origin   string
	text     string
}

type eni struct {
	id, subnet, vpc, owner string
	v4, v6                 []netip.Addr
	groups                 []string
}

// NewInput returns an empty accumulator.
func NewInput() *Input {
	return &Input{
		groups: map[string]*group{}, rulesOnly: map[string]*group{},
		plists: map[string]string{}, plEntries: map[string][]netip.Prefix{},
		subnets: map[string][]netip.Prefix{}, subnetVPC: map[string]string{}, vpcs: map[string][]netip.Prefix{},
		seen: pdoc.Seen{},
	}
}

// Detect reports whether a decoded document is an AWS output.
func Detect(root pdoc.Node) bool {
	if !root.IsMap() {
		return false
	}
	for _, k := range []string{"SecurityGroups", "NetworkAcls"} {
		if root.Has(k) && root.Key(k).IsList() {
			return true
		}
	}
	for _, k := range []string{"SecurityGroupRules", "NetworkInterfaces", "PrefixLists", "Entries", "Subnets", "Vpcs"} {
		if root.Has(k) {
			return true
		}
	}
	return false
}

var plInName = regexp.MustCompile(`pl-[0-9a-zA-Z]+`)

// Add reads one decoded AWS document.
func (in *Input) Add(d *pdoc.Doc) error {
	root := d.Root
	known := false
	if root.Has("SecurityGroups") {
		known = true
		for _, g := range root.Key("SecurityGroups").List() {
			in.addGroup(g)
		}
	}
	if root.Has("SecurityGroupRules") {
		known = true
		for _, r := range root.Key("SecurityGroupRules").List() {
			in.addGroupRule(r)
		}
	}
	if root.Has("NetworkAcls") {
		known = true
		in.haveNACLs = true
		for _, a := range root.Key("NetworkAcls").List() {
			in.addNACL(a)
		}
	}
	if root.Has("NetworkInterfaces") {
		known = true
		for _, e := range root.Key("NetworkInterfaces").List() {
			in.addENI(e)
		}
	}
	if root.Has("PrefixLists") {
		known = true
		for _, p := range root.Key("PrefixLists").List() {
			id := p.Key("PrefixListId").ReqStr()
			in.plists[id] = p.Key("AddressFamily").Str()
		}
	}
	if root.Has("Entries") && !root.Has("NetworkAcls") {
		known = true
		ids := plInName.FindAllString(filepath.Base(d.File), -1)
		if len(ids) != 1 {
			root.Key("Entries").Failf("get-managed-prefix-list-entries output does not name its list: the file name must contain exactly one pl-… id")
		} else {
			id := ids[0]
			if _, dup := in.plEntries[id]; !dup {
				in.plEntries[id] = []netip.Prefix{}
			}
			for _, e := range root.Key("Entries").List() {
				c := e.Key("Cidr")
				p, ok := policy.ParsePrefix(c.ReqStr())
				if !ok && d.Err == nil {
					c.Failf("not a CIDR: %q", c.Str())
				}
				in.plEntries[id] = append(in.plEntries[id], p)
			}
		}
	}
	if root.Has("Subnets") {
		known = true
		for _, s := range root.Key("Subnets").List() {
			id := s.Key("SubnetId").ReqStr()
			in.subnetVPC[id] = s.Key("VpcId").Str()
			if c := s.Key("CidrBlock"); c.Present() {
				in.subnets[id] = append(in.subnets[id], in.prefix(c))
			}
			for _, a := range s.Key("Ipv6CidrBlockAssociationSet").List() {
				in.subnets[id] = append(in.subnets[id], in.prefix(a.Key("Ipv6CidrBlock")))
			}
		}
	}
	if root.Has("Vpcs") {
		known = true
		for _, v := range root.Key("Vpcs").List() {
			id := v.Key("VpcId").ReqStr()
			for _, a := range v.Key("CidrBlockAssociationSet").List() {
				in.vpcs[id] = append(in.vpcs[id], in.prefix(a.Key("CidrBlock")))
			}
			if c := v.Key("CidrBlock"); c.Present() {
				in.vpcs[id] = append(in.vpcs[id], in.prefix(c))
			}
			for _, a := range v.Key("Ipv6CidrBlockAssociationSet").List() {
				in.vpcs[id] = append(in.vpcs[id], in.prefix(a.Key("Ipv6CidrBlock")))
			}
		}
	}
	if !known && d.Err == nil {
		root.Failf("not an AWS output this loader knows (keys: %s)", strings.Join(root.Keys(), ", "))
	}
	return d.Err
}

func (in *Input) prefix(n pdoc.Node) netip.Prefix {
	p, ok := policy.ParsePrefix(n.ReqStr())
	if !ok {
		n.Failf("not a CIDR: %q", n.Str())
	}
	return p
}

func (in *Input) addGroup(g pdoc.Node) {
	id := g.Key("GroupId").ReqStr()
	if id == "" || !in.seen.Add("security group "+id, g) {
		return
	}
	gr := &group{id: id, vpc: g.Key("VpcId").Str(), owner: g.Key("OwnerId").Str()}
	for d, key := range []string{"IpPermissions", "IpPermissionsEgress"} {
		for i, p := range g.Key(key).List() {
			gr.perms[d] = append(gr.perms[d], in.parsePerm(p, fmt.Sprint(i)))
		}
	}
	in.groups[id] = gr
	in.groupOrder = append(in.groupOrder, id)
}

func (in *Input) parsePerm(p pdoc.Node, id string) *perm {
	pm := &perm{id: id, origin: p.Where()}
	in.protoPorts(pm, p.Key("IpProtocol"), p.Key("FromPort"), p.Key("ToPort"))
	for _, r := range p.Key("IpRanges").List() {
		if pf, ok := in.cidr(r.Key("CidrIp"), true); ok {
			pm.v4 = append(pm.v4, pf)
		}
	}
	for _, r := range p.Key("Ipv6Ranges").List() {
		if pf, ok := in.cidr(r.Key("CidrIpv6"), false); ok {
			pm.v6 = append(pm.v6, pf)
		}
	}
	for _, r := range p.Key("UserIdGroupPairs").List() {
		pm.pairs = append(pm.pairs, pair{r.Key("GroupId").ReqStr(), r.Key("UserId").Str(), r.Key("VpcPeeringConnectionId").Str()})
	}
	for _, r := range p.Key("PrefixListIds").List() {
		pm.pls = append(pm.pls, r.Key("PrefixListId").ReqStr())
	}
	return pm
}

func (in *Input) protoPorts(pm *perm, proto, from, to pdoc.Node) {
	ptxt := proto.ReqStr()
	pn, ok := policy.ProtoNumber(ptxt)
	if !ok {
		pm.protoBad = ptxt
		pn = -1
	}
	pm.proto = pn
	pm.hasPorts = from.Present() || to.Present()
	pm.from, pm.to = from.Int(-1), to.Int(-1)
	if pm.from < -1 || pm.from > 65535 {
		from.Failf("port out of range: %d", pm.from)
	}
	if pm.to < -1 || pm.to > 65535 {
		to.Failf("port out of range: %d", pm.to)
	}
}

// cidr parses a CIDR of the expected family; unparsable text never matches
// (POLICY.md 1) and is reported as a warning.
func (in *Input) cidr(n pdoc.Node, v4 bool) (netip.Prefix, bool) {
	s := n.Str()
	p, ok := policy.ParsePrefix(s)
	if !ok || p.Addr().Is4() != v4 {
		in.warnings = append(in.warnings, fmt.Sprintf("%s: %q is not an IPv%s CIDR; it never matches", n.Where(), s, map[bool]string{true: "4", false: "6"}[v4]))
		return netip.Prefix{}, false
	}
	return p, true
}

func (in *Input) addGroupRule(r pdoc.Node) {
	rid := r.Key("SecurityGroupRuleId").ReqStr()
	gid := r.Key("GroupId").ReqStr()
	if rid == "" || gid == "" || !in.seen.Add("security group rule "+rid, r) {
		return
	}
	gr := in.rulesOnly[gid]
	if gr == nil {
		gr = &group{id: gid, owner: r.Key("GroupOwnerId").Str(), fromRules: true}
		in.rulesOnly[gid] = gr
		in.ruleOrder = append(in.ruleOrder, gid)
	}
	pm := &perm{id: rid, origin: r.Where()}
	in.protoPorts(pm, r.Key("IpProtocol"), r.Key("FromPort"), r.Key("ToPort"))
	n := 0
	if c := r.Key("CidrIpv4"); c.Present() {
		n++
		if p, ok := in.cidr(c, true); ok {
			pm.v4 = append(pm.v4, p)
		}
	}
	if c := r.Key("CidrIpv6"); c.Present() {
		n++
		if p, ok := in.cidr(c, false); ok {
			pm.v6 = append(pm.v6, p)
		}
	}
	if c := r.Key("PrefixListId"); c.Present() {
		n++
		pm.pls = append(pm.pls, c.Str())
	}
	if c := r.Key("ReferencedGroupInfo"); c.Present() {
		n++
		pm.pairs = append(pm.pairs, pair{c.Key("GroupId").ReqStr(), c.Key("UserId").Str(), c.Key("VpcPeeringConnectionId").Str()})
	}
	if n != 1 {
		r.Failf("a security group rule needs exactly one of CidrIpv4, CidrIpv6, PrefixListId, ReferencedGroupInfo (found %d)", n)
	}
	d := 0
	if r.Key("IsEgress").Bool(false) {
		d = 1
	}
	gr.perms[d] = append(gr.perms[d], pm)
}

func (in *Input) addNACL(a pdoc.Node) {
	id := a.Key("NetworkAclId").ReqStr()
	if id == "" || !in.seen.Add("network ACL "+id, a) {
		return
	}
	n := &nacl{id: id, vpc: a.Key("VpcId").Str(), isDefault: a.Key("IsDefault").Bool(false)}
	for _, as := range a.Key("Associations").List() {
		n.subnets = append(n.subnets, as.Key("SubnetId").ReqStr())
	}
	for _, e := range a.Key("Entries").List() {
		en := &entry{num: e.Key("RuleNumber").Int(-1), origin: e.Where(), icmpT: -1, icmpC: -1}
		if en.num < 1 || en.num > 32768 {
			e.Key("RuleNumber").Failf("rule number must be 1-32768")
		}
		switch act := e.Key("RuleAction").ReqStr(); strings.ToLower(act) {
		case "allow":
			en.allow = true
		case "deny":
		default:
			e.Key("RuleAction").Failf("expected allow or deny, got %q", act)
		}
		ptxt := e.Key("Protocol").ReqStr()
		pn, ok := policy.ProtoNumber(ptxt)
		if !ok {
			en.protoBad, pn = ptxt, -1
		}
		en.proto = pn
		c4, c6 := e.Key("CidrBlock"), e.Key("Ipv6CidrBlock")
		switch {
		case c4.Present():
			p, ok := in.cidr(c4, true)
			en.cidr, en.cidrBad = p, !ok
		case c6.Present():
			p, ok := in.cidr(c6, false)
			en.cidr, en.cidrBad = p, !ok
		default:
			e.Failf("entry has neither CidrBlock nor Ipv6CidrBlock")
		}
		if pr := e.Key("PortRange"); pr.Present() {
			f, t := pr.Key("From").Int(0), pr.Key("To").Int(65535)
			if f < 0 || t > 65535 || f > t {
				pr.Failf("bad port range %d-%d", f, t)
			} else {
				en.ports = &policy.PortRange{Lo: uint16(f), Hi: uint16(t)}
			}
		}
		if it := e.Key("IcmpTypeCode"); it.Present() {
			en.icmpT, en.icmpC = int16(it.Key("Type").Int(-1)), int16(it.Key("Code").Int(-1))
		}
		d := 0
		if e.Key("Egress").Bool(false) {
			d = 1
		}
		n.entries[d] = append(n.entries[d], en)
	}
	in.nacls = append(in.nacls, n)
}

func (in *Input) addENI(e pdoc.Node) {
	id := e.Key("NetworkInterfaceId").ReqStr()
	if id == "" || !in.seen.Add("network interface "+id, e) {
		return
	}
	en := &eni{id: id, subnet: e.Key("SubnetId").Str(), vpc: e.Key("VpcId").Str(), owner: e.Key("OwnerId").Str()}
	addr := func(n pdoc.Node) (netip.Addr, bool) {
		s := n.Str()
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			n.Failf("not an IP address: %q", s)
			return netip.Addr{}, false
		}
		return a.Unmap(), true
	}
	for _, p := range e.Key("PrivateIpAddresses").List() {
		if a, ok := addr(p.Key("PrivateIpAddress")); ok {
			en.v4 = append(en.v4, a)
		}
	}
	if len(en.v4) == 0 {
		if p := e.Key("PrivateIpAddress"); p.Present() {
			if a, ok := addr(p); ok {
				en.v4 = append(en.v4, a)
			}
		}
	}
	for _, p := range e.Key("Ipv6Addresses").List() {
		if a, ok := addr(p.Key("Ipv6Address")); ok {
			en.v6 = append(en.v6, a)
		}
	}
	for _, g := range e.Key("Groups").List() {
		en.groups = append(en.groups, g.Key("GroupId").ReqStr())
	}
	in.enis = append(in.enis, en)
}
