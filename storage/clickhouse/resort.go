package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Migration 11 sorts flows by flowsOrder. New databases get that order
// from migration 1; older ones have flowsOrderBefore11. Neither 18.16 nor
// current servers change the sort key of a table in place (MODIFY ORDER BY
// only appends new columns), so the step rewrites the table: the views fed
// by flows are dropped, the rows copied into flows_resort one day
// partition at a time, the copy's count and sums checked against flows,
// the two tables swapped by RENAME, the views created again and the old
// table dropped. The rollups and flow_keys are not touched: they hold the
// same rows before and after.
//
// The rewrite must run with no writer inserting into flows (a row inserted
// between the copy and the swap would be lost — the check would then stop
// the step —, and no view fires while they are dropped), so only `flowsift
// db migrate` runs it (Migrate with rewrite); a sink, report or what-if
// opening such a database fails with ErrNeedsMigrate instead. Two migrators
// exclude each other with the lock table migrate_lock: a second one fails
// and says so. After a crash, the lock (if the crash left it) is dropped by
// hand, as the error says, and the step run again: it looks at the
// database first — a swap cut between its two renames (18.16 renames one
// table at a time) is completed, a table already in the new order only
// gets its views back and the old table dropped, anything else is copied
// again from the start.

// flowsOrderBefore11 is the sort key of flows in databases made before
// migration 11.
const flowsOrderBefore11 = "`start`, `iface`, `dport`, `dst`"

// ErrNeedsMigrate: the database needs a step that rewrites a table, which
// only `flowsift db migrate` runs.
var ErrNeedsMigrate = errors.New("the schema upgrade rewrites table flows: stop every flowsift writing to this database and run `flowsift db migrate` first")

// resortStatements are the statements of a full rewrite up to the swap,
// in order. The rows are copied one day partition at a time (days; nil:
// all at once), so that no insert makes more than a few parts per
// partition (a whole table copied at once spreads every block over all
// its days and can reach the server's limit of parts per partition).
func (s Schema) resortStatements(days []uint32) []string {
	q := []string{"DROP TABLE IF EXISTS " + s.table("flows_resort"), s.flowsDDL("flows_resort", flowsOrder, math.MaxInt)}
	q = append(q, s.dropViews()...)
	cols := insertColumns()
	copyRows := "INSERT INTO " + s.table("flows_resort") + " (" + cols + ") SELECT " + cols + " FROM " + s.table("flows")
	if days == nil {
		q = append(q, copyRows)
	}
	for _, d := range days {
		q = append(q, fmt.Sprintf("%s WHERE toYYYYMMDD(`start`) = %d", copyRows, d))
	}
	return q
}

// swapStatement replaces flows with flows_resort.
func (s Schema) swapStatement() string {
	return "RENAME TABLE " + s.table("flows") + " TO " + s.table("flows_presort") + ", " + s.table("flows_resort") + " TO " + s.table("flows")
}

// resortFinish recreates the views and drops the old table.
func (s Schema) resortFinish() []string {
	q := s.viewDDLs()
	return append(q, "DROP TABLE IF EXISTS "+s.table("flows_presort"))
}

// viewDDLs creates every materialized view fed by flows.
func (s Schema) viewDDLs() []string {
	var q []string
	for _, r := range Rollups {
		q = append(q, s.ViewDDL(r))
	}
	return append(q, s.FlowKeysViewDDL())
}

func (s Schema) dropViews() []string {
	var q []string
	for _, r := range Rollups {
		q = append(q, "DROP TABLE IF EXISTS "+s.table(r.Table+"_mv"))
	}
	return append(q, "DROP TABLE IF EXISTS "+s.table("flow_keys_mv"))
}

// flowsDays lists the day partitions of flows (from the server's list of
// parts: no column is read).
func flowsDays(ctx context.Context, conn driver.Conn, s Schema) ([]uint32, error) {
	rows, err := conn.Query(ctx, "SELECT DISTINCT toUInt32(`partition`) AS d FROM system.parts "+
		"WHERE `active` AND `database` = ? AND `table` = 'flows' ORDER BY d", s.DB)
	if err != nil {
		return nil, fmt.Errorf("days of %s.flows: %w", s.DB, err)
	}
	defer rows.Close()
	days := []uint32{}
	for rows.Next() {
		var d uint32
		if err := rows.Scan(&d); err != nil {
			return nil, err
		}
		days = append(days, d)
	}
	return days, rows.Err()
}

// tableExists reports whether s.DB has table name.
func tableExists(ctx context.Context, conn driver.Conn, s Schema, name string) (bool, error) {
	var n uint64
	err := conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ? AND name = ?", s.DB, name).Scan(&n)
	return n > 0, err
}

