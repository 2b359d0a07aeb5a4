package parquet

import (
	"bufio"
	"errors"
	"io"
	"net/netip"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	pq "github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/storage/flowtext"
)

// FixedColumns are the columns of the fixed keys, named and ordered as in
// JSONL (FORMATS.md 1.1). start and end are int64 Unix seconds; ports,
// proto and tcp_flags int32; packets and bytes int64; the rest strings.
// They are never null. One nullable column per optional key follows, in
// the order of flowlog.AttrKeys(): int64 when AttrKey.IsInt, else a string.
var FixedColumns = flowtext.FixedColumns

// Schema is the Arrow schema of the files this package writes.
func Schema() *arrow.Schema {
	i64, i32, str := arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Int32, arrow.BinaryTypes.String
	types := []arrow.DataType{i64, i64, str, str, i32, i32, i32, i64, i64, str, str, str, str, str, str, i32, str}
	fields := make([]arrow.Field, 0, len(FixedColumns)+len(flowlog.AttrKeys()))
	for i, name := range FixedColumns {
		fields = append(fields, arrow.Field{Name: name, Type: types[i]})
	}
	for _, k := range flowlog.AttrKeys() {
		t := arrow.DataType(str)
		if k.IsInt() {
			t = i64
		}
		fields = append(fields, arrow.Field{Name: k.Name(), Type: t, Nullable: true})
	}
	return arrow.NewSchema(fields, nil)
}

// Options tune a Writer. Zero values take the defaults.
type Options struct {
	RowGroupRows int64 // rows per row group (default 1 Mi)
	BatchRows    int   // rows buffered in Arrow builders between column writes (default 64 Ki)
	// Compression is the column codec (default zstd).
	Compression compress.Compression
}

const (
	defaultRowGroupRows = 1 << 20
	defaultBatchRows    = 64 << 10
)

// writerProps: dictionary encoding for the string columns, whose values
// repeat (interfaces, accounts, actions, sources, ...); plain encoding for
// the integer columns, mostly distinct per row, where a dictionary would
// only cost time (Arrow's dictionary encoder allocates per value).
func writerProps(opts Options) []pq.WriterProperty {
	p := []pq.WriterProperty{
		pq.WithCompression(opts.Compression),
		pq.WithDictionaryDefault(true),
		pq.WithMaxRowGroupLength(opts.RowGroupRows),
		pq.WithStats(true),
		pq.WithCreatedBy("flowsift"),
	}
	for _, name := range []string{"start", "end", "sport", "dport", "packets", "bytes"} {
		p = append(p, pq.WithDictionaryFor(name, false))
	}
	return p
}

// Writer writes records into one Parquet file. It implements the record
// sink interface of storage/flowtext (Write, Close). Close writes the footer
// and flushes, but does not close the io.Writer. Not safe for concurrent use.
type Writer struct {
	sink *bufio.Writer
	fw   *pqarrow.FileWriter
	rb   *array.RecordBuilder
	opts Options

	start, end, packets, bytes          *array.Int64Builder
	sport, dport, proto, tcpFlags       *array.Int32Builder
	src, dst, action, direction         *array.StringBuilder
	iface, vpc, subnet, account, source *array.StringBuilder
	attrInt                             []*array.Int64Builder  // by AttrKey, nil for string keys
	attrStr                             []*array.StringBuilder // by AttrKey, nil for int keys
	filled                              []int                  // by AttrKey: rows appended so far in this batch
	n                                   int                    // rows in the batch
	rows                                int64                  // rows written in all
	addr                                []byte
	err                                 error
}

// writeOnly hides Close from the Parquet library, which would otherwise
// close the caller's file.
type writeOnly struct{ w io.Writer }

func (w writeOnly) Write(p []byte) (int, error) { return w.w.Write(p) }

