package flowtable

import (
	"cmp"
	"encoding/hex"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"
	"unsafe"

	"github.com/flowsift/flowsift/capture"
	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/prefetch"
)

// Defaults of Config. Timeouts are measured in packet time: the capture
// time of the packets added (files) or the clock passed to Expire (live).
const (
	DefaultActive    = 60 * time.Second // longest span of one record
	DefaultIdle      = 15 * time.Second // a flow without packets for this long is emitted
	DefaultMaxFlows  = 1 << 18          // flows held at once (about 60 MB per table)
	DefaultFragSlots = 1 << 14          // first fragments remembered for matching later ones
	maxMaxFlows      = 1 << 30
	minEntries       = 1 << 10
)

// Config sets up a Table. The zero value gives the defaults.
type Config struct {
	Active   time.Duration // 0: DefaultActive
	Idle     time.Duration // 0: DefaultIdle
	MaxFlows int           // 0: DefaultMaxFlows; the table never holds more
	// FragSlots is the number of first fragments remembered (a
	// direct-mapped cache: a newer first fragment may displace an older
	// one, whose later fragments then go to a ports-0 record). 0: default.
	FragSlots int
	Source    flowlog.Source // record source: SourcePcap, SourcePcapng or SourceLive
	// IfaceName names Packet.Iface for the record's iface key ("" when
	// unknown). Called when a record is emitted, never per packet. Nil:
	// every record has iface "".
	IfaceName func(iface uint32) string
}

// Emit receives an emitted record. The record and its Attrs are valid only
// during the call (copy with rec.Clone to keep it). It must not call back
// into the Table (LastEmitted and Stats excepted).
type Emit = func(rec *flowlog.Record)

// Why says why a record was emitted.
type Why uint8

// Emission causes.
const (
	WhyFlush   Why = iota // Flush (end of file, shutdown)
	WhyIdle               // no packet for Idle
	WhyActive             // the record spanned Active: a new record continues the flow
	WhyEvicted            // the table was full: the least recently seen flow was emitted early
)

var whyNames = [...]string{"flush", "idle", "active", "evicted"}

func (w Why) String() string {
	if int(w) < len(whyNames) {
		return whyNames[w]
	}
	return "unknown"
}

// Info describes the record most recently emitted, with nanosecond times
// (records carry whole seconds).
type Info struct {
	First, Last int64  // earliest and latest capture time of the record's packets, Unix ns
	Seq         uint64 // number (1-based, over the table's Add calls) of the record's first packet
	Why         Why
}

// Stats are a table's counters (cumulative except Active).
type Stats struct {
	Packets uint64                     // packets counted into records (Add with ReasonNone)
	Skipped [capture.NumReasons]uint64 // packets not counted, by Packet.Reason (index 0: family missing or not matching the addresses)
	Active  int                        // flows held now
	Peak    int                        // most flows held at once
	Created uint64                     // records started
	Emitted uint64                     // records emitted (the sum of the four below)
	Idle    uint64                     // emitted by the idle timeout
	Split   uint64                     // emitted by the active timeout
	Evicted uint64                     // emitted early because the table was full
	Flushed uint64                     // emitted by Flush

	FragMatched   uint64 // non-first fragments counted on their flow's record (frag_packets)
	FragUnmatched uint64 // non-first fragments without a remembered first fragment (ports-0 record)
	Truncated     uint64 // packets whose frame was cut short (truncated_packets)
}

// entry is one flow direction: pointer-free, 128 bytes (two cache lines).
type entry struct {
	k           key
	first, last int64
	packets     int64
	bytes       int64
	fragBytes   int64
	seq         uint64
	fragPackets uint32
	truncated   uint32
	prev, next  int32 // LRU list by arrival of the last packet; -1 ends
	gen         uint32
	tcpFlags    uint8
	used        bool
	mark        uint16 // time of the entry's last move to the LRU tail, in units of 1<<Table.markShift ns (wrapping)
}

