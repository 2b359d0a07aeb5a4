package aws

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/benchutil"
	"github.com/flowsift/flowsift/internal/flowgen"
)

func readCWLCSV(t testing.TB, data []byte) (string, []string, *flowlog.Tally) {
	t.Helper()
	var reports []string
	tally := &flowlog.Tally{Path: "x.csv", OnProblem: func(p flowlog.Problem) {
		reports = append(reports, strconv.FormatInt(p.Pos, 10)+":"+p.Kind.String())
	}}
	r := NewCWLCSVReader(bytes.NewReader(data), tally, nil)
	var out bytes.Buffer
	var rec flowlog.Record
	for r.Next(&rec) {
		out.Write(flowlog.AppendJSON(nil, &rec))
		out.WriteByte('\n')
	}
	sort.Strings(reports)
	return out.String(), reports, tally
}

// TestCWLCSVConstructedFile reads testdata/cwl-console-export.csv, a file
// CONSTRUCTED for this test in the shape of FORMATS.md 3.8.3 (the console
// export shown in opentelemetry-collector-contrib issue 38861: a
// `timestamp,message` header, then the event time in ms and one
// default-format line, quoted or not). Its rows are the NODATA line,
// the two lines of FORMATS.md 9.1, an IPv6 line, and damaged rows: too few
// fields in the message (6), a timestamp that is not a number (7), a third
// cell (8), a bad address (9), an unclosed quote (12, reading resumes on 13),
// a port out of range (13). Line 5 is blank.
func TestCWLCSVConstructedFile(t *testing.T) {
	data, err := os.ReadFile("testdata/cwl-console-export.csv")
	if err != nil {
		t.Fatal(err)
	}
	got, reports, tally := readCWLCSV(t, data)
	want := `{"start":1418530010,"end":1418530070,"src":"172.31.16.139","dst":"172.31.16.21","sport":20641,"dport":22,"proto":6,"packets":20,"bytes":4249,"action":"accept","direction":"","iface":"eni-1235b8ca123456789","vpc":"","subnet":"","account":"123456789010","tcp_flags":0,"source":"aws-cwl-csv","version":2}
{"start":1418530010,"end":1418530070,"src":"172.31.9.69","dst":"172.31.9.12","sport":49761,"dport":3389,"proto":6,"packets":20,"bytes":4249,"action":"reject","direction":"","iface":"eni-1235b8ca123456789","vpc":"","subnet":"","account":"123456789010","tcp_flags":0,"source":"aws-cwl-csv","version":2}
{"start":1418530030,"end":1418530090,"src":"2001:db8::1","dst":"2001:db8::1:0:0:1","sport":443,"dport":8080,"proto":6,"packets":3,"bytes":300,"action":"reject","direction":"","iface":"eni-1235b8ca123456789","vpc":"","subnet":"","account":"123456789010","tcp_flags":0,"source":"aws-cwl-csv","version":2}
`
	if got != want {
		t.Errorf("records\n%s\nwant\n%s", got, want)
	}
	wantReports := "12:field-count 13:bad-port 6:field-count 7:bad-number 8:field-count 9:bad-ip"
	if strings.Join(reports, " ") != wantReports {
		t.Errorf("reports %v\nwant    %s", reports, wantReports)
	}
	if tally.Records != 3 || tally.NoData != 1 || tally.SkipData != 1 || tally.Headers != 1 || tally.Blank != 1 ||
		tally.Format != flowlog.SourceAWSCWLCSV {
		t.Errorf("tally %+v", *tally)
	}
	// The records equal those of the same lines read as plain text.
	text := "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK\n"
	tt := &flowlog.Tally{}
	tr := NewTextReader(strings.NewReader(text), tt, nil)
	var rec flowlog.Record
	if !tr.Next(&rec) {
		t.Fatal("text line")
	}
	rec.Source = flowlog.SourceAWSCWLCSV
	if line, _, _ := strings.Cut(want, "\n"); string(flowlog.AppendJSON(nil, &rec)) != line {
		t.Errorf("CSV and text readings differ")
	}
}

func TestCWLCSVFirstRowNotHeader(t *testing.T) {
	// Without the header (or under a forced format) the first row is an
	// event like the others.
	in := "1418530070000,2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1418530010 1418530070 ACCEPT OK\n" +
		"\"timestamp\",\"message\"\n"
	got, reports, tally := readCWLCSV(t, []byte(in))
	if strings.Count(got, "\n") != 1 || strings.Join(reports, " ") != "2:bad-number" || tally.Headers != 0 {
		t.Errorf("records %q reports %v headers %d", got, reports, tally.Headers)
	}
}

func TestCWLCSVQuotedHeaderAndBOM(t *testing.T) {
	in := "\ufeff\"timestamp\",\"message\"\r\n\"1418530070000\",\"2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1418530010 1418530070 ACCEPT OK\"\r\n"
	got, reports, tally := readCWLCSV(t, []byte(in))
	if strings.Count(got, "\n") != 1 || len(reports) != 0 || tally.Headers != 1 {
		t.Errorf("records %q reports %v headers %d", got, reports, tally.Headers)
	}
}

