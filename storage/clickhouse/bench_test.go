package clickhouse

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/flowsift/flowsift/analyze/verdict"
	"github.com/flowsift/flowsift/analyze/whatif"
	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/benchutil"
)

const benchRows = 1_000_000

var benchData = map[bool]struct {
	recs []flowlog.Record
	res  []verdict.Result
}{}

// benchRecords returns the benchmark's 1 M generated records: sparse, as
// flowgen makes them (about 2 records a second, 6 days, 6 daily batches
// of about 166 k), or dense (the same records squeezed into one hour, as a
// busy VPC logs them: the rollups aggregate many records per row).
func benchRecords(dense bool) ([]flowlog.Record, []verdict.Result) {
	d, ok := benchData[dense]
	if !ok {
		d.recs, d.res = genRecords(benchRows, 2026, 1)
		if dense {
			base := d.recs[0].Start
			span := d.recs[len(d.recs)-1].Start - base + 1
			for i := range d.recs {
				r := &d.recs[i]
				dur := r.End - r.Start
				r.Start = base + (r.Start-base)*3600/span
				r.End = r.Start + dur
			}
		}
		benchData[dense] = d
	}
	return d.recs, d.res
}

func rusage(who int) time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(who, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter charges the server's CPU (all of it: the insert, the views,
// merges meanwhile) and the client's to the rows: on a shared machine the
// CPU per row is steadier than the wall clock.
type cpuMeter struct{ server, client time.Duration }

func (m *cpuMeter) start(b *testing.B, who int) {
	t, err := srv.CPUTime()
	if err != nil {
		b.Fatal(err)
	}
	m.server, m.client = m.server-t, m.client-rusage(who)
}

func (m *cpuMeter) stop(b *testing.B, who int) {
	t, err := srv.CPUTime()
	if err != nil {
		b.Fatal(err)
	}
	m.server, m.client = m.server+t, m.client+rusage(who)
}

func (m *cpuMeter) report(b *testing.B, rows int64) {
	b.ReportMetric(float64(m.server.Nanoseconds())/1e3/float64(rows), "server-us/row")
	b.ReportMetric(float64(m.client.Nanoseconds())/1e3/float64(rows), "client-us/row")
	b.ReportMetric(float64(rows)/(m.server+m.client).Seconds(), "cpu-rows/s")
}

// BenchmarkClickHouseInsert: rows/s end to end into flows (every
// materialized view firing), through the Sink and, as the baseline,
// through clickhouse-client inserting the same rows as TabSeparated, on
// sparse and dense data. server-us/row and client-us/row are CPU time per
// row (cpu-rows/s their sum as a rate); disk-bytes/flow is the raw table's
// size on disk after OPTIMIZE FINAL (the server's <compression> setting
// decides it on 18.16: FLOWSIFT_CH_COMPRESSION=zstd runs the test server
// with zstd). clickhouse-client/raw-only inserts the sparse rows into the
// raw table alone, without the views: the server's CPU per row there is
// the floor of any client on this machine.
//
//	go test -run '^$' -bench ClickHouseInsert -benchtime 1x ./storage/clickhouse
func BenchmarkClickHouseInsert(b *testing.B) {
	for _, dense := range []bool{false, true} {
		name := map[bool]string{false: "sparse", true: "dense"}[dense]
		recs, res := benchRecords(dense)
		want := inputTotals(recs)
		b.Run("sink/"+name, func(b *testing.B) {
			opts := testOptions(b)
			opts.Logf = nil
			db := timeInserts(b, len(recs), syscall.RUSAGE_SELF, func(db string) func() {
				return func() {
					s, err := Open(context.Background(), srv.URL(db), opts)
					if err != nil {
						b.Fatal(err)
					}
					writeAll(b, s, recs, res)
					if err := s.Close(); err != nil {
						b.Fatal(err)
					}
				}
			})
			checkStored(b, db, want)
			b.ReportMetric(diskPerFlow(b, db), "disk-bytes/flow")
		})
		// clickhouse-client/raw-only: the same rows into the raw table
		// alone, no view: the server's floor for this row on this machine.
		for _, rawOnly := range []bool{false, true} {
			bname := "clickhouse-client/" + name
			if rawOnly {
				if dense {
					continue // sparse is enough for the floor
				}
				bname = "clickhouse-client/raw-only/" + name
			}
			b.Run(bname, func(b *testing.B) { benchClient(b, recs, res, want, rawOnly) })
		}
	}
}

// benchClient inserts recs with clickhouse-client as TabSeparated, into
// the migrated schema (every view firing) or, rawOnly, into the raw table
// alone.
func benchClient(b *testing.B, recs []flowlog.Record, res []verdict.Result, want totals, rawOnly bool) {
	client, err := exec.LookPath("clickhouse-client")
	if err != nil {
		b.Fatal(err)
	}
	tsv := filepath.Join(b.TempDir(), "flows.tsv")
	writeTSV(b, tsv, recs, res)
	db := timeInserts(b, len(recs), syscall.RUSAGE_CHILDREN, func(db string) func() {
		if rawOnly {
			f, err := DetectFeatures(context.Background(), conn(b))
			if err != nil {
				b.Fatal(err)
			}
			if err := conn(b).Exec(context.Background(), Schema{DB: db, F: f}.flowsDDL("flows", flowsOrder, math.MaxInt)); err != nil {
				b.Fatal(err)
			}
		} else if _, err := MigrateURL(context.Background(), srv.URL(db), Options{}); err != nil {
			b.Fatal(err)
		}
		in, err := os.Open(tsv)
		if err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command(client, "--host", "127.0.0.1", "--port", strconv.Itoa(srv.Port),
			"--query", "INSERT INTO "+db+".flows ("+insertColumns()+") FORMAT TabSeparated")
		cmd.Stdin = in
		return func() {
			out, err := cmd.CombinedOutput()
			in.Close()
			if err != nil {
				b.Fatalf("clickhouse-client: %v\n%s", err, out)
			}
		}
	})
	if !rawOnly {
		checkStored(b, db, want)
	} else if got := queryTotals(b, conn(b), "SELECT toInt64(count()), toInt64(sum(packets)), toInt64(sum(bytes)) FROM "+db+".flows"); got != want {
		b.Fatalf("flows holds %v, input %v", got, want)
	}
	b.ReportMetric(diskPerFlow(b, db), "disk-bytes/flow")
}

// timeInserts runs b's loop: each round a new database made ready by
// prepare (not timed), then the insert prepare returns (timed, with the
// CPU of who and of the server). It reports rows/s and CPU per row and
// returns the first round's database.
func timeInserts(b *testing.B, rows int, who int, prepare func(db string) (insert func())) string {
	var first string
	var cpu cpuMeter
	m := benchutil.Start(b)
	for b.Loop() {
		b.StopTimer()
		db := srv.NewDatabase(b)
		if first == "" {
			first = db
		}
		insert := prepare(db)
		cpu.start(b, who)
		b.StartTimer()
		insert()
		b.StopTimer()
		cpu.stop(b, who)
		b.StartTimer()
	}
	m.Stop(int64(b.N) * int64(rows))
	cpu.report(b, int64(b.N)*int64(rows))
	return first
}

func diskPerFlow(b *testing.B, db string) float64 {
	c := conn(b)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := c.Exec(ctx, "OPTIMIZE TABLE "+db+".flows FINAL"); err != nil {
		b.Fatal(err)
	}
	var bytes, rows uint64
	if err := c.QueryRow(ctx, "SELECT sum(bytes_on_disk), sum(rows) FROM system.parts WHERE active AND database = ? AND table = 'flows'", db).Scan(&bytes, &rows); err != nil {
		b.Fatal(err)
	}
	// Per column, largest first: where the bytes go.
	cols, err := c.Query(ctx, "SELECT name, data_compressed_bytes, data_uncompressed_bytes FROM system.columns WHERE database = ? AND table = 'flows' ORDER BY data_compressed_bytes DESC", db)
	if err != nil {
		b.Fatal(err)
	}
	defer cols.Close()
	var line []byte
	for cols.Next() {
		var name string
		var comp, raw uint64
		if err := cols.Scan(&name, &comp, &raw); err != nil {
			b.Fatal(err)
		}
		line = fmt.Appendf(line, " %s %.2f (%.1fx)", name, float64(comp)/float64(rows), float64(raw)/float64(max(comp, 1)))
	}
	b.Logf("compressed bytes/flow by column:%s", line)
	return float64(bytes) / float64(rows)
}

// writeTSV writes the rows the sink would insert, in insertColumns order.
func writeTSV(b *testing.B, path string, recs []flowlog.Record, res []verdict.Result) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var bt batch
	var line []byte
	for i := range recs {
		bt.reset()
		bt.add(&recs[i], &res[i], "")
		line = line[:0]
		ts := func(v int64) {
			line = time.Unix(v, 0).UTC().AppendFormat(line, "2006-01-02 15:04:05")
			line = append(line, '\t')
		}
		num := func(v uint64) { line = strconv.AppendUint(line, v, 10); line = append(line, '\t') }
		str := func(s []byte) { line = appendTSVEscaped(line, s); line = append(line, '\t') }
		ts(bt.start[0])
		ts(bt.end[0])
		str(bt.addrs[:16])
		str(bt.addrs[16:32])
		num(uint64(bt.sport[0]))
		num(uint64(bt.dport[0]))
		num(uint64(bt.proto[0]))
		num(bt.packets[0])
		num(bt.bytes[0])
		str([]byte(recs[i].Action.String()))
		str([]byte(recs[i].Direction.String()))
		str([]byte(bt.iface[0]))
		str([]byte(bt.vpc[0]))
		str([]byte(bt.subnet[0]))
		str([]byte(bt.acct[0]))
		line = strconv.AppendInt(line, int64(bt.tcpFlags[0]), 10)
		line = append(line, '\t')
		str([]byte(bt.source[0]))
		str(bt.attrBuf)
		str([]byte(res[i].Verdict.String()))
		str([]byte(bt.finding[0]))
		line = append(line, '[')
		for j, r := range bt.rules {
			if j > 0 {
				line = append(line, ',')
			}
			line = append(line, '\'')
			line = append(line, r...) // generated ids hold no quote or backslash
			line = append(line, '\'')
		}
		line = append(line, "]\t"...)
		num(uint64(bt.reply[0]))
		str(nil)
		str([]byte("tsv"))
		line = appendTSVEscaped(line, []byte(bt.reason[0]))
		line = append(line, '\n')
		w.Write(line)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
}

func appendTSVEscaped(dst, s []byte) []byte {
	for _, c := range s {
		switch c {
		case '\t':
			dst = append(dst, '\\', 't')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\\':
			dst = append(dst, '\\', '\\')
		case 0:
			dst = append(dst, '\\', '0')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// BenchmarkWhatifQuery100M: flowsift whatif --from ... --since 30d over
// 100 M stored flows as VPC flow logs deliver them: 11,600 long-lived
// connections to the five interfaces of the bundled AWS example (half of
// the clients inside the VPC, half outside), logged in both directions
// every 10 minutes (6 records an hour each) for 30 days. The rows the
// materialized view would have made of those flows in flow_keys (one per
// hour, direction and connection: 16.7 M rows summing 100.2 M flows) are
// generated on the server, a day at a time. The timed part is what the
// command does: the what-if query (7-hour timeline buckets for 30 days,
// the port bounds of both policies), rows streamed to the client and each
// judged under the bundled policy and its proposed edit, and the report.
// flows/s: stored flows per second of the whole.
func BenchmarkWhatifQuery100M(b *testing.B) {
	// The data is made once per process: the benchmark function runs
	// more than once (b.N = 1 first), the generation takes a minute.
	db := whatif100MDB
	fresh := db == ""
	if fresh {
		// Not NewDatabase: its cleanup would drop the data after the
		// first invocation. The throwaway server's data goes with it.
		db = "bench_whatif_100m"
		if err := conn(b).Exec(context.Background(), "CREATE DATABASE IF NOT EXISTS "+db); err != nil {
			b.Fatal(err)
		}
		if _, err := MigrateURL(context.Background(), srv.URL(db), Options{}); err != nil {
			b.Fatal(err)
		}
	}
	ex := "../../examples/policy/aws/"
	before, after, err := whatif.LoadSets(
		[]string{ex + "describe-security-groups.json", ex + "describe-network-acls.json", ex + "describe-network-interfaces.json"},
		[]string{ex + "proposed-edit.yaml"})
	if err != nil {
		b.Fatal(err)
	}
	cmp := whatif.NewComparison(before, after)
	c := conn(b)
	ctx := context.Background()
	const conns, days = 11_600, 30
	now := time.Now().Unix() / 3600 * 3600
	first := now - days*86400
	keys := "`bucket`, " + quotedList(flowKeysKey) + ", `flows`, `packets`, `bytes`, `first`, `last`"
	for d := int64(0); fresh && d < days; d++ {
		// number -> hour (24 a day) x direction r (0: client to server,
		// 1: the reply) x connection c; interface e = c % 5.
		q := fmt.Sprintf("INSERT INTO %s.flow_keys (%s) SELECT bucket, iface, direction, src, dst, sport, dport, proto, reply, icmp, "+
			"sumState(toUInt64(6)), sumState(toUInt64(6 * 12)), sumState(toUInt64(6 * 9000)), minState(bucket), "+
			"maxState(toDateTime(toUInt32(bucket) + 3599, 'UTC')) FROM ("+
			"SELECT toDateTime(%d + intDiv(number, %d) * 3600, 'UTC') AS bucket, number %% %d AS c, intDiv(number %% %d, %d) AS r, c %% 5 + 1 AS e, "+
			"arrayElement(['eni-0a11ce0000000web1', 'eni-0a11ce0000000web2', 'eni-0a11ce00000bastn1', 'eni-0a11ce0000000app1', 'eni-0a11ce00000000db1'], e) AS iface, "+
			"IPv4ToIPv6(arrayElement([IPv4StringToNum('10.0.1.10'), IPv4StringToNum('10.0.1.11'), IPv4StringToNum('10.0.1.5'), IPv4StringToNum('10.0.2.20'), IPv4StringToNum('10.0.3.30')], e)) AS server, "+
			"IPv4ToIPv6(toUInt32(if(c < %d, 167837696, 184549376) + c)) AS client, "+
			"toUInt16(arrayElement([443, 443, 22, 8080, 5432], e)) AS service, toUInt16(32768 + c %% 28000) AS eph, "+
			"CAST(if(r = 0, 1, 2) AS Enum8('' = 0, 'ingress' = 1, 'egress' = 2)) AS direction, "+
			"if(r = 0, client, server) AS src, if(r = 0, server, client) AS dst, if(r = 0, eph, service) AS sport, if(r = 0, service, eph) AS dport, "+
			"toUInt8(6) AS proto, toUInt8(r) AS reply, toInt32(-1) AS icmp FROM numbers(%d)) "+
			"GROUP BY bucket, iface, direction, src, dst, sport, dport, proto, reply, icmp",
			db, keys, first+d*86400, conns*2, conns, conns*2, conns, conns/2, 24*2*conns)
		if err := c.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	var stored uint64
	if err := c.QueryRow(ctx, "SELECT toUInt64(sumMerge(flows)) FROM "+db+".flow_keys").Scan(&stored); err != nil {
		b.Fatal(err)
	}
	if stored != uint64(conns*2*24*days*6) {
		b.Fatalf("flow_keys sums %d flows, want %d", stored, conns*2*24*days*6)
	}
	whatif100MDB = db
	window := time.Duration(days) * 24 * time.Hour
	q := WhatifQuery{Since: time.Unix(now, 0).Add(-window), BucketWidth: (int64(window.Hours())/120 + 1) * 3600,
		Bounds: whatif.PortBounds(before, after)}
	var cpu cpuMeter
	cpu.start(b, syscall.RUSAGE_SELF)
	b.ResetTimer()
	var rows int64
	var rep *whatif.Report
	for i := 0; i < b.N; i++ {
		rows = 0
		bl := cmp.NewBuilder(10)
		if err := WhatifRows(ctx, srv.URL(db), Options{}, q, func(r *whatif.Row) { rows++; bl.Add(r) }); err != nil {
			b.Fatal(err)
		}
		rep = bl.Report()
	}
	b.StopTimer()
	cpu.stop(b, syscall.RUSAGE_SELF)
	if rep.Totals.Flows != int64(stored) || rep.NewlyDenied.Flows+rep.NewlyAllowed.Flows == 0 {
		b.Fatalf("the report covers %d flows (%d stored), %d newly denied, %d newly allowed",
			rep.Totals.Flows, stored, rep.NewlyDenied.Flows, rep.NewlyAllowed.Flows)
	}
	b.ReportMetric(float64(stored)/(b.Elapsed().Seconds()/float64(b.N)), "flows/s")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/query")
	b.ReportMetric(float64(rows), "rows-sent")
	b.ReportMetric(float64(cpu.server.Nanoseconds())/1e9/float64(b.N), "server-cpu-s/query")
	b.ReportMetric(float64(cpu.client.Nanoseconds())/1e9/float64(b.N), "client-cpu-s/query")
}

// whatif100MDB is the database BenchmarkWhatifQuery100M filled (empty
// until it has).
var whatif100MDB string
