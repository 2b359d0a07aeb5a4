package input

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/flowgen"
)

// readBoth reads data with and without the JSON fast paths and fails
// unless records, reports (position, kind, detail) and format agree.
func readBoth(t testing.TB, data []byte, format string) {
	noFastPaths = true
	slow, slowProbs, slowTally := readString(t, string(data), format)
	noFastPaths = false
	fast, fastProbs, fastTally := readString(t, string(data), format)
	if len(fast) != len(slow) || fastTally.Records != slowTally.Records || fastTally.Format != slowTally.Format {
		t.Fatalf("fast paths: %d records (%v), generic: %d (%v)", len(fast), fastTally.Format, len(slow), slowTally.Format)
	}
	for i := range fast {
		if !fast[i].Equal(&slow[i]) {
			t.Fatalf("record %d differs:\n fast    %s\n generic %s", i, flowlog.AppendJSON(nil, &fast[i]), flowlog.AppendJSON(nil, &slow[i]))
		}
	}
	if len(fastProbs) != len(slowProbs) {
		t.Fatalf("fast paths: reports %v\n generic: %v", probStrings(fastProbs), probStrings(slowProbs))
	}
	for i := range fastProbs {
		if fastProbs[i] != slowProbs[i] {
			t.Fatalf("report %d differs:\n fast    %v\n generic %v", i, fastProbs[i], slowProbs[i])
		}
	}
}

// jsonSeeds: the GCP samples (good and bad) and the JSONL goldens (the
// native format), plus generated GCP and native inputs.
func jsonSeeds(t testing.TB) [][]byte {
	var paths []string
	for _, g := range []string{samplesDir + "/gcp/*.*json", samplesDir + "/bad/gcp-*", samplesDir + "/bad/*.jsonl",
		"testdata/golden/*/*.jsonl"} {
		m, _ := filepath.Glob(g)
		paths = append(paths, m...)
	}
	var out [][]byte
	for _, p := range paths {
		if filepath.Ext(p) == ".expected" {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	if len(out) < 10 {
		t.Fatalf("only %d seeds", len(out))
	}
	var b bytes.Buffer
	flowgen.GCPFlows(&b, 200, false, 9)
	out = append(out, bytes.Clone(b.Bytes()))
	b.Reset()
	flowgen.GCPFlows(&b, 200, true, 9)
	out = append(out, bytes.Clone(b.Bytes()))
	b.Reset()
	if err := writeNativeJSONL(&b, 200, 9); err != nil {
		t.Fatal(err)
	}
	out = append(out, bytes.Clone(b.Bytes()))
	return out
}

// TestJSONFastPathsAgree: every seed reads the same with and without the
// fast paths, auto-detected and with GCP forced.
func TestJSONFastPathsAgree(t *testing.T) {
	for _, data := range jsonSeeds(t) {
		readBoth(t, data, "")
		readBoth(t, data, "gcp-vpc-flows")
		readBoth(t, data, "gcp-firewall")
		readBoth(t, data, "alibaba-sls-json")
	}
}

// FuzzJSONFastPaths: any input reads the same with and without the fast
// paths: same records, same reports at the same positions.
func FuzzJSONFastPaths(f *testing.F) {
	for _, data := range jsonSeeds(f) {
		if len(data) > 4<<10 { // small seeds keep minimizing quick
			data = data[:bytes.LastIndexByte(data[:4<<10], '\n')+1]
		}
		f.Add(data, uint8(0))
	}
	formats := []string{"", "gcp-vpc-flows", "gcp-firewall", "alibaba-sls-json"}
	f.Fuzz(func(t *testing.T, data []byte, format uint8) {
		watchdog := time.AfterFunc(20*time.Second, func() {
			os.WriteFile("/tmp/hang-json.bin", data, 0o644)
			panic("FuzzJSONFastPaths: input hangs (saved to /tmp/hang-json.bin)")
		})
		defer watchdog.Stop()
		readBoth(t, data, formats[int(format)%len(formats)])
	})
}

// TestNDJSONSkipsSplitter: an NDJSON input is read line by line; the
// document splitter is never built for it.
func TestNDJSONSkipsSplitter(t *testing.T) {
	var b bytes.Buffer
	flowgen.GCPFlows(&b, 50, false, 2)
	for _, data := range [][]byte{b.Bytes(), []byte("{\"start\":1,\"src\":\"1.2.3.4\",\"dst\":\"5.6.7.8\"}\n{\"start\":2,\"src\":\"1.2.3.4\",\"dst\":\"5.6.7.8\"}\n")} {
		var probs []flowlog.Problem
		tally := &flowlog.Tally{OnProblem: func(p flowlog.Problem) { probs = append(probs, p) }}
		r := newJSONReader(bufio.NewReader(bytes.NewReader(data)), tally, kindNone, flowlog.SourceUnknown)
		if r.doc != nil || r.lines == nil {
			t.Fatalf("NDJSON input read as a document")
		}
		var rec flowlog.Record
		n := 0
		for r.Next(&rec) {
			n++
		}
		if n == 0 || r.doc != nil || tally.MalformedTotal() != 0 {
			t.Fatalf("%d records, doc %v, reports %v", n, r.doc != nil, probStrings(probs))
		}
	}
}
