// Package spool owns an ordered, size-bounded directory of opaque payloads
// that must survive a crash: each Put is written to a temporary file,
// synced and renamed, and Oldest/Remove hand them back in order.
// It leaves the payloads' encoding, and what to do when the spool is full,
// to its callers (storage/clickhouse spools its batches here while the
// server is down).
package spool
