package clickhouse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/flowsift/flowsift/analyze/verdict"
	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/storage/spool"
)

var (
	// ErrClosed is returned by Write after Close.
	ErrClosed = errors.New("clickhouse: sink closed")
	// ErrSpoolFull: the server stayed down and the spool reached its bound;
	// the records named in the error are not stored anywhere.
	ErrSpoolFull = errors.New("clickhouse: server down and spool full")
	// ErrPending: Close could not reach the server for everything; the
	// rest waits in the spool and the next run replays it.
	ErrPending = errors.New("clickhouse: batches left in the spool")
)

// Stats count what a Sink did. Read them with Sink.Stats.
type Stats struct {
	Rows     int64 // rows stored in ClickHouse
	Batches  int64 // batches stored
	Retries  int64 // insert attempts that failed
	Spooled  int64 // batches written to the spool
	Replayed int64 // spooled batches stored afterwards
	// InDoubt counts resolutions of batches whose earlier insert may have
	// been applied (one per attempt);
	// Duplicates those of them found already stored (not inserted again).
	InDoubt    int64
	Duplicates int64
	// Corrections: rollup rows added by the repair of interrupted inserts.
	Corrections int64
	Clamped     int64 // records with a value changed to fit its column (time before 1970 or after 2106, negative count)
	LostRows    int64 // rows neither stored nor spooled (ErrSpoolFull)
	Quarantined int64 // unreadable spool files set aside (*.bad)

	SpoolBatches int   // batches in the spool now
	SpoolBytes   int64 // its size
	SpoolMax     int64 // its bound
	SpoolDir     string
}

// maxOpen is how many days may have a batch filling at once; records out
// of order across more days flush the fullest batch early.
const maxOpen = 4

// Sink writes judged records to ClickHouse. Write is safe for concurrent use.
type Sink struct {
	opts   Options
	target Target
	conn   driver.Conn
	schema Schema
	spool  *spool.Spool
	runID  string
	logf   func(string, ...any)

	mu        sync.Mutex
	open      []*batch
	free      chan *batch
	allocated int
	seq       uint64
	closed    bool

	queue    chan *batch
	done     chan struct{}
	stopTick chan struct{}

	errMu sync.Mutex
	err   error // sticky: data lost

	closeDeadline atomic.Int64 // UnixNano; 0 while open

	// sender state (sender goroutine only)
	nextTry  time.Time
	backoff  time.Duration
	down     bool
	encBuf   []byte
	readBuf  []byte
	replayB  batch
	flowsTbl string
	inflight int         // fresh inserts running in parallel
	results  chan result // their outcomes
	failed   []*batch    // of them, those that failed: resolved one by one

	rows, batches, retries, spooled, replayed, inDoubt, dups, corrections, clamped, lost, quarantined atomic.Int64
}

// Open connects to the store named by url (clickhouse://USER@HOST:PORT/DB),
// brings its schema up to date and starts the sender. Batches spooled by an
// earlier run are replayed first.
func Open(ctx context.Context, url string, opts Options) (*Sink, error) {
	opts = opts.withDefaults()
	conn, t, sch, _, err := connectMigrated(ctx, url, opts, false)
	if err != nil {
		return nil, err
	}
	dir := opts.SpoolDir
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		dir = filepath.Join(base, "flowsift", "spool", strings.NewReplacer(":", "_", "[", "", "]", "").Replace(t.Host)+"_"+t.Database)
	}
	sp, err := spool.Open(dir, opts.SpoolMaxBytes)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("clickhouse: spool: %w", err)
	}
	var id [8]byte
	rand.Read(id[:])
	s := &Sink{
		opts: opts, target: t, conn: conn, schema: sch, spool: sp,
		runID:    hex.EncodeToString(id[:]),
		logf:     opts.Logf,
		free:     make(chan *batch, maxOpen+opts.QueueBatches+opts.Parallel+1),
		results:  make(chan result, opts.Parallel),
		queue:    make(chan *batch, opts.QueueBatches),
		done:     make(chan struct{}),
		stopTick: make(chan struct{}),
		flowsTbl: sch.table("flows"),
	}
	if s.logf == nil {
		s.logf = func(string, ...any) {}
	}
	if n := sp.Len(); n > 0 {
		s.logf("clickhouse: %d batch(es) from an earlier run in the spool %s; replaying them first", n, dir)
	}
	go s.run()
	go s.ticker()
	return s, nil
}

