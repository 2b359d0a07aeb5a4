// Command benchreport turns `go test -bench` output into the side-by-side
// table `make bench` prints: each hot path's records/s and allocs/record next
// to its baseline — `wc -l` (or `gzip -dc | wc -l`) on the same generated
// file, a peer benchmark, or the goal from the issue — as a ratio.
//
// Usage: go test -bench . ./... | benchreport -dir .bench
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// goals are the targets, records (or evaluations, rows) per second.
var goals = map[string]float64{
	"BenchmarkReadAWSText":        3e6,
	"BenchmarkReadAWSTextV5":      2e6,
	"BenchmarkReadAWSParquet":     5e6,
	"BenchmarkReadGCP":            5e5,
	"BenchmarkReadAzureNSG":       5e5,
	"BenchmarkReadAzureVNet":      5e5,
	"BenchmarkReadAlibabaJSON":    5e5,
	"BenchmarkReadAlibabaCSV":     5e5,
	"BenchmarkReadNativeJSONL":    5e5,
	"BenchmarkReadAWSTextGzip":    0,
	"BenchmarkGunzip":             0,
	"BenchmarkGunzipStdlib":       0,
	"BenchmarkWriteParquet":       0,
	"BenchmarkEvaluate/rules=10k": 5e6,
	// issue 7: what-if from files over realistic repetition (1 M records
	// of 20,000 connections); the all-distinct BenchmarkWhatifFile is the
	// worst case, printed without a goal.
	"BenchmarkWhatifFileConns": 5e6,
}

// peers compare one benchmark with another of the same run.
var peers = map[string]string{
	"BenchmarkGunzip":       "BenchmarkGunzipStdlib",
	"BenchmarkWriteParquet": "BenchmarkWriteParquetBaselineJSONL",
}

type result struct {
	name    string
	metrics map[string]float64
}

