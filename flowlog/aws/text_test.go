package aws

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/flowgen"
)

func readText(t testing.TB, data string) ([]flowlog.Record, []flowlog.Problem, *flowlog.Tally) {
	var probs []flowlog.Problem
	tally := &flowlog.Tally{Path: "t", OnProblem: func(p flowlog.Problem) { probs = append(probs, p) }}
	r := NewTextReader(strings.NewReader(data), tally, nil)
	var out []flowlog.Record
	var rec flowlog.Record
	for r.Next(&rec) {
		out = append(out, rec.Clone())
	}
	return out, probs, tally
}

// expectedRecord is what the reader must make of flow f written in the given
// field order by flowgen.AppendAWSField: fields not in the order are absent.
func expectedRecord(f *flowgen.Flow, fields []string) (flowlog.Record, bool) {
	has := map[string]bool{}
	for _, n := range fields {
		has[n] = true
	}
	if !has["srcaddr"] || !has["dstaddr"] {
		return flowlog.Record{}, false // a record needs both addresses: bad-ip
	}
	r := flowlog.Record{Src: f.Src, Dst: f.Dst, Source: flowlog.SourceAWSText}
	if has["srcport"] {
		r.SrcPort = f.SrcPort
	}
	if has["dstport"] {
		r.DstPort = f.DstPort
	}
	if has["protocol"] {
		r.Proto = f.Proto
	}
	if has["packets"] {
		r.Packets = f.Packets
	}
	if has["bytes"] {
		r.Bytes = f.Bytes
	}
	if has["start"] {
		r.Start = f.Start
	}
	if has["end"] {
		r.End = f.End
	}
	if has["action"] {
		r.Action = flowlog.ActionReject
		if f.Accept {
			r.Action = flowlog.ActionAccept
		}
	}
	if has["flow-direction"] {
		r.Direction = flowlog.DirEgress
		if f.Ingress {
			r.Direction = flowlog.DirIngress
		}
	}
	if has["tcp-flags"] {
		r.TCPFlags = f.TCPFlags
	}
	if has["account-id"] {
		r.Account = f.Account
	}
	if has["interface-id"] {
		r.Iface = f.Iface
	}
	if has["vpc-id"] {
		r.VPC = f.VPC
	}
	if has["subnet-id"] {
		r.Subnet = f.Subnet
	}
	set := func(name string, k flowlog.AttrKey, s string) {
		if has[name] {
			r.SetStr(k, s)
		}
	}
	if has["version"] {
		r.SetInt(flowlog.AttrVersion, 5)
	}
	if has["traffic-path"] && !f.Ingress {
		r.SetInt(flowlog.AttrTrafficPath, 1)
	}
	set("instance-id", flowlog.AttrInstanceId, f.Instance)
	set("type", flowlog.AttrType, "IPv4")
	set("region", flowlog.AttrRegion, f.Region)
	set("az-id", flowlog.AttrAzId, f.AZ)
	set("pkt-srcaddr", flowlog.AttrPktSrcaddr, f.Src.String())
	set("pkt-dstaddr", flowlog.AttrPktDstaddr, f.Dst.String())
	return r, true
}

