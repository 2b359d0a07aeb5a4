package whatif

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"strings"

	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/analyze/verdict"
	"github.com/flowsift/flowsift/flowlog"
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

// addr16 is a pointer-free address (the table holds no pointer, so the
// garbage collector never scans it): the 16-byte form and the family.
type addr16 struct {
	b   [16]byte
	fam uint8 // 0 invalid, 4, 6
}

func a16(a netip.Addr) addr16 {
	switch {
	case a.Is4():
		return addr16{a.As16(), 4}
	case a.Is6():
		return addr16{a.As16(), 6}
	}
	return addr16{}
}

func (x addr16) addr() netip.Addr {
	switch x.fam {
	case 4:
		return netip.AddrFrom16(x.b).Unmap()
	case 6:
		return netip.AddrFrom16(x.b)
	}
	return netip.Addr{}
}

type aggKey struct {
	src, dst     addr16
	sport, dport uint16
	proto        uint8
	dir          flowlog.Direction
	cls          uint8
	iface        uint32
	icmp         int32 // type<<8|code+… ; -1 none
	bucket       int64
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
	entries []aggEntry
	slots   []uint64 // hash tag << 32 | index+1 into entries; 0 = empty
	mask    uint64
	ifaces  []string
	ifaceID map[string]uint32
	lastIf  string
	lastID  uint32
	Records int64
}

// NewAggregator returns an empty aggregator.
func NewAggregator() *Aggregator {
	a := &Aggregator{ifaceID: map[string]uint32{"": 0}, ifaces: []string{""}}
	a.slots = make([]uint64, 1<<12)
	a.mask = uint64(len(a.slots) - 1)
	return a
}

// Len is the number of distinct rows so far.
func (a *Aggregator) Len() int { return len(a.entries) }

func mix(h, v uint64) uint64 {
	h ^= v
	h *= 0x9E3779B97F4A7C15
	return h ^ h>>29
}

func (k *aggKey) hash() uint64 {
	s, d := &k.src.b, &k.dst.b
	h := uint64(0x243F6A8885A308D3)
	h = mix(h, binary.LittleEndian.Uint64(s[:8]))
	h = mix(h, binary.LittleEndian.Uint64(s[8:]))
	h = mix(h, binary.LittleEndian.Uint64(d[:8]))
	h = mix(h, binary.LittleEndian.Uint64(d[8:]))
	h = mix(h, uint64(k.sport)|uint64(k.dport)<<16|uint64(k.proto)<<32|uint64(k.dir)<<40|uint64(k.cls)<<48)
	h = mix(h, uint64(k.iface)|uint64(uint32(k.icmp))<<32)
	h = mix(h, uint64(k.bucket))
	return h
}

// Add folds one record in. It does not keep rec.
func (a *Aggregator) Add(rec *flowlog.Record) {
	a.Records++
	var k aggKey
	k.src, k.dst = a16(rec.Src.Unmap()), a16(rec.Dst.Unmap())
	k.sport, k.dport, k.proto, k.dir = rec.SrcPort, rec.DstPort, rec.Proto, rec.Direction
	k.cls = flagClass(rec)
	k.icmp = -1
	if rec.Proto == 1 || rec.Proto == 58 {
		k.icmp = icmpOf(rec)
	}
	if rec.Iface == a.lastIf {
		k.iface = a.lastID
	} else {
		id, ok := a.ifaceID[rec.Iface]
		if !ok {
			s := strings.Clone(rec.Iface)
			id = uint32(len(a.ifaces))
			a.ifaces = append(a.ifaces, s)
			a.ifaceID[s] = id
		}
		a.lastIf, a.lastID, k.iface = a.ifaces[id], id, id
	}
	k.bucket = floorDiv(rec.Start, BucketWidth) * BucketWidth
	h := k.hash()
	tag := h >> 32
	for i := h & a.mask; ; i = (i + 1) & a.mask {
		s := a.slots[i]
		if s == 0 {
			a.entries = append(a.entries, aggEntry{key: k, flows: 1, packets: rec.Packets, bytes: rec.Bytes, first: rec.Start, last: rec.End})
			a.slots[i] = tag<<32 | uint64(len(a.entries))
			if uint64(len(a.entries))*2 > uint64(len(a.slots)) {
				a.grow()
			}
			return
		}
		if s>>32 != tag {
			continue
		}
		e := &a.entries[uint32(s)-1]
		if e.key == k {
			e.flows++
			e.packets += rec.Packets
			e.bytes += rec.Bytes
			if rec.Start < e.first {
				e.first = rec.Start
			}
			if rec.End > e.last {
				e.last = rec.End
			}
			return
		}
	}
}

func (a *Aggregator) grow() {
	n := len(a.slots) * 2
	a.slots = make([]uint64, n)
	a.mask = uint64(n - 1)
	for j := range a.entries {
		h := a.entries[j].key.hash()
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
func endHash(a *addr16, port uint16) uint64 {
	h := mix(0x13198A2E03707344, binary.LittleEndian.Uint64(a.b[:8]))
	h = mix(h, binary.LittleEndian.Uint64(a.b[8:]))
	return mix(h, uint64(port)|uint64(a.fam)<<16)
}

// pairHash is the same for a five-tuple and its reverse.
func pairHash(k *aggKey) uint32 {
	return uint32(mix(endHash(&k.src, k.sport)+endHash(&k.dst, k.dport), uint64(k.proto)) >> 32)
}

func isReverse(k, o *aggKey) bool {
	return o.src == k.dst && o.dst == k.src && o.sport == k.dport && o.dport == k.sport && o.proto == k.proto
}

// replies decides the reply side of every row without deciding flags
// (POLICY.md 3 steps 2-3). Rows are sorted by a direction-free hash of
// their five-tuple with a stable radix sort, so the rows of a tuple and of
// its reverse share one run, in table order (the order the reverse rows
// are consulted in).
func (a *Aggregator) replies() []verdict.Reply {
	n := len(a.entries)
	keys := make([]uint64, n)
	for i := range a.entries {
		keys[i] = uint64(pairHash(&a.entries[i].key))<<32 | uint64(i)
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
		run := keys[s:e]
		for _, ki := range run {
			i := int(uint32(ki))
			if a.entries[i].key.cls == clsUndecided {
				out[i] = a.reply(i, run)
			}
		}
		s = e
	}
	return out
}

// Rows decides the reply side of every row and calls fn with each (the Row
// is reused between calls).
func (a *Aggregator) Rows(fn func(*Row)) {
	var reps []verdict.Reply
	for i := range a.entries {
		if a.entries[i].key.cls == clsUndecided {
			reps = a.replies()
			break
		}
	}
	var row Row
	for i := range a.entries {
		e := &a.entries[i]
		k := &e.key
		row = Row{Iface: a.ifaces[k.iface], Direction: k.dir, Src: k.src.addr(), Dst: k.dst.addr(), SrcPort: k.sport, DstPort: k.dport,
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
			row.Reply = reps[i]
		}
		fn(&row)
	}
}

// reply decides an undecided row from the rows of its run (its reverse
// rows among them, in table order).
func (a *Aggregator) reply(i int, run []uint64) verdict.Reply {
	e := &a.entries[i]
	k := &e.key
	for _, kj := range run {
		o := &a.entries[uint32(kj)]
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
			return verdict.Reply{Reply: false, Basis: verdict.BasisReverse}
		case clsOpener:
			return verdict.Reply{Reply: true, Basis: verdict.BasisReverse}
		}
		if o.first != e.first {
			return verdict.Reply{Reply: e.first > o.first, Basis: verdict.BasisReverse}
		}
	}
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
