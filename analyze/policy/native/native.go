package native

import (
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/analyze/policy/internal/pdoc"
)

// Key is the top-level key that marks a native policy file.
const Key = "flowsift_policy"

type fileT struct {
	Version     int           `yaml:"flowsift_policy"`
	Own         []string      `yaml:"own,omitempty"`
	Layers      []layerT      `yaml:"layers,omitempty"`
	Interfaces  []ifaceT      `yaml:"interfaces,omitempty"`
	Deployments []deploymentT `yaml:"deployments,omitempty"`
	Nodes       []nodeT       `yaml:"nodes,omitempty"`
}

type layerT struct {
	Name      string `yaml:"name"`
	Kind      string `yaml:"kind"`
	SkipLocal bool   `yaml:"skip_local,omitempty"`
	Ingress   chainT `yaml:"ingress"`
	Egress    chainT `yaml:"egress"`
}

type chainT struct {
	Rules   []ruleT  `yaml:"rules,omitempty"`
	Default defaultT `yaml:"default"`
}

type defaultT struct {
	Action string `yaml:"action,omitempty"`
	ID     string `yaml:"id,omitempty"`
	Reason string `yaml:"reason,omitempty"`
}

type ruleT struct {
	ID                   string   `yaml:"id"`
	Action               string   `yaml:"action"`
	Proto                int      `yaml:"proto"`
	Ports                []string `yaml:"ports,omitempty,flow"`
	SrcPorts             []string `yaml:"src_ports,omitempty,flow"`
	ICMPType             *int     `yaml:"icmp_type,omitempty"`
	ICMPCode             *int     `yaml:"icmp_code,omitempty"`
	Remote               []string `yaml:"remote,omitempty,flow"`
	RemoteGlob           []string `yaml:"remote_glob,omitempty,flow"`
	RemoteUnknown        string   `yaml:"remote_unknown,omitempty"`
	UnknownSkipsInternet bool     `yaml:"unknown_skips_internet,omitempty"`
	Local                []string `yaml:"local,omitempty,flow"`
	Unknown              string   `yaml:"unknown,omitempty"`
	Scope                string   `yaml:"scope,omitempty"`
	Priority             int      `yaml:"priority,omitempty"`
	Identity             string   `yaml:"identity,omitempty"`
	Origin               string   `yaml:"origin,omitempty"`
	Text                 string   `yaml:"text,omitempty"`
}

type ifaceT struct {
	ID             string   `yaml:"id"`
	Provider       string   `yaml:"provider"`
	Subnet         string   `yaml:"subnet,omitempty"`
	VPC            string   `yaml:"vpc,omitempty"`
	Owner          string   `yaml:"owner,omitempty"`
	Addresses      []string `yaml:"addresses,flow"`
	Local          []string `yaml:"local,omitempty,flow"`
	Unfiltered     []string `yaml:"unfiltered,omitempty,flow"`
	UnfilteredDHCP bool     `yaml:"unfiltered_dhcp,omitempty"`
	Layers         []string `yaml:"layers,flow"`
}

type deploymentT struct {
	ID        string   `yaml:"id"`
	Addresses []string `yaml:"addresses,flow"`
	Layer     string   `yaml:"layer"`
}

type nodeT struct {
	Name      string    `yaml:"name"`
	Addresses []string  `yaml:"addresses,omitempty,flow"`
	Filters   []filterT `yaml:"filters"`
}

type filterT struct {
	Ports string `yaml:"ports"`
	Layer string `yaml:"layer"`
}

func prefixTexts(ps []netip.Prefix) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

func portTexts(rs []policy.PortRange) []string {
	var out []string
	for _, r := range rs {
		out = append(out, portText(r))
	}
	return out
}

func portText(r policy.PortRange) string {
	if r.Lo == r.Hi {
		return strconv.Itoa(int(r.Lo))
	}
	return fmt.Sprintf("%d-%d", r.Lo, r.Hi)
}

