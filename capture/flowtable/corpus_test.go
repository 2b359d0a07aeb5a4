package flowtable

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/flowsift/flowsift/capture"
	"github.com/flowsift/flowsift/capture/decode"
	"github.com/flowsift/flowsift/capture/pcapfile"
	"github.com/flowsift/flowsift/flowlog"
)

const corpus = "../../../shared/corpus"

// parseNs reads a decimal seconds value with up to nine decimals exactly.
func parseNs(t testing.TB, s string) int64 {
	t.Helper()
	neg := strings.HasPrefix(s, "-")
	sec, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	frac = (frac + "000000000")[:9]
	a, err1 := strconv.ParseInt(sec, 10, 64)
	b, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("bad seconds %q", s)
	}
	if neg {
		return -(a*1e9 + b)
	}
	return a*1e9 + b
}

// convRow is one conv-ip.tsv row, in its own text form so that a
// mismatch prints readably.
type convRow struct {
	proto, a, pa, b, pb string
	fab, bab, fba, bba  int64
	rel, dur            int64
}

func (r convRow) String() string {
	return fmt.Sprintf("%s %s:%s -> %s:%s  %d/%d  <- %d/%d  rel %d dur %d", r.proto, r.a, r.pa, r.b, r.pb, r.fab, r.bab, r.fba, r.bba, r.rel, r.dur)
}

func readConv(t testing.TB, name string) (fiveTuple, pairs []convRow) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpus, "expected", name+".conv-ip.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if i == 0 {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 11 {
			t.Fatalf("%s: bad conv line %q", name, line)
		}
		n := func(s string) int64 {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				t.Fatalf("bad number %q", s)
			}
			return v
		}
		r := convRow{f[0], f[1], f[2], f[3], f[4], n(f[5]), n(f[6]), n(f[7]), n(f[8]), parseNs(t, f[9]), parseNs(t, f[10])}
		switch r.proto {
		case "tcp", "udp", "sctp":
			fiveTuple = append(fiveTuple, r)
		case "ip", "ipv6":
			pairs = append(pairs, r)
		default:
			t.Fatalf("%s: unknown proto %q", name, r.proto)
		}
	}
	return
}

// emitted is a record with its nanosecond info.
type emitted struct {
	rec  flowlog.Record
	info Info
}

// runCorpusFile reads one capture through pcapfile and decode into a
// table with the default settings, sweeping expiries every second of
// packet time as the pipeline does, and returns every record, the time of
// the file's first frame, and the reading error (nil at a clean end).
func runCorpusFile(t testing.TB, path string, cfg Config) (out []emitted, firstTime int64, rerr error) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	r, err := pcapfile.NewReader(fh)
	if err != nil {
		return nil, 0, err
	}
	tb := New(cfg)
	emit := func(rec *flowlog.Record) {
		checkRecord(t, rec)
		out = append(out, emitted{rec.Clone(), tb.LastEmitted()})
	}
	dec := decode.New(decode.Options{})
	var f capture.Frame
	var p capture.Packet
	frames := 0
	var next int64
	for {
		if err := r.Next(&f); err != nil {
			if err != io.EOF {
				rerr = err
			}
			break
		}
		if frames == 0 {
			firstTime = f.Time
			next = f.Time
		}
		frames++
		dec.Decode(&f, &p)
		tb.Add(&p, emit)
		if p.Reason == capture.ReasonNone && p.Time >= next {
			tb.Expire(p.Time, emit)
			next = p.Time + 1e9
		}
	}
	tb.Flush(emit)
	s := tb.Stats()
	var counted uint64
	for _, e := range out {
		fp, _ := attrInt(&e.rec, flowlog.AttrFragPackets)
		counted += uint64(e.rec.Packets + fp)
	}
	var skipped uint64
	for _, n := range s.Skipped {
		skipped += n
	}
	if counted != s.Packets || s.Packets+skipped != uint64(frames) || s.Emitted != uint64(len(out)) {
		t.Errorf("%s: %d frames, %d counted in records, stats %+v", path, frames, counted, s)
	}
	return out, firstTime, rerr
}

// TestCorpusConversations checks, for every corpus capture, that the
// records' TCP/UDP/SCTP flows equal the 5-tuple rows of NAME.conv-ip.tsv
// exactly (frames and L3 bytes per direction, A/B orientation, rel_start
// and duration in ns), and that packets + frag_packets and bytes +
// frag_bytes per address pair equal the ip/ipv6 rows (nothing lost).
func TestCorpusConversations(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(corpus, "pcap", "*"))
	if err != nil || len(files) < 50 {
		t.Fatalf("corpus files: %d (%v)", len(files), err)
	}
	for _, path := range files {
		name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(path), ".pcapng"), ".pcap")
		t.Run(name, func(t *testing.T) {
			wantFive, wantPairs := readConv(t, name)
			recs, first, rerr := runCorpusFile(t, path, Config{})
			damaged := strings.HasPrefix(name, "damaged-")
			if damaged != (rerr != nil) {
				t.Errorf("read error %v on a file damaged=%v", rerr, damaged)
			}
			if rerr != nil {
				var pe *pcapfile.Error
				if !errors.As(rerr, &pe) {
					t.Errorf("read error %v is not a pcapfile.Error", rerr)
				}
			}
			gotFive := conversations(recs, first)
			compareRows(t, "5-tuple", gotFive, wantFive, true)
			compareRows(t, "address pair", addressPairs(recs), wantPairs, false)
		})
	}
}

