package aws

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/schema"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/internal/lex"
	"github.com/klauspost/compress/gzip"
)

// Arrow's gzip codec opens a fresh gzip reader (with its 32 KB window and
// Huffman tables) for every page it decompresses. This one behaves the
// same (same package, same reads, same panics on corrupt data) but reuses
// readers through a pool. The registration is process-wide: Arrow's codec
// table is global, and every other codec entry point (encoding, streaming)
// is Arrow's own.
type pooledGzip struct{ compress.Codec }

var gzipReaders sync.Pool

func (c pooledGzip) Decode(dst, src []byte) []byte {
	zr, _ := gzipReaders.Get().(*gzip.Reader)
	var err error
	if zr == nil {
		zr, err = gzip.NewReader(bytes.NewReader(src))
	} else {
		err = zr.Reset(bytes.NewReader(src))
	}
	if err != nil {
		panic(err) // as Arrow's codec; the reader is dropped
	}
	if dst != nil {
		n, err := io.ReadFull(zr, dst)
		if err != nil {
			panic(err)
		}
		gzipReaders.Put(zr)
		return dst[:n]
	}
	dst, err = io.ReadAll(zr)
	if err != nil {
		panic(err)
	}
	gzipReaders.Put(zr)
	return dst
}

func init() {
	if c, err := compress.GetCodec(compress.Codecs.Gzip); err == nil {
		compress.RegisterCodec(compress.Codecs.Gzip, pooledGzip{c})
	}
}

// ParquetBatchRows is how many rows the Parquet reader decodes per column
// batch: memory stays bounded whatever the size of a row group.
const ParquetBatchRows = 2 << 10

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
	// Column chunks are read through a buffer rather than copied whole
	// (twice) into memory before their pages are decoded.
	props.BufferedStreamEnabled, props.BufferSize = true, 1<<16
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

// pqEnt is one decoded cell value.
type pqEnt struct {
	st  cellState
	iv  int64      // roleInt: the value (cOK, cNeg, cOver)
	raw []byte     // string columns: the text
	s   string     // roleStr, rolePktAddr: the interned text
	a   netip.Addr // roleAddr
}

// pqCol is one column of a known field and the current batch of its
// values, decoded column by column; rows are then validated in field order
// (parseRow, or fastRow for rows known to be clean).
//
// Pages are decoded here (PLAIN and dictionary encodings, RLE definition
// levels, data pages v1 and v2) from Arrow's decompressed pages. Cells live
// in a value table: entry 0 is the absent cell, entries 1..ndict the
// chunk's dictionary (each entry parsed, checked, classified and interned
// once per column chunk), then the PLAIN values of the current batch. A
// row holds only its entry's index: dictionary indices are unpacked
// straight into the rows (plus one), nothing is copied per row. A column
// chunk whose metadata lists another encoding (DELTA_*, BYTE_STREAM_SPLIT,
// ...) is read through Arrow's column reader, its values appended to the
// table like PLAIN ones.
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
	attr     flowlog.AttrKey

	// Per row of the batch: its entry in the value table.
	idx []int32

	// The value table (see above), by entry.
	dSt   []cellState
	dIv   []int64      // roleInt: the value (cOK, cNeg, cOver); 0 when absent
	dRaw  [][]byte     // string columns: the text
	dSv   []string     // roleStr, rolePktAddr: the interned text ("" when absent)
	dAv   []netip.Addr // roleAddr
	dCode []uint8      // roleRaw: the flowlog.Action or Direction (fast rows only)
	dSlow []bool       // the entry needs parseRow: a defect, NODATA, an absent address
	nSlow int          // slow entries in the dictionary
	// slowIn: some row of the batch may refer to a slow entry.
	slowIn bool

	// Page decoding.
	pr      file.PageReader
	hasDict bool   // the chunk's dictionary page was read
	ndict   int    // dictionary entries
	pages   int    // data pages read in this chunk
	left    int    // rows of the current data page not yet decoded
	dict    bool   // the current page's values are dictionary indices
	dl      rleDec // definition levels of the current page
	dv      rleDec // dictionary indices of the current page
	plain   []byte // PLAIN values of the current page not yet decoded
	lv      []uint8
	pos     []int32 // rows with a value, when some are null
	tmp     []int32 // dictionary indices of those rows
	defBits uint

	// Arrow's column reader, for chunks with other encodings.
	rd   file.ColumnChunkReader
	defs []int16
	v32  []int32
	v64  []int64
	vba  []parquet.ByteArray

	val int64 // validated optional integer of the current row

	quiet *LineParser // classifies action, flow-direction, log-status entries
	sc    *strCache
	ac    *addrCache
	in    *flowlog.Interner
}

