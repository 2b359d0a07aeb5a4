package whatif

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"slices"
	"strings"
	"unsafe"

	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/analyze/verdict"
	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/prefetch"
)

// BucketWidth is the time resolution of rows (and of the report's
// timeline), in seconds.
const BucketWidth = 3600

// Row is one deduplicated flow: the records of one interface, direction,
// five-tuple, reply side and ICMP type/code that started in one hour.
type Row struct {
	Iface            string
	Direction        flowlog.Direction
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto            uint8
	Reply            verdict.Reply
	// ICMPType/ICMPCode: -1 when the records carry none (flow logs).
	ICMPType, ICMPCode int16
	Bucket             int64 // start of the hour, unix seconds
	Flows, Packets     int64
	Bytes              int64
	First, Last        int64 // earliest start, latest end
}

// flag classes of a record (POLICY.md 3 step 1).
const (
	clsUndecided uint8 = iota
	clsOpener
	clsReply
)

func flagClass(r *flowlog.Record) uint8 {
	if r.Proto != 6 || r.TCPFlags == 0 {
		return clsUndecided
	}
	if r.TCPFlags&18 == 18 {
		return clsReply
	}
	if r.TCPFlags&2 != 0 && r.TCPFlags&16 == 0 {
		return clsOpener
	}
	return clsUndecided
}

// Addresses are kept pointer-free (the table holds no pointer, so the
// garbage collector never scans it): the 16-byte form, and the family in
// aggKey.fams (0 invalid, 4, 6).
func a16(a netip.Addr) ([16]byte, uint8) {
	switch {
	case a.Is4():
		return a.As16(), 4
	case a.Is6():
		return a.As16(), 6
	}
	return [16]byte{}, 0
}

func addrOf(b [16]byte, fam uint8) netip.Addr {
	switch fam {
	case 4:
		return netip.AddrFrom16(b).Unmap()
	case 6:
		return netip.AddrFrom16(b)
	}
	return netip.Addr{}
}

// aggKey is seven words without padding: compared and hashed as words.
type aggKey struct {
	src, dst     [16]byte
	sport, dport uint16
	proto        uint8
	dir          flowlog.Direction
	cls          uint8
	fams         uint8 // source family | destination family << 4
	iface        uint32
	icmp         int32 // type<<8|code+… ; -1 none
	bucket       int64
}

const keyWords = 7

var _ [unsafe.Sizeof(aggKey{}) - keyWords*8]struct{} // exactly seven words
var _ [keyWords*8 - unsafe.Sizeof(aggKey{})]struct{}

func (k *aggKey) words() *[keyWords]uint64 { return (*[keyWords]uint64)(unsafe.Pointer(k)) }

func (k *aggKey) eq(o *aggKey) bool {
	a, b := k.words(), o.words()
	return (a[0]^b[0])|(a[1]^b[1])|(a[2]^b[2])|(a[3]^b[3])|(a[4]^b[4])|(a[5]^b[5])|(a[6]^b[6]) == 0
}

func (k *aggKey) srcAddr() netip.Addr { return addrOf(k.src, k.fams&15) }
func (k *aggKey) dstAddr() netip.Addr { return addrOf(k.dst, k.fams>>4) }

// entryStore holds the rows in fixed chunks, so that growing never copies
// them (a million distinct rows copied at each doubling of one slice cost
// more than folding them in) and an entry's address never changes.
type entryStore struct {
	chunks [][]aggEntry
	n      int
}

const entryChunkShift = 14 // 16 Ki entries, 1.5 MiB a chunk

func (s *entryStore) at(i int) *aggEntry {
	return &s.chunks[i>>entryChunkShift][i&(1<<entryChunkShift-1)]
}

// add appends a zero entry and returns it.
func (s *entryStore) add() *aggEntry {
	if s.n>>entryChunkShift == len(s.chunks) {
		s.chunks = append(s.chunks, make([]aggEntry, 1<<entryChunkShift))
	}
	s.n++
	return s.at(s.n - 1)
}

