package lint

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
)

// Inventory is what lint needs from the provider files beyond the judged
// model: every group and NACL with its raw rule counts, and the group lists
// of every interface.
type Inventory struct {
	Groups []Group
	ENIs   []ENI
	NACLs  []NACL
	// HaveENIs: an interface listing was loaded (else attachment is unknown).
	HaveENIs bool
	// PrefixListMax is describe-managed-prefix-lists' MaxEntries by id.
	PrefixListMax map[string]int
}

// Group is a security group with its rule count per direction and family
// (index [dir][0 = IPv4, 1 = IPv6]), counted as the provider counts quota:
// one per CIDR, referenced group or prefix list (PrefixLists lists the
// prefix lists, counted at their maximum size when known).
type Group struct {
	ID, Provider, File string
	Rules              [2][2]int
	PrefixLists        [2][]string
}

// ENI is an interface and its groups.
type ENI struct {
	ID, Provider, File string
	Groups             []string
}

// NACL is an AWS network ACL with its entry count per direction and family.
type NACL struct {
	ID, File string
	Entries  [2][2]int
}

// ReadInventory reads the provider JSON files among paths; other files
// (YAML, Elastic) and unreadable ones are skipped: the loader reports them.
func ReadInventory(paths []string) *Inventory {
	inv := &Inventory{PrefixListMax: map[string]int{}}
	seenGroup := map[string]int{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var root map[string]any
		if json.Unmarshal(data, &root) != nil {
			continue
		}
		inv.add(p, root, seenGroup)
	}
	return inv
}

func (inv *Inventory) group(id, provider, file string, seen map[string]int) *Group {
	if i, ok := seen[id]; ok {
		return &inv.Groups[i]
	}
	seen[id] = len(inv.Groups)
	inv.Groups = append(inv.Groups, Group{ID: id, Provider: provider, File: file})
	return &inv.Groups[len(inv.Groups)-1]
}

func (inv *Inventory) add(file string, root map[string]any, seen map[string]int) {
	// AWS describe-security-groups.
	for _, g := range arr(root["SecurityGroups"]) {
		m := obj(g)
		id := str(m["GroupId"])
		if id == "" {
			continue
		}
		gr := inv.group(id, "aws", file, seen)
		gr.Rules = [2][2]int{}
		for d, key := range []string{"IpPermissions", "IpPermissionsEgress"} {
			for _, pm := range list(m[key]) {
				pmo := obj(pm)
				gr.Rules[d][0] += len(list(pmo["IpRanges"])) + len(list(pmo["UserIdGroupPairs"]))
				gr.Rules[d][1] += len(list(pmo["Ipv6Ranges"]))
				for _, pl := range list(pmo["PrefixListIds"]) {
					gr.PrefixLists[d] = append(gr.PrefixLists[d], str(obj(pl)["PrefixListId"]))
				}
			}
		}
	}
	// AWS describe-security-group-rules (groups known only from there).
	if rs := arr(root["SecurityGroupRules"]); len(rs) > 0 {
		counted := map[string]bool{}
		for _, g := range inv.Groups {
			counted[g.ID] = true
		}
		for _, r := range rs {
			m := obj(r)
			id := str(m["GroupId"])
			if id == "" || counted[id] {
				continue
			}
			gr := inv.group(id, "aws", file, seen)
			d := 0
			if b, _ := m["IsEgress"].(bool); b || str(m["IsEgress"]) == "true" {
				d = 1
			}
			switch {
			case str(m["CidrIpv6"]) != "":
				gr.Rules[d][1]++
			case str(m["PrefixListId"]) != "":
				gr.PrefixLists[d] = append(gr.PrefixLists[d], str(m["PrefixListId"]))
			default:
				gr.Rules[d][0]++
			}
		}
	}
	// Alibaba DescribeSecurityGroups and DescribeSecurityGroupAttribute.
	if sg := obj(root["SecurityGroups"]); sg != nil {
		for _, g := range list(sg["SecurityGroup"]) {
			if id := str(obj(g)["SecurityGroupId"]); id != "" {
				inv.group(id, "alibaba", file, seen)
			}
		}
	}
	if id := str(root["SecurityGroupId"]); id != "" && root["Permissions"] != nil {
		inv.group(id, "alibaba", file, seen)
	}
	// AWS describe-network-acls.
	for _, n := range arr(root["NetworkAcls"]) {
		m := obj(n)
		id := str(m["NetworkAclId"])
		if id == "" {
			continue
		}
		na := NACL{ID: id, File: file}
		for _, e := range list(m["Entries"]) {
			em := obj(e)
			d, f := 0, 0
			if b, _ := em["Egress"].(bool); b || str(em["Egress"]) == "true" {
				d = 1
			}
			if str(em["Ipv6CidrBlock"]) != "" {
				f = 1
			}
			na.Entries[d][f]++
		}
		inv.NACLs = append(inv.NACLs, na)
	}
	// Interfaces.
	if nis, ok := root["NetworkInterfaces"].([]any); ok {
		inv.HaveENIs = true
		for _, n := range nis {
			m := obj(n)
			e := ENI{ID: str(m["NetworkInterfaceId"]), Provider: "aws", File: file}
			for _, g := range list(m["Groups"]) {
				e.Groups = append(e.Groups, str(obj(g)["GroupId"]))
			}
			inv.ENIs = append(inv.ENIs, e)
		}
	}
	if sets := obj(root["NetworkInterfaceSets"]); sets != nil {
		inv.HaveENIs = true
		for _, n := range list(sets["NetworkInterfaceSet"]) {
			m := obj(n)
			e := ENI{ID: str(m["NetworkInterfaceId"]), Provider: "alibaba", File: file}
			ids := m["SecurityGroupIds"]
			if o := obj(ids); o != nil {
				ids = o["SecurityGroupId"]
			}
			for _, g := range list(ids) {
				e.Groups = append(e.Groups, str(g))
			}
			inv.ENIs = append(inv.ENIs, e)
		}
	}
	for _, pl := range list(root["PrefixLists"]) {
		m := obj(pl)
		if n, err := strconv.Atoi(str(m["MaxEntries"])); err == nil && str(m["PrefixListId"]) != "" {
			inv.PrefixListMax[str(m["PrefixListId"])] = n
		}
	}
}

// arr is a bare JSON array (the AWS shapes).
func arr(v any) []any {
	a, _ := v.([]any)
	return a
}

func list(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case map[string]any: // Alibaba wrappers: {"Permission": [...]}
		if len(x) == 1 {
			for _, w := range x {
				if l, ok := w.([]any); ok {
					return l
				}
			}
		}
	}
	return nil
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}