var (
	errShortPage = errors.New("page data cut short")
	errBadRun    = errors.New("corrupt RLE/bit-packed run")
	errDictIndex = errors.New("dictionary index out of range")
)

// pageEncodings are the encodings the page decoder handles (BIT_PACKED
// only as the nominal encoding of absent repetition levels).
func pageEncodings(encs []parquet.Encoding) bool {
	for _, e := range encs {
		switch e {
		case parquet.Encodings.Plain, parquet.Encodings.PlainDict, parquet.Encodings.RLE,
			parquet.Encodings.RLEDict, parquet.Encodings.BitPacked:
		default:
			return false
		}
	}
	return true
}

// startChunk prepares the column for row group rg.
func (c *pqCol) startChunk(rg *file.RowGroupReader) error {
	c.hasDict, c.ndict, c.nSlow, c.pages, c.left = false, 0, 0, 0, 0
	// The previous chunk's entries point into its pages: dropped, not
	// just truncated, so those pages can be freed.
	clear(c.dRaw[:cap(c.dRaw)])
	c.truncate(0)
	c.add(&pqEnt{}) // entry 0: the absent cell
	c.pr, c.rd = nil, nil
	cc, err := rg.MetaData().ColumnChunk(c.leaf)
	if err != nil {
		return err
	}
	if pageEncodings(cc.Encodings()) {
		c.pr, err = rg.GetColumnPageReader(c.leaf)
	} else {
		c.rd, err = rg.Column(c.leaf)
	}
	return err
}

func (c *pqCol) grow(n int) {
	if len(c.idx) >= n {
		return
	}
	c.idx = make([]int32, n)
	c.lv, c.pos, c.tmp = make([]uint8, n), make([]int32, n), make([]int32, n)
}

// truncate keeps the first n entries of the value table.
func (c *pqCol) truncate(n int) {
	c.dSt, c.dSlow = c.dSt[:n], c.dSlow[:n]
	if c.str {
		c.dRaw = c.dRaw[:n]
	}
	switch c.role {
	case roleInt:
		c.dIv = c.dIv[:n]
	case roleStr, rolePktAddr:
		c.dSv = c.dSv[:n]
	case roleAddr:
		c.dAv = c.dAv[:n]
	case roleRaw:
		c.dCode = c.dCode[:n]
	}
}

// add appends cell e to the value table and returns its entry.
func (c *pqCol) add(e *pqEnt) int32 {
	j := int32(len(c.dSt))
	c.dSt = append(c.dSt, e.st)
	if c.str {
		c.dRaw = append(c.dRaw, e.raw)
	}
	slow := false
	switch c.role {
	case roleInt:
		c.dIv = append(c.dIv, e.iv)
		slow = e.st > cOK
	case roleStr:
		c.dSv = append(c.dSv, e.s)
	case rolePktAddr:
		c.dSv = append(c.dSv, e.s)
		slow = e.st == cBad // counted and left out by parseRow
	case roleAddr:
		c.dAv = append(c.dAv, e.a)
		slow = e.st != cOK // absent: an error unless the row is NODATA/SKIPDATA
	case roleRaw:
		code, ok := c.classify(e)
		c.dCode = append(c.dCode, code)
		slow = !ok
	}
	c.dSlow = append(c.dSlow, slow)
	return j
}

// classify checks an action, flow-direction or log-status cell with the
// text reader's rules (through a LineParser whose reports are discarded):
// a value they refuse, and NODATA/SKIPDATA, make the entry slow, so that
// parseRow reports or counts it.
func (c *pqCol) classify(e *pqEnt) (uint8, bool) {
	var b []byte
	if e.st != cAbsent {
		b = e.raw
	}
	switch c.id {
	case fAction:
		a, ok := c.quiet.action(0, c.name, b)
		return uint8(a), ok
	case fFlowDirection:
		d, ok := c.quiet.direction(0, c.name, b)
		return uint8(d), ok
	}
	return 0, c.quiet.status(0, c.name, b)
}

// setPlain stores cell e, a value of a PLAIN page (or of Arrow's reader),
// as row r's.
func (c *pqCol) setPlain(r int, e *pqEnt) {
	j := c.add(e)
	c.idx[r] = j
	if c.dSlow[j] {
		c.slowIn = true
	}
}

