package parquet

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
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
	encDelta         = 5 // DELTA_BINARY_PACKED
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

// packBits packs vs at width bits each, padded with zero values to
// total, a 64-bit word at a time.
func packBits(b []byte, vs []uint32, width, total int) []byte {
	var acc uint64
	var nb uint
	w := uint(width)
	for _, v := range vs {
		acc |= uint64(v) << nb
		if nb+w >= 64 {
			b = binary.LittleEndian.AppendUint64(b, acc)
			acc = uint64(v) >> (64 - nb)
			nb = nb + w - 64
		} else {
			nb += w
		}
	}
	nb += uint(total-len(vs)) * w // zero padding
	for ; nb >= 64; nb -= 64 {
		b = binary.LittleEndian.AppendUint64(b, acc)
		acc = 0
	}
	for ; nb > 0; nb -= min(nb, 8) {
		b = append(b, byte(acc))
		acc >>= 8
	}
	return b
}

func appendInt64s(b []byte, vs []int64) []byte {
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, uint64(v))
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
	m      map[string]uint32
	vals   []string
	size   int // bytes of the PLAIN-encoded dictionary page
	empty  uint32
	cache  *[strCacheSize]dictEntry // allocated on first use
	addrs  map[netip.Addr]uint32    // address columns
	acache *[addrCacheSize]addrEntry
	v4     []uint64 // IPv4 addresses: key<<32 | index+1, open addressing
	n4     int
	texts  map[netip.Addr]string // address texts, kept across chunks
	enum   [256]uint32           // index+1 by enum code (action, direction, source, verdict)
}

// Direct-mapped lookup caches in front of a dictionary's map: big enough
// for the interfaces, accounts and instance ids of a large account, and
// for the addresses that most flows of a chunk share.
const (
	strCacheBits  = 10
	strCacheSize  = 1 << strCacheBits
	addrCacheBits = 9
	addrCacheSize = 1 << addrCacheBits
)

type addrEntry struct {
	a  netip.Addr
	i  uint32
	ok bool
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
	if d.cache != nil {
		clear(d.cache[:])
	}
	if d.addrs != nil {
		clear(d.addrs)
		clear(d.acache[:])
	}
	clear(d.v4)
	d.n4 = 0
	d.enum = [256]uint32{}
}

