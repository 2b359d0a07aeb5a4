package native

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/flowgen"
)

// slowDecode is the generic path: fastjson, then DecodeJSON.
func slowDecode(b []byte) (rec flowlog.Record, ok bool, probs []flowlog.Problem, format flowlog.Source) {
	tally := &flowlog.Tally{OnProblem: func(p flowlog.Problem) { probs = append(probs, p) }}
	var p fastjson.Parser
	v, err := p.ParseBytes(b)
	if err != nil {
		return rec, false, []flowlog.Problem{{Kind: flowlog.KindBadJSON}}, 0
	}
	d := NewDecoder(tally)
	ok = d.DecodeJSON(v, 1, &rec)
	return rec.Clone(), ok, probs, tally.Format
}

// checkFast compares DecodeLine with the generic path on b and reports
// whether the fast path took it.
func checkFast(t testing.TB, b []byte) bool {
	var probs []flowlog.Problem
	tally := &flowlog.Tally{OnProblem: func(p flowlog.Problem) { probs = append(probs, p) }}
	d := NewDecoder(tally)
	rec := flowlog.Record{Attrs: make([]flowlog.Attr, 3)} // stale state must not leak
	rec.Iface = "stale"
	fast := d.DecodeLine(b, &rec)
	if len(probs) != 0 {
		t.Fatalf("fast path reported %v on %q", probs, b)
	}
	want, ok, _, format := slowDecode(b)
	if !fast {
		return false
	}
	if !ok {
		t.Fatalf("fast path accepted %q, which the generic path rejects", b)
	}
	if !rec.Equal(&want) || tally.Format != format {
		t.Fatalf("fast path differs on %q:\n fast    %s (%v)\n generic %s (%v)", b,
			flowlog.AppendJSON(nil, &rec), tally.Format, flowlog.AppendJSON(nil, &want), format)
	}
	return true
}

// seedLines: every golden JSONL line of the input package (every format's
// records as flowsift writes them) and generated records.
func seedLines(t testing.TB) [][]byte {
	var lines [][]byte
	files, _ := filepath.Glob("../input/testdata/golden/*/*.jsonl")
	more, _ := filepath.Glob("../input/testdata/golden/*/*/*.jsonl")
	files = append(files, more...)
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines = append(lines, bytes.Clone(sc.Bytes()))
		}
		f.Close()
	}
	r := allAttrs()
	lines = append(lines, flowlog.AppendJSON(nil, &r))
	g := flowgen.New(11)
	for i := 0; i < 200; i++ {
		f := g.Next()
		r := flowlog.Record{Start: f.Start, End: f.End, Src: f.Src, Dst: f.Dst, Packets: f.Packets, Bytes: f.Bytes,
			SrcPort: f.SrcPort, DstPort: f.DstPort, Proto: f.Proto, TCPFlags: f.TCPFlags, Iface: f.Iface,
			VPC: f.VPC, Subnet: f.Subnet, Account: f.Account, Source: flowlog.Sources()[i%len(flowlog.Sources())]}
		r.SetStr(flowlog.AttrRegion, f.Region)
		r.SetInt(flowlog.AttrSrcAsn, int64(i)-100)
		lines = append(lines, flowlog.AppendJSON(nil, &r))
	}
	return lines
}

// TestFastPathTakesCanonicalLines: every line flowsift writes goes the
// fast way and gives the generic path's record.
func TestFastPathTakesCanonicalLines(t *testing.T) {
	lines := seedLines(t)
	for _, l := range lines {
		if !checkFast(t, l) {
			t.Errorf("fast path declined a canonical line: %s", l)
		}
	}
	if len(lines) < 300 {
		t.Errorf("only %d seed lines", len(lines))
	}
}

// TestFastPathShapes: inputs off the canonical shape either go the fast
// way with the generic result or are left to the generic path.
func TestFastPathShapes(t *testing.T) {
	const base = `"src":"1.2.3.4","dst":"5.6.7.8"`
	for _, c := range []struct {
		in   string
		fast bool
	}{
		{`{` + base + `}`, true},
		{" \t{ " + `"src" : "1.2.3.4" ,` + "\r\n" + `"dst":"::1" } `, true},
		{`{"dst":"5.6.7.8","src":"1.2.3.4","start":-9223372036854775808,"end":0}`, true},
		{`{` + base + `,"vpc":"a\"b\\c\/d\n\u00e9\u2028\u0000"}`, true},
		{`{` + base + `,"vpc":"\ud83d\ude00"}`, false}, // surrogates: left to fastjson
		{`{` + base + `,"vpc":"\x"}`, false},
		{`{` + base + `,"vpc":null,"region":null,"rule_priority":null,"start":null}`, true},
		{`{` + base + `,"region":"a","region":""}`, true},
		{`{` + base + `,"src":"9.9.9.9"}`, true},
		{`{` + base + `,"unknown":"x","other":12.5e3,"z":null}`, true},
		{`{` + base + `,"unknown":true}`, false},
		{`{` + base + `,"unknown":[1]}`, false},
		{`{` + base + `,"sport":65536}`, false},
		{`{` + base + `,"sport":-1}`, false},
		{`{` + base + `,"sport":007}`, true}, // leading zeros: as the generic path
		{`{` + base + `,"packets":1.0}`, false},
		{`{` + base + `,"action":"ACCEPT"}`, false},
		{`{` + base + `,"action":null,"direction":"egress","source":""}`, true},
		{`{` + base + `,"source":"gcp-vpc-flows"}`, true},
		{`{` + base + `,"rtt_msec":"5"}`, false},
		{`{` + base + `,"region":5}`, false},
		{`{` + base + `,"src_asn":-5}`, true},
		{`{` + base + `,}`, false},
		{`{` + base + `}x`, false},
		{`{` + base, false},
		{`{"src":"1.2.3.4"}`, false},
		{`{"src":null,` + base + `}`, false}, // null src: left to the generic path
		{`{` + base + `,"src":null}`, false},
		{`{"sr\u0063":"1.2.3.4","dst":"5.6.7.8"}`, false},
		{`[]`, false},
		{`{}`, false},
	} {
		if got := checkFast(t, []byte(c.in)); got != c.fast {
			t.Errorf("%s: fast path %v, want %v", c.in, got, c.fast)
		}
	}
}

// FuzzFastPath: DecodeLine never reports, and when it returns a record
// the generic path (fastjson + DecodeJSON) returns the same record.
func FuzzFastPath(f *testing.F) {
	for _, l := range seedLines(f) {
		f.Add(l)
	}
	f.Add([]byte(`{"src":"1.2.3.4","dst":"5.6.7.8","vpc":"a\"b\\c\u00e9","unknown":1e5,"x":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkFast(t, b)
	})
}

// BenchmarkDecodeLine: the fast path on the record with every key.
func BenchmarkDecodeLine(b *testing.B) {
	r := allAttrs()
	line := flowlog.AppendJSON(nil, &r)
	d := NewDecoder(&flowlog.Tally{})
	var rec flowlog.Record
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if !d.DecodeLine(line, &rec) {
			b.Fatal("declined")
		}
	}
}

// BenchmarkDecodeLineTypical: the fast path on generated AWS-shaped lines.
func BenchmarkDecodeLineTypical(b *testing.B) {
	lines := seedLines(b)
	lines = lines[len(lines)-200:]
	d := NewDecoder(&flowlog.Tally{})
	var rec flowlog.Record
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !d.DecodeLine(lines[i%len(lines)], &rec) {
			b.Fatal("declined")
		}
	}
}
