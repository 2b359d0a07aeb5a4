package clickhouse

import (
	"context"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/flowsift/flowsift/analyze/verdict"
	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/flowgen"
	"github.com/flowsift/flowsift/storage/clickhouse/chtest"
)

// srv is this package's private clickhouse-server (chtest.Main fails the
// package when it cannot start).
var srv *chtest.Server

func TestMain(m *testing.M) { os.Exit(chtest.Main(m, &srv)) }

var testRules = [][]string{
	{"acl-0a1b2c/ingress/100", "sg-0123/ingress/0"},
	{"acl-0a1b2c/egress/100", "sg-0123/egress/1"},
	{"acl-0a1b2c/ingress/*"},
	{"sg-0456/ingress/sgr-0abc"},
	{},
}

// genRecords returns n generated records spread over days UTC days (records
// of different days interleave) with synthetic judgments.
func genRecords(n int, seed uint64, days int) ([]flowlog.Record, []verdict.Result) {
	g := flowgen.New(seed)
	recs := make([]flowlog.Record, n)
	res := make([]verdict.Result, n)
	for i := range recs {
		f := g.Next()
		r := &recs[i]
		shift := int64(i%days) * 86400
		r.Start, r.End = f.Start+shift, f.End+shift
		r.Src, r.Dst, r.SrcPort, r.DstPort, r.Proto = f.Src, f.Dst, f.SrcPort, f.DstPort, f.Proto
		r.Packets, r.Bytes, r.TCPFlags = f.Packets, f.Bytes, f.TCPFlags
		r.Action = flowlog.ActionReject
		if f.Accept {
			r.Action = flowlog.ActionAccept
		}
		r.Direction = flowlog.DirEgress
		if f.Ingress {
			r.Direction = flowlog.DirIngress
		}
		r.Iface, r.VPC, r.Subnet, r.Account, r.Source = f.Iface, f.VPC, f.Subnet, f.Account, flowlog.SourceAWSText
		if i%7 == 0 {
			r.SetStr(flowlog.AttrAzId, f.AZ)
			r.SetInt(flowlog.AttrRttMsec, int64(i%100))
		}
		if i%11 == 0 {
			r.Src = netip.MustParseAddr("2001:db8::1")
		}
		k := i % len(testRules)
		res[i].Rules = testRules[k]
		res[i].Verdict = verdict.Verdict(i % 3)
		res[i].Finding = []verdict.Finding{verdict.FindingNone, verdict.FindingViolation, verdict.FindingExposure, verdict.FindingUnexpectedReject}[i%4]
		res[i].Reply = i%2 == 0
		if res[i].Verdict == verdict.Unknown {
			res[i].Reason = []string{"no policy for the interface", "no security group attached"}[i%2]
		}
	}
	return recs, res
}

type totals struct{ rows, packets, bytes int64 }

func inputTotals(recs []flowlog.Record) totals {
	var t totals
	for i := range recs {
		t.rows++
		t.packets += recs[i].Packets
		t.bytes += recs[i].Bytes
	}
	return t
}

