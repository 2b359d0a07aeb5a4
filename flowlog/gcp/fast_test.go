package gcp

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/flowgen"
)

const samples = "../../../shared/reference/samples"

type outcome struct {
	ok     bool
	rec    flowlog.Record
	probs  []flowlog.Problem
	format flowlog.Source
}

func (o *outcome) String() string {
	if o.ok {
		return string(flowlog.AppendJSON(nil, &o.rec)) + " format " + o.format.String()
	}
	var s []string
	for _, p := range o.probs {
		s = append(s, p.String())
	}
	return "rejected: " + strings.Join(s, "; ")
}

func same(a, b *outcome) bool {
	if a.ok != b.ok || a.format != b.format || len(a.probs) != len(b.probs) {
		return false
	}
	for i := range a.probs {
		if a.probs[i] != b.probs[i] {
			return false
		}
	}
	return !a.ok || a.rec.Equal(&b.rec)
}

func tallyFor(o *outcome, force flowlog.Source) *flowlog.Tally {
	t := &flowlog.Tally{OnProblem: func(p flowlog.Problem) { o.probs = append(o.probs, p) }}
	if force != flowlog.SourceUnknown {
		t.Format = force
	}
	return t
}

// checkEntry runs one LogEntry through the decoder as it was before the
// fast path (the oracle), through Decode and through DecodeBytes, and
// requires the same record, reports and format from all three. It
// reports whether the fast path took the entry.
func checkEntry(t testing.TB, b []byte, force flowlog.Source) bool {
	var fast outcome
	ft := tallyFor(&fast, force)
	fd := NewDecoder(ft)
	fd.Force = force
	fast.rec.Iface = "stale" // a declined scan must leave no trace
	var handled bool
	fast.ok, handled = fd.DecodeBytes(b, 7, &fast.rec)
	fast.format = ft.Format

	v, err := fastjson.ParseBytes(b)
	if err != nil || v.Type() != fastjson.TypeObject {
		if handled || len(fast.probs) != 0 {
			t.Fatalf("fast path took %q, which fastjson does not parse to an object (%v)", b, err)
		}
		return false
	}
	var old, gen outcome
	ot := tallyFor(&old, force)
	od := newOldDecoder(ot)
	od.Force = force
	if ot.Format == flowlog.SourceUnknown {
		ot.Format = oldClassify(v) // as the reader does before Decode
	}
	old.ok = od.Decode(v, 7, &old.rec)
	old.format = ot.Format

	gt := tallyFor(&gen, force)
	gd := NewDecoder(gt)
	gd.Force = force
	if gt.Format == flowlog.SourceUnknown {
		gt.Format = Classify(v)
	}
	gen.ok = gd.Decode(v, 7, &gen.rec)
	gen.format = gt.Format
	if !same(&gen, &old) {
		t.Fatalf("Decode differs from the old decoder on %s:\n new %s\n old %s", b, &gen, &old)
	}
	if !handled {
		if len(fast.probs) != 0 {
			t.Fatalf("declined fast path reported %s", &fast)
		}
		return false
	}
	if !same(&fast, &old) {
		t.Fatalf("fast path differs from the old decoder on %s:\n fast %s\n old  %s", b, &fast, &old)
	}
	return true
}

