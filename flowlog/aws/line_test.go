package aws

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/flowgen"
)

// fastFormats are the formats FuzzFastPath tries each line with.
var fastFormats = []*Format{DefaultFormat, mustFormat(flowgen.AWSV5Fields), mustFormat(TGWDefaultFields)}

// FuzzFastPath: whenever the one-pass fast path accepts a line, the
// field-by-field path accepts it too and both give the same record (same
// JSON, same core fields, same optional keys), whatever bytes follow the
// line in memory and whether or not the line must be copied first.
func FuzzFastPath(f *testing.F) {
	var gen bytes.Buffer
	flowgen.AWSText(&gen, 30, flowgen.AWSV5Fields, 7)
	flowgen.AWSText(&gen, 30, nil, 8)
	flowgen.AWSText(&gen, 10, TGWDefaultFields, 9)
	lines := strings.Split(gen.String(), "\n")
	paths, _ := filepath.Glob("../../../shared/reference/samples/aws/*.log")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		lines = append(lines, strings.Split(string(b), "\n")...)
	}
	lines = append(lines,
		"2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 65536 6 1 1 1 1 ACCEPT OK",
		"2 123456789012 eni-1 2001:db8::1 10.0.0.2 443 80 6 1 1 1 1 ACCEPT OK",
		"2 123456789012 eni-1 10.0.0.1 10.0.0.2 - - - - - - - - -",
		"2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 80 6 1 12345678901234567890 1 1 ACCEPT OK",
		"2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 80 6 1 1234567890123456 1 1 REJECT OK",
		"2 123456789012 eni-1  10.0.0.1 10.0.0.2 443 80 6 1 1 1 1 ACCEPT OK",
		"2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 80 6 1 1 1 1 ACCEPT OK ",
		"2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 80 6 1 1 1 1 ACCEPT\tOK",
		"2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 80 6 1 1 1 1 ACCEPT NODATA")
	for _, l := range lines {
		if l != "" {
			f.Add(l, uint8(0), byte('7'))
		}
	}
	f.Fuzz(func(t *testing.T, line string, which uint8, junk byte) {
		format := fastFormats[int(which)%len(fastFormats)]
		// The line followed by junk in the same buffer, and the line alone
		// (no room after it: the fast path copies it).
		roomy := append([]byte(line), bytes.Repeat([]byte{junk}, 40)...)[:len(line)]
		tight := []byte(line)
		for _, buf := range [][]byte{roomy, tight} {
			checkFastLine(t, format, buf)
		}
	})
}

func checkFastLine(t *testing.T, format *Format, buf []byte) {
	t.Helper()
	newParser := func() *LineParser {
		return &LineParser{Format: format, Tally: &flowlog.Tally{}, In: &flowlog.Interner{}, Source: flowlog.SourceAWSText}
	}
	pf, ps := newParser(), newParser()
	var rf, rs flowlog.Record
	rf.Attrs = append(rf.Attrs, flowlog.Attr{Key: 1, Str: "stale"}) // must be cleared
	if !pf.fast(buf, &rf) {
		return
	}
	if !ps.slow(buf, 1, &rs) {
		t.Fatalf("fast accepts %q, slow rejects it", buf)
	}
	pf.finish(&rf)
	ps.finish(&rs)
	jf, js := flowlog.AppendJSON(nil, &rf), flowlog.AppendJSON(nil, &rs)
	if !bytes.Equal(jf, js) {
		t.Fatalf("line %q:\nfast %s\nslow %s", buf, jf, js)
	}
	af, as := rf.Attrs, rs.Attrs
	rf.Attrs, rs.Attrs = nil, nil
	if !reflect.DeepEqual(rf, rs) || len(af) != len(as) {
		t.Fatalf("line %q: records differ:\nfast %+v %v\nslow %+v %v", buf, rf, af, rs, as)
	}
	for i := range af {
		if af[i] != as[i] {
			t.Fatalf("line %q: attr %d: fast %+v, slow %+v", buf, i, af[i], as[i])
		}
	}
}

// TestFastPathTakesGoodLines: well-formed generated lines take the fast
// path (the slow one would give the same records, only slower).
func TestFastPathTakesGoodLines(t *testing.T) {
	for _, fields := range [][]string{nil, flowgen.AWSV5Fields, TGWDefaultFields} {
		var gen bytes.Buffer
		flowgen.AWSText(&gen, 200, fields, 3)
		format := DefaultFormat
		data := gen.String()
		if fields != nil {
			format = mustFormat(fields)
			data = data[strings.IndexByte(data, '\n')+1:]
		}
		p := &LineParser{Format: format, Tally: &flowlog.Tally{}, In: &flowlog.Interner{}}
		var rec flowlog.Record
		for _, l := range strings.Split(strings.TrimSuffix(data, "\n"), "\n") {
			if strings.Contains(l, " NODATA") || strings.Contains(l, " SKIPDATA") {
				continue
			}
			if !p.fast([]byte(l), &rec) {
				t.Errorf("fast path refuses a good line: %q", l)
			}
			checkFastLine(t, format, []byte(l))
		}
	}
}
