package parquet

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/flowsift/flowsift/analyze/verdict"
	"github.com/flowsift/flowsift/flowlog"
)

// A directory of Parquet files, Hive-partitioned by the UTC hour of the
// records' start:
//
//	DIR/date=2026-11-23/hour=07/part-20261123T081502Z-3f9a1c2e-0001.parquet
//
// Why date and hour: flow logs are queried by time range, and DuckDB
// (hive_partitioning), ClickHouse (_path / virtual columns), Spark and
// pyarrow.dataset prune on path keys before opening a file; an hour holds
// a useful amount of traffic (AWS and Azure deliver hourly objects, the
// ClickHouse table partitions by day) and keeps a run's file count at most
// 24 a day, where a finer key would scatter small files.
//
// Files are never overwritten. A run has its own id (UTC start time and
// random bits), so writing into a directory that already has files adds
// new parts beside them. Each file is written as a hidden temporary
// (.part-….parquet.tmp, which flowsift, DuckDB and Hive-style readers skip)
// in its partition, synced, and then linked to its final name, which fails
// rather than replace an existing file: a reader sees whole files or
// nothing. A temporary left by a crash can be deleted.

// DirOptions tune a DirWriter. Zero values take the defaults.
type DirOptions struct {
	Options
	// MaxOpen is how many partition files are open at once (default 8).
	// Another partition closes the one written least recently; a later
	// record of that hour starts a new part. Every open file buffers up to
	// a row group, so this bounds memory.
	MaxOpen int
	// RunID names this run's files (default: UTC time and random hex).
	RunID string
}

// DirStats describes what a DirWriter wrote.
type DirStats struct {
	RunID      string
	Rows       int64
	Files      []string // published files, relative to the directory
	Partitions int      // distinct partitions written
}

// DirWriter writes records into a Hive-partitioned directory. Not safe
// for concurrent use.
type DirWriter struct {
	dir   string
	opts  DirOptions
	open  map[int64]*partFile // by hour (Unix seconds / 3600)
	last  *partFile
	clock uint64
	seq   int
	parts map[int64]bool
	stats DirStats
	err   error
}

type partFile struct {
	hour       int64
	tmp, final string // final is relative to the directory
	f          *os.File
	bw         *bufio.Writer
	w          *Writer
	used       uint64
}

