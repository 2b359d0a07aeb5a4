package alibaba

import (
	"bytes"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/flowgen"
)

// side is one way of decoding rows, with its own decoder state kept
// across rows (as the JSON reader keeps it for one input).
type side struct {
	tally flowlog.Tally
	probs []flowlog.Problem
	d     *Decoder
	p     fastjson.Parser
	rec   flowlog.Record
}

func newSide() *side {
	s := &side{}
	s.tally.OnProblem = func(p flowlog.Problem) { s.probs = append(s.probs, p) }
	s.d = NewDecoder(&s.tally, flowlog.SourceAlibabaJSON)
	return s
}

// fallback is the reader's fastjson path for a row; parsed is false when
// fastjson rejects the text or it is not an object (the reader's reports).
func (s *side) fallback(line []byte, pos int64) (ok, parsed bool) {
	v, err := s.p.ParseBytes(line)
	if err != nil || v.Type() != fastjson.TypeObject {
		return false, false
	}
	return s.d.DecodeJSON(v, pos, &s.rec), true
}

// differ decodes line at pos with the fast path on f (falling back as the
// reader does when it declines) and with fastjson on s, and fails unless
// both give the same record or the same reports and counts. It returns
// whether the fast path handled the row.
func differ(t *testing.T, f, s *side, line []byte, pos int64) bool {
	t.Helper()
	f.probs, s.probs = f.probs[:0], s.probs[:0]
	before := f.tally
	okF, handled := f.d.DecodeBytes(line, pos, &f.rec)
	okS, parsed := s.fallback(line, pos)
	if !handled {
		if len(f.probs) != 0 || f.tally.NoData != before.NoData || f.tally.SkipData != before.SkipData {
			t.Fatalf("the fast path declined but reported %v / counted\n%q", f.probs, line)
		}
		f.fallback(line, pos) // keep the two decoders' histories alike
		return false
	}
	if !parsed {
		t.Fatalf("the fast path handled a row that fastjson rejects or that is not an object\n%q", line)
	}
	if okF != okS || f.tally.NoData != s.tally.NoData || f.tally.SkipData != s.tally.SkipData || f.tally.Records != 0 {
		t.Fatalf("fast ok=%v nodata=%d skipdata=%d records=%d; fastjson ok=%v nodata=%d skipdata=%d\n%q",
			okF, f.tally.NoData, f.tally.SkipData, f.tally.Records, okS, s.tally.NoData, s.tally.SkipData, line)
	}
	if len(f.probs) != len(s.probs) {
		t.Fatalf("fast reports %v; fastjson reports %v\n%q", f.probs, s.probs, line)
	}
	for i := range f.probs {
		a, b := f.probs[i], s.probs[i]
		if a.Kind != b.Kind || a.Pos != b.Pos || a.Detail != b.Detail || a.Notice != b.Notice {
			t.Fatalf("fast report %+v; fastjson report %+v\n%q", a, b, line)
		}
	}
	if okF {
		if !f.rec.Equal(&s.rec) {
			t.Fatalf("fast record %s\nfastjson    %s\n%q", flowlog.AppendJSON(nil, &f.rec), flowlog.AppendJSON(nil, &s.rec), line)
		}
		if a, b := flowlog.AppendJSON(nil, &f.rec), flowlog.AppendJSON(nil, &s.rec); !bytes.Equal(a, b) {
			t.Fatalf("fast record %s\nfastjson    %s", a, b)
		}
		checkRecord(t, &f.rec, "alibaba-sls-json")
	}
	return true
}

