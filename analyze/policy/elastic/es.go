package elastic

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/analyze/policy/internal/pdoc"
)

type node struct {
	name     string
	addrs    []netip.Prefix // empty = any
	bound    bool           // addresses come from bindings
	settings map[string]pdoc.Node
	origin   string
}

// DetectNodeConfig reports whether a YAML document looks like an
// elasticsearch.yml (flat or nested setting keys).
func DetectNodeConfig(root pdoc.Node) bool {
	if !root.IsMap() {
		return false
	}
	for _, k := range root.Keys() {
		first, _, _ := strings.Cut(k, ".")
		switch first {
		case "xpack", "node", "network", "transport", "http", "remote_cluster", "remote_cluster_server", "cluster", "path", "discovery":
			return true
		}
	}
	return false
}

// flatten turns nested keys into dotted ones.
func flatten(n pdoc.Node, prefix string, out map[string]pdoc.Node) {
	if !n.IsMap() {
		out[prefix] = n
		return
	}
	for _, k := range n.Keys() {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		flatten(n.Key(k), key, out)
	}
}

// AddNodeConfig reads one elasticsearch.yml.
func (in *Input) AddNodeConfig(d *pdoc.Doc) error {
	p := absPath(d.File)
	if in.nodeByP[p] != nil {
		return nil
	}
	n := &node{settings: map[string]pdoc.Node{}, origin: d.File}
	flatten(d.Root, "", n.settings)
	n.name = n.str("node.name")
	if n.name == "" {
		n.name = strings.TrimSuffix(filepath.Base(d.File), filepath.Ext(d.File))
	}
	if h, ok := n.settings["network.host"]; ok {
		for _, s := range h.Strs(true) {
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" || a.IsUnspecified() {
				continue // special values (_site_, 0.0.0.0) and host names: not literal
			}
			n.addrs = append(n.addrs, policy.Host(a.Unmap()))
		}
	}
	// Validate what will be read, so errors name the setting.
	for k, v := range n.settings {
		if strings.HasSuffix(k, ".filter.allow") || strings.HasSuffix(k, ".filter.deny") {
			v.Strs(true)
		}
		if strings.HasSuffix(k, ".enabled") || k == "xpack.security.filter.always_allow_bound_address" {
			v.Bool(true)
		}
		if k == "http.port" || k == "transport.port" || k == "remote_cluster.port" || (strings.HasPrefix(k, "transport.profiles.") && strings.HasSuffix(k, ".port")) {
			if _, ok := parsePorts(v.Str()); !ok {
				v.Failf("bad port or port range %q", v.Str())
			}
		}
	}
	if d.Err != nil {
		return d.Err
	}
	in.nodes = append(in.nodes, n)
	in.nodeByP[p] = n
	return nil
}

func (n *node) str(k string) string {
	if v, ok := n.settings[k]; ok {
		return v.Str()
	}
	return ""
}

func (n *node) list(k string) ([]string, bool) {
	v, ok := n.settings[k]
	if !ok || !v.Present() {
		return nil, false
	}
	return v.Strs(true), true
}

func (n *node) enabled(k string) bool {
	if v, ok := n.settings[k]; ok {
		return v.Bool(true)
	}
	return true
}

func parsePorts(s string) (policy.PortRange, bool) {
	s = strings.TrimSpace(s)
	a, b, isRange := strings.Cut(s, "-")
	lo, e1 := strconv.Atoi(strings.TrimSpace(a))
	hi := lo
	var e2 error
	if isRange {
		hi, e2 = strconv.Atoi(strings.TrimSpace(b))
	}
	if e1 != nil || e2 != nil || lo < 0 || hi > 65535 || lo > hi {
		return policy.PortRange{}, false
	}
	return policy.PortRange{Lo: uint16(lo), Hi: uint16(hi)}, true
}

func (n *node) port(k, def string) policy.PortRange {
	s := n.str(k)
	if s == "" {
		s = def
	}
	p, _ := parsePorts(s)
	return p
}

type list struct {
	family string
	vals   []string
}

// pick returns the first present list among keys (family names in order).
func (n *node) pick(pairs ...string) list {
	for i := 0; i+1 < len(pairs); i += 2 {
		if v, ok := n.list(pairs[i+1]); ok {
			return list{pairs[i], v}
		}
	}
	return list{}
}