// setAbsent makes rows r0..r0+k-1 absent.
func (c *pqCol) setAbsent(r0, k int) {
	clear(c.idx[r0 : r0+k])
	if c.dSlow[0] {
		c.slowIn = true
	}
}

// read decodes the next n rows of the chunk into the row indices.
func (c *pqCol) read(n int) error {
	c.grow(n)
	c.truncate(1 + c.ndict) // the previous batch's PLAIN values
	c.slowIn = false
	if c.rd != nil {
		return c.readArrow(n)
	}
	for got := 0; got < n; {
		if c.left == 0 {
			if err := c.nextPage(); err != nil {
				return err
			}
			continue
		}
		k := min(n-got, c.left)
		if err := c.rows(got, k); err != nil {
			return err
		}
		got += k
		c.left -= k
	}
	return nil
}

// nextPage reads the next page of the chunk: a dictionary is decoded into
// entries, a data page prepared for rows.
func (c *pqCol) nextPage() error {
	if !c.pr.Next() {
		if err := c.pr.Err(); err != nil {
			return err
		}
		return errors.New("column chunk ends before its row group")
	}
	switch p := c.pr.Page().(type) {
	case *file.DictionaryPage:
		return c.loadDict(p)
	case *file.DataPageV1:
		data := p.Data()
		var defs []byte
		if c.maxDef > 0 {
			if e := p.DefinitionLevelEncoding(); e != parquet.Encodings.RLE {
				return fmt.Errorf("definition levels encoded %s: not supported", e)
			}
			if len(data) < 4 {
				return errShortPage
			}
			n := binary.LittleEndian.Uint32(data)
			if uint64(n) > uint64(len(data)-4) {
				return errShortPage
			}
			defs, data = data[4:4+n], data[4+n:]
		}
		return c.startData(p.NumValues(), parquet.Encoding(p.Encoding()), defs, data)
	case *file.DataPageV2:
		data := p.Data()
		rl, dl := int64(p.RepetitionLevelByteLen()), int64(p.DefinitionLevelByteLen())
		if rl < 0 || dl < 0 || rl+dl > int64(len(data)) {
			return errShortPage
		}
		return c.startData(p.NumValues(), parquet.Encoding(p.Encoding()), data[rl:rl+dl], data[rl+dl:])
	}
	return nil // a page type without rows: skipped
}

func (c *pqCol) loadDict(p *file.DictionaryPage) error {
	if c.hasDict || c.pages > 0 {
		return errors.New("a second dictionary page, or one after data pages")
	}
	if e := parquet.Encoding(p.Encoding()); e != parquet.Encodings.Plain && e != parquet.Encodings.PlainDict {
		return fmt.Errorf("dictionary page encoded %s: not supported", e)
	}
	n := int(p.NumValues())
	if n < 0 || n > len(p.Data()) && c.str || n > len(p.Data())/4 && !c.str {
		return errShortPage
	}
	if err := c.loadDictValues(p.Data(), n); err != nil {
		return err
	}
	c.hasDict, c.ndict = true, n
	return nil
}

// loadDictValues decodes the n PLAIN values of a dictionary page into the
// dictionary arrays.
func (c *pqCol) loadDictValues(b []byte, n int) error {
	c.nSlow = 0
	if !c.str {
		w := 4
		if c.wide {
			w = 8
		}
		if len(b) < w*n {
			return errShortPage
		}
		base := len(c.dSt)
		c.dSt, c.dIv = slices.Grow(c.dSt, n)[:base+n], slices.Grow(c.dIv, n)[:base+n]
		c.dSlow = slices.Grow(c.dSlow, n)[:base+n]
		st, iv, slow := c.dSt[base:], c.dIv[base:base+n], c.dSlow[base:base+n]
		switch {
		case c.wide:
			for i := range iv {
				v := int64(binary.LittleEndian.Uint64(b[8*i:]))
				st[i], iv[i] = c.intState(uint64(v), v < 0 && !c.unsigned), v
			}
		case c.unsigned:
			for i := range iv {
				v := uint64(binary.LittleEndian.Uint32(b[4*i:]))
				st[i], iv[i] = c.intState(v, false), int64(v)
			}
		default:
			for i := range iv {
				v := int64(int32(binary.LittleEndian.Uint32(b[4*i:])))
				st[i], iv[i] = c.intState(uint64(v), v < 0), v
			}
		}
		for i := range slow {
			slow[i] = st[i] != cOK // typed values are never absent
			if slow[i] {
				c.nSlow++
			}
		}
		return nil
	}
	for i := 0; i < n; i++ {
		if len(b) < 4 {
			return errShortPage
		}
		l := binary.LittleEndian.Uint32(b)
		if uint64(l) > uint64(len(b)-4) {
			return errShortPage
		}
		v := b[4 : 4+l]
		b = b[4+l:]
		var e pqEnt
		switch {
		case len(v) == 0 || isDash(v):
		case c.role == roleAddr || c.role == rolePktAddr:
			// Each entry once per chunk: parsed directly, not through
			// the address cache (built for PLAIN pages).
			e.raw, e.st = v, cOK
			a, ok := lex.ParseAddr(v)
			switch {
			case !ok:
				e.st = cBad
			case c.role == roleAddr:
				e.a = a
			default:
				var buf [64]byte
				e.s = c.in.Bytes(a.AppendTo(buf[:0]))
			}
		default:
			e = c.strEnt(v)
		}
		if c.dSlow[c.add(&e)] {
			c.nSlow++
		}
	}
	return nil
}

