package aws

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/benchutil"
	"github.com/flowsift/flowsift/internal/flowgen"
)

// pqCell types for pqBuild: nil (null), int64 (for Int32/Int64 columns),
// string, float64.

// pqBuild writes rows as a Parquet file with the given columns (all
// nullable), rgRows rows per row group.
func pqBuild(t testing.TB, fields []arrow.Field, rows [][]any, rgRows int) []byte {
	t.Helper()
	return pqBuildWith(t, fields, rows, rgRows)
}

// pqRead reads a Parquet file with the AWS reader.
func pqRead(t testing.TB, data []byte) ([]flowlog.Record, []flowlog.Problem, *flowlog.Tally) {
	t.Helper()
	var probs []flowlog.Problem
	tally := &flowlog.Tally{Path: "x.parquet", OnProblem: func(p flowlog.Problem) { probs = append(probs, p) }}
	pf, err := OpenParquet(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("OpenParquet: %v", err)
	}
	r := NewParquetReader(pf, tally)
	if r == nil {
		return nil, probs, tally
	}
	var recs []flowlog.Record
	var rec flowlog.Record
	for r.Next(&rec) {
		recs = append(recs, rec.Clone())
	}
	return recs, probs, tally
}

func strCol(name string) arrow.Field { return arrow.Field{Name: name, Type: arrow.BinaryTypes.String} }
func i32Col(name string) arrow.Field {
	return arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int32}
}
func i64Col(name string) arrow.Field {
	return arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int64}
}

// defaultCols are the 14 default columns with AWS's types; widen makes
// every integer column INT64.
func defaultCols(widen bool) []arrow.Field {
	i32 := i32Col
	if widen {
		i32 = i64Col
	}
	return []arrow.Field{i32("version"), strCol("account_id"), strCol("interface_id"), strCol("srcaddr"),
		strCol("dstaddr"), i32("srcport"), i32("dstport"), i32("protocol"), i64Col("packets"),
		i64Col("bytes"), i64Col("start"), i64Col("end"), strCol("action"), strCol("log_status")}
}

// row builds a default-format row from the 9.1 example with overrides.
func row(over map[int]any) []any {
	r := []any{int64(2), "123456789010", "eni-1235b8ca123456789", "172.31.16.139", "172.31.16.21",
		int64(20641), int64(22), int64(6), int64(20), int64(4249), int64(1418530010), int64(1418530070), "ACCEPT", "OK"}
	for i, v := range over {
		r[i] = v
	}
	return r
}

const docLine = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"

func textRecord(t *testing.T, line string) flowlog.Record {
	t.Helper()
	recs, probs, _ := readText(t, line+"\n")
	if len(recs) != 1 || len(probs) != 0 {
		t.Fatalf("text %q: %d records, problems %v", line, len(recs), probs)
	}
	r := recs[0]
	r.Source = flowlog.SourceAWSParquet
	return r
}

func kinds(probs []flowlog.Problem) string {
	var s []string
	for _, p := range probs {
		if p.Pos > 0 {
			s = append(s, fmt.Sprintf("%d:%s", p.Pos, p.Kind))
		} else {
			s = append(s, "file:"+p.Notice.String())
		}
	}
	return strings.Join(s, " ")
}

func TestParquetInt32AndInt64(t *testing.T) {
	want := textRecord(t, docLine)
	for _, widen := range []bool{false, true} {
		data := pqBuild(t, defaultCols(widen), [][]any{row(nil)}, 10)
		recs, probs, _ := pqRead(t, data)
		if len(probs) != 0 || len(recs) != 1 || !recs[0].Equal(&want) {
			t.Fatalf("widen=%v: records %v problems %v, want %v", widen, recs, probs, want)
		}
	}
}

func TestParquetRangeChecks(t *testing.T) {
	rows := [][]any{
		row(nil),                            // 1 good
		row(map[int]any{5: int64(70000)}),   // 2 srcport > 65535
		row(map[int]any{7: int64(300)}),     // 3 protocol > 255
		row(map[int]any{8: int64(-1)}),      // 4 negative packets
		row(map[int]any{0: int64(1 << 31)}), // 5 version beyond int32
		row(map[int]any{6: int64(-3)}),      // 6 negative dstport
		row(map[int]any{12: "ALLOW"}),       // 7 bad action
		row(map[int]any{13: "BROKEN"}),      // 8 bad log-status
		row(map[int]any{3: "10.0.300.1"}),   // 9 bad srcaddr
		row(map[int]any{4: "fe80::1%eth0"}), // 10 zone refused
		row(map[int]any{3: "-"}),            // 11 "-" srcaddr
		row(nil),                            // 12 good
	}
	data := pqBuild(t, defaultCols(true), rows, 5)
	recs, probs, tally := pqRead(t, data)
	want := "2:bad-port 3:bad-protocol 4:bad-number 5:bad-number 6:bad-number 7:bad-value 8:bad-value 9:bad-ip 10:bad-ip 11:bad-ip"
	if got := kinds(probs); got != want {
		t.Errorf("reports %q\nwant    %q", got, want)
	}
	if len(recs) != 2 || tally.Records != 2 {
		t.Errorf("%d records (tally %d), want 2", len(recs), tally.Records)
	}
}

