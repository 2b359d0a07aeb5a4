package input

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/flowsift/flowsift/flowlog"
)

// csvRead runs detection and the reader over data, returning JSONL, the
// reports as "POS:KIND" (notices by name) and the tally.
func csvRead(t *testing.T, data []byte, opts Options) (string, []string, *flowlog.Tally) {
	t.Helper()
	var reports []string
	tally := &flowlog.Tally{Path: "in", OnProblem: func(p flowlog.Problem) {
		if p.Pos > 0 {
			reports = append(reports, strconv.FormatInt(p.Pos, 10)+":"+p.Kind.String())
		} else {
			reports = append(reports, p.Notice.String())
		}
	}}
	r, _ := NewReader(bytes.NewReader(data), tally, &opts)
	var out bytes.Buffer
	if r != nil {
		var rec flowlog.Record
		for r.Next(&rec) {
			out.Write(flowlog.AppendJSON(nil, &rec))
			out.WriteByte('\n')
		}
	}
	return out.String(), reports, tally
}

func gz(t *testing.T, data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestCWLCSVDetected(t *testing.T) {
	// The constructed console export of flowlog/aws (FORMATS.md 3.8.3).
	data, err := os.ReadFile("../aws/testdata/cwl-console-export.csv")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range [][]byte{data, gz(t, data)} {
		out, reports, tally := csvRead(t, in, Options{})
		if tally.Format != flowlog.SourceAWSCWLCSV || tally.Records != 3 || strings.Count(out, `"source":"aws-cwl-csv"`) != 3 {
			t.Errorf("format %v, records %d:\n%s", tally.Format, tally.Records, out)
		}
		if got := strings.Join(reports, " "); got != "6:field-count 7:bad-number 8:field-count 9:bad-ip 12:field-count 13:bad-port" {
			t.Errorf("reports %s", got)
		}
	}
}

func TestCWLCSVFieldListOption(t *testing.T) {
	in := []byte("timestamp,message\n1,10.0.0.1 10.0.0.2 egress\n")
	out, reports, _ := csvRead(t, in, Options{AWSFields: []string{"srcaddr", "dstaddr", "flow-direction"}})
	if !strings.Contains(out, `"direction":"egress"`) || len(reports) != 0 {
		t.Errorf("out %s reports %v", out, reports)
	}
	_, reports, tally := csvRead(t, in, Options{AWSFields: []string{"srcaddr", "nonsense"}})
	if len(reports) != 1 || reports[0] != "unsupported" || tally.Unusable != flowlog.NoticeUnsupported {
		t.Errorf("bad field list: reports %v", reports)
	}
}

func TestAlibabaCSVGzipAndTruncation(t *testing.T) {
	sample, err := os.ReadFile(filepath.Join(samplesDir, "alibaba/sls-export-examples.csv"))
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile("testdata/golden/alibaba/sls-export-examples.csv.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	out, reports, tally := csvRead(t, gz(t, sample), Options{})
	if out != string(golden) || len(reports) != 0 || tally.Format != flowlog.SourceAlibabaCSV {
		t.Errorf("gzip: reports %v\n%s", reports, out)
	}
	// Cut the gzip stream inside line 3 (the REJECT row): line 2 survives,
	// the damage is reported once as truncated on line 3 (or 4, 2.5).
	z := gz(t, sample)
	out, reports, tally = csvRead(t, z[:len(z)*2/3], Options{})
	if tally.Records > 2 || !tally.Truncated || len(reports) != 1 || !strings.HasSuffix(reports[0], ":truncated") {
		t.Errorf("cut gzip: records %d, reports %v", tally.Records, reports)
	}
}

func TestCSVForcedFormats(t *testing.T) {
	// A header detection does not recognise (no id column) is read when
	// the format is forced.
	in := []byte("\"srcaddr\",\"dstaddr\",\"direction\"\n\"10.0.0.1\",\"10.0.0.2\",\"in\"\n")
	if _, reports, _ := csvRead(t, in, Options{}); len(reports) != 1 || reports[0] != "unrecognized" {
		t.Fatalf("detection: %v", reports)
	}
	out, reports, tally := csvRead(t, in, Options{Format: "alibaba-sls-csv"})
	if tally.Records != 1 || len(reports) != 0 || !strings.Contains(out, `"direction":"ingress"`) || tally.Format != flowlog.SourceAlibabaCSV {
		t.Errorf("forced alibaba-sls-csv: %v\n%s", reports, out)
	}
	cwl := []byte("1418530070000,2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1418530010 1418530070 ACCEPT OK\n")
	out, reports, tally = csvRead(t, cwl, Options{Format: "aws-cwl-csv"})
	if tally.Records != 1 || len(reports) != 0 || tally.Format != flowlog.SourceAWSCWLCSV || !strings.Contains(out, `"source":"aws-cwl-csv"`) {
		t.Errorf("forced aws-cwl-csv: %v\n%s", reports, out)
	}
}