func (c *pqCol) startData(nv int32, enc parquet.Encoding, defs, vals []byte) error {
	if nv < 0 {
		return errors.New("negative value count in a page header")
	}
	c.pages++
	c.left = int(nv)
	if c.maxDef > 0 {
		c.dl.reset(defs, c.defBits)
	}
	switch enc {
	case parquet.Encodings.PlainDict, parquet.Encodings.RLEDict:
		c.dict = true
		if len(vals) == 0 { // no index can be read: fails if one is needed
			c.dv.reset(nil, 0)
			c.dv.short = true
			return nil
		}
		if vals[0] > 32 {
			return fmt.Errorf("dictionary indices of %d bits", vals[0])
		}
		c.dv.reset(vals[1:], uint(vals[0]))
	case parquet.Encodings.Plain:
		c.dict, c.plain = false, vals
	default:
		return fmt.Errorf("data page encoded %s: not supported", enc)
	}
	return nil
}

// rows decodes the next k rows of the page into rows r0.. of the batch.
func (c *pqCol) rows(r0, k int) error {
	if c.maxDef == 0 {
		return c.values(r0, nil, k)
	}
	d := &c.dl
	if d.rep == 0 && d.lit == 0 {
		if err := d.next(); err != nil {
			return err
		}
	}
	if d.rep >= k { // one run of levels covers the rows: the common case
		d.rep -= k
		if d.val == uint32(c.maxDef) {
			return c.values(r0, nil, k)
		}
		c.setAbsent(r0, k)
		return nil
	}
	lv := c.lv[:k]
	if err := d.levels(lv); err != nil {
		return err
	}
	def := uint8(c.maxDef)
	pos := c.pos[:0]
	for i, l := range lv {
		if l == def {
			pos = append(pos, int32(r0+i))
		} else {
			c.setAbsent(r0+i, 1)
		}
	}
	return c.values(r0, pos, len(pos))
}

// values decodes the next n values of the page into rows r0..r0+n-1, or
// the rows listed in pos when not nil.
func (c *pqCol) values(r0 int, pos []int32, n int) error {
	if !c.dict {
		return c.plainValues(r0, pos, n)
	}
	if c.nSlow > 0 {
		c.slowIn = true
	}
	if pos == nil { // straight into the rows: entry = index + 1
		return c.dv.indices(c.idx[r0:r0+n], 1, uint32(c.ndict))
	}
	tmp := c.tmp[:n]
	if err := c.dv.indices(tmp, 1, uint32(c.ndict)); err != nil {
		return err
	}
	for k, j := range tmp {
		c.idx[pos[k]] = j
	}
	return nil
}

func rowAt(r0 int, pos []int32, k int) int {
	if pos != nil {
		return int(pos[k])
	}
	return r0 + k
}

// plainValues decodes n PLAIN values from c.plain into rows r0.. (or the
// rows listed in pos).
func (c *pqCol) plainValues(r0 int, pos []int32, n int) error {
	b := c.plain
	switch {
	case c.str:
		for i := 0; i < n; i++ {
			if len(b) < 4 {
				return errShortPage
			}
			l := binary.LittleEndian.Uint32(b)
			if uint64(l) > uint64(len(b)-4) {
				return errShortPage
			}
			e := c.strEnt(b[4 : 4+l])
			b = b[4+l:]
			c.setPlain(rowAt(r0, pos, i), &e)
		}
	case c.wide:
		if len(b) < 8*n {
			return errShortPage
		}
		for i := 0; i < n; i++ {
			v := int64(binary.LittleEndian.Uint64(b[8*i:]))
			e := c.intEnt(uint64(v), v < 0 && !c.unsigned)
			c.setPlain(rowAt(r0, pos, i), &e)
		}
		b = b[8*n:]
	default:
		if len(b) < 4*n {
			return errShortPage
		}
		for i := 0; i < n; i++ {
			e := c.int32Ent(int32(binary.LittleEndian.Uint32(b[4*i:])))
			c.setPlain(rowAt(r0, pos, i), &e)
		}
		b = b[4*n:]
	}
	c.plain = b
	return nil
}

