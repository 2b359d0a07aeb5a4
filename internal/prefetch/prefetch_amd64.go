package prefetch

import "unsafe"

// Line asks the CPU to start loading the cache line at p (PREFETCHT0)
// and returns at once; it never faults. Go has no prefetch intrinsic
// outside the runtime.
//
//go:noescape
func Line(p unsafe.Pointer)