var lineRe = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+\d+\s+(.*)$`)

func main() {
	dir := flag.String("dir", ".bench", "directory of the generated inputs and index.tsv")
	flag.Parse()
	var results []result
	byName := map[string]result{}
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := lineRe.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		r := result{name: m[1], metrics: map[string]float64{}}
		f := strings.Fields(m[3])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err == nil {
				r.metrics[f[i+1]] = v
			}
		}
		results = append(results, r)
		byName[r.name] = r
	}
	files := readIndex(filepath.Join(*dir, "index.tsv"))
	fmt.Printf("%-34s %14s %14s  %-34s %14s %8s\n", "benchmark", "rate", "allocs/rec", "baseline", "baseline rate", "ratio")
	fmt.Println(strings.Repeat("-", 126))
	for _, r := range results {
		if ownSummary(r.name) {
			continue
		}
		rate, unit := r.rate()
		allocs := "-"
		if a, ok := r.metrics["allocs/record"]; ok {
			allocs = strconv.FormatFloat(a, 'f', 4, 64)
		} else if a, ok := r.metrics["allocs/op"]; ok && unit != "records/s" {
			allocs = strconv.FormatFloat(a, 'f', 0, 64) + "/op"
		}
		base, baseRate := "", 0.0
		if p, ok := peers[r.name]; ok {
			if pr, ok := byName[p]; ok {
				base = p
				baseRate, _ = pr.rate()
			}
		} else if f, ok := files[r.name]; ok {
			base, baseRate = floor(filepath.Join(*dir, f))
		}
		if base == "" {
			if g := goals[r.name]; g > 0 {
				base, baseRate = "goal", g
			}
		}
		ratio := "-"
		if baseRate > 0 && rate > 0 {
			ratio = fmt.Sprintf("%.2fx", rate/baseRate)
		}
		goal := ""
		if g := goals[r.name]; g > 0 && base != "goal" {
			goal = fmt.Sprintf("  (goal %s: %.2fx)", human(g), rate/g)
		}
		cpu := ""
		if c := r.metrics["cpu-"+unit]; c > 0 {
			cpu = fmt.Sprintf("  [%s per CPU-second]", human(c))
		}
		fmt.Printf("%-34s %14s %14s  %-34s %14s %8s%s%s\n", r.name, human(rate)+" "+short(unit), allocs, base, human(baseRate), ratio, goal, cpu)
	}
	gzipSplit(byName)
}

// ownSummary: benchmarks scripts/bench.sh sums up itself (ClickHouse
// insert and the what-if query, whose metrics are per row or per query).
func ownSummary(name string) bool {
	return strings.HasPrefix(name, "BenchmarkClickHouseInsert") || strings.HasPrefix(name, "BenchmarkWhatifQuery")
}

// gzipSplit says how the gzip benchmark's time divides between inflating
// (BenchmarkGunzip, klauspost/compress) and parsing (BenchmarkReadAWSText on
// the same records), per record and per CPU-second.
func gzipSplit(byName map[string]result) {
	gz, ok1 := byName["BenchmarkReadAWSTextGzip"]
	inflate, ok2 := byName["BenchmarkGunzip"]
	parse, ok3 := byName["BenchmarkReadAWSText"]
	if !ok1 || !ok2 || !ok3 {
		return
	}
	ns := func(r result, metric string) float64 {
		if v := r.metrics[metric]; v > 0 {
			return 1e9 / v
		}
		return 0
	}
	fmt.Printf("\ngzip split (ns per record of CPU): inflate %.0f + parse %.0f = %.0f sequential; end to end %.0f wall, %.0f CPU (inflate runs one goroutine ahead)\n",
		ns(inflate, "cpu-records/s"), ns(parse, "cpu-records/s"), ns(inflate, "cpu-records/s")+ns(parse, "cpu-records/s"),
		ns(gz, "records/s"), ns(gz, "cpu-records/s"))
}

func (r result) rate() (float64, string) {
	for _, u := range []string{"records/s", "evals/s", "rows/s", "packets/s"} {
		if v, ok := r.metrics[u]; ok {
			return v, u
		}
	}
	if ns, ok := r.metrics["ns/op"]; ok && ns > 0 {
		return 1e9 / ns, "op/s"
	}
	return 0, ""
}

func short(u string) string { return strings.TrimSuffix(u, "/s") + "/s" }

func readIndex(path string) map[string]string {
	out := map[string]string{}
	b, err := os.ReadFile(path)
	if err != nil {
		return out
	}
	for _, l := range strings.Split(string(b), "\n") {
		if name, file, ok := strings.Cut(l, "\t"); ok {
			out[name] = file
		}
	}
	return out
}

type floorResult struct {
	label string
	rate  float64
}

var floorCache = map[string]floorResult{}

// floor times `wc -l` (through `gzip -dc` for .gz) on the file, best of 3,
// as lines per second. Binary inputs (Parquet) and documents of few lines
// (an Azure PT1H.json) have no such floor.
func floor(path string) (string, float64) {
	if strings.HasSuffix(path, ".parquet") {
		return "", 0
	}
	cmd, label := "wc -l < "+path, "wc -l"
	if strings.HasSuffix(path, ".gz") {
		cmd, label = "gzip -dc "+path+" | wc -l", "gzip -dc | wc -l"
	}
	if r, ok := floorCache[cmd]; ok {
		return r.label, r.rate
	}
	best := time.Duration(1 << 62)
	var lines float64
	for i := 0; i < 3; i++ {
		start := time.Now()
		out, err := exec.Command("sh", "-c", cmd).Output()
		el := time.Since(start)
		if err != nil {
			return "", 0
		}
		lines, _ = strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
		best = min(best, el)
	}
	r := floorResult{label, lines / best.Seconds()}
	if lines < 1000 {
		r = floorResult{}
	}
	floorCache[cmd] = r
	return r.label, r.rate
}

func human(v float64) string {
	switch {
	case v == 0:
		return "-"
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 2, 64) + " M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', 1, 64) + " k"
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}
