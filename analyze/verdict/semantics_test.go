package verdict

import (
	"net/netip"
	"testing"

	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/analyze/policy/load"
	"github.com/flowsift/flowsift/flowlog"
)

func rec(src, dst string, sport, dport uint16, proto uint8, flags int32, start int64) flowlog.Record {
	return flowlog.Record{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), SrcPort: sport, DstPort: dport,
		Proto: proto, TCPFlags: flags, Start: start, End: start + 60}
}

func TestReplyDetection(t *testing.T) {
	cases := []struct {
		name  string
		recs  []flowlog.Record
		reply bool
		basis Basis
	}{
		{"SYN-ACK", []flowlog.Record{rec("1.1.1.1", "2.2.2.2", 443, 5000, 6, 18, 0)}, true, BasisFlags},
		{"SYN-ACK with FIN", []flowlog.Record{rec("1.1.1.1", "2.2.2.2", 443, 5000, 6, 19, 0)}, true, BasisFlags},
		{"SYN", []flowlog.Record{rec("1.1.1.1", "2.2.2.2", 5000, 443, 6, 2, 0)}, false, BasisFlags},
		{"SYN+FIN+RST", []flowlog.Record{rec("1.1.1.1", "2.2.2.2", 443, 5000, 6, 7, 0)}, false, BasisFlags},
		{"FIN only does not decide", []flowlog.Record{rec("1.1.1.1", "2.2.2.2", 443, 5000, 6, 1, 0)}, true, BasisPorts},
		{"reverse SYN", []flowlog.Record{rec("1.1.1.1", "2.2.2.2", 8080, 45000, 6, 0, 0), rec("2.2.2.2", "1.1.1.1", 45000, 8080, 6, 2, 0)}, true, BasisReverse},
		{"reverse later start", []flowlog.Record{rec("1.1.1.1", "2.2.2.2", 5000, 6000, 17, 0, 100), rec("2.2.2.2", "1.1.1.1", 6000, 5000, 17, 0, 50)}, true, BasisReverse},
		{"reverse equal start: ports", []flowlog.Record{rec("1.1.1.1", "2.2.2.2", 5000, 6000, 17, 0, 50), rec("2.2.2.2", "1.1.1.1", 6000, 5000, 17, 0, 50)}, true, BasisPorts},
		{"reverse out of window", []flowlog.Record{rec("1.1.1.1", "2.2.2.2", 50000, 443, 6, 0, 1000), rec("2.2.2.2", "1.1.1.1", 443, 50000, 6, 18, 0)}, false, BasisPorts},
		{"service sport", []flowlog.Record{rec("1.1.1.1", "2.2.2.2", 5432, 40000, 6, 0, 0)}, true, BasisPorts},
		{"both high: lower sport is server", []flowlog.Record{rec("1.1.1.1", "2.2.2.2", 30000, 40000, 17, 0, 0)}, true, BasisPorts},
		{"icmp", []flowlog.Record{rec("1.1.1.1", "2.2.2.2", 0, 0, 1, 0, 0)}, false, BasisNone},
	}
	for _, c := range cases {
		got := NewReplyIndex(c.recs).Detect(0)
		if got.Reply != c.reply || got.Basis != c.basis {
			t.Errorf("%s: got %+v, want reply=%v basis=%v", c.name, got, c.reply, c.basis)
		}
	}
	// Different interfaces never pair.
	a, b := rec("1.1.1.1", "2.2.2.2", 8080, 45000, 6, 0, 0), rec("2.2.2.2", "1.1.1.1", 45000, 8080, 6, 2, 0)
	a.Iface, b.Iface = "eni-a", "eni-b"
	if got := NewReplyIndex([]flowlog.Record{a, b}).Detect(0); got.Basis != BasisPorts {
		t.Errorf("cross-interface reverse: %+v", got)
	}
}

func rule(id string, a policy.Action, remote string, unknown string) *policy.Rule {
	r := &policy.Rule{ID: id, Action: a, Proto: -1, ICMPType: -1, ICMPCode: -1, Remote: []netip.Prefix{netip.MustParsePrefix(remote)}, Unknown: unknown}
	return r
}

