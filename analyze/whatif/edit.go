package whatif

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/analyze/policy/load"
)

// EditKey is the top-level key of an edit file.
const EditKey = "flowsift_policy_edit"

// IsEdit reports whether data is an edit file (a YAML mapping with the
// top-level key flowsift_policy_edit).
func IsEdit(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(t) == 0 || t[0] == '{' || t[0] == '[' {
		return false
	}
	var probe map[string]any
	if yaml.Unmarshal(data, &probe) != nil {
		return false
	}
	_, ok := probe[EditKey]
	return ok
}

type editFile struct {
	Version int        `yaml:"flowsift_policy_edit"`
	Edits   []editNode `yaml:"edits"`
}

type editNode struct {
	Remove    string    `yaml:"remove"`
	Change    string    `yaml:"change"`
	Add       *ruleEdit `yaml:"add"`
	Scope     string    `yaml:"scope"`
	Direction string    `yaml:"direction"`
	Before    string    `yaml:"before"`
	After     string    `yaml:"after"`
	ruleEdit  `yaml:",inline"`
	line      int
}

// ruleEdit holds the rule fields of add and change; nil = not given.
type ruleEdit struct {
	ID            *string   `yaml:"id"`
	Action        *string   `yaml:"action"`
	Proto         *int      `yaml:"proto"`
	Ports         *[]string `yaml:"ports"`
	SrcPorts      *[]string `yaml:"src_ports"`
	ICMPType      *int      `yaml:"icmp_type"`
	ICMPCode      *int      `yaml:"icmp_code"`
	Remote        *[]string `yaml:"remote"`
	RemoteGlob    *[]string `yaml:"remote_glob"`
	RemoteUnknown *string   `yaml:"remote_unknown"`
	Local         *[]string `yaml:"local"`
	Unknown       *string   `yaml:"unknown"`
	Priority      *int      `yaml:"priority"`
	Identity      *string   `yaml:"identity"`
	Text          *string   `yaml:"text"`
}

// LoadSets loads the current policy files and the proposed ones. Proposed
// files are full policy files, or edit files applied to a fresh load of the
// current set; mixing both kinds is an error.
func LoadSets(current, proposed []string) (before, after *policy.Set, err error) {
	if len(current) == 0 || len(proposed) == 0 {
		return nil, nil, fmt.Errorf("both --current and --proposed policy files are needed")
	}
	before, err = load.Files(current)
	if err != nil {
		return nil, nil, fmt.Errorf("current policy: %w", err)
	}
	var edits, full []string
	datas := map[string][]byte{}
	for _, p := range proposed {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, fmt.Errorf("proposed policy: %w", err)
		}
		datas[p] = b
		if IsEdit(b) {
			edits = append(edits, p)
		} else {
			full = append(full, p)
		}
	}
	switch {
	case len(edits) > 0 && len(full) > 0:
		return nil, nil, fmt.Errorf("proposed policy: %s is an edit file and %s a full policy file; give either full files or edits of the current policy", edits[0], full[0])
	case len(full) > 0:
		after, err = load.Files(full)
		if err != nil {
			return nil, nil, fmt.Errorf("proposed policy: %w", err)
		}
		return before, after, nil
	}
	after, err = load.Files(current)
	if err != nil {
		return nil, nil, fmt.Errorf("proposed policy (current files): %w", err)
	}
	for _, p := range edits {
		if err := ApplyEdit(after, p, datas[p]); err != nil {
			return nil, nil, err
		}
	}
	after.Files = append(after.Files, edits...)
	after.Index()
	return before, after, nil
}

// ApplyEdit applies one edit file to set in place. Errors name the file and
// the line of the edit.
func ApplyEdit(set *policy.Set, name string, data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	var f editFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	if f.Version != 1 {
		return fmt.Errorf("%s: %s: unsupported version %d (want 1)", name, EditKey, f.Version)
	}
	// Line numbers of the edits, for messages.
	if len(doc.Content) > 0 {
		root := doc.Content[0]
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value == "edits" {
				for j, n := range root.Content[i+1].Content {
					if j < len(f.Edits) {
						f.Edits[j].line = n.Line
					}
				}
			}
		}
	}
	for i := range f.Edits {
		e := &f.Edits[i]
		if err := applyOne(set, e); err != nil {
			return fmt.Errorf("%s:%d: edits[%d]: %v", name, e.line, i, err)
		}
	}
	return nil
}