// intState classifies a typed integer.
func (c *pqCol) intState(u uint64, neg bool) cellState {
	switch {
	case neg:
		return cNeg
	case u > c.max:
		return cOver
	}
	return cOK
}

// intEnt classifies a typed integer.
func (c *pqCol) intEnt(u uint64, neg bool) pqEnt {
	return pqEnt{iv: int64(u), st: c.intState(u, neg)}
}

func (c *pqCol) int32Ent(v int32) pqEnt {
	if c.unsigned {
		return c.intEnt(uint64(uint32(v)), false)
	}
	return c.intEnt(uint64(int64(v)), v < 0)
}

// strEnt parses a string cell by the column's role.
func (c *pqCol) strEnt(b []byte) pqEnt {
	if len(b) == 0 || isDash(b) {
		return pqEnt{}
	}
	e := pqEnt{raw: b, st: cOK}
	switch c.role {
	case roleInt:
		v, r := lex.ParseUint(b, c.max)
		if r != lex.NumOK {
			e.st = cBad // numField reports it with the text reader's words
		}
		e.iv = int64(v)
	case roleAddr:
		a := c.ac.get(b)
		if e.a = a.a; !a.ok {
			e.st = cBad
		}
	case rolePktAddr:
		a := c.ac.get(b)
		if !a.ok {
			e.st = cBad
			break
		}
		if a.s == "" {
			var buf [64]byte
			a.s = c.in.Bytes(a.a.AppendTo(buf[:0]))
		}
		e.s = a.s
	case roleStr:
		e.s = c.sc.get(b)
	}
	return e
}

// readArrow decodes n rows with Arrow's column reader.
func (c *pqCol) readArrow(n int) error {
	if len(c.defs) < n {
		c.defs = make([]int16, n)
		switch {
		case c.str:
			c.vba = make([]parquet.ByteArray, n)
		case c.wide:
			c.v64 = make([]int64, n)
		default:
			c.v32 = make([]int32, n)
		}
	}
	var total int64
	var err error
	switch rd := c.rd.(type) {
	case *file.Int32ColumnChunkReader:
		total, _, err = rd.ReadBatch(int64(n), c.v32, c.defs, nil)
	case *file.Int64ColumnChunkReader:
		total, _, err = rd.ReadBatch(int64(n), c.v64, c.defs, nil)
	case *file.ByteArrayColumnChunkReader:
		total, _, err = rd.ReadBatch(int64(n), c.vba, c.defs, nil)
	default:
		return fmt.Errorf("unexpected column reader %T", c.rd)
	}
	if err == nil && total != int64(n) {
		err = fmt.Errorf("%d values where the row group has %d more rows", total, n)
	}
	if err != nil {
		return err
	}
	vi := 0
	for r := 0; r < n; r++ {
		if c.maxDef > 0 && c.defs[r] < c.maxDef {
			c.setAbsent(r, 1)
			continue
		}
		var e pqEnt
		switch {
		case c.str:
			e = c.strEnt(c.vba[vi])
		case c.wide:
			v := c.v64[vi]
			e = c.intEnt(uint64(v), v < 0 && !c.unsigned)
		default:
			e = c.int32Ent(c.v32[vi])
		}
		vi++
		c.setPlain(r, &e)
	}
	return nil
}

// rawAt is the text of row i's cell, nil when absent or when c is nil.
func (c *pqCol) rawAt(i int) []byte {
	if c == nil {
		return nil
	}
	j := c.idx[i]
	if c.dSt[j] == cAbsent {
		return nil
	}
	return c.dRaw[j]
}

// rleDec decodes the RLE/bit-packed hybrid encoding of definition levels
// and dictionary indices, run by run, across calls.
type rleDec struct {
	b     []byte // runs not yet started
	bw    uint   // bit width
	mask  uint64
	rep   int    // values left in the current repeated run
	val   uint32 // its value
	lit   int    // values left in the current bit-packed run
	lb    []byte // the bit-packed run
	bit   uint   // bit offset of its next value
	short bool   // no data at all: any read fails
}

