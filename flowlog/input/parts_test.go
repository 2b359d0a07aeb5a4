package input

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/flowgen"
)

// splitFile writes a plain AWS text file of at least MinSplit bytes: the
// generated lines of fields (a header first when header), with a malformed
// line every 7,919 lines, a blank one every 10,007, and the lines of
// extra inserted at the given line numbers (headers in mid-file, say).
func splitFile(t *testing.T, name string, fields []string, header bool, extra map[int]string) string {
	t.Helper()
	var gen bytes.Buffer
	hdr := fields
	if !header {
		hdr = nil
	}
	n := MinSplit/100 + 5000
	if err := flowgen.AWSText(&gen, n, hdr, 11); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(gen.String(), "\n")
	var b strings.Builder
	for i, l := range lines {
		if x, ok := extra[i]; ok {
			b.WriteString(x + "\n")
		}
		switch {
		case i > 0 && i%7919 == 0:
			b.WriteString("2 123456789012 eni-0bad 10.0.0.1 10.0.0.2 99999 80 6 1 40 1763799987 1763800040 ACCEPT OK\n")
		case i > 0 && i%10007 == 0:
			b.WriteString("\n")
		}
		b.WriteString(l)
	}
	if b.Len() < MinSplit {
		t.Fatalf("generated %d bytes, less than MinSplit", b.Len())
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readWhole is Run's view of paths: the records as JSONL, the problems
// and the summary.
func readWhole(t *testing.T, paths []string, opts Options) ([]string, []string, *Summary) {
	t.Helper()
	var recs, probs []string
	opts.OnProblem = func(p flowlog.Problem) { probs = append(probs, p.String()) }
	sum, err := Run(Expand(paths, nil), opts, func(r *flowlog.Record) error {
		recs = append(recs, string(flowlog.AppendJSON(nil, r)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs, probs, sum
}

// readParts is RunParts' view of paths with workers: the records of its
// parts concatenated (JSONL), the number of parts, the problems and the
// summary.
func readParts(t *testing.T, paths []string, workers int) ([]string, int, []string, *Summary) {
	t.Helper()
	var recs, probs []string
	parts, sum, err := RunParts(Expand(paths, nil), Options{OnProblem: func(p flowlog.Problem) { probs = append(probs, p.String()) }},
		workers, func() *[]string { return new([]string) },
		func(p *[]string, r *flowlog.Record) { *p = append(*p, string(flowlog.AppendJSON(nil, r))) })
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		recs = append(recs, *p...)
	}
	return recs, len(parts), probs, sum
}

// sameTally compares two tallies, their OnProblem aside.
func sameTally(a, b *flowlog.Tally) bool {
	x, y := *a, *b
	x.OnProblem, y.OnProblem = nil, nil
	return fmt.Sprintf("%+v", x) == fmt.Sprintf("%+v", y)
}

// TestRunPartsSameAsRun: whatever the number of ranges and whatever the
// headers in mid-file, the parts concatenated hold Run's records in Run's
// order, the problems are Run's (line numbers of the whole file, in
// order) and the summary is Run's.
func TestRunPartsSameAsRun(t *testing.T) {
	v5 := []string{"version", "vpc-id", "subnet-id", "instance-id", "interface-id", "account-id", "type", "srcaddr", "dstaddr",
		"srcport", "dstport", "pkt-srcaddr", "pkt-dstaddr", "protocol", "bytes", "packets", "start", "end", "action",
		"tcp-flags", "log-status"}
	same := strings.Join(flowgen.AWSDefaultFields, " ")
	// The default fields with the ends swapped: lines still parse, into
	// other records.
	swapped := "version account-id interface-id dstaddr srcaddr dstport srcport protocol packets bytes start end action log-status"
	plain := splitFile(t, "plain.log", flowgen.AWSDefaultFields, false, nil)
	headed := splitFile(t, "headed.log", v5, true, nil)
	// A header early in the first range changes the field order for the
	// rest of the file: the later ranges' guess is wrong and read again.
	changed := splitFile(t, "changed.log", flowgen.AWSDefaultFields, false, map[int]string{1000: swapped})
	// A header in the second range that changes nothing, one in the last
	// that does (S3 objects concatenated).
	repeated := splitFile(t, "repeated.log", flowgen.AWSDefaultFields, false, map[int]string{45000: same, 75000: swapped})
	small := filepath.Join(t.TempDir(), "small.log")
	if err := os.WriteFile(small, []byte("2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 50000 6 1 40 1763799987 1763800040 ACCEPT OK\nnot a flow log line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		paths []string
		parts int // parts with 3 workers
	}{
		{"plain", []string{plain}, 3},
		{"header", []string{headed}, 3},
		{"header changed in the first range", []string{changed}, 2},
		{"header in the second range", []string{repeated}, 3},
		{"mixed", []string{small, plain, small, small, headed}, 1 + 3 + 1 + 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, wantProbs, wantSum := readWhole(t, tc.paths, Options{})
			for _, workers := range []int{1, 2, 3} {
				got, nparts, gotProbs, sum := readParts(t, tc.paths, workers)
				if workers == 3 && nparts != tc.parts {
					t.Errorf("%d workers: %d parts, want %d", workers, nparts, tc.parts)
				}
				if !slices.Equal(got, want) {
					i := 0
					for i < min(len(got), len(want)) && got[i] == want[i] {
						i++
					}
					t.Fatalf("%d workers: %d records, Run %d; first difference at %d", workers, len(got), len(want), i)
				}
				if len(wantProbs) == 0 || !slices.Equal(gotProbs, wantProbs) {
					t.Fatalf("%d workers: problems differ:\n%q\n%q", workers, gotProbs, wantProbs)
				}
				if len(sum.Files) != len(wantSum.Files) {
					t.Fatalf("%d files summed up, want %d", len(sum.Files), len(wantSum.Files))
				}
				for i, w := range wantSum.Files {
					if !sameTally(sum.Files[i], w) {
						t.Fatalf("%d workers: summary of file %d differs:\n%+v\n%+v", workers, i, *sum.Files[i], *w)
					}
				}
			}
		})
	}
}

// TestRunPartsStrictReadsWhole: a strict run is never split (the first
// problem stops the input) and stops where Run stops.
func TestRunPartsStrictReadsWhole(t *testing.T) {
	p := splitFile(t, "plain.log", flowgen.AWSDefaultFields, false, nil)
	want, _, _ := readWhole(t, []string{p}, Options{Strict: true})
	n := 0
	parts, sum, err := RunParts(Expand([]string{p}, nil), Options{Strict: true}, 2, func() *int { return &n },
		func(c *int, _ *flowlog.Record) { *c++ })
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 1 || n != len(want) || !sum.Aborted() {
		t.Fatalf("%d parts, %d records (Run: %d), aborted %v", len(parts), n, len(want), sum.Aborted())
	}
}

// TestRunPartsManyProblems: a later range with more problems than it may
// keep is read again after the ranges before it, its problems streamed:
// the same records, problems and order as Run.
func TestRunPartsManyProblems(t *testing.T) {
	saved := maxBuffered
	maxBuffered = 2
	defer func() { maxBuffered = saved }()
	p := splitFile(t, "plain.log", flowgen.AWSDefaultFields, false, nil)
	want, wantProbs, _ := readWhole(t, []string{p}, Options{})
	got, nparts, gotProbs, _ := readParts(t, []string{p}, 3)
	if nparts != 2 || !slices.Equal(got, want) {
		t.Fatalf("%d parts, %d records (Run: %d)", nparts, len(got), len(want))
	}
	if len(wantProbs) < 3*maxBuffered || !slices.Equal(gotProbs, wantProbs) {
		t.Fatalf("problems differ:\n%q\n%q", gotProbs, wantProbs)
	}
}

// FuzzRunParts: any content, split into three ranges however its lines
// fall (files of any size are split here), gives Run's records, problems
// and summary. Seeded from the AWS samples, good and bad.
func FuzzRunParts(f *testing.F) {
	n := 0
	for _, dir := range []string{"aws", "bad"} {
		filepath.Walk(filepath.Join(samplesDir, dir), func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() && filepath.Ext(p) == ".log" && info.Size() < 64<<10 {
				if b, err := os.ReadFile(p); err == nil {
					f.Add(b)
					n++
				}
			}
			return nil
		})
	}
	if n < 5 {
		f.Fatalf("only %d seeds", n)
	}
	saved := minSplit
	minSplit = 1
	f.Cleanup(func() { minSplit = saved })
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		watchdog := time.AfterFunc(20*time.Second, func() {
			os.WriteFile("/tmp/hang.bin", data, 0o644)
			panic("FuzzRunParts: input hangs (saved to /tmp/hang.bin)")
		})
		defer watchdog.Stop()
		p := filepath.Join(dir, "in.log")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		want, wantProbs, wantSum := readWhole(t, []string{p}, Options{})
		got, _, gotProbs, sum := readParts(t, []string{p}, 3)
		if !slices.Equal(got, want) || !slices.Equal(gotProbs, wantProbs) {
			t.Fatalf("records or problems differ:\n%q\n%q\n%q\n%q", got, want, gotProbs, wantProbs)
		}
		if !sameTally(sum.Files[0], wantSum.Files[0]) {
			t.Fatalf("summary differs:\n%+v\n%+v", *sum.Files[0], *wantSum.Files[0])
		}
	})
}

// TestRunPartsFileGrows: a file whose unfinished last line is completed
// (and more lines appended) between the planning of the ranges and their
// reading is read as Run reads the final file: no range passes the size
// the plan saw, and the last one reads to the end.
func TestRunPartsFileGrows(t *testing.T) {
	saved := minSplit
	minSplit = 1
	defer func() { minSplit = saved }()
	line := "2 123456789012 eni-0a1b2c3d 10.0.0.1 10.0.0.2 443 50000 6 10 840 1763799987 1763800040 ACCEPT OK\n"
	p := filepath.Join(t.TempDir(), "growing.log")
	long := "2 123456789012 eni-0a1b2c3d 10.0.0.1 10.0.0.2 443 50000 6 10 840 1763799987 1763800040 ACCEPT OK" + strings.Repeat(" x", 1500)
	if err := os.WriteFile(p, []byte(strings.Repeat(line, 10)+long), 0o644); err != nil {
		t.Fatal(err)
	}
	in := Expand([]string{p}, nil)[0]
	opts := Options{}
	sp := splitPlan(in, &opts, 4)
	if sp == nil {
		t.Fatal("not split")
	}
	defer sp.f.Close()
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("\n" + strings.Repeat(line, 5))
	f.Close()
	for k := 1; k < len(sp.bounds); k++ {
		if sp.bounds[k] < sp.bounds[k-1] {
			t.Fatalf("bounds go backwards: %v", sp.bounds)
		}
	}
	want, wantProbs, _ := readWhole(t, []string{p}, Options{})
	var gotProbs []string
	tally := &flowlog.Tally{Path: p, OnProblem: func(p flowlog.Problem) { gotProbs = append(gotProbs, p.String()) }}
	parts := runSplit(sp, tally, func() *[]string { return new([]string) },
		func(p *[]string, r *flowlog.Record) { *p = append(*p, string(flowlog.AppendJSON(nil, r))) }, nil)
	var got []string
	for _, p := range parts {
		got = append(got, *p...)
	}
	if len(want) != 15 || !slices.Equal(got, want) || !slices.Equal(gotProbs, wantProbs) {
		t.Fatalf("%d records, Run %d (bounds %v); problems %q, Run %q", len(got), len(want), sp.bounds, gotProbs, wantProbs)
	}
}