// fragSlot remembers the flow of a first fragment.
type fragSlot struct {
	h   uint64 // hash of the fragment key (flow key without ports, plus id)
	id  uint32
	ent int32
	gen uint32 // entry generation when remembered
}

// Table assembles Packets into per-direction flow records. It is not safe
// for concurrent use: give every worker its own table (packets of one flow
// must reach one table, e.g. by a fanout on the flow hash).
type Table struct {
	active, idle int64
	markShift    uint // log2 of the LRU granularity in ns (see seen)
	sorted       bool // the LRU list is in exact order of last packet (see sortLRU)
	max          int
	cfg          Config
	seed         uint64

	ents []entry
	ctxs []tunCtx // tunnel context of ents[i] when ents[i].k.ctx != 0
	free int32    // free-list head (linked by next); -1 empty
	n    int      // entries in use

	// idx is an open-addressing index (linear probing, power-of-two size,
	// at most half full, backward-shift deletion): tag<<32 | entry+1, 0 empty.
	idx        []uint64
	shift      uint // 64 - log2(len(idx))
	mask       uint64
	head, tail int32 // LRU ends: head is the least recently seen

	order []int32 // scratch of sortLRU

	pend            [capture.AheadDepth]prefetched // keys Prefetch built, oldest first, for Add
	pendHead, pendN int
	frags           []fragSlot
	fragShift       uint

	tun   tunCache // context of the last tunnel seen
	seq   uint64
	stats Stats
	info  Info

	rec     flowlog.Record
	intern  flowlog.Interner
	scratch []byte
}

// New returns an empty table. Memory grows with the flows held, up to
// about MaxFlows × 230 bytes (entries, tunnel contexts, index), and is then reused.
func New(cfg Config) *Table {
	t := &Table{cfg: cfg, free: -1, head: -1, tail: -1, seed: rand.Uint64()}
	t.active = int64(cfg.Active)
	if t.active <= 0 {
		t.active = int64(DefaultActive)
	}
	t.idle = int64(cfg.Idle)
	if t.idle <= 0 {
		t.idle = int64(DefaultIdle)
	}
	t.max = cfg.MaxFlows
	if t.max <= 0 {
		t.max = DefaultMaxFlows
	}
	t.max = min(t.max, maxMaxFlows)
	// LRU granularity: at most 1/16 of the shorter timeout and at most
	// 2^28 ns (268 ms), so a flow's place in the LRU list lags its last
	// packet by less than that.
	t.markShift = 28
	for t.markShift > 10 && int64(1)<<t.markShift > min(t.idle, t.active)/16 {
		t.markShift--
	}
	t.intern.Max = 4096
	t.rec.Attrs = make([]flowlog.Attr, 0, 16)
	t.resize(min(minEntries, t.max))
	return t
}

// Stats returns the counters.
func (t *Table) Stats() Stats {
	s := t.stats
	s.Active = t.n
	return s
}

// LastEmitted describes the record of the most recent emission (valid
// inside an Emit call and after ExpireNext/FlushNext returned true).
func (t *Table) LastEmitted() Info { return t.info }

// Len is the number of flows held.
func (t *Table) Len() int { return t.n }

// Footprint is the memory held by the table's arrays, in bytes. It never
// exceeds MaxFlows×(entry + 16 index bytes) plus the fragment cache.
func (t *Table) Footprint() int {
	return cap(t.ents)*int(unsafe.Sizeof(entry{})+unsafe.Sizeof(tunCtx{})) + cap(t.idx)*8 + cap(t.frags)*int(unsafe.Sizeof(fragSlot{}))
}

// MaxFootprint is the bound Footprint stays under for a configuration.
func MaxFootprint(cfg Config) int {
	t := Table{cfg: cfg}
	max := cfg.MaxFlows
	if max <= 0 {
		max = DefaultMaxFlows
	}
	max = min(max, maxMaxFlows)
	idx := 1
	for idx < 2*max {
		idx <<= 1
	}
	return max*int(unsafe.Sizeof(entry{})+unsafe.Sizeof(tunCtx{})) + idx*8 + t.fragSlots()*int(unsafe.Sizeof(fragSlot{}))
}