func TestParquetStringIntegers(t *testing.T) {
	cols := []arrow.Field{strCol("version"), strCol("account_id"), strCol("interface_id"), strCol("srcaddr"),
		strCol("dstaddr"), strCol("srcport"), strCol("dstport"), strCol("protocol"), strCol("packets"),
		strCol("bytes"), strCol("start"), strCol("end"), strCol("action"), strCol("log_status")}
	good := func(over map[int]any) []any {
		r := []any{}
		for _, tok := range strings.Fields(docLine) {
			r = append(r, tok)
		}
		for i, v := range over {
			r[i] = v
		}
		return r
	}
	rows := [][]any{
		good(nil),                          // 1
		good(map[int]any{6: "022"}),        // 2 leading zeros are fine
		good(map[int]any{6: "8x0"}),        // 3 bad-number
		good(map[int]any{9: "-"}),          // 4 "-" bytes: absent
		good(map[int]any{8: "+5"}),         // 5 bad-number
		good(map[int]any{7: "256"}),        // 6 bad-protocol
		good(map[int]any{10: "1.5"}),       // 7 bad-number
		good(map[int]any{11: ""}),          // 8 empty: absent
		good(map[int]any{0: "2147483648"}), // 9 version beyond int32
	}
	recs, probs, _ := pqRead(t, pqBuild(t, cols, rows, 4))
	if got, want := kinds(probs), "3:bad-number 5:bad-number 6:bad-protocol 7:bad-number 9:bad-number"; got != want {
		t.Errorf("reports %q, want %q", got, want)
	}
	base := textRecord(t, docLine)
	if len(recs) != 4 {
		t.Fatalf("%d records, want 4", len(recs))
	}
	if !recs[0].Equal(&base) || !recs[1].Equal(&base) {
		t.Errorf("records 1-2 = %v, %v; want %v", recs[0], recs[1], base)
	}
	if recs[2].Bytes != 0 || recs[3].End != 0 {
		t.Errorf("absent values not 0: %v %v", recs[2], recs[3])
	}
	for _, p := range probs {
		if p.Pos == 3 && !strings.Contains(p.Detail, `"8x0"`) {
			t.Errorf("detail %q does not name the value", p.Detail)
		}
	}
}

func TestParquetNulls(t *testing.T) {
	rows := [][]any{
		row(map[int]any{0: nil, 5: nil, 12: nil, 13: nil, 1: nil}), // 1 record: no version, sport 0, action "", no account
		row(map[int]any{3: nil}),                                   // 2 bad-ip
		{int64(2), "123456789010", "eni-1", nil, nil, nil, nil, nil, nil, nil, int64(1431280876), int64(1431280934), nil, "NODATA"},   // 3
		{int64(2), "123456789010", "eni-1", nil, nil, nil, nil, nil, nil, nil, int64(1431280876), int64(1431280934), nil, "SKIPDATA"}, // 4
		row(map[int]any{4: nil, 13: "NODATA"}), // 5 NODATA wins
	}
	recs, probs, tally := pqRead(t, pqBuild(t, defaultCols(false), rows, 2))
	if got, want := kinds(probs), "2:bad-ip"; got != want {
		t.Errorf("reports %q, want %q", got, want)
	}
	if tally.NoData != 2 || tally.SkipData != 1 {
		t.Errorf("NODATA %d SKIPDATA %d, want 2 1", tally.NoData, tally.SkipData)
	}
	want := textRecord(t, "- - eni-1235b8ca123456789 172.31.16.139 172.31.16.21 - 22 6 20 4249 1418530010 1418530070 - -")
	if len(recs) != 1 || !recs[0].Equal(&want) {
		t.Errorf("records %v, want %v", recs, want)
	}
}

