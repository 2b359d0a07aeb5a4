package clickhouse

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

// TestResortFlows: migration 11 on a database that already holds flows
// (stored under schema 10) keeps every row, the rollups and flow_keys; it
// completes from a crash before the swap, between the swap's two renames
// and after the swap; the recreated views fire on the rewritten table.
func TestResortFlows(t *testing.T) {
	db := srv.NewDatabase(t)
	c := conn(t)
	ctx := context.Background()
	recs, res := genRecords(20_000, 5, 2)
	storeBefore(t, db, 11, recs, res)
	f, err := DetectFeatures(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	sc := Schema{DB: db, F: f}
	if done, err := sortedByFlowsOrder(ctx, c, sc); err != nil || done {
		t.Fatalf("flows sorted by the new key before migration 11 (%v)", err)
	}
	// A crash after the copy, before the swap: views dropped, flows_resort
	// filled, flows still the old table.
	days, err := flowsDays(ctx, c, sc)
	if err != nil || len(days) < 2 {
		t.Fatalf("days %v (%v): the records must span several days", days, err)
	}
	exec := func(qs ...string) {
		t.Helper()
		for _, q := range qs {
			if err := c.Exec(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	exec(sc.resortStatements(days)...)
	tables := func() map[string]string { return tableDDLs(t, c, db) }
	if tb := tables(); tb["flows_1m_mv"] != "" || tb["flows_resort"] == "" {
		t.Fatalf("the simulated crash left %v", tb)
	}
	check := func(when string) {
		t.Helper()
		if _, err := MigrateURL(ctx, srv.URL(db), testOptions(t)); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if done, err := sortedByFlowsOrder(ctx, c, sc); err != nil || !done {
			t.Fatalf("%s: flows not sorted by the new key (%v)", when, err)
		}
		tb := tables()
		for _, want := range []string{"flows", "flows_1m_mv", "flows_1h_mv", "offenders_1h_mv", "flow_keys_mv"} {
			if tb[want] == "" {
				t.Errorf("%s: %s missing (have %v)", when, want, tb)
			}
		}
		for _, gone := range []string{"flows_resort", "flows_presort", "migrate_lock"} {
			if tb[gone] != "" {
				t.Errorf("%s: %s left behind", when, gone)
			}
		}
		checkStored(t, db, inputTotals(recs))
	}
	check("after a crash before the swap")
	forget11 := "ALTER TABLE " + sc.table("schema_migrations") + " DELETE WHERE version = 11"
	// A crash after the swap, before the views were made again and the old
	// table dropped (and before the step was recorded).
	exec(append(sc.dropViews(), "CREATE TABLE "+sc.table("flows_presort")+" AS "+sc.table("flows"), forget11)...)
	waitMutations(t, c, db)
	check("after a crash after the swap")
	// A crash between the swap's renames (18.16 renames one table at a
	// time): no flows, the checked copy in flows_resort.
	exec(append(sc.dropViews(), "CREATE TABLE "+sc.table("flows_resort")+" AS "+sc.table("flows"),
		"INSERT INTO "+sc.table("flows_resort")+" SELECT * FROM "+sc.table("flows"),
		"RENAME TABLE "+sc.table("flows")+" TO "+sc.table("flows_presort"), forget11)...)
	waitMutations(t, c, db)
	check("after a crash between the renames")
	// The views fire on the new table.
	more, mres := genRecords(3_000, 6, 1)
	store(t, db, more, mres)
	checkStored(t, db, inputTotals(append(recs, more...)))
}

// TestResortOnlyByMigrate: a sink, report or what-if never rewrites flows
// (ErrNeedsMigrate, nothing changed); a held lock stops db migrate with a
// message naming it; two migrations at once neither lose nor double a row.
func TestResortOnlyByMigrate(t *testing.T) {
	c := conn(t)
	ctx := context.Background()
	recs, res := genRecords(20_000, 7, 2)
	db := srv.NewDatabase(t)
	storeBefore(t, db, 11, recs, res)
	f, err := DetectFeatures(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	sc := Schema{DB: db, F: f}
	if _, err := Open(ctx, srv.URL(db), testOptions(t)); !errors.Is(err, ErrNeedsMigrate) {
		t.Fatalf("Open on a database needing the rewrite: %v, want ErrNeedsMigrate", err)
	}
	if _, err := ReportURL(ctx, srv.URL(db), testOptions(t), ReportQuery{}); !errors.Is(err, ErrNeedsMigrate) {
		t.Errorf("ReportURL: %v, want ErrNeedsMigrate", err)
	}
	if err := c.Exec(ctx, "CREATE TABLE "+sc.table("migrate_lock")+" (x UInt8) ENGINE = TinyLog"); err != nil {
		t.Fatal(err)
	}
	if _, err := MigrateURL(ctx, srv.URL(db), testOptions(t)); err == nil || !strings.Contains(err.Error(), "migrate_lock") {
		t.Fatalf("migrate with the lock held: %v", err)
	}
	if done, err := sortedByFlowsOrder(ctx, c, sc); err != nil || done {
		t.Fatalf("flows rewritten while the lock was held (%v)", err)
	}
	if err := c.Exec(ctx, "DROP TABLE "+sc.table("migrate_lock")); err != nil {
		t.Fatal(err)
	}
	checkStored(t, db, inputTotals(recs))
	// Two at once: one may fail (the lock), the rows stay exact.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = MigrateURL(ctx, srv.URL(db), testOptions(t))
		}()
	}
	wg.Wait()
	if errs[0] != nil && errs[1] != nil {
		t.Fatalf("both migrations failed: %v; %v", errs[0], errs[1])
	}
	if _, err := MigrateURL(ctx, srv.URL(db), testOptions(t)); err != nil {
		t.Fatal(err)
	}
	if done, err := sortedByFlowsOrder(ctx, c, sc); err != nil || !done {
		t.Fatalf("flows not rewritten (%v)", err)
	}
	checkStored(t, db, inputTotals(recs))
	store(t, db, recs[:100], res[:100]) // the sink opens now
}
