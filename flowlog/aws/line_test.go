package aws

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
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

// warmLine returns a good line of format (the previous line a parser saw
// before the one under test, so that values kept from it are exercised).
func warmLine(format *Format) []byte {
	var gen bytes.Buffer
	flowgen.AWSText(&gen, 1, format.Names(), 11)
	lines := strings.Split(gen.String(), "\n")
	return []byte(lines[1])
}

func checkFastLine(t *testing.T, format *Format, buf []byte) {
	t.Helper()
	newParser := func() *LineParser {
		return &LineParser{Format: format, Tally: &flowlog.Tally{}, In: &flowlog.Interner{}, Source: flowlog.SourceAWSText}
	}
	pf, ps := newParser(), newParser()
	// The fast parser has seen a line of the format before (its kept
	// values must not leak into this one); the slow one starts afresh.
	var warm flowlog.Record
	if !pf.Parse(warmLine(format), 1, &warm) {
		t.Fatalf("warm-up line refused: %q", warmLine(format))
	}
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

// TestKeptValuesSameLength: a string field whose value changes to another
// of the same length (or the same first eight bytes) is not taken for the
// previous line's value, nor an address for a cached one.
func TestKeptValuesSameLength(t *testing.T) {
	format := mustFormat(flowgen.AWSV5Fields)
	first := string(warmLine(format))
	p := &LineParser{Format: format, Tally: &flowlog.Tally{}, In: &flowlog.Interner{}, Source: flowlog.SourceAWSText}
	var rec flowlog.Record
	if !p.Parse([]byte(first), 1, &rec) {
		t.Fatal("first line refused")
	}
	toks := strings.Split(first, " ")
	for i, name := range flowgen.AWSV5Fields {
		old := toks[i]
		if old == "-" || !contains([]string{"account-id", "interface-id", "vpc-id", "subnet-id", "instance-id",
			"type", "region", "az-id", "sublocation-id", "srcaddr", "dstaddr", "pkt-srcaddr"}, name) {
			continue
		}
		repls := []string{
			strings.Repeat("x", len(old)),         // same length
			old[:len(old)-1] + "Z",                // same but the last byte
			old[:min(8, len(old))] + "-tail-q17z", // same first eight bytes
		}
		if name == "srcaddr" || name == "dstaddr" || name == "pkt-srcaddr" {
			// Another address of the same length (the quad cache).
			last := old[len(old)-1]
			if last == '9' {
				last = '7'
			}
			repls = []string{old[:len(old)-1] + string(last+1), "2001:db8::1"}
		}
		for _, repl := range repls {
			line := append([]string{}, toks...)
			line[i] = repl
			for _, l := range []string{strings.Join(line, " "), first} { // and back
				fresh := &LineParser{Format: format, Tally: &flowlog.Tally{}, In: &flowlog.Interner{}, Source: flowlog.SourceAWSText}
				var want flowlog.Record
				if !fresh.Parse([]byte(l), 1, &want) || !p.Parse([]byte(l), 2, &rec) {
					t.Fatalf("%s: line refused: %q", name, l)
				}
				if jw, jg := flowlog.AppendJSON(nil, &want), flowlog.AppendJSON(nil, &rec); !bytes.Equal(jw, jg) {
					t.Fatalf("%s = %q after %q:\nwant %s\ngot  %s", name, repl, old, jw, jg)
				}
			}
		}
	}
}

// TestQuadCache: many addresses that share their first bytes, read by one
// parser (the quad cache sees every kind of collision), each come out as
// netip reads them, and so does a line after a field that is not a quad.
func TestQuadCache(t *testing.T) {
	p := &LineParser{Format: DefaultFormat, Tally: &flowlog.Tally{}, In: &flowlog.Interner{}, Source: flowlog.SourceAWSText}
	var rec flowlog.Record
	for a := 0; a < 256; a++ {
		for b := 0; b < 256; b += 3 {
			src := fmt.Sprintf("10.0.%d.%d", a, b)
			dst := fmt.Sprintf("192.168.%d.%d", b, a)
			line := "2 123456789012 eni-1 " + src + " " + dst + " 443 80 6 1 1 1 1 ACCEPT OK"
			if !p.Parse([]byte(line), 1, &rec) {
				t.Fatalf("refused: %q", line)
			}
			if rec.Src != netip.MustParseAddr(src) || rec.Dst != netip.MustParseAddr(dst) {
				t.Fatalf("%q: got %v %v", line, rec.Src, rec.Dst)
			}
		}
	}
}

// TestGeneratorFormats: the generator's formats are the ones the
// straight-line parsers take (flowgen keeps its own copies: it cannot
// import this package), so benchmarks on generated files measure them.
func TestGeneratorFormats(t *testing.T) {
	if !slices.Equal(flowgen.AWSDefaultFields, DefaultFields) || !slices.Equal(flowgen.AWSV5Fields, V5Fields) {
		t.Fatalf("flowgen formats differ:\n%v\n%v\n%v\n%v", flowgen.AWSDefaultFields, DefaultFields, flowgen.AWSV5Fields, V5Fields)
	}
}
