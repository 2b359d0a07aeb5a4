package azure

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/flowsift/flowsift/flowlog"
)

func TestCutAfter(t *testing.T) {
	id := []byte("/SUBSCRIPTIONS/Ab-C/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vn/subnets/sn")
	if got := string(cutAfter(id, "virtualnetworks")); got != "/SUBSCRIPTIONS/Ab-C/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vn" {
		t.Error(got)
	}
	if got := string(segmentAfter(id, "subscriptions")); got != "Ab-C" {
		t.Error(got)
	}
	for _, bad := range []string{"/subscriptions/", "/subscriptions//x", "subscriptions/x", "/subscriptionsx/y"} {
		if got := segmentAfter([]byte(bad), "subscriptions"); got != nil {
			t.Errorf("%q: %q", bad, got)
		}
	}
}

// FuzzDecode: no panic; every queued record has addresses and valid JSONL;
// a record object never gives more than two records per tuple.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"azure/doc-nsg-v2-sample.json", "azure/doc-vnet-v4-sample.json", "azure/elastic-nsg-record-per-line.ndjson",
		"azure/elastic-vnet-record-per-line.ndjson", "bad/azure-vnet-mixed.json", "bad/azure-nsg-v1-doc-nested-records.json"} {
		b, err := os.ReadFile(filepath.Join("../../../shared/reference/samples", name))
		if err != nil {
			f.Fatal(err)
		}
		v, err := fastjson.ParseBytes(b)
		if err != nil {
			f.Fatal(name, err)
		}
		if rs := v.GetArray("records"); rs != nil {
			for _, r := range rs {
				f.Add(r.MarshalTo(nil))
			}
		} else {
			for _, line := range strings.Split(string(b), "\n") {
				if line != "" {
					f.Add([]byte(line))
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p fastjson.Parser
		v, err := p.ParseBytes(b)
		if err != nil {
			return
		}
		tally := &flowlog.Tally{}
		d := NewDecoder(tally)
		d.Decode(v, 7)
		tuples := strings.Count(string(b), ",") + 1
		n := 0
		var rec flowlog.Record
		for d.Next(&rec) {
			n++
			if !rec.Src.IsValid() || !rec.Dst.IsValid() || rec.Source == flowlog.SourceUnknown {
				t.Fatalf("bad record %s", flowlog.AppendJSON(nil, &rec))
			}
			if _, err := fastjson.ParseBytes(flowlog.AppendJSON(nil, &rec)); err != nil {
				t.Fatal(err)
			}
		}
		if n > 2*tuples {
			t.Fatalf("%d records from at most %d tuples", n, tuples)
		}
	})
}