func (t *Table) fragSlots() int {
	n := t.cfg.FragSlots
	if n <= 0 {
		n = DefaultFragSlots
	}
	p := 1
	for p < n && p < 1<<24 {
		p <<= 1
	}
	return p
}

// Add counts p into its flow's record. At most one record is emitted
// through emit during the call: the flow's previous record when it has
// spanned the active timeout, or the least recently seen flow when the
// table is full (nothing is dropped). Packets with a Reason are only
// counted in Stats.Skipped. Add does not allocate once the table has grown
// to its working size.
//
// Fragments: the reference conversation tables (corpus expected/README.md)
// count a non-first fragment only per address pair, never in a 5-tuple
// row, so a record's packets/bytes are exactly those of the 5-tuple: the
// first fragment (offset 0, which carries the ports) counts there, and a
// later fragment is matched to that flow by (src, dst, proto, fragment id,
// interface, tunnel) and counted in the record's frag_packets/frag_bytes
// keys instead. Later fragments whose first fragment was not seen (lost,
// displaced from the cache, or arriving after them) go to a record with
// ports 0 and packets/bytes 0 that carries only frag_packets/frag_bytes.
// Fragments never move a record's start/end, which stay those of its
// 5-tuple packets. Total L3 traffic of a record is bytes + frag_bytes.
func (t *Table) Add(p *capture.Packet, emit Emit) {
	var pd *prefetched
	if t.pendN > 0 {
		if t.pend[t.pendHead].p == p {
			pd = &t.pend[t.pendHead]
			t.pendHead = (t.pendHead + 1) % len(t.pend)
			t.pendN--
		} else {
			t.pendN = 0 // not the packet prefetched first: drop them all
		}
	}
	if p.Reason != capture.ReasonNone || !familyOK(p) {
		r := int(p.Reason)
		if r >= capture.NumReasons {
			r = 0
		}
		t.stats.Skipped[r]++
		return
	}
	t.seq++
	t.stats.Packets++
	var k key
	var c tunCtx
	var cp *tunCtx
	var h uint64
	kp := &k
	if pd != nil && pd.h != 0 && (pd.k.ctx == 0 || pd.k.ctx == t.tun.hash && t.tun.valid) {
		// Prefetch built the key from this packet (used in place: only
		// Prefetch writes its slot); a tunnel context it took from the
		// cache is still the cached one.
		kp, h, cp = &pd.k, pd.h, &c
		if kp.ctx != 0 {
			cp = &t.tun.ctx
		}
	} else {
		cp = t.flowKey(p, kp, &c, true)
		if p.FragOffset != 0 {
			t.addLaterFragment(p, kp, cp, emit)
			return
		}
		h = kp.hash(t.seed)
	}
	i := t.find(kp, cp, h, emit)
	e := &t.ents[i]
	if e.packets|int64(e.fragPackets) != 0 && p.Time-e.first >= t.active {
		t.emitEntry(i, WhyActive, emit)
		t.stats.Split++
		e.restart()
		t.stats.Created++
	}
	e.span(p.Time, t.seq)
	e.packets++
	e.bytes += int64(p.L3Len)
	e.tcpFlags |= p.TCPFlags
	if p.Truncated {
		e.truncated++
		t.stats.Truncated++
	}
	t.seen(i, p.Time)
	if p.Fragment {
		t.rememberFragment(p, kp, i)
	}
}

