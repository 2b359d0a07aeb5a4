package aws

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"unsafe"

	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/schema"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/internal/lex"
)

// ParquetBatchRows is how many rows the Parquet reader decodes per column
// batch: memory stays bounded whatever the size of a row group.
const ParquetBatchRows = 4 << 10

// MaxParquetAlloc bounds one allocation made while decoding a Parquet file.
// A corrupt page header can claim gigabytes; past this limit the file is
// reported unreadable instead of exhausting memory. Real pages are a few MB.
var MaxParquetAlloc = 1 << 30

var errAllocTooLarge = errors.New("corrupt file: a page or buffer claims more memory than allowed")

// cappedAllocator is the Go allocator with a per-allocation limit.
type cappedAllocator struct{ memory.Allocator }

func (a cappedAllocator) Allocate(n int) []byte {
	if n > MaxParquetAlloc || n < 0 {
		panic(errAllocTooLarge)
	}
	return a.Allocator.Allocate(n)
}

func (a cappedAllocator) Reallocate(n int, b []byte) []byte {
	if n > MaxParquetAlloc || n < 0 {
		panic(errAllocTooLarge)
	}
	return a.Allocator.Reallocate(n, b)
}

// OpenParquet reads the footer of the Parquet file in ra (size bytes). An
// error means the footer cannot be read (cut short, not Parquet): the input
// is unusable (FORMATS.md 4). Panics of the decoder on corrupt input are
// turned into errors.
func OpenParquet(ra io.ReaderAt, size int64) (pf *file.Reader, err error) {
	defer func() {
		if p := recover(); p != nil {
			pf, err = nil, fmt.Errorf("corrupt footer: %v", p)
		}
	}()
	props := parquet.NewReaderProperties(cappedAllocator{memory.NewGoAllocator()})
	pf, err = file.NewParquetReader(io.NewSectionReader(ra, 0, size), file.WithReadProps(props))
	if err != nil {
		return nil, err
	}
	if pf.NumRows() < 0 {
		return nil, errors.New("corrupt footer: negative row count")
	}
	if err := checkChunks(pf, size); err != nil {
		return nil, err
	}
	return pf, nil
}

// checkChunks verifies that every column chunk the footer describes lies
// inside the file. The Parquet library trusts these numbers: it allocates
// the chunk's length before reading (a corrupt length could exhaust
// memory), and pqarrow opens chunks on goroutines, where a panic could not
// be recovered.
func checkChunks(pf *file.Reader, size int64) error {
	md := pf.MetaData()
	ncols := md.Schema.NumColumns()
	for g := 0; g < pf.NumRowGroups(); g++ {
		rg := md.RowGroup(g)
		if rg.NumColumns() != ncols {
			return fmt.Errorf("corrupt footer: row group %d has %d columns, the schema %d", g+1, rg.NumColumns(), ncols)
		}
		if rg.NumRows() < 0 {
			return fmt.Errorf("corrupt footer: row group %d has %d rows", g+1, rg.NumRows())
		}
		for c := 0; c < ncols; c++ {
			cc, err := rg.ColumnChunk(c)
			if err != nil {
				return fmt.Errorf("corrupt footer: row group %d column %d: %v", g+1, c+1, err)
			}
			start := cc.DataPageOffset()
			if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 && start > cc.DictionaryPageOffset() {
				start = cc.DictionaryPageOffset()
			}
			n := cc.TotalCompressedSize()
			if start < 0 || n < 0 || start > size || n > size-start {
				return fmt.Errorf("corrupt footer: row group %d column %d claims bytes %d..%d of a %d-byte file", g+1, c+1, start, start+n, size)
			}
		}
	}
	return nil
}

// TopLevelColumns lists the names of the top-level fields of a Parquet
// schema, in file order (for detection).
func TopLevelColumns(pf *file.Reader) []string {
	root := pf.MetaData().Schema.Root()
	names := make([]string, root.NumFields())
	for i := range names {
		names[i] = root.Field(i).Name()
	}
	return names
}

// IsParquetColumn reports whether name is an AWS flow-log column
// (FORMATS.md 4: the field name with "_" for "-").
func IsParquetColumn(name string) bool {
	_, ok := fieldByColumn[name]
	return ok
}

// colRole says how a column's cells are decoded.
type colRole uint8

