package clickhouse

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Features are what the connected server supports beyond Debian's 18.16.
type Features struct {
	Version      string // version() as the server reports it
	Major, Minor int
	// Current: a release where IPv6, LowCardinality without a setting,
	// column codecs and TTL are all stable. The threshold (21.8, an LTS) is
	// conservative: older releases have some of them, but only 18.16 and
	// current releases are tested.
	Current bool
}

// ParseVersion fills Features from a version() string such as "18.16.1" or
// "24.8.4.13".
func ParseVersion(v string) (Features, error) {
	f := Features{Version: v}
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return f, fmt.Errorf("clickhouse: cannot parse server version %q", v)
	}
	var err1, err2 error
	f.Major, err1 = strconv.Atoi(parts[0])
	f.Minor, err2 = strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return f, fmt.Errorf("clickhouse: cannot parse server version %q", v)
	}
	f.Current = f.Major > 21 || f.Major == 21 && f.Minor >= 8
	return f, nil
}

// DetectFeatures asks the server for its version.
func DetectFeatures(ctx context.Context, conn driver.Conn) (Features, error) {
	var v string
	if err := conn.QueryRow(ctx, "SELECT version()").Scan(&v); err != nil {
		return Features{}, fmt.Errorf("clickhouse: server version: %w", err)
	}
	return ParseVersion(v)
}

// column is one column of a table: its 18.16 type, and the type and codec
// used on current servers.
type column struct {
	name, legacy, current, codec string
}

const (
	enumAction    = "Enum8('' = 0, 'accept' = 1, 'reject' = 2)"  // flowlog.Action values
	enumDirection = "Enum8('' = 0, 'ingress' = 1, 'egress' = 2)" // flowlog.Direction values
	enumVerdict   = "Enum8('unknown' = 0, 'accept' = 1, 'reject' = 2)"
	lcString      = "LowCardinality(String)"
)

// flowColumns is the raw table in insert order. Names are the JSONL keys of
// flowlog.AppendJSON, then the judgment. Optional keys (FORMATS.md 1.3) go
// into attrs as one JSON object ("" when none): ~80 sparse columns would
// slow every insert for keys most sources never set; read them with
// visitParamExtractString/Int on 18.16, JSONExtract* on current servers.
var flowColumns = []column{
	{"start", "DateTime('UTC')", "DateTime('UTC')", "CODEC(Delta, ZSTD(1))"},
	{"end", "DateTime('UTC')", "DateTime('UTC')", "CODEC(Delta, ZSTD(1))"},
	// Addresses: IPv4 as v4-mapped IPv6; 18.16 has no IPv6 type.
	{"src", "FixedString(16)", "IPv6", "CODEC(ZSTD(1))"},
	{"dst", "FixedString(16)", "IPv6", "CODEC(ZSTD(1))"},
	{"sport", "UInt16", "UInt16", "CODEC(ZSTD(1))"},
	{"dport", "UInt16", "UInt16", "CODEC(ZSTD(1))"},
	{"proto", "UInt8", "UInt8", ""},
	{"packets", "UInt64", "UInt64", "CODEC(T64, ZSTD(1))"},
	{"bytes", "UInt64", "UInt64", "CODEC(T64, ZSTD(1))"},
	{"action", enumAction, enumAction, ""},
	{"direction", enumDirection, enumDirection, ""},
	{"iface", "String", lcString, ""},
	{"vpc", "String", lcString, ""},
	{"subnet", "String", lcString, ""},
	{"account", "String", lcString, ""},
	{"tcp_flags", "Int32", "Int32", "CODEC(ZSTD(1))"},
	{"source", "String", lcString, ""},
	{"attrs", "String", "String", "CODEC(ZSTD(3))"},
	{"verdict", enumVerdict, enumVerdict, ""},
	{"finding", "String", lcString, ""},
	{"rules", "Array(String)", "Array(LowCardinality(String))", ""},
	{"reply", "UInt8", "UInt8", ""},
	{"policy", "String", lcString, ""},
	{"batch_id", "String", lcString, ""},
	// Added by migration 5 (addedIn): why a record's verdict is unknown,
	// the offender key of analyze when no rule decided.
	{"reason", "String", lcString, ""},
}