// flowKey fills k with p's flow key and returns the tunnel context of the
// flow (c, or the table's cached one). The context of the last tunnel is
// reused when the packet came through the same one (GWLB options, rare,
// are always rebuilt); remember caches a new one.
func (t *Table) flowKey(p *capture.Packet, k *key, c *tunCtx, remember bool) *tunCtx {
	if !k.fillFlow(p) {
		return c
	}
	o := &p.Outer
	if o.GWLBLens != [3]uint8{} || p.Inner.GWLBLens != [3]uint8{} {
		k.fillTun(p, c, t.seed)
		return c
	}
	if t.tun.hit(o) {
		k.dir, k.ctx = tunDir(p), t.tun.hash
		return &t.tun.ctx
	}
	k.fillTun(p, c, t.seed)
	if remember {
		t.tun.set(o, c, k.ctx)
	}
	return c
}

// Prefetch is the first of two steps that bring p's flow into the CPU
// cache before Add needs it, so that a caller holding a few decoded
// packets ahead (capture.Ahead) overlaps the cache misses of several
// packets instead of waiting for each in turn: it starts loading p's
// index slot and returns the hash for PrefetchEntry (0 when p will not be
// looked up: skipped packets and later fragments). Neither step changes
// the table.
func (t *Table) Prefetch(p *capture.Packet) uint64 {
	if t.pendN == len(t.pend) { // more prefetched than added: forget the oldest
		t.pendHead = (t.pendHead + 1) % len(t.pend)
		t.pendN--
	}
	pd := &t.pend[(t.pendHead+t.pendN)%len(t.pend)]
	t.pendN++
	pd.p, pd.h, pd.k = p, 0, key{}
	if p.Reason != capture.ReasonNone || p.FragOffset != 0 || !familyOK(p) {
		return 0
	}
	var c tunCtx
	cp := t.flowKey(p, &pd.k, &c, false)
	h := pd.k.hash(t.seed) | 1
	prefetch.Line(unsafe.Pointer(&t.idx[h>>t.shift]))
	// A tunnel context built here rather than taken from the cache is not
	// kept: Add builds it again (rare: the first packet of another tunnel,
	// GWLB options).
	if cp != &c || pd.k.ctx == 0 {
		pd.h = h
	}
	return h
}

// prefetched is a key Prefetch built, kept for Add of the same packet (the
// queue in front of the table adds packets in the order it prefetched
// them, unchanged).
type prefetched struct {
	p *capture.Packet
	k key
	h uint64 // 0: Add builds the key itself
}

// PrefetchEntry is the second step: given Prefetch's hash (some packets
// later, when the index slot has arrived), it starts loading the entry the
// slot names (both cache lines).
func (t *Table) PrefetchEntry(h uint64) {
	if h == 0 {
		return
	}
	tag := uint32(h >> 32)
	pos := h >> t.shift
	for range 2 { // the flow's slot is nearly always the first or second probed
		s := t.idx[pos]
		if s == 0 {
			return
		}
		if uint32(s>>32) == tag {
			if i := int(uint32(s)) - 1; i < len(t.ents) {
				e := unsafe.Pointer(&t.ents[i])
				prefetch.Span(e, unsafe.Sizeof(entry{}))
			}
			return
		}
		pos = (pos + 1) & t.mask
	}
}

// familyOK reports whether p's family agrees with both its addresses.
func familyOK(p *capture.Packet) bool {
	switch p.Family {
	case 4:
		return p.Src.Is4() && p.Dst.Is4()
	case 6:
		return p.Src.Is6() && p.Dst.Is6()
	}
	return false
}

// span widens the record's time span to include at (the first packet
// sets it). Start and end are the earliest and latest packet times, as
// the reference conversation tables take them (a frame without a
// timestamp, a pcapng Simple Packet Block, counts as time 0 there too).
func (e *entry) span(at int64, seq uint64) {
	if e.packets|int64(e.fragPackets) == 0 {
		e.first, e.last, e.seq = at, at, seq
		return
	}
	e.first = min(e.first, at)
	e.last = max(e.last, at)
}

func (e *entry) restart() {
	e.packets, e.bytes, e.fragBytes, e.fragPackets, e.truncated, e.tcpFlags = 0, 0, 0, 0, 0, 0
}

