package input

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/flowsift/flowsift/flowlog"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// samplesDir is the shared reference material, used in place.
const samplesDir = "../../../shared/reference/samples"

// readAllRecords runs the input pipeline over paths and returns the JSONL
// of the records and the problem reports.
func readAllRecords(t testing.TB, paths ...string) (string, []flowlog.Problem, *Summary) {
	t.Helper()
	var out bytes.Buffer
	var probs []flowlog.Problem
	opts := Options{OnProblem: func(p flowlog.Problem) { probs = append(probs, p) }}
	sum, err := Run(Expand(paths, strings.NewReader("")), opts, func(r *flowlog.Record) error {
		out.Write(flowlog.AppendJSON(nil, r))
		out.WriteByte('\n')
		return nil
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return out.String(), probs, sum
}

// sampleFiles lists every input file of the provider folders (not bad/, not
// policy/, not SOURCES.md).
func sampleFiles(t *testing.T) []string {
	var files []string
	for _, prov := range []string{"aws", "gcp", "azure", "alibaba"} {
		root := filepath.Join(samplesDir, prov)
		err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			if info.IsDir() || info.Name() == "SOURCES.md" {
				return nil
			}
			files = append(files, p)
			return nil
		})
		if err != nil {
			t.Fatalf("walking %s: %v", root, err)
		}
	}
	if len(files) < 30 {
		t.Fatalf("found only %d sample files under %s: is shared/ beside the repository?", len(files), samplesDir)
	}
	return files
}

// TestSamplesGolden: every sample parses to its golden records, with no
// problem reported (every provider sample is a valid input, FORMATS.md 10).
// Golden files are regenerated with -update and reviewed by hand.
func TestSamplesGolden(t *testing.T) {
	for _, path := range sampleFiles(t) {
		rel, _ := filepath.Rel(samplesDir, path)
		t.Run(rel, func(t *testing.T) {
			got, probs, sum := readAllRecords(t, path)
			for _, p := range probs {
				t.Errorf("valid sample reported a problem: %s", p)
			}
			if sum.Unusable() {
				t.Errorf("valid sample unusable")
			}
			if sum.Files[0].Records == 0 && sum.Files[0].NoData+sum.Files[0].SkipData == 0 {
				t.Errorf("no records and no NODATA/SKIPDATA lines")
			}
			golden := filepath.Join("testdata", "golden", rel+".jsonl")
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("no golden file (run go test -run TestSamplesGolden -update and review it): %v", err)
			}
			if got != string(want) {
				t.Errorf("records differ from %s\n%s", golden, lineDiff(string(want), got))
			}
		})
	}
}

func lineDiff(want, got string) string {
	w := strings.Split(want, "\n")
	g := strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  want " + wl + "\n  got  " + gl + "\n")
		}
	}
	return b.String()
}

// expectation is a parsed bad/NAME.expected file (FORMATS.md 11).
type expectation struct {
	format         string
	recordsMin     int64
	recordsMax     int64
	nodataSkipdata int64
	hasNodata      bool
	exit           int
	reported       map[int64][]string // position -> kinds
	fileNotice     string
	damage         string
	damageLines    []int64
}

var (
	rangeRe = regexp.MustCompile(`^(\d+) required.*line (\d+) optional`)
	lineNum = regexp.MustCompile(`LINE (\d+) or (\d+)`)
)

