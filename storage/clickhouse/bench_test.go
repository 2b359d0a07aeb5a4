package clickhouse

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/flowsift/flowsift/analyze/verdict"
	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/benchutil"
)

const benchRows = 1_000_000

var benchData struct {
	recs []flowlog.Record
	res  []verdict.Result
}

func benchRecords() ([]flowlog.Record, []verdict.Result) {
	if benchData.recs == nil {
		benchData.recs, benchData.res = genRecords(benchRows, 2026, 1)
	}
	return benchData.recs, benchData.res
}

// BenchmarkClickHouseInsert: rows/s end to end into flows (with both
// materialized views firing), through the Sink and, as the baseline,
// through clickhouse-client inserting the same rows as TabSeparated.
// disk-bytes/flow is the raw table's size on disk after OPTIMIZE FINAL.
//
//	go test -run '^$' -bench ClickHouseInsert -benchtime 1x ./storage/clickhouse
func BenchmarkClickHouseInsert(b *testing.B) {
	recs, res := benchRecords()
	want := inputTotals(recs)
	b.Run("sink", func(b *testing.B) {
		var dbs []string
		m := benchutil.Start(b)
		for b.Loop() {
			b.StopTimer()
			db := srv.NewDatabase(b)
			dbs = append(dbs, db)
			opts := testOptions(b)
			opts.Logf = nil
			b.StartTimer()
			s, err := Open(context.Background(), srv.URL(db), opts)
			if err != nil {
				b.Fatal(err)
			}
			writeAll(b, s, recs, res)
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
		}
		m.Stop(int64(b.N) * int64(len(recs)))
		checkStored(b, dbs[0], want)
		b.ReportMetric(diskPerFlow(b, dbs[0]), "disk-bytes/flow")
	})
	b.Run("clickhouse-client", func(b *testing.B) {
		client, err := exec.LookPath("clickhouse-client")
		if err != nil {
			b.Fatal(err)
		}
		tsv := filepath.Join(b.TempDir(), "flows.tsv")
		writeTSV(b, tsv, recs, res)
		var dbs []string
		m := benchutil.Start(b)
		for b.Loop() {
			b.StopTimer()
			db := srv.NewDatabase(b)
			dbs = append(dbs, db)
			if _, err := MigrateURL(context.Background(), srv.URL(db), Options{}); err != nil {
				b.Fatal(err)
			}
			in, err := os.Open(tsv)
			if err != nil {
				b.Fatal(err)
			}
			cmd := exec.Command(client, "--host", "127.0.0.1", "--port", strconv.Itoa(srv.Port),
				"--query", "INSERT INTO "+db+".flows ("+insertColumns()+") FORMAT TabSeparated")
			cmd.Stdin = in
			b.StartTimer()
			out, err := cmd.CombinedOutput()
			b.StopTimer()
			in.Close()
			if err != nil {
				b.Fatalf("clickhouse-client: %v\n%s", err, out)
			}
			b.StartTimer()
		}
		m.Stop(int64(b.N) * int64(len(recs)))
		checkStored(b, dbs[0], want)
		b.ReportMetric(diskPerFlow(b, dbs[0]), "disk-bytes/flow")
	})
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
