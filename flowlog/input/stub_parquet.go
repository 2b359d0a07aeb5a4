package input

import (
	"bufio"
	"io"

	"github.com/flowsift/flowsift/flowlog"
)

// Placeholder until the Parquet reader lands (delete this file then).

func openParquet(src io.Reader, br *bufio.Reader, t *flowlog.Tally, opts *Options) (flowlog.Reader, error) {
	t.Note(flowlog.NoticeUnsupported, "Parquet is not read yet")
	return nil, nil
}
