package native

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	"github.com/apache/arrow/go/v17/parquet/schema"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/internal/lex"
)

// Fixed keys of FORMATS.md 1.1, as Parquet column names.
const (
	pqStart = iota
	pqEnd
	pqSrc
	pqDst
	pqSport
	pqDport
	pqProto
	pqPackets
	pqBytes
	pqAction
	pqDirection
	pqIface
	pqVPC
	pqSubnet
	pqAccount
	pqTCPFlags
	pqSource
	pqNumFixed
)

// pqFixedNames has the fixed keys; the explicit type checks pqNumFixed at
// compile time.
var pqFixedNames [pqNumFixed]string = flowlog.FixedKeys

func pqFixedIsInt(i int) bool {
	switch i {
	case pqStart, pqEnd, pqSport, pqDport, pqProto, pqPackets, pqBytes, pqTCPFlags:
		return true
	}
	return false
}

// IsParquetSchema reports whether top-level column names are those of
// flowsift's own Parquet output: src, dst and start (FORMATS.md 2.3).
func IsParquetSchema(cols []string) bool {
	var src, dst, start bool
	for _, c := range cols {
		switch c {
		case "src":
			src = true
		case "dst":
			dst = true
		case "start":
			start = true
		}
	}
	return src && dst && start
}

// ParquetBatchRows is the number of rows decoded per batch.
const ParquetBatchRows = 64 << 10

// pcol is one known column and the current batch of its values.
type pcol struct {
	name  string
	fixed int             // pqStart..pqSource, or -1 for an optional key
	attr  flowlog.AttrKey // when fixed < 0
	isInt bool
	leaf  int

	arr  arrow.Array
	i64  *array.Int64
	i32  *array.Int32
	u64  *array.Uint64
	u32  *array.Uint32
	str  *array.String
	bin  *array.Binary
	dict *array.Dictionary
	dstr *array.String // dictionary values
}

func (c *pcol) bind(a arrow.Array) error {
	*c = pcol{name: c.name, fixed: c.fixed, attr: c.attr, isInt: c.isInt, leaf: c.leaf, arr: a}
	switch a := a.(type) {
	case *array.Int64:
		c.i64 = a
	case *array.Int32:
		c.i32 = a
	case *array.Uint64:
		c.u64 = a
	case *array.Uint32:
		c.u32 = a
	case *array.String:
		c.str = a
	case *array.Binary:
		c.bin = a
	case *array.Dictionary:
		s, ok := a.Dictionary().(*array.String)
		if !ok {
			return fmt.Errorf("column %q: dictionary of %s", c.name, a.Dictionary().DataType())
		}
		c.dict, c.dstr = a, s
	default:
		return fmt.Errorf("column %q: Arrow type %s", c.name, a.DataType())
	}
	if c.isInt != (c.i64 != nil || c.i32 != nil || c.u64 != nil || c.u32 != nil) {
		return fmt.Errorf("column %q: Arrow type %s does not fit the key", c.name, a.DataType())
	}
	return nil
}

// intAt returns row i as an int64; over is set for an unsigned value
// beyond the int64 range.
func (c *pcol) intAt(i int) (v int64, over bool) {
	switch {
	case c.i64 != nil:
		return c.i64.Value(i), false
	case c.i32 != nil:
		return int64(c.i32.Value(i)), false
	case c.u64 != nil:
		u := c.u64.Value(i)
		return int64(u), u > 1<<63-1
	default:
		return int64(c.u32.Value(i)), false
	}
}

// strAt returns row i as a string view into the batch (not retained).
func (c *pcol) strAt(i int) string {
	switch {
	case c.str != nil:
		return c.str.Value(i)
	case c.bin != nil:
		return c.bin.ValueString(i)
	default:
		return c.dstr.Value(c.dict.GetValueIndex(i))
	}
}

