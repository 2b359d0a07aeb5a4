package input

import (
	"bufio"

	"github.com/flowsift/flowsift/flowlog"
)

// Placeholder until the JSON readers land (delete this file then).

func openJSON(br *bufio.Reader, t *flowlog.Tally, opts *Options) (flowlog.Reader, error) {
	t.Note(flowlog.NoticeUnsupported, "JSON inputs are not read yet")
	return nil, nil
}

func openJSONAs(br *bufio.Reader, t *flowlog.Tally, opts *Options, src flowlog.Source) (flowlog.Reader, error) {
	return openJSON(br, t, opts)
}
