package dashboards

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowsift/flowsift/analyze/verdict"
	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/flowgen"
	"github.com/flowsift/flowsift/storage/clickhouse"
	"github.com/flowsift/flowsift/storage/clickhouse/chtest"
)

var srv *chtest.Server

func TestMain(m *testing.M) { os.Exit(chtest.Main(m, &srv)) }

// TestJSONFresh: flowsift.json is what Build makes of the .sql files
// (regenerate with go run ./dashboards/gen).
func TestJSONFresh(t *testing.T) {
	want, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("flowsift.json")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Error("flowsift.json is stale: run go run ./dashboards/gen")
	}
}

// TestJSONQueriesAreTheSQLFiles: the dashboard's queries are exactly the
// .sql files' queries, one panel each, and every panel uses the
// provisioned data source.
func TestJSONQueriesAreTheSQLFiles(t *testing.T) {
	raw, err := os.ReadFile("flowsift.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title      string
			Datasource struct{ Type, UID string }
			Targets    []struct {
				RawSQL     string `json:"rawSql"`
				Datasource struct{ UID string }
			}
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	panels, err := Panels()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, p := range panels {
		files[p.SQL] = p.File
	}
	seen := map[string]bool{}
	for _, p := range dash.Panels {
		if p.Datasource.Type != "grafana-clickhouse-datasource" || p.Datasource.UID != DatasourceUID || len(p.Targets) != 1 || p.Targets[0].Datasource.UID != DatasourceUID {
			t.Errorf("panel %q: data source %+v, %d targets", p.Title, p.Datasource, len(p.Targets))
			continue
		}
		f, ok := files[p.Targets[0].RawSQL]
		if !ok {
			t.Errorf("panel %q: query is no .sql file's:\n%s", p.Title, p.Targets[0].RawSQL)
		}
		seen[f] = true
	}
	if len(dash.Panels) != len(panels) || len(seen) != len(panels) {
		t.Errorf("%d panels for %d .sql files", len(dash.Panels), len(panels))
	}
	prov, err := os.ReadFile("provisioning/datasources/flowsift.yaml")
	if err != nil || !strings.Contains(string(prov), "uid: "+DatasourceUID) || !strings.Contains(string(prov), "protocol: native") {
		t.Errorf("datasource provisioning lacks uid %s / native protocol (%v)", DatasourceUID, err)
	}
}

func TestExpand(t *testing.T) {
	from, to := time.Unix(1763800000, 0), time.Unix(1763803600, 500e6)
	got := Expand("SELECT intDiv(x, $__interval_s) WHERE $__timeFilter( bucket ) AND b < $__fromTime OR c > $__toTime AND $__interval_sx", from, to, 1500*time.Millisecond)
	want := "SELECT intDiv(x, 1) WHERE bucket >= toDateTime(1763800000) AND bucket <= toDateTime(1763803600) AND b < toDateTime(1763800000) OR c > toDateTime(1763803600) AND $__interval_sx"
	if got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
}

// dataset is the known data: generated flows with judgments that are a
// function of the flow, so offenders and rules repeat.
type dataset struct {
	recs []flowlog.Record
	res  []verdict.Result
}

func newDataset(n int) *dataset {
	g := flowgen.New(99)
	d := &dataset{recs: make([]flowlog.Record, n), res: make([]verdict.Result, n)}
	for i := range d.recs {
		f := g.Next()
		r := &d.recs[i]
		r.Start, r.End = f.Start, f.End
		r.Src, r.Dst, r.SrcPort, r.DstPort, r.Proto = f.Src, f.Dst, f.SrcPort, f.DstPort, f.Proto
		if i%13 == 0 {
			r.Src = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i % 7)})
		}
		r.Packets, r.Bytes = f.Packets, f.Bytes
		r.Action, r.Direction = flowlog.ActionReject, flowlog.DirEgress
		if f.Accept {
			r.Action = flowlog.ActionAccept
		}
		if f.Ingress {
			r.Direction = flowlog.DirIngress
		}
		r.Iface, r.VPC, r.Subnet, r.Account, r.Source = f.Iface, f.VPC, f.Subnet, f.Account, flowlog.SourceAWSText
		res := &d.res[i]
		port := strconv.Itoa(int(r.DstPort))
		switch {
		case r.DstPort == 3389:
			res.Verdict, res.Reason = verdict.Unknown, "no policy for the interface"
			res.Finding = verdict.FindingUnknownInterface
		case r.DstPort == 22 || r.DstPort == 5432:
			res.Verdict, res.Rules = verdict.Accept, []string{"sg-1/ingress/" + port}
		case r.DstPort < 1024 || r.DstPort == 8080:
			res.Verdict, res.Rules = verdict.Accept, []string{"acl-1/ingress/100", "sg-1/ingress/" + port}
		default:
			res.Verdict, res.Rules = verdict.Reject, []string{"sg-1/ingress/*"}
		}
		if i < 2000 && r.DstPort == 443 { // a rule used only early
			res.Rules = []string{"sg-old/ingress/443"}
		}
		switch {
		case res.Finding != "":
		case r.DstPort == 22 && r.Direction == flowlog.DirIngress:
			res.Finding = verdict.FindingExposure
		case r.Action == flowlog.ActionAccept && res.Verdict == verdict.Reject:
			res.Finding = verdict.FindingViolation
		case r.Action == flowlog.ActionReject && res.Verdict == verdict.Accept:
			res.Finding = verdict.FindingUnexpectedReject
		}
	}
	return d
}

