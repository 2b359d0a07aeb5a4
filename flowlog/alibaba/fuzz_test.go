package alibaba

import (
	"bytes"
	"os"
	"strconv"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/internal/lex"
	"github.com/flowsift/flowsift/internal/benchutil"
	"github.com/flowsift/flowsift/internal/flowgen"
)

// checkRecord asserts what every returned record must satisfy.
func checkRecord(t *testing.T, rec *flowlog.Record, src string) {
	t.Helper()
	js := flowlog.AppendJSON(nil, rec)
	v, err := fastjson.ParseBytes(js)
	if err != nil {
		t.Fatalf("record JSONL does not parse: %v\n%s", err, js)
	}
	if string(v.GetStringBytes("source")) != src || !rec.Src.IsValid() || !rec.Dst.IsValid() {
		t.Fatalf("bad record %s", js)
	}
	for i := 1; i < len(rec.Attrs); i++ {
		if rec.Attrs[i-1].Key >= rec.Attrs[i].Key {
			t.Fatalf("attributes not sorted: %s", js)
		}
	}
}

// FuzzAlibabaJSON decodes one JSON line. Invariants: no panic; a row gives a
// record, or exactly one report at its position, or one NODATA/SKIPDATA
// count; records are valid JSONL; and the same row written as an SLS CSV
// export (header = its keys, one row = its values) gives the same record or
// the same kind of report, since both encodings share the row rules.
func FuzzAlibabaJSON(f *testing.F) {
	for _, p := range []string{"alibaba/doc-flowlog-examples.jsonl", "alibaba/sls-export-examples.jsonl", "bad/alibaba-sls-mixed.jsonl"} {
		for _, l := range bytes.Split(readSample(f, p), []byte("\n")) {
			f.Add(l)
		}
	}
	f.Add(readSample(f, "bad/alibaba-sls-doc-masked-ip.json"))
	f.Add([]byte(row(`srcport=1332`, `version=1`, `traffic_path="ipv4Gateway"`, `srctype="x"`, `vm-id=null`)))
	f.Fuzz(func(t *testing.T, line []byte) {
		v, err := fastjson.ParseBytes(line)
		if err != nil {
			return // the JSON reader's bad-json
		}
		var probs []flowlog.Problem
		tally := &flowlog.Tally{OnProblem: func(p flowlog.Problem) { probs = append(probs, p) }}
		var rec flowlog.Record
		ok := NewDecoder(tally, flowlog.SourceAlibabaJSON).DecodeJSON(v, 3, &rec)
		counted := tally.NoData + tally.SkipData
		switch {
		case tally.Records != 0:
			t.Fatal("DecodeJSON incremented Records")
		case ok && (len(probs) != 0 || counted != 0):
			t.Fatalf("record and reports %v / %d counted", probs, counted)
		case !ok && len(probs)+int(counted) != 1:
			t.Fatalf("no record: reports %v, %d counted; want exactly one outcome", probs, counted)
		case len(probs) == 1 && (probs[0].Pos != 3 || probs[0].Detail == ""):
			t.Fatalf("report %+v", probs[0])
		}
		if ok {
			checkRecord(t, &rec, "alibaba-sls-json")
		}

		// The same row as CSV, when it has only scalar values and no key
		// repeats.
		o, err := v.Object()
		if err != nil {
			return
		}
		var header, cells []byte
		scalar := true
		keys := map[string]bool{}
		o.Visit(func(k []byte, x *fastjson.Value) {
			var text []byte
			switch x.Type() {
			case fastjson.TypeString:
				text, _ = x.StringBytes()
			case fastjson.TypeNumber:
				text = x.MarshalTo(nil)
			case fastjson.TypeNull:
				return
			default:
				scalar = false
				return
			}
			if keys[string(k)] {
				scalar = false
			}
			keys[string(k)] = true
			if len(header) > 0 {
				header = append(header, ',')
				cells = append(cells, ',')
			}
			header = appendQuoted(header, k)
			cells = appendQuoted(cells, text)
		})
		// A \r before a newline is a line end in CSV, and a BOM at the
		// start of the header is dropped: such rows read differently.
		if !scalar || len(header) == 0 || bytes.Contains(cells, []byte("\r")) || bytes.Contains(header, []byte("\r")) ||
			bytes.HasPrefix(header, []byte("\"\xef\xbb\xbf")) {
			return
		}
		csv := append(append(append(header, '\n'), cells...), '\n')
		var cprobs []flowlog.Problem
		ct := &flowlog.Tally{OnProblem: func(p flowlog.Problem) { cprobs = append(cprobs, p) }}
		cr := NewCSVReader(bytes.NewReader(csv), ct)
		var crec flowlog.Record
		cok := cr.Next(&crec)
		if cok != ok || len(cprobs) != len(probs) || ct.NoData != tally.NoData || ct.SkipData != tally.SkipData {
			t.Fatalf("JSON: ok=%v %v; CSV: ok=%v %v\n%s", ok, probs, cok, cprobs, csv)
		}
		rowLine := int64(2 + bytes.Count(header, []byte("\n"))) // quoted newlines in keys
		if len(probs) == 1 && (cprobs[0].Kind != probs[0].Kind || cprobs[0].Pos != rowLine) {
			t.Fatalf("JSON report %v, CSV report %v", probs[0], cprobs[0])
		}
		if ok {
			crec.Source = rec.Source
			if !crec.Equal(&rec) {
				t.Fatalf("JSON record %s\nCSV record  %s", flowlog.AppendJSON(nil, &rec), flowlog.AppendJSON(nil, &crec))
			}
		}
	})
}