// Write prints set as native YAML.
func Write(w io.Writer, set *policy.Set) error {
	f := fileT{Version: 1, Own: prefixTexts(set.Own)}
	names := map[*policy.Layer]string{}
	used := map[string]bool{}
	for _, l := range set.Layers() {
		name := l.Name
		for i := 2; used[name]; i++ {
			name = fmt.Sprintf("%s#%d", l.Name, i)
		}
		used[name] = true
		names[l] = name
		f.Layers = append(f.Layers, layerT{Name: name, Kind: l.Kind.String(), SkipLocal: l.SkipLocal,
			Ingress: chainOut(&l.In), Egress: chainOut(&l.Out)})
	}
	for _, ifc := range set.Interfaces {
		it := ifaceT{ID: ifc.ID, Provider: ifc.Provider, Subnet: ifc.Subnet, VPC: ifc.VPC, Owner: ifc.Owner,
			Local: prefixTexts(ifc.Local), Unfiltered: prefixTexts(ifc.Unfiltered), UnfilteredDHCP: ifc.UnfilteredDHCP}
		for _, a := range ifc.Addrs {
			it.Addresses = append(it.Addresses, a.String())
		}
		for _, l := range ifc.Layers {
			it.Layers = append(it.Layers, names[l])
		}
		f.Interfaces = append(f.Interfaces, it)
	}
	for _, d := range set.Deployments {
		f.Deployments = append(f.Deployments, deploymentT{ID: d.ID, Addresses: prefixTexts(d.Addrs), Layer: names[d.Layer]})
	}
	for _, n := range set.Nodes {
		nt := nodeT{Name: n.Name, Addresses: prefixTexts(n.Addrs)}
		for _, fl := range n.Filters {
			nt.Filters = append(nt.Filters, filterT{Ports: portText(fl.Ports), Layer: names[fl.Layer]})
		}
		f.Nodes = append(f.Nodes, nt)
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&f); err != nil {
		return err
	}
	return enc.Close()
}

func chainOut(c *policy.Chain) chainT {
	ct := chainT{Default: defaultT{ID: c.Default.ID, Reason: c.Default.Reason}}
	if c.Default.Action != 0 {
		ct.Default.Action = c.Default.Action.String()
	}
	for _, r := range c.Rules {
		rt := ruleT{ID: r.ID, Action: r.Action.String(), Proto: int(r.Proto), Ports: portTexts(r.Ports),
			SrcPorts: portTexts(r.SrcPorts), Remote: prefixTexts(r.Remote), RemoteGlob: r.RemoteGlob,
			RemoteUnknown: r.RemoteUnknown, UnknownSkipsInternet: r.UnknownSkipsInternet, Unknown: r.Unknown,
			Scope: r.Scope, Priority: r.Priority, Identity: r.Identity, Origin: r.Origin, Text: r.Text}
		if r.Local != nil {
			rt.Local = prefixTexts(r.Local)
			if rt.Local == nil {
				rt.Local = []string{} // a local condition nothing satisfies
			}
		}
		if r.ICMPType >= 0 {
			v := int(r.ICMPType)
			rt.ICMPType = &v
		}
		if r.ICMPCode >= 0 {
			v := int(r.ICMPCode)
			rt.ICMPCode = &v
		}
		ct.Rules = append(ct.Rules, rt)
	}
	return ct
}

// Detect reports whether a YAML document is a native policy.
func Detect(root pdoc.Node) bool { return root.IsMap() && root.Has(Key) }

// Load adds a native policy document to set. Errors name the file and path.
func Load(d *pdoc.Doc, set *policy.Set) error {
	root := d.Root
	if v := root.Key(Key).Int(0); v != 1 {
		root.Key(Key).Failf("unsupported version %d (want 1)", v)
		return d.Err
	}
	set.Own = append(set.Own, prefixes(root.Key("own"))...)
	layers := map[string]*policy.Layer{}
	for _, ln := range root.Key("layers").List() {
		name := ln.Key("name").ReqStr()
		kind, ok := policy.ParseKind(ln.Key("kind").ReqStr())
		if !ok && d.Err == nil {
			ln.Key("kind").Failf("unknown layer kind %q", ln.Key("kind").Str())
		}
		if _, dup := layers[name]; dup {
			ln.Key("name").Failf("layer %q is defined twice", name)
		}
		l := &policy.Layer{Name: name, Kind: kind, SkipLocal: ln.Key("skip_local").Bool(false)}
		chainIn(ln.Key("ingress"), &l.In, kind, policy.Ingress)
		chainIn(ln.Key("egress"), &l.Out, kind, policy.Egress)
		layers[name] = l
	}
	ref := func(n pdoc.Node) *policy.Layer {
		name := n.ReqStr()
		l := layers[name]
		if l == nil && d.Err == nil {
			n.Failf("no layer named %q", name)
		}
		return l
	}
	for _, in := range root.Key("interfaces").List() {
		ifc := &policy.Interface{ID: in.Key("id").ReqStr(), Provider: in.Key("provider").Str(), Subnet: in.Key("subnet").Str(),
			VPC: in.Key("vpc").Str(), Owner: in.Key("owner").Str(), Local: prefixes(in.Key("local")),
			Unfiltered: prefixes(in.Key("unfiltered")), UnfilteredDHCP: in.Key("unfiltered_dhcp").Bool(false)}
		for _, a := range in.Key("addresses").List() {
			ad, err := netip.ParseAddr(a.Str())
			if err != nil {
				a.Failf("not an IP address: %q", a.Str())
				continue
			}
			ifc.Addrs = append(ifc.Addrs, ad.Unmap())
		}
		for _, ln := range in.Key("layers").List() {
			if l := ref(ln); l != nil {
				ifc.Layers = append(ifc.Layers, l)
			}
		}
		set.Interfaces = append(set.Interfaces, ifc)
	}
	for _, dn := range root.Key("deployments").List() {
		set.Deployments = append(set.Deployments, &policy.Deployment{ID: dn.Key("id").ReqStr(),
			Addrs: prefixes(dn.Key("addresses")), Layer: ref(dn.Key("layer"))})
	}
	for _, nn := range root.Key("nodes").List() {
		n := &policy.Node{Name: nn.Key("name").ReqStr(), Addrs: prefixes(nn.Key("addresses"))}
		for _, fn := range nn.Key("filters").List() {
			pr := ports(fn.Key("ports"))
			if len(pr) != 1 {
				fn.Key("ports").Failf("want one port or range")
				continue
			}
			if l := ref(fn.Key("layer")); l != nil {
				n.Filters = append(n.Filters, policy.PortFilter{Ports: pr[0], Layer: l})
			}
		}
		set.Nodes = append(set.Nodes, n)
	}
	return d.Err
}

