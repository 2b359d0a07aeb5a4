package aws

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/flowgen"
)

// specFormats are the formats with a straight-line parser.
var specFormats = []*Format{DefaultFormat, mustFormat(V5Fields)}

// TestSpecFormats: the formats named by V5Fields and DefaultFields get
// their straight-line parser; flowgen's v5 format is V5Fields; any other
// order (one swap) gets none.
func TestSpecFormats(t *testing.T) {
	if got := mustFormat(V5Fields).spec; got != specV5 {
		t.Errorf("V5Fields: spec %d", got)
	}
	if got := DefaultFormat.spec; got != specV2 {
		t.Errorf("DefaultFields: spec %d", got)
	}
	if !reflect.DeepEqual(V5Fields, flowgen.AWSV5Fields) {
		t.Errorf("flowgen.AWSV5Fields differs from V5Fields")
	}
	for _, fields := range [][]string{V5Fields, DefaultFields} {
		sw := append([]string{}, fields...)
		sw[3], sw[4] = sw[4], sw[3]
		if got := mustFormat(sw).spec; got != specNone {
			t.Errorf("%v: spec %d", sw, got)
		}
		if got := mustFormat(fields[:len(fields)-1]).spec; got != specNone {
			t.Errorf("%v: spec %d", fields[:len(fields)-1], got)
		}
	}
}

// generalOf returns format without its straight-line parser.
func generalOf(f *Format) *Format {
	g := *f
	g.spec = specNone
	return &g
}

// parseResult is everything Parse produces for one line.
type parseResult struct {
	ok       bool
	json     string
	rec      flowlog.Record
	attrs    []flowlog.Attr
	problems []flowlog.Problem
	tally    flowlog.Tally
}

func parseWith(p *LineParser, line []byte, pos int64) parseResult {
	var r parseResult
	var probs []flowlog.Problem
	p.Tally.OnProblem = func(pr flowlog.Problem) { probs = append(probs, pr) }
	before := *p.Tally
	r.rec.Attrs = append(r.rec.Attrs, flowlog.Attr{Key: 1, Str: "stale"}) // must be cleared
	r.ok = p.Parse(line, pos, &r.rec)
	if r.ok {
		r.json = string(flowlog.AppendJSON(nil, &r.rec))
	}
	r.attrs = append([]flowlog.Attr(nil), r.rec.Attrs...)
	r.rec.Attrs = nil
	r.problems = probs
	r.tally = *p.Tally
	r.tally.OnProblem = nil
	// The counts this line added.
	r.tally.Records -= before.Records
	r.tally.NoData -= before.NoData
	r.tally.SkipData -= before.SkipData
	r.tally.BadPktIP -= before.BadPktIP
	for k := range r.tally.Malformed {
		r.tally.Malformed[k] -= before.Malformed[k]
	}
	return r
}

// specPair is a parser with the straight-line path and one without it,
// over the same format, fed the same lines.
type specPair struct {
	spec, gen *LineParser
}

func newSpecPair(f *Format) specPair {
	mk := func(f *Format) *LineParser {
		return &LineParser{Format: f, Tally: &flowlog.Tally{}, In: &flowlog.Interner{}, Source: flowlog.SourceAWSText}
	}
	return specPair{mk(f), mk(generalOf(f))}
}

// check parses line with both and fails on any difference: accepted or
// not, record, optional keys, problems reported, counters.
func (sp specPair) check(t *testing.T, line []byte) (accepted bool) {
	t.Helper()
	rs := parseWith(sp.spec, line, 7)
	rg := parseWith(sp.gen, line, 7)
	if !reflect.DeepEqual(rs, rg) {
		t.Fatalf("line %q:\nspecialized %+v\ngeneral     %+v", line, rs, rg)
	}
	return rs.ok
}

// mutations are values that make a field bad, unusual or differently good.
var mutations = []string{"-", "", "0", "00", "007", "65535", "65536", "255", "256", "2147483647",
	"2147483648", "9223372036854775807", "9223372036854775808", "99999999999999999999", "12345678",
	"123456789", "1234567890123456", "12345678901234567", "-1", "+1", "1.5", "x", "NODATA", "SKIPDATA",
	"OK", "ok", "ACCEPT", "REJECT", "ACCEPTED", "ingress", "egress", "egres", "ingresss", "1.2.3.4",
	"01.2.3.4", "1.2.3.256", "10.0.0.1", "::1", "2001:db8::1", "::ffff:1.2.3.4", "fe80::1%eth0",
	"1.2.3.4.5", "255.255.255.255", "eni-0123456789abcdef0", "i-0123456789abcdef0", "us-east-1",
	"vpc-0a1b2c3d4e5f60718", "a\tb", "é", "IPv6"}

// mutateLine changes a good line in one of the ways a real file goes bad.
func mutateLine(r *rand.Rand, line string) string {
	if len(line) < 2 || !strings.Contains(line, " ") {
		return line + " " + mutations[r.IntN(len(mutations))]
	}
	toks := strings.Split(line, " ")
	switch r.IntN(10) {
	case 0, 1, 2, 3: // a field gets another value
		toks[r.IntN(len(toks))] = mutations[r.IntN(len(mutations))]
	case 4: // a field is copied from another position
		toks[r.IntN(len(toks))] = toks[r.IntN(len(toks))]
	case 5: // a field is dropped or added
		k := r.IntN(len(toks))
		if r.IntN(2) == 0 {
			toks = append(toks[:k], toks[k+1:]...)
		} else {
			toks = append(toks[:k], append([]string{mutations[r.IntN(len(mutations))]}, toks[k:]...)...)
		}
	case 6: // another separator
		k := r.IntN(len(toks) - 1)
		toks[k] += []string{"\t", " ", "\r", "\x00"}[r.IntN(4)]
	case 7: // a byte changes
		b := []byte(line)
		b[r.IntN(len(b))] = byte(r.IntN(256))
		return string(b)
	case 8: // cut short
		return line[:r.IntN(len(line)+1)]
	case 9: // a trailing space or tab
		return line + []string{" ", "\t", "  "}[r.IntN(3)]
	}
	return strings.Join(toks, " ")
}