const (
	roleRaw     colRole = iota // action, flow-direction, log-status: checked per row
	roleInt                    // an integer field
	roleAddr                   // srcaddr, dstaddr
	rolePktAddr                // pkt-srcaddr, pkt-dstaddr: canonical text when they parse
	roleStr                    // any other string: interned
)

// cellState is what decoding found in one cell.
type cellState uint8

const (
	cAbsent cellState = iota // null, "-" or empty: absent (FORMATS.md 3.3, 4)
	cOK                      // a value
	cNeg                     // a typed integer below zero
	cOver                    // a typed integer above the field's limit
	cBad                     // a string that does not parse (number or address)
)

// pqCol is one column of a known field and the current batch of its
// values, decoded column by column into per-row cells; rows are then
// validated in field order (parseRow).
type pqCol struct {
	id       fieldID
	name     string // column name, used in reports
	leaf     int
	str      bool // BYTE_ARRAY
	wide     bool // INT64 (else INT32), when !str
	unsigned bool // integer annotated as unsigned
	maxDef   int16
	role     colRole
	max      uint64       // roleInt: the field's limit
	over     flowlog.Kind // roleInt: the kind of a value above max

	rd   file.ColumnChunkReader
	defs []int16
	v32  []int32
	v64  []int64
	vba  []parquet.ByteArray

	// Per row of the batch.
	st  []cellState
	iv  []int64      // roleInt: the value (cOK, cNeg, cOver)
	raw [][]byte     // string columns: the text (nil when absent)
	sv  []string     // roleStr, rolePktAddr: the interned text
	av  []netip.Addr // roleAddr

	val int64 // validated optional integer of the current row

	sc *strCache
	ac *addrCache
	in *flowlog.Interner
}

func (c *pqCol) grow(n int) {
	if len(c.defs) >= n {
		return
	}
	c.defs = make([]int16, n)
	c.st = make([]cellState, n)
	switch {
	case c.str:
		c.vba = make([]parquet.ByteArray, n)
		c.raw = make([][]byte, n)
	case c.wide:
		c.v64 = make([]int64, n)
	default:
		c.v32 = make([]int32, n)
	}
	switch c.role {
	case roleInt:
		c.iv = make([]int64, n)
	case roleStr, rolePktAddr:
		c.sv = make([]string, n)
	case roleAddr:
		c.av = make([]netip.Addr, n)
	}
}

func (c *pqCol) read(n int64) (int64, error) {
	var total int64
	var err error
	switch rd := c.rd.(type) {
	case *file.Int32ColumnChunkReader:
		total, _, err = rd.ReadBatch(n, c.v32, c.defs, nil)
	case *file.Int64ColumnChunkReader:
		total, _, err = rd.ReadBatch(n, c.v64, c.defs, nil)
	case *file.ByteArrayColumnChunkReader:
		total, _, err = rd.ReadBatch(n, c.vba, c.defs, nil)
	default:
		return 0, fmt.Errorf("unexpected column reader %T", c.rd)
	}
	return total, err
}

func (c *pqCol) null(r int) bool { return c.maxDef > 0 && c.defs[r] < c.maxDef }

// setInt classifies a typed integer.
func (c *pqCol) setInt(r int, u uint64, neg bool) {
	c.iv[r] = int64(u)
	switch {
	case neg:
		c.st[r] = cNeg
	case u > c.max:
		c.st[r] = cOver
	default:
		c.st[r] = cOK
	}
}

// decode turns the n rows just read into cells.
func (c *pqCol) decode(n int) {
	vi := 0
	switch {
	case !c.str && c.wide:
		for r := 0; r < n; r++ {
			if c.null(r) {
				c.st[r] = cAbsent
				continue
			}
			v := c.v64[vi]
			vi++
			c.setInt(r, uint64(v), v < 0 && !c.unsigned)
		}
	case !c.str:
		for r := 0; r < n; r++ {
			if c.null(r) {
				c.st[r] = cAbsent
				continue
			}
			v := c.v32[vi]
			vi++
			if c.unsigned {
				c.setInt(r, uint64(uint32(v)), false)
			} else {
				c.setInt(r, uint64(int64(v)), v < 0)
			}
		}
	default:
		for r := 0; r < n; r++ {
			var b []byte
			if !c.null(r) {
				b = c.vba[vi]
				vi++
			}
			if len(b) == 0 || isDash(b) {
				c.st[r], c.raw[r] = cAbsent, nil
				continue
			}
			c.raw[r], c.st[r] = b, cOK
			switch c.role {
			case roleInt:
				v, e := lex.ParseUint(b, c.max)
				if e != lex.NumOK {
					c.st[r] = cBad // numField reports it with the text reader's words
				}
				c.iv[r] = int64(v)
			case roleAddr:
				e := c.ac.get(b)
				if c.av[r] = e.a; !e.ok {
					c.st[r] = cBad
				}
			case rolePktAddr:
				e := c.ac.get(b)
				if !e.ok {
					c.st[r] = cBad
					continue
				}
				if e.s == "" {
					var buf [64]byte
					e.s = c.in.Bytes(e.a.AppendTo(buf[:0]))
				}
				c.sv[r] = e.s
			case roleStr:
				c.sv[r] = c.sc.get(b)
			}
		}
	}
}

