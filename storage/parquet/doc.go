// Package parquet writes flow records as Parquet files: one column per JSONL
// key (FORMATS.md 1.1 and 1.3), zstd-compressed, dictionary-encoded, in large
// row groups, readable by DuckDB, ClickHouse, pyarrow and flowsift itself.
// Reading Parquet back (flowsift's own files and AWS objects) is left to
// flowlog/native and flowlog/aws; choosing where files go (a Hive-partitioned
// directory sink) is left to callers, helped by PartitionKey.
package parquet
