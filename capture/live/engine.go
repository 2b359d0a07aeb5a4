package live

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowsift/flowsift/capture"
	"github.com/flowsift/flowsift/capture/decode"
	"github.com/flowsift/flowsift/capture/flowtable"
	"github.com/flowsift/flowsift/flowlog"
)

// EngineConfig sets up an Engine.
type EngineConfig struct {
	Sources []Source         // one worker per source
	Table   flowtable.Config // per worker; MaxFlows is the total, split evenly
	Decode  decode.Options   // per worker
	Sweep   time.Duration    // packet time between expiry sweeps (0: one second)
	Batch   int              // records per Batch (0: 512)
	Ship    time.Duration    // longest a record waits in a part-filled batch (0: 200 ms)
	Clock   func() int64     // the time idle flows are expired at when no frame comes (0: time.Now)
}

// Batch is a run of records from one worker. The records (and their Attrs)
// belong to the worker: call Done when they have been used.
type Batch struct {
	Recs   []flowlog.Record
	Worker int
	free   chan *Batch
}

// Done hands the batch back to its worker.
func (b *Batch) Done() {
	b.Recs = b.Recs[:0]
	b.free <- b
}

// Counters are an engine's totals (Counters sums the workers).
type Counters struct {
	Frames  uint64                     // frames read
	Reasons [capture.NumReasons]uint64 // frames by decode result; index ReasonNone: decoded
	Source  Stats                      // the sources' own counters (kernel drops)
	Flows   flowtable.Stats            // the tables' counters (Active: flows held now)
}

// Decoded is the number of frames that carried an IP flow.
func (c Counters) Decoded() uint64 { return c.Reasons[capture.ReasonNone] }

// Undecodable is the number of frames without an IP flow.
func (c Counters) Undecodable() uint64 { return c.Frames - c.Reasons[capture.ReasonNone] }

// Engine runs one worker per source: each reads its source, decodes
// frames with its own decoder and counts them into its own flow table (no
// lock is shared between workers), and ships emitted records in batches.
// Flows expire on packet time while frames come and on the clock when the
// source is idle. Stop (or the end of every source) flushes the tables.
type Engine struct {
	cfg     EngineConfig
	out     chan *Batch
	stop    atomic.Bool
	workers []*worker
	wg      sync.WaitGroup
	errMu   sync.Mutex
	errs    []error
}

// drainLimit bounds how long a worker keeps reading after Stop.
const drainLimit = 2 * time.Second

type worker struct {
	e      *Engine
	id     int
	src    Source
	dec    *decode.Decoder
	table  *flowtable.Table
	free   chan *Batch
	cur    *Batch
	emit   flowtable.Emit
	frames uint64
	reason [capture.NumReasons]uint64

	ahead     *capture.Ahead // decoded packets on their way to the table
	nextSweep int64          // packet time of the next expiry sweep

	lastShip int64

	mu   sync.Mutex // guards snap
	snap Counters
}

// Start starts the workers.
func Start(cfg EngineConfig) *Engine {
	if cfg.Sweep <= 0 {
		cfg.Sweep = time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 512
	}
	if cfg.Ship <= 0 {
		cfg.Ship = 200 * time.Millisecond
	}
	if cfg.Clock == nil {
		cfg.Clock = func() int64 { return time.Now().UnixNano() }
	}
	n := len(cfg.Sources)
	e := &Engine{cfg: cfg, out: make(chan *Batch, 4*n)}
	tc := cfg.Table
	if tc.MaxFlows > 0 && n > 1 {
		tc.MaxFlows = (tc.MaxFlows + n - 1) / n
	}
	for i, s := range cfg.Sources {
		w := &worker{e: e, id: i, src: s, dec: decode.New(cfg.Decode), table: flowtable.New(tc), free: make(chan *Batch, 4)}
		for j := 0; j < 4; j++ {
			w.free <- &Batch{Recs: make([]flowlog.Record, 0, cfg.Batch), Worker: i, free: w.free}
		}
		w.cur = <-w.free
		w.emit = w.add
		e.workers = append(e.workers, w)
	}
	e.wg.Add(n)
	for _, w := range e.workers {
		go w.run()
	}
	go func() { e.wg.Wait(); close(e.out) }()
	return e
}

// Records delivers the batches; it is closed when every worker finished.
// The consumer must call Done on every batch (or the workers stall).
func (e *Engine) Records() <-chan *Batch { return e.out }

// Stop asks the workers to finish: each reads on until its source has
// been idle for one poll interval (at most drainLimit), flushes its table
// and closes its source.
func (e *Engine) Stop() { e.stop.Store(true) }

// Err returns the errors that ended workers early (a failed socket, a
// damaged capture file), joined.
func (e *Engine) Err() error {
	e.errMu.Lock()
	defer e.errMu.Unlock()
	return errors.Join(e.errs...)
}

// Counters returns the totals over every worker (published every few
// thousand frames and whenever a source is idle) and the sources' stats.
func (e *Engine) Counters() Counters {
	var c Counters
	for _, w := range e.workers {
		w.mu.Lock()
		s := w.snap
		w.mu.Unlock()
		c.Frames += s.Frames
		for r := range c.Reasons {
			c.Reasons[r] += s.Reasons[r]
		}
		addFlowStats(&c.Flows, &s.Flows)
		c.Source.Add(w.src.Stats())
	}
	return c
}