// rawAt is the text of a string cell, nil when absent or when c is nil.
func (c *pqCol) rawAt(r int) []byte {
	if c == nil || c.st[r] == cAbsent {
		return nil
	}
	return c.raw[r]
}

// ParquetReader reads AWS VPC flow logs delivered as Parquet (FORMATS.md 4):
// columns are found by name, decoded in batches of ParquetBatchRows rows,
// and every row is validated like a text line (3.3-3.6), reporting at its
// 1-based row number across row groups.
type ParquetReader struct {
	pf *file.Reader
	t  *flowlog.Tally
	p  LineParser // for its Tally, Interner and shared checks

	cols   []*pqCol
	by     []*pqCol // by fieldID, nil when the file has no such column
	int64s []*pqCol // kInt64 columns, in column order (validated in that order)
	attrs  []*pqCol // optional-key columns by ascending attribute key

	rg     int   // next row group
	rgLeft int64 // rows of the current row group not yet decoded
	n, i   int   // rows in the batch, next row of the batch
	row    int64 // position of the current row
	done   bool
}

// NewParquetReader returns a reader for the opened file pf, reporting to t.
// It returns nil after noting the input unsupported when a known field's
// column has a type that cannot hold it. Unknown columns are ignored with
// one informational notice.
func NewParquetReader(pf *file.Reader, t *flowlog.Tally) *ParquetReader {
	t.Format = flowlog.SourceAWSParquet
	r := &ParquetReader{
		pf: pf,
		t:  t,
		p:  LineParser{Tally: t, In: &flowlog.Interner{}, Source: flowlog.SourceAWSParquet},
		by: make([]*pqCol, len(fieldDefs)),
	}
	sc := pf.MetaData().Schema
	var unknown []string
	seenTop := map[string]bool{}
	for leaf := 0; leaf < sc.NumColumns(); leaf++ {
		col := sc.Column(leaf)
		path := col.ColumnPath()
		top := path[0]
		id, known := fieldByColumn[top]
		if !known {
			if !seenTop[top] {
				seenTop[top] = true
				unknown = append(unknown, top)
			}
			continue
		}
		if len(path) > 1 || col.MaxRepetitionLevel() > 0 {
			t.Note(flowlog.NoticeUnsupported, fmt.Sprintf("column %q is nested or repeated; flow-log columns are flat", top))
			return nil
		}
		if r.by[id] != nil {
			t.Note(flowlog.NoticeUnsupported, fmt.Sprintf("column %q appears twice", top))
			return nil
		}
		c, why := newPQCol(id, leaf, col)
		if c == nil {
			t.Note(flowlog.NoticeUnsupported, why)
			return nil
		}
		r.by[id] = c
		r.cols = append(r.cols, c)
	}
	for _, c := range r.cols {
		d := &fieldDefs[c.id]
		switch d.kind {
		case kInt64:
			r.int64s = append(r.int64s, c)
		}
		if d.kind != kCore {
			r.attrs = append(r.attrs, c)
		}
		c.in = r.p.In
		switch {
		case isIntField(c.id):
			c.role, c.max, c.over = roleInt, lex.MaxInt64, flowlog.KindBadNumber
			switch {
			case c.id == fSrcPort || c.id == fDstPort:
				c.max, c.over = lex.MaxPort, flowlog.KindBadPort
			case c.id == fProtocol:
				c.max, c.over = lex.MaxProto, flowlog.KindBadProtocol
			case c.id == fTCPFlags || d.kind == kInt32:
				c.max = lex.MaxInt32
			}
		case c.id == fSrcAddr || c.id == fDstAddr:
			c.role, c.ac = roleAddr, &addrCache{}
		case d.kind == kPktAddr:
			c.role, c.ac = rolePktAddr, &addrCache{}
		case c.id == fAction || c.id == fFlowDirection || c.id == fLogStatus:
			c.role = roleRaw
		default:
			c.role, c.sc = roleStr, &strCache{in: r.p.In}
		}
	}
	sortByAttr(r.attrs)
	if len(unknown) > 0 {
		const show = 8
		list := unknown
		more := ""
		if len(list) > show {
			list, more = list[:show], fmt.Sprintf(" and %d more", len(unknown)-show)
		}
		t.Note(flowlog.NoticeInfo, fmt.Sprintf("ignoring %d unknown column(s): %s%s", len(unknown), strings.Join(list, ", "), more))
	}
	return r
}