// ParquetReader reads the Parquet files flowsift writes (storage/parquet)
// back into the records that were written (FORMATS.md 2.3): columns are
// found by name, a missing fixed column takes the default of 1.1, a null
// or empty optional value is absent. Rows whose values a record cannot
// hold are reported at their 1-based row number.
type ParquetReader struct {
	t     *flowlog.Tally
	in    flowlog.Interner
	rr    pqarrow.RecordReader
	batch arrow.Record
	fixed [pqNumFixed]*pcol
	cols  []*pcol // every known column, in the order read
	attrs []*pcol // optional-key columns in ascending key order
	n, i  int
	row   int64
	rows  int64 // rows the footer announces
	done  bool
}

// NewParquetReader returns a reader for the opened file pf. It returns nil
// after noting the input unsupported when a column of a known key has a
// type that cannot hold it. Unknown columns are ignored with one notice.
func NewParquetReader(pf *file.Reader, t *flowlog.Tally) flowlog.Reader {
	r := &ParquetReader{t: t, rows: pf.NumRows()}
	sc := pf.MetaData().Schema
	var unknown []string
	var leaves []int
	seen := map[string]bool{}
	for leaf := 0; leaf < sc.NumColumns(); leaf++ {
		col := sc.Column(leaf)
		path := col.ColumnPath()
		top := path[0]
		if seen[top] {
			if pqIsKnown(top) {
				t.Note(flowlog.NoticeUnsupported, fmt.Sprintf("column %q appears twice or is nested", top))
				return nil
			}
			continue
		}
		seen[top] = true
		if pqJudged[top] {
			continue // a judgment, not part of the record (analyze recomputes it)
		}
		c := &pcol{name: top, fixed: -1, leaf: leaf}
		if i := pqFixedIndex(top); i >= 0 {
			c.fixed, c.isInt = i, pqFixedIsInt(i)
		} else if k, ok := flowlog.LookupAttr(top); ok {
			c.attr, c.isInt = k, k.IsInt()
		} else {
			unknown = append(unknown, top)
			continue
		}
		if len(path) > 1 || col.MaxRepetitionLevel() > 0 {
			t.Note(flowlog.NoticeUnsupported, fmt.Sprintf("column %q is nested or repeated", top))
			return nil
		}
		if why := pqCheckType(c, col); why != "" {
			t.Note(flowlog.NoticeUnsupported, why)
			return nil
		}
		if c.fixed >= 0 {
			r.fixed[c.fixed] = c
		} else {
			r.attrs = append(r.attrs, c)
		}
		r.cols = append(r.cols, c)
		leaves = append(leaves, leaf)
	}
	for i := 1; i < len(r.attrs); i++ {
		for j := i; j > 0 && r.attrs[j].attr < r.attrs[j-1].attr; j-- {
			r.attrs[j], r.attrs[j-1] = r.attrs[j-1], r.attrs[j]
		}
	}
	if len(unknown) > 0 {
		t.Note(flowlog.NoticeInfo, fmt.Sprintf("ignoring %d unknown column(s): %s", len(unknown), strings.Join(unknown, ", ")))
	}
	err := r.catch(func() error {
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: ParquetBatchRows}, memory.NewGoAllocator())
		if err != nil {
			return err
		}
		// GetRecordReader returns the columns in schema order, which is
		// the order of r.cols.
		r.rr, err = fr.GetRecordReader(context.Background(), leaves, nil)
		return err
	})
	if err != nil {
		t.Note(flowlog.NoticeUnreadable, "Parquet data unreadable: "+err.Error())
		return nil
	}
	return r
}

// pqJudged are the judgment columns of `flowsift analyze -o DIR` files
// (storage/parquet JudgedColumns); a record has no such keys, so they are
// skipped without the unknown-column notice.
var pqJudged = map[string]bool{"verdict": true, "finding": true, "rules": true, "reply": true, "policy": true}

func pqFixedIndex(name string) int {
	for i, n := range pqFixedNames {
		if n == name {
			return i
		}
	}
	return -1
}

func pqIsKnown(name string) bool {
	if pqFixedIndex(name) >= 0 {
		return true
	}
	_, ok := flowlog.LookupAttr(name)
	return ok
}

