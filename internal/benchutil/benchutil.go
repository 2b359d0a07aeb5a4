// Package benchutil reports per-record figures from Go benchmarks in the one
// shape `make bench` parses: records/s and allocs/record as custom metrics.
// It is used only by _test.go files.
package benchutil

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Meter measures allocations over a benchmark loop. Call Start after setup
// and Stop with the number of records processed in all b.N iterations.
type Meter struct {
	b       *testing.B
	mallocs uint64
	cpu     time.Duration
}

// cpuTime is the process's user+system CPU time. On a shared, loaded
// machine records per CPU-second is steadier than per wall-second.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Start resets the timer and begins counting allocations.
func Start(b *testing.B) *Meter {
	b.ReportAllocs()
	// Collect the setup's garbage (generated inputs) now, so that no
	// collection started by the setup runs into the measured part.
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ResetTimer()
	return &Meter{b: b, mallocs: ms.Mallocs, cpu: cpuTime()}
}

// Stop reports records/s and allocs/record for records processed in total.
func (m *Meter) Stop(records int64) {
	m.b.StopTimer()
	cpu := cpuTime() - m.cpu
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if records <= 0 {
		m.b.Fatalf("benchmark processed no records")
	}
	m.b.ReportMetric(float64(records)/m.b.Elapsed().Seconds(), "records/s")
	m.b.ReportMetric(float64(ms.Mallocs-m.mallocs)/float64(records), "allocs/record")
	if cpu > 0 {
		m.b.ReportMetric(float64(records)/cpu.Seconds(), "cpu-records/s")
	}
}

// Dir is where generated benchmark inputs are cached: $FLOWSIFT_BENCH_DIR,
// else .bench/ at the repository root (found from the test's directory).
func Dir(b testing.TB) string {
	if d := os.Getenv("FLOWSIFT_BENCH_DIR"); d != "" {
		os.MkdirAll(d, 0o755)
		return d
	}
	wd, _ := os.Getwd()
	for d := wd; d != "/" && d != "."; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			out := filepath.Join(d, ".bench")
			os.MkdirAll(out, 0o755)
			return out
		}
	}
	return b.TempDir()
}

// File returns the path of a cached generated input, creating it with gen
// when missing.
func File(b testing.TB, name string, gen func(path string) error) string {
	p := filepath.Join(Dir(b), name)
	defer record(b, p)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	tmp := p + ".tmp"
	if err := gen(tmp); err != nil {
		b.Fatalf("generating %s: %v", name, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		b.Fatal(err)
	}
	return p
}

// record notes in index.tsv which input a benchmark used, so that `make
// bench` can time its baseline (wc -l, gzip -dc) on the very same file.
func record(b testing.TB, path string) {
	name := b.Name()
	if i := strings.IndexByte(name, '/'); i >= 0 {
		name = name[:i]
	}
	idx := filepath.Join(filepath.Dir(path), "index.tsv")
	line := name + "\t" + filepath.Base(path) + "\n"
	if old, err := os.ReadFile(idx); err == nil && strings.Contains(string(old), line) {
		return
	}
	f, err := os.OpenFile(idx, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	f.WriteString(line)
}
