package capture

// Prefetcher is implemented by flow tables that can bring a packet's flow
// into the CPU cache before it is added (capture/flowtable.Table):
// Prefetch starts loading the flow's index slot and returns a hash (0:
// nothing to fetch), PrefetchEntry, called a few packets later, starts
// loading the entry that slot names. Neither changes the table.
type Prefetcher interface {
	Prefetch(p *Packet) uint64
	PrefetchEntry(h uint64)
}

// AheadDepth is the number of packets an Ahead holds (a power of two; a
// Prefetcher keeps as many prefetched keys). The
// index slot of a packet is fetched when it is pushed, its entry half the
// ring later and it is added when it leaves the ring: on a table larger
// than the CPU caches each step has the time of several packets' work to
// arrive, and the misses of several packets overlap instead of stalling
// one after another.
const AheadDepth = 8

// Ahead is the short queue of decoded packets between a decoder and a
// flow table that lets the table prefetch: decode a frame into Slot, call
// Push, and add the packet Push returns (the oldest, once the queue is
// full) before the next Slot call. At the end of the input, or when a live
// source idles, Pop returns the packets still held, oldest first. Packets
// reach the table in the order they were decoded, so records are exactly
// those of adding each packet as it is decoded. The zero Ahead (or one
// whose table is not a Prefetcher) only queues.
type Ahead struct {
	pf      Prefetcher
	pkts    [AheadDepth]Packet
	hash    [AheadDepth]uint64
	head, n int
}

// NewAhead returns a queue in front of table (nil, or a table that cannot
// prefetch, disables prefetching).
func NewAhead(table any) *Ahead {
	a := &Ahead{}
	a.pf, _ = table.(Prefetcher)
	return a
}

// Slot is the packet to decode the next frame into.
func (a *Ahead) Slot() *Packet { return &a.pkts[(a.head+a.n)&(AheadDepth-1)] }

// Push takes the packet just decoded into Slot. It returns the oldest
// packet held when the queue is full (the caller adds it now), else nil.
func (a *Ahead) Push() *Packet {
	i := (a.head + a.n) & (AheadDepth - 1)
	if a.pf != nil {
		a.hash[i] = a.pf.Prefetch(&a.pkts[i])
		if a.n >= AheadDepth/2 {
			a.pf.PrefetchEntry(a.hash[(i-AheadDepth/2)&(AheadDepth-1)])
		}
	}
	a.n++
	if a.n < AheadDepth {
		return nil
	}
	return a.Pop()
}

// Pop removes and returns the oldest packet held, nil when there is none.
func (a *Ahead) Pop() *Packet {
	if a.n == 0 {
		return nil
	}
	p := &a.pkts[a.head]
	a.head = (a.head + 1) & (AheadDepth - 1)
	a.n--
	return p
}
