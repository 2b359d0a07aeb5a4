package alibaba

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/flowsift/flowsift/flowlog"
)

func TestCSVColumnOrderAndShapes(t *testing.T) {
	// Columns in another order than the sample, unknown columns, a BOM,
	// CRLF line ends, an unquoted cell, a quoted newline and a doubled
	// quote in ignored columns, and blank lines.
	in := "\ufeff\"srcaddr\",\"__tag__:note\",\"dstaddr\",\"srcport\",\"dstport\",\"protocol\",\"direction\",\"action\",\"log-status\",\"eni-id\",\"vswitch-id\",\"traffic_path\",\"version\"\r\n" +
		"\"10.0.0.1\",\"a\r\nb \"\"quoted\"\"\",\"10.0.0.2\",\"1332\",\"80\",\"6\",\"out\",\"ACCEPT\",\"OK\",\"eni-1\",\"vsw-1\",\"all\",\"1\"\r\n" +
		"\r\n" +
		"   \n" +
		"10.0.0.3,x,10.0.0.4,1,2,17,in,REJECT,OK,eni-2,vsw-2,2,1\n" +
		"\"10.0.0.5\",\"y\",\"bad\",\"1\",\"2\",\"17\",\"in\",\"REJECT\",\"OK\",\"eni-2\",\"vsw-2\",\"-\",\"-\""
	c := readCSV(t, "in.csv", []byte(in))
	want := `{"start":0,"end":0,"src":"10.0.0.1","dst":"10.0.0.2","sport":1332,"dport":80,"proto":6,"packets":0,"bytes":0,"action":"accept","direction":"egress","iface":"eni-1","vpc":"","subnet":"vsw-1","account":"","tcp_flags":0,"source":"alibaba-sls-csv","traffic_path_name":"all","version":1}
{"start":0,"end":0,"src":"10.0.0.3","dst":"10.0.0.4","sport":1,"dport":2,"proto":17,"packets":0,"bytes":0,"action":"reject","direction":"ingress","iface":"eni-2","vpc":"","subnet":"vsw-2","account":"","tcp_flags":0,"source":"alibaba-sls-csv","traffic_path":2,"version":1}
`
	if c.jsonl.String() != want {
		t.Errorf("got\n%s\nwant\n%s", c.jsonl.String(), want)
	}
	// The quoted newline makes row 2 span lines 2-3; blank lines 4-5; the
	// bad row is on line 7.
	if got := strings.Join(c.positions(), " "); got != "7:bad-ip" {
		t.Errorf("reports %s, want 7:bad-ip", got)
	}
	if c.tally.Blank != 2 || c.tally.Headers != 1 || c.tally.Records != 2 {
		t.Errorf("blank %d headers %d records %d", c.tally.Blank, c.tally.Headers, c.tally.Records)
	}
}

func TestCSVRowDefects(t *testing.T) {
	in := `"srcaddr","dstaddr","eni-id"
"10.0.0.1","10.0.0.2","eni-1"
"10.0.0.1","10.0.0.2"
"10.0.0.1","10.0.0.2","eni-1","extra"
"10.0.0.1" ,"10.0.0.2","eni-1"
"10.0.0.1,"10.0.0.2","eni-1"
"10.0.0.1","-","eni-1"
"","10.0.0.2","eni-1"
"10.0.0.1","10.0.0.2","eni-1"
`
	c := readCSV(t, "in.csv", []byte(in))
	want := "3:field-count 4:field-count 5:field-count 6:field-count 7:missing-field 8:missing-field"
	if got := strings.Join(c.positions(), " "); got != want {
		t.Errorf("reports %s\nwant    %s", got, want)
	}
	if c.tally.Records != 2 {
		t.Errorf("records %d, want 2", c.tally.Records)
	}
	for _, p := range c.probs {
		if p.Pos == 5 && !strings.Contains(p.Detail, "quot") {
			t.Errorf("quoting error detail %q", p.Detail)
		}
		if p.Pos == 3 && p.Detail != "2 cells, the header has 3" {
			t.Errorf("field-count detail %q", p.Detail)
		}
	}
}

