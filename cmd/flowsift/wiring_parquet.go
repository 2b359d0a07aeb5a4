package main

import (
	"io"

	"github.com/flowsift/flowsift/storage/flowtext"
	"github.com/flowsift/flowsift/storage/parquet"
)

// newParquetWriter is the sink of `flowsift flows --format parquet -o FILE`.
func newParquetWriter(w io.Writer) (flowtext.Writer, error) {
	return parquet.NewWriter(w, parquet.Options{})
}
