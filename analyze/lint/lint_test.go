package lint_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/flowsift/flowsift/analyze/lint"
	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/analyze/policy/load"
)

func demo(t *testing.T) []string {
	dir := "../../examples/policy/aws"
	return []string{filepath.Join(dir, "describe-security-groups.json"), filepath.Join(dir, "describe-network-acls.json"),
		filepath.Join(dir, "describe-network-interfaces.json")}
}

func run(t *testing.T, files []string) []lint.Finding {
	t.Helper()
	set, err := load.Files(files)
	if err != nil {
		t.Fatal(err)
	}
	return lint.Run(set, lint.ReadInventory(files))
}

func pick(fs []lint.Finding, check, scope string) []lint.Finding {
	var out []lint.Finding
	for _, f := range fs {
		if f.Check == check && (scope == "" || f.Scope == scope) {
			out = append(out, f)
		}
	}
	return out
}

// The bundled demo: SSH open to the world on the bastion group, and a data
// subnet NACL whose egress allows replies only on 32768-60999.
func TestDemoPolicy(t *testing.T) {
	fs := run(t, demo(t))
	ssh := pick(fs, lint.CheckOpenWorld, "sg-0bastion00000001")
	if len(ssh) != 1 || ssh[0].Severity != lint.Error || ssh[0].Rules[0] != "sg-0bastion00000001/ingress/0" ||
		!strings.Contains(ssh[0].Message, "tcp/22") || ssh[0].Fix == "" {
		t.Errorf("bastion SSH finding = %+v", ssh)
	}
	eph := pick(fs, lint.CheckEphemeral, "acl-0data0000000001")
	if len(eph) != 1 {
		t.Fatalf("ephemeral findings = %+v", eph)
	}
	if !strings.Contains(eph[0].Message, "1024-32767, 61000-65535") || eph[0].Rules[0] != "sg-0db00000000000001/ingress/0" {
		t.Errorf("ephemeral finding = %+v", eph[0])
	}
	// The public subnet NACL allows all egress: no reply problem there.
	if p := pick(fs, lint.CheckEphemeral, "acl-0public000000001"); len(p) != 0 {
		t.Errorf("public NACL flagged: %+v", p)
	}
	for i := 1; i < len(fs); i++ {
		if fs[i].Severity > fs[i-1].Severity {
			t.Errorf("findings not sorted by severity")
		}
	}
	for _, f := range fs {
		if f.Scope == "" || f.Message == "" || f.Fix == "" {
			t.Errorf("incomplete finding %+v", f)
		}
	}
}

// Example 02: NACL rule 100 is shadowed by 90 with the opposite action.
func TestShadowedExample(t *testing.T) {
	dir := "../../../shared/reference/samples/policy/examples/02-aws-nacl-deny-before-allow"
	fs := run(t, []string{filepath.Join(dir, "describe-security-groups.json"), filepath.Join(dir, "describe-network-acls.json"),
		filepath.Join(dir, "describe-network-interfaces.json")})
	sh := pick(fs, lint.CheckShadowed, "")
	if len(sh) != 1 || sh[0].Severity != lint.Error || sh[0].Rules[0] != "acl-02a2b3c4d5e6f7002/ingress/100" ||
		sh[0].Rules[1] != "acl-02a2b3c4d5e6f7002/ingress/90" {
		t.Errorf("shadowed = %+v", sh)
	}
}

