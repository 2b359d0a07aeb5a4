package input

import (
	"bytes"
	"io"
	"math"
	"os"
	"sync"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/aws"
)

// MinSplit is the smallest file RunParts splits: below it the goroutines
// cost more than they save.
const MinSplit = 8 << 20

// minSplit is MinSplit, lowered by the tests and the fuzz target to split
// small files.
var minSplit int64 = MinSplit

// RunParts reads inputs like RunBatched, into parts made by newPart: each
// part receives, through add, a contiguous stretch of the records in input
// order, and a part made later holds later records, so a consumer that
// merges its parts in the order returned sees the records in input order.
// A plain (uncompressed) AWS text file of at least MinSplit bytes is cut at
// line ends into workers byte ranges, each read and handed to a part of
// its own on a goroutine of its own (the later ranges start with the field
// order of the file's first line and are read again, one after another,
// when the range before ends with another: a header in mid-file). Every
// other input is read on one goroutine while the caller's goroutine feeds
// a part, as RunBatched does. add must not keep the record; it is called
// concurrently for different parts. newPart is called on the caller's
// goroutine. Problems of a split file are reported in line order once all
// its ranges are read, with their lines numbered in the whole file.
//
// Strict runs never split (the first problem must stop the reading).
func RunParts[P any](inputs []Input, opts Options, workers int, newPart func() P, add func(P, *flowlog.Record)) ([]P, *Summary, error) {
	sum := &Summary{}
	var parts []P
	var batch []Input // consecutive inputs read by RunBatched into one part
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		p := newPart()
		parts = append(parts, p)
		s, err := RunBatched(batch, opts, func(b []flowlog.Record) error {
			for i := range b {
				add(p, &b[i])
			}
			return nil
		})
		batch = batch[:0]
		sum.Files = append(sum.Files, s.Files...)
		return err
	}
	for _, in := range inputs {
		sp := splitPlan(in, &opts, workers)
		if sp == nil {
			batch = append(batch, in)
			continue
		}
		if err := flush(); err != nil {
			sp.f.Close()
			return parts, sum, err
		}
		t := &flowlog.Tally{Path: in.Path, OnProblem: opts.OnProblem}
		sum.Files = append(sum.Files, t)
		parts = runSplit(sp, t, newPart, add, parts)
		sp.f.Close()
	}
	return parts, sum, flush()
}

// split is the plan for reading one file in byte ranges.
type split struct {
	f      *os.File
	bounds []int64     // range k is [bounds[k], bounds[k+1])
	def    *aws.Format // --aws-fields or nil: the first range's start
	lead   *aws.Format // the format after the file's first line
}

// splitPlan returns the plan for in, or nil (closing what it opened) when
// in is read whole.
func splitPlan(in Input, opts *Options, workers int) *split {
	if workers < 2 || opts.Strict || in.Err != nil || in.Open == nil || in.Path == "-" ||
		(opts.Format != "" && opts.Format != flowlog.SourceAWSText.String()) {
		return nil
	}
	st, err := os.Stat(in.Path)
	if err != nil || !st.Mode().IsRegular() || st.Size() < minSplit {
		return nil
	}
	size := st.Size()
	def, err := awsFormat(&flowlog.Tally{}, opts)
	if err != nil {
		return nil // reported when read whole
	}
	f, err := os.Open(in.Path)
	if err != nil {
		return nil
	}
	head := make([]byte, sniffLen)
	n, _ := f.ReadAt(head, 0)
	head = head[:n]
	if kind, _ := Detect(head, int64(n) == size); kind != KindAWSText {
		f.Close()
		return nil
	}
	sp := &split{f: f, def: def, lead: aws.LeadingFormat(head, def), bounds: []int64{0}}
	buf := make([]byte, 64<<10)
	for k := 1; k < workers; k++ {
		prev := sp.bounds[k-1]
		b, ok := lineEnd(f, max(size*int64(k)/int64(workers), prev), size, buf)
		if !ok {
			// No line ends before the size seen (a last line still being
			// written, say): this range and the ones after it stay
			// empty, and the last reads from prev to the end.
			b = prev
		}
		sp.bounds = append(sp.bounds, b)
	}
	// The last range reads to the end, as Run does, should the file grow
	// meanwhile.
	sp.bounds = append(sp.bounds, math.MaxInt64)
	return sp
}