func TestParquetUnsupportedTypes(t *testing.T) {
	cases := map[string]arrow.Field{
		"double srcport":    {Name: "srcport", Type: arrow.PrimitiveTypes.Float64},
		"int action":        {Name: "action", Type: arrow.PrimitiveTypes.Int32},
		"timestamp start":   {Name: "start", Type: &arrow.TimestampType{Unit: arrow.Second}},
		"int srcaddr":       {Name: "srcaddr", Type: arrow.PrimitiveTypes.Int64},
		"bool traffic_path": {Name: "traffic_path", Type: arrow.FixedWidthTypes.Boolean},
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			cols := []arrow.Field{strCol("srcaddr"), strCol("dstaddr"), f}
			if f.Name == "srcaddr" {
				cols = cols[1:]
			}
			rows := [][]any{make([]any, len(cols))} // all null
			recs, probs, tally := pqRead(t, pqBuild(t, cols, rows, 10))
			if tally.Unusable != flowlog.NoticeUnsupported || len(recs) != 0 {
				t.Fatalf("unusable=%v records=%d problems %v; want unsupported", tally.Unusable, len(recs), probs)
			}
			if len(probs) != 1 || !strings.Contains(probs[0].Detail, f.Name) {
				t.Errorf("problems %v: want one notice naming %q", probs, f.Name)
			}
		})
	}
}

func TestParquetUnknownColumns(t *testing.T) {
	cols := append(defaultCols(false), strCol("colour"), i64Col("weight"))
	rows := [][]any{append(row(nil), "red", int64(3)), append(row(nil), nil, int64(4))}
	recs, probs, tally := pqRead(t, pqBuild(t, cols, rows, 10))
	if len(recs) != 2 || tally.Unusable != flowlog.NoticeNone {
		t.Fatalf("%d records, unusable %v", len(recs), tally.Unusable)
	}
	if len(probs) != 1 || probs[0].Notice != flowlog.NoticeInfo || !strings.Contains(probs[0].Detail, "colour, weight") {
		t.Errorf("problems %v, want one info notice naming colour, weight", probs)
	}
}

// TestParquetPositionsAcrossRowGroups: a row's position counts rows of
// every earlier row group.
func TestParquetPositionsAcrossRowGroups(t *testing.T) {
	var rows [][]any
	for i := 0; i < 23; i++ {
		if i == 6 || i == 20 {
			rows = append(rows, row(map[int]any{5: int64(99999)}))
		} else {
			rows = append(rows, row(nil))
		}
	}
	recs, probs, _ := pqRead(t, pqBuild(t, defaultCols(false), rows, 4))
	if got, want := kinds(probs), "7:bad-port 21:bad-port"; got != want {
		t.Errorf("reports %q, want %q", got, want)
	}
	if len(recs) != 21 {
		t.Errorf("%d records, want 21", len(recs))
	}
}

// TestParquetMatchesText: the same rows as text lines and as Parquet
// string columns give the same records and the same reports (position and
// kind), so the two readers validate alike (FORMATS.md 4: every rule of
// 3.3-3.6 applies per row).
func TestParquetMatchesText(t *testing.T) {
	fields := append(append([]string{}, flowgen.AWSV5Fields...), "packets-lost-no-route", "reject-reason")
	bad := []string{"80a", "-5", "+1", "70000", "300", "99999999999999999999", "ACCEPTED", "sideways", "BROKEN",
		"1.2.3", "010.1.1.1", "::ffff:10.0.0.1", "2001:DB8::1", "NODATA", "SKIPDATA", "-", "0", "4294967296", "2147483648", "OK",
		"ingress", "REJECT"}
	rng := rand.New(rand.NewPCG(7, 8))
	g := flowgen.New(3)
	var text strings.Builder
	text.WriteString(strings.Join(fields, " ") + "\n")
	cols := make([]arrow.Field, len(fields))
	for i, f := range fields {
		cols[i] = strCol(strings.ReplaceAll(f, "-", "_"))
	}
	var rows [][]any
	for i := 0; i < 3000; i++ {
		f := g.Next()
		toks := make([]string, len(fields))
		for j, name := range fields {
			toks[j] = string(flowgen.AppendAWSField(nil, name, &f))
		}
		for k := rng.IntN(3); k > 0; k-- { // 0-2 defects per line
			toks[rng.IntN(len(toks))] = bad[rng.IntN(len(bad))]
		}
		text.WriteString(strings.Join(toks, " ") + "\n")
		r := make([]any, len(toks))
		for j, tok := range toks {
			if tok != "-" {
				r[j] = tok
			}
		}
		rows = append(rows, r)
	}
	trecs, tprobs, tt := readText(t, text.String())
	precs, pprobs, pt := pqRead(t, pqBuild(t, cols, rows, 1000))
	if len(trecs) != len(precs) {
		t.Fatalf("text %d records, Parquet %d", len(trecs), len(precs))
	}
	for i := range trecs {
		trecs[i].Source = flowlog.SourceAWSParquet
		if !trecs[i].Equal(&precs[i]) {
			t.Fatalf("record %d: text %v\nParquet %v", i, trecs[i], precs[i])
		}
	}
	if len(tprobs) != len(pprobs) {
		t.Fatalf("text %d reports, Parquet %d", len(tprobs), len(pprobs))
	}
	for i := range tprobs {
		if tprobs[i].Pos != pprobs[i].Pos+1 || tprobs[i].Kind != pprobs[i].Kind { // the header is line 1
			t.Errorf("report %d: text %s, Parquet %s", i, tprobs[i], pprobs[i])
		}
	}
	if tt.NoData != pt.NoData || tt.SkipData != pt.SkipData || tt.BadPktIP != pt.BadPktIP {
		t.Errorf("counts differ: text %d/%d/%d, Parquet %d/%d/%d", tt.NoData, tt.SkipData, tt.BadPktIP, pt.NoData, pt.SkipData, pt.BadPktIP)
	}
	if len(tprobs) < 500 || len(trecs) < 500 {
		t.Errorf("weak test: %d reports, %d records", len(tprobs), len(trecs))
	}
}

