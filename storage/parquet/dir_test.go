package parquet

import (
	"bytes"
	"crypto/sha256"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flowsift/flowsift/analyze/verdict"
	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/input"
	"github.com/flowsift/flowsift/internal/flowgen"
)

// variedRecords are n generated records over several hours with every
// source, optional keys of both kinds now and then, empty and unusual
// values, then records carrying every optional key.
func variedRecords(n int) []flowlog.Record {
	g := flowgen.New(3)
	srcs := flowlog.Sources()
	recs := make([]flowlog.Record, 0, n+2)
	for i := 0; i < n; i++ {
		f := g.Next()
		r := flowRecord(&f)
		r.Attrs = nil
		r.Start = 1_763_900_000 + int64(i/2000%5)*3600 + int64(i%7) // 5 hours, in turn
		r.Source = srcs[i%len(srcs)]
		if i%4 == 0 {
			r.Action = flowlog.ActionUnknown
		}
		if i%6 == 0 {
			r.Direction = flowlog.DirUnknown
			r.Iface = ""
		}
		if i%3 == 0 {
			r.SetInt(flowlog.AttrVersion, int64(i%9)-4)
			r.SetStr(flowlog.AttrInstanceId, f.Instance)
		}
		if i%10 == 0 {
			r.SetStr(flowlog.AttrPktSrcaddr, f.Src.String())
			r.SetInt(flowlog.AttrTrafficPath, int64(i))
		}
		recs = append(recs, r)
	}
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
	return append(recs, full, flowlog.Record{Src: netip.MustParseAddr("0.0.0.0"), Dst: netip.MustParseAddr("::")})
}

func judgment(i int) verdict.Result {
	return verdict.Result{Verdict: verdict.Verdict(i % 3), Finding: []verdict.Finding{"", "violation", "exposure"}[i%3],
		Rules: []string{"sg-0a1/in/1", "acl-9/120", "default"}[:i%4%3], Reply: i%5 == 0}
}

// readDir reads every input under dir the way `flowsift flows DIR` does.
func readDir(t *testing.T, dir string) ([]flowlog.Record, map[string][]flowlog.Record) {
	t.Helper()
	var recs []flowlog.Record
	byFile := map[string][]flowlog.Record{}
	for _, in := range input.Expand([]string{dir}, nil) {
		var probs []string
		sum, err := input.Run([]input.Input{in}, input.Options{OnProblem: func(p flowlog.Problem) { probs = append(probs, p.String()) }},
			func(r *flowlog.Record) error {
				c := r.Clone()
				recs = append(recs, c)
				byFile[in.Path] = append(byFile[in.Path], c)
				return nil
			})
		if err != nil || len(probs) > 0 || sum.Files[0].Unusable != 0 {
			t.Fatalf("%s: %v %v", in.Path, err, probs)
		}
	}
	return recs, byFile
}

func sortedJSON(recs []flowlog.Record) []string {
	out := make([]string, len(recs))
	for i := range recs {
		out[i] = string(flowlog.AppendJSON(nil, &recs[i]))
	}
	slices.Sort(out)
	return out
}

func fileHashes(t *testing.T, dir string) map[string][32]byte {
	out := map[string][32]byte{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			out[p] = sha256.Sum256(b)
		}
		return nil
	})
	return out
}

