package input

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowsift/flowsift/flowlog"
)

// FuzzNewReader drives detection and every reader behind it with arbitrary
// bytes, seeded from every sample (good and bad, gzip and Parquet included):
// no panic, every record has both addresses and prints as valid JSON, and an
// input either is usable or produced no record.
func FuzzNewReader(f *testing.F) {
	var seeds []string
	for _, dir := range []string{"aws", "gcp", "azure", "alibaba", "bad"} {
		filepath.Walk(filepath.Join(samplesDir, dir), func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() && filepath.Ext(p) != ".expected" && info.Size() < 64<<10 {
				seeds = append(seeds, p)
			}
			return nil
		})
	}
	if len(seeds) < 30 {
		f.Fatalf("only %d seeds", len(seeds))
	}
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		watchdog := time.AfterFunc(20*time.Second, func() {
			os.WriteFile("/tmp/hang.bin", data, 0o644)
			panic("FuzzNewReader: input hangs (saved to /tmp/hang.bin)")
		})
		defer watchdog.Stop()
		tally := &flowlog.Tally{Path: "fuzz"}
		r, _ := NewReader(bytes.NewReader(data), tally, &Options{})
		if r == nil {
			return
		}
		if c, ok := r.(io.Closer); ok {
			defer c.Close()
		}
		var rec flowlog.Record
		n := int64(0)
		for r.Next(&rec) && n < 1e6 {
			n++
			if !rec.Src.IsValid() || !rec.Dst.IsValid() {
				t.Fatalf("record without addresses: %s", flowlog.AppendJSON(nil, &rec))
			}
			if js := flowlog.AppendJSON(nil, &rec); !json.Valid(js) {
				t.Fatalf("invalid JSON: %s", js)
			}
		}
		if n != tally.Records {
			t.Fatalf("reader returned %d records, tally counts %d", n, tally.Records)
		}
	})
}