// sortedByFlowsOrder reports whether flows already has the new sort key.
func sortedByFlowsOrder(ctx context.Context, conn driver.Conn, s Schema) (bool, error) {
	var key string
	if err := conn.QueryRow(ctx, "SELECT sorting_key FROM system.tables WHERE database = ? AND name = 'flows'", s.DB).Scan(&key); err != nil {
		return false, fmt.Errorf("sort key of %s.flows: %w", s.DB, err)
	}
	norm := func(k string) string { return strings.NewReplacer("`", "", " ", "").Replace(k) }
	return norm(key) == norm(flowsOrder), nil
}

// flowsTotals is the count and sums of a raw table, to check a copy.
func flowsTotals(ctx context.Context, conn driver.Conn, s Schema, table string) ([3]uint64, error) {
	var t [3]uint64
	err := conn.QueryRow(ctx, "SELECT count(), sum(`packets`), sum(`bytes`) FROM "+s.table(table)).Scan(&t[0], &t[1], &t[2])
	return t, err
}

func resortFlows(ctx context.Context, conn driver.Conn, s Schema, rewrite bool) error {
	// A swap cut between its renames: flows_presort and a checked copy
	// flows_resort, no flows.
	has, err := tableExists(ctx, conn, s, "flows")
	if err != nil {
		return err
	}
	if !has {
		if copied, err := tableExists(ctx, conn, s, "flows_resort"); err != nil || !copied {
			return fmt.Errorf("table %s.flows is missing (and no flows_resort to complete a swap with): %v", s.DB, err)
		}
		if err := conn.Exec(ctx, "RENAME TABLE "+s.table("flows_resort")+" TO "+s.table("flows")); err != nil {
			return fmt.Errorf("completing the swap of flows: %w", err)
		}
	}
	done, err := sortedByFlowsOrder(ctx, conn, s)
	if err != nil {
		return err
	}
	if !done {
		if !rewrite {
			return ErrNeedsMigrate
		}
		if err := rewriteFlows(ctx, conn, s); err != nil {
			return err
		}
	}
	for _, q := range s.resortFinish() {
		if err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%.60s…: %w", q, err)
		}
	}
	return nil
}

// rewriteFlows copies flows into the new order and swaps the tables,
// holding the lock table migrate_lock.
func rewriteFlows(ctx context.Context, conn driver.Conn, s Schema) error {
	host, _ := os.Hostname()
	lock := s.table("migrate_lock")
	// Without IF NOT EXISTS: the creator holds the lock.
	if err := conn.Exec(ctx, "CREATE TABLE "+lock+" (`holder` String, `since` DateTime('UTC')) ENGINE = TinyLog"); err != nil {
		if held, _ := tableExists(ctx, conn, s, "migrate_lock"); held {
			// Who holds it, as the holder wrote (nothing if it crashed
			// before writing).
			var holder string
			var since time.Time
			if conn.QueryRow(ctx, "SELECT `holder`, `since` FROM "+lock+" LIMIT 1").Scan(&holder, &since) == nil {
				holder = " (" + holder + ", since " + since.UTC().Format(time.DateTime) + " UTC)"
			}
			return fmt.Errorf("another flowsift db migrate holds %s.migrate_lock%s; if none is running (one that crashed left it), "+
				"run DROP TABLE %s and migrate again", s.DB, holder, lock)
		}
		return fmt.Errorf("taking the migration lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+lock)
	if batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+lock); err == nil {
		if batch.Append(fmt.Sprintf("%s pid %d", host, os.Getpid()), time.Now().UTC()) == nil {
			batch.Send()
		}
		batch.Close()
	}
	// Another migrator may have finished before this one took the lock.
	if done, err := sortedByFlowsOrder(ctx, conn, s); err != nil || done {
		return err
	}
	days, err := flowsDays(ctx, conn, s)
	if err != nil {
		return err
	}
	for _, q := range s.resortStatements(days) {
		if err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%.60s…: %w", q, err)
		}
	}
	want, err := flowsTotals(ctx, conn, s, "flows")
	if err != nil {
		return err
	}
	got, err := flowsTotals(ctx, conn, s, "flows_resort")
	if err != nil {
		return err
	}
	if got != want {
		// Leave the database as it was: views back, copy dropped.
		for _, q := range append(s.viewDDLs(), "DROP TABLE IF EXISTS "+s.table("flows_resort")) {
			conn.Exec(ctx, q)
		}
		return fmt.Errorf("the copy of flows holds %d rows (packets %d, bytes %d), flows %d (%d, %d): was a writer running? "+
			"Stop it and migrate again", got[0], got[1], got[2], want[0], want[1], want[2])
	}
	if err := conn.Exec(ctx, s.swapStatement()); err != nil {
		return fmt.Errorf("swapping flows: %w", err)
	}
	return nil
}

func init() {
	Migrations = append(Migrations, Migration{Version: 11, Name: "flows sorted by day, interface, direction, verdict, finding, port, source (rewrites the table)",
		SQL: func(s Schema) []string {
			return append(append(s.resortStatements(nil), s.swapStatement()), s.resortFinish()...)
		}, Run: resortFlows})
	sort.SliceStable(Migrations, func(i, j int) bool { return Migrations[i].Version < Migrations[j].Version })
}