// pqCheckType accepts INT32/INT64 (plain or integer-annotated) for integer
// keys and BYTE_ARRAY for string keys.
func pqCheckType(c *pcol, col *schema.Column) string {
	phys := col.PhysicalType()
	switch {
	case c.isInt && (phys == parquet.Types.Int32 || phys == parquet.Types.Int64):
		switch col.LogicalType().(type) {
		case nil, schema.NoLogicalType, schema.NullLogicalType, *schema.IntLogicalType:
			return ""
		}
	case !c.isInt && phys == parquet.Types.ByteArray:
		switch col.LogicalType().(type) {
		case nil, schema.NoLogicalType, schema.NullLogicalType, schema.StringLogicalType:
			return ""
		}
	}
	want := "a string (BYTE_ARRAY)"
	if c.isInt {
		want = "an integer (INT32 or INT64)"
	}
	return fmt.Sprintf("column %q is %s %s; it must be %s", c.name, phys, col.LogicalType(), want)
}

// catch runs f, turning a decoder panic (corrupt input) into an error.
func (r *ParquetReader) catch(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	return f()
}

// Close releases the current batch.
func (r *ParquetReader) Close() error {
	if r.batch != nil {
		r.batch.Release()
		r.batch = nil
	}
	if r.rr != nil {
		r.rr.Release()
		r.rr = nil
	}
	return nil
}

func (r *ParquetReader) load() bool {
	if r.batch != nil {
		r.batch.Release()
		r.batch = nil
	}
	err := r.catch(func() error {
		if !r.rr.Next() {
			if err := r.rr.Err(); err != io.EOF {
				return err
			}
			return nil
		}
		r.batch = r.rr.Record()
		r.batch.Retain()
		return nil
	})
	if err == nil && r.batch == nil {
		if r.row != r.rows { // the decoder stopped early without saying why
			r.t.Note(flowlog.NoticeUnreadable, fmt.Sprintf("Parquet data unreadable: %d rows read, the footer announces %d", r.row, r.rows))
		}
		return false
	}
	if err == nil {
		if int(r.batch.NumCols()) != len(r.cols) {
			err = fmt.Errorf("%d columns read, %d requested", r.batch.NumCols(), len(r.cols))
		}
		for i := 0; err == nil && i < len(r.cols); i++ {
			err = r.cols[i].bind(r.batch.Column(i))
		}
	}
	if err != nil {
		r.t.Note(flowlog.NoticeUnreadable, fmt.Sprintf("Parquet data unreadable after row %d: %v", r.row, err))
		return false
	}
	r.n, r.i = int(r.batch.NumRows()), 0
	return true
}

// Next implements flowlog.Reader.
func (r *ParquetReader) Next(rec *flowlog.Record) bool {
	if r.done {
		return false
	}
	for !r.t.Aborted() {
		if r.i >= r.n && !r.load() {
			break
		}
		i := r.i
		r.i++
		r.row++
		if r.parseRow(r.row, i, rec) {
			if r.t.Format == flowlog.SourceUnknown {
				r.t.Format = rec.Source // as the JSONL reader does
			}
			r.t.Records++
			return true
		}
	}
	r.done = true
	r.Close()
	return false
}

func (r *ParquetReader) intField(pos int64, f, i int, min, max int64, over flowlog.Kind) (int64, bool) {
	c := r.fixed[f]
	if c == nil || c.arr.IsNull(i) {
		return 0, true
	}
	v, big := c.intAt(i)
	switch {
	case big:
		r.t.Badf(pos, flowlog.KindBadNumber, "%s is out of range", c.name)
		return 0, false
	case v < min:
		r.t.Badf(pos, flowlog.KindBadNumber, "%s %d is negative", c.name, v)
		return 0, false
	case v > max:
		if over == flowlog.KindBadNumber {
			r.t.Badf(pos, over, "%s %d is out of range", c.name, v)
		} else {
			r.t.Badf(pos, over, "%s %d is larger than %d", c.name, v, max)
		}
		return 0, false
	}
	return v, true
}

func (r *ParquetReader) strField(f, i int) string {
	c := r.fixed[f]
	if c == nil || c.arr.IsNull(i) {
		return ""
	}
	return c.strAt(i)
}

