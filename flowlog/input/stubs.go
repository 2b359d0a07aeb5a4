package input

import (
	"bufio"
	"io"

	"github.com/flowsift/flowsift/flowlog"
)

// Placeholders until the JSON, CSV and Parquet readers land.

func openJSON(br *bufio.Reader, t *flowlog.Tally, opts *Options) (flowlog.Reader, error) {
	t.Note(flowlog.NoticeUnsupported, "JSON inputs are not read yet")
	return nil, nil
}

func openJSONAs(br *bufio.Reader, t *flowlog.Tally, opts *Options, src flowlog.Source) (flowlog.Reader, error) {
	return openJSON(br, t, opts)
}

func openCWLCSV(br *bufio.Reader, t *flowlog.Tally, opts *Options) (flowlog.Reader, error) {
	t.Note(flowlog.NoticeUnsupported, "CloudWatch CSV is not read yet")
	return nil, nil
}

func openAlibabaCSV(br *bufio.Reader, t *flowlog.Tally, opts *Options) (flowlog.Reader, error) {
	t.Note(flowlog.NoticeUnsupported, "Alibaba CSV is not read yet")
	return nil, nil
}

func openParquet(src io.Reader, br *bufio.Reader, t *flowlog.Tally, opts *Options) (flowlog.Reader, error) {
	t.Note(flowlog.NoticeUnsupported, "Parquet is not read yet")
	return nil, nil
}