func (d *rleDec) reset(b []byte, bw uint) {
	*d = rleDec{b: b, bw: bw, mask: 1<<bw - 1}
}

// maxRun bounds a run's length: no page holds more values.
const maxRun = 1 << 31

// next starts the next run.
func (d *rleDec) next() error {
	if d.short {
		return errShortPage
	}
	h, n := binary.Uvarint(d.b)
	if n <= 0 {
		return errBadRun
	}
	d.b = d.b[n:]
	cnt := h >> 1
	if cnt == 0 || cnt > maxRun {
		return errBadRun
	}
	if h&1 == 0 {
		nb := int(d.bw+7) / 8
		if len(d.b) < nb {
			return errShortPage
		}
		var v uint32
		for i := 0; i < nb; i++ {
			v |= uint32(d.b[i]) << (8 * i)
		}
		d.b = d.b[nb:]
		if uint64(v) > d.mask {
			return errBadRun
		}
		d.rep, d.val = int(cnt), v
		return nil
	}
	// cnt groups of 8 values, cnt*bw bytes; a last run cut short keeps the
	// values its bytes hold.
	nb := cnt * uint64(d.bw)
	d.lit = int(cnt * 8)
	if nb > uint64(len(d.b)) {
		nb = uint64(len(d.b))
		if d.bw > 0 {
			d.lit = int(nb * 8 / uint64(d.bw))
		}
		if d.lit == 0 {
			return errShortPage
		}
	}
	d.lb, d.b, d.bit = d.b[:nb], d.b[nb:], 0
	return nil
}

// litVals decodes k (≤ d.lit) bit-packed values into out, adding add to
// each and checking them against lim.
func (d *rleDec) litVals(out []int32, add int32, lim uint32) error {
	lb, bit, bw, mask := d.lb, d.bit, d.bw, d.mask
	var hi uint32
	j := 0
	if len(lb) >= 8 {
		// Values whose 8-byte load stays inside the run: no tail handling.
		fast := 0
		if room := (len(lb)-8)*8 - int(bit); room >= 0 {
			fast = len(out)
			if bw > 0 {
				fast = min(fast, room/int(bw)+1)
			}
		}
		// Four values at a time, from independent loads: every load
		// of this region lies inside lb (bounds checked once above).
		p := unsafe.Pointer(unsafe.SliceData(lb))
		for ; j+4 <= fast; j += 4 {
			b0, b1, b2, b3 := bit, bit+bw, bit+2*bw, bit+3*bw
			v0 := uint32((load64(p, b0>>3) >> (b0 & 7)) & mask)
			v1 := uint32((load64(p, b1>>3) >> (b1 & 7)) & mask)
			v2 := uint32((load64(p, b2>>3) >> (b2 & 7)) & mask)
			v3 := uint32((load64(p, b3>>3) >> (b3 & 7)) & mask)
			hi = max(hi, v0, v1, v2, v3)
			o := out[j : j+4 : j+4]
			o[0], o[1], o[2], o[3] = int32(v0)+add, int32(v1)+add, int32(v2)+add, int32(v3)+add
			bit += 4 * bw
		}
		for ; j < fast; j++ {
			w := binary.LittleEndian.Uint64(lb[bit>>3:])
			v := uint32((w >> (bit & 7)) & mask)
			hi = max(hi, v)
			out[j] = int32(v) + add
			bit += bw
		}
	}
	for ; j < len(out); j++ {
		p := int(bit >> 3)
		var w uint64
		for q := 0; p+q < len(lb) && q < 8; q++ {
			w |= uint64(lb[p+q]) << (8 * q)
		}
		v := uint32((w >> (bit & 7)) & mask)
		hi = max(hi, v)
		out[j] = int32(v) + add
		bit += bw
	}
	d.bit = bit
	d.lit -= len(out)
	if len(out) > 0 && hi >= lim {
		return errDictIndex
	}
	return nil
}

// load64 is the little-endian 8 bytes at p+off (the caller checked the
// bounds).
func load64(p unsafe.Pointer, off uint) uint64 {
	return binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(p, off))[:])
}

// indices decodes len(out) dictionary indices, checking each is below
// ndict, and stores each plus add.
func (d *rleDec) indices(out []int32, add int32, ndict uint32) error {
	for i := 0; i < len(out); {
		if d.rep == 0 && d.lit == 0 {
			if err := d.next(); err != nil {
				return err
			}
		}
		if d.rep > 0 {
			k := min(d.rep, len(out)-i)
			if d.val >= ndict {
				return errDictIndex
			}
			v := int32(d.val) + add
			for j := i; j < i+k; j++ {
				out[j] = v
			}
			d.rep -= k
			i += k
			continue
		}
		k := min(d.lit, len(out)-i)
		if err := d.litVals(out[i:i+k], add, ndict); err != nil {
			return err
		}
		i += k
	}
	return nil
}