func prefixes(n pdoc.Node) []netip.Prefix {
	var out []netip.Prefix
	for _, e := range n.List() {
		p, ok := policy.ParsePrefix(e.Str())
		if !ok {
			e.Failf("not a CIDR: %q", e.Str())
			continue
		}
		out = append(out, p)
	}
	return out
}

func ports(n pdoc.Node) []policy.PortRange {
	var out []policy.PortRange
	var items []pdoc.Node
	switch {
	case n.IsList():
		items = n.List()
	case n.Present():
		items = []pdoc.Node{n}
	}
	for _, e := range items {
		s := e.Str()
		a, b, isRange := strings.Cut(s, "-")
		lo, err1 := strconv.Atoi(a)
		hi, err2 := lo, error(nil)
		if isRange {
			hi, err2 = strconv.Atoi(b)
		}
		if err1 != nil || err2 != nil || lo < 0 || hi > 65535 || lo > hi {
			e.Failf("bad port or range %q", s)
			continue
		}
		out = append(out, policy.PortRange{Lo: uint16(lo), Hi: uint16(hi)})
	}
	return out
}

func action(n pdoc.Node) policy.Action {
	switch s := n.Str(); s {
	case "allow":
		return policy.Allow
	case "deny":
		return policy.Deny
	default:
		n.Failf("expected allow or deny, got %q", s)
	}
	return 0
}

func chainIn(n pdoc.Node, c *policy.Chain, kind policy.Kind, dir policy.Dir) {
	for _, rn := range n.Key("rules").List() {
		r := &policy.Rule{ID: rn.Key("id").ReqStr(), Action: action(rn.Key("action")), Proto: int16(rn.Key("proto").Int(-1)),
			Ports: ports(rn.Key("ports")), SrcPorts: ports(rn.Key("src_ports")),
			ICMPType: int16(rn.Key("icmp_type").Int(-1)), ICMPCode: int16(rn.Key("icmp_code").Int(-1)),
			Remote: prefixes(rn.Key("remote")), RemoteGlob: rn.Key("remote_glob").Strs(false),
			RemoteUnknown: rn.Key("remote_unknown").Str(), UnknownSkipsInternet: rn.Key("unknown_skips_internet").Bool(false),
			Unknown: rn.Key("unknown").Str(), Kind: kind, Scope: rn.Key("scope").Str(), Dir: dir,
			Priority: int(rn.Key("priority").Int(0)), Identity: rn.Key("identity").Str(), Origin: rn.Key("origin").Str(),
			Text: rn.Key("text").Str()}
		if r.Proto < -1 || r.Proto > 255 {
			rn.Key("proto").Failf("protocol must be -1..255")
		}
		if rn.Key("local").Present() {
			r.Local = append([]netip.Prefix{}, prefixes(rn.Key("local"))...)
		}
		c.Rules = append(c.Rules, r)
	}
	dn := n.Key("default")
	c.Default = policy.Outcome{ID: dn.Key("id").Str(), Reason: dn.Key("reason").Str()}
	if dn.Key("action").Present() {
		c.Default.Action = action(dn.Key("action"))
		if c.Default.ID == "" {
			dn.Key("id").Failf("a default action needs an id")
		}
	} else if c.Default.Reason == "" {
		dn.Failf("a default needs an action and id, or an unknown reason")
	}
}