func addFlowStats(a, b *flowtable.Stats) {
	a.Packets += b.Packets
	for r := range a.Skipped {
		a.Skipped[r] += b.Skipped[r]
	}
	a.Active += b.Active
	a.Peak += b.Peak
	a.Created += b.Created
	a.Emitted += b.Emitted
	a.Idle += b.Idle
	a.Split += b.Split
	a.Evicted += b.Evicted
	a.Flushed += b.Flushed
	a.FragMatched += b.FragMatched
	a.FragUnmatched += b.FragUnmatched
	a.Truncated += b.Truncated
}

// add copies an emitted record into the current batch.
func (w *worker) add(r *flowlog.Record) {
	b := w.cur
	if len(b.Recs) < cap(b.Recs) {
		b.Recs = b.Recs[:len(b.Recs)+1]
	} else {
		b.Recs = append(b.Recs, flowlog.Record{})
	}
	dst := &b.Recs[len(b.Recs)-1]
	attrs := dst.Attrs[:0]
	*dst = *r
	dst.Attrs = append(attrs, r.Attrs...)
	if len(b.Recs) >= w.e.cfg.Batch {
		w.ship()
	}
}

// ship sends the current batch (if it has records) and takes a free one.
func (w *worker) ship() {
	if len(w.cur.Recs) == 0 {
		return
	}
	w.e.out <- w.cur
	w.cur = <-w.free
}

func (w *worker) publish() {
	w.mu.Lock()
	w.snap.Frames = w.frames
	w.snap.Reasons = w.reason
	w.snap.Flows = w.table.Stats()
	w.mu.Unlock()
}

func (w *worker) run() {
	defer w.e.wg.Done()
	var f capture.Frame
	w.ahead = capture.NewAhead(w.table)
	w.nextSweep = -1 << 63
	ship := int64(w.e.cfg.Ship)
	w.lastShip = w.e.cfg.Clock()
	// After Stop the worker still reads what the kernel has queued, until
	// the source is idle for a poll interval or for at most drainLimit, so
	// that frames captured before the signal are counted.
	var stopAt int64
	for {
		if stopAt == 0 && w.e.stop.Load() {
			stopAt = time.Now().UnixNano()
		}
		if stopAt != 0 && time.Now().UnixNano()-stopAt > int64(drainLimit) {
			break
		}
		err := w.src.Read(&f)
		if err != nil {
			if err == ErrTimeout {
				if stopAt != 0 {
					break
				}
				w.drain() // idle: nothing waits in the queue
				now := w.e.cfg.Clock()
				w.table.Expire(now, w.emit)
				w.ship()
				w.lastShip = now
				w.publish()
				continue
			}
			if err != io.EOF && err != ErrClosed {
				w.e.errMu.Lock()
				w.e.errs = append(w.e.errs, err)
				w.e.errMu.Unlock()
			}
			break
		}
		w.frames++
		p := w.ahead.Slot()
		w.dec.Decode(&f, p)
		if r := p.Reason; int(r) < len(w.reason) {
			w.reason[r]++
		}
		if p = w.ahead.Push(); p != nil {
			w.count(p)
		}
		if w.frames&1023 == 0 {
			if now := w.e.cfg.Clock(); now-w.lastShip >= ship {
				w.ship()
				w.lastShip = now
				w.publish()
			}
		}
	}
	w.drain()
	w.table.Flush(w.emit)
	w.ship()
	w.publish()
	w.src.Close()
}

// count adds a decoded packet to the table and sweeps for expired flows
// when its time has reached the next sweep.
func (w *worker) count(p *capture.Packet) {
	w.table.Add(p, w.emit)
	if p.Reason == capture.ReasonNone && p.Time >= w.nextSweep {
		w.table.Expire(p.Time, w.emit)
		w.nextSweep = p.Time + int64(w.e.cfg.Sweep)
	}
}

// drain adds the packets still queued in front of the table.
func (w *worker) drain() {
	for p := w.ahead.Pop(); p != nil; p = w.ahead.Pop() {
		w.count(p)
	}
}

// fileSource adapts a capture file reader (capture.FrameSource) to Source.
type fileSource struct {
	r      capture.FrameSource
	n      uint64        // frames read (the worker's own count)
	frames atomic.Uint64 // n as Stats sees it: published every 256 frames and at the end
	err    error
}

// FromFrames returns a Source over a frame reader (capture/pcapfile), for
// running a capture file through the live engine: io.EOF ends it; a read
// error ends it too and is returned (the engine reports it).
func FromFrames(r capture.FrameSource) Source { return &fileSource{r: r} }

func (s *fileSource) Read(f *capture.Frame) error {
	if s.err != nil {
		return s.err
	}
	if err := s.r.Next(f); err != nil {
		s.err = err
		s.frames.Store(s.n)
		return err
	}
	if s.n++; s.n&255 == 0 {
		s.frames.Store(s.n) // an atomic add per frame costs a few percent
	}
	return nil
}

func (s *fileSource) Stats() Stats { return Stats{Frames: s.frames.Load()} }

func (s *fileSource) Close() error {
	s.frames.Store(s.n)
	if s.err == nil {
		s.err = io.EOF
	}
	if c, ok := s.r.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