// addedIn names the columns of flows added after migration 1 and the
// migration adding them: FlowsDDL (migration 1) leaves them out.
var addedIn = map[string]int{"reason": 5}

// rollupKey is the key of the traffic rollups flows_1m and flows_1h, after
// the bucket.
var rollupKey = []string{"iface", "vpc", "direction", "proto", "dport", "action", "verdict", "finding", "rules", "policy"}

// offenderKey is the key of offenders_1h after the bucket: analyze's
// worst-offender groups (verdict.OffenderKey) per finding.
var offenderKey = []string{"finding", "iface", "src", "dst", "dport", "proto", "rule", "policy"}

// Rollup describes one rollup table: a SummingMergeTree of flows, packets
// and bytes per bucket and key, fed by a materialized view from flows and
// repaired by ReconcileSQL.
type Rollup struct {
	Table     string // e.g. flows_1m
	Bucket    string // ClickHouse function from start to the bucket
	Width     time.Duration
	Partition string   // partition expression over bucket
	Key       []string // key columns after the bucket
	// Exprs computes key columns that are not columns of flows, with
	// their type (a name absent here is the flows column of that name).
	Exprs map[string][2]string // name -> {expression over flows, type}
	Where string               // only the rows of flows matching this ("" = all)
}

// Rollups are the rollup tables, finest first. The sink's in-doubt repair
// reconciles each of them.
var Rollups = []Rollup{
	{Table: "flows_1m", Bucket: "toStartOfMinute", Width: time.Minute, Partition: "toYYYYMMDD(bucket)", Key: rollupKey},
	{Table: "flows_1h", Bucket: "toStartOfHour", Width: time.Hour, Partition: "toYYYYMM(bucket)", Key: rollupKey},
	// Records with a finding only. rule is analyze's offender rule: the
	// last deciding id, or the reason when no rule decided.
	{Table: "offenders_1h", Bucket: "toStartOfHour", Width: time.Hour, Partition: "toYYYYMM(bucket)", Key: offenderKey,
		Exprs: map[string][2]string{"rule": {"if(empty(`rules`), `reason`, `rules`[-1])", "String"}},
		Where: "`finding` != ''"},
}

// RollupByTable returns the rollup named table.
func RollupByTable(table string) (Rollup, bool) {
	for _, r := range Rollups {
		if r.Table == table {
			return r, true
		}
	}
	return Rollup{}, false
}

// keyExprs is the SELECT list of r's key over flows: "expr AS name" for
// computed keys, the column otherwise.
func (r Rollup) keyExprs() string {
	q := make([]string, len(r.Key))
	for i, k := range r.Key {
		if e, ok := r.Exprs[k]; ok {
			q[i] = e[0] + " AS " + quote(k)
		} else {
			q[i] = quote(k)
		}
	}
	return strings.Join(q, ", ")
}

func (r Rollup) keyType(k string, f Features) string {
	if e, ok := r.Exprs[k]; ok {
		if f.Current && e[1] == "String" {
			return lcString
		}
		return e[1]
	}
	return columnType(k).typ(f)
}

// filter joins r's Where and an extra condition.
func (r Rollup) filter(where string) string {
	switch {
	case r.Where == "":
		return where
	case where == "":
		return r.Where
	}
	return r.Where + " AND " + where
}

func quote(name string) string { return "`" + name + "`" }

func (c column) typ(f Features) string {
	if f.Current {
		t := c.current
		if c.codec != "" {
			t += " " + c.codec
		}
		return t
	}
	return c.legacy
}

func columnType(name string) column {
	for _, c := range flowColumns {
		if c.name == name {
			return c
		}
	}
	panic("clickhouse: no column " + name)
}

// Schema renders the DDL for one database and server.
type Schema struct {
	DB string
	F  Features
	// RetentionDays > 0 adds a TTL on current servers. 18.16 has no TTL:
	// drop old daily partitions instead (ALTER TABLE … DROP PARTITION).
	RetentionDays int
}