// fragKey turns a flow key into the key of its fragments: no ports, no
// ICMP type/code (later fragments carry neither).
func fragKey(k *key) {
	k.sport, k.dport = 0, 0
	k.bits &^= kICMP | kFragOnly
}

func (t *Table) fragHash(k *key, id uint32) uint64 {
	return k.hash(t.seed ^ uint64(id)*0x9e3779b97f4a7c15 ^ 0xf4a9)
}

func (t *Table) rememberFragment(p *capture.Packet, k *key, i int32) {
	if t.frags == nil {
		n := t.fragSlots()
		t.frags = make([]fragSlot, n)
		t.fragShift = uint(64 - log2(n))
	}
	fk := *k
	fragKey(&fk)
	h := t.fragHash(&fk, p.FragID)
	t.frags[h>>t.fragShift] = fragSlot{h: h, id: p.FragID, ent: i, gen: t.ents[i].gen}
}

func (t *Table) addLaterFragment(p *capture.Packet, k *key, c *tunCtx, emit Emit) {
	fragKey(k)
	if t.frags != nil {
		h := t.fragHash(k, p.FragID)
		s := &t.frags[h>>t.fragShift]
		if s.h == h && s.id == p.FragID && s.ent >= 0 && int(s.ent) < len(t.ents) {
			e := &t.ents[s.ent]
			if e.used && e.gen == s.gen {
				ek := e.k
				fragKey(&ek)
				if ek == *k {
					e.fragPackets++
					e.fragBytes += int64(p.L3Len)
					if p.Truncated {
						e.truncated++
						t.stats.Truncated++
					}
					t.stats.FragMatched++
					return
				}
			}
		}
	}
	t.stats.FragUnmatched++
	k.bits |= kFragOnly
	h := k.hash(t.seed)
	i := t.find(k, c, h, emit)
	e := &t.ents[i]
	if e.fragPackets != 0 && p.Time-e.first >= t.active {
		t.emitEntry(i, WhyActive, emit)
		t.stats.Split++
		e.restart()
		t.stats.Created++
	}
	e.span(p.Time, t.seq)
	e.fragPackets++
	e.fragBytes += int64(p.L3Len)
	if p.Truncated {
		e.truncated++
		t.stats.Truncated++
	}
	t.seen(i, p.Time)
}

// find returns the entry of k, inserting it (and evicting the least
// recently seen flow when the table is full).
func (t *Table) find(k *key, c *tunCtx, h uint64, emit Emit) int32 {
	tag := uint32(h >> 32)
	for pos := h >> t.shift; ; pos = (pos + 1) & t.mask {
		s := t.idx[pos]
		if s == 0 {
			break
		}
		if uint32(s>>32) == tag {
			i := int32(uint32(s)) - 1
			if t.ents[i].k.eq(k) {
				return i
			}
		}
	}
	if t.free < 0 {
		if t.n >= t.max {
			v := t.head
			t.emitEntry(v, WhyEvicted, emit)
			t.stats.Evicted++
			t.release(v)
		} else {
			t.resize(min(2*len(t.ents), t.max))
		}
	}
	i := t.free
	e := &t.ents[i]
	t.free = e.next
	gen := e.gen + 1
	*e = entry{k: *k, gen: gen, used: true, prev: -1, next: -1}
	if k.ctx != 0 {
		t.ctxs[i] = *c
	}
	t.n++
	t.stats.Created++
	if t.n > t.stats.Peak {
		t.stats.Peak = t.n
	}
	pos := h >> t.shift
	for t.idx[pos] != 0 {
		pos = (pos + 1) & t.mask
	}
	t.idx[pos] = uint64(tag)<<32 | uint64(i+1)
	// link at the tail (touch will find it there)
	e.prev = t.tail
	if t.tail >= 0 {
		t.ents[t.tail].next = i
	} else {
		t.head = i
	}
	t.tail = i
	return i
}