// edgeRows are shapes around the fast path's edges: each is either
// handled with fastjson's result or declined.
var edgeRows = []string{
	row(`srcport=1332`, `dstport=80`, `protocol=6`, `version=1`, `traffic_path=3`),
	row(`srcport=-1`), row(`bytes=1.5`), row(`packets=1e3`), row(`start=01`), row(`end=-0`),
	row(`srcport=+1`), row(`srcport=NaN`), row(`srcport=Infinity`), row(`packets=1-2`),
	row(`eni-id="eni-\u00e9\n\t\"\\\/x"`), row(`srcaddr="10.0.0.\u0031"`), row(`vm-id="\ud83d\ude00"`),
	row(`vm-id="\x"`), row(`vm-id="\u12"`), row(`vm-id="a\"`), row(`region="\u0000"`),
	row(`srcaddr="1.2.3.4"`, `zz=1`), `{"srcaddr":"1.2.3.4","srcaddr":"5.6.7.8","dstaddr":"::1"}`,
	`{"srcaddr":null,"srcaddr":"1.2.3.4","dstaddr":"::1","dstaddr":"::2"}`,
	`{"srcaddr":"","srcaddr":"1.2.3.4","dstaddr":"::1"}`,
	`{"srcaddr":"-","dstaddr":"::1","log-status":"NODATA"}`,
	`{"srcaddr":"1.2.3.4","dstaddr":"::1","log-status":"SKIPDATA","log-status":"OK"}`,
	`{"srcaddr":"1.2.3.4","dstaddr":"::1","srcport":"1","srcport":2}`,
	`{"srcaddr":"1.2.3.4","dstaddr":"::1","srcport":70000}`,
	`{"srcaddr":"1.2.3.4","dstaddr":"::1","protocol":"300"}`,
	`{"srcaddr":"1.2.3.4","dstaddr":"::1","action":"accept"}`,
	`{"srcaddr":"1.2.3.4","dstaddr":"::1","traffic_path":"ipv4Gateway","tcp-flags":""}`,
	`{"srcaddr":"1.2.3.4","dstaddr":"1.2.3.4.5"}`,
	`{"srcaddr":"1.2.3.4"}`, `{"dstaddr":"1.2.3.4"}`, `{}`, ` { } `, "\t{\r\n}\n",
	`{"__tag__:__path__":{"a":[1,2,{"b":null}],"c":true},"srcaddr":"1.2.3.4","dstaddr":"::1"}`,
	`{"__x__":[],"__y__":false,"__z__":"\ud800","srcaddr":"1.2.3.4","dstaddr":"::1"}`,
	`{"vm-id":{"a":1},"srcaddr":"1.2.3.4","dstaddr":"::1"}`,
	`{"vm-id":[1],"srcaddr":"1.2.3.4","dstaddr":"::1"}`,
	`{"vm-id":true,"srcaddr":"1.2.3.4","dstaddr":"::1"}`,
	`{"srcaddr":"1.2.3.4","dstaddr":"::1","version":false}`,
	`{"src\u0061ddr":"1.2.3.4","dstaddr":"::1"}`,
	`{"srcaddr":"1.2.3.4","dstaddr":"::1",}`, `{"srcaddr" "1.2.3.4"}`, `{"srcaddr":"1.2.3.4"`,
	`{"srcaddr":"1.2.3.4"} x`, `{"srcaddr":"1.2.3.4"}}`, `{"srcaddr":nul}`, `{"srcaddr":nullx}`,
	`{"srcaddr":"1.2.3.4","dstaddr":"::1","bytes":12x}`, `{"srcaddr":"1.2.3.4","dstaddr":"::1","bytes":-}`,
	`[]`, `"x"`, `1`, `null`, ``, `{`, `{"`, `{"a`, `{"a"`, `{"a":`, `{"a":"`, `{"a":"\`,
}

// genRows returns n generated SLS JSON rows.
func genRows(t testing.TB, n int) [][]byte {
	var buf bytes.Buffer
	if err := flowgen.AlibabaJSON(&buf, n, 5); err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
}

// TestFastPathMatchesFastjson runs the fast path and the fastjson path on
// the samples, the bad samples, generated rows and edge shapes, with one
// decoder per side kept across all of them.
func TestFastPathMatchesFastjson(t *testing.T) {
	f, s := newSide(), newSide()
	pos := int64(0)
	check := func(name string, line []byte, mustHandle bool) bool {
		pos++
		handled := differ(t, f, s, line, pos)
		if mustHandle && !handled {
			t.Errorf("%s: the fast path declined a common row\n%s", name, line)
		}
		return handled
	}
	for _, p := range []string{"alibaba/doc-flowlog-examples.jsonl", "alibaba/sls-export-examples.jsonl", "bad/alibaba-sls-mixed.jsonl"} {
		for _, l := range bytes.Split(readSample(t, p), []byte("\n")) {
			// Every sample row is the common shape, except bad sample
			// lines that are not JSON objects.
			_, err := fastjson.ParseBytes(l)
			check(p, l, err == nil && bytes.HasPrefix(l, []byte("{")) && !bytes.Contains(l, []byte(`\u`)))
		}
	}
	check("masked-ip", readSample(t, "bad/alibaba-sls-doc-masked-ip.json"), false)
	for _, l := range genRows(t, 3000) {
		check("generated", l, true)
	}
	handled := 0
	for _, r := range edgeRows {
		if check("edge", []byte(r), false) {
			handled++
		}
	}
	if handled < 20 {
		t.Errorf("the fast path handled only %d of %d edge rows", handled, len(edgeRows))
	}
}

// TestFastPathDeclines pins shapes the fast path must leave to fastjson
// (they are reported by it, or read in ways the scanner does not copy).
func TestFastPathDeclines(t *testing.T) {
	for _, r := range []string{
		row(`vm-id="\ud83d\ude00"`), row(`vm-id="\x"`), row(`srcport=+1`), row(`srcport=NaN`),
		`{"vm-id":{"a":1},"srcaddr":"1.2.3.4","dstaddr":"::1"}`, `{"vm-id":true}`,
		`{"src\u0061ddr":"1.2.3.4","dstaddr":"::1"}`, `{"srcaddr":"1.2.3.4"} x`, `[]`, ``, `{"a":"\`,
	} {
		s := newSide()
		if _, handled := s.d.DecodeBytes([]byte(r), 1, &s.rec); handled {
			t.Errorf("handled %s", r)
		}
	}
	for _, r := range []string{
		row(`eni-id="eni-\u00e9\n\t\"\\\/x"`), `{"__tag__":{"a":[1,{"b":null}]},"srcaddr":"1.2.3.4","dstaddr":"::1"}`,
		`{"srcaddr":null,"srcaddr":"1.2.3.4","dstaddr":"::1"}`, row(`bytes=1.5`), `{}`,
	} {
		s := newSide()
		if _, handled := s.d.DecodeBytes([]byte(r), 1, &s.rec); !handled {
			t.Errorf("declined %s", r)
		}
	}
}