// Quotas and unattached groups, from constructed provider files.
func TestInventoryChecks(t *testing.T) {
	dir := t.TempDir()
	var ranges, entries []string
	for i := 0; i < 61; i++ {
		ranges = append(ranges, `{"CidrIp":"10.0.`+itoa(i)+`.0/24"}`)
	}
	for i := 0; i < 21; i++ {
		entries = append(entries, `{"RuleNumber":`+itoa(i+1)+`,"Egress":false,"RuleAction":"allow","Protocol":"6","CidrBlock":"10.`+itoa(i)+`.0.0/16","PortRange":{"From":443,"To":443}}`)
	}
	sg := `{"SecurityGroups":[
	 {"GroupId":"sg-big","VpcId":"vpc-1","OwnerId":"1","IpPermissions":[{"IpProtocol":"tcp","FromPort":443,"ToPort":443,"IpRanges":[` + strings.Join(ranges, ",") + `]}],"IpPermissionsEgress":[]},
	 {"GroupId":"sg-lonely","VpcId":"vpc-1","OwnerId":"1","IpPermissions":[],"IpPermissionsEgress":[]},
	 {"GroupId":"sg-2","VpcId":"vpc-1","OwnerId":"1","IpPermissions":[],"IpPermissionsEgress":[]},
	 {"GroupId":"sg-3","VpcId":"vpc-1","OwnerId":"1","IpPermissions":[],"IpPermissionsEgress":[]},
	 {"GroupId":"sg-4","VpcId":"vpc-1","OwnerId":"1","IpPermissions":[],"IpPermissionsEgress":[]},
	 {"GroupId":"sg-5","VpcId":"vpc-1","OwnerId":"1","IpPermissions":[],"IpPermissionsEgress":[]}]}`
	eni := `{"NetworkInterfaces":[{"NetworkInterfaceId":"eni-1","SubnetId":"subnet-1","VpcId":"vpc-1","OwnerId":"1",
	 "PrivateIpAddresses":[{"PrivateIpAddress":"10.9.0.5","Primary":true}],
	 "Groups":[{"GroupId":"sg-big"},{"GroupId":"sg-2"},{"GroupId":"sg-3"},{"GroupId":"sg-4"},{"GroupId":"sg-5"},{"GroupId":"sg-big"}]}]}`
	nacl := `{"NetworkAcls":[{"NetworkAclId":"acl-1","VpcId":"vpc-1","IsDefault":false,"Associations":[{"SubnetId":"subnet-1"}],"Entries":[` + strings.Join(entries, ",") + `]}]}`
	var files []string
	for name, body := range map[string]string{"sg.json": sg, "eni.json": eni, "nacl.json": nacl} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	fs := run(t, files)
	if q := pick(fs, lint.CheckQuota, "sg-big"); len(q) != 1 || !strings.Contains(q[0].Message, "61 ingress IPv4") {
		t.Errorf("group quota = %+v", q)
	}
	if q := pick(fs, lint.CheckQuota, "eni-1"); len(q) != 1 || !strings.Contains(q[0].Message, "6 security groups") {
		t.Errorf("groups per ENI = %+v", q)
	}
	if q := pick(fs, lint.CheckQuota, "acl-1"); len(q) != 1 || !strings.Contains(q[0].Message, "21 ingress IPv4") {
		t.Errorf("NACL quota = %+v", q)
	}
	if u := pick(fs, lint.CheckUnattached, ""); len(u) != 1 || u[0].Scope != "sg-lonely" {
		t.Errorf("unattached = %+v", u)
	}
}

// A group open to ::/0 on a sensitive UDP port, and an ordered-model
// world rule behind a deny that covers it (shadowed: not reported open).
func TestOpenToWorldConstructed(t *testing.T) {
	r := &policy.Rule{ID: "sg-x/ingress/0", Action: policy.Allow, Proto: 17, Ports: []policy.PortRange{{Lo: 160, Hi: 162}},
		Remote: []netip.Prefix{policy.AllV6}, ICMPType: -1, ICMPCode: -1, Kind: policy.KindAWSSG, Scope: "sg-x", Text: "allow udp 160-162 ::/0"}
	ok := &policy.Rule{ID: "sg-x/ingress/1", Action: policy.Allow, Proto: 6, Ports: []policy.PortRange{{Lo: 443, Hi: 443}},
		Remote: []netip.Prefix{policy.AllV4}, ICMPType: -1, ICMPCode: -1, Kind: policy.KindAWSSG, Scope: "sg-x"}
	l := &policy.Layer{Name: "sg-x", Kind: policy.KindAWSSG, In: policy.Chain{Rules: []*policy.Rule{r, ok},
		Default: policy.Outcome{Action: policy.Deny, ID: "default/aws-sg/deny"}}}
	set := &policy.Set{Interfaces: []*policy.Interface{{ID: "eni-x", Layers: []*policy.Layer{l}}}}
	set.Index()
	fs := pick(lint.Run(set, nil), lint.CheckOpenWorld, "")
	if len(fs) != 1 || fs[0].Rules[0] != "sg-x/ingress/0" || !strings.Contains(fs[0].Message, "udp/161") || strings.Contains(fs[0].Message, "udp/160") {
		t.Errorf("open to world = %+v", fs)
	}
}

func TestParseSeverity(t *testing.T) {
	for _, s := range []string{"info", "warning", "ERROR"} {
		if _, ok := lint.ParseSeverity(s); !ok {
			t.Errorf("%s rejected", s)
		}
	}
	if _, ok := lint.ParseSeverity("fatal"); ok {
		t.Errorf("fatal accepted")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