func connect(ctx context.Context, t Target, opts Options) (driver.Conn, Features, error) {
	pw, err := password(opts.PasswordFile)
	if err != nil {
		return nil, Features{}, err
	}
	comp := opts.Compression
	if c := t.Query.Get("compress"); c != "" {
		comp = c
	}
	if comp == "" {
		comp = "lz4"
		if isLoopback(t.Host) {
			comp = "none"
		}
	}
	var method clickhouse.CompressionMethod
	switch comp {
	case "none":
		method = clickhouse.CompressionNone
	case "lz4":
		method = clickhouse.CompressionLZ4
	case "zstd":
		method = clickhouse.CompressionZSTD
	default:
		return nil, Features{}, fmt.Errorf("clickhouse: compression %q: want none, lz4 or zstd", comp)
	}
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:        []string{t.Host},
		Auth:        clickhouse.Auth{Username: t.User, Password: pw},
		Compression: &clickhouse.Compression{Method: method},
		DialTimeout: 5 * time.Second,
		// A mistaken INSERT … VALUES hangs 18.16 until the read timeout
		// (clickhouse18.md); keep it finite.
		ReadTimeout:  opts.InsertTimeout,
		MaxOpenConns: 4,
		// The driver warns about servers older than it supports (18.16 is);
		// the version is detected and reported here instead.
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return nil, Features{}, fmt.Errorf("clickhouse: %s: %w", t, err)
	}
	f, err := DetectFeatures(ctx, conn)
	if err != nil {
		conn.Close()
		return nil, Features{}, fmt.Errorf("clickhouse: %s: %w", t, err)
	}
	return conn, f, nil
}

// MigrateURL connects to url and brings its schema up to date (flowsift db
// migrate), rewriting tables where a step needs it: stop the writers first.
func MigrateURL(ctx context.Context, url string, opts Options) (MigrateResult, error) {
	conn, _, _, res, err := connectMigrated(ctx, url, opts.withDefaults(), true)
	if err != nil {
		return res, err
	}
	conn.Close()
	return res, nil
}

// connectMigrated connects to url (opts with their defaults) and brings
// the schema up to date, rewriting tables only when rewrite is set (see
// Migrate). The caller closes the connection.
func connectMigrated(ctx context.Context, url string, opts Options, rewrite bool) (driver.Conn, Target, Schema, MigrateResult, error) {
	t, err := ParseURL(url)
	if err != nil {
		return nil, t, Schema{}, MigrateResult{}, err
	}
	conn, f, err := connect(ctx, t, opts)
	if err != nil {
		return nil, t, Schema{}, MigrateResult{}, err
	}
	s := Schema{DB: t.Database, F: f, RetentionDays: opts.RetentionDays}
	res, err := Migrate(ctx, conn, s, rewrite)
	if err != nil {
		conn.Close()
		return nil, t, s, res, err
	}
	return conn, t, s, res, nil
}

// Features reports what the server supports.
func (s *Sink) Features() Features { return s.schema.F }

// Target is the store the sink writes to (no password).
func (s *Sink) Target() Target { return s.target }

func (s *Sink) setErr(err error) {
	s.errMu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.errMu.Unlock()
}

func (s *Sink) getErr() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.err
}

// Write adds one record and its judgment (res may be nil: no policy). It
// blocks when the sender is behind (backpressure). r's Attrs are copied.
func (s *Sink) Write(r *flowlog.Record, res *verdict.Result) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.getErr(); err != nil {
		return err
	}
	day := dayOf(r)
	var b *batch
	for _, o := range s.open {
		if o.day == day {
			b = o
			break
		}
	}
	if b == nil {
		if len(s.open) == maxOpen {
			full := 0
			for i, o := range s.open {
				if o.n > s.open[full].n {
					full = i
				}
			}
			s.enqueue(full)
		}
		b = s.getFree()
		b.created = time.Now()
		s.open = append(s.open, b)
	}
	if b.add(r, res, s.opts.Policy) {
		s.clamped.Add(1)
	}
	if b.n >= s.opts.BatchRows {
		for i, o := range s.open {
			if o == b {
				s.enqueue(i)
				break
			}
		}
	}
	return nil
}

func (s *Sink) getFree() *batch {
	select {
	case b := <-s.free:
		return b
	default:
	}
	if s.allocated < cap(s.free) {
		s.allocated++
		b := &batch{}
		b.reset()
		return b
	}
	return <-s.free
}

// enqueue hands open batch i to the sender (s.mu held). It blocks while
// the queue is full.
func (s *Sink) enqueue(i int) {
	b := s.open[i]
	s.open = append(s.open[:i], s.open[i+1:]...)
	s.seq++
	b.id = s.runID + "-" + strconv.FormatUint(s.seq, 10)
	s.queue <- b
}

