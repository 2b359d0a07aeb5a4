// Package deps pins modules that the design uses but no package imports
// yet (gopacket for capture/, clickhouse-go for storage/clickhouse), so that
// `go mod tidy` keeps them in go.mod and every engineer builds against the
// same versions. Remove an import here once real code imports the module.
package deps

import (
	_ "github.com/ClickHouse/clickhouse-go/v2"
	_ "github.com/google/gopacket"
	_ "github.com/google/gopacket/layers"
	_ "github.com/google/gopacket/pcapgo"
)
