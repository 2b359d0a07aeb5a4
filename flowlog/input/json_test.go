package input

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/benchutil"
	"github.com/flowsift/flowsift/internal/flowgen"
)

// readString runs the JSON pipeline over an in-memory input.
func readString(t testing.TB, data string, format string) ([]flowlog.Record, []flowlog.Problem, *flowlog.Tally) {
	if t != nil {
		t.Helper()
	}
	return readInput(strings.NewReader(data), &Options{Format: format})
}

// readInput reads in through NewReader and returns its records (cloned),
// problems and tally.
func readInput(in io.Reader, opts *Options) ([]flowlog.Record, []flowlog.Problem, *flowlog.Tally) {
	var probs []flowlog.Problem
	tally := &flowlog.Tally{Path: "in", OnProblem: func(p flowlog.Problem) { probs = append(probs, p) }}
	r, _ := NewReader(in, tally, opts)
	var out []flowlog.Record
	if r != nil {
		var rec flowlog.Record
		for r.Next(&rec) {
			out = append(out, rec.Clone())
		}
	}
	return out, probs, tally
}

func probStrings(ps []flowlog.Problem) []string {
	var s []string
	for _, p := range ps {
		if p.Pos > 0 {
			s = append(s, fmt.Sprintf("%d:%s", p.Pos, p.Kind))
		} else {
			s = append(s, p.Notice.String())
		}
	}
	return s
}

const gcpEntry = `{"jsonPayload":{"connection":{"src_ip":"10.0.0.1","dest_ip":"10.0.0.2","src_port":1,"dest_port":"2","protocol":6},"reporter":"SRC","start_time":"%s","end_time":"%s","src_vpc":{"vpc_name":"v","subnetwork_name":"s","project_id":"p"}},"logName":"projects/p/logs/compute.googleapis.com%%2Fvpc_flows"}`

func TestGCPTimeTruncation(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"2019-06-14T03:40:37.9Z", 1560483637, true},
		{"2019-06-14T03:40:37Z", 1560483637, true},
		{"2019-06-14T03:40:37.999999999+02:00", 1560483637 - 7200, true}, // offset first, then truncation
		{"2019-06-14T03:40:37.5-05:30", 1560483637 + 5*3600 + 1800, true},
		{"2019-06-14t03:40:37z", 1560483637, true},
		{"1969-12-31T23:59:59.9Z", -1, true}, // fraction dropped = floor, never rounded toward zero
		{"2020-02-29T00:00:00Z", 1582934400, true},
		{"2019-02-29T00:00:00Z", 0, false},
		{"2019-06-14 03:45:37", 0, false},
		{"2019-06-14T03:45:37", 0, false},
		{"2019-06-14T03:45:37.Z", 0, false},
		{"2019-06-14T24:00:00Z", 0, false},
		{"2019-06-14T03:45:37+0200", 0, false},
	}
	for _, c := range cases {
		recs, probs, _ := readString(t, fmt.Sprintf(gcpEntry, c.in, c.in)+"\n", "")
		if !c.ok {
			if len(recs) != 0 || len(probs) != 1 || probs[0].Kind != flowlog.KindBadTime {
				t.Errorf("%s: records %d problems %v, want one bad-time", c.in, len(recs), probStrings(probs))
			}
			continue
		}
		if len(recs) != 1 || len(probs) != 0 {
			t.Fatalf("%s: records %d problems %v", c.in, len(recs), probStrings(probs))
		}
		if recs[0].Start != c.want || recs[0].End != c.want {
			t.Errorf("%s: start %d end %d, want %d", c.in, recs[0].Start, recs[0].End, c.want)
		}
	}
}

func TestGCPMapping(t *testing.T) {
	recs, probs, tally := readString(t, fmt.Sprintf(gcpEntry, "2019-06-14T03:40:37Z", "2019-06-14T03:40:38Z")+"\n", "")
	if len(probs) != 0 || len(recs) != 1 {
		t.Fatalf("problems %v records %d", probStrings(probs), len(recs))
	}
	r := recs[0]
	if r.SrcPort != 1 || r.DstPort != 2 || r.Direction != flowlog.DirEgress || r.VPC != "v" || r.Subnet != "s" || r.Account != "p" || r.Action != flowlog.ActionUnknown {
		t.Errorf("record %s", flowlog.AppendJSON(nil, &r))
	}
	if tally.Format != flowlog.SourceGCPFlows {
		t.Errorf("format %v", tally.Format)
	}
	// Gateway reporter: direction "" and no reporter-side ids.
	gw := strings.Replace(fmt.Sprintf(gcpEntry, "2019-06-14T03:40:37Z", "2019-06-14T03:40:38Z"), `"SRC"`, `"SRC_GATEWAY"`, 1)
	recs, _, _ = readString(t, gw, "")
	if len(recs) != 1 || recs[0].Direction != flowlog.DirUnknown || recs[0].VPC != "" {
		t.Errorf("gateway reporter: %v", recs)
	}
}

