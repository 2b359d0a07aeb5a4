package input

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/aws"
	"github.com/flowsift/flowsift/internal/flowgen"
	pqw "github.com/flowsift/flowsift/storage/parquet"
)

// pqInput reads data through detection, as a non-file input (buffered).
func pqInput(t testing.TB, data []byte, opts Options) ([]flowlog.Record, []flowlog.Problem, *flowlog.Tally) {
	return readInput(bytes.NewReader(data), &opts)
}

func pqSamplePaths(t testing.TB) []string {
	paths, _ := filepath.Glob(filepath.Join(samplesDir, "aws/parquet/AWSLogs/*/*/*/*/*/*/*/*.parquet"))
	if len(paths) != 2 {
		t.Fatalf("found %d Parquet samples, want 2", len(paths))
	}
	return paths
}

func TestParquetCutShortIsUnusable(t *testing.T) {
	for _, p := range pqSamplePaths(t) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{8, len(data) / 2, len(data) - 1} {
			recs, probs, tally := pqInput(t, data[:n], Options{})
			if len(recs) != 0 || tally.Unusable != flowlog.NoticeUnreadable || len(probs) != 1 || probs[0].Pos != 0 {
				t.Errorf("%s cut to %d: %d records, problems %v", filepath.Base(p), n, len(recs), probs)
			}
		}
	}
}

func TestParquetInsideGzip(t *testing.T) {
	p := pqSamplePaths(t)[0]
	data, _ := os.ReadFile(p)
	want, _, _ := pqInput(t, data, Options{})
	got, probs, tally := pqInput(t, gz(t, data), Options{})
	if len(probs) != 0 || len(got) != 2 || len(want) != 2 || tally.Format != flowlog.SourceAWSParquet {
		t.Fatalf("gzip: %d records (plain %d), problems %v", len(got), len(want), probs)
	}
	for i := range got {
		if !got[i].Equal(&want[i]) {
			t.Errorf("record %d differs", i)
		}
	}
}

func TestParquetOwnFormatDetected(t *testing.T) {
	var buf bytes.Buffer
	w, _ := pqw.NewWriter(&buf, pqw.Options{})
	g := flowgen.New(5)
	var want []flowlog.Record
	for i := 0; i < 1000; i++ {
		f := g.Next()
		r := flowlog.Record{Start: f.Start, End: f.End, Src: f.Src, Dst: f.Dst, SrcPort: f.SrcPort,
			Proto: f.Proto, Packets: f.Packets, Iface: f.Iface, Source: flowlog.SourceGCPFlows}
		r.SetStr(flowlog.AttrReporter, "SRC")
		if err := w.Write(&r); err != nil {
			t.Fatal(err)
		}
		want = append(want, r)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, probs, _ := pqInput(t, buf.Bytes(), Options{})
	if len(probs) != 0 || len(got) != len(want) {
		t.Fatalf("%d records, problems %v", len(got), probs)
	}
	for i := range got {
		if !got[i].Equal(&want[i]) {
			t.Fatalf("record %d: %s, want %s", i, flowlog.AppendJSON(nil, &got[i]), flowlog.AppendJSON(nil, &want[i]))
		}
	}
}

func pqColumns(t testing.TB, names ...string) []byte {
	fields := make([]arrow.Field, len(names))
	for i, n := range names {
		fields[i] = arrow.Field{Name: n, Type: arrow.BinaryTypes.String, Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	var buf bytes.Buffer
	fw, err := pqarrow.NewFileWriter(schema, &buf, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	rb := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	for i := range names {
		rb.Field(i).(*array.StringBuilder).Append("x")
	}
	rec := rb.NewRecord()
	fw.Write(rec)
	fw.Close()
	return buf.Bytes()
}

func TestParquetUnknownSchemaUnrecognized(t *testing.T) {
	recs, probs, tally := pqInput(t, pqColumns(t, "foo", "bar"), Options{})
	if len(recs) != 0 || tally.Unusable != flowlog.NoticeUnrecognized || len(probs) != 1 {
		t.Errorf("%d records, problems %v, want one unrecognized notice", len(recs), probs)
	}
}

// FuzzParquet: no input panics; a readable file accounts for every row
// (records + NODATA/SKIPDATA + reported rows = rows in the footer), reports
// name rows in increasing order within range, and records print as JSON.
func FuzzParquet(f *testing.F) {
	for _, p := range pqSamplePaths(f) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	var buf bytes.Buffer
	flowgen.AWSParquet(&buf, 50, flowgen.AWSV5Fields, 3, 16)
	f.Add(append([]byte(nil), buf.Bytes()...))
	buf.Reset()
	w, _ := pqw.NewWriter(&buf, pqw.Options{})
	g := flowgen.New(9)
	for i := 0; i < 20; i++ {
		fl := g.Next()
		r := flowlog.Record{Src: fl.Src, Dst: fl.Dst, Start: fl.Start, Iface: fl.Iface}
		w.Write(&r)
	}
	w.Close()
	f.Add(buf.Bytes())
	f.Add(pqColumns(f, "srcaddr", "dstaddr", "srcport"))

	old := aws.MaxParquetAlloc
	aws.MaxParquetAlloc = 64 << 20
	defer func() { aws.MaxParquetAlloc = old }()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 4 || string(data[:4]) != "PAR1" {
			return
		}
		recs, probs, tally := pqInput(t, data, Options{})
		var last int64
		bad := int64(0)
		for _, p := range probs {
			if p.Pos == 0 {
				continue
			}
			if p.Pos <= last {
				t.Fatalf("report at row %d after row %d", p.Pos, last)
			}
			last = p.Pos
			bad++
		}
		for i := range recs {
			if !recs[i].Src.IsValid() || !recs[i].Dst.IsValid() {
				t.Fatalf("record %d without addresses", i)
			}
			if !json.Valid(flowlog.AppendJSON(nil, &recs[i])) {
				t.Fatalf("record %d does not print as JSON", i)
			}
		}
		if int64(len(recs)) != tally.Records {
			t.Fatalf("%d records returned, tally says %d", len(recs), tally.Records)
		}
		if tally.Unusable != flowlog.NoticeNone {
			return
		}
		pf, err := aws.OpenParquet(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("usable input whose footer does not open: %v", err)
		}
		rows := pf.NumRows()
		if last > rows {
			t.Fatalf("report at row %d of %d", last, rows)
		}
		if got := tally.Records + tally.NoData + tally.SkipData + bad; got != rows {
			t.Fatalf("%d rows accounted for (%d records, %d NODATA, %d SKIPDATA, %d reported), footer says %d",
				got, tally.Records, tally.NoData, tally.SkipData, bad, rows)
		}
	})
}
