package pcapfile

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/flowsift/flowsift/capture"
)

// FuzzReader feeds arbitrary bytes to the reader: it must not panic or
// loop, every frame must be numbered in sequence and lie inside the input,
// and the input must end in io.EOF or an *Error.
func FuzzReader(f *testing.F) {
	for _, file := range corpusFiles(f) {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("NewReader error %T %v", err, err)
			}
			return
		}
		var fr capture.Frame
		var n uint64
		for {
			err = r.Next(&fr)
			if err != nil {
				break
			}
			n++
			if fr.Number != n {
				t.Fatalf("frame number %d, want %d", fr.Number, n)
			}
			if fr.Offset < 0 || fr.Offset+int64(len(fr.Data)) > int64(len(data)) {
				t.Fatalf("frame %d at %d+%d outside the %d-byte input", n, fr.Offset, len(fr.Data), len(data))
			}
			// every frame consumes at least a 12-byte block or 16-byte record
			if n*12 > uint64(len(data)) {
				t.Fatalf("%d frames from %d bytes", n, len(data))
			}
		}
		if err != io.EOF {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("ended with %T %v", err, err)
			}
			if pe.Frame != n+1 {
				t.Fatalf("error names frame %d after %d frames", pe.Frame, n)
			}
		}
	})
}
