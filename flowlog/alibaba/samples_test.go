package alibaba

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/internal/lex"
)

// The shared reference samples, used in place, and the goldens that the
// end-to-end test in flowlog/input compares with (one golden per sample).
const (
	samplesDir = "../../../shared/reference/samples"
	goldenDir  = "../input/testdata/golden/alibaba"
)

type collected struct {
	tally flowlog.Tally
	probs []flowlog.Problem
	jsonl bytes.Buffer
}

func newCollected(path string) *collected {
	c := &collected{}
	c.tally.Path = path
	c.tally.OnProblem = func(p flowlog.Problem) { c.probs = append(c.probs, p) }
	return c
}

func (c *collected) add(rec *flowlog.Record) {
	c.jsonl.Write(flowlog.AppendJSON(nil, rec))
	c.jsonl.WriteByte('\n')
}

// positions renders the reports as "POS:KIND" in position order.
func (c *collected) positions() []string {
	var out []string
	for _, p := range c.probs {
		out = append(out, strconv.FormatInt(p.Pos, 10)+":"+p.Kind.String())
	}
	sort.Strings(out)
	return out
}

// decodeNDJSON plays the JSON reader's part for NDJSON: one value per
// non-blank line, bad-json for a line that does not parse, Records counted
// here (DecodeJSON does not count them).
func decodeNDJSON(t testing.TB, path string, data []byte) *collected {
	t.Helper()
	c := newCollected(path)
	d := NewDecoder(&c.tally, flowlog.SourceAlibabaJSON)
	var p fastjson.Parser
	var rec flowlog.Record
	lines := lex.NewLines(bytes.NewReader(data))
	for lines.Next() {
		if lex.IsBlank(lines.Line) {
			c.tally.Blank++
			continue
		}
		v, err := p.ParseBytes(lines.Line)
		if err != nil {
			c.tally.Badf(lines.N, flowlog.KindBadJSON, "%v", err)
			continue
		}
		recordsBefore := c.tally.Records
		if d.DecodeJSON(v, lines.N, &rec) {
			if c.tally.Records != recordsBefore {
				t.Fatalf("DecodeJSON incremented Records")
			}
			c.tally.Records++
			c.add(&rec)
		}
	}
	return c
}

func readSample(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samplesDir, rel))
	if err != nil {
		t.Fatalf("reading the shared samples (is shared/ beside the repository?): %v", err)
	}
	return b
}