func (s Schema) table(name string) string { return quote(s.DB) + "." + quote(name) }

// FlowsDDL creates the raw table of a new database (migration 1), sorted
// by flowsOrder. Databases made before migration 11 have flows sorted by
// flowsOrderBefore11 and are rewritten by that step; for them migration 1
// never runs again (a step whose record was lost reruns as a no-op: IF
// NOT EXISTS).
func (s Schema) FlowsDDL() string {
	return s.flowsDDL("flows", flowsOrder, 1)
}

// flowsOrder is the sort key of flows since migration 11: within a day,
// the records of one interface, direction, verdict, finding, port and
// source lie together, so that zstd (or LZ4) finds the repetition of
// their columns. On the benchmark's generated records this takes the
// bytes on disk per flow (zstd) from 22.9 to 19.4 (sparse) and from 20.7
// to 17.8 (dense); time ranges still use the index through
// toStartOfDay(start), and a day is one partition anyway.
const flowsOrder = "toStartOfDay(`start`), `iface`, `direction`, `verdict`, `finding`, `dport`, `src`, `start`"

// flowsDDL creates a raw table named table, sorted by order, with the
// columns that migration version has.
func (s Schema) flowsDDL(table, order string, version int) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS " + s.table(table) + " (\n")
	for i, c := range flowColumns {
		if addedIn[c.name] > version {
			continue
		}
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString("  " + quote(c.name) + " " + c.typ(s.F))
	}
	b.WriteString("\n) ENGINE = MergeTree\nPARTITION BY toYYYYMMDD(`start`)\nORDER BY (" + order + ")")
	if s.F.Current && s.RetentionDays > 0 {
		fmt.Fprintf(&b, "\nTTL `start` + INTERVAL %d DAY", s.RetentionDays)
	}
	b.WriteString("\nSETTINGS index_granularity = 8192")
	return b.String()
}

// BatchesDDL creates the ledger of stored batches.
func (s Schema) BatchesDDL() string {
	return "CREATE TABLE IF NOT EXISTS " + s.table("batches") + ` (
  batch_id String,
  rows UInt64,
  packets UInt64,
  bytes UInt64,
  min_start DateTime('UTC'),
  max_start DateTime('UTC'),
  replayed UInt8,
  stored DateTime('UTC')
) ENGINE = ReplacingMergeTree
ORDER BY batch_id`
}

// RollupDDL creates a rollup table.
func (s Schema) RollupDDL(r Rollup) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS " + s.table(r.Table) + " (\n  `bucket` DateTime('UTC')")
	for _, k := range r.Key {
		b.WriteString(",\n  " + quote(k) + " " + r.keyType(k, s.F))
	}
	// Int64: the repair of an interrupted insert adds negative corrections.
	b.WriteString(",\n  `flows` Int64,\n  `packets` Int64,\n  `bytes` Int64\n) ENGINE = SummingMergeTree((`flows`, `packets`, `bytes`))\n")
	b.WriteString("PARTITION BY " + r.Partition + "\nORDER BY (`bucket`, " + quotedList(r.Key) + ")")
	if s.F.Current && s.RetentionDays > 0 {
		fmt.Fprintf(&b, "\nTTL `bucket` + INTERVAL %d DAY", s.RetentionDays)
	}
	return b.String()
}

func quotedList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quote(n)
	}
	return strings.Join(q, ", ")
}

// rollupSelect is the aggregate of flows into r, used by the view and by
// the repair.
func (s Schema) rollupSelect(r Rollup, where string) string {
	q := "SELECT " + r.Bucket + "(`start`) AS `bucket`, " + r.keyExprs() +
		", toInt64(count()) AS `flows`, toInt64(sum(`packets`)) AS `packets`, toInt64(sum(`bytes`)) AS `bytes`\nFROM " + s.table("flows")
	if w := r.filter(where); w != "" {
		q += " WHERE " + w
	}
	return q + "\nGROUP BY `bucket`, " + quotedList(r.Key)
}

