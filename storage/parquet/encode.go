package parquet

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// Parquet enum values (parquet-format's parquet.thrift).
const (
	typeBoolean   = 0
	typeInt32     = 1
	typeInt64     = 2
	typeByteArray = 6

	repRequired = 0
	repOptional = 1
	repRepeated = 2

	convUTF8 = 0
	convList = 3

	encPlain         = 0
	encRLE           = 3
	encRLEDictionary = 8

	codecZstd = 6

	pageData       = 0
	pageDictionary = 2
)

// appendRLERun appends one RLE run of the hybrid encoding: count copies of
// v, bit width at most 8 (one value byte).
func appendRLERun(b []byte, count int, v byte) []byte {
	b = binary.AppendUvarint(b, uint64(count)<<1)
	return append(b, v)
}

// appendDefLevels appends the RLE-encoded definition levels (bit width 1)
// of a page of n rows of which rows (ascending) have a value: one run per
// stretch of nulls or values, so the cost follows the values, not the rows.
func appendDefLevels(b []byte, rows []int32, n int) []byte {
	pos := 0
	for i := 0; i < len(rows); {
		r := int(rows[i])
		if r > pos {
			b = appendRLERun(b, r-pos, 0)
		}
		j := i + 1
		for j < len(rows) && rows[j] == rows[j-1]+1 {
			j++
		}
		b = appendRLERun(b, j-i, 1)
		pos = int(rows[j-1]) + 1
		i = j
	}
	if n > pos {
		b = appendRLERun(b, n-pos, 0)
	}
	return b
}

// run is a stretch of equal levels.
type run struct {
	n int32
	v byte
}

func addRun(rs []run, v byte) []run {
	if k := len(rs) - 1; k >= 0 && rs[k].v == v {
		rs[k].n++
		return rs
	}
	return append(rs, run{1, v})
}

func appendRuns(b []byte, rs []run) []byte {
	for _, r := range rs {
		b = appendRLERun(b, int(r.n), r.v)
	}
	return b
}

// withLength frames levels as data page v1 wants them: a 4-byte
// little-endian length, then the levels. start is where the frame began
// (4 bytes reserved there).
func withLength(b []byte, start int) []byte {
	binary.LittleEndian.PutUint32(b[start:], uint32(len(b)-start-4))
	return b
}

// bitWidth is the number of bits needed for v, at least 1.
func bitWidth(v uint32) int {
	if v == 0 {
		return 1
	}
	return bits.Len32(v)
}

// appendBitPacked appends vs as bit-packed runs of the hybrid encoding
// (at most 63 groups of 8 values per run header, the last group padded
// with zeros), LSB first.
func appendBitPacked(b []byte, vs []uint32, width int) []byte {
	const maxGroups = 63
	for len(vs) > 0 {
		n := min(len(vs), maxGroups*8)
		groups := (n + 7) / 8
		b = binary.AppendUvarint(b, uint64(groups)<<1|1)
		b = packBits(b, vs[:n], width, groups*8)
		vs = vs[n:]
	}
	return b
}

// packBits packs vs at width bits each, padded with zero values to total.
func packBits(b []byte, vs []uint32, width, total int) []byte {
	var acc uint64
	var nb uint
	w := uint(width)
	for _, v := range vs {
		acc |= uint64(v) << nb
		nb += w
		for nb >= 8 {
			b = append(b, byte(acc))
			acc >>= 8
			nb -= 8
		}
	}
	for i := len(vs); i < total; i++ {
		nb += w
		for nb >= 8 {
			b = append(b, byte(acc))
			acc >>= 8
			nb -= 8
		}
	}
	if nb > 0 {
		b = append(b, byte(acc))
	}
	return b
}

func appendInt64s(b []byte, vs []int64) []byte {
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, uint64(v))
	}
	return b
}

func appendInt32s(b []byte, vs []int32) []byte {
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return b
}

func appendByteArray(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// dict is the dictionary of one column chunk. Record strings are immutable
// Go strings, most of them interned by the readers, so a string whose data
// pointer and length match a cached entry is that entry: a direct-mapped
// cache on the pointer answers most lookups without hashing the bytes.
type dict struct {
	m     map[string]uint32
	vals  []string
	size  int // bytes of the PLAIN-encoded dictionary page
	empty uint32
	cache [256]dictEntry
	enum  [256]uint32 // index+1 by enum code (action, direction, source, verdict)
}

type dictEntry struct {
	p *byte
	n int
	i uint32
}

func newDict() *dict { return &dict{m: make(map[string]uint32)} }

func (d *dict) reset() {
	clear(d.m)
	clear(d.vals) // drop the references
	d.vals, d.size, d.empty = d.vals[:0], 0, 0
	d.cache = [256]dictEntry{}
	d.enum = [256]uint32{}
}

func (d *dict) index(s string) uint32 {
	if len(s) == 0 {
		if d.empty == 0 {
			d.empty = d.add(s) + 1
		}
		return d.empty - 1
	}
	p := unsafe.StringData(s)
	e := &d.cache[(uintptr(unsafe.Pointer(p))>>3^uintptr(len(s)))&255]
	if e.p == p && e.n == len(s) {
		return e.i
	}
	i, ok := d.m[s]
	if !ok {
		i = d.add(s)
	}
	*e = dictEntry{p, len(s), i}
	return i
}

// indexEnum is index for a string that is a function of a small code.
func (d *dict) indexEnum(code uint8, s string) uint32 {
	if i := d.enum[code]; i != 0 {
		return i - 1
	}
	i := d.index(s)
	d.enum[code] = i + 1
	return i
}

func (d *dict) add(s string) uint32 {
	i := uint32(len(d.vals))
	d.vals = append(d.vals, s)
	d.m[s] = i
	d.size += 4 + len(s)
	return i
}