func TestGCPFirewallProtocolNames(t *testing.T) {
	entry := `{"jsonPayload":{"connection":{"src_ip":"10.0.0.1","dest_ip":"10.0.0.2","protocol":%s},"disposition":"INTERCEPTED"},"logName":"organizations/1/logs/compute.googleapis.com%%2Ffirewall","timestamp":"2019-11-06T16:41:38.9Z"}`
	for in, want := range map[string]int{`"UDP"`: 17, `"icmpv6"`: 58, `"IPv6-ICMP"`: 58, `"sctp"`: 132, `"47"`: 47, `6`: 6} {
		recs, probs, _ := readString(t, fmt.Sprintf(entry, in), "")
		if len(recs) != 1 || len(probs) != 0 || int(recs[0].Proto) != want || recs[0].Action != flowlog.ActionUnknown || recs[0].Start != 1573058498 {
			t.Errorf("protocol %s: %v %v", in, recs, probStrings(probs))
		}
	}
	for in, kind := range map[string]flowlog.Kind{`"quic"`: flowlog.KindBadProtocol, `"300"`: flowlog.KindBadProtocol, `1.5`: flowlog.KindBadNumber, `true`: flowlog.KindBadNumber} {
		_, probs, _ := readString(t, fmt.Sprintf(entry, in), "")
		if len(probs) != 1 || probs[0].Kind != kind {
			t.Errorf("protocol %s: %v, want %v", in, probStrings(probs), kind)
		}
	}
	// Flow logs do not accept names.
	flow := strings.Replace(fmt.Sprintf(gcpEntry, "2019-06-14T03:40:37Z", "2019-06-14T03:40:37Z"), `"protocol":6`, `"protocol":"udp"`, 1)
	if _, probs, _ := readString(t, flow, ""); len(probs) != 1 || probs[0].Kind != flowlog.KindBadNumber {
		t.Errorf("flow-log protocol name: %v", probStrings(probs))
	}
}

const nsgRecord = `{"time":"2018-11-13T12:00:35Z","category":"NetworkSecurityGroupFlowEvent","resourceId":"/SUBSCRIPTIONS/ABCD-EF/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG","properties":{"Version":2,"flows":[{"rule":"R","flows":[{"mac":"000D3AF87856","flowTuples":[%s]}]}]}}`

func TestAzureDirectionSplitting(t *testing.T) {
	cases := []struct {
		tuple string
		want  []string // src>dst dir packets/bytes
	}{
		{`"1542110379,10.0.0.1,10.0.0.2,1000,443,T,O,A,E,1,66,2,99"`, []string{"10.0.0.1:1000>10.0.0.2:443 egress 1/66", "10.0.0.2:443>10.0.0.1:1000 ingress 2/99"}},
		{`"1542110379,10.0.0.1,10.0.0.2,1000,443,T,I,A,C,0,0,3,0"`, []string{"10.0.0.2:443>10.0.0.1:1000 egress 3/0"}},
		{`"1542110379,10.0.0.1,10.0.0.2,1000,443,U,I,D,B,,,,"`, []string{"10.0.0.1:1000>10.0.0.2:443 ingress 0/0"}},
		{`"1542110379,10.0.0.1,10.0.0.2,,,T,I,A"`, []string{"10.0.0.1:0>10.0.0.2:0 ingress 0/0"}},
		{`"1542110379,10.0.0.1,10.0.0.2,1,2,T,O,A,E,5,0,0,0"`, []string{"10.0.0.1:1>10.0.0.2:2 egress 5/0"}},
	}
	for _, c := range cases {
		recs, probs, _ := readString(t, fmt.Sprintf(nsgRecord, c.tuple), "")
		if len(probs) != 0 {
			t.Errorf("%s: %v", c.tuple, probStrings(probs))
		}
		var got []string
		for _, r := range recs {
			got = append(got, fmt.Sprintf("%s:%d>%s:%d %s %d/%d", r.Src, r.SrcPort, r.Dst, r.DstPort, r.Direction, r.Packets, r.Bytes))
			if r.Account != "abcd-ef" || r.Start != 1542110379 || r.Source != flowlog.SourceAzureNSG {
				t.Errorf("%s: %s", c.tuple, flowlog.AppendJSON(nil, &r))
			}
		}
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s:\n got %v\nwant %v", c.tuple, got, c.want)
		}
	}
}

