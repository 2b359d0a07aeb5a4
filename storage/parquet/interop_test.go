package parquet

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowsift/flowsift/analyze/verdict"
	"github.com/flowsift/flowsift/flowlog"
)

// An independent reader over flowsift's Parquet. pyarrow is not installable
// here (no Python package registry), and Debian's ClickHouse is 18.16, which
// has no Parquet format at all ("Code: 73. Unknown format Parquet" for
// FORMAT Parquet, INSERT … FORMAT Parquet and file(…, Parquet)). DuckDB's
// Node.js package ships its engine inside the npm package, so the test
// installs it from the npm registry once (into the user cache directory)
// and runs SQL over the files with it.
const duckdbPackage = "@duckdb/node-api@1.5.6-r.1"

const duckdbScript = `import { DuckDBInstance } from '@duckdb/node-api';
const inst = await DuckDBInstance.create(':memory:');
const c = await inst.connect();
const r = await c.runAndReadAll(process.argv[2]);
console.log(JSON.stringify(r.getRowsJS(), (k, v) => typeof v === 'bigint' ? v.toString() : v));
`

// duckdb returns a function running one SQL query in DuckDB and returning
// its rows as JSON values (numbers as strings when DuckDB's are 64-bit).
func duckdb(t *testing.T) func(sql string) [][]any {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is needed for the DuckDB interop check: %v", err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "flowsift-test", "duckdb-node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api", "package.json")); err != nil {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"flowsift-duckdb-check","private":true}`), 0o644)
		cmd := exec.Command("npm", "install", "--no-audit", "--no-fund", "--prefix", dir, duckdbPackage)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm install %s: %v\n%s", duckdbPackage, err, out)
		}
	}
	script := filepath.Join(dir, "query.mjs")
	if err := os.WriteFile(script, []byte(duckdbScript), 0o644); err != nil {
		t.Fatal(err)
	}
	return func(sql string) [][]any {
		t.Helper()
		cmd := exec.Command(node, script, sql)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			msg := ""
			if ee, ok := err.(*exec.ExitError); ok {
				msg = string(ee.Stderr)
			}
			t.Fatalf("duckdb %q: %v\n%s", sql, err, msg)
		}
		var rows [][]any
		if err := json.Unmarshal(out, &rows); err != nil {
			t.Fatalf("duckdb output %s: %v", out, err)
		}
		return rows
	}
}

// TestDuckDBReads: DuckDB reads a Hive-partitioned directory written by
// DirWriter (row groups, pages, dictionary fallback and all) with the same
// counts and sums flowsift computes, with the partition keys from the
// paths, the judgment columns, and min/max statistics that do not mislead
// its row-group pruning.
func TestDuckDBReads(t *testing.T) {
	query := duckdb(t)
	dir := t.TempDir()
	recs := variedRecords(120_000)
	// Many distinct instance ids: the dictionary of that column fills up
	// and the rest of the chunk is PLAIN.
	for i := range recs {
		if i%2 == 1 && i < 100_000 {
			recs[i].SetStr(flowlog.AttrInstanceId, fmt.Sprintf("i-%016x", i))
		}
	}
	d, err := OpenDir(dir, DirOptions{Options: Options{Judged: true, Policy: "p0", RowGroupRows: 50_000, BatchRows: 10_000}})
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		rows, bytes, packets, version, rules, replies, accept, late, iface, src, inst int64
	}
	cut := recs[0].Start + 3*3600 // a start filter row groups can be pruned by
	iface, src := recs[5].Iface, recs[5].Src
	for i := range recs {
		r := &recs[i]
		res := judgment(i)
		if err := d.Write(r, &res); err != nil {
			t.Fatal(err)
		}
		want.rows++
		want.bytes += r.Bytes % 1_000_000_007 // keep DuckDB's sum in range
		want.packets += r.Packets % 1_000_000_007
		if _, ok := r.Attr(flowlog.AttrVersion); ok {
			want.version++
		}
		if a, _ := r.Attr(flowlog.AttrInstanceId); a.Str != "" {
			want.inst++
		}
		want.rules += int64(len(res.Rules))
		if res.Reply {
			want.replies++
		}
		if res.Verdict == verdict.Accept {
			want.accept++
		}
		if r.Start >= cut {
			want.late++
		}
		if r.Iface == iface {
			want.iface++
		}
		if r.Src == src {
			want.src++
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	from := fmt.Sprintf("read_parquet('%s/**/*.parquet', hive_partitioning = true)", dir)
	got := query(fmt.Sprintf(`SELECT count(*), sum(bytes %% 1000000007), sum(packets %% 1000000007), count(version),
		sum(len(rules)), count(*) FILTER (WHERE reply), count(*) FILTER (WHERE verdict = 'accept'),
		count(DISTINCT date || '/' || hour), count(instance_id) FROM %s`, from))
	wantRow := fmt.Sprint([]any{want.rows, want.bytes, want.packets, want.version, want.rules, want.replies, want.accept,
		int64(d.Stats().Partitions), want.inst})
	t.Logf("DuckDB %s: %v", duckdbPackage, got[0])
	if g := fmt.Sprint(numbers(got[0])); g != wantRow {
		t.Errorf("DuckDB: %s\n  want %s", g, wantRow)
	}
	filtered := query(fmt.Sprintf(`SELECT (SELECT count(*) FROM %[1]s WHERE start >= %[2]d), (SELECT count(*) FROM %[1]s WHERE iface = '%[3]s'),
		(SELECT count(*) FROM %[1]s WHERE src = '%[4]s')`, from, cut, iface, src))
	if g, w := fmt.Sprint(numbers(filtered[0])), fmt.Sprint([]any{want.late, want.iface, want.src}); g != w {
		t.Errorf("DuckDB filtered counts %s, want %s", g, w)
	}
	// The full record: every optional key, by name, with its type.
	full := recs[len(recs)-2]
	var cols []string
	for _, k := range flowlog.AttrKeys() {
		cols = append(cols, k.Name())
	}
	row := query(fmt.Sprintf(`SELECT %s FROM %s WHERE start = %d`, strings.Join(cols, ", "), from, full.Start))
	if len(row) != 1 {
		t.Fatalf("%d rows for the full record", len(row))
	}
	for i, k := range flowlog.AttrKeys() {
		a, _ := full.Attr(k)
		w := a.Str
		if k.IsInt() {
			w = fmt.Sprint(a.Int)
		}
		if g := fmt.Sprint(row[0][i]); g != w {
			t.Errorf("%s: DuckDB %q, want %q", k.Name(), g, w)
		}
	}
}

// numbers turns DuckDB's JSON numbers and bigint strings into int64s.
func numbers(row []any) []any {
	out := make([]any, len(row))
	for i, v := range row {
		switch v := v.(type) {
		case float64:
			out[i] = int64(v)
		case string:
			var n int64
			if _, err := fmt.Sscan(v, &n); err == nil {
				out[i] = n
				continue
			}
			out[i] = v
		default:
			out[i] = v
		}
	}
	return out
}
