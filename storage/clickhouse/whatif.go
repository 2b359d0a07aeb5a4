package clickhouse

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/flowsift/flowsift/analyze/verdict"
	"github.com/flowsift/flowsift/analyze/whatif"
	"github.com/flowsift/flowsift/flowlog"
)

// The what-if aggregate (flowsift whatif --from): flow_keys holds, per hour,
// interface, direction, five-tuple, reply side (as analyze decided it when
// storing) and ICMP type/code, the summed flows, packets and bytes and the
// first start / last end, fed by a materialized view from flows. Migration
// 10 creates both and backfills rows stored before it existed. Every
// column is an aggregate state (AggregatingMergeTree: 18.16 has no
// SimpleAggregateFunction), read with -Merge.
//
// The sink's in-doubt repair reconciles flow_keys as it does the rollups
// (FlowKeysReconcileSQL): a killed server may leave flows and the view's
// part in different states.

// flowKeysKey is the grouping key of flow_keys after the bucket.
var flowKeysKey = []string{"iface", "direction", "src", "dst", "sport", "dport", "proto", "reply", "icmp"}

// icmpExpr packs the ICMP type and code of attrs: -1 without a type, code
// 255 when absent (whatif.Row decodes it).
const icmpExpr = "toInt32(if(`proto` = 1 OR `proto` = 58, if(visitParamHas(`attrs`, 'icmp_type'), " +
	"visitParamExtractInt(`attrs`, 'icmp_type') * 256 + if(visitParamHas(`attrs`, 'icmp_code'), " +
	"visitParamExtractInt(`attrs`, 'icmp_code'), 255), -1), -1))"