func (d *dict) index(s string) uint32 {
	if len(s) == 0 {
		if d.empty == 0 {
			d.empty = d.add(s) + 1
		}
		return d.empty - 1
	}
	if d.cache == nil {
		d.cache = new([strCacheSize]dictEntry)
	}
	p := unsafe.StringData(s)
	// Two-way set associative: slots h and h^1, the newer entry first.
	h := (uint64(uintptr(unsafe.Pointer(p))) + uint64(len(s))) * 0x9e3779b97f4a7c15 >> (64 - strCacheBits)
	e0, e1 := &d.cache[h], &d.cache[h^1]
	if e0.p == p && e0.n == len(s) {
		return e0.i
	}
	if e1.p == p && e1.n == len(s) {
		return e1.i
	}
	i, ok := d.m[s]
	if !ok {
		i = d.add(s)
	}
	*e1 = *e0
	*e0 = dictEntry{p, len(s), i}
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

// indexAddr is index for an address column: keyed by the address, so
// its text is made once per distinct address and chunk.
func (d *dict) indexAddr(a netip.Addr) uint32 {
	if a.Is4() {
		return d.indexAddr4(a)
	}
	if d.acache == nil {
		d.acache = new([addrCacheSize]addrEntry)
	}
	b := a.As16()
	h := (binary.LittleEndian.Uint64(b[8:]) ^ binary.LittleEndian.Uint64(b[:8])) * 0x9e3779b97f4a7c15 >> (64 - addrCacheBits)
	e := &d.acache[h]
	if e.ok && e.a == a {
		return e.i
	}
	if d.addrs == nil {
		d.addrs = make(map[netip.Addr]uint32)
	}
	i, ok := d.addrs[a]
	if !ok {
		i = d.addAddr(a)
		d.addrs[a] = i
	}
	*e = addrEntry{a, i, true}
	return i
}

// indexAddr4 is indexAddr for IPv4 addresses: an open-addressing table
// of uint32 keys (key<<32 | index+1), dense enough to stay in cache.
func (d *dict) indexAddr4(a netip.Addr) uint32 {
	b := a.As4()
	k := binary.BigEndian.Uint32(b[:])
	if d.n4*2 >= len(d.v4) {
		d.grow4()
	}
	mask := uint64(len(d.v4) - 1)
	for h := uint64(k) * 0x9e3779b97f4a7c15 >> 32 & mask; ; h = (h + 1) & mask {
		e := d.v4[h]
		if e == 0 {
			i := d.addAddr(a)
			d.v4[h] = uint64(k)<<32 | uint64(i+1)
			d.n4++
			return i
		}
		if uint32(e>>32) == k {
			return uint32(e) - 1
		}
	}
}

func (d *dict) grow4() {
	old := d.v4
	d.v4 = make([]uint64, max(1<<12, 2*len(old)))
	mask := uint64(len(d.v4) - 1)
	for _, e := range old {
		if e == 0 {
			continue
		}
		h := e >> 32 * 0x9e3779b97f4a7c15 >> 32 & mask
		for d.v4[h] != 0 {
			h = (h + 1) & mask
		}
		d.v4[h] = e
	}
}

// addAddr adds an address's text to the dictionary; the texts outlive
// the chunk (a writer's chunks mostly share their addresses).
func (d *dict) addAddr(a netip.Addr) uint32 {
	i := uint32(len(d.vals))
	s, ok := d.texts[a]
	if !ok {
		if d.texts == nil || len(d.texts) >= maxDictEntries {
			d.texts = make(map[netip.Addr]string)
		}
		s = string(a.AppendTo(nil)) // "" for the zero Addr, as AppendTo writes it
		d.texts[a] = s
	}
	d.vals = append(d.vals, s)
	d.size += 4 + len(s)
	return i
}

func (d *dict) add(s string) uint32 {
	i := uint32(len(d.vals))
	d.vals = append(d.vals, s)
	d.m[s] = i
	d.size += 4 + len(s)
	return i
}

// appendDeltaInt64 appends vs in DELTA_BINARY_PACKED encoding: blocks of
// 128 values in 4 miniblocks of 32, each miniblock's deltas (minus the
// block's least delta) bit-packed at its own width. Deltas wrap as the
// column's type does (bits32 for INT32 columns). Timestamps, ports and
// counters shrink to a few bits a value, so zstd has little left to do.
func appendDeltaInt64(b []byte, vs []int64, bits32 bool) []byte {
	const block, mini, perMini = 128, 4, 32
	b = binary.AppendUvarint(b, block)
	b = binary.AppendUvarint(b, mini)
	b = binary.AppendUvarint(b, uint64(len(vs)))
	if len(vs) == 0 {
		return binary.AppendVarint(b, 0)
	}
	b = binary.AppendVarint(b, vs[0])
	var deltas [block]uint64
	for at := 1; at < len(vs); at += block {
		n := min(block, len(vs)-at)
		minD := int64(1<<63 - 1)
		for i := 0; i < n; i++ {
			d := vs[at+i] - vs[at+i-1]
			if bits32 {
				d = int64(int32(d))
			}
			deltas[i] = uint64(d)
			minD = min(minD, d)
		}
		b = binary.AppendVarint(b, minD)
		var widths [mini]int
		for m := 0; m*perMini < n; m++ {
			var or uint64
			for i := m * perMini; i < min(n, (m+1)*perMini); i++ {
				deltas[i] -= uint64(minD)
				if bits32 {
					deltas[i] &= 1<<32 - 1
				}
				or |= deltas[i]
			}
			widths[m] = bits.Len64(or)
		}
		for m := range widths {
			b = append(b, byte(widths[m]))
		}
		for m := 0; m*perMini < n; m++ {
			end := min(n, (m+1)*perMini)
			for i := end; i < (m+1)*perMini; i++ {
				deltas[i] = 0 // the last miniblock is padded
			}
			b = packBits64(b, deltas[m*perMini:(m+1)*perMini], widths[m])
		}
	}
	return b
}

// packBits64 packs vs (each below 1<<width) at width bits each, LSB
// first, a 64-bit word at a time.
func packBits64(b []byte, vs []uint64, width int) []byte {
	if width == 0 {
		return b
	}
	var acc uint64
	var nb uint
	w := uint(width)
	for _, v := range vs {
		acc |= v << nb
		if nb+w >= 64 {
			b = binary.LittleEndian.AppendUint64(b, acc)
			acc = v >> (64 - nb) // 0 when nb is 0
			nb = nb + w - 64
		} else {
			nb += w
		}
	}
	for ; nb > 0; nb -= min(nb, 8) {
		b = append(b, byte(acc))
		acc >>= 8
	}
	return b
}