func compareRows(t *testing.T, what string, got, want []convRow, times bool) {
	t.Helper()
	key := func(r convRow) string { return r.proto + " " + r.a + " " + r.pa + " " + r.b + " " + r.pb }
	if !times {
		for i := range want {
			want[i].rel, want[i].dur = 0, 0
		}
	}
	sort.Slice(got, func(i, j int) bool { return key(got[i]) < key(got[j]) })
	sort.Slice(want, func(i, j int) bool { return key(want[i]) < key(want[j]) })
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s rows differ\n got %v\nwant %v", what, strings.Join(strs(got), "\n     "), strings.Join(strs(want), "\n     "))
	}
}

func strs(rs []convRow) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return out
}

var protoNames = map[uint8]string{6: "tcp", 17: "udp", 132: "sctp"}

// conversations pairs the records of each 5-tuple (any interface or
// tunnel, any number of records per direction) into conv rows: A is the
// source of the conversation's first packet.
func conversations(recs []emitted, fileStart int64) []convRow {
	type dir struct {
		frames, bytes int64
		firstSeq      uint64
		first, last   int64
		seen          bool
	}
	type conv struct {
		proto    string
		ends     [2]string // canonical order
		ports    [2]uint16
		d        [2]dir // d[0]: ends[0] → ends[1]
		firstSeq uint64
	}
	convs := map[string]*conv{}
	for _, e := range recs {
		r := &e.rec
		name, ok := protoNames[r.Proto]
		if !ok || r.Packets == 0 {
			continue
		}
		s := r.Src.String() + "|" + strconv.Itoa(int(r.SrcPort))
		d := r.Dst.String() + "|" + strconv.Itoa(int(r.DstPort))
		lo, hi, idx := s, d, 0
		if d < s {
			lo, hi, idx = d, s, 1
		}
		k := name + " " + lo + " " + hi
		c := convs[k]
		if c == nil {
			c = &conv{proto: name}
			c.ends = [2]string{r.Src.String(), r.Dst.String()}
			c.ports = [2]uint16{r.SrcPort, r.DstPort}
			if idx == 1 {
				c.ends[0], c.ends[1], c.ports[0], c.ports[1] = c.ends[1], c.ends[0], c.ports[1], c.ports[0]
			}
			convs[k] = c
		}
		dd := &c.d[idx]
		dd.frames += r.Packets
		dd.bytes += r.Bytes
		if !dd.seen || e.info.Seq < dd.firstSeq {
			dd.firstSeq = e.info.Seq
		}
		if !dd.seen || e.info.First < dd.first {
			dd.first = e.info.First
		}
		if !dd.seen || e.info.Last > dd.last {
			dd.last = e.info.Last
		}
		dd.seen = true
	}
	var out []convRow
	for _, c := range convs {
		a := 0
		if !c.d[0].seen || (c.d[1].seen && c.d[1].firstSeq < c.d[0].firstSeq) {
			a = 1
		}
		b := 1 - a
		first, last := c.d[a].first, c.d[a].last
		if c.d[b].seen {
			first, last = min(first, c.d[b].first), max(last, c.d[b].last)
		}
		out = append(out, convRow{
			proto: c.proto, a: c.ends[a], pa: strconv.Itoa(int(c.ports[a])), b: c.ends[b], pb: strconv.Itoa(int(c.ports[b])),
			fab: c.d[a].frames, bab: c.d[a].bytes, fba: c.d[b].frames, bba: c.d[b].bytes,
			rel: first - fileStart, dur: last - first,
		})
	}
	return out
}

// addressPairs sums every record (all protocols, fragments included) per
// address pair, oriented like conversations, without times.
func addressPairs(recs []emitted) []convRow {
	type pair struct {
		row      convRow
		firstSeq uint64
	}
	m := map[string]*pair{}
	for _, e := range recs {
		r := &e.rec
		fp, _ := attrInt(r, flowlog.AttrFragPackets)
		fb, _ := attrInt(r, flowlog.AttrFragBytes)
		s, d := r.Src.String(), r.Dst.String()
		lo, hi := s, d
		if d < s {
			lo, hi = d, s
		}
		p := m[lo+" "+hi]
		seq := e.info.Seq
		if p == nil {
			proto := "ip"
			if r.Src.Is6() {
				proto = "ipv6"
			}
			p = &pair{row: convRow{proto: proto, a: s, b: d}, firstSeq: seq}
			m[lo+" "+hi] = p
		} else if seq < p.firstSeq {
			p.firstSeq = seq
			if p.row.a != s {
				p.row.a, p.row.b = s, d
				p.row.fab, p.row.fba, p.row.bab, p.row.bba = p.row.fba, p.row.fab, p.row.bba, p.row.bab
			}
		}
		if p.row.a == s {
			p.row.fab += r.Packets + fp
			p.row.bab += r.Bytes + fb
		} else {
			p.row.fba += r.Packets + fp
			p.row.bba += r.Bytes + fb
		}
	}
	var out []convRow
	for _, p := range m {
		out = append(out, p.row)
	}
	return out
}
