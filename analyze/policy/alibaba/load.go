package alibaba

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/analyze/policy/internal/pdoc"
)

// Input accumulates Alibaba responses of several files.
type Input struct {
	groups   map[string]*group // DescribeSecurityGroupAttribute
	types    map[string]string // DescribeSecurityGroups: id -> normal|enterprise
	enis     []*eni
	nacls    []*nacl
	seen     pdoc.Seen
	warnings []string
}

type group struct {
	id, vpc, inner string
	perms          []*perm
}

type perm struct {
	index    int
	dir      policy.Dir
	drop     bool
	priority int
	proto    int16
	badProto bool
	ports    []policy.PortRange
	sports   []policy.PortRange
	// remote and local objects
	remote, local       []netip.Prefix
	remoteGroup         string
	localGroup          string
	remotePL, localPL   string
	hasRemote, hasLocal bool
	portList            string
	ruleID              string
	origin              string
}

type eni struct {
	id, vswitch, vpc string
	addrs            []netip.Addr
	v4               []netip.Addr
	groups           []string
}

type nacl struct {
	id       string
	vswitch  []string
	entries  [2][]*entry
	entryIDs [2][]string
}

type entry struct {
	accept bool
	proto  int16
	bad    bool
	ports  []policy.PortRange
	cidr   netip.Prefix
	v6     int // 0 from the CIDR, 4 or 6 from IpVersion
	id     string
	origin string
	system bool
}

// NewInput returns an empty accumulator.
func NewInput() *Input {
	return &Input{groups: map[string]*group{}, types: map[string]string{}, seen: pdoc.Seen{}}
}

// Detect reports whether a decoded document is an Alibaba response.
func Detect(root pdoc.Node) bool {
	if !root.IsMap() {
		return false
	}
	switch {
	case root.Has("SecurityGroupId") && root.Has("Permissions"),
		root.Has("SecurityGroups") && root.Key("SecurityGroups").IsMap(),
		root.Has("NetworkInterfaceSets"),
		root.Has("NetworkAcls") && root.Key("NetworkAcls").IsMap(),
		root.Has("NetworkAclAttribute"):
		return true
	}
	return false
}

// Add reads one decoded Alibaba document.
func (in *Input) Add(d *pdoc.Doc) error {
	root := d.Root
	if root.Has("SecurityGroupId") && root.Has("Permissions") {
		in.addGroup(root)
	}
	if root.Has("SecurityGroups") {
		for _, g := range root.Key("SecurityGroups").Wrapped("SecurityGroup") {
			id := g.Key("SecurityGroupId").ReqStr()
			t := strings.ToLower(g.Key("SecurityGroupType").Str())
			if t != "" && t != "normal" && t != "enterprise" {
				g.Key("SecurityGroupType").Failf("expected normal or enterprise, got %q", t)
			}
			in.types[id] = t
		}
	}
	if root.Has("NetworkInterfaceSets") {
		for _, e := range root.Key("NetworkInterfaceSets").Wrapped("NetworkInterfaceSet") {
			in.addENI(e)
		}
	}
	if root.Has("NetworkAcls") {
		for _, a := range root.Key("NetworkAcls").Wrapped("NetworkAcl") {
			in.addNACL(a)
		}
	}
	if root.Has("NetworkAclAttribute") {
		in.addNACL(root.Key("NetworkAclAttribute"))
	}
	return d.Err
}