// seedEntries: every LogEntry of the GCP samples (good and bad) and
// generated flow and firewall entries.
func seedEntries(t testing.TB) [][]byte {
	var out [][]byte
	files, _ := filepath.Glob(samples + "/gcp/*.*json")
	bad, _ := filepath.Glob(samples + "/bad/gcp-*json")
	files = append(files, bad...)
	filepath.WalkDir(samples+"/gcp/gcs", func(p string, de os.DirEntry, err error) error {
		if err == nil && !de.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 4 {
		t.Fatalf("samples not found: %v", files)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := fastjson.ParseBytes(data); err == nil && v.Type() == fastjson.TypeArray {
			for _, el := range v.GetArray() {
				out = append(out, el.MarshalTo(nil))
			}
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if len(bytes.TrimSpace(sc.Bytes())) > 0 {
				out = append(out, bytes.Clone(sc.Bytes()))
			}
		}
	}
	for _, fw := range []bool{false, true} {
		var buf bytes.Buffer
		if err := flowgen.GCPFlows(&buf, 300, fw, 5); err != nil {
			t.Fatal(err)
		}
		for _, l := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
			out = append(out, l)
		}
	}
	return out
}

var forces = []flowlog.Source{flowlog.SourceUnknown, flowlog.SourceGCPFlows, flowlog.SourceGCPFirewall}

// TestFastPathEntries: the fast path takes every sample and generated
// entry (including the bad samples' parseable lines) and gives the old
// decoder's records and reports.
func TestFastPathEntries(t *testing.T) {
	entries := seedEntries(t)
	taken := 0
	for _, b := range entries {
		for _, f := range forces {
			if checkEntry(t, b, f) {
				taken++
			}
		}
	}
	if taken < len(entries)*len(forces)*9/10 {
		t.Errorf("fast path took %d of %d entries", taken, len(entries)*len(forces))
	}
}

// TestFastPathEdgeCases: shapes off the common path agree with the old
// decoder whether the scanner takes them or not.
func TestFastPathEdgeCases(t *testing.T) {
	conn := `"connection":{"src_ip":"10.0.0.1","dest_ip":"10.0.0.2","src_port":443,"dest_port":"80","protocol":6}`
	for _, c := range []struct {
		in   string
		fast bool
	}{
		{`{"jsonPayload":{` + conn + `}}`, true},
		{`{"jsonPayload":{` + conn + `,"connection":{"src_ip":"x"}}}`, true},          // first wins
		{`{"jsonPayload":5,"jsonPayload":{` + conn + `}}`, true},                      // first (not an object) wins
		{`{"jsonPayload":{` + conn + `,"packets_sent":null,"bytes_sent":[1]}}`, true}, // bad-number
		{`{"jsonPayload":{` + conn + `,"start_time":"2019-06-14T03:40:37.9Z","end_time":5}}`, true},
		{`{"jsonPayload":{` + conn + `,"reporter":"SRC","src_vpc":{"vpc_name":"v\u00e9","project_id":12}}}`, true},
		{`{"jsonPayload":{` + conn + `,"reporter":"DEST","dest_vpc":"x","dest_location":{"asn":"15169","country":null}}}`, true},
		{`{"jsonPayload":{` + conn + `,"src_gke_details":{"cluster":{"cluster_name":"c"},"pod":{"pod_name":"p","pod_namespace":"n"}}}}`, true},
		{`{"jsonPayload":{` + conn + `,"dest_gke_details":{"cluster":"c","pod":{"pod_name":true}}}}`, true},
		{`{"logName":"projects/p/logs/compute.googleapis.com%2Ffirewall","timestamp":"2019-06-14T03:40:37Z","jsonPayload":{` + conn + `,"disposition":"DENIED","rule_details":{"priority":1000,"direction":"ingress","reference":"network:default/firewall:x","action":"DENY"},"vpc":{"vpc_name":"default"},"instance":{"vm_name":"a"},"remote_instance":{"vm_name":"b"}}}`, true},
		{`{"jsonPayload":{"disposition":null,` + strings.Replace(conn, "6}", `"TCP"}`, 1) + `}}`, true},
		{`{"jsonPayload":{"rule_details":{},` + strings.Replace(conn, "6}", `"frob"}`, 1) + `}}`, true},
		{`{"jsonPayload":{` + strings.Replace(conn, `"10.0.0.1"`, `""`, 1) + `}}`, true},
		{`{"jsonPayload":{` + strings.Replace(conn, `"10.0.0.1"`, `null`, 1) + `}}`, true},
		{`{"jsonPayload":{` + strings.Replace(conn, `"10.0.0.1"`, `10`, 1) + `}}`, true},
		{`{"jsonPayload":{` + strings.Replace(conn, `443`, `44.3e1`, 1) + `}}`, true},
		{`{"jsonPayload":{` + strings.Replace(conn, `443`, `-1`, 1) + `}}`, true},
		{`{"jsonPayload":{` + strings.Replace(conn, `443`, `"99999"`, 1) + `}}`, true},
		{`{"jsonPayload":{"connection":[]}}`, true},
		{`{"insertId":"x","resource":{"labels":{"a":[1,2,{"b":null}]}},"jsonPayload":{` + conn + `}}`, true},
		{`{"jsonPayload":{` + conn + `,"src_instance":{"vm_name":"\ud83d\ude00"}}}`, false}, // surrogates
		{`{"json\u0050ayload":{` + conn + `}}`, false},                                      // escaped key
		{`{"jsonPayload":{` + conn + `},"x":NaN}`, false},
		{`{"jsonPayload":{` + conn + `},}`, false},
		{`{"jsonPayload":{` + conn + `}} x`, false},
		{`[{"jsonPayload":{` + conn + `}}]`, false},
		{`{}`, true},
	} {
		for _, f := range forces {
			if got := checkEntry(t, []byte(c.in), f); got != c.fast {
				t.Errorf("%s (force %v): fast path %v, want %v", c.in, f, got, c.fast)
			}
		}
	}
}

// FuzzFastPath: on any input, the fast path (when it takes the input),
// Decode and the old decoder give the same record, reports and format;
// a declined input reports nothing.
func FuzzFastPath(f *testing.F) {
	for _, b := range seedEntries(f) {
		f.Add(b, uint8(0))
	}
	f.Fuzz(func(t *testing.T, b []byte, force uint8) {
		checkEntry(t, b, forces[int(force)%len(forces)])
	})
}

// BenchmarkDecodeBytes: the fast path on generated flow entries.
func BenchmarkDecodeBytes(b *testing.B) {
	var buf bytes.Buffer
	flowgen.GCPFlows(&buf, 1000, false, 3)
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	d := NewDecoder(&flowlog.Tally{})
	var rec flowlog.Record
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if ok, handled := d.DecodeBytes(lines[i%len(lines)], 1, &rec); !ok || !handled {
			b.Fatal("declined")
		}
	}
}