func parseExpected(t *testing.T, path string) expectation {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	e := expectation{reported: map[int64][]string{}}
	inReported := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		key, val, _ := strings.Cut(line, ":")
		val = strings.TrimSpace(val)
		switch {
		case key == "format":
			e.format = val
		case key == "records":
			if m := rangeRe.FindStringSubmatch(val); m != nil {
				e.recordsMin, _ = strconv.ParseInt(m[1], 10, 64)
				e.recordsMax = e.recordsMin + 1
			} else {
				n, err := strconv.ParseInt(val, 10, 64)
				if err != nil {
					t.Fatalf("%s: records %q", path, val)
				}
				e.recordsMin, e.recordsMax = n, n
			}
		case key == "nodata_skipdata":
			e.nodataSkipdata, _ = strconv.ParseInt(val, 10, 64)
			e.hasNodata = true
		case key == "exit":
			e.exit, _ = strconv.Atoi(val)
		case key == "reported":
			inReported = true
		case key == "file" && inReported:
			e.fileNotice = strings.Fields(val)[0]
		case key == "damage" && inReported:
			e.damage = val
			if m := lineNum.FindStringSubmatch(val); m != nil {
				a, _ := strconv.ParseInt(m[1], 10, 64)
				b, _ := strconv.ParseInt(m[2], 10, 64)
				e.damageLines = []int64{a, b}
			}
		case inReported:
			pos, err := strconv.ParseInt(key, 10, 64)
			if err != nil {
				t.Fatalf("%s: bad reported line %q", path, line)
			}
			e.reported[pos] = append(e.reported[pos], val)
		}
	}
	return e
}

// TestBadSamples: each bad/NAME gives exactly the reports, record count,
// NODATA/SKIPDATA count, format and exit status its NAME.expected lists.
func TestBadSamples(t *testing.T) {
	exps, _ := filepath.Glob(filepath.Join(samplesDir, "bad", "*.expected"))
	if len(exps) < 15 {
		t.Fatalf("found only %d .expected files", len(exps))
	}
	for _, ep := range exps {
		data := strings.TrimSuffix(ep, ".expected")
		t.Run(filepath.Base(data), func(t *testing.T) {
			e := parseExpected(t, ep)
			_, probs, sum := readAllRecords(t, data)
			ft := sum.Files[0]
			if ft.Records < e.recordsMin || ft.Records > e.recordsMax {
				t.Errorf("records = %d, want %d..%d", ft.Records, e.recordsMin, e.recordsMax)
			}
			if e.hasNodata && ft.NoData+ft.SkipData != e.nodataSkipdata {
				t.Errorf("NODATA+SKIPDATA = %d, want %d", ft.NoData+ft.SkipData, e.nodataSkipdata)
			}
			if e.format != "none" && ft.Format.String() != e.format {
				t.Errorf("format = %q, want %q", ft.Format, e.format)
			}
			exit := 0
			if sum.Unusable() {
				exit = 1
			}
			if exit != e.exit {
				t.Errorf("exit = %d, want %d", exit, e.exit)
			}
			got := map[int64][]string{}
			var notices []string
			for _, p := range probs {
				if p.Pos == 0 {
					notices = append(notices, p.Notice.String())
					continue
				}
				if p.Path != data {
					t.Errorf("report names %q, want %q", p.Path, data)
				}
				got[p.Pos] = append(got[p.Pos], p.Kind.String())
			}
			switch {
			case e.fileNotice != "":
				if len(notices) != 1 || notices[0] != e.fileNotice || len(got) != 0 {
					t.Errorf("notices %v, positions %v; want exactly the file notice %q", notices, got, e.fileNotice)
				}
			case e.damage != "":
				if len(got) != 1 {
					t.Fatalf("reports %v, want exactly one truncated report", got)
				}
				for pos, kinds := range got {
					ok := len(kinds) == 1 && kinds[0] == "truncated"
					if len(e.damageLines) == 2 && pos != e.damageLines[0] && pos != e.damageLines[1] {
						ok = false
					}
					if !ok {
						t.Errorf("damage report at %d %v, want truncated at %v", pos, kinds, e.damageLines)
					}
				}
			default:
				if len(notices) != 0 {
					t.Errorf("unexpected file notices %v", notices)
				}
				for pos, kinds := range e.reported {
					if !sameKinds(got[pos], kinds) {
						t.Errorf("position %d: reported %v, want %v", pos, got[pos], kinds)
					}
				}
				for pos, kinds := range got {
					if _, ok := e.reported[pos]; !ok {
						t.Errorf("position %d: unexpected report %v", pos, kinds)
					}
				}
			}
		})
	}
}

func sameKinds(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	count := map[string]int{}
	for _, k := range a {
		count[k]++
	}
	for _, k := range b {
		count[k]--
	}
	for _, n := range count {
		if n != 0 {
			return false
		}
	}
	return true
}
