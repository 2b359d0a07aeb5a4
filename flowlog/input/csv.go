package input

import (
	"bufio"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/alibaba"
	"github.com/flowsift/flowsift/flowlog/aws"
)

// openCWLCSV reads a CloudWatch console CSV export (FORMATS.md 3.8.3). Its
// messages are headerless lines, so --aws-fields applies to them as it does
// to headerless text.
func openCWLCSV(br *bufio.Reader, t *flowlog.Tally, opts *Options) (flowlog.Reader, error) {
	f, err := awsFormat(t, opts)
	if err != nil {
		return nil, err
	}
	return aws.NewCWLCSVReader(br, t, f), nil // sets t.Format
}

// openAlibabaCSV reads an Alibaba Cloud SLS CSV export (FORMATS.md 5).
func openAlibabaCSV(br *bufio.Reader, t *flowlog.Tally, opts *Options) (flowlog.Reader, error) {
	return alibaba.NewCSVReader(br, t), nil // sets t.Format
}
