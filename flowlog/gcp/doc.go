// Package gcp owns the mapping of Google Cloud VPC Flow Logs and Firewall
// Rules Logging LogEntries onto flowlog records (FORMATS.md 6). It leaves
// finding the entries in a file (NDJSON lines, gcloud JSON arrays) and
// parsing their JSON to flowlog/input.
//
// An entry reaches the mapping either from a fastjson value (Decode) or
// from its bytes through a single-pass scanner (DecodeBytes, fast.go) that
// declines, reporting nothing, whenever the input is off its strict subset
// of JSON; the caller then parses with fastjson. Both fill the same entry
// (entry.go), so records and reports do not depend on the path; the
// decoder as it was before the scanner is kept in oracle_test.go and the
// differential tests hold both paths to it.
package gcp