// FlowKeysDDL creates the what-if aggregate table.
func (s Schema) FlowKeysDDL() string {
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS " + s.table("flow_keys") + " (\n  `bucket` DateTime('UTC')")
	for _, k := range flowKeysKey {
		typ := "Int32"
		if k != "icmp" {
			typ = columnType(k).typ(s.F)
		}
		b.WriteString(",\n  " + quote(k) + " " + typ)
	}
	b.WriteString(",\n  `flows` AggregateFunction(sum, UInt64),\n  `packets` AggregateFunction(sum, UInt64)," +
		"\n  `bytes` AggregateFunction(sum, UInt64),\n  `first` AggregateFunction(min, DateTime('UTC'))," +
		"\n  `last` AggregateFunction(max, DateTime('UTC'))\n) ENGINE = AggregatingMergeTree\n")
	b.WriteString("PARTITION BY toYYYYMM(`bucket`)\nORDER BY (`bucket`, " + quotedList(flowKeysKey) + ")")
	if s.F.Current && s.RetentionDays > 0 {
		fmt.Fprintf(&b, "\nTTL `bucket` + INTERVAL %d DAY", s.RetentionDays)
	}
	return b.String()
}

// flowKeysOf is the bucket and key of flow_keys computed from a row of
// flows.
const flowKeysOf = "toStartOfHour(`start`) AS `bucket`, `iface`, `direction`, `src`, `dst`, `sport`, `dport`, `proto`, `reply`, " +
	icmpExpr + " AS `icmp`"

func (s Schema) flowKeysSelect(where string) string {
	q := "SELECT " + flowKeysOf + ", sumState(toUInt64(1)) AS `flows`, sumState(`packets`) AS `packets`, sumState(`bytes`) AS `bytes`, " +
		"minState(`start`) AS `first`, maxState(`end`) AS `last`\nFROM " + s.table("flows")
	if where != "" {
		q += " WHERE " + where
	}
	return q + "\nGROUP BY `bucket`, " + quotedList(flowKeysKey)
}

// FlowKeysViewDDL creates the materialized view feeding flow_keys.
func (s Schema) FlowKeysViewDDL() string {
	return "CREATE MATERIALIZED VIEW IF NOT EXISTS " + s.table("flow_keys_mv") + " TO " + s.table("flow_keys") + " AS\n" + s.flowKeysSelect("")
}

// FlowKeysBackfillSQL copies rows stored before the view existed, only when
// flow_keys is still empty (so a repeated step adds nothing).
func (s Schema) FlowKeysBackfillSQL() string {
	return "INSERT INTO " + s.table("flow_keys") + " (`bucket`, " + quotedList(flowKeysKey) + ", `flows`, `packets`, `bytes`, `first`, `last`)\n" +
		s.flowKeysSelect("(SELECT count() FROM "+s.table("flow_keys")+") = 0")
}

// FlowKeysReconcileSQL makes flow_keys equal to the aggregate of flows over
// the hours covering [lo, hi) (unix seconds), like ReconcileSQL for a
// rollup: per key it inserts the difference between flows and flow_keys.
// The sums are UInt64 states, so a negative difference (rows the view
// stored twice, or stored while the raw part was lost) is added as its
// two's complement, which sumMerge's wrapping addition turns into a
// subtraction: the merged sums are exact as long as the true ones are
// non-negative. first/last are min/max states: the correction carries the
// minimum/maximum over flows and flow_keys, so it never moves a correct
// bound (rows stored twice have the same bounds). Running it again adds
// nothing.
func (s Schema) FlowKeysReconcileSQL(lo, hi int64) string {
	lo, hi = lo/3600*3600, (hi+3599)/3600*3600
	rng := func(col string) string {
		return fmt.Sprintf("%s >= toDateTime(%d, 'UTC') AND %s < toDateTime(%d, 'UTC')", col, lo, col, hi)
	}
	keys := quotedList(flowKeysKey)
	return "INSERT INTO " + s.table("flow_keys") + " (`bucket`, " + keys + ", `flows`, `packets`, `bytes`, `first`, `last`)\n" +
		"SELECT `bucket`, " + keys + ", sumState(toUInt64(`f`)), sumState(toUInt64(`p`)), sumState(toUInt64(`b`)), " +
		"minState(`t0`), maxState(`t1`) FROM (\n" +
		"  SELECT `bucket`, " + keys + ", sum(`f`) AS `f`, sum(`p`) AS `p`, sum(`b`) AS `b`, min(`t0`) AS `t0`, max(`t1`) AS `t1` FROM (\n" +
		"    SELECT " + flowKeysOf + ", toInt64(1) AS `f`, toInt64(`packets`) AS `p`, toInt64(`bytes`) AS `b`, `start` AS `t0`, `end` AS `t1`\n" +
		"    FROM " + s.table("flows") + " WHERE " + rng("`start`") + "\n" +
		"    UNION ALL\n" +
		"    SELECT `bucket`, " + keys + ", -toInt64(sumMerge(`flows`)) AS `f`, -toInt64(sumMerge(`packets`)) AS `p`, " +
		"-toInt64(sumMerge(`bytes`)) AS `b`, minMerge(`first`) AS `t0`, maxMerge(`last`) AS `t1`\n" +
		"    FROM " + s.table("flow_keys") + " WHERE " + rng("`bucket`") + " GROUP BY `bucket`, " + keys + "\n" +
		"  ) GROUP BY `bucket`, " + keys + "\n  HAVING `f` != 0 OR `p` != 0 OR `b` != 0\n" +
		") GROUP BY `bucket`, " + keys
}

func init() {
	// Versions 10-14 are reserved for the what-if tables.
	Migrations = append(Migrations, Migration{Version: 10, Name: "what-if flow-key aggregate, its view and backfill", SQL: func(s Schema) []string {
		return []string{s.FlowKeysDDL(), s.FlowKeysViewDDL(), s.FlowKeysBackfillSQL()}
	}})
	sort.SliceStable(Migrations, func(i, j int) bool { return Migrations[i].Version < Migrations[j].Version })
}

// WhatifQuery selects the deduplicated rows of a what-if run.
type WhatifQuery struct {
	Since, Until time.Time // zero: unbounded
	// Bounds are the sorted port boundaries of both policies
	// (whatif.PortBounds): a client's ephemeral port (the opener's source
	// port, the reply's destination port) is replaced by the lowest port of
	// its interval, which no rule tells apart, so connections of one client
	// and service collapse into one row in SQL.
	Bounds []uint16
	// BucketWidth of the timeline, seconds (multiple of 3600; 0 = 3600).
	BucketWidth int64
}

// SQL renders the query (exported for the tests and EXPLAIN).
func (q WhatifQuery) SQL(s Schema) string {
	w := q.BucketWidth
	if w <= 0 {
		w = 3600
	}
	arr := "[toUInt16(0)]"
	if len(q.Bounds) > 0 {
		parts := make([]string, len(q.Bounds))
		for i, b := range q.Bounds {
			parts[i] = fmt.Sprintf("toUInt16(%d)", b)
		}
		arr = "[" + strings.Join(parts, ", ") + "]"
	}
	rep := func(col string) string {
		if len(q.Bounds) == 0 {
			return col
		}
		return fmt.Sprintf("arrayElement(%s, toUInt32(arrayCount(x -> x <= %s, %s)))", arr, col, arr)
	}
	var where []string
	if !q.Since.IsZero() {
		where = append(where, fmt.Sprintf("`bucket` >= toDateTime(%d, 'UTC')", q.Since.Unix()/3600*3600))
	}
	if !q.Until.IsZero() {
		where = append(where, fmt.Sprintf("`bucket` < toDateTime(%d, 'UTC')", q.Until.Unix()))
	}
	sql := "SELECT `iface`, toUInt8(`direction`) AS `dir`, `src`, `dst`, " +
		"if(`reply` = 1, `sport`, " + rep("`sport`") + ") AS `sp`, if(`reply` = 1, " + rep("`dport`") + ", `dport`) AS `dp`, " +
		"`proto`, `reply`, `icmp`, toUInt32(intDiv(toUInt32(`bucket`), " + fmt.Sprint(w) + ") * " + fmt.Sprint(w) + ") AS `b`, " +
		"toInt64(sumMerge(`flows`)) AS `f`, toInt64(sumMerge(`packets`)) AS `p`, toInt64(sumMerge(`bytes`)) AS `by`, " +
		"toUInt32(minMerge(`first`)) AS `t0`, toUInt32(maxMerge(`last`)) AS `t1`\nFROM " + s.table("flow_keys")
	if len(where) > 0 {
		sql += "\nWHERE " + strings.Join(where, " AND ")
	}
	return sql + "\nGROUP BY `iface`, `dir`, `src`, `dst`, `sp`, `dp`, `proto`, `reply`, `icmp`, `b`"
}

// WhatifRows connects to url, brings the schema up to date (creating and
// backfilling flow_keys on first use), and calls fn with every row of q.
// Only the deduplicated rows travel; fn's Row is reused between calls.
func WhatifRows(ctx context.Context, url string, opts Options, q WhatifQuery, fn func(*whatif.Row)) error {
	opts = opts.withDefaults()
	opts.InsertTimeout = 30 * time.Minute // a long SELECT is not a hung INSERT
	conn, _, s, _, err := connectMigrated(ctx, url, opts, false)
	if err != nil {
		return err
	}
	defer conn.Close()
	rows, err := conn.Query(ctx, q.SQL(s))
	if err != nil {
		return fmt.Errorf("clickhouse: what-if query: %w", err)
	}
	defer rows.Close()
	var row whatif.Row
	var (
		iface           string
		dir, proto, rep uint8
		sp, dp          uint16
		icmp            int32
		b, t0, t1       uint32
		fl, pk, by      int64
	)
	src, dst := addrTargets(s.F)
	for rows.Next() {
		if err := rows.Scan(&iface, &dir, src, dst, &sp, &dp, &proto, &rep, &icmp, &b, &fl, &pk, &by, &t0, &t1); err != nil {
			return fmt.Errorf("clickhouse: what-if row: %w", err)
		}
		row = whatif.Row{Iface: iface, Direction: flowlog.Direction(dir), Src: scannedAddr(src), Dst: scannedAddr(dst), SrcPort: sp, DstPort: dp,
			Proto: proto, Reply: verdict.Reply{Reply: rep == 1, Basis: verdict.BasisNone}, ICMPType: -1, ICMPCode: -1,
			Bucket: int64(b), Flows: fl, Packets: pk, Bytes: by, First: int64(t0), Last: int64(t1)}
		if icmp >= 0 {
			row.ICMPType = int16(icmp >> 8)
			if c := icmp & 0xff; c != 0xff {
				row.ICMPCode = int16(c)
			} else {
				row.ICMPCode = -2
			}
		}
		fn(&row)
	}
	return rows.Err()
}
