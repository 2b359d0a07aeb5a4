// Package clickhouse owns flowsift's ClickHouse store: the schema and its
// versioned migrations (raw `flows`; rollups fed by materialized views:
// `flows_1m`, `flows_1h` and `offenders_1h`; a `batches` ledger), the Sink
// that writes judged flow records to it in columnar batches, retrying,
// spooling to local files while the server is down and replaying without
// doubles, and Report, which answers the analyze summary from the rollups.
// It leaves reading inputs, judging records and printing reports to its
// callers, and talks only the native protocol (HTTP fails against Debian's
// 18.16 server, see shared/reference/clickhouse18.md).
//
// # No loss, no doubles
//
// Every batch holds records of one UTC day, so its INSERT writes exactly one
// part into `flows` (partitioned by day): the part appears whole or not at
// all. Each row carries the batch id. After an insert whose outcome is
// unknown (error, timeout, server killed) the batch is "in doubt" and is
// resolved, before anything newer, as follows:
//
//  1. the `batches` ledger already lists it: done;
//  2. count its rows in `flows` (cheap: the time range of the batch bounds
//     the primary-key scan): all there, skip the insert; none, insert it;
//     some (not expected, a part is atomic), delete them with a mutation,
//     wait for it, insert;
//  3. reconcile the rollups over the batch's time buckets: a materialized
//     view fires in the same INSERT but writes its own part, so a killed
//     server may leave `flows` and each rollup in different states. The
//     reconciling INSERT … SELECT adds, per rollup key, the difference
//     between the aggregate of `flows` and the rollup (SummingMergeTree
//     sums it in; Int64 counters allow negative corrections). Running it
//     again adds nothing, so a crash during the repair is repaired the same
//     way. The what-if table flow_keys is reconciled the same way
//     (FlowKeysReconcileSQL; its UInt64 sum states take a negative
//     difference as its two's complement);
//  4. record the batch in the ledger.
//
// While the server answers, up to Options.Parallel fresh batches are
// inserted at once (18.16 runs an INSERT and its views on one core); a
// failed one waits until every other insert has finished, then is resolved
// alone, so the repair never races an insert.
//
// Batches that could not be stored after retries are written to the spool
// (storage/spool) and replayed oldest first, each as in doubt, before any
// newer batch is inserted. The repair assumes that no other writer inserts
// into the same time buckets while it runs; one sink per database (or
// disjoint time ranges) is the supported setup.
package clickhouse
