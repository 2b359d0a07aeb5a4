package aws

import (
	"os"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/flowsift/flowsift/flowlog"
)

// FuzzCWLJSON: no panic; each event gives a record, a NODATA/SKIPDATA
// count, or exactly one report at its position.
func FuzzCWLJSON(f *testing.F) {
	b, err := os.ReadFile("../../../shared/reference/samples/aws/otel-cloudwatch-subscription.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"messageType":"CONTROL_MESSAGE","logEvents":[{"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}`))
	f.Add([]byte(`{"messageType":"DATA_MESSAGE","logEvents":[{"message":"2 1 eni-1 - - - - - - - 1 2 - NODATA"},{"id":1},"x"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := fastjson.ParseBytes(b)
		if err != nil || IsControl(v) {
			return
		}
		var reports []flowlog.Problem
		tally := &flowlog.Tally{OnProblem: func(p flowlog.Problem) { reports = append(reports, p) }}
		c := NewCWLJSON(tally)
		var rec flowlog.Record
		for i, ev := range v.GetArray("logEvents") {
			before := len(reports) + int(tally.NoData+tally.SkipData)
			ok := c.DecodeEvent(ev, int64(i+1), &rec)
			after := len(reports) + int(tally.NoData+tally.SkipData)
			if ok == (after != before) || after-before > 1 {
				t.Fatalf("event %d: ok=%v, %d reports/counts", i+1, ok, after-before)
			}
			if len(reports) > 0 && after != before && reports[len(reports)-1].Pos != int64(i+1) {
				t.Fatalf("report at %d, want %d", reports[len(reports)-1].Pos, i+1)
			}
			if ok && rec.Source != flowlog.SourceAWSCWLJSON {
				t.Fatal("source")
			}
		}
	})
}
