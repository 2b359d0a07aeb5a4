package clickhouse

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

func TestSinkSums(t *testing.T) {
	db := srv.NewDatabase(t)
	recs, res := genRecords(250_000, 1, 3)
	opts := testOptions(t)
	opts.BatchRows = 40_000
	s, err := Open(context.Background(), srv.URL(db), opts)
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, s, recs, res)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	t.Logf("stats %+v", st)
	if st.Rows != int64(len(recs)) {
		t.Errorf("stats: %d rows stored, want %d", st.Rows, len(recs))
	}
	checkStored(t, db, inputTotals(recs))
}

func TestMigrateIdempotent(t *testing.T) {
	db := srv.NewDatabase(t)
	ctx := context.Background()
	first, err := MigrateURL(ctx, srv.URL(db), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Applied) != len(Migrations) || first.Version != Migrations[len(Migrations)-1].Version {
		t.Fatalf("first run applied %d steps, version %d", len(first.Applied), first.Version)
	}
	c := conn(t)
	ddl := func() map[string]string { return tableDDLs(t, c, db) }
	before := ddl()
	for _, want := range []string{"flows", "batches", "flows_1m", "flows_1h", "flows_1m_mv", "flows_1h_mv", "offenders_1h", "offenders_1h_mv", "schema_migrations"} {
		if _, ok := before[want]; !ok {
			t.Errorf("table %s missing after migrate (have %v)", want, before)
		}
	}
	second, err := MigrateURL(ctx, srv.URL(db), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Applied) != 0 || second.Version != first.Version {
		t.Errorf("second run applied %v, version %d", second.Applied, second.Version)
	}
	// A step whose record was lost (crash between step and record) runs
	// again harmlessly.
	if err := c.Exec(ctx, "ALTER TABLE "+db+".schema_migrations DELETE WHERE version IN (3, 5, 6)"); err != nil {
		t.Fatal(err)
	}
	waitMutations(t, c, db)
	third, err := MigrateURL(ctx, srv.URL(db), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(third.Applied) != 3 || third.Applied[0].Version != 3 || third.Applied[1].Version != 5 || third.Applied[2].Version != 6 {
		t.Errorf("third run applied %v, want steps 3, 5 and 6", third.Applied)
	}
	after := ddl()
	if len(after) != len(before) {
		t.Errorf("tables changed: %v -> %v", before, after)
	}
	for n, q := range before {
		if after[n] != q {
			t.Errorf("%s changed:\n%s\n->\n%s", n, q, after[n])
		}
	}
	var n uint64
	c.QueryRow(ctx, "SELECT count() FROM "+db+".flows").Scan(&n)
	if n != 0 {
		t.Errorf("flows not empty: %d", n)
	}
}

func waitMutations(t testing.TB, c driver.Conn, db string) {
	t.Helper()
	for i := 0; i < 600; i++ {
		var n uint64
		if err := c.QueryRow(context.Background(), "SELECT count() FROM system.mutations WHERE database = ? AND is_done = 0", db).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("mutations not done after 30 s")
}

// TestInDoubt drives every branch of the resolution of a batch whose insert
// may have been applied: already in the ledger, stored but unrecorded with
// the rollups short, not stored but the rollups fed, partly stored.
func TestInDoubt(t *testing.T) {
	db := srv.NewDatabase(t)
	ctx := context.Background()
	opts := testOptions(t)
	s, err := Open(ctx, srv.URL(db), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recs, res := genRecords(20_000, 7, 1)
	mk := func(id string, lo, hi int) *batch {
		b := &batch{}
		b.reset()
		for i := lo; i < hi; i++ {
			b.add(&recs[i], &res[i], "snap-1")
		}
		b.id = id
		return b
	}
	c := conn(t)
	flows := db + ".flows"
	// A: stored normally, then replayed.
	a := mk("A", 0, 5000)
	if err := s.store(a); err != nil {
		t.Fatal(err)
	}
	a.inDoubt = true
	if err := s.store(a); err != nil {
		t.Fatal(err)
	}
	checkStored(t, db, inputTotals(recs[:5000]))

	// B: the insert reached flows (and the views) but the rollups lost it
	// and the ledger never heard of it.
	b := mk("B", 5000, 10000)
	if err := b.send(ctx, c, flows); err != nil {
		t.Fatal(err)
	}
	for _, r := range Rollups {
		// Cancel B's contribution, as if the view had not run.
		q := "INSERT INTO " + db + "." + r.Table + " (bucket, " + strings.Join(r.Key, ", ") + ", flows, packets, bytes) " +
			"SELECT bucket, " + strings.Join(r.Key, ", ") + ", -flows, -packets, -bytes FROM (" +
			s.schema.rollupSelect(r, "batch_id = 'B'") + ")"
		if err := c.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	// And flow_keys: B's sums cancelled (added as two's complement).
	keys := strings.Join(flowKeysKey, ", ")
	q := "INSERT INTO " + db + ".flow_keys (bucket, " + keys + ", flows, packets, bytes, first, last) " +
		"SELECT bucket, " + keys + ", sumState(toUInt64(-f)), sumState(toUInt64(-p)), sumState(toUInt64(-b)), minState(t0), maxState(t1) FROM (" +
		"SELECT toStartOfHour(start) AS bucket, iface, direction, src, dst, sport, dport, proto, reply, " + icmpExpr + " AS icmp, " +
		"toInt64(count()) AS f, toInt64(sum(packets)) AS p, toInt64(sum(bytes)) AS b, min(start) AS t0, max(end) AS t1 FROM " + flows +
		" WHERE batch_id = 'B' GROUP BY bucket, " + keys + ") GROUP BY bucket, " + keys
	if err := c.Exec(ctx, q); err != nil {
		t.Fatal(err)
	}
	b.inDoubt = true
	if err := s.store(b); err != nil {
		t.Fatal(err)
	}
	checkStored(t, db, inputTotals(recs[:10000]))

	// C: nothing in flows, but the rollups got it (a view ran, the raw
	// part did not survive).
	cb := mk("C", 10000, 15000)
	if err := cb.send(ctx, c, flows); err != nil {
		t.Fatal(err)
	}
	if err := c.Exec(ctx, "ALTER TABLE "+flows+" DELETE WHERE batch_id = 'C'"); err != nil {
		t.Fatal(err)
	}
	waitMutations(t, c, db)
	cb.inDoubt = true
	if err := s.store(cb); err != nil {
		t.Fatal(err)
	}
	checkStored(t, db, inputTotals(recs[:15000]))

	// D: half of its rows stored under its id.
	d := mk("D", 15000, 20000)
	half := mk("D", 15000, 17500)
	if err := half.send(ctx, c, flows); err != nil {
		t.Fatal(err)
	}
	d.inDoubt = true
	if err := s.store(d); err != nil {
		t.Fatal(err)
	}
	checkStored(t, db, inputTotals(recs))
	// And the resolution is stable: replaying everything again adds nothing.
	for _, x := range []*batch{a, b, cb, d} {
		x.inDoubt = true
		if err := s.store(x); err != nil {
			t.Fatal(err)
		}
	}
	checkStored(t, db, inputTotals(recs))
	var ledger uint64
	c.QueryRow(ctx, "SELECT uniqExact(batch_id) FROM "+db+".batches").Scan(&ledger)
	if ledger != 4 {
		t.Errorf("ledger lists %d batches, want 4", ledger)
	}
}

// TestRuleHitsFromRollups: rule statistics answered from the 1-hour rollup
// equal the input's.
func TestRuleHitsFromRollups(t *testing.T) {
	db := srv.NewDatabase(t)
	recs, res := genRecords(30_000, 3, 2)
	s, err := Open(context.Background(), srv.URL(db), testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]totals{}
	for i := range recs {
		if err := s.Write(&recs[i], &res[i]); err != nil {
			t.Fatal(err)
		}
		for _, r := range res[i].Rules {
			w := want[r]
			w.rows++
			w.packets += recs[i].Packets
			w.bytes += recs[i].Bytes
			want[r] = w
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	c := conn(t)
	for _, r := range Rollups {
		if !slices.Contains(r.Key, "rules") {
			continue
		}
		rows, err := c.Query(context.Background(), "SELECT rule, sum(flows), sum(packets), sum(bytes) FROM "+db+"."+r.Table+" ARRAY JOIN rules AS rule GROUP BY rule")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]totals{}
		for rows.Next() {
			var name string
			var x totals
			if err := rows.Scan(&name, &x.rows, &x.packets, &x.bytes); err != nil {
				t.Fatal(err)
			}
			got[name] = x
		}
		rows.Close()
		if len(got) != len(want) {
			t.Errorf("%s: %d rules, want %d", r.Table, len(got), len(want))
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s: rule %s: %v, want %v", r.Table, k, got[k], w)
			}
		}
	}
}