// specLines returns good lines of f (no header).
func specLines(f *Format, n int, seed uint64) []string {
	var gen bytes.Buffer
	fields := f.Names()
	flowgen.AWSText(&gen, n, fields, seed)
	lines := strings.Split(strings.TrimSuffix(gen.String(), "\n"), "\n")
	return lines[1:] // the header
}

// TestSpecEqualsGeneral is the oracle test of the straight-line parsers:
// on good lines and on lines mutated in every way a file goes bad, fed in
// sequence to one parser of each kind (kept values carry over), in a
// buffer with room after the line and in one without, the straight-line
// path and the general plan give the same results: same records, same
// optional keys, same problems, same counters.
func TestSpecEqualsGeneral(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, f := range specFormats {
		good := specLines(f, 2000, 5)
		sp := newSpecPair(f)
		accepted, mutated := 0, 0
		for i := 0; i < 30000; i++ {
			line := good[r.IntN(len(good))]
			if r.IntN(3) > 0 {
				line = mutateLine(r, line)
				if r.IntN(4) == 0 {
					line = mutateLine(r, line)
				}
				mutated++
			}
			buf := []byte(line)
			if r.IntN(2) == 0 { // room after the line, filled with junk
				junk := bytes.Repeat([]byte{"7 -.a"[r.IntN(5)]}, 40)
				buf = append(buf, junk...)[:len(line)]
			}
			if sp.check(t, buf) {
				accepted++
			}
		}
		if accepted < 10000 || mutated < 15000 {
			t.Errorf("%v: %d lines accepted, %d mutated: the test does not exercise both", f.Names()[:4], accepted, mutated)
		}
	}
}

// TestSpecTakesGoodLines: the straight-line parsers take well-formed
// generated lines themselves (the general plan would give the same
// records, only slower).
func TestSpecTakesGoodLines(t *testing.T) {
	for _, f := range specFormats {
		p := newSpecPair(f).spec
		var rec flowlog.Record
		for _, l := range specLines(f, 500, 9) {
			var ok bool
			switch f.spec {
			case specV5:
				ok = p.fastV5([]byte(l), &rec)
			case specV2:
				ok = p.fastV2([]byte(l), &rec)
			}
			if !ok {
				t.Fatalf("straight-line parser refuses a good line: %q", l)
			}
		}
	}
}

// FuzzSpecPath: on any line, after any good line, the straight-line
// parser and the general plan give the same results.
func FuzzSpecPath(f *testing.F) {
	for _, fm := range specFormats {
		for _, l := range specLines(fm, 20, 13) {
			f.Add(l, uint8(0), byte(' '), uint8(fm.spec))
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, fm := range specFormats {
		for _, l := range specLines(fm, 50, 17) {
			f.Add(mutateLine(r, l), uint8(1), byte('7'), uint8(fm.spec))
		}
	}
	var warms []string
	for _, fm := range specFormats {
		warms = append(warms, specLines(fm, 1, 21)[0])
	}
	f.Fuzz(func(t *testing.T, line string, room uint8, junk byte, which uint8) {
		k := int(which) % len(specFormats)
		fm, warm := specFormats[k], warms[k]
		sp := newSpecPair(fm)
		sp.check(t, []byte(warm))
		buf := []byte(line)
		if room%2 == 1 {
			buf = append(buf, bytes.Repeat([]byte{junk}, 40)...)[:len(line)]
		}
		sp.check(t, buf)
		sp.check(t, []byte(warm)) // and back
	})
}

// TestSpecNoAllocs: once its caches are warm, a straight-line parser
// allocates nothing per line, whether the caller reuses its record or
// brings a fresh one each time (the optional keys then live in the
// parser's own array), and the keys of a reused record stay in place.
func TestSpecNoAllocs(t *testing.T) {
	for _, f := range specFormats {
		p := newSpecPair(f).spec
		var lines [][]byte
		for _, l := range specLines(f, 200, 3) {
			lines = append(lines, []byte(l))
		}
		var reused flowlog.Record
		for _, l := range lines { // warm the caches
			if !p.Parse(l, 1, &reused) {
				t.Fatalf("refused: %q", l)
			}
		}
		i := 0
		fresh := testing.AllocsPerRun(500, func() {
			var r flowlog.Record
			p.Parse(lines[i%len(lines)], 1, &r)
			i++
		})
		kept := testing.AllocsPerRun(500, func() {
			p.Parse(lines[i%len(lines)], 1, &reused)
			i++
		})
		if fresh != 0 || kept != 0 {
			t.Errorf("%v: %.2f allocs per line with fresh records, %.2f with a reused one", f.Names()[:4], fresh, kept)
		}
		own := &reused.Attrs[:1][0]
		p.Parse(lines[0], 1, &reused)
		if &reused.Attrs[:1][0] != own {
			t.Errorf("%v: a reused record's Attrs were moved", f.Names()[:4])
		}
	}
}