// ViewDDL creates the materialized view feeding r from flows.
func (s Schema) ViewDDL(r Rollup) string {
	return "CREATE MATERIALIZED VIEW IF NOT EXISTS " + s.table(r.Table+"_mv") + " TO " + s.table(r.Table) + " AS\n" + s.rollupSelect(r, "")
}

// ReconcileSQL adds to r the difference between the aggregate of flows and
// r itself over buckets [lo, hi) (Unix seconds, multiples of the width).
// Running it on a consistent rollup inserts nothing.
func (s Schema) ReconcileSQL(r Rollup, lo, hi int64) string {
	keys := quotedList(r.Key)
	rng := func(col string) string {
		return fmt.Sprintf("%s >= toDateTime(%d, 'UTC') AND %s < toDateTime(%d, 'UTC')", col, lo, col, hi)
	}
	return "INSERT INTO " + s.table(r.Table) + " (`bucket`, " + keys + ", `flows`, `packets`, `bytes`)\n" +
		"SELECT `bucket`, " + keys + ", sum(`f`) AS `flows`, sum(`p`) AS `packets`, sum(`b`) AS `bytes` FROM (\n" +
		"  SELECT " + r.Bucket + "(`start`) AS `bucket`, " + r.keyExprs() + ", toInt64(1) AS `f`, toInt64(`packets`) AS `p`, toInt64(`bytes`) AS `b`\n" +
		"  FROM " + s.table("flows") + " WHERE " + r.filter(rng("`start`")) + "\n" +
		"  UNION ALL\n" +
		"  SELECT `bucket`, " + keys + ", -`flows` AS `f`, -`packets` AS `p`, -`bytes` AS `b`\n" +
		"  FROM " + s.table(r.Table) + " WHERE " + rng("`bucket`") + "\n" +
		") GROUP BY `bucket`, " + keys + "\nHAVING `flows` != 0 OR `packets` != 0 OR `bytes` != 0"
}

// addColumnSQL adds a column of flowColumns to flows. Migrate treats the
// error of a column that already exists as success (18.16 has no ADD
// COLUMN IF NOT EXISTS), so the step stays idempotent.
func (s Schema) addColumnSQL(name string) string {
	return "ALTER TABLE " + s.table("flows") + " ADD COLUMN " + quote(name) + " " + columnType(name).typ(s.F)
}

// Migration is one versioned schema step. Steps are idempotent themselves
// (IF NOT EXISTS), so a crash between a step and its record is harmless.
type Migration struct {
	Version int
	Name    string
	SQL     func(Schema) []string
	// Run, when set, carries the step out instead of running SQL in
	// order: a step whose statements are safe to repeat only from some
	// states (it looks at the database first). SQL still lists them all.
	// rewrite says whether the step may rewrite a table holding data
	// (flowsift db migrate, with the writers stopped); without it such a
	// step fails with ErrNeedsMigrate.
	Run func(ctx context.Context, conn driver.Conn, s Schema, rewrite bool) error
}

// Migrations is the schema history, oldest first. Append; never edit a
// released step.
var Migrations = []Migration{
	{Version: 1, Name: "raw flows table", SQL: func(s Schema) []string { return []string{s.FlowsDDL()} }},
	{Version: 2, Name: "batches ledger", SQL: func(s Schema) []string { return []string{s.BatchesDDL()} }},
	{Version: 3, Name: "1-minute rollup and its view", SQL: func(s Schema) []string {
		return []string{s.RollupDDL(Rollups[0]), s.ViewDDL(Rollups[0])}
	}},
	{Version: 4, Name: "1-hour rollup and its view", SQL: func(s Schema) []string {
		return []string{s.RollupDDL(Rollups[1]), s.ViewDDL(Rollups[1])}
	}},
	{Version: 5, Name: "reason column (offender key when no rule decided)", SQL: func(s Schema) []string {
		return []string{s.addColumnSQL("reason")}
	}},
	// The backfill is the repair over all time: idempotent.
	{Version: 6, Name: "offenders_1h rollup, its view and backfill", SQL: func(s Schema) []string {
		return []string{s.RollupDDL(Rollups[2]), s.ViewDDL(Rollups[2]), s.ReconcileSQL(Rollups[2], 0, math.MaxUint32)}
	}},
}