func appendQuoted(b, s []byte) []byte {
	b = append(b, '"')
	b = append(b, bytes.ReplaceAll(s, []byte(`"`), []byte(`""`))...)
	return append(b, '"')
}

// FuzzAlibabaCSV reads a whole CSV export. Invariants: no panic; records are
// valid JSONL with the CSV source; reports name lines of the input, at most
// one per line; outcomes never outnumber the lines.
func FuzzAlibabaCSV(f *testing.F) {
	f.Add(readSample(f, "alibaba/sls-export-examples.csv"))
	f.Add(readSample(f, "bad/alibaba-sls-mixed.csv"))
	f.Add([]byte("\ufeff\"srcaddr\",\"x\",\"dstaddr\"\r\n\"10.0.0.1\",\"a\nb\",\"::1\"\n\n\"1\",\"2\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := int64(bytes.Count(data, []byte("\n")) + 1)
		seen := map[int64]bool{}
		tally := &flowlog.Tally{OnProblem: func(p flowlog.Problem) {
			if p.Pos == 0 {
				return // file notice (unreadable header row)
			}
			if p.Pos < 1 || p.Pos > lines || seen[p.Pos] {
				t.Fatalf("report %s: outside the %d lines or repeated", p, lines)
			}
			seen[p.Pos] = true
		}}
		r := NewCSVReader(bytes.NewReader(data), tally)
		var rec flowlog.Record
		for r.Next(&rec) {
			checkRecord(t, &rec, "alibaba-sls-csv")
		}
		// A repeated header column is reported on the header's own line.
		rows := tally.MalformedTotal() - tally.Malformed[flowlog.KindBadHeader]
		if n := tally.Records + rows + tally.NoData + tally.SkipData + tally.Headers + tally.Blank; n > lines {
			t.Fatalf("%d outcomes for %d lines: %+v", n, lines, *tally)
		}
	})
}

const benchRows = 1_000_000

func benchFile(b *testing.B, name string, gen func(f *os.File) error) []byte {
	path := benchutil.File(b, name, func(p string) error {
		fh, err := os.Create(p)
		if err != nil {
			return err
		}
		if err := gen(fh); err != nil {
			fh.Close()
			return err
		}
		return fh.Close()
	})
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	return data
}

// BenchmarkReadAlibabaJSON: line splitting and decoding of 1 M generated
// SLS JSON rows as the JSON reader does it: the fast path first, fastjson
// and DecodeJSON when it declines.
func BenchmarkReadAlibabaJSON(b *testing.B) { benchJSON(b, true) }

// BenchmarkFastjsonAlibabaJSON: the same rows through fastjson and
// DecodeJSON only (the fallback path).
func BenchmarkFastjsonAlibabaJSON(b *testing.B) { benchJSON(b, false) }

func benchJSON(b *testing.B, fast bool) {
	data := benchFile(b, "alibaba-sls-"+strconv.Itoa(benchRows)+".jsonl", func(f *os.File) error {
		return flowgen.AlibabaJSON(f, benchRows, 11)
	})
	var total int64
	var rec flowlog.Record
	var p fastjson.Parser
	m := benchutil.Start(b)
	for i := 0; i < b.N; i++ {
		tally := &flowlog.Tally{}
		d := NewDecoder(tally, flowlog.SourceAlibabaJSON)
		lines := lex.NewLines(bytes.NewReader(data))
		for lines.Next() {
			if fast {
				if ok, handled := d.DecodeBytes(lines.Line, lines.N, &rec); handled {
					if ok {
						tally.Records++
					}
					continue
				}
			}
			v, err := p.ParseBytes(lines.Line)
			if err != nil {
				b.Fatal(err)
			}
			if d.DecodeJSON(v, lines.N, &rec) {
				tally.Records++
			}
		}
		if tally.Records != benchRows || tally.MalformedTotal() != 0 {
			b.Fatalf("records %d, malformed %d", tally.Records, tally.MalformedTotal())
		}
		total += tally.Records
	}
	m.Stop(total)
}

func BenchmarkReadAlibabaCSV(b *testing.B) {
	data := benchFile(b, "alibaba-sls-"+strconv.Itoa(benchRows)+".csv", func(f *os.File) error {
		return flowgen.AlibabaCSV(f, benchRows, 11)
	})
	var total int64
	var rec flowlog.Record
	m := benchutil.Start(b)
	for i := 0; i < b.N; i++ {
		tally := &flowlog.Tally{}
		r := NewCSVReader(bytes.NewReader(data), tally)
		for r.Next(&rec) {
		}
		if tally.Records != benchRows || tally.MalformedTotal() != 0 {
			b.Fatalf("records %d, malformed %d", tally.Records, tally.MalformedTotal())
		}
		total += tally.Records
	}
	m.Stop(total)
}