func sortByAttr(cs []*pqCol) {
	for i := 1; i < len(cs); i++ { // insertion sort: a few dozen columns at most
		for j := i; j > 0 && fieldDefs[cs[j].id].attr < fieldDefs[cs[j-1].id].attr; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// isIntField reports whether a field holds an integer.
func isIntField(id fieldID) bool {
	switch id {
	case fSrcPort, fDstPort, fProtocol, fPackets, fBytes, fStart, fEnd, fTCPFlags:
		return true
	}
	k := fieldDefs[id].kind
	return k == kInt32 || k == kInt64
}

// newPQCol checks that column col can hold field id (FORMATS.md 4): INT32,
// INT64 or a string for an integer field, a string for the others. Logical
// annotations that change the meaning of an integer (timestamps, dates,
// decimals) are refused rather than guessed at: flowsift's choice.
func newPQCol(id fieldID, leaf int, col *schema.Column) (*pqCol, string) {
	c := &pqCol{id: id, name: col.Name(), leaf: leaf, maxDef: col.MaxDefinitionLevel()}
	phys := col.PhysicalType()
	lt := col.LogicalType()
	intField := isIntField(id)
	bad := func(what string) (*pqCol, string) {
		want := "a UTF-8 string (BYTE_ARRAY)"
		if intField {
			want = "INT32, INT64 or a string of digits"
		}
		return nil, fmt.Sprintf("column %q is %s; it must be %s", c.name, what, want)
	}
	switch phys {
	case parquet.Types.Int32, parquet.Types.Int64:
		if !intField {
			return bad(phys.String())
		}
		switch l := lt.(type) {
		case nil, schema.NoLogicalType, schema.NullLogicalType:
		case *schema.IntLogicalType:
			c.unsigned = !l.IsSigned()
		default:
			return bad(phys.String() + " annotated " + lt.String())
		}
		c.wide = phys == parquet.Types.Int64
	case parquet.Types.ByteArray:
		switch lt.(type) {
		case nil, schema.NoLogicalType, schema.NullLogicalType, schema.StringLogicalType,
			schema.EnumLogicalType, schema.JSONLogicalType:
		default:
			return bad("BYTE_ARRAY annotated " + lt.String())
		}
		c.str = true
	default:
		return bad(phys.String())
	}
	return c, ""
}

// Next implements flowlog.Reader.
func (r *ParquetReader) Next(rec *flowlog.Record) bool {
	if r.done {
		return false
	}
	for !r.t.Aborted() {
		if r.i >= r.n && !r.loadBatch() {
			break
		}
		i := r.i
		r.i++
		r.row++
		if r.parseRow(r.row, i, rec) {
			r.t.Records++
			return true
		}
	}
	r.done = true
	return false
}

// loadBatch decodes the next batch of every column. Decoder errors and
// panics (corrupt pages) end the input with an unreadable notice.
func (r *ParquetReader) loadBatch() (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			r.t.Note(flowlog.NoticeUnreadable, fmt.Sprintf("Parquet data unreadable after row %d: %v", r.row, p))
			ok = false
		}
	}()
	for r.rgLeft == 0 {
		if r.rg >= r.pf.NumRowGroups() {
			if n := r.pf.NumRows(); r.row != n {
				r.t.Note(flowlog.NoticeUnreadable, fmt.Sprintf("Parquet footer inconsistent: its row groups hold %d rows, it announces %d", r.row, n))
			}
			return false
		}
		rg := r.pf.RowGroup(r.rg)
		r.rg++
		r.rgLeft = rg.NumRows()
		if r.rgLeft < 0 {
			r.t.Note(flowlog.NoticeUnreadable, fmt.Sprintf("Parquet row group %d claims %d rows", r.rg, r.rgLeft))
			return false
		}
		for _, c := range r.cols {
			rd, err := rg.Column(c.leaf)
			if err != nil {
				r.t.Note(flowlog.NoticeUnreadable, fmt.Sprintf("Parquet row group %d, column %q: %v", r.rg, c.name, err))
				return false
			}
			c.rd = rd
		}
	}
	n := min(r.rgLeft, ParquetBatchRows)
	for _, c := range r.cols {
		c.grow(int(n))
		got, err := c.read(n)
		if err == nil && got != n {
			err = fmt.Errorf("%d values where the row group has %d more rows", got, n)
		}
		if err != nil {
			r.t.Note(flowlog.NoticeUnreadable, fmt.Sprintf("Parquet data unreadable after row %d: row group %d, column %q: %v", r.row, r.rg, c.name, err))
			return false
		}
		c.decode(int(n))
	}
	r.rgLeft -= n
	r.n, r.i = int(n), 0
	return true
}