const pqSamples = "../../../shared/reference/samples/aws/parquet"

func pqSampleFiles(t testing.TB) []string {
	var files []string
	filepath.Walk(pqSamples, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 2 {
		t.Fatalf("found %d Parquet samples under %s, want 2", len(files), pqSamples)
	}
	return files
}

// TestParquetCutShort: a file without its complete footer cannot be opened.
func TestParquetCutShort(t *testing.T) {
	for _, p := range pqSampleFiles(t) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := OpenParquet(bytes.NewReader(data), int64(len(data))); err != nil {
			t.Fatalf("whole file: %v", err)
		}
		for _, n := range []int{0, 4, 8, 12, len(data) / 2, len(data) - 5, len(data) - 1} {
			if _, err := OpenParquet(bytes.NewReader(data[:n]), int64(n)); err == nil {
				t.Errorf("%s cut to %d bytes: opened", filepath.Base(p), n)
			}
		}
	}
}

// TestParquetCorruptPages: damage inside the column data (footer intact)
// ends the file with an unreadable notice, never a panic.
func TestParquetCorruptPages(t *testing.T) {
	var rows [][]any
	for i := 0; i < 2000; i++ {
		rows = append(rows, row(map[int]any{5: int64(i)}))
	}
	data := pqBuild(t, defaultCols(false), rows, 500)
	for off := 4; off < len(data)/2; off += 97 {
		bad := append([]byte(nil), data...)
		for i := off; i < off+16 && i < len(bad); i++ {
			bad[i] ^= 0x5a
		}
		pf, err := OpenParquet(bytes.NewReader(bad), int64(len(bad)))
		if err != nil {
			continue
		}
		tally := &flowlog.Tally{}
		r := NewParquetReader(pf, tally)
		var rec flowlog.Record
		for r != nil && r.Next(&rec) {
		}
		if tally.Records > 2000 {
			t.Fatalf("offset %d: %d records from 2000 rows", off, tally.Records)
		}
	}
}

