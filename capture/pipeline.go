package capture

import (
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/flowsift/flowsift/flowlog"
)

// FrameSource delivers frames: capture/pcapfile.Reader. Next returns io.EOF
// at a clean end and another error (naming the frame number and byte
// offset) when the input is damaged; frames before it were delivered.
type FrameSource interface {
	Next(f *Frame) error
}

// Assembler is what a Pipeline needs of a flow table
// (capture/flowtable.Table): Add emits at most one record through emit,
// ExpireNext and FlushNext hand out due / remaining records one at a time.
type Assembler interface {
	Add(p *Packet, emit func(rec *flowlog.Record))
	ExpireNext(now int64, rec *flowlog.Record) bool
	FlushNext(rec *flowlog.Record) bool
}

// PipelineConfig joins the stages. The root package cannot import them
// (they import it), so the caller passes them in; cmd/flowsift wires
// pcapfile, decode and flowtable.
type PipelineConfig struct {
	Source FrameSource
	Decode func(f *Frame, p *Packet)
	Table  Assembler
	Tally  *flowlog.Tally
	// Sweep is the packet time between expiry sweeps (0: one second).
	// Expiry runs on packet time, so reading a file gives the same records
	// however fast it is read.
	Sweep time.Duration
}

// Pipeline reads a capture to its end as a flowlog.Reader: frames are
// decoded, counted into the flow table, and records come out as flows
// expire (idle/active timeouts in packet time, evictions) and, at the end
// of the input, as the table is flushed. A damaged input ends the frames:
// the damage is reported once through the Tally as a malformed position
// (the 1-based number of the frame that could not be read; the detail
// names its byte offset) and the flows of the frames before it are still
// emitted. Frames without an IP flow are counted by reason (Reasons) and
// summed up in one note at the end; nothing is dropped silently.
type Pipeline struct {
	cfg   PipelineConfig
	sweep int64

	frame Frame
	ahead *Ahead // decoded packets on their way to the table (prefetching)

	frames  uint64
	reasons [NumReasons]uint64

	pend     []flowlog.Record // records Add emitted, not yet returned
	pendHead int
	emit     func(*flowlog.Record)

	nextSweep int64
	expiring  bool
	now       int64
	done      bool
	finished  bool
}

// NewPipeline returns a pipeline over cfg's stages.
func NewPipeline(cfg PipelineConfig) *Pipeline {
	p := &Pipeline{cfg: cfg, sweep: int64(cfg.Sweep)}
	if p.sweep <= 0 {
		p.sweep = int64(time.Second)
	}
	p.nextSweep = minInt64
	p.emit = p.push
	p.ahead = NewAhead(cfg.Table)
	return p
}

const minInt64 = -1 << 63

// Frames is the number of frames read so far.
func (p *Pipeline) Frames() uint64 { return p.frames }

// Reasons counts the frames read so far by decode result (index
// ReasonNone: frames that carried an IP flow).
func (p *Pipeline) Reasons() [NumReasons]uint64 { return p.reasons }

// push keeps a record Add emitted (copied: the table reuses it).
func (p *Pipeline) push(r *flowlog.Record) {
	if p.pendHead == len(p.pend) {
		p.pend, p.pendHead = p.pend[:0], 0
	}
	if len(p.pend) < cap(p.pend) {
		p.pend = p.pend[:len(p.pend)+1]
	} else {
		p.pend = append(p.pend, flowlog.Record{})
	}
	dst := &p.pend[len(p.pend)-1]
	attrs := dst.Attrs[:0]
	*dst = *r
	dst.Attrs = append(attrs, r.Attrs...)
}

// Next fills rec with the next record (flowlog.Reader).
func (p *Pipeline) Next(rec *flowlog.Record) bool {
	t := p.cfg.Tally
	for {
		if p.pendHead < len(p.pend) {
			src := &p.pend[p.pendHead]
			p.pendHead++
			attrs := rec.Attrs[:0]
			*rec = *src
			rec.Attrs = append(attrs, src.Attrs...)
			t.Records++
			return true
		}
		if p.expiring {
			if p.cfg.Table.ExpireNext(p.now, rec) {
				t.Records++
				return true
			}
			p.expiring = false
		}
		if p.done {
			if q := p.ahead.Pop(); q != nil {
				p.add(q)
				continue
			}
			if p.cfg.Table.FlushNext(rec) {
				t.Records++
				return true
			}
			p.finish()
			return false
		}
		if t.Aborted() {
			p.done = true
			continue
		}
		if err := p.cfg.Source.Next(&p.frame); err != nil {
			p.done = true
			if err != io.EOF {
				kind := flowlog.KindBadHeader
				if errors.Is(err, io.ErrUnexpectedEOF) {
					kind = flowlog.KindTruncated
				}
				t.Bad(int64(p.frames+1), kind, err.Error())
			}
			continue
		}
		p.frames++
		q := p.ahead.Slot()
		p.cfg.Decode(&p.frame, q)
		if r := q.Reason; r < numReasons {
			p.reasons[r]++
		}
		if q = p.ahead.Push(); q != nil {
			p.add(q)
		}
	}
}

// add counts a decoded packet into the table and starts an expiry sweep
// when its time has reached the next one.
func (p *Pipeline) add(q *Packet) {
	p.cfg.Table.Add(q, p.emit)
	if q.Reason == ReasonNone && q.Time >= p.nextSweep {
		p.expiring, p.now = true, q.Time
		p.nextSweep = q.Time + p.sweep
	}
}

// finish notes, once, how many frames carried no IP flow and why.
func (p *Pipeline) finish() {
	if p.finished {
		return
	}
	p.finished = true
	var skipped uint64
	for r := 1; r < NumReasons; r++ {
		skipped += p.reasons[r]
	}
	if skipped == 0 {
		return
	}
	b := make([]byte, 0, 128)
	b = strconv.AppendUint(b, skipped, 10)
	b = append(b, " of "...)
	b = strconv.AppendUint(b, p.frames, 10)
	b = append(b, " frame(s) carry no IP flow ("...)
	first := true
	for r := 1; r < NumReasons; r++ {
		if p.reasons[r] == 0 {
			continue
		}
		if !first {
			b = append(b, ", "...)
		}
		first = false
		b = append(b, Reason(r).String()...)
		b = append(b, ' ')
		b = strconv.AppendUint(b, p.reasons[r], 10)
	}
	b = append(b, ')')
	p.cfg.Tally.Note(flowlog.NoticeInfo, string(b))
}