// seen keeps entry i's place in the LRU list after a packet at time at.
// The list is ordered by the time of each entry's last move to the tail,
// and an entry moves only when that time has changed by at least the
// granularity (1<<markShift ns, at most 268 ms): moving is two writes to
// other entries, cache misses on a large table, and a busy flow would pay
// them on every packet. So the list lags the true order of last packets
// by less than the granularity, and Expire and eviction, which walk it
// from the head, may emit a flow up to that much later (or, among flows
// seen within one granularity of each other, in a different order) than
// an exact LRU would. Records themselves do not change: their times,
// counts and splits come from the packets. Flush restores the exact order
// (sortLRU).
func (t *Table) seen(i int32, at int64) {
	t.sorted = false
	if m := uint16(at >> t.markShift); t.ents[i].mark != m {
		t.ents[i].mark = m
		t.touch(i)
	}
}

// touch moves entry i to the LRU tail.
func (t *Table) touch(i int32) {
	if t.tail == i {
		return
	}
	e := &t.ents[i]
	// unlink
	if e.prev >= 0 {
		t.ents[e.prev].next = e.next
	} else {
		t.head = e.next
	}
	t.ents[e.next].prev = e.prev // e is not the tail, so next >= 0
	// append
	e.prev, e.next = t.tail, -1
	t.ents[t.tail].next = i
	t.tail = i
}

// release removes entry i from the index and the LRU list and frees it.
func (t *Table) release(i int32) {
	e := &t.ents[i]
	if e.prev >= 0 {
		t.ents[e.prev].next = e.next
	} else {
		t.head = e.next
	}
	if e.next >= 0 {
		t.ents[e.next].prev = e.prev
	} else {
		t.tail = e.prev
	}
	t.unindex(i, e.k.hash(t.seed))
	e.used = false
	e.prev = -1
	e.next = t.free
	t.free = i
	t.n--
}

func (t *Table) home(s uint64) uint64 { return uint64(uint32(s>>32)) >> (t.shift - 32) }

// unindex deletes entry i's slot with backward shifting, so that no
// tombstones accumulate.
func (t *Table) unindex(i int32, h uint64) {
	want := uint64(i + 1)
	pos := h >> t.shift
	for uint64(uint32(t.idx[pos])) != want {
		pos = (pos + 1) & t.mask
	}
	for {
		t.idx[pos] = 0
		next := pos
		for {
			next = (next + 1) & t.mask
			s := t.idx[next]
			if s == 0 {
				return
			}
			hm := t.home(s)
			// s may move into the hole at pos unless its home lies
			// cyclically in (pos, next].
			var stays bool
			if pos <= next {
				stays = pos < hm && hm <= next
			} else {
				stays = pos < hm || hm <= next
			}
			if !stays {
				t.idx[pos] = s
				pos = next
				break
			}
		}
	}
}

// resize grows the entry array to n entries and the index to fit.
func (t *Table) resize(n int) {
	old := t.ents
	t.ents = make([]entry, n)
	copy(t.ents, old)
	ctxs := make([]tunCtx, n)
	copy(ctxs, t.ctxs)
	t.ctxs = ctxs
	for i := n - 1; i >= len(old); i-- {
		t.ents[i].next = t.free
		t.ents[i].prev = -1
		t.free = int32(i)
	}
	size := 1
	for size < 2*n {
		size <<= 1
	}
	if size <= len(t.idx) {
		return
	}
	oldIdx := t.idx
	t.idx = make([]uint64, size)
	t.shift = uint(64 - log2(size))
	t.mask = uint64(size - 1)
	for _, s := range oldIdx {
		if s == 0 {
			continue
		}
		pos := t.home(s)
		for t.idx[pos] != 0 {
			pos = (pos + 1) & t.mask
		}
		t.idx[pos] = s
	}
}

func log2(n int) int {
	l := 0
	for 1<<l < n {
		l++
	}
	return l
}