// TestSamplesJSON decodes the JSON-lines samples and compares with the
// goldens, which FORMATS.md 9.5 gives literally for the REJECT row.
func TestSamplesJSON(t *testing.T) {
	for _, name := range []string{"doc-flowlog-examples.jsonl", "sls-export-examples.jsonl"} {
		t.Run(name, func(t *testing.T) {
			c := decodeNDJSON(t, name, readSample(t, "alibaba/"+name))
			for _, p := range c.probs {
				t.Errorf("valid sample reported %s", p)
			}
			// SOURCES.md: 2 records, 2 NODATA+SKIPDATA, 0 malformed.
			if c.tally.Records != 2 || c.tally.NoData != 1 || c.tally.SkipData != 1 {
				t.Errorf("records %d NODATA %d SKIPDATA %d, want 2 1 1", c.tally.Records, c.tally.NoData, c.tally.SkipData)
			}
			want, err := os.ReadFile(filepath.Join(goldenDir, name+".jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			if c.jsonl.String() != string(want) {
				t.Errorf("got\n%s\nwant\n%s", c.jsonl.String(), want)
			}
		})
	}
}

func TestSamplesCSV(t *testing.T) {
	c := readCSV(t, "sls-export-examples.csv", readSample(t, "alibaba/sls-export-examples.csv"))
	for _, p := range c.probs {
		t.Errorf("valid sample reported %s", p)
	}
	if c.tally.Records != 2 || c.tally.NoData != 1 || c.tally.SkipData != 1 || c.tally.Headers != 1 {
		t.Errorf("tally %+v", c.tally)
	}
	if c.tally.Format != flowlog.SourceAlibabaCSV {
		t.Errorf("format %v", c.tally.Format)
	}
	want, err := os.ReadFile(filepath.Join(goldenDir, "sls-export-examples.csv.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if c.jsonl.String() != string(want) {
		t.Errorf("got\n%s\nwant\n%s", c.jsonl.String(), want)
	}
	// The CSV and JSON exports of the same rows give the same records but
	// for the source (FORMATS.md 9.5).
	j := decodeNDJSON(t, "x", readSample(t, "alibaba/sls-export-examples.jsonl"))
	if strings.ReplaceAll(j.jsonl.String(), "alibaba-sls-json", "alibaba-sls-csv") != c.jsonl.String() {
		t.Errorf("CSV and JSON exports differ:\n%s\n%s", c.jsonl.String(), j.jsonl.String())
	}
}

func readCSV(t testing.TB, path string, data []byte) *collected {
	t.Helper()
	c := newCollected(path)
	r := NewCSVReader(bytes.NewReader(data), &c.tally)
	var rec flowlog.Record
	for r.Next(&rec) {
		c.add(&rec)
	}
	if r.Next(&rec) {
		t.Fatalf("Next returned a record after the end")
	}
	return c
}

// expected reads the positions and counts of a bad/NAME.expected file.
func expected(t *testing.T, name string) (positions []string, records, nodata int64) {
	f, err := os.Open(filepath.Join(samplesDir, "bad", name+".expected"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	inReported := false
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		key, val, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch {
		case key == "records":
			records, _ = strconv.ParseInt(val, 10, 64)
		case key == "nodata_skipdata":
			nodata, _ = strconv.ParseInt(val, 10, 64)
		case key == "reported":
			inReported = true
		case inReported:
			positions = append(positions, key+":"+val)
		}
	}
	sort.Strings(positions)
	return positions, records, nodata
}

func TestBadSamples(t *testing.T) {
	check := func(t *testing.T, name string, c *collected) {
		pos, records, nodata := expected(t, name)
		if got := c.positions(); strings.Join(got, " ") != strings.Join(pos, " ") {
			t.Errorf("reports %v, want %v", got, pos)
		}
		if c.tally.Records != records || c.tally.NoData+c.tally.SkipData != nodata {
			t.Errorf("records %d, NODATA+SKIPDATA %d; want %d, %d", c.tally.Records, c.tally.NoData+c.tally.SkipData, records, nodata)
		}
		for _, p := range c.probs {
			if p.Detail == "" || p.Path != name {
				t.Errorf("report without detail or path: %+v", p)
			}
		}
	}
	t.Run("alibaba-sls-mixed.jsonl", func(t *testing.T) {
		name := "alibaba-sls-mixed.jsonl"
		check(t, name, decodeNDJSON(t, name, readSample(t, "bad/"+name)))
	})
	t.Run("alibaba-sls-mixed.csv", func(t *testing.T) {
		name := "alibaba-sls-mixed.csv"
		check(t, name, readCSV(t, name, readSample(t, "bad/"+name)))
	})
	t.Run("alibaba-sls-doc-masked-ip.json", func(t *testing.T) {
		// A pretty-printed single object: document mode, position = the
		// object's first line (the JSON reader's job; played here).
		name := "alibaba-sls-doc-masked-ip.json"
		c := newCollected(name)
		v, err := fastjson.ParseBytes(readSample(t, "bad/"+name))
		if err != nil {
			t.Fatal(err)
		}
		var rec flowlog.Record
		if NewDecoder(&c.tally, flowlog.SourceAlibabaJSON).DecodeJSON(v, 1, &rec) {
			c.tally.Records++
		}
		check(t, name, c)
		if len(c.probs) == 1 && !strings.Contains(c.probs[0].Detail, "172.16.XX.XX") {
			t.Errorf("detail %q does not name the address", c.probs[0].Detail)
		}
	})
}
