// Package dashboards owns flowsift's Grafana dashboard for the ClickHouse
// store: every panel's query as a .sql file under sql/ (with the Grafana
// ClickHouse data source's macros), the dashboard JSON generated from them
// (flowsift.json, `go run ./dashboards/gen`), the provisioning files for the
// data source and the dashboard provider, and Expand, which substitutes the
// macros as the grafana-clickhouse-datasource plugin does. It leaves the
// schema the queries read to storage/clickhouse.
//
// The .sql files are the one source of truth: a test fails when
// flowsift.json is not what Build makes of them, and another runs each
// query on the test ClickHouse (18.16) after storing a known data set and
// compares its result with the same figures computed in Go.
package dashboards
