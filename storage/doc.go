// Package storage is the sink side of flowsift: everything that writes flow
// records, verdicts and aggregates somewhere — text (flowtext), Parquet
// files (parquet) and ClickHouse (clickhouse). Sinks receive records from the
// sources and from analyze; they never read inputs or judge records.
package storage