// intCell validates an integer cell like a text token (FORMATS.md 2.6,
// 3.4): absent is 0; a string column is parsed by 2.6; a typed value must
// be non-negative and within the field's limit.
func (r *ParquetReader) intCell(pos int64, c *pqCol, i int) (int64, bool) {
	if c == nil {
		return 0, true
	}
	switch c.st[i] {
	case cAbsent:
		return 0, true
	case cOK:
		return c.iv[i], true
	case cNeg:
		r.t.Badf(pos, flowlog.KindBadNumber, "%s %d is negative", c.name, c.iv[i])
	case cOver:
		if c.over == flowlog.KindBadNumber {
			r.t.Badf(pos, c.over, "%s %d is out of range", c.name, uint64(c.iv[i]))
		} else {
			r.t.Badf(pos, c.over, "%s %d is larger than %d", c.name, uint64(c.iv[i]), c.max)
		}
	default: // a string that is not a 2.6 integer: reported as the text reader does
		r.p.numField(pos, c.name, c.raw[i], c.max, c.over)
	}
	return 0, false
}

func (r *ParquetReader) addrCell(pos int64, id fieldID, i int) (netip.Addr, bool) {
	c := r.by[id]
	name := fieldDefs[id].column
	switch {
	case c == nil:
		r.t.Badf(pos, flowlog.KindBadIP, "the file has no %s column: a record needs both addresses", name)
	case c.st[i] == cAbsent:
		r.t.Badf(pos, flowlog.KindBadIP, "%s is null or \"-\" on a row that is not NODATA/SKIPDATA", name)
	case c.st[i] == cBad:
		r.t.Badf(pos, flowlog.KindBadIP, "%s %q is not an IP address", name, c.raw[i])
	default:
		return c.av[i], true
	}
	return netip.Addr{}, false
}

func strCell(c *pqCol, i int) string {
	if c == nil || c.st[i] == cAbsent {
		return ""
	}
	return c.sv[i]
}