func TestCWLCSVFieldList(t *testing.T) {
	// A field list for headerless input applies to the messages.
	f, err := NewFormat([]string{"srcaddr", "dstaddr", "flow-direction"})
	if err != nil {
		t.Fatal(err)
	}
	tally := &flowlog.Tally{}
	r := NewCWLCSVReader(strings.NewReader("timestamp,message\n1,10.0.0.1 10.0.0.2 egress\n"), tally, f)
	var rec flowlog.Record
	if !r.Next(&rec) || rec.Direction != flowlog.DirEgress || rec.Source != flowlog.SourceAWSCWLCSV {
		t.Errorf("record %+v, tally %+v", rec, tally)
	}
}

func TestCWLCSVNoAllocs(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("timestamp,message\n")
	for i := 0; i < 3000; i++ {
		b.WriteString("1418530070000,\"2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK\"\n")
	}
	r := NewCWLCSVReader(bytes.NewReader(b.Bytes()), &flowlog.Tally{}, nil)
	var rec flowlog.Record
	for i := 0; i < 10; i++ {
		r.Next(&rec)
	}
	if a := testing.AllocsPerRun(1000, func() {
		if !r.Next(&rec) {
			t.Fatal("ran out")
		}
	}); a != 0 {
		t.Errorf("%.2f allocations per row", a)
	}
}

// FuzzCWLCSV: no panic; every record's JSONL parses and carries the source;
// every report names a line of the input, at most one per line; records,
// reports, NODATA/SKIPDATA, headers and blank lines never exceed the lines.
func FuzzCWLCSV(f *testing.F) {
	if b, err := os.ReadFile("testdata/cwl-console-export.csv"); err == nil {
		f.Add(b)
	}
	for _, name := range []string{"doc-v2-default-accept-reject.log", "doc-v2-default-nodata-skipdata.log", "doc-v2-default-ipv6.log"} {
		b, err := os.ReadFile(filepath.Join("../../../shared/reference/samples/aws", name))
		if err != nil {
			f.Fatal(err)
		}
		var in bytes.Buffer
		in.WriteString("timestamp,message\n")
		sc := bufio.NewScanner(bytes.NewReader(b))
		for i := 0; sc.Scan(); i++ {
			in.WriteString(strconv.Itoa(1418530070000+i) + ",\"" + sc.Text() + "\"\n")
		}
		f.Add(in.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := int64(bytes.Count(data, []byte("\n")) + 1)
		seen := map[int64]bool{}
		tally := &flowlog.Tally{OnProblem: func(p flowlog.Problem) {
			if p.Pos < 1 || p.Pos > lines {
				t.Fatalf("report at %d, input has %d lines: %s", p.Pos, lines, p)
			}
			if seen[p.Pos] {
				t.Fatalf("two reports at line %d", p.Pos)
			}
			seen[p.Pos] = true
		}}
		r := NewCWLCSVReader(bytes.NewReader(data), tally, nil)
		var rec flowlog.Record
		var p fastjson.Parser
		for r.Next(&rec) {
			js := flowlog.AppendJSON(nil, &rec)
			v, err := p.ParseBytes(js)
			if err != nil {
				t.Fatalf("record JSONL does not parse: %v\n%s", err, js)
			}
			if string(v.GetStringBytes("source")) != "aws-cwl-csv" || !rec.Src.IsValid() || !rec.Dst.IsValid() {
				t.Fatalf("bad record %s", js)
			}
		}
		if n := tally.Records + tally.MalformedTotal() + tally.NoData + tally.SkipData + tally.Headers + tally.Blank; n > lines {
			t.Fatalf("%d outcomes for %d lines: %+v", n, lines, *tally)
		}
	})
}

func BenchmarkReadAWSCWLCSV(b *testing.B) {
	const n = 1_000_000
	path := benchutil.File(b, "aws-cwl-console.csv", func(p string) error {
		fh, err := os.Create(p)
		if err != nil {
			return err
		}
		defer fh.Close()
		w := bufio.NewWriterSize(fh, 1<<20)
		w.WriteString("timestamp,message\n")
		g := flowgen.New(7)
		var buf []byte
		for i := 0; i < n; i++ {
			fl := g.Next()
			buf = strconv.AppendInt(buf[:0], fl.End*1000, 10)
			buf = append(buf, ",\""...)
			for j, name := range DefaultFields {
				if j > 0 {
					buf = append(buf, ' ')
				}
				buf = flowgen.AppendAWSField(buf, name, &fl)
			}
			buf = append(buf, "\"\n"...)
			w.Write(buf)
		}
		return w.Flush()
	})
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	var total int64
	var rec flowlog.Record
	m := benchutil.Start(b)
	for i := 0; i < b.N; i++ {
		tally := &flowlog.Tally{}
		r := NewCWLCSVReader(bytes.NewReader(data), tally, nil)
		for r.Next(&rec) {
		}
		if tally.Records != n || tally.MalformedTotal() != 0 {
			b.Fatalf("records %d malformed %d", tally.Records, tally.MalformedTotal())
		}
		total += tally.Records
	}
	m.Stop(total)
}