// OpenDir prepares writing into dir, creating it when missing.
func OpenDir(dir string, opts DirOptions) (*DirWriter, error) {
	if opts.MaxOpen <= 0 {
		opts.MaxOpen = 8
	}
	if opts.RunID == "" {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		opts.RunID = time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &DirWriter{dir: dir, opts: opts, open: map[int64]*partFile{}, parts: map[int64]bool{},
		stats: DirStats{RunID: opts.RunID}}, nil
}

// PartitionPath is the partition directory of a record starting at start
// (Unix seconds): date=YYYY-MM-DD/hour=HH in UTC.
func PartitionPath(start int64) string {
	return partitionPath(hourOf(start))
}

func hourOf(start int64) int64 {
	h := start / 3600
	if start < 0 && start%3600 != 0 {
		h--
	}
	return h
}

func partitionPath(hour int64) string {
	t := time.Unix(hour*3600, 0).UTC()
	return "date=" + t.Format("2006-01-02") + string(filepath.Separator) + "hour=" + t.Format("15")
}

// Write adds one record (res may be nil without Options.Judged).
func (d *DirWriter) Write(r *flowlog.Record, res *verdict.Result) error {
	if d.err != nil {
		return d.err
	}
	p := d.last
	if h := hourOf(r.Start); p == nil || p.hour != h {
		if p = d.open[h]; p == nil {
			if p, d.err = d.openPart(h); d.err != nil {
				return d.err
			}
		}
		d.last = p
		d.clock++
		p.used = d.clock
	}
	if err := p.w.WriteJudged(r, res); err != nil {
		d.err = fmt.Errorf("%s: %w", p.tmp, err)
		return d.err
	}
	d.stats.Rows++
	return nil
}

func (d *DirWriter) openPart(hour int64) (*partFile, error) {
	if len(d.open) >= d.opts.MaxOpen {
		var lru *partFile
		for _, p := range d.open {
			if lru == nil || p.used < lru.used {
				lru = p
			}
		}
		if err := d.finish(lru); err != nil {
			return nil, err
		}
	}
	part := partitionPath(hour)
	if err := os.MkdirAll(filepath.Join(d.dir, part), 0o755); err != nil {
		return nil, err
	}
	d.seq++
	name := "part-" + d.opts.RunID + "-" + fmt.Sprintf("%04d", d.seq) + ".parquet"
	p := &partFile{hour: hour, final: filepath.Join(part, name), tmp: filepath.Join(d.dir, part, "."+name+".tmp")}
	f, err := os.OpenFile(p.tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	p.f, p.bw = f, bufio.NewWriterSize(f, 1<<20)
	if p.w, err = NewWriter(p.bw, d.opts.Options); err != nil {
		f.Close()
		os.Remove(p.tmp)
		return nil, err
	}
	d.open[hour] = p
	d.parts[hour] = true
	return p, nil
}

// finish completes, syncs and publishes one file.
func (d *DirWriter) finish(p *partFile) error {
	delete(d.open, p.hour)
	if d.last == p {
		d.last = nil
	}
	err := p.w.Close()
	if err == nil {
		err = p.bw.Flush()
	}
	if err == nil {
		err = p.f.Sync()
	}
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = publish(p.tmp, filepath.Join(d.dir, p.final))
	}
	if err != nil {
		os.Remove(p.tmp)
		return fmt.Errorf("%s: %w", filepath.Join(d.dir, p.final), err)
	}
	syncDir(filepath.Dir(filepath.Join(d.dir, p.final)))
	d.stats.Files = append(d.stats.Files, p.final)
	return nil
}

// publish gives tmp its final name without ever replacing a file: a hard
// link fails when the name exists. Where links are unsupported, a rename
// after checking that the name is free.
func publish(tmp, final string) error {
	err := os.Link(tmp, final)
	if err == nil {
		return os.Remove(tmp)
	}
	if errors.Is(err, fs.ErrExist) {
		return err
	}
	if _, serr := os.Lstat(final); serr == nil {
		return &fs.PathError{Op: "publish", Path: final, Err: fs.ErrExist}
	}
	return os.Rename(tmp, final)
}

func syncDir(dir string) {
	if f, err := os.Open(dir); err == nil {
		f.Sync()
		f.Close()
	}
}

// Close publishes every open file. After a write error the files not yet
// published are removed, and the error returned.
func (d *DirWriter) Close() error {
	for _, p := range d.open {
		if d.err != nil {
			p.f.Close()
			os.Remove(p.tmp)
			delete(d.open, p.hour)
			continue
		}
		if err := d.finish(p); err != nil {
			d.err = err
		}
	}
	d.last = nil
	d.stats.Partitions = len(d.parts)
	return d.err
}

// Stats says what was written so far (complete after Close).
func (d *DirWriter) Stats() DirStats { return d.stats }

// Hours returns an order of recs that visits them hour by hour (stable
// within an hour), so that a DirWriter writes one file per partition.
func Hours(recs []flowlog.Record) []int32 {
	count := map[int64]int32{}
	for i := range recs {
		count[hourOf(recs[i].Start)]++
	}
	hours := make([]int64, 0, len(count))
	for h := range count {
		hours = append(hours, h)
	}
	slices.Sort(hours)
	next := make(map[int64]int32, len(hours))
	var at int32
	for _, h := range hours {
		next[h] = at
		at += count[h]
	}
	order := make([]int32, len(recs))
	for i := range recs {
		h := hourOf(recs[i].Start)
		order[next[h]] = int32(i)
		next[h]++
	}
	return order
}
