package elastic

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/analyze/policy/internal/pdoc"
)

// Input accumulates Elastic rule sets, bindings and node configurations.
type Input struct {
	sets     []*ruleset
	setByID  map[string]*ruleset
	deps     []*deployment
	nodes    []*node
	nodeByP  map[string]*node // by cleaned config path
	internal []netip.Prefix
	seen     pdoc.Seen
	// ReadFile reads a node configuration named by a bindings file.
	ReadFile func(path string) ([]byte, error)
}

type ruleset struct {
	id, name, typ string
	rules         []erule
	assoc         []string
	assocKnown    bool
	origin        string
}

type erule struct {
	id, source, guid, name string
	rcID, rcOrg            string
	target, proto          string
	ports                  []int64
	origin                 string
}

type endpoint struct {
	key   string
	addrs []netip.Prefix
}

type deployment struct {
	id          string
	addrs       []netip.Prefix
	rulesets    []string
	rulesetsSet bool
	private     []endpoint
	remote      []endpoint
}

// NewInput returns an empty accumulator.
func NewInput() *Input {
	return &Input{setByID: map[string]*ruleset{}, nodeByP: map[string]*node{}, seen: pdoc.Seen{}}
}

// DetectJSON reports whether a JSON document is an Elastic Cloud rule set
// listing, one rule set, or a rule set's associations.
func DetectJSON(root pdoc.Node) bool {
	if !root.IsMap() {
		return false
	}
	return root.Has("rulesets") || (root.Has("rules") && root.Has("type")) ||
		(root.Has("associations") && root.Has("total_associations"))
}

// DetectBindings reports whether a YAML document is a bindings file.
func DetectBindings(root pdoc.Node) bool {
	return root.IsMap() && (root.Has("elastic_cloud") || root.Has("elasticsearch"))
}

var hexID = regexp.MustCompile(`[0-9a-f]{32}`)

// AddJSON reads a rule set document.
func (in *Input) AddJSON(d *pdoc.Doc) error {
	root := d.Root
	switch {
	case root.Has("rulesets"):
		for _, s := range root.Key("rulesets").List() {
			in.addSet(s)
		}
	case root.Has("rules"):
		in.addSet(root)
	default: // GET …/rulesets/{id}/associations: the id comes from the file name
		ids := hexID.FindAllString(filepath.Base(d.File), -1)
		if len(ids) != 1 {
			root.Failf("a rule set associations body does not name its rule set: the file name must contain its 32-hex-digit id")
			return d.Err
		}
		s := in.setByID[ids[0]]
		if s == nil {
			s = &ruleset{id: ids[0], origin: root.Where()}
			in.setByID[s.id] = s
			in.sets = append(in.sets, s)
		}
		s.assocKnown = true
		for _, a := range root.Key("associations").List() {
			s.assoc = append(s.assoc, a.Key("id").ReqStr())
		}
	}
	return d.Err
}

func (in *Input) addSet(s pdoc.Node) {
	id := s.Key("id").ReqStr()
	if id == "" || !in.seen.Add("rule set "+id, s) {
		return
	}
	rs := in.setByID[id]
	if rs == nil {
		rs = &ruleset{id: id}
		in.setByID[id] = rs
		in.sets = append(in.sets, rs)
	}
	rs.name, rs.typ, rs.origin = s.Key("name").Str(), s.Key("type").ReqStr(), s.Where()
	switch rs.typ {
	case "ip", "vpce", "azure_private_endpoint", "gcp_private_service_connect_endpoint", "remote_cluster", "egress_firewall":
	default:
		s.Key("type").Failf("unknown rule set type %q", rs.typ)
	}
	for _, r := range s.Key("rules").List() {
		er := erule{id: r.Key("id").Str(), source: strings.TrimSpace(r.Key("source").Str()), guid: r.Key("azure_endpoint_guid").Str(),
			name: r.Key("azure_endpoint_name").Str(), rcID: r.Key("remote_cluster_id").Str(), rcOrg: r.Key("remote_cluster_org_id").Str(), origin: r.Where()}
		if eg := r.Key("egress_rule"); eg.Present() {
			er.target, er.proto = strings.TrimSpace(eg.Key("target").Str()), strings.ToLower(eg.Key("protocol").Str())
			for _, p := range eg.Key("ports").List() {
				v := p.Int(-1)
				if v < 0 || v > 65535 {
					p.Failf("port out of range: %d", v)
				}
				er.ports = append(er.ports, v)
			}
		}
		switch rs.typ {
		case "ip":
			if _, ok := policy.ParsePrefix(er.source); !ok {
				r.Key("source").Failf("not an IP address or CIDR: %q (host names are not allowed)", er.source)
			}
		case "egress_firewall":
			if _, ok := policy.ParsePrefix(er.target); !ok {
				r.Key("egress_rule").Key("target").Failf("not an IP address or CIDR: %q", er.target)
			}
		}
		rs.rules = append(rs.rules, er)
	}
	if s.Has("associations") && s.Key("associations").Present() {
		rs.assocKnown = true
		rs.assoc = nil
		for _, a := range s.Key("associations").List() {
			rs.assoc = append(rs.assoc, a.Key("id").ReqStr())
		}
	}
}