func TestFastPathNoAllocs(t *testing.T) {
	rows := genRows(t, 64)
	rows = append(rows, []byte(row(`eni-id="eni-\u00e9\n"`, `__tag__={"a":[1]}`)))
	s := newSide()
	for _, l := range rows { // warm the interner and buffers
		if ok, handled := s.d.DecodeBytes(l, 1, &s.rec); !ok || !handled {
			t.Fatalf("ok=%v handled=%v %v\n%s", ok, handled, s.probs, l)
		}
	}
	allocs := testing.AllocsPerRun(20, func() {
		for _, l := range rows {
			s.d.DecodeBytes(l, 1, &s.rec)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per %d rows", allocs, len(rows))
	}
}

// FuzzAlibabaFastPath: whatever the bytes, the fast path either declines
// without reporting, or gives exactly what fastjson and DecodeJSON give
// (same record, same reports with kind, position and detail, same counts).
func FuzzAlibabaFastPath(f *testing.F) {
	for _, p := range []string{"alibaba/doc-flowlog-examples.jsonl", "alibaba/sls-export-examples.jsonl", "bad/alibaba-sls-mixed.jsonl"} {
		for _, l := range bytes.Split(readSample(f, p), []byte("\n")) {
			f.Add(l)
		}
	}
	f.Add(readSample(f, "bad/alibaba-sls-doc-masked-ip.json"))
	for _, l := range genRows(f, 8) {
		f.Add(l)
	}
	for _, r := range edgeRows {
		f.Add([]byte(r))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		differ(t, newSide(), newSide(), line, 9)
	})
}
