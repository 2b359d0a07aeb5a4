// Package gcp owns the mapping of Google Cloud VPC Flow Logs and Firewall
// Rules Logging LogEntries onto flowlog records (FORMATS.md 6). It leaves
// finding the entries in a file (NDJSON lines, gcloud JSON arrays) and
// parsing their JSON to flowlog/input.
package gcp