func prefixes(n pdoc.Node) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range n.Strs(false) {
		p, ok := policy.ParsePrefix(s)
		if !ok {
			n.Failf("not an IP address or CIDR: %q", s)
			continue
		}
		out = append(out, p)
	}
	return out
}

// AddBindings reads a bindings YAML file; node configurations it names are
// read through ReadFile, relative to the bindings file.
func (in *Input) AddBindings(d *pdoc.Doc) error {
	root := d.Root
	in.internal = append(in.internal, prefixes(root.Key("internal"))...)
	for _, dn := range root.Key("elastic_cloud").Key("deployments").List() {
		dep := &deployment{id: dn.Key("id").ReqStr(), addrs: prefixes(dn.Key("addresses"))}
		if rs := dn.Key("rulesets"); rs.Present() {
			dep.rulesetsSet = true
			dep.rulesets = rs.Strs(false)
		}
		for _, pe := range dn.Key("private_endpoints").List() {
			k := pe.Key("source").Str()
			if k == "" {
				k = pe.Key("azure_endpoint_guid").Str()
			}
			if k == "" {
				pe.Failf("a private endpoint binding needs source or azure_endpoint_guid")
			}
			dep.private = append(dep.private, endpoint{k, prefixes(pe.Key("addresses"))})
		}
		for _, rc := range dn.Key("remote_clusters").List() {
			k := rc.Key("remote_cluster_id").Str()
			if k == "" {
				k = "org:" + rc.Key("remote_cluster_org_id").Str()
			}
			if k == "org:" {
				rc.Failf("a remote cluster binding needs remote_cluster_id or remote_cluster_org_id")
			}
			dep.remote = append(dep.remote, endpoint{k, prefixes(rc.Key("addresses"))})
		}
		in.deps = append(in.deps, dep)
	}
	for _, nn := range root.Key("elasticsearch").Key("nodes").List() {
		cfg := nn.Key("config").ReqStr()
		if d.Err != nil {
			return d.Err
		}
		path := cfg
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(d.File), cfg)
		}
		n := in.nodeByP[absPath(path)]
		if n == nil {
			if in.ReadFile == nil {
				nn.Key("config").Failf("cannot read %s", path)
				return d.Err
			}
			data, err := in.ReadFile(path)
			if err != nil {
				nn.Key("config").Failf("%v", err)
				return d.Err
			}
			cd, err := pdoc.ParseYAML(path, data)
			if err != nil {
				return err
			}
			if err := in.AddNodeConfig(cd); err != nil {
				return err
			}
			n = in.nodeByP[absPath(path)]
		}
		if a := nn.Key("addresses"); a.Present() {
			n.addrs = prefixes(a)
			n.bound = true
		}
	}
	return d.Err
}

var ingressKinds = map[string]bool{"ip": true, "vpce": true, "azure_private_endpoint": true,
	"gcp_private_service_connect_endpoint": true, "remote_cluster": true}

// Build adds deployments and nodes to set.
func (in *Input) Build(set *policy.Set) {
	set.Own = append(set.Own, in.internal...)
	if len(in.sets) > 0 && len(in.deps) == 0 {
		set.Warnf("Elastic Cloud rule sets were loaded without bindings: no deployment address is known, so no record is judged by them (POLICY.md 7.3)")
	}
	for _, dep := range in.deps {
		l := &policy.Layer{Name: "ec:" + dep.id, Kind: policy.KindECFilter}
		in.chain(dep, policy.Ingress, &l.In)
		in.chain(dep, policy.Egress, &l.Out)
		set.Deployments = append(set.Deployments, &policy.Deployment{ID: dep.id, Addrs: dep.addrs, Layer: l})
	}
	in.buildNodes(set)
}

// assoc is yes (1), no (0) or unknown (-1).
func (in *Input) assoc(dep *deployment, s *ruleset) int {
	if dep.rulesetsSet {
		for _, id := range dep.rulesets {
			if id == s.id {
				return 1
			}
		}
		return 0
	}
	if !s.assocKnown {
		return -1
	}
	for _, id := range s.assoc {
		if id == dep.id {
			return 1
		}
	}
	return 0
}

