package load

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowsift/flowsift/analyze/policy"
)

const samples = "../../../../shared/reference/samples/policy"

func seed(f *testing.F, globs ...string) {
	f.Helper()
	n := 0
	for _, g := range globs {
		paths, _ := filepath.Glob(filepath.Join(samples, g))
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(filepath.Base(p), data)
			n++
		}
	}
	if n == 0 {
		f.Fatalf("no seed files for %v", globs)
	}
}

// fuzzLoad asserts no panic, that every error names the file, and that a
// loaded set can be judged (its rules listed) without panicking.
func fuzzLoad(t *testing.T, name string, data []byte) {
	if name == "" || strings.ContainsAny(name, "/\\\x00") {
		name = "policy.json"
	}
	set, err := Data([]string{name}, [][]byte{data})
	if err != nil {
		if !strings.HasPrefix(err.Error(), name) {
			t.Fatalf("error does not name the file %q: %v", name, err)
		}
		return
	}
	for _, r := range set.Rules() {
		if r.ID == "" || policy.IsDefaultID(r.ID) {
			t.Fatalf("written rule without a proper id: %+v", r)
		}
	}
}

func FuzzLoadAWS(f *testing.F) {
	seed(f, "aws/*.json", "examples/0[1-8]*/*.json")
	f.Add("describe-security-groups.json", []byte(`{"SecurityGroups":[{"GroupId":"sg-1","IpPermissions":[{"IpProtocol":"tcp","FromPort":22,"ToPort":22,}]}]}`))
	f.Fuzz(fuzzLoad)
}

func FuzzLoadAlibaba(f *testing.F) {
	seed(f, "alibaba/*.json", "examples/09*/*.json", "examples/1[01]*/*.json")
	f.Fuzz(fuzzLoad)
}

func FuzzLoadElastic(f *testing.F) {
	seed(f, "elastic/*", "examples/1[2-5]*/*.json", "examples/1[2-5]*/*.y*ml", "examples/12*/*/*.json")
	f.Fuzz(fuzzLoad)
}

func FuzzLoadYAML(f *testing.F) {
	f.Add("policy.yaml", []byte("flowsift_policy: 1\nlayers:\n  - name: a\n    kind: aws-sg\n    ingress: {rules: [{id: sg-1/ingress/0, action: allow, proto: 6, ports: [\"22\"], remote: [0.0.0.0/0]}], default: {action: deny, id: default/aws-sg/deny}}\n    egress: {default: {reason: nacl-not-found}}\ninterfaces:\n  - {id: eni-1, provider: aws, addresses: [10.0.0.1], layers: [a]}\n"))
	f.Add("policy.yaml", []byte("flowsift_policy: 2\n"))
	f.Add("policy.yaml", []byte("flowsift_policy: 1\nnodes: [{name: n, filters: [{ports: 9200-9300, layer: missing}]}]\n"))
	f.Fuzz(fuzzLoad)
}

// TestLoaderErrorsNamePath checks representative broken inputs.
func TestLoaderErrorsNamePath(t *testing.T) {
	cases := []struct{ name, data, want string }{
		{"sg.json", `{"SecurityGroups":[{"GroupId":"sg-1","IpPermissions":[{"IpProtocol":"tcp","FromPort":"x"}]}]}`, "$.SecurityGroups[0].IpPermissions[0].FromPort"},
		{"sg.json", "{\"SecurityGroups\":[{\"GroupId\":\"sg-1\",}]}", "sg.json: line 1, column"},
		{"acl.json", `{"NetworkAcls":[{"NetworkAclId":"acl-1","Entries":[{"RuleNumber":100,"RuleAction":"maybe","Protocol":"-1","CidrBlock":"0.0.0.0/0"}]}]}`, "$.NetworkAcls[0].Entries[0].RuleAction"},
		{"entries.json", `{"Entries":[{"Cidr":"10.0.0.0/16"}]}`, "must contain exactly one pl-"},
		{"eni.json", `{"NetworkInterfaceSets":{"NetworkInterfaceSet":[{"NetworkInterfaceId":"eni-1","PrivateIpSets":{"PrivateIpSet":[{"PrivateIpAddress":"192.168.**.**"}]}}]}}`, "$.NetworkInterfaceSets.NetworkInterfaceSet[0].PrivateIpSets.PrivateIpSet[0].PrivateIpAddress"},
		{"rs.json", `{"rulesets":[{"id":"a","type":"ip","rules":[{"source":"example.com"}]}]}`, "$.rulesets[0].rules[0].source"},
		{"x.json", `{"Foo":1}`, "unknown policy shape"},
		{"p.yaml", "flowsift_policy: 1\ninterfaces: [{id: eni-1, layers: [nope]}]\n", "$.interfaces[0].layers[0]"},
	}
	for _, c := range cases {
		_, err := Data([]string{c.name}, [][]byte{[]byte(c.data)})
		if err == nil || !strings.HasPrefix(err.Error(), c.name) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s: error %v, want it to name the file and %q", c.name, c.data, err, c.want)
		}
	}
	// Two files, same id, different content.
	a := `{"SecurityGroups":[{"GroupId":"sg-1","IpPermissions":[]}]}`
	b := `{"SecurityGroups":[{"GroupId":"sg-1","IpPermissions":[{"IpProtocol":"-1"}]}]}`
	_, err := Data([]string{"a.json", "b.json"}, [][]byte{[]byte(a), []byte(b)})
	if err == nil || !strings.Contains(err.Error(), "b.json") || !strings.Contains(err.Error(), "a.json") {
		t.Errorf("conflicting ids: %v", err)
	}
	// Same content twice (pagination overlap) is fine.
	if _, err := Data([]string{"a.json", "c.json"}, [][]byte{[]byte(a), []byte(a)}); err != nil {
		t.Errorf("identical duplicate: %v", err)
	}
}

// TestProviderSamplesLoad loads every provider sample that is valid policy.
func TestProviderSamplesLoad(t *testing.T) {
	for _, g := range []string{"aws/*.json", "elastic/*.json", "alibaba/describe-security-group-attribute.api-doc-2021.json",
		"alibaba/describe-security-groups.api-doc-2021.json", "alibaba/describe-network-acl*.json"} {
		paths, _ := filepath.Glob(filepath.Join(samples, g))
		for _, p := range paths {
			if strings.Contains(p, "ruleset-associations") {
				// The associations body does not name its rule set; the
				// id must be in the file name, as for prefix-list entries.
				if _, err := Files([]string{p}); err == nil || !strings.Contains(err.Error(), "file name") {
					t.Errorf("%s: %v", p, err)
				}
				continue
			}
			if _, err := Files([]string{p}); err != nil {
				t.Errorf("%v", err)
			}
		}
	}
	// Masked documentation addresses are rejected (POLICY.md 13.9).
	for _, p := range []string{"alibaba/describe-network-interfaces.api-doc-2021.json", "alibaba/describe-security-group-attribute.api-doc-current.json"} {
		if _, err := Files([]string{filepath.Join(samples, p)}); err == nil || !strings.Contains(err.Error(), "$.") {
			t.Errorf("%s: want a path-naming error for masked addresses, got %v", p, err)
		}
	}
	// The bindings sample pulls in its elasticsearch.yml.
	set, err := Files([]string{filepath.Join(samples, "elastic/traffic-filter-rulesets.include-associations.constructed.json"), filepath.Join(samples, "elastic/bindings.constructed.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Nodes) != 1 || len(set.Deployments) != 1 || set.Nodes[0].Name != "es-node-1" {
		t.Errorf("bindings: %d nodes, %d deployments", len(set.Nodes), len(set.Deployments))
	}
}