type aggEntry struct {
	key                   aggKey
	flows, packets, bytes int64
	first, last           int64
}

// Aggregator folds streamed records into rows with a zero-allocation
// open-addressing hash table (allocations happen only when the table grows
// or a new interface name is seen). Reply sides are decided per row at the
// end: TCP flags (rows are split by flag class), else the reverse row of
// the same interface (or either without one) whose time span overlaps
// within verdict.ReverseWindow, else the service-port heuristic.
//
// This is POLICY.md 3 applied to deduplicated rows rather than records: a
// record without deciding flags whose reverse record lies in another hour
// than the reverse rows' spans would suggest is classified as analyze would
// only when the spans overlap; --per-flow judges every record exactly.
type Aggregator struct {
	entries entryStore
	slots   []uint64 // hash tag << 32 | index+1 into entries; 0 = empty
	mask    uint64
	ifaces  []string
	ifaceID map[string]uint32
	// ifCache: interface ids by a hash of the name's tail (names of one
	// provider share their head), checked by comparing the name.
	ifCache [4096]ifSlot
	Records int64

	// q holds the last few records' keys on their way into the table:
	// each key's slot is prefetched when it is queued and its entry half
	// the queue later, so that on a table larger than the CPU caches the
	// misses of several records overlap instead of stalling one after
	// another (the rows are the same: records are folded in order).
	q         [aggAhead]pendingAdd
	qHead, qN int
}

// aggAhead is the queue's length (a power of two).
const aggAhead = 8

type pendingAdd struct {
	k                     aggKey
	h                     uint64
	flows, packets, bytes int64
	start, end            int64
}

// NewAggregator returns an empty aggregator.
func NewAggregator() *Aggregator {
	a := &Aggregator{ifaceID: map[string]uint32{"": 0}, ifaces: []string{""}}
	a.slots = make([]uint64, 1<<12)
	a.mask = uint64(len(a.slots) - 1)
	return a
}

// Len is the number of distinct rows so far.
func (a *Aggregator) Len() int {
	a.drain()
	return a.entries.n
}

func mix(h, v uint64) uint64 {
	h ^= v
	h *= 0x9E3779B97F4A7C15
	return h ^ h>>29
}

// fold is one multiply-fold round (the 128-bit product's halves xored).
func fold(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a^0xA0761D6478BD642F, b^0xE7037ED1A0B428DB)
	return hi ^ lo
}

func (k *aggKey) hash() uint64 {
	w := k.words()
	h := fold(w[0], w[1]) ^ fold(w[2], w[3]) ^ fold(w[4], w[5]^0x8EBC6AF09C88C6E3) ^ w[6]*0x9E3779B97F4A7C15
	return fold(h, 0x589965CC75374CC3)
}

// Add folds one record in. It does not keep rec.
func (a *Aggregator) Add(rec *flowlog.Record) {
	a.Records++
	var k aggKey
	var fs, fd uint8
	k.src, fs = a16(rec.Src.Unmap())
	k.dst, fd = a16(rec.Dst.Unmap())
	k.fams = fs | fd<<4
	k.sport, k.dport, k.proto, k.dir = rec.SrcPort, rec.DstPort, rec.Proto, rec.Direction
	k.cls = flagClass(rec)
	k.icmp = -1
	if rec.Proto == 1 || rec.Proto == 58 {
		k.icmp = icmpOf(rec)
	}
	k.iface = a.ifaceOf(rec.Iface)
	k.bucket = floorDiv(rec.Start, BucketWidth) * BucketWidth
	a.push(&k, 1, rec.Packets, rec.Bytes, rec.Start, rec.End)
}

