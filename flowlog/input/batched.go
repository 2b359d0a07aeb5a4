package input

import (
	"errors"
	"sync/atomic"

	"github.com/flowsift/flowsift/flowlog"
)

// BatchSize is the number of records RunBatched hands over at once.
const BatchSize = 1024

// errStopped ends the reading goroutine of RunBatched after fn failed.
var errStopped = errors.New("input: consumer stopped")

// RunBatched is Run with the reading (decompression, detection, parsing)
// on a goroutine of its own: records reach fn in batches of up to
// BatchSize, in input order, on the caller's goroutine, while the next
// batch is being read. A consumer that costs about as much per record as
// the parser (what-if aggregation, say) then runs beside it on a second
// core instead of after it. A batch and its records are reused once fn
// returns: fn must not keep them. Problems (opts.OnProblem) are reported
// from the reading goroutine, in order. An error from fn stops the
// reading and is returned, as from Run.
func RunBatched(inputs []Input, opts Options, fn func([]flowlog.Record) error) (*Summary, error) {
	const inFlight = 3 // one being filled, one being consumed, one spare
	free := make(chan []flowlog.Record, inFlight)
	full := make(chan []flowlog.Record, inFlight)
	for range inFlight {
		free <- make([]flowlog.Record, 0, BatchSize)
	}
	var stopped atomic.Bool
	var sum *Summary
	go func() {
		defer close(full) // after sum is set: the loop below ends on it
		cur := <-free
		// Run returns only the callback's error, errStopped, which says
		// that fn failed: fn's error is the one to return.
		sum, _ = Run(inputs, opts, func(r *flowlog.Record) error {
			if len(cur) == cap(cur) {
				full <- cur
				cur = <-free
				if stopped.Load() {
					return errStopped
				}
				cur = cur[:0]
			}
			// Copied, Attrs included: reading straight into the batch
			// would be cheaper, but a record's Attrs may point into its
			// reader's memory (the AWS straight-line parsers keep the
			// optional keys in their own array), valid only until the
			// reader's next record.
			cur = cur[:len(cur)+1]
			dst := &cur[len(cur)-1]
			attrs := dst.Attrs[:0]
			*dst = *r
			dst.Attrs = append(attrs, r.Attrs...)
			return nil
		})
		if len(cur) > 0 && !stopped.Load() {
			full <- cur
		}
	}()
	var ferr error
	for b := range full {
		if ferr == nil {
			if ferr = fn(b); ferr != nil {
				stopped.Store(true)
			}
		}
		free <- b
	}
	return sum, ferr
}
