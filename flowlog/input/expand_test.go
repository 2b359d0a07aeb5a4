package input

import (
	"os"
	"path/filepath"
	"testing"
)

// TestExpandPathsAsGiven: directory walks keep the argument as written and
// go in byte-wise lexical order of the full paths; dot files are skipped;
// globs are sorted; a glob without match and a missing path are unusable.
func TestExpandPathsAsGiven(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"b/x.log", "a.log", "a-b.log", ".hidden", "b/.dot/y.log", "c.gz"} {
		p := filepath.Join(dir, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("x"), 0o644)
	}
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	os.Chdir(dir)
	var got []string
	for _, in := range Expand([]string{"./", ".", "*.log", "nope*.log", "missing.log"}, nil) {
		s := in.Path
		if in.Err != nil {
			s += " (" + in.Err.Notice.String() + ")"
		}
		got = append(got, s)
	}
	want := []string{"./a-b.log", "./a.log", "./b/x.log", "./c.gz",
		"./a-b.log", "./a.log", "./b/x.log", "./c.gz",
		"a-b.log", "a.log", "nope*.log (unreadable)", "missing.log (unreadable)"}
	if len(got) != len(want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("input %d: %q, want %q", i, got[i], want[i])
		}
	}
}