func conn(t testing.TB) driver.Conn {
	t.Helper()
	c, err := srv.Conn("default")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func queryTotals(t testing.TB, c driver.Conn, q string) totals {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var r, p, b int64
	if err := c.QueryRow(ctx, q).Scan(&r, &p, &b); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return totals{r, p, b}
}

// checkStored asserts that flows holds exactly want and every rollup the
// aggregate of the rows of flows it covers (all, or those of its Where).
func checkStored(t testing.TB, db string, want totals) {
	t.Helper()
	c := conn(t)
	got := queryTotals(t, c, "SELECT toInt64(count()), toInt64(sum(packets)), toInt64(sum(bytes)) FROM "+db+".flows")
	if got != want {
		t.Errorf("flows: rows/packets/bytes %v, input %v", got, want)
	}
	for _, r := range Rollups {
		w := want
		if r.Where != "" {
			w = queryTotals(t, c, "SELECT toInt64(count()), toInt64(sum(packets)), toInt64(sum(bytes)) FROM "+db+".flows WHERE "+r.Where)
			if w.rows == 0 || w == want {
				t.Errorf("%s: its filter %s selects %v of %v: the test data does not exercise it", r.Table, r.Where, w, want)
			}
		}
		got := queryTotals(t, c, "SELECT sum(flows), sum(packets), sum(bytes) FROM "+db+"."+r.Table)
		if got != w {
			t.Errorf("%s: flows/packets/bytes %v, want %v", r.Table, got, w)
		}
	}
	got = queryTotals(t, c, "SELECT toInt64(sumMerge(flows)), toInt64(sumMerge(packets)), toInt64(sumMerge(bytes)) FROM "+db+".flow_keys")
	if got != want {
		t.Errorf("flow_keys: flows/packets/bytes %v, want %v", got, want)
	}
	// Every key's bounds and sums equal the aggregate of flows.
	var bad uint64
	q := "SELECT count() FROM (SELECT toStartOfHour(start) AS bucket, iface, direction, src, dst, sport, dport, proto, reply, " +
		"toInt64(count()) AS f, toInt64(sum(packets)) AS p, min(start) AS t0, max(end) AS t1 FROM " + db + ".flows " +
		"GROUP BY bucket, iface, direction, src, dst, sport, dport, proto, reply) AS a FULL OUTER JOIN (" +
		"SELECT bucket, iface, direction, src, dst, sport, dport, proto, reply, toInt64(sumMerge(flows)) AS kf, " +
		"toInt64(sumMerge(packets)) AS kp, minMerge(first) AS k0, maxMerge(last) AS k1 FROM " + db + ".flow_keys " +
		"GROUP BY bucket, iface, direction, src, dst, sport, dport, proto, reply HAVING kf != 0 OR kp != 0) AS k " +
		"USING (bucket, iface, direction, src, dst, sport, dport, proto, reply) WHERE f != kf OR p != kp OR t0 != k0 OR t1 != k1"
	if err := c.QueryRow(context.Background(), q).Scan(&bad); err != nil {
		t.Fatal(err)
	}
	if bad != 0 {
		t.Errorf("flow_keys: %d keys differ from the aggregate of flows", bad)
	}
}

// writeAll writes recs with their judgments res into s, failing on the
// first error.
func writeAll(t testing.TB, s *Sink, recs []flowlog.Record, res []verdict.Result) {
	t.Helper()
	for i := range recs {
		if err := s.Write(&recs[i], &res[i]); err != nil {
			t.Fatal(err)
		}
	}
}

func testOptions(t testing.TB) Options {
	return Options{SpoolDir: t.TempDir(), Logf: t.Logf, RetryBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond}
}

// store stores recs with their judgments into db through a sink.
func store(t testing.TB, db string, recs []flowlog.Record, res []verdict.Result) {
	t.Helper()
	s, err := Open(context.Background(), srv.URL(db), testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, s, recs, res)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// storeBefore stores recs into db through a sink that knows only the
// migrations before version (a database made by an older flowsift: before
// 11, migration 1 sorted flows by flowsOrderBefore11).
func storeBefore(t testing.TB, db string, version int, recs []flowlog.Record, res []verdict.Result) {
	t.Helper()
	var before []Migration
	for _, m := range Migrations {
		if m.Version < version {
			before = append(before, m)
		}
	}
	if version <= 11 {
		before[0].SQL = func(s Schema) []string { return []string{s.flowsDDL("flows", flowsOrderBefore11, 1)} }
	}
	saved := Migrations
	Migrations = before
	defer func() { Migrations = saved }()
	store(t, db, recs, res)
}

// tableDDLs maps the tables of db to their CREATE statements.
func tableDDLs(t testing.TB, c driver.Conn, db string) map[string]string {
	t.Helper()
	rows, err := c.Query(context.Background(), "SELECT name, create_table_query FROM system.tables WHERE database = ?", db)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var n, q string
		if err := rows.Scan(&n, &q); err != nil {
			t.Fatal(err)
		}
		m[n] = q
	}
	return m
}