func (in *Input) chain(dep *deployment, dir policy.Dir, c *policy.Chain) {
	var known, unknown []*ruleset
	for _, s := range in.sets {
		if (s.typ == "egress_firewall") != (dir == policy.Egress) {
			continue
		}
		switch in.assoc(dep, s) {
		case 1:
			known = append(known, s)
		case -1:
			unknown = append(unknown, s)
		}
	}
	open, deny := "default/ec-filter/open", "default/ec-filter/deny"
	if dir == policy.Egress {
		open, deny = "default/ec-filter/egress-open", "default/ec-filter/egress-deny"
	}
	switch {
	case len(known) > 0:
		for _, s := range in.sets {
			switch {
			case contains(known, s):
				c.Rules = append(c.Rules, in.rules(dep, s, dir, "")...)
			case contains(unknown, s):
				c.Rules = append(c.Rules, in.rules(dep, s, dir, policy.ReasonAssociations)...)
			}
		}
		c.Default = policy.Outcome{Action: policy.Deny, ID: deny}
	case len(unknown) == 1:
		// Associated: its rules decide; not associated: open. A matching
		// rule allows either way.
		c.Rules = in.rules(dep, unknown[0], dir, "")
		c.Default = policy.Outcome{Reason: policy.ReasonAssociations}
	case len(unknown) > 1:
		for _, s := range unknown {
			c.Rules = append(c.Rules, in.rules(dep, s, dir, policy.ReasonAssociations)...)
		}
		c.Default = policy.Outcome{Reason: policy.ReasonAssociations}
	default:
		c.Default = policy.Outcome{Action: policy.Allow, ID: open}
	}
}

func contains(ss []*ruleset, s *ruleset) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func (in *Input) rules(dep *deployment, s *ruleset, dir policy.Dir, unknown string) []*policy.Rule {
	var out []*policy.Rule
	for i, er := range s.rules {
		r := &policy.Rule{ID: fmt.Sprintf("%s/%d", s.id, i), Action: policy.Allow, Proto: -1, ICMPType: -1, ICMPCode: -1,
			Kind: policy.KindECFilter, Scope: s.id, Dir: dir, Origin: er.origin, Unknown: unknown}
		key := er.id
		if key == "" {
			key = er.source
		}
		r.Identity = "ec|" + s.id + "|" + key
		switch s.typ {
		case "ip":
			p, _ := policy.ParsePrefix(er.source)
			r.Remote = []netip.Prefix{p}
		case "vpce", "gcp_private_service_connect_endpoint", "azure_private_endpoint":
			keys := []string{er.source, er.guid}
			found := false
			for _, pe := range dep.private {
				for _, k := range keys {
					if k != "" && pe.key == k {
						r.Remote = append(r.Remote, pe.addrs...)
						found = true
					}
				}
			}
			if !found {
				r.RemoteUnknown, r.UnknownSkipsInternet = policy.ReasonPrivateEndpoint, true
			}
		case "remote_cluster":
			r.Proto, r.Ports = 6, []policy.PortRange{{Lo: 9443, Hi: 9443}}
			found := false
			for _, rc := range dep.remote {
				if (er.rcID != "" && rc.key == er.rcID) || (er.rcOrg != "" && rc.key == "org:"+er.rcOrg) {
					r.Remote = append(r.Remote, rc.addrs...)
					found = true
				}
			}
			if !found {
				r.RemoteUnknown = policy.ReasonRemoteCluster
			}
		case "egress_firewall":
			p, _ := policy.ParsePrefix(er.target)
			r.Remote = []netip.Prefix{p}
			var ports []policy.PortRange
			for _, v := range er.ports {
				ports = append(ports, policy.PortRange{Lo: uint16(v), Hi: uint16(v)})
			}
			switch er.proto {
			case "tcp":
				r.Proto, r.Ports = 6, ports
			case "udp":
				r.Proto, r.Ports = 17, ports
			case "all", "":
				if len(ports) > 0 { // ports restrict every protocol: only TCP and UDP have them
					u := *r
					r.Proto, r.Ports = 6, ports
					u.Proto, u.Ports = 17, ports
					u.Text = policy.Describe(&u)
					out = append(out, &u)
				}
			default:
				r.Unknown = policy.ReasonUnsupportedProto
			}
		}
		r.Text = policy.Describe(r)
		out = append(out, r)
	}
	return out
}