// push queues a key's counts on their way into the table.
func (a *Aggregator) push(k *aggKey, flows, packets, bytes, start, end int64) {
	h := k.hash()
	i := (a.qHead + a.qN) & (aggAhead - 1)
	a.q[i] = pendingAdd{k: *k, h: h, flows: flows, packets: packets, bytes: bytes, start: start, end: end}
	prefetch.Line(unsafe.Pointer(&a.slots[h&a.mask]))
	a.qN++
	if a.qN > aggAhead/2 {
		a.prefetchEntry(a.q[(i-aggAhead/2)&(aggAhead-1)].h)
	}
	if a.qN == aggAhead {
		a.fold(&a.q[a.qHead])
		a.qHead = (a.qHead + 1) & (aggAhead - 1)
		a.qN--
	}
}

// prefetchEntry starts loading the entry whose slot h finds first (the
// slot itself was prefetched earlier).
func (a *Aggregator) prefetchEntry(h uint64) {
	s := a.slots[h&a.mask]
	if s != 0 && s>>32 == h>>32 && int(uint32(s)) <= a.entries.n {
		prefetch.Span(unsafe.Pointer(a.entries.at(int(uint32(s))-1)), unsafe.Sizeof(aggEntry{}))
	}
}

// drain folds the queued records in.
func (a *Aggregator) drain() {
	for ; a.qN > 0; a.qN-- {
		a.fold(&a.q[a.qHead])
		a.qHead = (a.qHead + 1) & (aggAhead - 1)
	}
}

// fold adds one queued record to its row.
func (a *Aggregator) fold(p *pendingAdd) {
	k, h := &p.k, p.h
	tag := h >> 32
	for i := h & a.mask; ; i = (i + 1) & a.mask {
		s := a.slots[i]
		if s == 0 {
			*a.entries.add() = aggEntry{key: *k, flows: p.flows, packets: p.packets, bytes: p.bytes, first: p.start, last: p.end}
			a.slots[i] = tag<<32 | uint64(a.entries.n)
			if uint64(a.entries.n)*2 > uint64(len(a.slots)) {
				a.grow()
			}
			return
		}
		if s>>32 != tag {
			continue
		}
		e := a.entries.at(int(uint32(s)) - 1)
		if e.key.eq(k) {
			e.flows += p.flows
			e.packets += p.packets
			e.bytes += p.bytes
			if p.start < e.first {
				e.first = p.start
			}
			if p.end > e.last {
				e.last = p.end
			}
			return
		}
	}
}

// Merge folds the rows of b into a, in b's order: merging the aggregators
// of consecutive stretches of the input, in input order, gives the rows
// (and their order, which reply detection consults) of one aggregator fed
// the whole input. b is left drained but otherwise unchanged.
func (a *Aggregator) Merge(b *Aggregator) {
	a.drain()
	b.drain()
	a.Records += b.Records
	ids := make([]uint32, len(b.ifaces))
	for i, name := range b.ifaces {
		ids[i] = a.ifaceOf(name)
	}
	for i := range b.entries.n {
		e := b.entries.at(i)
		k := e.key
		k.iface = ids[k.iface]
		a.push(&k, e.flows, e.packets, e.bytes, e.first, e.last)
	}
	a.drain()
}

// MergeAll merges the aggregators of consecutive stretches of the input,
// given in input order, into the first (a new one when there is none).
func MergeAll(parts []*Aggregator) *Aggregator {
	if len(parts) == 0 {
		return NewAggregator()
	}
	for _, p := range parts[1:] {
		parts[0].Merge(p)
	}
	return parts[0]
}

type ifSlot struct {
	name string
	id   uint32
}

func (a *Aggregator) ifaceOf(name string) uint32 {
	var t uint64
	if n := len(name); n >= 8 {
		t = binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(name[n-8:]), 8))
	} else {
		for i := 0; i < n; i++ {
			t = t<<8 | uint64(name[i])
		}
	}
	sl := &a.ifCache[((t^uint64(len(name)))*0x9E3779B97F4A7C15)>>52]
	if sl.name == name {
		return sl.id
	}
	id, ok := a.ifaceID[name]
	if !ok {
		s := strings.Clone(name)
		id = uint32(len(a.ifaces))
		a.ifaces = append(a.ifaces, s)
		a.ifaceID[s] = id
	}
	*sl = ifSlot{a.ifaces[id], id}
	return id
}