// MigrateResult says what Migrate did.
type MigrateResult struct {
	Features Features
	Applied  []Migration // steps run now
	Version  int         // schema version afterwards
}

// Migrate brings database s.DB to the latest schema version, creating the
// database when missing. Already applied steps are skipped; running it
// twice changes nothing. rewrite allows the steps that rewrite a table
// holding data (see Migration.Run): flowsift db migrate sets it, the sink,
// report and what-if do not.
func Migrate(ctx context.Context, conn driver.Conn, s Schema, rewrite bool) (MigrateResult, error) {
	res := MigrateResult{Features: s.F}
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+quote(s.DB)); err != nil {
		return res, fmt.Errorf("clickhouse: create database %s: %w", s.DB, err)
	}
	err := conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+s.table("schema_migrations")+
		" (version UInt32, name String, applied DateTime('UTC')) ENGINE = ReplacingMergeTree ORDER BY version")
	if err != nil {
		return res, fmt.Errorf("clickhouse: create schema_migrations: %w", err)
	}
	done := map[int]bool{}
	rows, err := conn.Query(ctx, "SELECT DISTINCT version FROM "+s.table("schema_migrations"))
	if err != nil {
		return res, fmt.Errorf("clickhouse: read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return res, err
		}
		done[int(v)] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return res, err
	}
	for _, m := range Migrations {
		if done[m.Version] {
			res.Version = m.Version
			continue
		}
		if err := m.apply(ctx, conn, s, rewrite); err != nil {
			return res, fmt.Errorf("clickhouse: migration %d (%s): %w", m.Version, m.Name, err)
		}
		batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+s.table("schema_migrations")+" (version, name, applied)")
		if err != nil {
			return res, fmt.Errorf("clickhouse: record migration %d: %w", m.Version, err)
		}
		err = batch.Append(uint32(m.Version), m.Name, time.Now().UTC())
		if err == nil {
			err = batch.Send()
		}
		batch.Close()
		if err != nil {
			return res, fmt.Errorf("clickhouse: record migration %d: %w", m.Version, err)
		}
		res.Applied = append(res.Applied, m)
		res.Version = m.Version
	}
	return res, checkColumns(ctx, conn, s)
}

// apply carries one step out.
func (m Migration) apply(ctx context.Context, conn driver.Conn, s Schema, rewrite bool) error {
	if m.Run != nil {
		return m.Run(ctx, conn, s, rewrite)
	}
	for _, q := range m.SQL(s) {
		if err := conn.Exec(ctx, q); err != nil && !columnExists(ctx, conn, s, q) {
			return err
		}
	}
	return nil
}

// columnExists says whether q is an addColumnSQL whose column flows has
// already (a step run again after a crash before its record).
func columnExists(ctx context.Context, conn driver.Conn, s Schema, q string) bool {
	for name := range addedIn {
		if q != s.addColumnSQL(name) {
			continue
		}
		var n uint64
		err := conn.QueryRow(ctx, "SELECT count() FROM system.columns WHERE database = ? AND table = 'flows' AND name = ?", s.DB, name).Scan(&n)
		return err == nil && n > 0
	}
	return false
}

// checkColumns verifies that flows has every column the sink writes, so a
// foreign or damaged table is reported by name rather than at the first
// insert.
func checkColumns(ctx context.Context, conn driver.Conn, s Schema) error {
	rows, err := conn.Query(ctx, "SELECT name FROM system.columns WHERE database = ? AND table = 'flows'", s.DB)
	if err != nil {
		return fmt.Errorf("clickhouse: read columns of flows: %w", err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return err
		}
		have[n] = true
	}
	var missing []string
	for _, c := range flowColumns {
		if !have[c.name] {
			missing = append(missing, c.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("clickhouse: table %s.flows lacks column(s) %s", s.DB, strings.Join(missing, ", "))
	}
	return nil
}