// Flush hands every partly filled batch to the sender now. It does not wait
// for them to be stored.
func (s *Sink) Flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	for len(s.open) > 0 {
		s.enqueue(0)
	}
}

func (s *Sink) ticker() {
	every := s.opts.BatchDelay / 4
	if every < 10*time.Millisecond {
		every = 10 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stopTick:
			return
		case now := <-t.C:
			s.mu.Lock()
			if !s.closed {
				for i := 0; i < len(s.open); {
					if now.Sub(s.open[i].created) >= s.opts.BatchDelay {
						s.enqueue(i)
						continue
					}
					i++
				}
			}
			s.mu.Unlock()
		}
	}
}

// Close flushes every buffered record to ClickHouse (or to the spool when
// the server is down), tries for at most CloseTimeout to replay the spool,
// and releases the connection. It returns an error wrapping ErrPending
// when batches wait in the spool, or ErrSpoolFull when records were lost.
// Call it on SIGINT/SIGTERM too: it is what flushes everything.
func (s *Sink) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return s.getErr()
	}
	for len(s.open) > 0 {
		s.enqueue(0)
	}
	s.closed = true
	s.closeDeadline.Store(time.Now().Add(s.opts.CloseTimeout).UnixNano())
	close(s.queue)
	s.mu.Unlock()
	close(s.stopTick)
	<-s.done
	s.conn.Close()
	if err := s.getErr(); err != nil {
		return err
	}
	if n := s.spool.Len(); n > 0 {
		return fmt.Errorf("%w: %d batch(es), %d bytes in %s; the next run against this store replays them", ErrPending, n, s.spool.Bytes(), s.spool.Dir())
	}
	return nil
}

// Stats returns the counters so far.
func (s *Sink) Stats() Stats {
	return Stats{
		Rows: s.rows.Load(), Batches: s.batches.Load(), Retries: s.retries.Load(), Spooled: s.spooled.Load(),
		Replayed: s.replayed.Load(), InDoubt: s.inDoubt.Load(), Duplicates: s.dups.Load(),
		Corrections: s.corrections.Load(), Clamped: s.clamped.Load(), LostRows: s.lost.Load(),
		Quarantined:  s.quarantined.Load(),
		SpoolBatches: s.spool.Len(), SpoolBytes: s.spool.Bytes(), SpoolMax: s.spool.Max(), SpoolDir: s.spool.Dir(),
	}
}

// ---- sender goroutine

func (s *Sink) run() {
	defer close(s.done)
	for {
		var wake <-chan time.Time
		if s.spool.Len() > 0 {
			wake = time.After(time.Until(s.nextTry))
		}
		select {
		case b, ok := <-s.queue:
			if !ok {
				s.settle()
				s.drainAtClose()
				return
			}
			s.handle(b)
		case r := <-s.results:
			s.collect(r)
		case <-wake:
			s.settle()
			s.replay()
		}
	}
}

// result is the outcome of one parallel fresh insert.
type result struct {
	b   *batch
	err error
}

func (s *Sink) release(b *batch) {
	b.reset()
	s.free <- b
}

// collect takes the outcome of a parallel insert: a failed batch is in
// doubt (it may have been applied) and waits for settle.
func (s *Sink) collect(r result) {
	s.inflight--
	if r.err == nil {
		s.release(r.b)
		return
	}
	s.retries.Add(1)
	r.b.inDoubt = true
	s.failed = append(s.failed, r.b)
}

// settle waits for every parallel insert, then resolves the failed ones one
// at a time (nothing else is inserted meanwhile, as the repair requires),
// spooling what still cannot be stored.
func (s *Sink) settle() {
	for s.inflight > 0 {
		s.collect(<-s.results)
	}
	failed := s.failed
	s.failed = nil
	for _, b := range failed {
		if s.spool.Len() > 0 || s.storeWithRetry(b) != nil {
			s.toSpool(b)
		}
		s.release(b)
	}
}

func (s *Sink) closing() (bool, time.Time) {
	d := s.closeDeadline.Load()
	if d == 0 {
		return false, time.Time{}
	}
	return true, time.Unix(0, d)
}

// handle stores b. While the server answers and nothing waits in the spool,
// up to Parallel fresh batches are inserted at once (the server runs each
// INSERT and its views on one core); otherwise batches go one at a time:
// the spool is replayed first, retries back off, and in-doubt batches are
// resolved with no other insert running.
func (s *Sink) handle(b *batch) {
	for s.inflight > 0 && s.inflight >= s.opts.Parallel {
		s.collect(<-s.results)
	}
	if s.opts.Parallel > 1 && !s.down && len(s.failed) == 0 && s.spool.Len() == 0 {
		s.inflight++
		go func() { s.results <- result{b, s.store(b)} }()
		return
	}
	s.settle()
	if s.spool.Len() > 0 {
		s.replay()
	}
	if s.spool.Len() > 0 || s.storeWithRetry(b) != nil {
		s.toSpool(b)
	}
	s.release(b)
}