func (a *Aggregator) grow() {
	n := len(a.slots) * 2
	a.slots = make([]uint64, n)
	a.mask = uint64(n - 1)
	for j := range a.entries.n {
		h := a.entries.at(j).key.hash()
		for i := h & a.mask; ; i = (i + 1) & a.mask {
			if a.slots[i] == 0 {
				a.slots[i] = h>>32<<32 | uint64(j+1)
				break
			}
		}
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// icmpOf packs the record's ICMP type and code (FORMATS.md 1.3 optional
// keys): -1 without a type; code 0xff when the type comes without a code.
func icmpOf(rec *flowlog.Record) int32 {
	t, c := int32(-1), int32(0xff)
	for _, at := range rec.Attrs {
		switch at.Key {
		case flowlog.AttrIcmpType:
			t = int32(at.Int) & 0xff
		case flowlog.AttrIcmpCode:
			c = int32(at.Int) & 0xff
		}
	}
	if t < 0 {
		return -1
	}
	return t<<8 | c
}

// endHash hashes one end of a flow (address and port).
func endHash(a *[16]byte, port uint16, fam uint8) uint64 {
	h := mix(0x13198A2E03707344, binary.LittleEndian.Uint64(a[:8]))
	h = mix(h, binary.LittleEndian.Uint64(a[8:]))
	return mix(h, uint64(port)|uint64(fam)<<16)
}

// pairHash is the same for a five-tuple and its reverse.
func pairHash(k *aggKey) uint32 {
	return uint32(mix(endHash(&k.src, k.sport, k.fams&15)+endHash(&k.dst, k.dport, k.fams>>4), uint64(k.proto)) >> 32)
}

func isReverse(k, o *aggKey) bool {
	return o.src == k.dst && o.dst == k.src && o.sport == k.dport && o.dport == k.sport && o.proto == k.proto &&
		o.fams == k.fams>>4|k.fams<<4
}

// replies decides the reply side of every row without deciding flags that
// its reverse rows decide (POLICY.md 3 step 2; the others are left zero,
// for the ports heuristic of step 3). Rows are sorted by a direction-free hash of
// their five-tuple with a stable radix sort, so the rows of a tuple and of
// its reverse share one run, in table order (the order the reverse rows
// are consulted in).
func (a *Aggregator) replies() []verdict.Reply {
	n := a.entries.n
	keys := make([]uint64, n)
	for i := range n {
		keys[i] = uint64(pairHash(&a.entries.at(i).key))<<32 | uint64(i)
	}
	tmp := make([]uint64, n)
	for shift := uint(32); shift < 64; shift += 8 {
		var count [257]int
		for _, k := range keys {
			count[(k>>shift)&0xff+1]++
		}
		for b := 1; b < 257; b++ {
			count[b] += count[b-1]
		}
		for _, k := range keys {
			d := (k >> shift) & 0xff
			tmp[count[d]] = k
			count[d]++
		}
		keys, tmp = tmp, keys
	}
	out := make([]verdict.Reply, n)
	for s := 0; s < n; {
		e := s + 1
		for e < n && keys[e]>>32 == keys[s]>>32 {
			e++
		}
		// A row alone in its run has no reverse row but perhaps itself,
		// which never decides (equal first starts): left to the ports.
		if run := keys[s:e]; len(run) > 1 {
			for _, ki := range run {
				i := int(uint32(ki))
				if a.entries.at(i).key.cls == clsUndecided {
					out[i], _ = a.reverse(i, run)
				}
			}
		}
		s = e
	}
	return out
}

// Rows decides the reply side of every row and calls fn with each (the Row
// is reused between calls).
func (a *Aggregator) Rows(fn func(*Row)) {
	a.drain()
	var reps []verdict.Reply
	for i := range a.entries.n {
		if a.entries.at(i).key.cls == clsUndecided {
			reps = a.replies()
			break
		}
	}
	var row Row
	for i := range a.entries.n {
		e := a.entries.at(i)
		k := &e.key
		row = Row{Iface: a.ifaces[k.iface], Direction: k.dir, Src: k.srcAddr(), Dst: k.dstAddr(), SrcPort: k.sport, DstPort: k.dport,
			Proto: k.proto, ICMPType: -1, ICMPCode: -1, Bucket: k.bucket, Flows: e.flows, Packets: e.packets, Bytes: e.bytes,
			First: e.first, Last: e.last}
		if k.icmp >= 0 {
			row.ICMPType = int16(k.icmp >> 8)
			if c := k.icmp & 0xff; c != 0xff {
				row.ICMPCode = int16(c)
			} else {
				row.ICMPCode = -2
			}
		}
		switch k.cls {
		case clsReply:
			row.Reply = verdict.Reply{Reply: true, Basis: verdict.BasisFlags}
		case clsOpener:
			row.Reply = verdict.Reply{Reply: false, Basis: verdict.BasisFlags}
		default:
			if row.Reply = reps[i]; row.Reply.Basis != verdict.BasisReverse {
				row.Reply = portReply(k)
			}
		}
		fn(&row)
	}
}

// reverse decides an undecided row from the rows of its run (its reverse
// rows among them, in table order); false when none decides.
func (a *Aggregator) reverse(i int, run []uint64) (verdict.Reply, bool) {
	e := a.entries.at(i)
	k := &e.key
	for _, kj := range run {
		o := a.entries.at(int(uint32(kj)))
		if !isReverse(k, &o.key) {
			continue
		}
		if k.iface != 0 && o.key.iface != 0 && k.iface != o.key.iface {
			continue
		}
		if o.first > e.last+verdict.ReverseWindow || e.first > o.last+verdict.ReverseWindow {
			continue
		}
		switch o.key.cls {
		case clsReply:
			return verdict.Reply{Reply: false, Basis: verdict.BasisReverse}, true
		case clsOpener:
			return verdict.Reply{Reply: true, Basis: verdict.BasisReverse}, true
		}
		if o.first != e.first {
			return verdict.Reply{Reply: e.first > o.first, Basis: verdict.BasisReverse}, true
		}
	}
	return verdict.Reply{}, false
}

// portReply is the service-port heuristic for a row.
func portReply(k *aggKey) verdict.Reply {
	var r flowlog.Record
	r.Proto, r.SrcPort, r.DstPort = k.proto, k.sport, k.dport
	return verdict.DetectOne(&r)
}

// PortBounds returns the sorted port boundaries of both sets: 0, the first
// port of every rule's port and source-port range and the one after its
// last, the bounds of Elasticsearch node filters, and 67-69 (DHCP, never
// filtered on AWS). Two ports of one interval between consecutive bounds
// are told apart by no rule, so a client's ephemeral port may be replaced
// by its interval's lowest port without changing any verdict
// (storage/clickhouse does this in SQL).
func PortBounds(sets ...*policy.Set) []uint16 {
	m := map[uint16]bool{0: true, 67: true, 68: true, 69: true}
	add := func(rs []policy.PortRange) {
		for _, r := range rs {
			m[r.Lo] = true
			if r.Hi < 65535 {
				m[r.Hi+1] = true
			}
		}
	}
	for _, s := range sets {
		for _, l := range s.Layers() {
			for _, c := range []*policy.Chain{&l.In, &l.Out} {
				for _, r := range c.Rules {
					add(r.Ports)
					add(r.SrcPorts)
				}
			}
		}
		for _, n := range s.Nodes {
			for _, f := range n.Filters {
				add([]policy.PortRange{f.Ports})
			}
		}
	}
	out := make([]uint16, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}
