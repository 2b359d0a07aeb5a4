package deps

import (
	_ "github.com/ClickHouse/clickhouse-go/v2"
	_ "github.com/apache/arrow/go/v17/arrow/array"
	_ "github.com/apache/arrow/go/v17/parquet/pqarrow"
	_ "github.com/google/gopacket"
	_ "github.com/google/gopacket/layers"
	_ "github.com/google/gopacket/pcapgo"
	_ "github.com/klauspost/compress/gzip"
	_ "github.com/spf13/pflag"
	_ "github.com/valyala/fastjson"
	_ "gopkg.in/yaml.v3"
)
