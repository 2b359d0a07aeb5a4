package prefetch

import (
	"testing"
	"unsafe"
)

// TestLine: prefetching changes no memory and does not fault, even on a
// nil pointer (a hint, not a load).
func TestLine(t *testing.T) {
	b := make([]byte, 4096)
	for i := range b {
		b[i] = byte(i)
	}
	for i := 0; i < len(b); i += 64 {
		Line(unsafe.Pointer(&b[i]))
	}
	Line(nil)
	for off := 0; off < 200; off += 7 {
		for n := uintptr(1); n < 300; n += 13 {
			Span(unsafe.Pointer(&b[off]), n)
		}
	}
	for i := range b {
		if b[i] != byte(i) {
			t.Fatalf("byte %d changed to %d", i, b[i])
		}
	}
}

// BenchmarkLine: the cost of one call (ns/op), the address in cache.
func BenchmarkLine(b *testing.B) {
	buf := make([]byte, 1<<20)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Line(unsafe.Pointer(&buf[(i*64)&(len(buf)-1)]))
	}
}
