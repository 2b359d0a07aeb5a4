package main

import (
	"errors"
	"io"

	"github.com/flowsift/flowsift/storage/flowtext"
)

// Placeholder until the Parquet writer lands.
func newParquetWriter(w io.Writer) (flowtext.Writer, error) {
	return nil, errors.New("parquet output is not available yet")
}
