package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

// judgedRow is what a per-flow row and a Parquet row share, as one string.
func judgedKey(start int64, src, dst string, sport, dport, proto int64, verdict, finding string, rules []string, reply bool) string {
	return fmt.Sprintf("%d %s:%d %s:%d/%d %s %q %v %v", start, src, sport, dst, dport, proto, verdict, finding, rules, reply)
}

// arrowJudged reads the judged rows of every Parquet file under dir with
// Arrow's own reader (independent of flowsift's), as judgedKey strings.
func arrowJudged(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".parquet") {
			return err
		}
		pf, err := file.OpenParquetFile(p, false)
		if err != nil {
			t.Fatal(err)
		}
		defer pf.Close()
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, memory.NewGoAllocator())
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := fr.ReadTable(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer tbl.Release()
		tr := array.NewTableReader(tbl, 1<<20)
		defer tr.Release()
		for tr.Next() {
			rec := tr.Record()
			col := func(name string) any {
				idx := rec.Schema().FieldIndices(name)
				if len(idx) != 1 {
					t.Fatalf("%s: no column %s", p, name)
				}
				return rec.Column(idx[0])
			}
			start, src, dst := col("start").(*array.Int64), col("src").(*array.String), col("dst").(*array.String)
			sport, dport, proto := col("sport").(*array.Int32), col("dport").(*array.Int32), col("proto").(*array.Int32)
			verdict, finding, rules := col("verdict").(*array.String), col("finding").(*array.String), col("rules").(*array.List)
			reply, policy := col("reply").(*array.Boolean), col("policy").(*array.String)
			elems := rules.ListValues().(*array.String)
			for i := 0; i < int(rec.NumRows()); i++ {
				var rs []string
				lo, hi := rules.ValueOffsets(i)
				for j := lo; j < hi; j++ {
					rs = append(rs, elems.Value(int(j)))
				}
				if len(policy.Value(i)) != 12 {
					t.Errorf("%s row %d: policy %q", p, i, policy.Value(i))
				}
				out = append(out, judgedKey(start.Value(i), src.Value(i), dst.Value(i), int64(sport.Value(i)), int64(dport.Value(i)),
					int64(proto.Value(i)), verdict.Value(i), finding.Value(i), rs, reply.Value(i)))
			}
		}
		return nil
	})
	slices.Sort(out)
	return out
}

func perFlowKeys(t *testing.T, out string) []string {
	t.Helper()
	var keys []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var j struct {
			judged
			Proto int64 `json:"proto"`
		}
		if err := json.Unmarshal([]byte(l), &j); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		keys = append(keys, judgedKey(j.Start, j.Src, j.Dst, int64(j.Sport), int64(j.Dport), j.Proto, j.Verdict, j.Finding, j.Rules, j.Reply))
	}
	slices.Sort(keys)
	return keys
}

func sortedLines(s string) []string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	slices.Sort(l)
	return l
}

