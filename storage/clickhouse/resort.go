package clickhouse

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Migration 11 sorts flows by flowsOrder. Neither 18.16 nor current
// servers change the sort key of a table in place (MODIFY ORDER BY only
// appends new columns), so the step rewrites the table: the views fed by
// flows are dropped, the rows copied into flows_resort (sorted by the new
// key), the two tables swapped by one RENAME, the views created again and
// the old table dropped. The rollups and flow_keys are not touched: they
// hold the same rows before and after.
//
// The step must run with no writer inserting into flows (a row inserted
// between the copy and the swap would be lost, and no view fires while
// they are dropped): run `flowsift db migrate` with the sinks stopped
// before upgrading. It is safe to repeat after a crash at any point: it
// looks at the sort key of flows first, and once that is the new one only
// recreates the views and drops the old table.

// resortStatements are the statements of a full rewrite, in order. The
// rows are copied one day partition at a time (days; nil: all at once), so
// that no insert makes more than a few parts per partition (a whole table
// copied at once spreads every block over all its days and can reach the
// server's limit of parts per partition).
func (s Schema) resortStatements(days []uint32) []string {
	q := []string{"DROP TABLE IF EXISTS " + s.table("flows_resort"), s.flowsDDL("flows_resort", flowsOrder, math.MaxInt)}
	q = append(q, s.dropViews()...)
	cols := quotedList(flowColumnNames())
	copyRows := "INSERT INTO " + s.table("flows_resort") + " (" + cols + ") SELECT " + cols + " FROM " + s.table("flows")
	if days == nil {
		q = append(q, copyRows)
	}
	for _, d := range days {
		q = append(q, fmt.Sprintf("%s WHERE toYYYYMMDD(`start`) = %d", copyRows, d))
	}
	q = append(q, "RENAME TABLE "+s.table("flows")+" TO "+s.table("flows_presort")+", "+s.table("flows_resort")+" TO "+s.table("flows"))
	return append(q, s.resortFinish()...)
}

// flowsDays lists the day partitions of flows.
func flowsDays(ctx context.Context, conn driver.Conn, s Schema) ([]uint32, error) {
	rows, err := conn.Query(ctx, "SELECT DISTINCT toYYYYMMDD(`start`) AS d FROM "+s.table("flows")+" ORDER BY d")
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

func flowColumnNames() []string {
	names := make([]string, len(flowColumns))
	for i, c := range flowColumns {
		names[i] = c.name
	}
	return names
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

func resortFlows(ctx context.Context, conn driver.Conn, s Schema) error {
	done, err := sortedByFlowsOrder(ctx, conn, s)
	if err != nil {
		return err
	}
	steps := s.resortFinish()
	if !done {
		days, err := flowsDays(ctx, conn, s)
		if err != nil {
			return err
		}
		steps = s.resortStatements(days)
	}
	for _, q := range steps {
		if err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%.60s…: %w", q, err)
		}
	}
	return nil
}

func init() {
	Migrations = append(Migrations, Migration{Version: 11, Name: "flows sorted by day, interface, direction, verdict, finding, port, source (rewrites the table)",
		SQL: func(s Schema) []string { return s.resortStatements(nil) }, Run: resortFlows})
	sort.SliceStable(Migrations, func(i, j int) bool { return Migrations[i].Version < Migrations[j].Version })
}