// Expire emits, oldest first, every flow that has had no packet for Idle
// or whose record has spanned Active at time now (Unix ns: packet time for
// files, the clock for live capture). It stops at the first flow, in
// order of last packet, that is not due, so it costs nothing when none is.
func (t *Table) Expire(now int64, emit Emit) int {
	n := 0
	for t.expireOne(now) {
		if emit != nil {
			emit(&t.rec)
		}
		n++
	}
	return n
}

// ExpireNext is Expire one record at a time, for pull readers: it fills
// rec (rec.Attrs is reused) with the next due flow and reports whether
// there was one.
func (t *Table) ExpireNext(now int64, rec *flowlog.Record) bool {
	i := t.head
	if i < 0 || !t.due(&t.ents[i], now) {
		return false
	}
	t.finish(i, rec, WhyIdle)
	return true
}

func (t *Table) due(e *entry, now int64) bool {
	return now-e.last >= t.idle || now-e.first >= t.active
}

func (t *Table) expireOne(now int64) bool { return t.ExpireNext(now, &t.rec) }

// Flush emits every flow (end of file, shutdown) and leaves the table
// empty. It returns the number of records emitted.
func (t *Table) Flush(emit Emit) int {
	n := 0
	for t.FlushNext(&t.rec) {
		if emit != nil {
			emit(&t.rec)
		}
		n++
	}
	return n
}

// FlushNext is Flush one record at a time: it fills rec with the least
// recently seen flow and removes it.
func (t *Table) FlushNext(rec *flowlog.Record) bool {
	if t.head < 0 {
		return false
	}
	if !t.sorted {
		t.sortLRU()
	}
	t.finish(t.head, rec, WhyFlush)
	return true
}

// sortLRU relinks the LRU list in exact order of last packet (ties by
// first packet number), undoing the lag that seen allows, so that Flush
// emits in that order. Its scratch slice is kept for the next flush.
func (t *Table) sortLRU() {
	t.sorted = true
	order := t.order[:0]
	for i := t.head; i >= 0; i = t.ents[i].next {
		order = append(order, i)
	}
	t.order = order
	slices.SortFunc(order, func(a, b int32) int { // (last, seq) is unique: seq numbers records
		ea, eb := &t.ents[a], &t.ents[b]
		if c := cmp.Compare(ea.last, eb.last); c != 0 {
			return c
		}
		return cmp.Compare(ea.seq, eb.seq)
	})
	t.head, t.tail = -1, -1
	for _, i := range order {
		e := &t.ents[i]
		e.prev, e.next = t.tail, -1
		if t.tail >= 0 {
			t.ents[t.tail].next = i
		} else {
			t.head = i
		}
		t.tail = i
	}
}

// finish builds entry i's record into rec and frees the entry.
func (t *Table) finish(i int32, rec *flowlog.Record, why Why) {
	e := &t.ents[i]
	if why == WhyIdle && e.last-e.first >= t.active {
		why = WhyActive
	}
	t.build(i, rec, why)
	switch why {
	case WhyFlush:
		t.stats.Flushed++
	case WhyActive:
		t.stats.Split++
	default:
		t.stats.Idle++
	}
	t.release(i)
}

// emitEntry sends entry i's record through emit without freeing it.
func (t *Table) emitEntry(i int32, why Why, emit Emit) {
	t.build(i, &t.rec, why)
	if emit != nil {
		emit(&t.rec)
	}
}