// storeWithRetry inserts b, retrying with backoff; an error means the server
// is considered down.
func (s *Sink) storeWithRetry(b *batch) error {
	wait := s.opts.RetryBackoff
	for attempt := 0; ; attempt++ {
		err := s.store(b)
		if err == nil {
			if s.down {
				s.logf("clickhouse: %s answers again", s.target.Host)
			}
			s.down, s.backoff = false, 0
			return nil
		}
		s.retries.Add(1)
		b.inDoubt = true // the failed attempt may have been applied
		if attempt >= s.opts.Retries {
			if !s.down {
				s.logf("clickhouse: %s: insert failed %d times (%v); spooling batches to %s", s.target.Host, attempt+1, err, s.spool.Dir())
			}
			s.down = true
			s.scheduleRetry()
			return err
		}
		if c, deadline := s.closing(); c && time.Now().Add(wait).After(deadline) {
			return err
		}
		time.Sleep(wait)
		wait = min(2*wait, s.opts.MaxBackoff)
	}
}

func (s *Sink) scheduleRetry() {
	if s.backoff == 0 {
		s.backoff = s.opts.RetryBackoff
	} else {
		s.backoff = min(2*s.backoff, s.opts.MaxBackoff)
	}
	s.nextTry = time.Now().Add(s.backoff)
}

// store inserts b once: directly when fresh, through resolve when in doubt.
func (s *Sink) store(b *batch) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.InsertTimeout)
	defer cancel()
	if b.inDoubt {
		s.inDoubt.Add(1)
		if err := s.resolve(ctx, b); err != nil {
			return err
		}
	} else {
		if err := b.send(ctx, s.conn, s.flowsTbl); err != nil {
			return err
		}
		if err := s.ledger(ctx, b); err != nil {
			return err
		}
	}
	s.rows.Add(int64(b.n))
	s.batches.Add(1)
	return nil
}

func (s *Sink) ledger(ctx context.Context, b *batch) error {
	pb, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.schema.table("batches")+" (batch_id, rows, packets, bytes, min_start, max_start, replayed, stored)")
	if err != nil {
		return err
	}
	defer pb.Close()
	if err := pb.Append(b.id, uint64(b.n), b.packetsN, b.bytesN, time.Unix(b.minStart, 0), time.Unix(b.maxStart, 0),
		boolByte(b.inDoubt), time.Now()); err != nil {
		return err
	}
	return pb.Send()
}

// resolve stores a batch whose earlier insert may have been applied, in
// whole or in part, without doubling anything (see the package doc).
func (s *Sink) resolve(ctx context.Context, b *batch) error {
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM "+s.schema.table("batches")+" WHERE batch_id = ?", b.id).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		s.dups.Add(1)
		return nil
	}
	q := fmt.Sprintf("SELECT count() FROM %s WHERE `start` >= toDateTime(%d, 'UTC') AND `start` <= toDateTime(%d, 'UTC') AND batch_id = ?",
		s.flowsTbl, b.minStart, b.maxStart)
	if err := s.conn.QueryRow(ctx, q, b.id).Scan(&n); err != nil {
		return err
	}
	switch {
	case n == uint64(b.n):
		s.dups.Add(1)
	case n == 0:
		if err := b.send(ctx, s.conn, s.flowsTbl); err != nil {
			return err
		}
	default:
		s.logf("clickhouse: batch %s: %d of %d rows stored; deleting them before inserting again", b.id, n, b.n)
		if err := s.deleteBatch(ctx, b); err != nil {
			return err
		}
		if err := b.send(ctx, s.conn, s.flowsTbl); err != nil {
			return err
		}
	}
	for _, r := range Rollups {
		if err := s.reconcile(ctx, r, b.minStart, b.maxStart); err != nil {
			return err
		}
	}
	if err := s.conn.Exec(ctx, s.schema.FlowKeysReconcileSQL(b.minStart, b.maxStart+1)); err != nil {
		return fmt.Errorf("reconcile flow_keys: %w", err)
	}
	return s.ledger(ctx, b)
}