// lineEnd returns the offset after the first '\n' in [off, size), or false
// when there is none. Bytes at or past size (the file grew after it was
// measured) are never looked at, so the bounds never pass the size.
func lineEnd(f *os.File, off, size int64, buf []byte) (int64, bool) {
	for off < size {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			return off + int64(i) + 1, true
		}
		off += int64(n)
		if err != nil || n == 0 {
			break
		}
	}
	return 0, false
}

// maxBuffered bounds the problems a later range keeps until the ranges
// before it are read: beyond it (a file of mostly bad lines) the range is
// read again after them, its problems then streamed, so that memory stays
// bounded whatever the input.
var maxBuffered = 10_000 // a variable for the tests

// rangePart is one byte range being read.
type rangePart[P any] struct {
	part     P
	t        flowlog.Tally
	problems []flowlog.Problem
	overflow bool        // more than maxBuffered problems: read again
	final    *aws.Format // the field order in effect at its end
	lines    int64
}

// buffer keeps a problem for later.
func (rp *rangePart[P]) buffer(p flowlog.Problem) {
	if len(rp.problems) == maxBuffered {
		rp.overflow = true
		return
	}
	rp.problems = append(rp.problems, p)
}

// read reads [lo, hi) starting with format into rp.part.
func (rp *rangePart[P]) read(f *os.File, lo, hi int64, format *aws.Format, add func(P, *flowlog.Record)) {
	tr := aws.NewTextReader(io.NewSectionReader(f, lo, hi-lo), &rp.t, format)
	var rec flowlog.Record
	for tr.Next(&rec) {
		add(rp.part, &rec)
	}
	rp.final, rp.lines = tr.Format(), tr.Lines()
}

// runSplit reads the ranges of sp at once, then checks each later range's
// start format against the end of the one before; from the first wrong
// guess on, the rest of the file is read again into one part.
func runSplit[P any](sp *split, t *flowlog.Tally, newPart func() P, add func(P, *flowlog.Record), parts []P) []P {
	newRange := func(onProblem func(flowlog.Problem)) *rangePart[P] {
		rp := &rangePart[P]{part: newPart()}
		rp.t.Path, rp.t.OnProblem = t.Path, onProblem
		return rp
	}
	n := len(sp.bounds) - 1
	rps := make([]*rangePart[P], n)
	var wg sync.WaitGroup
	for k := range rps {
		var rp *rangePart[P]
		start := sp.lead
		switch {
		case k == 0:
			rp, start = newRange(t.OnProblem), sp.def // its problems are in order already
		case t.OnProblem != nil:
			rp = newRange(nil)
			rp.t.OnProblem = rp.buffer
		default:
			rp = newRange(nil)
		}
		rps[k] = rp
		wg.Add(1)
		go func() {
			defer wg.Done()
			rp.read(sp.f, sp.bounds[k], sp.bounds[k+1], start, add)
		}()
	}
	wg.Wait()
	lines := int64(0)
	for k, rp := range rps {
		if k > 0 && (!rps[k-1].final.Same(sp.lead) || rp.overflow) {
			// A header in mid-file changed the field order, or too many
			// problems to keep: read the rest again, in one part, from
			// the field order the range before ended with, its problems
			// reported as they come.
			var stream func(flowlog.Problem)
			if t.OnProblem != nil {
				stream = func(p flowlog.Problem) { t.OnProblem(renumbered(p, lines)) }
			}
			again := newRange(stream)
			again.read(sp.f, sp.bounds[k], sp.bounds[n], rps[k-1].final, add)
			again.emit(t, lines)
			parts = append(parts, again.part)
			break
		}
		rp.emit(t, lines)
		lines += rp.lines
		parts = append(parts, rp.part)
	}
	t.Format = flowlog.SourceAWSText
	return parts
}

// renumbered is p with its line counted in the whole file, lines being
// the lines of the ranges before its own.
func renumbered(p flowlog.Problem, lines int64) flowlog.Problem {
	if p.Pos > 0 {
		p.Pos += lines
	}
	return p
}

// emit adds the range's counts to t and reports its buffered problems
// (none when they were streamed) with their lines numbered in the whole
// file.
func (rp *rangePart[P]) emit(t *flowlog.Tally, lines int64) {
	t.Add(&rp.t)
	for _, p := range rp.problems {
		t.OnProblem(renumbered(p, lines))
	}
}
