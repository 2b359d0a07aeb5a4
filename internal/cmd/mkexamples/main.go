// Command mkexamples writes flowsift's bundled examples (the examples/
// directory that `make demo` runs on): a small AWS VPC — its security groups,
// network ACLs and interfaces as the AWS CLI prints them — and an hour of
// its flow logs, as S3 delivers them (custom v5 format, gzip, header) and as
// a CloudWatch export (default format), plus small GCP, Azure and Alibaba
// exports. Some lines are deliberately malformed, and the traffic includes
// what the policy check must find: an SSH port exposed to the internet,
// traffic the policy forbids but the log accepted (violation), rejects the
// policy would accept, default-deny hits and an interface the policy does not
// describe.
//
// Output is deterministic: `make examples` regenerates it and a test checks
// the committed copy is current.
//
// Usage: mkexamples DIR
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/flowsift/flowsift/internal/flowgen"
)

const (
	account = "123456789012"
	vpc     = "vpc-0c0ffee0c0ffee001"
	region  = "us-east-1"
	t0      = 1763800200 // 2025-11-22 08:30:00 UTC; one hour of traffic follows
)

type eniDef struct {
	id, name, subnet, instance string
	addrs                      []string
	groups                     []string
}

var enis = []eniDef{
	{"eni-0a11ce0000000web1", "web-1", "subnet-0public00000001", "i-0web0000000000001", []string{"10.0.1.10"}, []string{"sg-0web0000000000001"}},
	{"eni-0a11ce0000000web2", "web-2", "subnet-0public00000001", "i-0web0000000000002", []string{"10.0.1.11"}, []string{"sg-0web0000000000001"}},
	{"eni-0a11ce00000bastn1", "bastion", "subnet-0public00000001", "i-0bastion000000001", []string{"10.0.1.5"}, []string{"sg-0bastion00000001"}},
	{"eni-0a11ce0000000app1", "app-1", "subnet-0app000000000001", "i-0app0000000000001", []string{"10.0.2.20", "10.0.2.21"}, []string{"sg-0app0000000000001"}},
	{"eni-0a11ce00000000db1", "db-1", "subnet-0data0000000001", "i-0db00000000000001", []string{"10.0.3.30"}, []string{"sg-0db00000000000001"}},
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: mkexamples DIR")
		os.Exit(2)
	}
	if err := write(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "mkexamples:", err)
		os.Exit(1)
	}
}

