package prefetch

import "unsafe"

// Line asks the CPU to start loading the cache line at p (PREFETCHT0)
// and returns at once; it never faults.
//
//go:noescape
func Line(p unsafe.Pointer)

// Span is Line for every cache line of the n bytes at p (n > 0), in one
// call.
//
//go:noescape
func Span(p unsafe.Pointer, n uintptr)
