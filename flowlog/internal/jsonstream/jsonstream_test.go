package jsonstream

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

const samples = "../../../../shared/reference/samples"

func items(t testing.TB, data []byte, small bool) []Item {
	var r = bytes.NewReader(data)
	d := NewDoc(r, 0, "records", "logEvents")
	if small { // one byte per read: every refill path runs
		d = NewDoc(iotest.OneByteReader(bytes.NewReader(data)), 0, "records", "logEvents")
	}
	var out []Item
	for {
		it, ok := d.Next()
		if !ok {
			return out
		}
		it.Value = append([]byte(nil), it.Value...)
		it.Header = append([]byte(nil), it.Header...)
		out = append(out, it)
		if len(out) > 1e6 {
			t.Fatal("runaway")
		}
	}
}

func TestDocShapes(t *testing.T) {
	doc := "\xef\xbb\xbf[\n {\"a\":\"x]}\\\"\"},\n\n {\"b\":[1,{\"c\":2}]}\n]\n{\"k\":1,\n\"records\":[{\"r\":1}, {\"r\":2}],\"z\":3}\n{\"o\":\n1}\n"
	for _, small := range []bool{false, true} {
		its := items(t, []byte(doc), small)
		var got []string
		for _, it := range its {
			got = append(got, string(it.Value)+"@"+itoa(it.Pos)+"/"+itoa(it.Line)+":"+it.Key+":"+string(it.Header))
		}
		want := []string{`{"a":"x]}\""}@1/2::`, `{"b":[1,{"c":2}]}@2/4::`, `{"r":1}@3/7:records:{"k":1}`, `{"r":2}@4/7:records:{"k":1}`, `{"o":1}@8/8::`}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("small=%v\n got %q\nwant %q", small, got, want)
		}
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestTruncatedAndTooLarge(t *testing.T) {
	its := items(t, []byte(`{"records":[{"a":1},{"b":"`), false)
	if len(its) != 2 || its[1].Err != ErrTruncated || its[1].Pos != 2 {
		t.Errorf("%+v", its)
	}
	big := `[{"a":"` + strings.Repeat("x", 300) + `"},{"b":1}]`
	d := NewDoc(strings.NewReader(big), 100, "records")
	it, _ := d.Next()
	it2, _ := d.Next()
	if it.Err != ErrTooLarge || it.Pos != 1 || it2.Err != nil || string(it2.Value) != `{"b":1}` {
		t.Errorf("%+v %+v", it, it2)
	}
}

func seeds(f *testing.F) {
	for _, dir := range []string{"gcp", "azure", "bad"} {
		filepath.Walk(filepath.Join(samples, dir), func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() && (strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".ndjson")) {
				if b, err := os.ReadFile(p); err == nil {
					f.Add(b)
				}
			}
			return nil
		})
	}
	f.Add([]byte(`{"messageType":"DATA_MESSAGE","logEvents":[{"message":"x"}]}`))
}

// FuzzDoc: no panic, termination, and every item the splitter delimits
// from valid JSON input is itself valid JSON; positions of elements
// increase; item lines lie within the input's lines.
func FuzzDoc(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		its := items(t, data, len(data)%2 == 1)
		lines := int64(bytes.Count(data, []byte("\n")) + 1)
		valid := json.Valid(data)
		var last int64
		for _, it := range its {
			if it.Line < 1 || it.Line > lines {
				t.Fatalf("line %d outside 1..%d", it.Line, lines)
			}
			if it.Err == nil && valid && !json.Valid(it.Value) {
				t.Fatalf("invalid element %q from valid input", it.Value)
			}
			if valid && it.Err != nil {
				t.Fatalf("error %v on valid input", it.Err)
			}
			if it.In == Element {
				if it.Pos <= last && it.Err == nil {
					t.Fatalf("element positions not increasing: %d after %d", it.Pos, last)
				}
				last = it.Pos
			}
		}
	})
}