// ip is how the queries print an address.
func ip(a netip.Addr) string { return a.Unmap().String() }

// queryRows runs q and returns its rows as strings (times as Unix seconds).
func queryRows(t *testing.T, db, q string) (cols []string, out [][]string) {
	t.Helper()
	conn, err := srv.Conn(db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	defer rows.Close()
	cols = rows.Columns()
	types := rows.ColumnTypes()
	for rows.Next() {
		vals := make([]any, len(types))
		for i, ct := range types {
			vals[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(vals...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			switch x := reflect.ValueOf(v).Elem().Interface().(type) {
			case time.Time:
				row[i] = strconv.FormatInt(x.Unix(), 10)
			default:
				row[i] = fmt.Sprint(x)
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return cols, out
}

// TestQueries stores the known data set, runs every panel query with its
// macros expanded for a range that cuts the data (so the time filters
// matter), and compares each result with the figures computed in Go.
func TestQueries(t *testing.T) {
	d := newDataset(30_000)
	db := srv.NewDatabase(t)
	sink, err := clickhouse.Open(context.Background(), srv.URL(db), clickhouse.Options{SpoolDir: t.TempDir(), Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := d.recs[0].Start, d.recs[0].Start
	for i := range d.recs {
		if err := sink.Write(&d.recs[i], &d.res[i]); err != nil {
			t.Fatal(err)
		}
		lo, hi = min(lo, d.recs[i].Start), max(hi, d.recs[i].Start)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	if hi-lo < 3*3600 {
		t.Fatalf("data spans %d s, want over 3 hours", hi-lo)
	}
	// From the second full hour to ten minutes before the end.
	from, to := (lo/3600+2)*3600, hi-600
	const interval = 300
	inMinute := func(s int64) bool { m := s / 60 * 60; return m >= from && m <= to }
	inHour := func(s int64) bool { h := s / 3600 * 3600; return h >= from && h <= to }
	panels, err := Panels()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, p := range panels {
		q := Expand(p.SQL, time.Unix(from, 0), time.Unix(to, 0), interval*time.Second)
		cols, rows := queryRows(t, db, q)
		name := p.File
		switch name {
		case "01_traffic_by_verdict.sql", "02_traffic_by_finding.sql":
			want := map[string]int64{}
			for i := range d.recs {
				if !inMinute(d.recs[i].Start) {
					continue
				}
				label := d.res[i].Verdict.String()
				if name[1] == '2' {
					label = string(d.res[i].Finding)
					if label == "" {
						label = "none"
					}
				}
				want[fmt.Sprintf("%d %s", d.recs[i].Start/60*60/interval*interval, label)]++
			}
			got := map[string]int64{}
			for _, r := range rows {
				n, _ := strconv.ParseInt(r[2], 10, 64)
				got[r[0]+" "+r[1]] = n
			}
			if !reflect.DeepEqual(got, want) || len(want) < 20 {
				t.Errorf("%s: %d points, want %d:\n got %v\nwant %v", name, len(got), len(want), got, want)
			}
		case "03_violations.sql", "04_unexpected_rejects.sql", "05_exposures.sql":
			f := map[byte]verdict.Finding{'3': verdict.FindingViolation, '4': verdict.FindingUnexpectedReject, '5': verdict.FindingExposure}[name[1]]
			want := map[string][2]int64{}
			for i := range d.recs {
				r, res := &d.recs[i], &d.res[i]
				if res.Finding != f || !inHour(r.Start) {
					continue
				}
				rule := res.Reason
				if len(res.Rules) > 0 {
					rule = res.Rules[len(res.Rules)-1]
				}
				k := strings.Join([]string{r.Iface, ip(r.Src), ip(r.Dst), strconv.Itoa(int(r.DstPort)), strconv.Itoa(int(r.Proto)), rule}, " ")
				w := want[k]
				want[k] = [2]int64{w[0] + 1, w[1] + r.Bytes}
			}
			checkTop(t, name, rows, want, 20, func(r []string) (string, [2]int64) {
				return strings.Join(r[:6], " "), [2]int64{atoi(r[6]), atoi(r[8])}
			})
		case "06_top_talkers.sql":
			want := map[string][2]int64{}
			for i := range d.recs {
				r := &d.recs[i]
				if r.Start < from || r.Start > to {
					continue
				}
				k := ip(r.Src) + " " + ip(r.Dst)
				w := want[k]
				want[k] = [2]int64{w[0] + r.Bytes, w[1] + 1}
			}
			checkTop(t, name, rows, want, 20, func(r []string) (string, [2]int64) {
				return r[0] + " " + r[1], [2]int64{atoi(r[2]), atoi(r[4])}
			})
		case "07_rule_hits.sql":
			want := map[string][3]int64{}
			for i := range d.recs {
				if !inMinute(d.recs[i].Start) {
					continue
				}
				for _, id := range d.res[i].Rules {
					w := want[id]
					want[id] = [3]int64{w[0] + 1, w[1] + d.recs[i].Packets, w[2] + d.recs[i].Bytes}
				}
			}
			got := map[string][3]int64{}
			for _, r := range rows {
				got[r[0]] = [3]int64{atoi(r[1]), atoi(r[2]), atoi(r[3])}
			}
			if !reflect.DeepEqual(got, want) || len(want) < 10 {
				t.Errorf("%s:\n got %v\nwant %v", name, got, want)
			}
		case "08_unused_rules.sql":
			before, last, during := map[string]int64{}, map[string]int64{}, map[string]bool{}
			for i := range d.recs {
				h := d.recs[i].Start / 3600 * 3600
				for _, id := range d.res[i].Rules {
					switch {
					case h < from:
						before[id]++
						last[id] = max(last[id], h)
					case h <= to:
						during[id] = true
					}
				}
			}
			var want [][]string
			for id, n := range before {
				if !during[id] {
					want = append(want, []string{id, strconv.FormatInt(last[id], 10), strconv.FormatInt(n, 10)})
				}
			}
			sort.Slice(want, func(i, j int) bool {
				return want[i][1] < want[j][1] || want[i][1] == want[j][1] && want[i][0] < want[j][0]
			})
			if !reflect.DeepEqual(rows, want) || len(want) == 0 {
				t.Errorf("%s:\n got %v\nwant %v", name, rows, want)
			}
		default:
			t.Errorf("%s: no expected values in the test (columns %v)", name, cols)
			continue
		}
		checked++
	}
	if checked != len(panels) || checked < 8 {
		t.Errorf("checked %d of %d panels", checked, len(panels))
	}
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// checkTop checks a top-k table: each row's values equal the group's, rows
// are ordered by (first, second) value descending, no group left out is
// better than the last row, and there are min(k, groups) rows.
func checkTop(t *testing.T, name string, rows [][]string, want map[string][2]int64, k int, parse func([]string) (string, [2]int64)) {
	t.Helper()
	if len(want) <= k {
		t.Errorf("%s: %d groups: the data does not exercise the limit %d", name, len(want), k)
	}
	if len(rows) != min(k, len(want)) {
		t.Errorf("%s: %d rows, want %d", name, len(rows), min(k, len(want)))
	}
	less := func(a, b [2]int64) bool { return a[0] < b[0] || a[0] == b[0] && a[1] < b[1] }
	listed := map[string]bool{}
	var prev, last [2]int64
	for i, r := range rows {
		key, v := parse(r)
		if w, ok := want[key]; !ok || w != v {
			t.Errorf("%s: row %v: %v, want %v", name, r, v, w)
		}
		if i > 0 && less(prev, v) {
			t.Errorf("%s: row %d out of order", name, i)
		}
		prev, last = v, v
		listed[key] = true
	}
	for key, w := range want {
		if !listed[key] && less(last, w) {
			t.Errorf("%s: group %s (%v) beats the last row listed (%v)", name, key, w, last)
		}
	}
}