func TestAzureTupleErrors(t *testing.T) {
	tuples := `"1542110379,10.0.0.1,10.0.0.2,1,2,T,O,A,E,1,1,1,1",` + // good: 2 records
		`"1542110379,10.0.0.1,10.0.0.2,1,2,X,O,A",` + // bad-protocol
		`"1542110379,10.0.0.1,10.0.0.2,1,70000,T,O,A",` + // bad-port
		`"1542110379,10.0.0.1,10.0.0.2,1,2,T,Q,A",` + // bad-value
		`"1542110379,10.0.0.1,10.0.0.2,1,2,T,O,A,D,1,1,1,1",` + // bad-value: D is no NSG state
		`"x,10.0.0.1,10.0.0.2,1,2,T,O,A",` + // bad-number
		`"1542110379,10.0.0.1,10.0.0.2,1,2,T,O",` + // field-count
		`17,` + // not a string
		`"1542110379,10.0.0.1,10.0.0.2,1,2,T,O,D"` // good: 1 record
	recs, probs, _ := readString(t, "\n"+fmt.Sprintf(nsgRecord, tuples)+"\n", "")
	if len(recs) != 3 {
		t.Errorf("records %d, want 3", len(recs))
	}
	want := "2:bad-protocol 2:bad-port 2:bad-value 2:bad-value 2:bad-number 2:field-count 2:bad-value" // NDJSON: the record is on line 2
	if got := strings.Join(probStrings(probs), " "); got != want {
		t.Errorf("problems %s\nwant     %s", got, want)
	}
	for i, p := range probs {
		if !strings.Contains(p.Detail, fmt.Sprintf("tuple %d", i+2)) {
			t.Errorf("detail %q does not name tuple %d", p.Detail, i+2)
		}
	}
}

func TestAzureVNetMillisecondsAndIDs(t *testing.T) {
	rec := `{"records":[{"macAddress":"00224871C205","targetResourceID":"/subscriptions/SUB-A/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vn/subnets/sn","flowRecords":{"flows":[{"aclID":"acl","flowGroups":[{"rule":"r","flowTuples":["1663146003999,10.0.0.6,52.239.184.180,1,2,6,O,C,X,1,2,0,0","1663146003,10.0.0.6,52.239.184.180,1,2,17,I,D,NX,0,0,0,0"]}]}]}}]}`
	recs, probs, tally := readString(t, rec, "")
	if len(probs) != 0 || len(recs) != 2 || tally.Format != flowlog.SourceAzureVNet {
		t.Fatalf("problems %v records %d format %v", probStrings(probs), len(recs), tally.Format)
	}
	if recs[0].Start != 1663146003 || recs[1].Start != 1663146003 {
		t.Errorf("times %d %d", recs[0].Start, recs[1].Start)
	}
	r := recs[0]
	if r.Account != "sub-a" || r.VPC != "/subscriptions/SUB-A/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vn" ||
		r.Subnet != "/subscriptions/SUB-A/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vn/subnets/sn" ||
		r.Action != flowlog.ActionAccept || recs[1].Action != flowlog.ActionReject || recs[1].Proto != 17 {
		t.Errorf("%s\n%s", flowlog.AppendJSON(nil, &recs[0]), flowlog.AppendJSON(nil, &recs[1]))
	}
}

