package input

import (
	"bufio"

	"github.com/flowsift/flowsift/flowlog"
)

// Placeholder until the CSV readers land (delete this file then).

func openCWLCSV(br *bufio.Reader, t *flowlog.Tally, opts *Options) (flowlog.Reader, error) {
	t.Note(flowlog.NoticeUnsupported, "CloudWatch CSV is not read yet")
	return nil, nil
}

func openAlibabaCSV(br *bufio.Reader, t *flowlog.Tally, opts *Options) (flowlog.Reader, error) {
	t.Note(flowlog.NoticeUnsupported, "Alibaba CSV is not read yet")
	return nil, nil
}