// TestDirRoundTrip: records written into a Hive-partitioned directory,
// twice, with fewer open files than partitions, read back (as `flowsift
// flows DIR` reads) into exactly the records written, each in the
// partition of its start hour; the second run adds files and changes none;
// no temporary is left.
func TestDirRoundTrip(t *testing.T) {
	dir := t.TempDir()
	recs := variedRecords(30_000)
	var runs []DirStats
	for run := 0; run < 2; run++ {
		before := fileHashes(t, dir)
		d, err := OpenDir(dir, DirOptions{Options: Options{Judged: true, Policy: "abc", BatchRows: 1000, RowGroupRows: 2500}, MaxOpen: 2})
		if err != nil {
			t.Fatal(err)
		}
		for i := range recs {
			res := judgment(i)
			if err := d.Write(&recs[i], &res); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		st := d.Stats()
		runs = append(runs, st)
		if st.Rows != int64(len(recs)) || st.Partitions != 7 {
			t.Fatalf("run %d: %d rows, %d partitions", run, st.Rows, st.Partitions)
		}
		after := fileHashes(t, dir)
		for p, h := range before {
			if after[p] != h {
				t.Errorf("run %d changed %s", run, p)
			}
		}
		if len(after) != len(before)+len(st.Files) {
			t.Errorf("run %d: %d files before, %d after, %d published", run, len(before), len(after), len(st.Files))
		}
		for _, f := range st.Files {
			if !strings.Contains(f, "part-"+st.RunID+"-") || !strings.HasSuffix(f, ".parquet") {
				t.Errorf("file name %s (run %s)", f, st.RunID)
			}
		}
	}
	if runs[0].RunID == runs[1].RunID {
		t.Errorf("two runs share the id %s", runs[0].RunID)
	}
	got, byFile := readDir(t, dir)
	want := append(slices.Clone(recs), recs...)
	if g, w := sortedJSON(got), sortedJSON(want); !slices.Equal(g, w) {
		t.Fatalf("%d records read, %d written; contents differ", len(g), len(w))
	}
	for path, rs := range byFile {
		for i := range rs {
			if !strings.Contains(path, string(filepath.Separator)+PartitionPath(rs[i].Start)+string(filepath.Separator)) {
				t.Fatalf("%s holds a record of %s", path, PartitionPath(rs[i].Start))
			}
		}
	}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if strings.HasSuffix(p, ".tmp") {
			t.Errorf("temporary left: %s", p)
		}
		return nil
	})
}

// TestDirPartitionPath: UTC date and hour, floor for times before 1970.
func TestDirPartitionPath(t *testing.T) {
	sep := string(filepath.Separator)
	for start, want := range map[int64]string{
		0: "date=1970-01-01" + sep + "hour=00", 1_763_913_599: "date=2025-11-23" + sep + "hour=15",
		1_763_913_600: "date=2025-11-23" + sep + "hour=16", -1: "date=1969-12-31" + sep + "hour=23",
	} {
		if got := PartitionPath(start); got != want {
			t.Errorf("PartitionPath(%d) = %s, want %s", start, got, want)
		}
	}
}

// TestDirCrashLeftovers: a half-written temporary (what a crash leaves)
// is not an input; publishing never replaces an existing file.
func TestDirCrashLeftovers(t *testing.T) {
	dir := t.TempDir()
	recs := variedRecords(100)
	d, err := OpenDir(dir, DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		d.Write(&recs[i], nil)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	// A half file next to the published ones.
	first := filepath.Join(dir, d.Stats().Files[0])
	b, _ := os.ReadFile(first)
	half := filepath.Join(filepath.Dir(first), ".part-crashed-0001.parquet.tmp")
	os.WriteFile(half, b[:len(b)/2], 0o644)
	got, _ := readDir(t, dir)
	if len(got) != len(recs) {
		t.Errorf("%d records read, %d written", len(got), len(recs))
	}
	// publish refuses an existing name, and leaves it as it was.
	if err := publish(half, first); err == nil {
		t.Errorf("publish replaced %s", first)
	}
	if after, _ := os.ReadFile(first); !bytes.Equal(after, b) {
		t.Errorf("%s changed", first)
	}
}

// TestDirHours: Hours visits the records hour by hour, stable within an
// hour, every record once.
func TestDirHours(t *testing.T) {
	recs := variedRecords(1000)
	order := Hours(recs)
	if len(order) != len(recs) {
		t.Fatalf("%d of %d", len(order), len(recs))
	}
	seen := make([]bool, len(recs))
	for k, i := range order {
		if seen[i] {
			t.Fatalf("record %d twice", i)
		}
		seen[i] = true
		if k > 0 {
			p, q := hourOf(recs[order[k-1]].Start), hourOf(recs[i].Start)
			if p > q || p == q && order[k-1] > i {
				t.Fatalf("order breaks at %d", k)
			}
		}
	}
}