func chainsOf(set *policy.Set) []*policy.Chain {
	var out []*policy.Chain
	for _, l := range set.Layers() {
		out = append(out, &l.In, &l.Out)
	}
	return out
}

func applyOne(set *policy.Set, e *editNode) error {
	n := 0
	if e.Remove != "" {
		n++
	}
	if e.Change != "" {
		n++
	}
	if e.Add != nil {
		n++
	}
	if n != 1 {
		return fmt.Errorf("want exactly one of remove, change, add")
	}
	switch {
	case e.Remove != "":
		found := false
		for _, c := range chainsOf(set) {
			kept := c.Rules[:0]
			for _, r := range c.Rules {
				if r.ID == e.Remove {
					found = true
					continue
				}
				kept = append(kept, r)
			}
			c.Rules = kept
		}
		if !found {
			return fmt.Errorf("remove: no rule %q in the current policy", e.Remove)
		}
	case e.Change != "":
		found := false
		seen := map[*policy.Rule]bool{}
		for _, l := range set.Layers() {
			for _, c := range []*policy.Chain{&l.In, &l.Out} {
				for i, r := range c.Rules {
					if r.ID != e.Change {
						continue
					}
					found = true
					if !seen[r] {
						nr := *r
						if err := e.ruleEdit.apply(&nr); err != nil {
							return fmt.Errorf("change %s: %v", e.Change, err)
						}
						nr.Text = policy.Describe(&nr)
						c.Rules[i] = &nr
						seen[r] = true
					}
				}
				switch l.Kind {
				case policy.KindAWSNACL:
					sortNACL(c)
				case policy.KindAliSG:
					// POLICY.md 6.2: priority ascending, Drop before Accept
					// (stable: group order and index kept).
					sort.SliceStable(c.Rules, func(i, j int) bool {
						a, b := c.Rules[i], c.Rules[j]
						if a.Priority != b.Priority {
							return a.Priority < b.Priority
						}
						return a.Action == policy.Deny && b.Action != policy.Deny
					})
				}
			}
		}
		if !found {
			return fmt.Errorf("change: no rule %q in the current policy", e.Change)
		}
	default:
		return addRule(set, e)
	}
	return nil
}

func sortNACL(c *policy.Chain) {
	sort.SliceStable(c.Rules, func(i, j int) bool { return c.Rules[i].Priority < c.Rules[j].Priority })
}

func addRule(set *policy.Set, e *editNode) error {
	if e.Add.ID == nil || *e.Add.ID == "" {
		return fmt.Errorf("add: the rule needs an id")
	}
	if e.Scope == "" {
		return fmt.Errorf("add: scope (group, ACL, rule set or layer name) is needed")
	}
	var dir policy.Dir
	switch strings.ToLower(e.Direction) {
	case "ingress", "inbound", "in":
		dir = policy.Ingress
	case "egress", "outbound", "out":
		dir = policy.Egress
	default:
		return fmt.Errorf("add: direction must be ingress or egress, got %q", e.Direction)
	}
	added := 0
	for _, l := range set.Layers() {
		if !layerHasScope(l, e.Scope) {
			continue
		}
		c := l.Chain(dir)
		r := &policy.Rule{Action: policy.Allow, Proto: -1, ICMPType: -1, ICMPCode: -1, Kind: l.Kind, Scope: e.Scope, Dir: dir}
		if err := e.Add.apply(r); err != nil {
			return fmt.Errorf("add %s: %v", *e.Add.ID, err)
		}
		if r.Identity == "" {
			r.Identity = "edit|" + r.ID
		}
		r.Origin = "edit"
		r.Text = policy.Describe(r)
		pos := -1
		for i, x := range c.Rules {
			if e.Before != "" && x.ID == e.Before {
				pos = i
				break
			}
			if e.After != "" && x.ID == e.After {
				pos = i + 1
			}
		}
		if pos < 0 && (e.Before != "" || e.After != "") {
			return fmt.Errorf("add %s: no rule %q in scope %s %s", r.ID, e.Before+e.After, e.Scope, dir)
		}
		if pos < 0 {
			switch l.Kind {
			case policy.KindAWSNACL:
				pos = len(c.Rules)
				for i, x := range c.Rules {
					if x.Priority > r.Priority {
						pos = i
						break
					}
				}
			case policy.KindAliSG:
				// POLICY.md 6.2: priority ascending, Drop before Accept.
				pos = len(c.Rules)
				for i, x := range c.Rules {
					if x.Priority > r.Priority || (x.Priority == r.Priority && r.Action == policy.Deny && x.Action == policy.Allow) {
						pos = i
						break
					}
				}
			default:
				// After the scope's last rule (AWS groups keep group order),
				// else at the end.
				pos = len(c.Rules)
				for i, x := range c.Rules {
					if x.Scope == e.Scope {
						pos = i + 1
					}
				}
			}
		}
		c.Rules = append(c.Rules, nil)
		copy(c.Rules[pos+1:], c.Rules[pos:])
		c.Rules[pos] = r
		added++
	}
	if added == 0 {
		return fmt.Errorf("add %s: no layer has scope %q", *e.Add.ID, e.Scope)
	}
	return nil
}

