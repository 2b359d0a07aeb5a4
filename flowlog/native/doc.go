// Package native owns reading flowsift's own output back into records: the
// JSONL objects flowlog.AppendJSON writes (FORMATS.md 1.1, 1.3 and 2.3), so
// that a record written and read again compares equal. It leaves finding
// the objects in a file and parsing their JSON to flowlog/input, and the
// Parquet files flowsift writes to parquet.go.
//
// DecodeLine (jsonl_fast.go) reads the flat objects AppendJSON writes in
// one pass over their bytes and declines, reporting nothing, on anything
// else; DecodeJSON on the fastjson value then decides and reports, so the
// fast path never changes a record or a report (FuzzFastPath checks it).
package native
