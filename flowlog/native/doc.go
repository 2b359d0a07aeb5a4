// Package native owns reading flowsift's own output back into records: the
// JSONL objects flowlog.AppendJSON writes (FORMATS.md 1.1, 1.3 and 2.3), so
// that a record written and read again compares equal. It leaves finding
// the objects in a file and parsing their JSON to flowlog/input, and the
// Parquet files flowsift writes to parquet.go.
package native