// TestAnalyzeParquetDir: analyze -o DIR writes the judged records as
// Hive-partitioned Parquet whose judgment (read by Arrow) is the per-flow
// output; flows DIR reads back the very records of the input, and analyze
// DIR judges them as the input was judged. A second run adds files.
func TestAnalyzeParquetDir(t *testing.T) {
	ex := filepath.Join(policyExamples, "08-aws-same-subnet-and-replies")
	var pol []string
	for _, f := range []string{"describe-security-groups.json", "describe-network-acls.json", "describe-network-interfaces.json"} {
		pol = append(pol, "--policy", filepath.Join(ex, f))
	}
	flows := filepath.Join(ex, "flows.jsonl")
	dir := filepath.Join(t.TempDir(), "out")

	args := append(append([]string{"analyze", "--per-flow"}, pol...), "-o", dir, flows)
	perFlow, stderr, st := runCLI(t, args...)
	if st != exitOK {
		t.Fatalf("exit %d: %s", st, stderr)
	}
	if !strings.Contains(stderr, "as Parquet in") || !strings.Contains(stderr, dir) {
		t.Errorf("no Parquet summary on stderr: %s", stderr)
	}
	want := perFlowKeys(t, perFlow)
	if got := arrowJudged(t, dir); !slices.Equal(got, want) {
		t.Fatalf("Parquet judgment differs from the per-flow output:\n got  %v\n want %v", got, want)
	}
	var parts []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			parts = append(parts, rel)
		}
		return nil
	})
	for _, p := range parts {
		if !strings.HasPrefix(p, "date=") || !strings.Contains(p, string(filepath.Separator)+"hour=") || !strings.HasSuffix(p, ".parquet") {
			t.Errorf("file %s is not date=…/hour=…/….parquet", p)
		}
	}

	// flows DIR gives the input's records.
	orig, _, _ := runCLI(t, "flows", "-q", flows)
	back, stderr, st := runCLI(t, "flows", "-q", dir)
	if st != exitOK || stderr != "" {
		t.Fatalf("flows DIR: exit %d: %s", st, stderr)
	}
	if g, w := sortedLines(back), sortedLines(orig); !slices.Equal(g, w) {
		t.Fatalf("flows DIR:\n%s\nwant\n%s", back, orig)
	}
	// analyze DIR judges them the same (reply detection sees the whole
	// input in both runs).
	again, stderr, st := runCLI(t, append(append([]string{"analyze", "--per-flow", "-q"}, pol...), dir)...)
	if st != exitOK {
		t.Fatalf("analyze DIR: exit %d: %s", st, stderr)
	}
	if got := perFlowKeys(t, again); !slices.Equal(got, want) {
		t.Fatalf("analyze DIR:\n got  %v\n want %v", got, want)
	}

	// A second run into the same directory adds parts, changes none.
	if _, stderr, st := runCLI(t, append(append([]string{"analyze", "-q"}, pol...), "-o", dir, flows)...); st != exitOK {
		t.Fatalf("second run: exit %d: %s", st, stderr)
	}
	n := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	if n != 2*len(parts) {
		t.Errorf("%d files after two runs, %d after one", n, len(parts))
	}
	if got := arrowJudged(t, dir); len(got) != 2*len(want) {
		t.Errorf("%d rows after two runs, want %d", len(got), 2*len(want))
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
}

// TestFlowsParquetDir: flows --format parquet -o DIR/ streams the records
// into hour partitions, and reading the directory back gives the very
// records of the input; a second run adds parts beside the first.
func TestFlowsParquetDir(t *testing.T) {
	input := filepath.Join("..", "..", "examples", "flowlogs")
	code, want, stderr := flowsCLI(t, "", "flows", "-q", input)
	if code != exitOK || want == "" {
		t.Fatalf("flows %s: exit %d: %s", input, code, stderr)
	}
	dir := filepath.Join(t.TempDir(), "lake") + string(filepath.Separator)
	for run := 1; run <= 2; run++ {
		code, out, stderr := flowsCLI(t, "", "flows", "--format", "parquet", "-o", dir, input)
		if code != exitOK || out != "" {
			t.Fatalf("run %d: exit %d, stdout %q: %s", run, code, out, stderr)
		}
		if !strings.Contains(stderr, "as Parquet in") {
			t.Errorf("run %d: no Parquet summary on stderr: %s", run, stderr)
		}
		parts, _ := filepath.Glob(filepath.Join(dir, "date=*", "hour=*", "part-*.parquet"))
		if len(parts) < 2*run { // the examples span two hours
			t.Errorf("run %d: %d part files, want at least %d: %v", run, len(parts), 2*run, parts)
		}
	}
	code, got, stderr := flowsCLI(t, "", "flows", "-q", dir)
	if code != exitOK {
		t.Fatalf("flows %s: exit %d: %s", dir, code, stderr)
	}
	w := sortedLines(want)
	w = append(w, w...)
	slices.Sort(w)
	if g := sortedLines(got); !slices.Equal(g, w) {
		t.Fatalf("records read back differ: got %d lines, want %d", len(g), len(w))
	}
}