func write(dir string) error {
	files := map[string][]byte{}
	policies(files)
	traffic(files)
	others(files)
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func js(v any) []byte {
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

type m = map[string]any

func perm(proto string, from, to int, cidrs []string, groups []string) m {
	p := m{"IpProtocol": proto, "IpRanges": []m{}, "Ipv6Ranges": []m{}, "PrefixListIds": []m{}, "UserIdGroupPairs": []m{}}
	if proto != "-1" {
		p["FromPort"], p["ToPort"] = from, to
	}
	var rs, gs []m
	for _, c := range cidrs {
		rs = append(rs, m{"CidrIp": c})
	}
	for _, g := range groups {
		gs = append(gs, m{"GroupId": g, "UserId": account})
	}
	if rs != nil {
		p["IpRanges"] = rs
	}
	if gs != nil {
		p["UserIdGroupPairs"] = gs
	}
	return p
}

func sg(id, name, desc string, in []m, out []m) m {
	return m{"GroupId": id, "GroupName": name, "Description": desc, "OwnerId": account, "VpcId": vpc,
		"IpPermissions": in, "IpPermissionsEgress": out}
}

var allOut = []m{perm("-1", 0, 0, []string{"0.0.0.0/0"}, nil)}

func entry(n int, egress bool, action, proto, cidr string, from, to int) m {
	e := m{"RuleNumber": n, "Egress": egress, "RuleAction": action, "Protocol": proto, "CidrBlock": cidr}
	if proto == "6" || proto == "17" {
		e["PortRange"] = m{"From": from, "To": to}
	}
	return e
}

func policies(files map[string][]byte) {
	files["policy/aws/describe-security-groups.json"] = js(m{"SecurityGroups": []m{
		sg("sg-0web0000000000001", "web", "public web servers",
			[]m{perm("tcp", 443, 443, []string{"0.0.0.0/0"}, nil), perm("tcp", 80, 80, []string{"0.0.0.0/0"}, nil),
				perm("tcp", 22, 22, nil, []string{"sg-0bastion00000001"})}, allOut),
		sg("sg-0bastion00000001", "bastion", "SSH jump host",
			[]m{perm("tcp", 22, 22, []string{"0.0.0.0/0"}, nil)}, allOut),
		sg("sg-0app0000000000001", "app", "application tier",
			[]m{perm("tcp", 8080, 8080, nil, []string{"sg-0web0000000000001"}),
				perm("tcp", 22, 22, nil, []string{"sg-0bastion00000001"})}, allOut),
		sg("sg-0db00000000000001", "db", "PostgreSQL",
			[]m{perm("tcp", 5432, 5432, nil, []string{"sg-0app0000000000001"})}, allOut),
	}})
	var nis []m
	for _, e := range enis {
		var ips []m
		for i, a := range e.addrs {
			ips = append(ips, m{"Primary": i == 0, "PrivateIpAddress": a})
		}
		var gs []m
		for _, g := range e.groups {
			gs = append(gs, m{"GroupId": g, "GroupName": strings.Split(g, "0")[0]})
		}
		nis = append(nis, m{"NetworkInterfaceId": e.id, "Description": e.name, "SubnetId": e.subnet, "VpcId": vpc,
			"OwnerId": account, "PrivateIpAddress": e.addrs[0], "PrivateIpAddresses": ips, "Ipv6Addresses": []m{},
			"Groups": gs, "Status": "in-use", "InterfaceType": "interface",
			"Attachment": m{"InstanceId": e.instance, "Status": "attached"}})
	}
	files["policy/aws/describe-network-interfaces.json"] = js(m{"NetworkInterfaces": nis})
	files["policy/aws/describe-network-acls.json"] = js(m{"NetworkAcls": []m{
		{"NetworkAclId": "acl-0public000000001", "VpcId": vpc, "IsDefault": false, "OwnerId": account,
			"Associations": []m{{"NetworkAclId": "acl-0public000000001", "SubnetId": "subnet-0public00000001"}},
			"Entries": []m{
				entry(90, false, "deny", "-1", "198.51.100.0/24", 0, 0), // a known-bad network
				entry(100, false, "allow", "6", "0.0.0.0/0", 443, 443),
				entry(110, false, "allow", "6", "0.0.0.0/0", 80, 80),
				entry(120, false, "allow", "6", "0.0.0.0/0", 22, 22),
				entry(130, false, "allow", "6", "0.0.0.0/0", 1024, 65535),
				entry(32767, false, "deny", "-1", "0.0.0.0/0", 0, 0),
				entry(100, true, "allow", "-1", "0.0.0.0/0", 0, 0),
				entry(32767, true, "deny", "-1", "0.0.0.0/0", 0, 0),
			}},
		{"NetworkAclId": "acl-0data0000000001", "VpcId": vpc, "IsDefault": false, "OwnerId": account,
			"Associations": []m{{"NetworkAclId": "acl-0data0000000001", "SubnetId": "subnet-0data0000000001"}},
			"Entries": []m{
				entry(100, false, "allow", "6", "10.0.2.0/24", 5432, 5432),
				entry(110, false, "allow", "6", "10.0.0.0/16", 1024, 65535),
				entry(32767, false, "deny", "-1", "0.0.0.0/0", 0, 0),
				// Replies to the app tier only on Linux ephemeral ports.
				entry(100, true, "allow", "6", "10.0.2.0/24", 32768, 60999),
				entry(32767, true, "deny", "-1", "0.0.0.0/0", 0, 0),
			}},
		{"NetworkAclId": "acl-0default00000001", "VpcId": vpc, "IsDefault": true, "OwnerId": account,
			"Associations": []m{{"NetworkAclId": "acl-0default00000001", "SubnetId": "subnet-0app000000000001"}},
			"Entries": []m{
				entry(100, false, "allow", "-1", "0.0.0.0/0", 0, 0),
				entry(32767, false, "deny", "-1", "0.0.0.0/0", 0, 0),
				entry(100, true, "allow", "-1", "0.0.0.0/0", 0, 0),
				entry(32767, true, "deny", "-1", "0.0.0.0/0", 0, 0),
			}},
	}})
	// A change under review, for flowsift whatif --proposed (edit format of
	// analyze/whatif): it breaks SSH from the internet, opens replies to all
	// client ports on the data subnet and removes a rule nothing used.
	files["policy/aws/proposed-edit.yaml"] = []byte(`# flowsift whatif --current <the three describe-*.json> --proposed proposed-edit.yaml
flowsift_policy_edit: 1
edits:
  # SSH to the public subnet only from the office range (was 0.0.0.0/0).
  - change: acl-0public000000001/ingress/120
    remote: [203.0.113.0/24]
  # Replies from the data subnet to every client port (was 32768-60999).
  - change: acl-0data0000000001/egress/100
    ports: ["1024-65535"]
  # The app tier's SSH-from-bastion rule: no flow ever used it.
  - remove: sg-0app0000000000001/ingress/1
`)
}

// rec is one AWS flow-log record of the scenario.
type rec struct {
	eni            *eniDef
	src, dst       string
	sport, dport   int
	proto          int
	packets, bytes int64
	start, end     int64
	action         string // ACCEPT / REJECT
	dir            string // ingress / egress
	flags          int
	status         string // OK / NODATA / SKIPDATA
	raw            string // a deliberately malformed line, written as is
}

func eni(name string) *eniDef {
	for i := range enis {
		if enis[i].name == name {
			return &enis[i]
		}
	}
	panic(name)
}

// conn adds both directions of a TCP connection as seen on one interface.
func conn(out *[]rec, r *rand.Rand, at *eniDef, client, server string, cport, sport int, start int64, inbound bool, action string) {
	pk := int64(4 + r.IntN(60))
	by := pk * int64(60+r.IntN(1200))
	end := start + int64(1+r.IntN(50))
	opener := rec{eni: at, src: client, dst: server, sport: cport, dport: sport, proto: 6, packets: pk, bytes: by,
		start: start, end: end, action: action, flags: 3, status: "OK"}
	reply := rec{eni: at, src: server, dst: client, sport: sport, dport: cport, proto: 6, packets: pk - 1, bytes: by / 3,
		start: start, end: end, action: action, flags: 19, status: "OK"}
	if inbound {
		opener.dir, reply.dir = "ingress", "egress"
	} else {
		opener.dir, reply.dir = "egress", "ingress"
	}
	if action == "REJECT" { // a rejected opener gets no reply
		opener.packets, opener.bytes, opener.flags = 1+pk%3, 60*(1+pk%3), 2
		*out = append(*out, opener)
		return
	}
	*out = append(*out, opener, reply)
}

func internet(r *rand.Rand) string {
	return netip.AddrFrom4([4]byte{byte(23 + r.IntN(170)), byte(r.IntN(256)), byte(r.IntN(256)), byte(1 + r.IntN(254))}).String()
}

func traffic(files map[string][]byte) {
	r := rand.New(rand.NewPCG(2026, 11))
	var recs []rec
	eph := func() int { return 32768 + r.IntN(28000) }
	for w := int64(0); w < 6; w++ { // six 10-minute windows
		base := t0 + w*600
		for i := 0; i < 25; i++ { // browsers to the web tier
			web := eni([]string{"web-1", "web-2"}[i%2])
			conn(&recs, r, web, internet(r), web.addrs[0], eph(), []int{443, 443, 80}[i%3], base+int64(r.IntN(500)), true, "ACCEPT")
		}
		for i := 0; i < 12; i++ { // web to app, seen on both ends
			web, app := eni([]string{"web-1", "web-2"}[i%2]), eni("app-1")
			p, s := eph(), base+int64(r.IntN(500))
			conn(&recs, r, web, web.addrs[0], app.addrs[0], p, 8080, s, false, "ACCEPT")
			conn(&recs, r, app, web.addrs[0], app.addrs[0], p, 8080, s, true, "ACCEPT")
		}
		for i := 0; i < 8; i++ { // app to the database (from its secondary address too)
			app, db := eni("app-1"), eni("db-1")
			conn(&recs, r, db, app.addrs[i%2], db.addrs[0], eph(), 5432, base+int64(r.IntN(500)), true, "ACCEPT")
		}
		for i := 0; i < 3; i++ { // SSH to the bastion from anywhere: exposure
			b := eni("bastion")
			conn(&recs, r, b, internet(r), b.addrs[0], eph(), 22, base+int64(r.IntN(500)), true, "ACCEPT")
		}
		for i := 0; i < 6; i++ { // scanners on SSH/RDP of the web servers: rejected by the groups
			web := eni([]string{"web-1", "web-2"}[i%2])
			conn(&recs, r, web, internet(r), web.addrs[0], eph(), []int{22, 3389, 23}[i%3], base+int64(r.IntN(500)), true, "REJECT")
		}
		// The known-bad network, denied by NACL rule 90.
		conn(&recs, r, eni("web-1"), "198.51.100."+strconv.Itoa(10+int(w)), "10.0.1.10", eph(), 443, base+100, true, "REJECT")
	}
	// Violation: the web tier reached the database directly and the log
	// accepted it (a rule added in the console, missing from the snapshot).
	conn(&recs, r, eni("db-1"), "10.0.1.11", "10.0.3.30", 51515, 5432, t0+1900, true, "ACCEPT")
	// Unexpected reject: the app's connection was refused although the
	// policy allows it (e.g. a stale snapshot).
	conn(&recs, r, eni("db-1"), "10.0.2.20", "10.0.3.30", 40404, 5432, t0+2500, true, "REJECT")
	// NACL blocks the db's replies to a Windows client port below 32768.
	conn(&recs, r, eni("db-1"), "10.0.2.21", "10.0.3.30", 5000, 5432, t0+3000, true, "ACCEPT")
	recs[len(recs)-1].action = "REJECT" // the reply (egress) is what the NACL drops
	// NODATA / SKIPDATA windows.
	recs = append(recs, rec{eni: eni("bastion"), status: "NODATA", start: t0 + 3000, end: t0 + 3600},
		rec{eni: eni("web-2"), status: "SKIPDATA", start: t0 + 3000, end: t0 + 3600})

	// S3 delivery of the public subnet (custom v5 format with a header):
	// one gzip object per interface, with two damaged lines.
	v5 := []string{"version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol",
		"packets", "bytes", "start", "end", "action", "log-status", "vpc-id", "subnet-id", "instance-id",
		"tcp-flags", "type", "pkt-srcaddr", "pkt-dstaddr", "region", "az-id", "flow-direction", "traffic-path"}
	for _, name := range []string{"web-1", "web-2", "bastion"} {
		e := eni(name)
		var b bytes.Buffer
		b.WriteString(strings.Join(v5, " ") + "\n")
		n := 0
		for _, x := range recs {
			if x.eni != e {
				continue
			}
			n++
			if name == "web-1" && n == 7 {
				b.WriteString("5 123456789012 eni-0a11ce0000000web1 10.0.1.10 203.0.113.300 443 50112 6 12 4800 1763800300 1763800360 ACCEPT OK " +
					vpc + " subnet-0public00000001 i-0web0000000000001 19 IPv4 10.0.1.10 203.0.113.300 us-east-1 use1-az4 egress 8\n")
			}
			if name == "web-2" && n == 11 {
				b.WriteString("5 123456789012 eni-0a11ce0000000web2 198.51.100.77 10.0.1.11 50113 443 6 1 60 1763800400\n")
			}
			b.WriteString(awsLine(x, v5) + "\n")
		}
		key := fmt.Sprintf("flowlogs/aws-s3/AWSLogs/%s/vpcflowlogs/%s/2025/11/22/%s_vpcflowlogs_%s_fl-0c0ffee00000001_20251122T0830Z_%s.log.gz",
			account, region, account, region, strings.TrimLeft(strings.TrimPrefix(e.id, "eni-0a11ce"), "0"))
		files[key] = gz(b.Bytes())
	}
	// CloudWatch Logs export of the private subnets (default format, no
	// header), one stream per interface, with damaged lines.
	for _, name := range []string{"app-1", "db-1"} {
		e := eni(name)
		var b bytes.Buffer
		n := 0
		for _, x := range recs {
			if x.eni != e {
				continue
			}
			n++
			if n == 5 && name == "app-1" {
				b.WriteString("2 123456789012 eni-0a11ce0000000app1 10.0.1.10 10.0.2.20 41234 8080 6 10 840 1763800500 1763800560 ACCEPT\n")
			}
			if n == 9 && name == "db-1" {
				b.WriteString("2 123456789012 eni-0a11ce00000000db1 10.0.2.20 10.0.3.30 41235 5432 6 ten 840 1763800500 1763800560 ACCEPT OK\n")
			}
			b.WriteString(awsLine(x, flowgen.AWSDefaultFields) + "\n")
		}
		// An interface no policy file describes: counted as unknown-interface.
		if name == "app-1" {
			b.WriteString("2 123456789012 eni-0feed0000000beef1 10.0.4.40 10.0.2.20 40000 8080 6 5 400 1763801000 1763801060 ACCEPT OK\n")
		}
		files["flowlogs/cloudwatch/"+e.id+".log"] = b.Bytes()
	}
}

func awsLine(x rec, fields []string) string {
	var parts []string
	for _, f := range fields {
		v := "-"
		ok := x.status == "OK"
		switch f {
		case "version":
			v = "5"
			if len(fields) == 14 {
				v = "2"
			}
		case "account-id":
			v = account
		case "interface-id":
			v = x.eni.id
		case "srcaddr", "pkt-srcaddr":
			if ok {
				v = x.src
			}
		case "dstaddr", "pkt-dstaddr":
			if ok {
				v = x.dst
			}
		case "srcport":
			if ok {
				v = strconv.Itoa(x.sport)
			}
		case "dstport":
			if ok {
				v = strconv.Itoa(x.dport)
			}
		case "protocol":
			if ok {
				v = strconv.Itoa(x.proto)
			}
		case "packets":
			if ok {
				v = strconv.FormatInt(x.packets, 10)
			}
		case "bytes":
			if ok {
				v = strconv.FormatInt(x.bytes, 10)
			}
		case "start":
			v = strconv.FormatInt(x.start, 10)
		case "end":
			v = strconv.FormatInt(x.end, 10)
		case "action":
			if ok {
				v = x.action
			}
		case "log-status":
			v = x.status
		case "vpc-id":
			v = vpc
		case "subnet-id":
			v = x.eni.subnet
		case "instance-id":
			v = x.eni.instance
		case "tcp-flags":
			if ok {
				v = strconv.Itoa(x.flags)
			}
		case "type":
			if ok {
				v = "IPv4"
			}
		case "region":
			v = region
		case "az-id":
			v = "use1-az4"
		case "flow-direction":
			if ok {
				v = x.dir
			}
		case "traffic-path":
			if ok && x.dir == "egress" {
				v = "8"
				if strings.HasPrefix(x.dst, "10.") {
					v = "1"
				}
			}
		}
		parts = append(parts, v)
	}
	return strings.Join(parts, " ")
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

// others writes small exports of the other providers, to show every format
// read in one run (they are not covered by the AWS policy).
func others(files map[string][]byte) {
	var b bytes.Buffer
	flowgen.GCPFlows(&b, 40, false, 7)
	b.WriteString(`{"insertId":"broken","jsonPayload":{"connection":{"src_ip":"10.128.0.300","dest_ip":"10.128.0.2","protocol":6}},"logName":"projects/demo/logs/compute.googleapis.com%2Fvpc_flows"}` + "\n")
	files["flowlogs/gcp/compute.googleapis.com/vpc_flows/2025/11/22/08:00:00_08:59:59_S0.json"] = append([]byte(nil), b.Bytes()...)
	b.Reset()
	flowgen.AzureVNet(&b, 30, 8)
	files["flowlogs/azure/insights-logs-flowlogflowevent/y=2025/m=11/d=22/h=08/m=00/macAddress=0022481C2D3E/PT1H.json"] = append([]byte(nil), b.Bytes()...)
	b.Reset()
	flowgen.AlibabaCSV(&b, 30, 9)
	files["flowlogs/alibaba/sls-export.csv"] = append([]byte(nil), b.Bytes()...)
}
