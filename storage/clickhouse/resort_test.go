package clickhouse

import (
	"context"
	"strings"
	"testing"
)

// TestResortFlows: migration 11 on a database that already holds flows
// (stored under schema 10) keeps every row, the rollups and flow_keys;
// it completes from a crash before the swap and from one after it; the
// recreated views fire on the rewritten table.
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
	for _, q := range sc.resortStatements(days) {
		if strings.HasPrefix(q, "RENAME") {
			break
		}
		if err := c.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
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
		for _, gone := range []string{"flows_resort", "flows_presort"} {
			if tb[gone] != "" {
				t.Errorf("%s: %s left behind", when, gone)
			}
		}
		checkStored(t, db, inputTotals(recs))
	}
	check("after a crash before the swap")
	// A crash after the swap, before the views were made again and the old
	// table dropped (and before the step was recorded).
	for _, q := range append(sc.dropViews(), "CREATE TABLE "+sc.table("flows_presort")+" AS "+sc.table("flows"),
		"ALTER TABLE "+sc.table("schema_migrations")+" DELETE WHERE version = 11") {
		if err := c.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	waitMutations(t, c, db)
	check("after a crash after the swap")
	// The views fire on the new table.
	more, mres := genRecords(3_000, 6, 1)
	store(t, db, more, mres)
	checkStored(t, db, inputTotals(append(recs, more...)))
}
