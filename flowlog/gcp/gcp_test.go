package gcp

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/flowsift/flowsift/flowlog"
)

func TestParseRFC3339(t *testing.T) {
	for in, want := range map[string]int64{
		"1970-01-01T00:00:00Z":           0,
		"2019-06-14T03:40:37.9Z":         1560483637,
		"2019-06-14T05:40:37.1+02:00":    1560483637,
		"2019-06-13T23:40:37.999-04:00":  1560483637,
		"1969-12-31T23:59:59.999999999Z": -1,
		"2000-02-29T12:00:00Z":           951825600,
		"0001-01-01T00:00:00Z":           -62135596800,
	} {
		got, ok := ParseRFC3339([]byte(in))
		if !ok || got != want {
			t.Errorf("%s: %d %v, want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "2019-06-14T03:40:37", "2019-13-14T03:40:37Z", "2019-06-31T03:40:37Z", "2019-06-14T03:60:37Z",
		"2019-06-14T03:40:37+24:00", "2019-06-14T03:40:37.+00:00", "2019-06-14T03:40:37ZZ", "2019-06-14 03:40:37Z", "+019-06-14T03:40:37Z"} {
		if _, ok := ParseRFC3339([]byte(in)); ok {
			t.Errorf("%q accepted", in)
		}
	}
}

// FuzzDecode: no panic; an entry gives a record (whose JSONL parses and has
// both addresses) or exactly one report.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"beats-vpc-flows-lines1-8.ndjson", "beats-firewall-lines1-3-15.ndjson", "beats-firewall-rare-protocol-name.ndjson"} {
		file, err := os.Open(filepath.Join("../../../shared/reference/samples/gcp", name))
		if err != nil {
			f.Fatal(err)
		}
		sc := bufio.NewScanner(file)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			f.Add(bytes.Clone(sc.Bytes()))
		}
		file.Close()
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p fastjson.Parser
		v, err := p.ParseBytes(b)
		if err != nil {
			return
		}
		tally := &flowlog.Tally{}
		d := NewDecoder(tally)
		var rec flowlog.Record
		ok := d.Decode(v, 1, &rec)
		if ok != (tally.MalformedTotal() == 0) || tally.MalformedTotal() > 1 {
			t.Fatalf("ok=%v with %d reports", ok, tally.MalformedTotal())
		}
		if ok {
			if !rec.Src.IsValid() || !rec.Dst.IsValid() {
				t.Fatal("record without addresses")
			}
			if _, err := fastjson.ParseBytes(flowlog.AppendJSON(nil, &rec)); err != nil {
				t.Fatal(err)
			}
		}
	})
}