func (r *ParquetReader) addrField(pos int64, f, i int) (netip.Addr, bool) {
	c := r.fixed[f]
	if c == nil || c.arr.IsNull(i) { // as a JSONL null: the key is missing
		r.t.Bad(pos, flowlog.KindMissingField, "no "+pqFixedNames[f])
		return netip.Addr{}, false
	}
	s := c.strAt(i)
	a, ok := lex.ParseAddrString(s)
	if !ok {
		r.t.Badf(pos, flowlog.KindBadIP, "%s %q is not an IP address", pqFixedNames[f], s)
	}
	return a, ok
}

// parseRow turns row i of the batch (position pos) into rec.
func (r *ParquetReader) parseRow(pos int64, i int, rec *flowlog.Record) bool {
	rec.Reset()
	var ok bool
	if rec.Start, ok = r.intField(pos, pqStart, i, -1<<63, 1<<63-1, flowlog.KindBadNumber); !ok {
		return false
	}
	if rec.End, ok = r.intField(pos, pqEnd, i, -1<<63, 1<<63-1, flowlog.KindBadNumber); !ok {
		return false
	}
	if rec.Src, ok = r.addrField(pos, pqSrc, i); !ok {
		return false
	}
	if rec.Dst, ok = r.addrField(pos, pqDst, i); !ok {
		return false
	}
	var v int64
	if v, ok = r.intField(pos, pqSport, i, 0, 65535, flowlog.KindBadPort); !ok {
		return false
	}
	rec.SrcPort = uint16(v)
	if v, ok = r.intField(pos, pqDport, i, 0, 65535, flowlog.KindBadPort); !ok {
		return false
	}
	rec.DstPort = uint16(v)
	if v, ok = r.intField(pos, pqProto, i, 0, 255, flowlog.KindBadProtocol); !ok {
		return false
	}
	rec.Proto = uint8(v)
	if rec.Packets, ok = r.intField(pos, pqPackets, i, 0, 1<<63-1, flowlog.KindBadNumber); !ok {
		return false
	}
	if rec.Bytes, ok = r.intField(pos, pqBytes, i, 0, 1<<63-1, flowlog.KindBadNumber); !ok {
		return false
	}
	if s := r.strField(pqAction, i); s != "" {
		if rec.Action, ok = flowlog.ParseAction(s); !ok {
			r.t.Badf(pos, flowlog.KindBadValue, "action %q is not accept, reject or empty", s)
			return false
		}
	}
	if s := r.strField(pqDirection, i); s != "" {
		if rec.Direction, ok = flowlog.ParseDirection(s); !ok {
			r.t.Badf(pos, flowlog.KindBadValue, "direction %q is not ingress, egress or empty", s)
			return false
		}
	}
	rec.Iface = r.in.String(r.strField(pqIface, i))
	rec.VPC = r.in.String(r.strField(pqVPC, i))
	rec.Subnet = r.in.String(r.strField(pqSubnet, i))
	rec.Account = r.in.String(r.strField(pqAccount, i))
	if v, ok = r.intField(pos, pqTCPFlags, i, 0, 1<<31-1, flowlog.KindBadNumber); !ok {
		return false
	}
	rec.TCPFlags = int32(v)
	// source keeps the original format's name (FORMATS.md 2.3); a missing
	// one is left unknown, an unknown name is malformed.
	if s := r.strField(pqSource, i); s != "" {
		if rec.Source, ok = flowlog.ParseSource(s); !ok {
			r.t.Badf(pos, flowlog.KindBadValue, "source %q is not a known format name", s)
			return false
		}
	}
	for _, c := range r.attrs {
		if c.arr.IsNull(i) {
			continue
		}
		if c.isInt {
			v, big := c.intAt(i)
			if big {
				r.t.Badf(pos, flowlog.KindBadNumber, "%s is out of range", c.name)
				return false
			}
			rec.Attrs = append(rec.Attrs, flowlog.Attr{Key: c.attr, Int: v})
			continue
		}
		if s := c.strAt(i); s != "" { // empty is absent (FORMATS.md 1.3)
			rec.Attrs = append(rec.Attrs, flowlog.Attr{Key: c.attr, Str: r.in.String(s)})
		}
	}
	return true
}