// parseRow validates row i of the batch (position pos) in the order of
// LineParser.Parse and fills rec. Keep the two in step:
// TestParquetMatchesText compares them.
func (r *ParquetReader) parseRow(pos int64, i int, rec *flowlog.Record) bool {
	by := r.by
	status := by[fLogStatus].rawAt(i)
	if len(status) == 6 && string(status) == "NODATA" {
		r.t.NoData++
		return false
	}
	if len(status) == 8 && string(status) == "SKIPDATA" {
		r.t.SkipData++
		return false
	}
	rec.Reset()
	rec.Source = flowlog.SourceAWSParquet
	var ok bool
	if rec.Src, ok = r.addrCell(pos, fSrcAddr, i); !ok {
		return false
	}
	if rec.Dst, ok = r.addrCell(pos, fDstAddr, i); !ok {
		return false
	}
	var v int64
	if v, ok = r.intCell(pos, by[fSrcPort], i); !ok {
		return false
	}
	rec.SrcPort = uint16(v)
	if v, ok = r.intCell(pos, by[fDstPort], i); !ok {
		return false
	}
	rec.DstPort = uint16(v)
	if v, ok = r.intCell(pos, by[fProtocol], i); !ok {
		return false
	}
	rec.Proto = uint8(v)
	if rec.Packets, ok = r.intCell(pos, by[fPackets], i); !ok {
		return false
	}
	if rec.Bytes, ok = r.intCell(pos, by[fBytes], i); !ok {
		return false
	}
	if rec.Start, ok = r.intCell(pos, by[fStart], i); !ok {
		return false
	}
	if rec.End, ok = r.intCell(pos, by[fEnd], i); !ok {
		return false
	}
	for _, c := range r.int64s {
		if c.val, ok = r.intCell(pos, c, i); !ok {
			return false
		}
	}
	if c := by[fVersion]; c != nil {
		if c.val, ok = r.intCell(pos, c, i); !ok {
			return false
		}
	}
	if v, ok = r.intCell(pos, by[fTCPFlags], i); !ok {
		return false
	}
	rec.TCPFlags = int32(v)
	if c := by[fTrafficPath]; c != nil {
		if c.val, ok = r.intCell(pos, c, i); !ok {
			return false
		}
	}
	if rec.Action, ok = r.p.action(pos, "action", by[fAction].rawAt(i)); !ok {
		return false
	}
	if rec.Direction, ok = r.p.direction(pos, "flow_direction", by[fFlowDirection].rawAt(i)); !ok {
		return false
	}
	if !r.p.status(pos, "log_status", status) {
		return false
	}
	rec.Account = strCell(by[fAccountID], i)
	rec.Iface = strCell(by[fInterfaceID], i)
	rec.VPC = strCell(by[fVPCID], i)
	rec.Subnet = strCell(by[fSubnetID], i)
	for _, c := range r.attrs {
		switch c.st[i] {
		case cAbsent:
			continue
		case cBad: // only pkt-* get here: not validated (FORMATS.md 3.4), key left out, counted
			r.t.BadPktIP++
			continue
		}
		d := &fieldDefs[c.id]
		if c.role == roleInt {
			rec.Attrs = append(rec.Attrs, flowlog.Attr{Key: d.attr, Int: c.val})
		} else {
			rec.Attrs = append(rec.Attrs, flowlog.Attr{Key: d.attr, Str: c.sv[i]})
		}
	}
	return true
}

// Column values of dictionary-encoded pages are slices of the dictionary,
// so a value seen before usually comes back at the same address. The
// caches below are keyed by that address and always verify the content, so
// a reused address (a new page, a new dictionary) can never give a stale
// value: at worst it misses. Addresses are kept as uintptr so the caches do
// not keep decoded pages alive.

func ptrHash(b []byte, bits uint) uint64 {
	return (uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) * 0x9E3779B97F4A7C15) >> (64 - bits)
}

const strCacheBits = 9

type strCache struct {
	in  *flowlog.Interner
	ent [1 << strCacheBits]struct {
		p uintptr
		s string
	}
}

// get returns the interned string equal to b (len(b) > 0).
func (c *strCache) get(b []byte) string {
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	e := &c.ent[ptrHash(b, strCacheBits)]
	if e.p == p && e.s == string(b) {
		return e.s
	}
	e.p, e.s = p, c.in.Bytes(b)
	return e.s
}

const addrCacheBits = 12

type addrEnt struct {
	p   uintptr
	n   uint8
	raw [46]byte // longest canonical-or-not address text worth caching
	ok  bool
	a   netip.Addr
	s   string // canonical text, filled by pkt-* columns
}

type addrCache struct {
	ent [1 << addrCacheBits]addrEnt
}

// get parses b as an address (len(b) > 0). The returned entry is valid
// until the next call.
func (c *addrCache) get(b []byte) *addrEnt {
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	if len(b) > len(addrEnt{}.raw) {
		e := &addrEnt{}
		e.a, e.ok = lex.ParseAddr(b)
		return e
	}
	e := &c.ent[ptrHash(b, addrCacheBits)]
	if e.p == p && int(e.n) == len(b) && string(e.raw[:e.n]) == string(b) {
		return e
	}
	e.p, e.n = p, uint8(copy(e.raw[:], b))
	e.a, e.ok = lex.ParseAddr(b)
	e.s = ""
	return e
}
