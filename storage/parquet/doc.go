// Package parquet writes flow records, and optionally their judgment, as
// Parquet files: one file (Writer) or a Hive-partitioned directory of files
// published atomically (DirWriter, date=/hour= of the records' start),
// zstd pages, dictionary-encoded strings and addresses, DELTA_BINARY_PACKED
// integers, large row groups, readable by DuckDB, current ClickHouse,
// pyarrow and flowsift itself. Reading Parquet back (flowsift's own files
// and AWS objects) is left to flowlog/native and flowlog/aws, and choosing
// where results go to cmd/flowsift.
//
// The pages and the footer are encoded here (thrift.go, encode.go) rather
// than through Arrow's writer, whose per-value work on definition levels of
// ~90 mostly-null optional columns capped it near 0.2 M rows/s.
package parquet