// levels decodes len(out) definition levels.
func (d *rleDec) levels(out []uint8) error {
	var buf [64]int32
	for i := 0; i < len(out); {
		if d.rep == 0 && d.lit == 0 {
			if err := d.next(); err != nil {
				return err
			}
		}
		if d.rep > 0 {
			k := min(d.rep, len(out)-i)
			v := uint8(d.val)
			for j := i; j < i+k; j++ {
				out[j] = v
			}
			d.rep -= k
			i += k
			continue
		}
		k := min(d.lit, len(out)-i, len(buf))
		d.litVals(buf[:k], 0, 1<<16) // levels fit 16 bits: never out of range
		for j := 0; j < k; j++ {
			out[i+j] = uint8(buf[j])
		}
		i += k
	}
	return nil
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

	// Rows whose every cell is clean (no defect, not NODATA/SKIPDATA, both
	// addresses present) take fastRow. core is by for the core fields, a
	// column of absent cells standing in for a missing one.
	core    [numCore]*pqCol
	noAddr  bool   // srcaddr or dstaddr missing: no row is clean
	anySlow bool   // some row of the batch is not clean: see slow
	slow    []bool // per row of the batch, when anySlow
	quiet   LineParser

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
		c.in, c.quiet, c.attr = r.p.In, &r.quiet, d.attr
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
	r.quiet.Tally = &flowlog.Tally{} // its reports are discarded
	none := &pqCol{idx: make([]int32, ParquetBatchRows), dSt: []cellState{cAbsent}, dIv: []int64{0},
		dSv: []string{""}, dAv: []netip.Addr{{}}, dCode: []uint8{0}, dSlow: []bool{false}}
	for id := range r.core {
		if r.core[id] = r.by[id]; r.core[id] == nil {
			r.core[id] = none
		}
	}
	r.noAddr = r.by[fSrcAddr] == nil || r.by[fDstAddr] == nil
	r.slow = make([]bool, ParquetBatchRows)
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
	c.defBits = uint(bits.Len16(uint16(c.maxDef)))
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
		if !r.anySlow || !r.slow[i] {
			r.fastRow(i, rec)
			r.t.Records++
			return true
		}
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
			if err := c.startChunk(rg); err != nil {
				r.t.Note(flowlog.NoticeUnreadable, fmt.Sprintf("Parquet row group %d, column %q: %v", r.rg, c.name, err))
				return false
			}
		}
	}
	n := min(r.rgLeft, ParquetBatchRows)
	for _, c := range r.cols {
		if err := c.read(int(n)); err != nil {
			r.t.Note(flowlog.NoticeUnreadable, fmt.Sprintf("Parquet data unreadable after row %d: row group %d, column %q: %v", r.row, r.rg, c.name, err))
			return false
		}
	}
	r.rgLeft -= n
	r.n, r.i = int(n), 0
	r.anySlow = r.noAddr || pqAllSlow
	for _, c := range r.cols {
		r.anySlow = r.anySlow || c.slowIn
	}
	if r.anySlow {
		slow := r.slow[:n]
		if r.noAddr || pqAllSlow {
			for k := range slow {
				slow[k] = true
			}
		} else {
			clear(slow)
		}
		for _, c := range r.cols {
			if !c.slowIn {
				continue
			}
			for k, j := range c.idx[:n] {
				if c.dSlow[j] {
					slow[k] = true
				}
			}
		}
	}
	return true
}

// intCell validates an integer cell like a text token (FORMATS.md 2.6,
// 3.4): absent is 0; a string column is parsed by 2.6; a typed value must
// be non-negative and within the field's limit.
func (r *ParquetReader) intCell(pos int64, c *pqCol, i int) (int64, bool) {
	if c == nil {
		return 0, true
	}
	j := c.idx[i]
	switch c.dSt[j] {
	case cAbsent:
		return 0, true
	case cOK:
		return c.dIv[j], true
	case cNeg:
		r.t.Badf(pos, flowlog.KindBadNumber, "%s %d is negative", c.name, c.dIv[j])
	case cOver:
		if c.over == flowlog.KindBadNumber {
			r.t.Badf(pos, c.over, "%s %d is out of range", c.name, uint64(c.dIv[j]))
		} else {
			r.t.Badf(pos, c.over, "%s %d is larger than %d", c.name, uint64(c.dIv[j]), c.max)
		}
	default: // a string that is not a 2.6 integer: reported as the text reader does
		r.p.numField(pos, c.name, c.dRaw[j], c.max, c.over)
	}
	return 0, false
}