func TestCSVStrayQuoteDoesNotSwallowRows(t *testing.T) {
	// Line 2 opens a quote that is never closed on it: the row is reported
	// and every later row is still read.
	in := "\"srcaddr\",\"dstaddr\"\n\"10.0.0.1\",\"10.0.0.2\n\"10.0.0.3\",\"10.0.0.4\"\n\"10.0.0.5\",\"10.0.0.6\"\n"
	c := readCSV(t, "in.csv", []byte(in))
	if got := strings.Join(c.positions(), " "); got != "2:field-count" || c.tally.Records != 2 {
		t.Errorf("reports %s, records %d", got, c.tally.Records)
	}
}

func TestCSVHeader(t *testing.T) {
	t.Run("repeated column", func(t *testing.T) {
		in := "\"srcaddr\",\"dstaddr\",\"srcaddr\",\"dstaddr\"\n\"10.0.0.1\",\"10.0.0.2\",\"x\",\"y\"\n"
		c := readCSV(t, "in.csv", []byte(in))
		if got := strings.Join(c.positions(), " "); got != "1:bad-header" || c.tally.Records != 1 {
			t.Errorf("reports %s, records %d", got, c.tally.Records)
		}
	})
	t.Run("unreadable header", func(t *testing.T) {
		c := readCSV(t, "in.csv", []byte("\"srcaddr\"x,\"dstaddr\"\n\"10.0.0.1\",\"10.0.0.2\"\n"))
		if len(c.probs) != 1 || c.probs[0].Notice != flowlog.NoticeUnsupported || c.tally.Unusable != flowlog.NoticeUnsupported {
			t.Errorf("problems %v", c.probs)
		}
	})
	t.Run("header only", func(t *testing.T) {
		c := readCSV(t, "in.csv", []byte("\"srcaddr\",\"dstaddr\"\n"))
		if len(c.probs) != 0 || c.tally.Records != 0 || c.tally.Headers != 1 {
			t.Errorf("problems %v, tally %+v", c.probs, c.tally)
		}
	})
}

type failAfter struct {
	r io.Reader
}

var errDamage = errors.New("unexpected end of gzip stream")

func (f *failAfter) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		err = errDamage
	}
	return n, err
}

func TestCSVTruncated(t *testing.T) {
	in := "\"srcaddr\",\"dstaddr\"\n\"10.0.0.1\",\"10.0.0.2\"\n\"10.0.0.3\",\"10.0"
	var probs []flowlog.Problem
	tally := &flowlog.Tally{Path: "x.csv.gz", OnProblem: func(p flowlog.Problem) { probs = append(probs, p) }}
	r := NewCSVReader(&failAfter{strings.NewReader(in)}, tally)
	var rec flowlog.Record
	n := 0
	for r.Next(&rec) {
		n++
	}
	if n != 1 || len(probs) != 1 || probs[0].Pos != 3 || probs[0].Kind != flowlog.KindTruncated || !tally.Truncated {
		t.Errorf("records %d, problems %v", n, probs)
	}
	if probs[0].String() != "x.csv.gz:3: truncated: unexpected end of gzip stream" {
		t.Errorf("report %q", probs[0])
	}
}

func TestCSVNoAllocs(t *testing.T) {
	var b bytes.Buffer
	b.Write(readSample(t, "alibaba/sls-export-examples.csv"))
	lines := bytes.SplitAfter(b.Bytes(), []byte("\n"))
	for i := 0; i < 3000; i++ {
		b.Write(lines[1+i%2])
	}
	tally := &flowlog.Tally{}
	r := NewCSVReader(bytes.NewReader(b.Bytes()), tally)
	var rec flowlog.Record
	for i := 0; i < 10; i++ {
		r.Next(&rec)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if !r.Next(&rec) {
			t.Fatal("ran out of rows")
		}
	})
	if allocs != 0 {
		t.Errorf("%.2f allocations per row", allocs)
	}
}