// arrowOnlyRead decodes every column of data with the bare Arrow column
// readers, as the reader does, without making records: the allocation
// baseline of the decoder itself.
func arrowOnlyRead(t testing.TB, data []byte) {
	pf, err := OpenParquet(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	const n = ParquetBatchRows
	defs := make([]int16, n)
	v32, v64, vba := make([]int32, n), make([]int64, n), make([]parquet.ByteArray, n)
	for g := 0; g < pf.NumRowGroups(); g++ {
		rg := pf.RowGroup(g)
		for c := 0; c < rg.NumColumns(); c++ {
			cr, err := rg.Column(c)
			if err != nil {
				t.Fatal(err)
			}
			for cr.HasNext() {
				switch rd := cr.(type) {
				case *file.Int32ColumnChunkReader:
					_, _, err = rd.ReadBatch(n, v32, defs, nil)
				case *file.Int64ColumnChunkReader:
					_, _, err = rd.ReadBatch(n, v64, defs, nil)
				case *file.ByteArrayColumnChunkReader:
					_, _, err = rd.ReadBatch(n, vba, defs, nil)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// TestParquetNoAllocsPerRecord: reading allocates per page and per column
// chunk (page buffers, headers, the gzip reader: Arrow's page reader) and
// once per distinct string (the interner), never per record. (Arrow's own
// column readers, the baseline logged, allocate about once per RLE run:
// 0.2-0.3 per row on flowgen data.)
func TestParquetNoAllocsPerRecord(t *testing.T) {
	const rows = 200_000
	var buf bytes.Buffer
	if err := flowgen.AWSParquet(&buf, rows, flowgen.AWSV5Fields, 11, 0); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	var n int64
	ours := testing.AllocsPerRun(2, func() {
		pf, err := OpenParquet(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		r := NewParquetReader(pf, &flowlog.Tally{})
		var rec flowlog.Record
		n = 0
		for r.Next(&rec) {
			n++
		}
	})
	if n != rows {
		t.Fatalf("%d records, want %d", n, rows)
	}
	base := testing.AllocsPerRun(2, func() { arrowOnlyRead(t, data) })
	// Each distinct string is allocated once by the interner: warm-up, not
	// a per-record cost.
	recs, _, _ := pqRead(t, data)
	distinct := map[string]bool{}
	for _, r := range recs {
		for _, s := range []string{r.Iface, r.VPC, r.Subnet, r.Account} {
			distinct[s] = true
		}
		for _, a := range r.Attrs {
			if a.Str != "" {
				distinct[a.Str] = true
			}
		}
	}
	// 200,000 rows of 29 columns are 58 column chunks and about 120 pages:
	// a few dozen allocations each.
	if extra := (ours - float64(len(distinct))) / rows; extra > 0.05 {
		t.Errorf("%.4f allocations per record beyond %d distinct strings (%v in all), want ≈ 0",
			extra, len(distinct), ours)
	}
	t.Logf("allocations per record: %.4f (Arrow's column readers alone: %.3f)", ours/rows, base/rows)
}

// BenchmarkReadAWSParquet: 1 M records in one object, v2 and v5 fields,
// start times within one 5-minute window as in a real object; v2-spread
// keeps the generator's six-day timeline (start and end almost unique per
// row: large dictionaries), the worst case for dictionary decoding.
func BenchmarkReadAWSParquet(b *testing.B) {
	for _, c := range []struct {
		name   string
		fields []string
		window int64
		file   string
	}{
		{"v2", nil, flowgen.AWSObjectWindow, "aws-v2-1m-w300.parquet"},
		{"v5", flowgen.AWSV5Fields, flowgen.AWSObjectWindow, "aws-v5-1m-w300.parquet"},
		{"v2-spread", nil, 0, "aws-v2-1m.parquet"},
	} {
		b.Run(c.name, func(b *testing.B) {
			path := benchutil.File(b, c.file, func(p string) error {
				f, err := os.Create(p)
				if err != nil {
					return err
				}
				if err := flowgen.AWSParquetWindow(f, benchRecords, c.fields, 1, 0, c.window); err != nil {
					f.Close()
					return err
				}
				return f.Close()
			})
			data, err := os.ReadFile(path)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			var total int64
			m := benchutil.Start(b)
			for i := 0; i < b.N; i++ {
				pf, err := OpenParquet(bytes.NewReader(data), int64(len(data)))
				if err != nil {
					b.Fatal(err)
				}
				tally := &flowlog.Tally{}
				r := NewParquetReader(pf, tally)
				var rec flowlog.Record
				for r.Next(&rec) {
				}
				if tally.Records != benchRecords {
					b.Fatalf("%d records, want %d", tally.Records, benchRecords)
				}
				total += tally.Records
			}
			m.Stop(total)
		})
	}
}

// pqBuildWith is pqBuild with extra writer properties.
func pqBuildWith(t testing.TB, fields []arrow.Field, rows [][]any, rgRows int, opts ...parquet.WriterProperty) []byte {
	t.Helper()
	for i := range fields {
		fields[i].Nullable = true
	}
	schema := arrow.NewSchema(fields, nil)
	var buf bytes.Buffer
	opts = append([]parquet.WriterProperty{parquet.WithCompression(compress.Codecs.Gzip),
		parquet.WithMaxRowGroupLength(int64(rgRows))}, opts...)
	fw, err := pqarrow.NewFileWriter(schema, &buf, parquet.NewWriterProperties(opts...), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	rb := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer rb.Release()
	for _, row := range rows {
		for j, v := range row {
			if v == nil {
				rb.Field(j).AppendNull()
				continue
			}
			switch b := rb.Field(j).(type) {
			case *array.Int32Builder:
				b.Append(int32(v.(int64)))
			case *array.Int64Builder:
				b.Append(v.(int64))
			case *array.StringBuilder:
				b.Append(v.(string))
			case *array.Float64Builder:
				b.Append(v.(float64))
			case *array.TimestampBuilder:
				b.Append(arrow.Timestamp(v.(int64)))
			default:
				t.Fatalf("pqBuild: builder %T", b)
			}
		}
	}
	rec := rb.NewRecord()
	defer rec.Release()
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestParquetPageLayouts: the page decoder gives the same records and
// reports whatever the layout of the pages: dictionary or PLAIN pages, data
// pages v1 or v2, pages much smaller than a batch (several per batch, a
// batch ending inside a page), a dictionary that overflows into PLAIN pages
// mid-chunk, nulls in every column; and DELTA encodings, which go through
// Arrow's column reader.
func TestParquetPageLayouts(t *testing.T) {
	g := flowgen.New(5)
	rng := rand.New(rand.NewPCG(1, 2))
	cols := defaultCols(false)
	cols = append(cols, strCol("pkt_srcaddr"), i64Col("packets_lost_no_route"))
	var rows [][]any
	const n = 3*ParquetBatchRows + 777
	for i := 0; i < n; i++ {
		f := g.Next()
		r := []any{int64(2), "123456789010", string(flowgen.AppendAWSField(nil, "interface-id", &f)),
			string(flowgen.AppendAWSField(nil, "srcaddr", &f)), string(flowgen.AppendAWSField(nil, "dstaddr", &f)),
			int64(f.SrcPort), int64(f.DstPort), int64(f.Proto), int64(f.Packets), int64(f.Bytes),
			int64(f.Start), int64(f.End), "ACCEPT", "OK",
			string(flowgen.AppendAWSField(nil, "srcaddr", &f)), int64(i % 3)}
		switch rng.IntN(40) {
		case 0:
			r[rng.IntN(len(r))] = nil // a null anywhere
		case 1:
			r[5] = int64(70000) // bad-port
		case 2:
			r[3] = "10.0.0.256" // bad-ip
		case 3:
			r[14] = "not-an-ip" // a pkt-* that does not parse: counted
		case 4:
			r[13] = "NODATA"
		}
		if i%1000 < 300 { // long runs of nulls in one optional column
			r[15] = nil
		}
		rows = append(rows, r)
	}
	base := pqBuildWith(t, cols, rows, 5000, parquet.WithDictionaryDefault(false),
		parquet.WithEncoding(parquet.Encodings.Plain))
	wrecs, wprobs, wt := pqRead(t, base)
	if len(wrecs) < n*9/10 || len(wprobs) < 100 || wt.NoData == 0 || wt.BadPktIP == 0 {
		t.Fatalf("weak baseline: %d records, %d reports, %d NODATA, %d bad pkt", len(wrecs), len(wprobs), wt.NoData, wt.BadPktIP)
	}
	for _, c := range []struct {
		name string
		opts []parquet.WriterProperty
	}{
		{"dictionary", nil},
		{"small-pages", []parquet.WriterProperty{parquet.WithDataPageSize(700), parquet.WithBatchSize(97)}},
		{"dict-overflow", []parquet.WriterProperty{parquet.WithDictionaryPageSizeLimit(3000), parquet.WithDataPageSize(4000), parquet.WithBatchSize(128)}},
		{"v2-pages", []parquet.WriterProperty{parquet.WithDataPageVersion(parquet.DataPageV2), parquet.WithDataPageSize(5000)}},
		{"v2-plain", []parquet.WriterProperty{parquet.WithDataPageVersion(parquet.DataPageV2), parquet.WithDictionaryDefault(false)}},
		{"uncompressed", []parquet.WriterProperty{parquet.WithCompression(compress.Codecs.Uncompressed), parquet.WithDataPageSize(3000)}},
		{"delta", []parquet.WriterProperty{parquet.WithDictionaryDefault(false), parquet.WithEncoding(parquet.Encodings.DeltaBinaryPacked),
			parquet.WithEncodingFor("srcaddr", parquet.Encodings.DeltaLengthByteArray), parquet.WithEncodingFor("interface_id", parquet.Encodings.DeltaByteArray),
			parquet.WithEncodingFor("dstaddr", parquet.Encodings.Plain), parquet.WithEncodingFor("account_id", parquet.Encodings.Plain),
			parquet.WithEncodingFor("action", parquet.Encodings.Plain), parquet.WithEncodingFor("log_status", parquet.Encodings.Plain),
			parquet.WithEncodingFor("pkt_srcaddr", parquet.Encodings.Plain)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			recs, probs, tt := pqRead(t, pqBuildWith(t, cols, rows, 5000, c.opts...))
			if len(recs) != len(wrecs) {
				t.Fatalf("%d records, want %d", len(recs), len(wrecs))
			}
			for i := range recs {
				if !recs[i].Equal(&wrecs[i]) {
					t.Fatalf("record %d: %v\nwant %v", i, recs[i], wrecs[i])
				}
			}
			if len(probs) != len(wprobs) {
				t.Fatalf("%d reports, want %d", len(probs), len(wprobs))
			}
			for i := range probs {
				if probs[i] != wprobs[i] {
					t.Fatalf("report %d: %v, want %v", i, probs[i], wprobs[i])
				}
			}
			if tt.NoData != wt.NoData || tt.BadPktIP != wt.BadPktIP {
				t.Errorf("NODATA %d, bad pkt %d; want %d, %d", tt.NoData, tt.BadPktIP, wt.NoData, wt.BadPktIP)
			}
		})
	}
}

// TestRLEDecoder: bit-packed runs of every width decode to what was packed,
// with and without the 8-byte fast path; an index beyond the dictionary and
// a truncated run are errors, not panics.
func TestRLEDecoder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for bw := uint(0); bw <= 32; bw++ {
		for _, groups := range []int{1, 2, 7, 40} {
			vals := make([]uint32, groups*8)
			var packed []byte
			var acc uint64
			var nacc uint
			for i := range vals {
				if bw > 0 {
					vals[i] = uint32(rng.Uint64() & (1<<bw - 1))
				}
				acc |= uint64(vals[i]) << nacc
				nacc += bw
				for nacc >= 8 {
					packed = append(packed, byte(acc))
					acc >>= 8
					nacc -= 8
				}
			}
			// A bit-packed run, then a repeated run of 5 values of 1 (when bw > 0).
			data := binary.AppendUvarint(nil, uint64(groups)<<1|1)
			data = append(data, packed...)
			want := append([]uint32{}, vals...)
			if bw > 0 {
				data = binary.AppendUvarint(data, 5<<1)
				data = append(data, make([]byte, (bw+7)/8)...)
				data[len(data)-(int(bw)+7)/8] = 1
				want = append(want, 1, 1, 1, 1, 1)
			}
			var d rleDec
			d.reset(data, bw)
			out := make([]int32, len(want))
			for i := 0; i < len(out); { // in uneven pieces, across runs
				k := min(len(out)-i, 1+rng.IntN(13))
				if err := d.indices(out[i:i+k], 0, 1<<32-1); err != nil {
					t.Fatalf("bw %d groups %d: %v", bw, groups, err)
				}
				i += k
			}
			for i := range want {
				if uint32(out[i]) != want[i] {
					t.Fatalf("bw %d groups %d: value %d is %d, want %d", bw, groups, i, uint32(out[i]), want[i])
				}
			}
			if bw >= 2 {
				d.reset(data, bw)
				if err := d.indices(make([]int32, len(vals)), 0, 1); err == nil && slices.ContainsFunc(vals, func(v uint32) bool { return v >= 1 }) {
					t.Fatalf("bw %d: index beyond the dictionary accepted", bw)
				}
				d.reset(data[:len(data)/2], bw)
				d.indices(make([]int32, len(want)), 0, 1<<32-1) // no panic
			}
		}
	}
}

// TestParquetFastRowsMatchParseRow: rows taking the fast path (clean rows)
// give exactly what parseRow gives them, and the split between the two
// paths loses or adds no report or count: each input is read twice, once
// with every row forced through parseRow.
func TestParquetFastRowsMatchParseRow(t *testing.T) {
	var v5 bytes.Buffer
	if err := flowgen.AWSParquet(&v5, 3*ParquetBatchRows+100, flowgen.AWSV5Fields, 4, 5000); err != nil {
		t.Fatal(err)
	}
	// Defects, nulls and NODATA rows scattered through typed columns;
	// flow_direction and tcp_flags missing (absent on every row).
	g := flowgen.New(6)
	rng := rand.New(rand.NewPCG(5, 6))
	var rows [][]any
	for i := 0; i < 2*ParquetBatchRows+333; i++ {
		f := g.Next()
		r := row(map[int]any{3: f.Src.String(), 4: f.Dst.String(), 5: int64(f.SrcPort), 6: int64(f.DstPort),
			9: f.Bytes, 10: f.Start, 11: f.End})
		switch rng.IntN(30) {
		case 0:
			r[rng.IntN(len(r))] = nil
		case 1:
			r[6] = int64(-1)
		case 2:
			r[12] = "MAYBE"
		case 3:
			r[13] = "SKIPDATA"
		case 4:
			r[7] = int64(256)
		}
		pkt := any(f.Src.String())
		if rng.IntN(20) == 0 {
			pkt = "not-an-ip" // counted, key left out
		}
		rows = append(rows, append(r, pkt))
	}
	mixed := pqBuild(t, append(defaultCols(false), strCol("pkt_srcaddr")), rows, 3000)
	noDst := pqBuild(t, []arrow.Field{strCol("srcaddr"), i32Col("srcport")}, [][]any{{"10.0.0.1", int64(1)}, {"10.0.0.2", nil}}, 10)
	for _, c := range []struct {
		name string
		data []byte
	}{{"v5", v5.Bytes()}, {"mixed", mixed}, {"no-dstaddr", noDst}} {
		t.Run(c.name, func(t *testing.T) {
			recs, probs, tally := pqRead(t, c.data)
			pqAllSlow = true
			srecs, sprobs, stally := pqRead(t, c.data)
			pqAllSlow = false
			if len(recs) != len(srecs) || len(probs) != len(sprobs) {
				t.Fatalf("fast path: %d records, %d reports; parseRow only: %d, %d", len(recs), len(probs), len(srecs), len(sprobs))
			}
			for i := range recs {
				if !recs[i].Equal(&srecs[i]) {
					t.Fatalf("record %d: fast path %v\nparseRow %v", i, recs[i], srecs[i])
				}
			}
			for i := range probs {
				if probs[i] != sprobs[i] {
					t.Fatalf("report %d: %v, parseRow %v", i, probs[i], sprobs[i])
				}
			}
			if tally.Records != stally.Records || tally.NoData != stally.NoData || tally.SkipData != stally.SkipData || tally.BadPktIP != stally.BadPktIP {
				t.Errorf("tallies differ: %+v\nparseRow %+v", tally, stally)
			}
			if c.name == "mixed" && (len(probs) < 50 || len(recs) < ParquetBatchRows || stally.SkipData == 0 || stally.BadPktIP == 0) {
				t.Errorf("weak input: %d records, %d reports, %d SKIPDATA, %d bad pkt-*", len(recs), len(probs), stally.SkipData, stally.BadPktIP)
			}
		})
	}
}

// TestPooledGzipDecode checks the pooled gzip codec against the data it
// compresses, across reuse of a reader, and that corrupt data still panics
// (OpenParquet/loadBatch turn that into a notice) without poisoning the pool.
func TestPooledGzipDecode(t *testing.T) {
	c, err := compress.GetCodec(compress.Codecs.Gzip)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(pooledGzip); !ok {
		t.Fatalf("gzip codec is %T, want pooledGzip", c)
	}
	for i := 0; i < 5; i++ {
		src := bytes.Repeat([]byte(fmt.Sprintf("page %d payload ", i)), 1000+i*37)
		z := c.Encode(nil, src)
		if got := c.Decode(make([]byte, len(src)), z); !bytes.Equal(got, src) {
			t.Fatalf("round %d: Decode(dst) differs", i)
		}
		if got := c.Decode(nil, z); !bytes.Equal(got, src) {
			t.Fatalf("round %d: Decode(nil) differs", i)
		}
		badHeader := slices.Clone(z)
		badHeader[0] ^= 0xff
		for k, bad := range [][]byte{badHeader, z[:len(z)/2]} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("round %d, case %d: corrupt data did not panic", i, k)
					}
				}()
				c.Decode(make([]byte, len(src)), bad)
			}()
		}
	}
}

// poison sets every field of rec to a non-zero value (fails on a field
// kind it does not know, so a new Record field gets covered).
func poison(t *testing.T, rec *flowlog.Record) {
	v := reflect.ValueOf(rec).Elem()
	for k := 0; k < v.NumField(); k++ {
		f := v.Field(k)
		switch {
		case f.Type() == reflect.TypeOf(netip.Addr{}):
			f.Set(reflect.ValueOf(netip.MustParseAddr("fe80::99")))
		case f.Type() == reflect.TypeOf([]flowlog.Attr(nil)):
			f.Set(reflect.ValueOf([]flowlog.Attr{{Key: 1, Str: "poison", Int: 7}}))
		case f.CanInt():
			f.SetInt(-3)
		case f.CanUint():
			f.SetUint(7)
		case f.Kind() == reflect.String:
			f.SetString("poison")
		default:
			t.Fatalf("Record field %s of kind %s: teach poison about it", v.Type().Field(k).Name, f.Kind())
		}
	}
}

// TestParquetFastRowOverwritesAll checks that a record filled by the reader
// does not depend on what the record held before: fastRow stores field by
// field, so a field it forgets would keep the caller's value.
func TestParquetFastRowOverwritesAll(t *testing.T) {
	var buf bytes.Buffer
	if err := flowgen.AWSParquet(&buf, ParquetBatchRows+50, flowgen.AWSV5Fields, 4, 1000); err != nil {
		t.Fatal(err)
	}
	want, _, _ := pqRead(t, buf.Bytes())
	pf, err := OpenParquet(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	r := NewParquetReader(pf, &flowlog.Tally{})
	var rec flowlog.Record
	n := 0
	for poison(t, &rec); r.Next(&rec); poison(t, &rec) {
		if n >= len(want) {
			t.Fatalf("more records than the first read (%d)", len(want))
		}
		if got := rec.Clone(); !reflect.DeepEqual(got, want[n]) {
			t.Fatalf("record %d after poisoning:\n got %+v\nwant %+v", n, got, want[n])
		}
		n++
	}
	if n != len(want) || n == 0 {
		t.Fatalf("%d records, want %d", n, len(want))
	}
}