func (s *Sink) deleteBatch(ctx context.Context, b *batch) error {
	if err := s.conn.Exec(ctx, "ALTER TABLE "+s.flowsTbl+" DELETE WHERE batch_id = ?", b.id); err != nil {
		return err
	}
	for {
		var pending uint64
		err := s.conn.QueryRow(ctx, "SELECT count() FROM system.mutations WHERE database = ? AND table = 'flows' AND is_done = 0", s.schema.DB).Scan(&pending)
		if err != nil {
			return err
		}
		if pending == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// reconcile makes rollup r equal to the aggregate of flows over the buckets
// covering [minStart, maxStart].
func (s *Sink) reconcile(ctx context.Context, r Rollup, minStart, maxStart int64) error {
	w := int64(r.Width / time.Second)
	lo, hi := minStart/w*w, maxStart/w*w+w
	before, err := s.rollupRows(ctx, r)
	if err != nil {
		return err
	}
	if err := s.conn.Exec(ctx, s.schema.ReconcileSQL(r, lo, hi)); err != nil {
		return fmt.Errorf("reconcile %s: %w", r.Table, err)
	}
	after, err := s.rollupRows(ctx, r)
	if err != nil {
		return err
	}
	// Merges may shrink the table meanwhile; the count is informative.
	if after > before {
		s.corrections.Add(int64(after - before))
	}
	return nil
}

func (s *Sink) rollupRows(ctx context.Context, r Rollup) (uint64, error) {
	var n uint64
	err := s.conn.QueryRow(ctx, "SELECT count() FROM "+s.schema.table(r.Table)).Scan(&n)
	return n, err
}

// toSpool writes b to the spool, waiting for room while the spool is full.
func (s *Sink) toSpool(b *batch) {
	s.encBuf = b.encode(s.encBuf[:0])
	var since time.Time
	for !s.spool.Fits(len(s.encBuf)) {
		if since.IsZero() {
			since = time.Now()
			s.logf("clickhouse: spool %s full (%d of %d bytes); waiting for %s", s.spool.Dir(), s.spool.Bytes(), s.spool.Max(), s.target.Host)
		}
		c, deadline := s.closing()
		if c && time.Now().After(deadline) || s.opts.SpoolFullWait > 0 && time.Since(since) > s.opts.SpoolFullWait {
			s.lost.Add(int64(b.n))
			s.setErr(fmt.Errorf("%w: %d bytes used of %d in %s, %d record(s) of batch %s not stored (and every later one refused)",
				ErrSpoolFull, s.spool.Bytes(), s.spool.Max(), s.spool.Dir(), b.n, b.id))
			return
		}
		time.Sleep(max(0, min(time.Until(s.nextTry), 100*time.Millisecond)))
		if !time.Now().Before(s.nextTry) {
			s.replay()
		}
	}
	if _, err := s.spool.Put(s.encBuf); err != nil {
		s.lost.Add(int64(b.n))
		s.setErr(fmt.Errorf("clickhouse: spool: %w (%d record(s) of batch %s not stored)", err, b.n, b.id))
		return
	}
	s.spooled.Add(1)
}

// replay stores spooled batches oldest first until the spool is empty or
// the server fails again. It waits for nothing: when the backoff has not
// expired it returns at once.
func (s *Sink) replay() {
	for s.spool.Len() > 0 && !time.Now().Before(s.nextTry) {
		seq, p, ok, err := s.spool.Oldest(s.readBuf)
		if !ok {
			return
		}
		s.readBuf = p
		if err == nil {
			err = s.replayB.decode(p)
		}
		if err != nil {
			var ce *spool.CorruptError
			if errors.As(err, &ce) || errors.Is(err, errDecode) {
				s.quarantined.Add(1)
				s.logf("clickhouse: spooled batch %d unreadable (%v); kept as .bad in %s", seq, err, s.spool.Dir())
				s.spool.Quarantine(seq)
				continue
			}
			s.logf("clickhouse: spool: %v", err)
			s.scheduleRetry()
			return
		}
		s.replayB.inDoubt = true
		if err := s.store(&s.replayB); err != nil {
			s.retries.Add(1)
			s.scheduleRetry()
			return
		}
		if s.down {
			s.logf("clickhouse: %s answers again; replaying the spool", s.target.Host)
			s.down = false
		}
		s.backoff = 0
		s.replayed.Add(1)
		if err := s.spool.Remove(seq); err != nil {
			// Stored but still spooled: the ledger makes the next replay a no-op.
			s.logf("clickhouse: spool: %v", err)
		}
	}
}

// drainAtClose replays what it can until the spool is empty or the close
// deadline passes.
func (s *Sink) drainAtClose() {
	_, deadline := s.closing()
	for s.spool.Len() > 0 && time.Now().Before(deadline) {
		if wait := time.Until(s.nextTry); wait > 0 {
			time.Sleep(min(wait, time.Until(deadline)))
			continue
		}
		s.replay()
	}
}
