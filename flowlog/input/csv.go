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
	var f *aws.Format
	if len(opts.AWSFields) > 0 {
		var err error
		if f, err = aws.NewFormat(opts.AWSFields); err != nil {
			t.Note(flowlog.NoticeUnsupported, "--aws-fields: "+err.Error())
			return nil, err
		}
	}
	t.Format = flowlog.SourceAWSCWLCSV
	return aws.NewCWLCSVReader(br, t, f), nil
}

// openAlibabaCSV reads an Alibaba Cloud SLS CSV export (FORMATS.md 5).
func openAlibabaCSV(br *bufio.Reader, t *flowlog.Tally, opts *Options) (flowlog.Reader, error) {
	t.Format = flowlog.SourceAlibabaCSV
	return alibaba.NewCSVReader(br, t), nil
}