// layerHasScope: the layer is named scope, its name lists it ("sg-1+sg-2"),
// or one of its rules belongs to it.
func layerHasScope(l *policy.Layer, scope string) bool {
	if l.Name == scope {
		return true
	}
	for _, part := range strings.Split(l.Name, "+") {
		if part == scope {
			return true
		}
	}
	for _, c := range []*policy.Chain{&l.In, &l.Out} {
		for _, r := range c.Rules {
			if r.Scope == scope {
				return true
			}
		}
	}
	return false
}

func (re *ruleEdit) apply(r *policy.Rule) error {
	if re.ID != nil {
		r.ID = *re.ID
	}
	if re.Action != nil {
		switch *re.Action {
		case "allow", "accept":
			r.Action = policy.Allow
		case "deny", "drop":
			r.Action = policy.Deny
		default:
			return fmt.Errorf("action: want allow or deny, got %q", *re.Action)
		}
	}
	if re.Proto != nil {
		if *re.Proto < -1 || *re.Proto > 255 {
			return fmt.Errorf("proto: must be -1..255")
		}
		r.Proto = int16(*re.Proto)
	}
	var err error
	if re.Ports != nil {
		if r.Ports, err = parsePorts(*re.Ports); err != nil {
			return err
		}
	}
	if re.SrcPorts != nil {
		if r.SrcPorts, err = parsePorts(*re.SrcPorts); err != nil {
			return err
		}
	}
	if re.ICMPType != nil {
		r.ICMPType = int16(*re.ICMPType)
	}
	if re.ICMPCode != nil {
		r.ICMPCode = int16(*re.ICMPCode)
	}
	if re.Remote != nil {
		if r.Remote, err = parsePrefixes(*re.Remote); err != nil {
			return err
		}
		r.RemoteUnknown = ""
	}
	if re.RemoteGlob != nil {
		r.RemoteGlob = *re.RemoteGlob
	}
	if re.RemoteUnknown != nil {
		r.RemoteUnknown = *re.RemoteUnknown
	}
	if re.Local != nil {
		if r.Local, err = parsePrefixes(*re.Local); err != nil {
			return err
		}
		if r.Local == nil {
			r.Local = []netip.Prefix{}
		}
	}
	if re.Unknown != nil {
		r.Unknown = *re.Unknown
	}
	if re.Priority != nil {
		r.Priority = *re.Priority
	}
	if re.Identity != nil {
		r.Identity = *re.Identity
	}
	return nil
}

func parsePrefixes(ss []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range ss {
		p, ok := policy.ParsePrefix(s)
		if !ok {
			return nil, fmt.Errorf("not a CIDR: %q", s)
		}
		out = append(out, p)
	}
	return out, nil
}

func parsePorts(ss []string) ([]policy.PortRange, error) {
	var out []policy.PortRange
	for _, s := range ss {
		a, b, isRange := strings.Cut(s, "-")
		lo, err1 := strconv.Atoi(a)
		hi, err2 := lo, error(nil)
		if isRange {
			hi, err2 = strconv.Atoi(b)
		}
		if err1 != nil || err2 != nil || lo < 0 || hi > 65535 || lo > hi {
			return nil, fmt.Errorf("bad port or range %q", s)
		}
		out = append(out, policy.PortRange{Lo: uint16(lo), Hi: uint16(hi)})
	}
	return out, nil
}
