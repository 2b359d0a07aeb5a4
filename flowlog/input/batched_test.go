package input

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/flowgen"
)

// batchedInputs: the bundled examples (several formats, malformed lines)
// and a generated file several batches long.
func batchedInputs(t *testing.T) []string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gen.log")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := flowgen.AWSText(f, 3*BatchSize+17, nil, 5); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return []string{"../../examples/flowlogs", p, filepath.Join(t.TempDir(), "missing.log")}
}

// TestRunBatchedSameAsRun: the same records, problems and summary as Run,
// in the same order, whatever the batch boundaries.
func TestRunBatchedSameAsRun(t *testing.T) {
	paths := batchedInputs(t)
	want, wantProbs, sum := readWhole(t, paths, Options{})
	var got, gotProbs []string
	batches := 0
	bsum, err := RunBatched(Expand(paths, nil), Options{OnProblem: func(p flowlog.Problem) { gotProbs = append(gotProbs, fmt.Sprint(p)) }},
		func(b []flowlog.Record) error {
			if len(b) == 0 || len(b) > BatchSize {
				t.Fatalf("batch of %d records", len(b))
			}
			batches++
			for i := range b {
				got = append(got, string(flowlog.AppendJSON(nil, &b[i])))
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 3*BatchSize || batches < 4 {
		t.Fatalf("%d records in %d batches: the inputs do not span several batches", len(want), batches)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("records differ: %d vs %d", len(got), len(want))
	}
	if len(wantProbs) == 0 || !slices.Equal(gotProbs, wantProbs) {
		t.Fatalf("problems differ:\n%q\n%q", gotProbs, wantProbs)
	}
	if len(bsum.Files) != len(sum.Files) || !bsum.Unusable() {
		t.Fatalf("%d files summed up, want %d (one unusable)", len(bsum.Files), len(sum.Files))
	}
	for i, w := range sum.Files {
		if !sameTally(bsum.Files[i], w) {
			t.Fatalf("summary of file %d differs:\n%+v\n%+v", i, *bsum.Files[i], *w)
		}
	}
}

// TestRunBatchedStops: an error from the consumer stops the reading and
// is returned; nothing is handed over after it.
func TestRunBatchedStops(t *testing.T) {
	boom := errors.New("boom")
	calls := 0
	_, err := RunBatched(Expand(batchedInputs(t), nil), Options{}, func(b []flowlog.Record) error {
		calls++
		if calls == 2 {
			return boom
		}
		if calls > 2 {
			t.Fatal("fn called after it failed")
		}
		return nil
	})
	if !errors.Is(err, boom) || calls != 2 {
		t.Fatalf("err %v after %d calls", err, calls)
	}
}