func (r *ParquetReader) addrCell(pos int64, id fieldID, i int) (netip.Addr, bool) {
	c := r.by[id]
	name := fieldDefs[id].column
	if c == nil {
		r.t.Badf(pos, flowlog.KindBadIP, "the file has no %s column: a record needs both addresses", name)
		return netip.Addr{}, false
	}
	j := c.idx[i]
	switch c.dSt[j] {
	case cOK:
		return c.dAv[j], true
	case cAbsent:
		r.t.Badf(pos, flowlog.KindBadIP, "%s is null or \"-\" on a row that is not NODATA/SKIPDATA", name)
	default:
		r.t.Badf(pos, flowlog.KindBadIP, "%s %q is not an IP address", name, c.dRaw[j])
	}
	return netip.Addr{}, false
}

func strCell(c *pqCol, i int) string {
	if c == nil {
		return ""
	}
	return c.dSv[c.idx[i]] // "" when absent
}

// pqAllSlow sends every row through parseRow (tests compare it with
// fastRow).
var pqAllSlow = false

// fastRow fills rec from row i of the batch, a clean row (see slow): no
// cell needs a check, every value was validated with its table entry.
// Records equal parseRow's: TestParquetMatchesText and
// TestParquetPageLayouts compare with the text reader and across layouts.
func (r *ParquetReader) fastRow(i int, rec *flowlog.Record) {
	core := &r.core
	// Every field is stored straight into rec: a composite literal would
	// be built on the stack from a zero template and then copied with
	// write barriers. TestParquetFastRowOverwritesAll fails when Record
	// gains a field this does not set.
	rec.Src = core[fSrcAddr].dAv[core[fSrcAddr].idx[i]]
	rec.Dst = core[fDstAddr].dAv[core[fDstAddr].idx[i]]
	rec.SrcPort = uint16(core[fSrcPort].dIv[core[fSrcPort].idx[i]])
	rec.DstPort = uint16(core[fDstPort].dIv[core[fDstPort].idx[i]])
	rec.Proto = uint8(core[fProtocol].dIv[core[fProtocol].idx[i]])
	rec.Packets = core[fPackets].dIv[core[fPackets].idx[i]]
	rec.Bytes = core[fBytes].dIv[core[fBytes].idx[i]]
	rec.Start = core[fStart].dIv[core[fStart].idx[i]]
	rec.End = core[fEnd].dIv[core[fEnd].idx[i]]
	rec.TCPFlags = int32(core[fTCPFlags].dIv[core[fTCPFlags].idx[i]])
	rec.Action = flowlog.Action(core[fAction].dCode[core[fAction].idx[i]])
	rec.Direction = flowlog.Direction(core[fFlowDirection].dCode[core[fFlowDirection].idx[i]])
	rec.Account = core[fAccountID].dSv[core[fAccountID].idx[i]]
	rec.Iface = core[fInterfaceID].dSv[core[fInterfaceID].idx[i]]
	rec.VPC = core[fVPCID].dSv[core[fVPCID].idx[i]]
	rec.Subnet = core[fSubnetID].dSv[core[fSubnetID].idx[i]]
	rec.Source = flowlog.SourceAWSParquet
	rec.Attrs = rec.Attrs[:0]
	for _, c := range r.attrs {
		j := c.idx[i]
		if c.dSt[j] == cAbsent {
			continue
		}
		if c.role == roleInt {
			rec.Attrs = append(rec.Attrs, flowlog.Attr{Key: c.attr, Int: c.dIv[j]})
		} else {
			rec.Attrs = append(rec.Attrs, flowlog.Attr{Key: c.attr, Str: c.dSv[j]})
		}
	}
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
		j := c.idx[i]
		switch c.dSt[j] {
		case cAbsent:
			continue
		case cBad: // only pkt-* get here: not validated (FORMATS.md 3.4), key left out, counted
			r.t.BadPktIP++
			continue
		}
		if c.role == roleInt {
			rec.Attrs = append(rec.Attrs, flowlog.Attr{Key: c.attr, Int: c.val})
		} else {
			rec.Attrs = append(rec.Attrs, flowlog.Attr{Key: c.attr, Str: c.dSv[j]})
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
