package input

import (
	"io"
	"sync"
)

// asyncReader decompresses ahead in its own goroutine, so that gzip
// inflation and parsing run on two cores. Chunks cycle through a fixed set
// of buffers: nothing is allocated per read.
type asyncReader struct {
	full chan []byte
	free chan []byte
	done chan struct{}
	err  error // set by the producer before it closes full
	cur  []byte
	held []byte // buffer cur points into, returned to free when used up
	once sync.Once
}

const (
	asyncChunk   = 256 << 10
	asyncBuffers = 4
)

func newAsyncReader(r io.Reader) *asyncReader {
	a := &asyncReader{
		full: make(chan []byte, asyncBuffers),
		free: make(chan []byte, asyncBuffers),
		done: make(chan struct{}),
	}
	for i := 0; i < asyncBuffers; i++ {
		a.free <- make([]byte, asyncChunk)
	}
	go a.produce(r)
	return a
}

func (a *asyncReader) produce(r io.Reader) {
	defer close(a.full)
	for {
		var buf []byte
		select {
		case buf = <-a.free:
		case <-a.done:
			return
		}
		n, err := io.ReadAtLeast(r, buf[:cap(buf)], cap(buf))
		if n > 0 {
			select {
			case a.full <- buf[:n]:
			case <-a.done:
				return
			}
		}
		if err != nil {
			if err == io.ErrUnexpectedEOF && n < cap(buf) {
				// ReadAtLeast reports a short final read this way; the
				// underlying reader said EOF (gzipErrReader maps real
				// truncation to ErrGzipTruncated).
				err = io.EOF
			}
			a.err = err
			return
		}
	}
}

func (a *asyncReader) Read(p []byte) (int, error) {
	for len(a.cur) == 0 {
		if a.held != nil {
			a.free <- a.held
			a.held = nil
		}
		b, ok := <-a.full
		if !ok {
			return 0, a.err
		}
		a.cur, a.held = b, b
	}
	n := copy(p, a.cur)
	a.cur = a.cur[n:]
	return n, nil
}

// Close stops the producer; it is safe to call more than once.
func (a *asyncReader) Close() error {
	a.once.Do(func() {
		close(a.done)
		for range a.full { // let a blocked producer finish
		}
	})
	return nil
}