// TestBothBranches checks POLICY.md 4.3 for ordered chains.
func TestBothBranches(t *testing.T) {
	q := &policy.Query{Proto: 6, DPort: 22, Remote: netip.MustParseAddr("10.0.0.1")}
	deny := policy.Outcome{Action: policy.Deny, ID: "x/*"}
	cases := []struct {
		name   string
		rules  []*policy.Rule
		def    policy.Outcome
		action policy.Action
		id     string
		reason string
	}{
		{"maybe deny then certain deny", []*policy.Rule{rule("a", policy.Deny, "10.0.0.0/8", "port-list-unknown"), rule("b", policy.Deny, "0.0.0.0/0", "")}, deny, policy.Deny, "b", ""},
		{"maybe allow then certain deny", []*policy.Rule{rule("a", policy.Allow, "10.0.0.0/8", "port-list-unknown"), rule("b", policy.Deny, "0.0.0.0/0", "")}, deny, 0, "", "port-list-unknown"},
		{"certain before maybe", []*policy.Rule{rule("b", policy.Allow, "0.0.0.0/0", ""), rule("a", policy.Deny, "10.0.0.0/8", "port-list-unknown")}, deny, policy.Allow, "b", ""},
		{"maybe deny then default deny", []*policy.Rule{rule("a", policy.Deny, "10.0.0.0/8", "hostname-rule")}, deny, policy.Deny, "x/*", ""},
		{"maybe allow then default deny", []*policy.Rule{rule("a", policy.Allow, "10.0.0.0/8", "hostname-rule")}, deny, 0, "", "hostname-rule"},
		{"unknown default", nil, policy.Outcome{Reason: "nacl-not-found"}, 0, "", "nacl-not-found"},
		{"other family never matches", []*policy.Rule{rule("v6", policy.Allow, "::/0", "")}, deny, policy.Deny, "x/*", ""},
	}
	for _, c := range cases {
		for _, name := range []string{"reference", "compiled"} {
			ch := &policy.Chain{Rules: c.rules, Default: c.def}
			var o outcome
			if name == "reference" {
				o = EvalChain(ch, q)
			} else {
				o = compileChain(ch).eval(q)
			}
			if o.action != c.action || o.id != c.id || o.reason != c.reason {
				t.Errorf("%s/%s: got %v %q %q", c.name, name, o.action, o.id, o.reason)
			}
		}
	}
}

func TestInternet(t *testing.T) {
	set := &policy.Set{Own: []netip.Prefix{netip.MustParsePrefix("34.0.0.0/8")}}
	set.Index()
	for a, want := range map[string]bool{"10.1.2.3": false, "172.31.0.1": false, "100.64.1.1": false, "169.254.169.254": false,
		"::1": false, "fd00::1": false, "fe80::1": false, "34.1.1.1": false, "::ffff:10.0.0.1": false,
		"198.51.100.1": true, "203.0.113.9": true, "2001:db8::1": true, "8.8.8.8": true, "172.32.0.1": true} {
		if got := set.IsInternet(netip.MustParseAddr(a)); got != want {
			t.Errorf("IsInternet(%s) = %v", a, got)
		}
	}
}

func judge(t *testing.T, files map[string]string, r flowlog.Record) Result {
	t.Helper()
	var names []string
	var data [][]byte
	for n, d := range files {
		names = append(names, n)
		data = append(data, []byte(d))
	}
	set, err := load.Data(names, data)
	if err != nil {
		t.Fatal(err)
	}
	var res, res2 Result
	NewEngine(set).Evaluate(&r, DetectOne(&r), &res)
	NewReferenceEngine(set).Evaluate(&r, DetectOne(&r), &res2)
	if res.Verdict != res2.Verdict || res.Reason != res2.Reason {
		t.Fatalf("engines disagree: %v/%q vs %v/%q", res.Verdict, res.Reason, res2.Verdict, res2.Reason)
	}
	return res
}

