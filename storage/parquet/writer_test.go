package parquet

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/apache/arrow/go/v17/parquet/file"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/benchutil"
	"github.com/flowsift/flowsift/internal/flowgen"
	"github.com/flowsift/flowsift/storage/flowtext"
)

// FlowRecord turns a generated flow into the record a reader would give.
func flowRecord(f *flowgen.Flow) flowlog.Record {
	r := flowlog.Record{Start: f.Start, End: f.End, Src: f.Src, Dst: f.Dst, SrcPort: f.SrcPort,
		DstPort: f.DstPort, Proto: f.Proto, Packets: f.Packets, Bytes: f.Bytes, TCPFlags: f.TCPFlags,
		Iface: f.Iface, VPC: f.VPC, Subnet: f.Subnet, Account: f.Account, Source: flowlog.SourceAWSText,
		Action: flowlog.ActionReject, Direction: flowlog.DirEgress}
	if f.Accept {
		r.Action = flowlog.ActionAccept
	}
	if f.Ingress {
		r.Direction = flowlog.DirIngress
	}
	r.SetInt(flowlog.AttrVersion, 5)
	r.SetStr(flowlog.AttrInstanceId, f.Instance)
	r.SetStr(flowlog.AttrRegion, f.Region)
	return r
}

type closeCounter struct {
	bytes.Buffer
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

// TestWriterLayout: the file has one column per JSONL key with the
// documented physical types, and Close leaves the io.Writer open.
func TestWriterLayout(t *testing.T) {
	var out closeCounter
	w, err := NewWriter(&out, Options{RowGroupRows: 1000, BatchRows: 300})
	if err != nil {
		t.Fatal(err)
	}
	g := flowgen.New(1)
	for i := 0; i < 2500; i++ {
		f := g.Next()
		r := flowRecord(&f)
		if err := w.Write(&r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if out.closed != 0 {
		t.Errorf("Close closed the caller's writer")
	}
	r := flowRecord(&flowgen.Flow{})
	if err := w.Write(&r); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	pf, err := file.NewParquetReader(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if pf.NumRows() != 2500 || pf.NumRowGroups() != 3 {
		t.Errorf("%d rows in %d row groups, want 2500 in 3", pf.NumRows(), pf.NumRowGroups())
	}
	sc := pf.MetaData().Schema
	want := map[string]string{"start": "INT64", "end": "INT64", "src": "BYTE_ARRAY", "sport": "INT32",
		"proto": "INT32", "packets": "INT64", "tcp_flags": "INT32", "source": "BYTE_ARRAY",
		"version": "INT64", "region": "BYTE_ARRAY", "traffic_path": "INT64"}
	if sc.NumColumns() != len(FixedColumns)+len(flowlog.AttrKeys()) {
		t.Errorf("%d columns", sc.NumColumns())
	}
	for i := 0; i < sc.NumColumns(); i++ {
		c := sc.Column(i)
		if i < len(FixedColumns) && c.Name() != FixedColumns[i] {
			t.Errorf("column %d is %q, want %q", i, c.Name(), FixedColumns[i])
		}
		if typ, ok := want[c.Name()]; ok && c.PhysicalType().String() != typ {
			t.Errorf("column %q is %s, want %s", c.Name(), c.PhysicalType(), typ)
		}
		cc, _ := pf.MetaData().RowGroup(0).ColumnChunk(i)
		if cc.Compression().String() != "ZSTD" {
			t.Errorf("column %q compressed with %s", c.Name(), cc.Compression())
		}
	}
}

// benchRecords are the 1 M generated records both writer benchmarks write.
func benchRecords() []flowlog.Record {
	const n = 1_000_000
	recs := make([]flowlog.Record, n)
	g := flowgen.New(1)
	for i := range recs {
		f := g.Next()
		recs[i] = flowRecord(&f)
	}
	return recs
}

// BenchmarkWriteParquet: records into one Parquet file (to io.Discard);
// make bench prints its rate as "Parquet rows/s".
func BenchmarkWriteParquet(b *testing.B) {
	recs := benchRecords()
	var total int64
	m := benchutil.Start(b)
	for i := 0; i < b.N; i++ {
		w, err := NewWriter(io.Discard, Options{})
		if err != nil {
			b.Fatal(err)
		}
		for j := range recs {
			if err := w.Write(&recs[j]); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		total += int64(len(recs))
	}
	m.Stop(total)
}

// BenchmarkWriteParquetBaselineJSONL is the baseline make bench shows next
// to BenchmarkWriteParquet: flowsift's JSONL writer on the same records.
func BenchmarkWriteParquetBaselineJSONL(b *testing.B) {
	recs := benchRecords()
	var total int64
	m := benchutil.Start(b)
	for i := 0; i < b.N; i++ {
		w, err := flowtext.New("jsonl", io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		for j := range recs {
			if err := w.Write(&recs[j]); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		total += int64(len(recs))
	}
	m.Stop(total)
}