// build fills rec from entry i. Optional keys are appended in key order.
func (t *Table) build(i int32, rec *flowlog.Record, why Why) {
	e := &t.ents[i]
	var c *tunCtx
	if e.k.ctx != 0 {
		c = &t.ctxs[i]
	} else {
		c = &noCtx
	}
	t.stats.Emitted++
	t.info = Info{First: e.first, Last: e.last, Seq: e.seq, Why: why}
	rec.Reset()
	k := &e.k
	rec.Start, rec.End = floorSec(e.first), floorSec(e.last)
	rec.Src, rec.Dst = addrOf(k.family, &k.src), addrOf(k.family, &k.dst)
	if k.bits&kICMP == 0 {
		rec.SrcPort, rec.DstPort = k.sport, k.dport
	}
	rec.Proto = k.proto
	rec.Packets, rec.Bytes = e.packets, e.bytes
	switch k.dir {
	case 1:
		rec.Direction = flowlog.DirIngress
	case 2:
		rec.Direction = flowlog.DirEgress
	}
	rec.Source = t.cfg.Source
	rec.TCPFlags = int32(e.tcpFlags)
	if t.cfg.IfaceName != nil {
		rec.Iface = t.cfg.IfaceName(k.iface)
	}
	a := rec.Attrs[:0]
	if e.fragPackets != 0 {
		a = append(a,
			flowlog.Attr{Key: flowlog.AttrFragBytes, Int: e.fragBytes},
			flowlog.Attr{Key: flowlog.AttrFragPackets, Int: int64(e.fragPackets)})
	}
	if l := c.gwlbLens; l != [3]uint8{} {
		if l[1] > 0 {
			a = append(a, flowlog.Attr{Key: flowlog.AttrGwlbAttachmentId, Str: t.hexStr(c.gwlbAtt[:min(int(l[1]), 8)])})
		}
		if l[0] > 0 {
			a = append(a, flowlog.Attr{Key: flowlog.AttrGwlbEndpointId, Str: t.hexStr(c.gwlbEP[:min(int(l[0]), 8)])})
		}
		if l[2] > 0 {
			a = append(a, flowlog.Attr{Key: flowlog.AttrGwlbFlowCookie, Str: t.hexStr(c.gwlbCookie[:min(int(l[2]), 4)])})
		}
	}
	if k.bits&kICMP != 0 {
		a = append(a,
			flowlog.Attr{Key: flowlog.AttrIcmpCode, Int: int64(k.dport)},
			flowlog.Attr{Key: flowlog.AttrIcmpType, Int: int64(k.sport)})
	}
	if e.truncated != 0 {
		a = append(a, flowlog.Attr{Key: flowlog.AttrTruncatedPackets, Int: int64(e.truncated)})
	}
	if c.bits&kTDst != 0 {
		a = append(a, flowlog.Attr{Key: flowlog.AttrTunnelDst, Str: t.addrStr(c.tfamily, &c.tdst)})
	}
	if c.bits&kID != 0 {
		a = append(a, flowlog.Attr{Key: flowlog.AttrTunnelId, Int: int64(c.tid)})
	}
	if c.bits&kTSrc != 0 {
		a = append(a, flowlog.Attr{Key: flowlog.AttrTunnelSrc, Str: t.addrStr(c.tfamily, &c.tsrc)})
	}
	if name := capture.TunnelType(c.ttype).String(); name != "" {
		a = append(a, flowlog.Attr{Key: flowlog.AttrTunnelType, Str: name})
	}
	if c.bits&kVNI != 0 {
		a = append(a, flowlog.Attr{Key: flowlog.AttrTunnelVni, Int: int64(c.vni)})
	}
	if k.bits&kVLAN != 0 {
		a = append(a, flowlog.Attr{Key: flowlog.AttrVlan, Int: int64(k.vlan)})
	}
	rec.Attrs = a
}

var noCtx tunCtx

func (t *Table) hexStr(b []byte) string {
	t.scratch = hex.AppendEncode(t.scratch[:0], b)
	return t.intern.Bytes(t.scratch)
}

func (t *Table) addrStr(family uint8, b *[16]byte) string {
	t.scratch = addrOf(family, b).AppendTo(t.scratch[:0])
	return t.intern.Bytes(t.scratch)
}

func addrOf(family uint8, b *[16]byte) netip.Addr {
	if family == 4 {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16(*b)
}

// floorSec converts Unix ns to whole seconds, rounding down.
func floorSec(ns int64) int64 {
	s := ns / 1e9
	if ns%1e9 < 0 {
		s--
	}
	return s
}