const awsENI = `{"NetworkInterfaces":[{"NetworkInterfaceId":"eni-1","SubnetId":"subnet-1","VpcId":"vpc-1","OwnerId":"111",
 "PrivateIpAddresses":[{"PrivateIpAddress":"10.0.0.10","Primary":true}],"Groups":[{"GroupId":"sg-1"},{"GroupId":"sg-2"}]}]}`

func TestAWSSemantics(t *testing.T) {
	sg := `{"SecurityGroups":[{"GroupId":"sg-1","OwnerId":"111","IpPermissions":[
	  {"IpProtocol":"tcp","FromPort":443,"ToPort":443,"UserIdGroupPairs":[{"GroupId":"sg-9","UserId":"999"}]},
	  {"IpProtocol":"50","FromPort":1,"ToPort":2,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}],"IpPermissionsEgress":[]}]}`
	in := func(src string, dport uint16, proto uint8) flowlog.Record {
		r := rec(src, "10.0.0.10", 40000, dport, proto, 2, 0)
		r.Iface, r.Direction, r.Action = "eni-1", flowlog.DirIngress, flowlog.ActionAccept
		return r
	}
	files := map[string]string{"eni.json": awsENI, "sg.json": sg}
	// sg-2 is not described: no certain permission → unknown.
	if r := judge(t, files, in("8.8.8.8", 22, 6)); r.Verdict != Unknown || r.Reason != policy.ReasonGroupNotDescribed {
		t.Errorf("undescribed group: %v %q", r.Verdict, r.Reason)
	}
	// The first undecidable permission in order names the reason.
	if r := judge(t, files, in("8.8.8.8", 443, 6)); r.Verdict != Unknown || r.Reason != policy.ReasonGroupMembers {
		t.Errorf("foreign reference: %v %q", r.Verdict, r.Reason)
	}
	// ESP (50) matches on the number alone, whatever the ports say.
	if r := judge(t, files, in("8.8.8.8", 0, 50)); r.Verdict != Accept || r.Rules[0] != "sg-1/ingress/1" {
		t.Errorf("esp: %v %v", r.Verdict, r.Rules)
	}
	// Unknown interface id.
	r := in("8.8.8.8", 22, 6)
	r.Iface = "eni-nope"
	if res := judge(t, files, r); res.Verdict != Unknown || res.Reason != policy.ReasonNotCovered || res.Finding != FindingUnknownInterface {
		t.Errorf("unknown eni: %+v", res)
	}
	// Metadata service is never filtered.
	m := rec("10.0.0.10", "169.254.169.254", 40000, 80, 6, 2, 0)
	m.Iface, m.Direction = "eni-1", flowlog.DirEgress
	if res := judge(t, files, m); res.Verdict != Accept || len(res.Rules) != 0 {
		t.Errorf("metadata: %v %v", res.Verdict, res.Rules)
	}
	// No NACL input: the layer is skipped with a warning.
	set, _ := load.Data([]string{"eni.json", "sg.json"}, [][]byte{[]byte(awsENI), []byte(sg)})
	found := false
	for _, w := range set.Warnings {
		found = found || (len(w) > 0 && contains(w, "describe-network-acls"))
	}
	if !found {
		t.Errorf("no warning about the missing NACL input: %v", set.Warnings)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestAlibabaInnerDrop(t *testing.T) {
	enis := `{"NetworkInterfaceSets":{"NetworkInterfaceSet":[
	 {"NetworkInterfaceId":"eni-a","VSwitchId":"vsw-1","PrivateIpSets":{"PrivateIpSet":[{"PrivateIpAddress":"192.168.0.1"}]},"SecurityGroupIds":{"SecurityGroupId":["sg-d"]}},
	 {"NetworkInterfaceId":"eni-b","VSwitchId":"vsw-1","PrivateIpSets":{"PrivateIpSet":[{"PrivateIpAddress":"192.168.0.2"}]},"SecurityGroupIds":{"SecurityGroupId":["sg-d"]}}]}}`
	grp := `{"SecurityGroupId":"sg-d","InnerAccessPolicy":"Drop","Permissions":{"Permission":[]}}`
	types := `{"SecurityGroups":{"SecurityGroup":[{"SecurityGroupId":"sg-d","SecurityGroupType":"normal"}]}}`
	r := rec("192.168.0.1", "192.168.0.2", 40000, 8080, 6, 2, 0)
	r.Iface, r.Direction = "eni-b", flowlog.DirIngress
	res := judge(t, map[string]string{"e.json": enis, "g.json": grp, "t.json": types}, r)
	if res.Verdict != Reject || res.Rules[0] != "default/ali-sg/inner-drop" || res.Finding != FindingDefaultDeny {
		t.Errorf("inner drop: %v %v %v", res.Verdict, res.Rules, res.Finding)
	}
}

func TestElasticsearchEntries(t *testing.T) {
	yml := `node.name: n1
network.host: 10.0.3.10
xpack:
  security:
    transport:
      filter:
        allow: ["10.1.*", "10.0.0.0/255.255.0.0", "*.example.com"]
        deny: _all
    http.filter.enabled: false
`
	judgeES := func(src string, dport uint16) Result {
		return judge(t, map[string]string{"es.yml": yml}, rec(src, "10.0.3.10", 40000, dport, 6, 2, 0))
	}
	if r := judgeES("10.1.2.3", 9300); r.Verdict != Accept || r.Rules[0] != "es:n1/transport/allow/0" {
		t.Errorf("numeric pattern: %v %v", r.Verdict, r.Rules)
	}
	if r := judgeES("10.0.9.9", 9300); r.Verdict != Accept || r.Rules[0] != "es:n1/transport/allow/1" {
		t.Errorf("netmask: %v %v", r.Verdict, r.Rules)
	}
	if r := judgeES("8.8.8.8", 9300); r.Verdict != Unknown || r.Reason != policy.ReasonHostname {
		t.Errorf("hostname: %v %q", r.Verdict, r.Reason)
	}
	if r := judgeES("10.0.3.10", 9300); r.Verdict != Accept || r.Rules[0] != "default/es-filter/bound-address" {
		t.Errorf("bound: %v %v", r.Verdict, r.Rules)
	}
	if r := judgeES("8.8.8.8", 9200); r.Verdict != Accept || r.Rules[0] != "default/es-filter/disabled" {
		t.Errorf("disabled http: %v %v", r.Verdict, r.Rules)
	}
	if r := judge(t, map[string]string{"es.yml": yml}, rec("8.8.8.8", "10.0.3.11", 40000, 9300, 6, 2, 0)); r.Covered {
		t.Errorf("other address covered")
	}
}

func TestElasticCloudAssociationsMissing(t *testing.T) {
	rs := `{"rulesets":[{"id":"s1","type":"ip","rules":[{"source":"203.0.113.0/24"}]}]}`
	b := "elastic_cloud:\n  deployments:\n    - id: d1\n      addresses: [34.1.1.1]\n"
	files := map[string]string{"rs.json": rs, "b.yaml": b}
	if r := judge(t, files, rec("203.0.113.5", "34.1.1.1", 40000, 443, 6, 2, 0)); r.Verdict != Accept || r.Rules[0] != "s1/0" {
		t.Errorf("matching rule of the only unknown set: %v %v", r.Verdict, r.Rules)
	}
	if r := judge(t, files, rec("8.8.8.8", "34.1.1.1", 40000, 443, 6, 2, 0)); r.Verdict != Unknown || r.Reason != policy.ReasonAssociations {
		t.Errorf("no match: %v %q", r.Verdict, r.Reason)
	}
	// Egress without an egress firewall is open.
	if r := judge(t, files, rec("34.1.1.1", "8.8.8.8", 40000, 443, 6, 2, 0)); r.Verdict != Accept || r.Rules[0] != "default/ec-filter/egress-open" {
		t.Errorf("egress: %v %v", r.Verdict, r.Rules)
	}
}