// addr parses one address; masked documentation placeholders ("192.168.**.**")
// are rejected with their path.
func addr(n pdoc.Node) (netip.Addr, bool) {
	s := n.Str()
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		n.Failf("not an IP address: %q", s)
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func cidr(n pdoc.Node) (netip.Prefix, bool) {
	s := n.Str()
	if s == "" {
		return netip.Prefix{}, false
	}
	p, ok := policy.ParsePrefix(s)
	if !ok {
		n.Failf("not a CIDR: %q", s)
	}
	return p, ok
}

// portRange reads "a/b" ("-1/-1" = all); "" gives nil (all).
func portRange(n pdoc.Node) []policy.PortRange {
	s := strings.TrimSpace(n.Str())
	if s == "" || s == "-1/-1" {
		return nil
	}
	a, b, ok := strings.Cut(s, "/")
	lo, e1 := strconv.Atoi(a)
	hi, e2 := strconv.Atoi(b)
	if !ok || e1 != nil || e2 != nil || lo < 0 || hi > 65535 || lo > hi {
		n.Failf("bad port range %q (want FROM/TO, -1/-1 for all)", s)
		return nil
	}
	if lo == 0 && hi == 65535 {
		return nil
	}
	return []policy.PortRange{{Lo: uint16(lo), Hi: uint16(hi)}}
}

func (in *Input) addGroup(g pdoc.Node) {
	id := g.Key("SecurityGroupId").ReqStr()
	if id == "" || !in.seen.Add("security group "+id, g) {
		return
	}
	gr := &group{id: id, vpc: g.Key("VpcId").Str(), inner: g.Key("InnerAccessPolicy").Str()}
	for i, p := range g.Key("Permissions").Wrapped("Permission") {
		pm := &perm{index: i, origin: p.Where(), ruleID: p.Key("SecurityGroupRuleId").Str()}
		switch dir := strings.ToLower(p.Key("Direction").ReqStr()); dir {
		case "ingress":
		case "egress":
			pm.dir = policy.Egress
		default:
			p.Key("Direction").Failf("expected ingress or egress, got %q", dir)
		}
		switch pol := strings.ToLower(p.Key("Policy").Str()); pol {
		case "accept", "":
		case "drop":
			pm.drop = true
		default:
			p.Key("Policy").Failf("expected Accept or Drop, got %q", pol)
		}
		pm.priority = int(p.Key("Priority").Int(1))
		ptxt := p.Key("IpProtocol").ReqStr()
		pn, ok := policy.ProtoNumber(ptxt)
		if !ok {
			pm.badProto, pn = true, -1
		}
		pm.proto = pn
		if pn == 6 || pn == 17 {
			pm.ports = portRange(p.Key("PortRange"))
			pm.sports = portRange(p.Key("SourcePortRange"))
		}
		pm.portList = p.Key("PortRangeListId").Str()
		src, dst := &pm.remote, &pm.local
		srcG, dstG := &pm.remoteGroup, &pm.localGroup
		srcPL, dstPL := &pm.remotePL, &pm.localPL
		srcHas, dstHas := &pm.hasRemote, &pm.hasLocal
		if pm.dir == policy.Egress {
			src, dst, srcG, dstG, srcPL, dstPL, srcHas, dstHas = dst, src, dstG, srcG, dstPL, srcPL, dstHas, srcHas
		}
		side := func(prefixes *[]netip.Prefix, grp, pl *string, has *bool, cidrKey, v6Key, groupKey, plKey string) {
			for _, k := range []string{cidrKey, v6Key} {
				if c, ok := cidr(p.Key(k)); ok {
					*prefixes = append(*prefixes, c)
					*has = true
				}
			}
			if gid := p.Key(groupKey).Str(); gid != "" {
				*grp, *has = gid, true
			}
			if plid := p.Key(plKey).Str(); plid != "" {
				*pl, *has = plid, true
			}
		}
		side(src, srcG, srcPL, srcHas, "SourceCidrIp", "Ipv6SourceCidrIp", "SourceGroupId", "SourcePrefixListId")
		side(dst, dstG, dstPL, dstHas, "DestCidrIp", "Ipv6DestCidrIp", "DestGroupId", "DestPrefixListId")
		gr.perms = append(gr.perms, pm)
	}
	in.groups[id] = gr
}

func (in *Input) addENI(e pdoc.Node) {
	id := e.Key("NetworkInterfaceId").ReqStr()
	if id == "" || !in.seen.Add("network interface "+id, e) {
		return
	}
	en := &eni{id: id, vswitch: e.Key("VSwitchId").Str(), vpc: e.Key("VpcId").Str()}
	for _, p := range e.Key("PrivateIpSets").Wrapped("PrivateIpSet") {
		if a, ok := addr(p.Key("PrivateIpAddress")); ok {
			en.v4 = append(en.v4, a)
		}
	}
	if len(en.v4) == 0 && e.Key("PrivateIpAddress").Present() {
		if a, ok := addr(e.Key("PrivateIpAddress")); ok {
			en.v4 = append(en.v4, a)
		}
	}
	en.addrs = append(en.addrs, en.v4...)
	for _, p := range e.Key("Ipv6Sets").Wrapped("Ipv6Set") {
		if a, ok := addr(p.Key("Ipv6Address")); ok {
			en.addrs = append(en.addrs, a)
		}
	}
	for _, g := range e.Key("SecurityGroupIds").Wrapped("SecurityGroupId") {
		en.groups = append(en.groups, g.ReqStr())
	}
	in.enis = append(in.enis, en)
}

func (in *Input) addNACL(a pdoc.Node) {
	id := a.Key("NetworkAclId").ReqStr()
	if id == "" || !in.seen.Add("network ACL "+id, a) {
		return
	}
	n := &nacl{id: id}
	for _, r := range a.Key("Resources").Wrapped("Resource") {
		t := r.Key("ResourceType").Str()
		if (t == "" || strings.EqualFold(t, "VSwitch")) && strings.EqualFold(r.Key("Status").Str(), "BINDED") {
			n.vswitch = append(n.vswitch, r.Key("ResourceId").ReqStr())
		}
	}
	for d, keys := range [][3]string{{"IngressAclEntries", "IngressAclEntry", "SourceCidrIp"}, {"EgressAclEntries", "EgressAclEntry", "DestinationCidrIp"}} {
		for _, e := range a.Key(keys[0]).Wrapped(keys[1]) {
			en := &entry{id: e.Key("NetworkAclEntryId").Str(), origin: e.Where(), system: strings.EqualFold(e.Key("EntryType").Str(), "system")}
			switch pol := strings.ToLower(e.Key("Policy").ReqStr()); pol {
			case "accept":
				en.accept = true
			case "drop":
			default:
				e.Key("Policy").Failf("expected accept or drop, got %q", pol)
			}
			ptxt := e.Key("Protocol").ReqStr()
			pn, ok := policy.ProtoNumber(ptxt)
			if !ok {
				en.bad, pn = true, -1
			}
			en.proto = pn
			if pn == 6 || pn == 17 {
				en.ports = portRange(e.Key("Port"))
			}
			c := e.Key(keys[2])
			p, ok := policy.ParsePrefix(c.ReqStr())
			if !ok {
				c.Failf("not a CIDR: %q", c.Str())
			}
			en.cidr = p
			switch v := strings.ToLower(e.Key("IpVersion").Str()); v {
			case "ipv4":
				en.v6 = 4
			case "ipv6":
				en.v6 = 6
			case "":
			default:
				e.Key("IpVersion").Failf("expected IPv4 or IPv6, got %q", v)
			}
			if ok && en.v6 != 0 && p.Addr().Is4() != (en.v6 == 4) {
				c.Failf("CIDR %s does not match IpVersion", p)
			}
			n.entries[d] = append(n.entries[d], en)
		}
	}
	in.nacls = append(in.nacls, n)
}

// Build adds the Alibaba scopes to set.
func (in *Input) Build(set *policy.Set) {
	set.Warnings = append(set.Warnings, in.warnings...)
	members := map[string][]netip.Prefix{}   // group -> all addresses of member ENIs
	membersV4 := map[string][]netip.Prefix{} // group -> private IPv4 addresses
	for _, e := range in.enis {
		for _, g := range e.groups {
			for _, a := range e.addrs {
				members[g] = append(members[g], policy.Host(a))
			}
			for _, a := range e.v4 {
				membersV4[g] = append(membersV4[g], policy.Host(a))
			}
		}
	}
	warned := map[string]bool{}
	basic := func(g string) bool {
		t, ok := in.types[g]
		if !ok || t == "" {
			if !warned[g] {
				warned[g] = true
				set.Warnf("security group %s: type unknown (no DescribeSecurityGroups entry); taken as basic", g)
			}
			return true
		}
		return t == "normal"
	}
	naclLayers := map[string]*policy.Layer{}
	sgLayers := map[string]*policy.Layer{}
	for _, e := range in.enis {
		ifc := &policy.Interface{ID: e.id, Provider: "alibaba", Subnet: e.vswitch, VPC: e.vpc, Addrs: e.addrs}
		if n := in.naclFor(e.vswitch); n != nil {
			l := naclLayers[n.id]
			if l == nil {
				l = naclLayer(n)
				naclLayers[n.id] = l
			}
			ifc.Layers = append(ifc.Layers, l)
		}
		key := strings.Join(e.groups, "+")
		l := sgLayers[key]
		if l == nil {
			l = in.sgLayer(e, members, membersV4, basic)
			sgLayers[key] = l
		}
		ifc.Layers = append(ifc.Layers, l)
		set.Interfaces = append(set.Interfaces, ifc)
	}
}

func (in *Input) naclFor(vsw string) *nacl {
	for _, n := range in.nacls {
		for _, v := range n.vswitch {
			if v == vsw && v != "" {
				return n
			}
		}
	}
	return nil
}

func naclLayer(n *nacl) *policy.Layer {
	l := &policy.Layer{Name: n.id, Kind: policy.KindAliNACL}
	for d := 0; d < 2; d++ {
		dir := policy.Dir(d)
		c := l.Chain(dir)
		for i, en := range n.entries[d] {
			r := &policy.Rule{
				ID: fmt.Sprintf("%s/%s/%d", n.id, dir, i), Action: policy.Deny, Proto: en.proto, Ports: en.ports,
				ICMPType: -1, ICMPCode: -1, Remote: []netip.Prefix{en.cidr}, Kind: policy.KindAliNACL, Scope: n.id,
				Dir: dir, Priority: i + 1, Origin: en.origin,
			}
			if en.accept {
				r.Action = policy.Allow
			}
			if en.bad {
				r.Unknown = policy.ReasonUnsupportedProto
			}
			r.Identity = "ali-nacl|" + n.id + "|" + dir.String() + "|" + en.id
			if en.id == "" {
				r.Identity = "ali-nacl|" + n.id + "|" + dir.String() + "|" + policy.Describe(r)
			}
			r.Text = policy.Describe(r)
			if en.system {
				r.Text += " (system)"
			}
			c.Rules = append(c.Rules, r)
		}
		c.Default = policy.Outcome{Action: policy.Deny, ID: n.id + "/" + dir.String() + "/*"}
	}
	return l
}

type sortable struct {
	r        *policy.Rule
	priority int
	drop     bool
	gi, pi   int
}

func (in *Input) sgLayer(e *eni, members, membersV4 map[string][]netip.Prefix, basic func(string) bool) *policy.Layer {
	l := &policy.Layer{Name: strings.Join(e.groups, "+"), Kind: policy.KindAliSG}
	anyBasic, allEnterprise := false, len(e.groups) > 0
	var innerAccept, innerAll []netip.Prefix
	for _, g := range e.groups {
		if !basic(g) {
			continue
		}
		anyBasic, allEnterprise = true, false
		innerAll = append(innerAll, members[g]...)
		if gr := in.groups[g]; gr == nil || !strings.EqualFold(gr.inner, "Drop") {
			innerAccept = append(innerAccept, members[g]...)
		}
	}
	for d := 0; d < 2; d++ {
		dir := policy.Dir(d)
		c := l.Chain(dir)
		var rs []sortable
		for gi, g := range e.groups {
			gr := in.groups[g]
			if gr == nil {
				// No DescribeSecurityGroupAttribute: its rules may drop or
				// accept anything at any priority.
				for _, a := range []policy.Action{policy.Deny, policy.Allow} {
					c.Rules = append(c.Rules, &policy.Rule{ID: g + "/" + dir.String() + "/?", Action: a, Proto: -1,
						ICMPType: -1, ICMPCode: -1, Remote: []netip.Prefix{policy.AllV4, policy.AllV6},
						Unknown: policy.ReasonGroupNotDescribed, Kind: policy.KindAliSG, Scope: g, Dir: dir,
						Text: "group " + g + " is not described by any input"})
				}
				continue
			}
			for _, pm := range gr.perms {
				if pm.dir != dir {
					continue
				}
				rs = append(rs, sortable{permRule(gr, pm, membersV4), pm.priority, pm.drop, gi, pm.index})
			}
		}
		sort.SliceStable(rs, func(i, j int) bool {
			a, b := rs[i], rs[j]
			if a.priority != b.priority {
				return a.priority < b.priority
			}
			if a.drop != b.drop {
				return a.drop
			}
			if a.gi != b.gi {
				return a.gi < b.gi
			}
			return a.pi < b.pi
		})
		for _, s := range rs {
			c.Rules = append(c.Rules, s.r)
		}
		if anyBasic {
			c.Rules = append(c.Rules,
				&policy.Rule{ID: "default/ali-sg/inner-accept", Action: policy.Allow, Proto: -1, ICMPType: -1, ICMPCode: -1,
					Remote: innerAccept, Kind: policy.KindAliSG, Dir: dir, Text: "members of a shared basic group with InnerAccessPolicy Accept"},
				&policy.Rule{ID: "default/ali-sg/inner-drop", Action: policy.Deny, Proto: -1, ICMPType: -1, ICMPCode: -1,
					Remote: innerAll, Kind: policy.KindAliSG, Dir: dir, Text: "members of shared basic groups that all say Drop"})
		}
		switch {
		case dir == policy.Ingress:
			c.Default = policy.Outcome{Action: policy.Deny, ID: "default/ali-sg/ingress-drop"}
		case allEnterprise:
			c.Default = policy.Outcome{Action: policy.Deny, ID: "default/ali-sg/egress-drop"}
		default:
			c.Default = policy.Outcome{Action: policy.Allow, ID: "default/ali-sg/egress-accept"}
		}
	}
	return l
}

func permRule(g *group, pm *perm, membersV4 map[string][]netip.Prefix) *policy.Rule {
	r := &policy.Rule{
		ID: fmt.Sprintf("%s/%s/%d", g.id, pm.dir, pm.index), Action: policy.Allow, Proto: pm.proto,
		Ports: pm.ports, SrcPorts: pm.sports, ICMPType: -1, ICMPCode: -1, Kind: policy.KindAliSG,
		Scope: g.id, Dir: pm.dir, Priority: pm.priority, Origin: pm.origin,
	}
	if pm.drop {
		r.Action = policy.Deny
	}
	switch {
	case len(pm.remote) > 0: // a CIDR set together with a group wins
		r.Remote = pm.remote
	case pm.remoteGroup != "":
		r.Remote = membersV4[pm.remoteGroup]
	case pm.remotePL != "":
		r.RemoteUnknown = policy.ReasonPrefixList
	}
	if pm.hasLocal {
		switch {
		case len(pm.local) > 0:
			r.Local = pm.local
		case pm.localGroup != "":
			r.Local = append([]netip.Prefix{}, membersV4[pm.localGroup]...)
		case pm.localPL != "":
			r.Local = []netip.Prefix{policy.AllV4, policy.AllV6}
			r.Unknown = policy.ReasonPrefixList
		}
	}
	if pm.portList != "" {
		r.Unknown = policy.ReasonPortList
	}
	if pm.badProto {
		r.Unknown = policy.ReasonUnsupportedProto
	}
	r.Text = policy.Describe(r)
	if pm.ruleID != "" {
		r.Identity = "ali-sg|" + pm.ruleID
	} else {
		r.Identity = fmt.Sprintf("ali-sg|%s|%s|%d|%v|%s", g.id, pm.dir, pm.priority, pm.drop, r.Text)
	}
	return r
}
