package native

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/flowsift/flowsift/analyze/verdict"
	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/aws"
	"github.com/flowsift/flowsift/internal/flowgen"
	pqw "github.com/flowsift/flowsift/storage/parquet"
)

func pqFlowRecord(f *flowgen.Flow, i int) flowlog.Record {
	r := flowlog.Record{Start: f.Start, End: f.End, Src: f.Src, Dst: f.Dst, SrcPort: f.SrcPort,
		DstPort: f.DstPort, Proto: f.Proto, Packets: f.Packets, Bytes: f.Bytes, TCPFlags: f.TCPFlags,
		Iface: f.Iface, VPC: f.VPC, Subnet: f.Subnet, Account: f.Account}
	srcs := flowlog.Sources()
	r.Source = srcs[i%len(srcs)]
	if f.Accept {
		r.Action = flowlog.ActionAccept
	} else if i%3 == 0 {
		r.Action = flowlog.ActionReject
	}
	if i%5 != 0 {
		r.Direction = flowlog.DirIngress
		if !f.Ingress {
			r.Direction = flowlog.DirEgress
		}
	}
	if i%7 == 0 {
		r.SetInt(flowlog.AttrVersion, 5)
		r.SetStr(flowlog.AttrInstanceId, f.Instance)
	}
	if i%11 == 0 {
		r.SetInt(flowlog.AttrTrafficPath, int64(i%9))
		r.SetStr(flowlog.AttrPktSrcaddr, f.Src.String())
	}
	return r
}

// pqEveryAttr returns records that carry every optional key, and edge
// values of the fixed keys.
func pqEveryAttr() []flowlog.Record {
	full := flowlog.Record{Start: -5, End: 1<<63 - 1, Src: netip.MustParseAddr("2001:db8::1"),
		Dst: netip.MustParseAddr("::ffff:10.0.0.1"), SrcPort: 65535, Proto: 255, Packets: 1<<63 - 1,
		TCPFlags: 1<<31 - 1, Iface: "eni-1", VPC: "vpc \"quoted\", comma", Subnet: "subnet-é", Account: "0123",
		Source: flowlog.SourceAzureVNet, Action: flowlog.ActionReject, Direction: flowlog.DirEgress}
	for i, k := range flowlog.AttrKeys() {
		if k.IsInt() {
			full.SetInt(k, int64(i)*-1000003)
		} else {
			full.SetStr(k, k.Name()+"-value")
		}
	}
	minimal := flowlog.Record{Src: netip.MustParseAddr("0.0.0.0"), Dst: netip.MustParseAddr("255.255.255.255")}
	intsOnly := minimal
	for _, k := range flowlog.AttrKeys() {
		if k.IsInt() {
			intsOnly.SetInt(k, 0) // zero is a value, not absent
		}
	}
	return []flowlog.Record{full, minimal, intsOnly.Clone()}
}

func pqWrite(t testing.TB, recs []flowlog.Record, opts pqw.Options) []byte {
	var buf bytes.Buffer
	w, err := pqw.NewWriter(&buf, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if err := w.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func pqReadBack(t testing.TB, data []byte) ([]flowlog.Record, []flowlog.Problem, *flowlog.Tally) {
	var probs []flowlog.Problem
	tally := &flowlog.Tally{Path: "p", OnProblem: func(p flowlog.Problem) { probs = append(probs, p) }}
	pf, err := aws.OpenParquet(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if !IsParquetSchema(aws.TopLevelColumns(pf)) {
		t.Fatalf("flowsift's Parquet not recognised: %v", aws.TopLevelColumns(pf))
	}
	r := NewParquetReader(pf, tally)
	if r == nil {
		t.Fatalf("reader refused the file: %v", probs)
	}
	var out []flowlog.Record
	var rec flowlog.Record
	for r.Next(&rec) {
		out = append(out, rec.Clone())
	}
	return out, probs, tally
}

// TestParquetRoundTrip: records written by storage/parquet and read back
// compare equal (FORMATS.md 2.3), across batches and row groups.
func TestParquetRoundTrip(t *testing.T) {
	const n = 120_000
	recs := make([]flowlog.Record, 0, n+3)
	g := flowgen.New(42)
	for i := 0; i < n; i++ {
		f := g.Next()
		recs = append(recs, pqFlowRecord(&f, i))
	}
	recs = append(recs, pqEveryAttr()...)
	data := pqWrite(t, recs, pqw.Options{RowGroupRows: 50_000, BatchRows: 7_000})
	got, probs, tally := pqReadBack(t, data)
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs[:min(len(probs), 5)])
	}
	if len(got) != len(recs) || tally.Records != int64(len(recs)) {
		t.Fatalf("%d records read (tally %d), %d written", len(got), tally.Records, len(recs))
	}
	for i := range recs {
		if !got[i].Equal(&recs[i]) {
			t.Fatalf("record %d differs:\nwrote %s\nread  %s", i, flowlog.AppendJSON(nil, &recs[i]), flowlog.AppendJSON(nil, &got[i]))
		}
	}
}

// TestParquetRejects: values a record cannot hold are reported at their
// row; the other rows survive.
func TestParquetRejects(t *testing.T) {
	recs := pqEveryAttr()[1:2]
	good := recs[0]
	bad := good
	bad.Src = netip.Addr{} // written as "": not an address
	recs = append(recs, bad, good)
	got, probs, _ := pqReadBack(t, pqWrite(t, recs, pqw.Options{}))
	if len(got) != 2 || len(probs) != 1 || probs[0].Pos != 2 || probs[0].Kind != flowlog.KindBadIP {
		t.Errorf("records %d, problems %v; want 2 records and row 2 bad-ip", len(got), probs)
	}
	if !strings.Contains(probs[0].String(), "p:2: bad-ip") {
		t.Errorf("report %q", probs[0])
	}
}

// TestParquetJudgedRoundTrip: the files `flowsift analyze -o DIR` writes
// (judgment columns after the fixed ones, rules a list) read back into
// the records alone, without notices.
func TestParquetJudgedRoundTrip(t *testing.T) {
	recs := pqEveryAttr()
	g := flowgen.New(7)
	for i := 0; i < 20_000; i++ {
		f := g.Next()
		recs = append(recs, pqFlowRecord(&f, i))
	}
	var buf bytes.Buffer
	w, err := pqw.NewWriter(&buf, pqw.Options{Judged: true, Policy: "0123456789ab", BatchRows: 3000, RowGroupRows: 8000})
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		res := verdict.Result{Verdict: verdict.Verdict(i % 3), Rules: []string{"sg-1", "acl-2/100"}[:i%3], Reply: i%2 == 0}
		if err := w.WriteJudged(&recs[i], &res); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, probs, _ := pqReadBack(t, buf.Bytes())
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs[:min(len(probs), 5)])
	}
	if len(got) != len(recs) {
		t.Fatalf("%d records read, %d written", len(got), len(recs))
	}
	for i := range recs {
		if !got[i].Equal(&recs[i]) {
			t.Fatalf("record %d differs:\nwrote %s\nread  %s", i, flowlog.AppendJSON(nil, &recs[i]), flowlog.AppendJSON(nil, &got[i]))
		}
	}
}