// TestRoundTripRandomFieldOrders writes generated flows in random custom
// formats (random subsets of every known field, random order, header first)
// and checks every record read back field by field.
func TestRoundTripRandomFieldOrders(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	all := FieldNames()
	for trial := 0; trial < 300; trial++ {
		fields := append([]string(nil), all...)
		rng.Shuffle(len(fields), func(i, j int) { fields[i], fields[j] = fields[j], fields[i] })
		fields = fields[:1+rng.IntN(len(fields))]
		if trial%3 != 0 { // mostly formats that yield records
			for _, must := range []string{"srcaddr", "dstaddr"} {
				if !contains(fields, must) {
					fields = append(fields, must)
				}
			}
			rng.Shuffle(len(fields), func(i, j int) { fields[i], fields[j] = fields[j], fields[i] })
		}
		g := flowgen.New(uint64(trial))
		var buf bytes.Buffer
		buf.WriteString(strings.Join(fields, " ") + "\n")
		var flows []flowgen.Flow
		for i := 0; i < 20; i++ {
			f := g.Next()
			flows = append(flows, f)
			var line []byte
			for j, n := range fields {
				if j > 0 {
					line = append(line, ' ')
				}
				line = flowgen.AppendAWSField(line, n, &f)
			}
			buf.Write(append(line, '\n'))
		}
		recs, probs, tally := readText(t, buf.String())
		if tally.Headers != 1 {
			t.Fatalf("format %v: header not recognized", fields)
		}
		_, ok := expectedRecord(&flows[0], fields)
		if !ok {
			if len(recs) != 0 || len(probs) != len(flows) {
				t.Fatalf("format %v without both addresses: %d records, %d reports; want 0 and %d bad-ip", fields, len(recs), len(probs), len(flows))
			}
			for _, p := range probs {
				if p.Kind != flowlog.KindBadIP {
					t.Fatalf("format %v: report %s, want bad-ip", fields, p)
				}
			}
			continue
		}
		if len(probs) > 0 || len(recs) != len(flows) {
			t.Fatalf("format %v: %d records, problems %v", fields, len(recs), probs)
		}
		for i := range flows {
			want, _ := expectedRecord(&flows[i], fields)
			if !recs[i].Equal(&want) {
				t.Fatalf("format %v line %d:\n got  %s\n want %s", fields, i+2,
					flowlog.AppendJSON(nil, &recs[i]), flowlog.AppendJSON(nil, &want))
			}
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestHeaderRules(t *testing.T) {
	cases := []struct {
		name, data string
		records    int
		reports    []string
	}{
		{"later header takes effect", "srcaddr dstaddr\n10.0.0.1 10.0.0.2\nsrcaddr dstaddr dstport\n10.0.0.1 10.0.0.2 443\n", 2, nil},
		{"repeated name is a look-alike", "srcaddr srcaddr dstaddr\n", 0, []string{"t:1: bad-header"}},
		{"mostly unknown words are not a header", "hello world flows\n", 0, []string{"t:1: field-count"}},
		{"blank and CRLF lines", "\r\n  \t\n2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 1 2 ACCEPT OK\r\n", 1, nil},
		{"tabs and runs of spaces split", "2\t1 eni-1  10.0.0.1 10.0.0.2 1 2 6 1 40 1 2 ACCEPT OK  \n", 1, nil},
		{"leading zeros allowed", "2 1 eni-1 10.0.0.1 10.0.0.2 080 0443 006 1 40 1 2 ACCEPT OK\n", 1, nil},
		{"zone not accepted", "2 1 eni-1 fe80::1%eth0 10.0.0.2 1 2 6 1 40 1 2 ACCEPT OK\n", 0, []string{"t:1: bad-ip"}},
		{"int64 overflow", "2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 9223372036854775808 40 1 2 ACCEPT OK\n", 0, []string{"t:1: bad-number"}},
		{"int64 max", "2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 9223372036854775807 40 1 2 ACCEPT OK\n", 1, nil},
		{"bad log-status", "2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 1 2 ACCEPT MAYBE\n", 0, []string{"t:1: bad-value"}},
		{"last line without newline", "2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 1 2 ACCEPT OK", 1, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recs, probs, _ := readText(t, c.data)
			if len(recs) != c.records {
				t.Errorf("records = %d, want %d", len(recs), c.records)
			}
			if len(probs) != len(c.reports) {
				t.Fatalf("reports %v, want %v", probs, c.reports)
			}
			for i, p := range probs {
				if !strings.HasPrefix(p.String(), c.reports[i]) {
					t.Errorf("report %q, want prefix %q", p, c.reports[i])
				}
			}
		})
	}
}

func TestCanonicalAddresses(t *testing.T) {
	recs, probs, _ := readText(t, "2 1 eni-1 2001:DB8:1234:A100:0:0:0:F105 2001:db8:0:0:1:0:0:1 1 2 6 1 40 1 2 ACCEPT OK\n"+
		"2 1 eni-1 ::ffff:10.0.0.1 2001:db8:0:1:1:1:1:1 1 2 6 1 40 1 2 ACCEPT OK\n")
	if len(probs) != 0 || len(recs) != 2 {
		t.Fatalf("records %d problems %v", len(recs), probs)
	}
	for i, want := range [][2]string{{"2001:db8:1234:a100::f105", "2001:db8::1:0:0:1"}, {"::ffff:10.0.0.1", "2001:db8:0:1:1:1:1:1"}} {
		if recs[i].Src.String() != want[0] || recs[i].Dst.String() != want[1] {
			t.Errorf("record %d: %s %s, want %v", i, recs[i].Src, recs[i].Dst, want)
		}
	}
}

// TestNoAllocsPerRecord: the steady state of the text reader allocates
// nothing per record.
func TestNoAllocsPerRecord(t *testing.T) {
	var buf bytes.Buffer
	if err := flowgen.AWSText(&buf, 20000, flowgen.AWSV5Fields, 1); err != nil {
		t.Fatal(err)
	}
	r := NewTextReader(bytes.NewReader(buf.Bytes()), &flowlog.Tally{}, nil)
	var rec flowlog.Record
	for i := 0; i < 1000; i++ { // warm up: interner, attr capacity
		r.Next(&rec)
	}
	allocs := testing.AllocsPerRun(5000, func() {
		if !r.Next(&rec) {
			t.Fatal("ran out of records")
		}
	})
	if allocs != 0 {
		t.Errorf("%.2f allocations per record, want 0", allocs)
	}
}

func sampleSeeds(f *testing.F) {
	paths, _ := filepath.Glob("../../../shared/reference/samples/aws/*.log")
	bad, _ := filepath.Glob("../../../shared/reference/samples/bad/*.log")
	for _, p := range append(paths, bad...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	if len(paths) == 0 {
		f.Fatal("no AWS samples found")
	}
}

// FuzzTextReader: no panic; every record has both addresses and prints as
// valid JSON; every line is accounted for exactly once.
func FuzzTextReader(f *testing.F) {
	sampleSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var reports int64
		tally := &flowlog.Tally{OnProblem: func(flowlog.Problem) { reports++ }}
		r := NewTextReader(bytes.NewReader(data), tally, nil)
		var rec flowlog.Record
		n := int64(0)
		for r.Next(&rec) {
			n++
			if !rec.Src.IsValid() || !rec.Dst.IsValid() {
				t.Fatalf("record without addresses: %s", flowlog.AppendJSON(nil, &rec))
			}
			if !json.Valid(flowlog.AppendJSON(nil, &rec)) {
				t.Fatalf("invalid JSON: %s", flowlog.AppendJSON(nil, &rec))
			}
		}
		lines := int64(bytes.Count(data, []byte{'\n'}))
		if len(data) > 0 && data[len(data)-1] != '\n' {
			lines++
		}
		if got := n + reports + tally.NoData + tally.SkipData + tally.Blank + tally.Headers; got != lines {
			t.Fatalf("%d lines, accounted %d (records %d reports %d nodata %d skipdata %d blank %d headers %d)",
				lines, got, n, reports, tally.NoData, tally.SkipData, tally.Blank, tally.Headers)
		}
	})
}