func (in *Input) buildNodes(set *policy.Set) {
	for _, n := range in.nodes {
		sn := &policy.Node{Name: n.name, Addrs: n.addrs}
		const tr = "xpack.security.transport.filter."
		trOn := n.enabled(tr + "enabled")
		bound := n.enabled("xpack.security.filter.always_allow_bound_address")
		mk := func(filter string, on bool, allow, deny list) *policy.Layer {
			l := &policy.Layer{Name: "es:" + n.name + "/" + filter, Kind: policy.KindESFilter}
			c := &l.In
			if !on {
				c.Default = policy.Outcome{Action: policy.Allow, ID: "default/es-filter/disabled"}
				l.Out = *c
				return l
			}
			if bound && len(n.addrs) > 0 {
				c.Rules = append(c.Rules, &policy.Rule{ID: "default/es-filter/bound-address", Action: policy.Allow, Proto: -1,
					ICMPType: -1, ICMPCode: -1, Remote: n.addrs, Kind: policy.KindESFilter, Scope: "es:" + n.name,
					Text: "the node's own bound addresses"})
			}
			c.Rules = append(c.Rules, n.entries(allow, policy.Allow)...)
			c.Rules = append(c.Rules, n.entries(deny, policy.Deny)...)
			c.Default = policy.Outcome{Action: policy.Allow, ID: "default/es-filter/accept"}
			l.Out = policy.Chain{Default: c.Default}
			return l
		}
		tAllow := n.pick("transport", tr+"allow")
		tDeny := n.pick("transport", tr+"deny")
		const pd = "transport.profiles.default.xpack.security.filter."
		const hp = "xpack.security.http.filter."
		http := mk("http", n.enabled(hp+"enabled"),
			n.pick("http", hp+"allow", "profile.default", pd+"allow", "transport", tr+"allow"),
			n.pick("http", hp+"deny", "profile.default", pd+"deny", "transport", tr+"deny"))
		sn.Filters = append(sn.Filters, policy.PortFilter{Ports: n.port("http.port", "9200"), Layer: http})
		if v, ok := n.settings["remote_cluster_server.enabled"]; ok && v.Bool(false) {
			const rc = "xpack.security.remote_cluster.filter."
			l := mk("remote_cluster", trOn,
				n.pick("remote_cluster", rc+"allow", "transport", tr+"allow"),
				n.pick("remote_cluster", rc+"deny", "transport", tr+"deny"))
			sn.Filters = append(sn.Filters, policy.PortFilter{Ports: n.port("remote_cluster.port", "9443"), Layer: l})
		}
		var profiles []string
		for k := range n.settings {
			if rest, ok := strings.CutPrefix(k, "transport.profiles."); ok {
				if name, tail, ok := strings.Cut(rest, "."); ok && tail == "port" && name != "default" {
					profiles = append(profiles, name)
				}
			}
		}
		sort.Strings(profiles)
		for _, p := range profiles {
			pre := "transport.profiles." + p + ".xpack.security.filter."
			fam := "profile." + p
			l := mk(fam, trOn, n.pick(fam, pre+"allow"), n.pick(fam, pre+"deny"))
			sn.Filters = append(sn.Filters, policy.PortFilter{Ports: n.port("transport.profiles."+p+".port", ""), Layer: l})
		}
		sn.Filters = append(sn.Filters, policy.PortFilter{Ports: n.port("transport.port", "9300"), Layer: mk("transport", trOn, tAllow, tDeny)})
		set.Nodes = append(set.Nodes, sn)
	}
}

// entries turns a filter list into rules (POLICY.md 7.2).
func (n *node) entries(l list, a policy.Action) []*policy.Rule {
	var out []*policy.Rule
	verb := "allow"
	if a == policy.Deny {
		verb = "deny"
	}
	for i, v := range l.vals {
		r := &policy.Rule{ID: fmt.Sprintf("es:%s/%s/%s/%d", n.name, l.family, verb, i), Action: a, Proto: -1,
			ICMPType: -1, ICMPCode: -1, Kind: policy.KindESFilter, Scope: "es:" + n.name + "/" + l.family,
			Origin: n.origin, Identity: "es|" + n.name + "|" + l.family + "|" + verb + "|" + v}
		switch {
		case v == "_all":
			r.Remote = []netip.Prefix{policy.AllV4, policy.AllV6}
		case v == "localhost":
			r.Remote = append([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}, n.addrs...)
		case strings.Contains(v, "/"):
			if p, ok := parseCIDR(v); ok {
				r.Remote = []netip.Prefix{p}
			} // unparsable: never matches
		default:
			if a, err := netip.ParseAddr(v); err == nil && a.Zone() == "" {
				r.Remote = []netip.Prefix{policy.Host(a.Unmap())}
			} else if numericPattern(v) {
				r.RemoteGlob = []string{v}
			} else {
				r.Remote = []netip.Prefix{policy.AllV4, policy.AllV6}
				r.Unknown = policy.ReasonHostname
			}
		}
		r.Text = verb + " " + v
		out = append(out, r)
	}
	return out
}

// parseCIDR accepts prefix lengths and dotted netmasks (10.0.0.0/255.0.0.0).
func parseCIDR(s string) (netip.Prefix, bool) {
	if p, ok := policy.ParsePrefix(s); ok {
		return p, true
	}
	a, m, _ := strings.Cut(s, "/")
	addr, err1 := netip.ParseAddr(a)
	mask, err2 := netip.ParseAddr(m)
	if err1 != nil || err2 != nil || !addr.Is4() || !mask.Is4() {
		return netip.Prefix{}, false
	}
	b := mask.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	bits := 0
	for v&0x80000000 != 0 {
		bits++
		v <<= 1
	}
	if v != 0 {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(addr, bits).Masked(), true
}

func numericPattern(s string) bool {
	wild := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '*' || c == '?':
			wild = true
		case c >= '0' && c <= '9', c == '.', c == ':':
		default:
			return false
		}
	}
	return wild
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return filepath.Clean(p)
}