// NewWriter starts a Parquet file on w.
func NewWriter(w io.Writer, opts Options) (*Writer, error) {
	if opts.RowGroupRows <= 0 {
		opts.RowGroupRows = defaultRowGroupRows
	}
	if opts.BatchRows <= 0 {
		opts.BatchRows = defaultBatchRows
	}
	if opts.Compression == compress.Codecs.Uncompressed {
		opts.Compression = compress.Codecs.Zstd
	}
	props := pq.NewWriterProperties(writerProps(opts)...)
	sink := bufio.NewWriterSize(writeOnly{w}, 1<<20)
	schema := Schema()
	fw, err := pqarrow.NewFileWriter(schema, sink, props, pqarrow.DefaultWriterProps())
	if err != nil {
		return nil, err
	}
	mem := memory.NewGoAllocator()
	wr := &Writer{sink: sink, fw: fw, rb: array.NewRecordBuilder(mem, schema), opts: opts}
	f := wr.rb.Fields()
	wr.start, wr.end = f[0].(*array.Int64Builder), f[1].(*array.Int64Builder)
	wr.src, wr.dst = f[2].(*array.StringBuilder), f[3].(*array.StringBuilder)
	wr.sport, wr.dport, wr.proto = f[4].(*array.Int32Builder), f[5].(*array.Int32Builder), f[6].(*array.Int32Builder)
	wr.packets, wr.bytes = f[7].(*array.Int64Builder), f[8].(*array.Int64Builder)
	wr.action, wr.direction = f[9].(*array.StringBuilder), f[10].(*array.StringBuilder)
	wr.iface, wr.vpc = f[11].(*array.StringBuilder), f[12].(*array.StringBuilder)
	wr.subnet, wr.account = f[13].(*array.StringBuilder), f[14].(*array.StringBuilder)
	wr.tcpFlags, wr.source = f[15].(*array.Int32Builder), f[16].(*array.StringBuilder)
	keys := flowlog.AttrKeys()
	n := int(keys[len(keys)-1]) + 1
	wr.attrInt = make([]*array.Int64Builder, n)
	wr.attrStr = make([]*array.StringBuilder, n)
	wr.filled = make([]int, n)
	for i, k := range keys {
		if k.IsInt() {
			wr.attrInt[k] = f[len(FixedColumns)+i].(*array.Int64Builder)
		} else {
			wr.attrStr[k] = f[len(FixedColumns)+i].(*array.StringBuilder)
		}
	}
	return wr, nil
}

// Rows is the number of records written so far.
func (w *Writer) Rows() int64 { return w.rows }

// Write adds one record. Errors of the underlying writer surface when a
// batch is written, so a failing Write may concern earlier records.
func (w *Writer) Write(r *flowlog.Record) error {
	if w.err != nil {
		return w.err
	}
	if w.fw == nil {
		return ErrClosed
	}
	w.start.Append(r.Start)
	w.end.Append(r.End)
	w.appendAddr(w.src, r.Src)
	w.appendAddr(w.dst, r.Dst)
	w.sport.Append(int32(r.SrcPort))
	w.dport.Append(int32(r.DstPort))
	w.proto.Append(int32(r.Proto))
	w.packets.Append(r.Packets)
	w.bytes.Append(r.Bytes)
	w.action.Append(r.Action.String())
	w.direction.Append(r.Direction.String())
	w.iface.Append(r.Iface)
	w.vpc.Append(r.VPC)
	w.subnet.Append(r.Subnet)
	w.account.Append(r.Account)
	w.tcpFlags.Append(r.TCPFlags)
	w.source.Append(r.Source.String())
	// Optional keys: absent ones are filled with nulls lazily (fillNulls),
	// so a record costs only its own attributes.
	for i := range r.Attrs {
		a := &r.Attrs[i]
		k := a.Key
		if int(k) >= len(w.filled) || k == flowlog.AttrNone || w.filled[k] > w.n {
			continue // unknown key, or a repeated key (Attrs holds one per key)
		}
		if gap := w.n - w.filled[k]; gap > 0 {
			w.appendNulls(k, gap)
		}
		if b := w.attrInt[k]; b != nil {
			b.Append(a.Int)
		} else if a.Str == "" {
			w.attrStr[k].AppendNull() // an empty value is absent (FORMATS.md 1.3)
		} else {
			w.attrStr[k].Append(a.Str)
		}
		w.filled[k] = w.n + 1
	}
	w.n++
	w.rows++
	if w.n >= w.opts.BatchRows {
		return w.flush()
	}
	return nil
}

func (w *Writer) appendAddr(b *array.StringBuilder, a netip.Addr) {
	w.addr = a.AppendTo(w.addr[:0])
	b.BinaryBuilder.Append(w.addr)
}

func (w *Writer) appendNulls(k flowlog.AttrKey, n int) {
	if b := w.attrInt[k]; b != nil {
		b.AppendNulls(n)
	} else {
		w.attrStr[k].AppendNulls(n)
	}
}

// flush writes the buffered batch into the current row group.
func (w *Writer) flush() error {
	if w.n == 0 {
		return w.err
	}
	for k := range w.filled {
		if k == 0 {
			continue
		}
		if gap := w.n - w.filled[k]; gap > 0 {
			w.appendNulls(flowlog.AttrKey(k), gap)
		}
		w.filled[k] = 0
	}
	rec := w.rb.NewRecord()
	defer rec.Release()
	w.n = 0
	if err := w.fw.WriteBuffered(rec); err != nil {
		w.err = err
		return err
	}
	return nil
}

// Close writes the last batch and the footer and flushes the output. It
// does not close the io.Writer.
func (w *Writer) Close() error {
	if w.fw == nil {
		return w.err
	}
	err := w.flush()
	if cerr := w.fw.Close(); err == nil {
		err = cerr
	}
	w.fw = nil
	w.rb.Release()
	if ferr := w.sink.Flush(); err == nil {
		err = ferr
	}
	if err == nil {
		err = w.err
	}
	if err != nil && w.err == nil {
		w.err = err
	}
	return err
}

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("parquet writer is closed")
