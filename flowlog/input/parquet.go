package input

import (
	"bufio"
	"io"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/aws"
	"github.com/flowsift/flowsift/flowlog/native"
)

// openParquet reads the footer of a Parquet input and picks its reader by
// schema (FORMATS.md 2.3, 4): the columns src, dst and start are
// flowsift's own Parquet output; any AWS flow-log column makes it an AWS
// VPC flow-log object. A footer that cannot be read makes the input
// unusable, and no row of it is trusted.
func openParquet(src io.Reader, br *bufio.Reader, t *flowlog.Tally, opts *Options) (flowlog.Reader, error) {
	ra, size, err := readerAt(src, br)
	if err != nil {
		if t.Unusable == flowlog.NoticeNone { // an I/O error was reported already
			t.Note(flowlog.NoticeUnreadable, "reading Parquet input: "+errText(err))
		}
		return nil, nil
	}
	pf, err := aws.OpenParquet(ra, size)
	if err != nil {
		t.Note(flowlog.NoticeUnreadable, "Parquet footer unreadable: "+err.Error())
		return nil, nil
	}
	cols := aws.TopLevelColumns(pf)
	forcedAWS := opts.Format == flowlog.SourceAWSParquet.String()
	if !forcedAWS && native.IsParquetSchema(cols) {
		return native.NewParquetReader(pf, t), nil
	}
	for _, c := range cols {
		if aws.IsParquetColumn(c) || forcedAWS {
			if r := aws.NewParquetReader(pf, t); r != nil {
				return r, nil
			}
			return nil, nil // reported unsupported
		}
	}
	t.Note(flowlog.NoticeUnrecognized, "Parquet file with neither flowsift's columns (src, dst, start) nor AWS flow-log columns")
	return nil, nil
}