func TestNDJSONVersusDocument(t *testing.T) {
	line := fmt.Sprintf(gcpEntry, "2019-06-14T03:40:37Z", "2019-06-14T03:40:38Z")
	bad := strings.Replace(line, `"10.0.0.1"`, `"10.0.0.300"`, 1)
	// NDJSON: positions are lines; a cut line is bad-json and reading goes on.
	nd := "\xef\xbb\xbf" + line + "\n\n" + line[:40] + "\n" + bad + "\r\n" + line
	recs, probs, tally := readString(t, nd, "")
	if got := strings.Join(probStrings(probs), " "); len(recs) != 2 || got != "3:bad-json 4:bad-ip" || tally.Blank != 1 {
		t.Errorf("ndjson: records %d problems %s blank %d", len(recs), got, tally.Blank)
	}
	// Array document: positions are element indexes.
	doc := "[\n  " + line + ",\n  " + bad + ",\n  " + line + "\n]\n"
	recs, probs, _ = readString(t, doc, "")
	if got := strings.Join(probStrings(probs), " "); len(recs) != 2 || got != "2:bad-ip" {
		t.Errorf("array: records %d problems %s", len(recs), got)
	}
	// A pretty-printed object: position = its first line.
	pretty := "\n\n" + strings.Replace(bad, `"jsonPayload":`, "\n\"jsonPayload\":\n", 1) + "\n"
	_, probs, _ = readString(t, pretty, "")
	if got := strings.Join(probStrings(probs), " "); got != "3:bad-ip" {
		t.Errorf("pretty object: problems %s", got)
	}
	// Two pretty objects in a row.
	_, probs, _ = readString(t, pretty+pretty, "")
	if got := strings.Join(probStrings(probs), " "); got != "3:bad-ip 8:bad-ip" {
		t.Errorf("two pretty objects: problems %s", got)
	}
	// Not a known format.
	_, probs, tally = readString(t, `{"a":1}`+"\n", "")
	if got := strings.Join(probStrings(probs), " "); got != "unrecognized" || tally.Unusable == flowlog.NoticeNone {
		t.Errorf("unknown keys: %s", got)
	}
}

func TestAzureTruncatedDocument(t *testing.T) {
	one := fmt.Sprintf(`{"resourceId":"/SUBSCRIPTIONS/S/X","properties":{"Version":2,"flows":[{"rule":"R","flows":[{"mac":"M","flowTuples":["1542110379,10.0.0.1,10.0.0.2,1,2,T,O,A,E,1,1,1,1"]}]}]}}`)
	doc := `{"records":[` + one + "," + one + "," + one + `]}`
	for cut := 1; cut < len(doc); cut++ {
		recs, probs, _ := readString(t, doc[:cut], "")
		complete := strings.Count(doc[:cut], "]}]}]}}") // elements ended
		if len(recs) != 2*complete {
			t.Fatalf("cut %d: %d records, want %d", cut, len(recs), 2*complete)
		}
		if cut < len(`{"records":[`) {
			continue
		}
		if len(probs) != 1 || probs[0].Kind != flowlog.KindTruncated {
			t.Fatalf("cut %d: problems %v, want one truncated", cut, probStrings(probs))
		}
		want := int64(complete + 1)
		if cut >= len(doc)-1 { // the records array is whole: the object is cut, at its line
			want = 1
		}
		if probs[0].Pos != want {
			t.Errorf("cut %d (%q): truncated at %d, want %d", cut, doc[cut-5:cut], probs[0].Pos, want)
		}
	}
	// The same document compact on one line and complete: positions are
	// records indexes, not line 1.
	bad := strings.Replace(one, "10.0.0.2", "10.0.0.256", 1)
	_, probs, _ := readString(t, `{"records":[`+one+","+bad+`]}`+"\n", "")
	if got := strings.Join(probStrings(probs), " "); got != "2:bad-ip" {
		t.Errorf("one-line document: %s", got)
	}
	// gzip cut short: the damage is reported, earlier elements are kept.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(doc))
	zw.Close()
	recs, probs, _ := readString(t, string(gz.Bytes()[:gz.Len()-12]), "")
	if len(probs) != 1 || probs[0].Kind != flowlog.KindTruncated || len(recs) > 6 {
		t.Errorf("gzip cut: %d records, problems %v", len(recs), probStrings(probs))
	}
}

func TestCloudWatchControlAndPositions(t *testing.T) {
	msg := "2 123456789010 eni-1 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"
	doc := `{"messageType":"DATA_MESSAGE","logEvents":[{"message":"` + msg + `"},{"message":"bad"},{"id":"x"},{"message":"2 1 eni-1 - - - - - - - 1 2 - NODATA"},{"message":"` + msg + `"}]}` + "\n" +
		`{"messageType":"CONTROL_MESSAGE","logEvents":[{"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}`
	recs, probs, tally := readString(t, doc, "")
	if got := strings.Join(probStrings(probs), " "); len(recs) != 2 || got != "2:field-count 3:missing-field" || tally.NoData != 1 || tally.Format != flowlog.SourceAWSCWLJSON {
		t.Errorf("records %d problems %s nodata %d format %v", len(recs), got, tally.NoData, tally.Format)
	}
}

