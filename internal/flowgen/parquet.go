package flowgen

import (
	"io"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

// awsParquetType is the documented Parquet type of an AWS field
// (FORMATS.md 4): INT32, INT64 or a string.
func awsParquetType(field string) arrow.DataType {
	switch field {
	case "version", "srcport", "dstport", "protocol", "tcp-flags", "traffic-path":
		return arrow.PrimitiveTypes.Int32
	case "packets", "bytes", "start", "end", "packets-lost-no-route", "packets-lost-blackhole",
		"packets-lost-mtu-exceeded", "packets-lost-ttl-expired":
		return arrow.PrimitiveTypes.Int64
	}
	return arrow.BinaryTypes.String
}

// AWSObjectWindow is the capture window of one AWS flow-log object, in
// seconds: AWS publishes an S3 object every 5 minutes with the records of
// the previous 5 minutes.
const AWSObjectWindow = 300

// AWSParquet writes n flows as one AWS VPC flow-log Parquet object: one
// nullable column per field (nil: the version 2 default format) named with
// "_" for "-", AWS's documented types, "-" as null, GZIP codec like AWS,
// rowGroupRows rows per row group (0: 128 Ki). Start times are folded into
// one AWSObjectWindow (see AWSParquetWindow).
func AWSParquet(w io.Writer, n int, fields []string, seed uint64, rowGroupRows int) error {
	return AWSParquetWindow(w, n, fields, seed, rowGroupRows, AWSObjectWindow)
}

// AWSParquetWindow is AWSParquet with start times folded into a capture
// window of window seconds (0: the flows' own timeline).
//
// The generator's shared timeline advances about half a second per flow,
// so 1 M flows span almost six days and start/end take a different value
// every other row. One real object covers 5 minutes: start (the first
// packet within an aggregation interval of at most 10 minutes) and end take
// a few hundred distinct values however many rows the object holds, and
// their dictionaries stay small; packets and bytes repeat much less. Folding
// keeps each flow's duration: start' = t0 + (start-t0) mod window,
// end' = start' + (end-start).
func AWSParquetWindow(w io.Writer, n int, fields []string, seed uint64, rowGroupRows int, window int64) error {
	if fields == nil {
		fields = AWSDefaultFields
	}
	if rowGroupRows <= 0 {
		rowGroupRows = 128 << 10
	}
	afields := make([]arrow.Field, len(fields))
	for i, f := range fields {
		afields[i] = arrow.Field{Name: strings.ReplaceAll(f, "-", "_"), Type: awsParquetType(f), Nullable: true}
	}
	schema := arrow.NewSchema(afields, nil)
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Gzip),
		parquet.WithDictionaryDefault(true), parquet.WithMaxRowGroupLength(int64(rowGroupRows)))
	fw, err := pqarrow.NewFileWriter(schema, nopCloser{w}, props, pqarrow.DefaultWriterProps())
	if err != nil {
		return err
	}
	rb := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer rb.Release()
	g := New(seed)
	var buf []byte
	var t0 int64
	flush := func() error {
		rec := rb.NewRecord()
		defer rec.Release()
		return fw.WriteBuffered(rec)
	}
	for i := 0; i < n; i++ {
		f := g.Next()
		if window > 0 {
			if i == 0 {
				t0 = f.Start
			}
			d := f.End - f.Start
			f.Start = t0 + ((f.Start-t0)%window+window)%window
			f.End = f.Start + d
		}
		for j, name := range fields {
			buf = AppendAWSField(buf[:0], name, &f)
			null := len(buf) == 1 && buf[0] == '-'
			switch b := rb.Field(j).(type) {
			case *array.Int32Builder:
				if null {
					b.AppendNull()
				} else {
					v, _ := strconv.ParseInt(string(buf), 10, 32)
					b.Append(int32(v))
				}
			case *array.Int64Builder:
				if null {
					b.AppendNull()
				} else {
					v, _ := strconv.ParseInt(string(buf), 10, 64)
					b.Append(v)
				}
			case *array.StringBuilder:
				if null {
					b.AppendNull()
				} else {
					b.BinaryBuilder.Append(buf)
				}
			}
		}
		if (i+1)%(64<<10) == 0 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if n%(64<<10) != 0 {
		if err := flush(); err != nil {
			return err
		}
	}
	return fw.Close()
}

type nopCloser struct{ w io.Writer }

func (n nopCloser) Write(p []byte) (int, error) { return n.w.Write(p) }
