package csvrow

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

type row struct {
	line  int64
	cells []string
	bad   bool
}

func scanAll(t testing.TB, in string, skipBlank bool) ([]row, *Scanner) {
	t.Helper()
	s := New(strings.NewReader(in))
	s.SkipBlank = skipBlank
	var rows []row
	for s.Next() {
		r := row{line: s.Line, bad: s.Bad != ""}
		if !r.bad {
			r.cells = []string{}
			for _, c := range s.Cells {
				r.cells = append(r.cells, string(c))
			}
		}
		rows = append(rows, r)
	}
	return rows, s
}

func TestScanner(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []row
	}{
		{"plain", "a,b,c\n1,2,3\n", []row{{1, []string{"a", "b", "c"}, false}, {2, []string{"1", "2", "3"}, false}}},
		{"quoted", `"a","b,c","d""e"` + "\n", []row{{1, []string{"a", "b,c", `d"e`}, false}}},
		{"crlf and no final newline", "\"a\",\"b\"\r\n\"c\",\"d\"", []row{{1, []string{"a", "b"}, false}, {2, []string{"c", "d"}, false}}},
		{"empty cells", `,"",x,` + "\n", []row{{1, []string{"", "", "x", ""}, false}}},
		{"quoted newline keeps the first line number", "\"h\"\n\"a\nb\r\nc\",\"d\"\n\"e\"\n",
			[]row{{1, []string{"h"}, false}, {2, []string{"a\nb\nc", "d"}, false}, {5, []string{"e"}, false}}},
		{"empty lines skipped", "a\n\n\nb\n", []row{{1, []string{"a"}, false}, {4, []string{"b"}, false}}},
		{"blank line is a row without SkipBlank", "a\n  \nb\n", []row{{1, []string{"a"}, false}, {2, []string{"  "}, false}, {3, []string{"b"}, false}}},
		{"bare quote", "a,b\"c\nd\n", []row{{1, nil, true}, {2, []string{"d"}, false}}},
		{"text after closing quote", "\"a\"x,b\nd\n", []row{{1, nil, true}, {2, []string{"d"}, false}}},
		{"space after closing quote", "\"a\" ,b\nd\n", []row{{1, nil, true}, {2, []string{"d"}, false}}},
		// A stray opening quote must not swallow the following rows: the row
		// is reported at its first line and reading resumes on the next one.
		{"stray quote resumes on the next line", "\"a,b\n\"c\",\"d\"\n\"e\",\"f\"\n",
			[]row{{1, nil, true}, {2, []string{"c", "d"}, false}, {3, []string{"e", "f"}, false}}},
		{"unclosed quote at the end", "\"x\"\n\"a\nb\nc\n", []row{{1, []string{"x"}, false}, {2, nil, true}, {3, []string{"b"}, false}, {4, []string{"c"}, false}}},
		{"nested resume", "\"a\n\"b\n\"c\",\"d\"\n", []row{{1, nil, true}, {2, nil, true}, {3, []string{"c", "d"}, false}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _ := scanAll(t, c.in, false)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestScannerSkipBlank(t *testing.T) {
	got, s := scanAll(t, "a\n \t\n\nb\n", true)
	want := []row{{1, []string{"a"}, false}, {4, []string{"b"}, false}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if s.Blank != 2 {
		t.Errorf("Blank = %d, want 2", s.Blank)
	}
}

func TestScannerRowLineBound(t *testing.T) {
	// An opening quote followed by many unquoted lines: the row is given up
	// after MaxRowLines lines and every later line is still read.
	var b strings.Builder
	b.WriteString("\"open\n")
	for i := 0; i < MaxRowLines+10; i++ {
		b.WriteString("x,y\n")
	}
	got, _ := scanAll(t, b.String(), false)
	if len(got) != MaxRowLines+11 || !got[0].bad || got[0].line != 1 {
		t.Fatalf("got %d rows, first %+v", len(got), got[0])
	}
	for i, r := range got[1:] {
		if r.bad || r.line != int64(i+2) || len(r.cells) != 2 {
			t.Fatalf("row %d: %+v", i+1, r)
		}
	}
}

type errAfter struct {
	r   io.Reader
	err error
}

func (e *errAfter) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		err = e.err
	}
	return n, err
}

func TestScannerReadError(t *testing.T) {
	damage := errors.New("damaged")
	for _, c := range []struct {
		in   string
		rows int
		at   int64
	}{
		{"\"a\"\n\"b\"\n\"c", 2, 3},      // partial last line is not a row
		{"\"a\"\n\"b\nmore\npart", 1, 2}, // row open across lines at the damage
	} {
		s := New(&errAfter{r: strings.NewReader(c.in), err: damage})
		n := 0
		for s.Next() {
			if s.Bad != "" {
				t.Errorf("%q: unexpected quoting error at %d: %s", c.in, s.Line, s.Bad)
			}
			n++
		}
		if !errors.Is(s.Err(), damage) || n != c.rows || s.TruncatedAt() != c.at {
			t.Errorf("%q: rows %d err %v at %d; want %d rows, damage at %d", c.in, n, s.Err(), s.TruncatedAt(), c.rows, c.at)
		}
	}
}

func TestScannerNoAllocs(t *testing.T) {
	line := `"flow_log","log_service","1720775540","-","vpc-bp1qf0c43jb3maz******","a""b","x` + "\n" + `y"` + "\n"
	in := strings.Repeat(line, 2000)
	s := New(strings.NewReader(in))
	for i := 0; i < 10; i++ {
		s.Next()
	}
	allocs := testing.AllocsPerRun(500, func() {
		if !s.Next() || s.Bad != "" || len(s.Cells) != 7 {
			t.Fatalf("row %d: %q %q", s.Line, s.Bad, s.Cells)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per row", allocs)
	}
}

// FuzzScanner compares the scanner with encoding/csv (FieldsPerRecord -1,
// no LazyQuotes): the same rows with the same first lines, and a quoting
// error at the same row when encoding/csv reports one.
func FuzzScanner(f *testing.F) {
	for _, p := range []string{"alibaba/sls-export-examples.csv", "bad/alibaba-sls-mixed.csv"} {
		if b, err := os.ReadFile(filepath.Join("../../../../shared/reference/samples", p)); err == nil {
			f.Add(b)
		} else {
			f.Fatal(err)
		}
	}
	f.Add([]byte("timestamp,message\n1742570569000,2 627286350134 eni-0eb1e4178af74336c - - - - - - - 1742570569 1742570622 - NODATA\n"))
	f.Add([]byte("\"a\nb\",\"c\"\"d\"\r\n\n,\r\n\"\"\n"))
	f.Add([]byte("a\"b\n\"c\"d\n\"e"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.Count(data, []byte("\n")) >= MaxRowLines {
			return // the scanner bounds quoted cells; encoding/csv does not
		}
		cr := csv.NewReader(bytes.NewReader(data))
		cr.FieldsPerRecord = -1
		var want []row
		var csvErr *csv.ParseError
		for {
			rec, err := cr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				if !errors.As(err, &csvErr) {
					t.Fatalf("encoding/csv: %v", err)
				}
				break
			}
			line, _ := cr.FieldPos(0)
			want = append(want, row{line: int64(line), cells: rec})
		}
		s := New(bytes.NewReader(data))
		var got []row
		var bad int64
		prev := int64(0)
		for s.Next() {
			if s.Line <= prev {
				t.Fatalf("row line %d after %d", s.Line, prev)
			}
			prev = s.Line
			if s.Bad != "" {
				if bad == 0 {
					bad = s.Line
				}
				continue
			}
			if bad != 0 {
				continue
			}
			r := row{line: s.Line, cells: []string{}}
			for _, c := range s.Cells {
				r.cells = append(r.cells, string(c))
			}
			got = append(got, r)
		}
		if len(want) == 0 {
			want = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("rows differ\ngot  %+v\nwant %+v", got, want)
		}
		switch {
		case csvErr == nil && bad != 0:
			t.Fatalf("scanner reports a quoting error at line %d, encoding/csv none", bad)
		case csvErr != nil && bad != int64(csvErr.StartLine):
			t.Fatalf("encoding/csv: %v; scanner's first quoting error at line %d", csvErr, bad)
		}
	})
}

func TestScannerTrimBOM(t *testing.T) {
	in := "\xef\xbb\xbf\"a\",\"b\"\n\xef\xbb\xbf\"c\"\n"
	s := New(strings.NewReader(in))
	s.TrimBOM = true
	if !s.Next() || s.Bad != "" || string(s.Cells[0]) != "a" {
		t.Fatalf("first row %q %q", s.Bad, s.Cells)
	}
	// Only the start of the input holds a BOM; elsewhere it is data.
	if !s.Next() || s.Bad == "" {
		t.Errorf("BOM on line 2 was dropped: %q", s.Cells)
	}
}