func TestForcedFormat(t *testing.T) {
	line := fmt.Sprintf(gcpEntry, "2019-06-14T03:40:37Z", "2019-06-14T03:40:38Z")
	recs, probs, tally := readString(t, line, "gcp-firewall")
	if len(probs) != 0 || len(recs) != 1 || recs[0].Source != flowlog.SourceGCPFirewall || tally.Format != flowlog.SourceGCPFirewall {
		t.Errorf("forced firewall: %v %v", probStrings(probs), recs)
	}
}

// TestGeneratedInputs: the flowgen writers give inputs that read without a
// single report, with the expected number of records.
func TestGeneratedInputs(t *testing.T) {
	for _, c := range []struct {
		name string
		gen  func(b *bytes.Buffer) error
		want int64 // 0: at least the tuple count
		src  flowlog.Source
	}{
		{"gcp", func(b *bytes.Buffer) error { return flowgen.GCPFlows(b, 1000, false, 7) }, 1000, flowlog.SourceGCPFlows},
		{"gcp-fw", func(b *bytes.Buffer) error { return flowgen.GCPFlows(b, 1000, true, 7) }, 1000, flowlog.SourceGCPFirewall},
		{"nsg", func(b *bytes.Buffer) error { return flowgen.AzureNSG(b, 1000, 7) }, 0, flowlog.SourceAzureNSG},
		{"vnet", func(b *bytes.Buffer) error { return flowgen.AzureVNet(b, 1000, 7) }, 0, flowlog.SourceAzureVNet},
		{"native", func(b *bytes.Buffer) error { return writeNativeJSONL(b, 1000, 7) }, 1000, flowlog.SourceAWSText},
	} {
		var b bytes.Buffer
		if err := c.gen(&b); err != nil {
			t.Fatal(err)
		}
		recs, probs, tally := readString(t, b.String(), "")
		if len(probs) != 0 {
			t.Errorf("%s: problems %v", c.name, probStrings(probs)[:min(5, len(probs))])
		}
		if c.want > 0 && tally.Records != c.want || c.want == 0 && tally.Records < 1000 {
			t.Errorf("%s: %d records", c.name, tally.Records)
		}
		if tally.Format != c.src || len(recs) == 0 || recs[0].Source != c.src {
			t.Errorf("%s: format %v", c.name, tally.Format)
		}
	}
}

// writeNativeJSONL writes n flowgen records as flowsift JSONL.
func writeNativeJSONL(w *bytes.Buffer, n int, seed uint64) error {
	var buf bytes.Buffer
	if err := flowgen.AWSText(&buf, n, flowgen.AWSV5Fields, seed); err != nil {
		return err
	}
	recs, _, _ := readString(nil, buf.String(), "")
	var line []byte
	for i := range recs {
		line = flowlog.AppendJSON(line[:0], &recs[i])
		w.Write(line)
		w.WriteByte('\n')
	}
	return nil
}

// benchRead reads a generated file b.N times through NewReader.
func benchRead(b *testing.B, name string, gen func(f *os.File) error) {
	path := benchutil.File(b, name, func(p string) error {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		if err := gen(f); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
	var total int64
	var rec flowlog.Record
	m := benchutil.Start(b)
	for i := 0; i < b.N; i++ {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		t := &flowlog.Tally{Path: path}
		r, _ := NewReader(f, t, &Options{})
		if r == nil {
			b.Fatalf("no reader for %s", path)
		}
		for r.Next(&rec) {
		}
		f.Close()
		if t.MalformedTotal() != 0 || t.Records < 1_000_000 {
			b.Fatalf("%s: %d records, %d malformed", path, t.Records, t.MalformedTotal())
		}
		total += t.Records
	}
	m.Stop(total)
}

func BenchmarkReadGCP(b *testing.B) {
	benchRead(b, "gcp-vpc-flows-1m.ndjson", func(f *os.File) error { return flowgen.GCPFlows(f, 1_000_000, false, 1) })
}

func BenchmarkReadAzureNSG(b *testing.B) {
	benchRead(b, "azure-nsg-1m.json", func(f *os.File) error { return flowgen.AzureNSG(f, 1_000_000, 1) })
}

func BenchmarkReadAzureVNet(b *testing.B) {
	benchRead(b, "azure-vnet-1m.json", func(f *os.File) error { return flowgen.AzureVNet(f, 1_000_000, 1) })
}

func BenchmarkReadNativeJSONL(b *testing.B) {
	benchRead(b, "native-1m.jsonl", func(f *os.File) error {
		var buf bytes.Buffer
		if err := writeNativeJSONL(&buf, 1_000_000, 1); err != nil {
			return err
		}
		_, err := f.Write(buf.Bytes())
		return err
	})
}
