//go:build !amd64

package prefetch

import "unsafe"

// Line is a no-op where flowsift has no assembly for it; callers then
// only pay for computing the address.
func Line(p unsafe.Pointer) {}

// Span is a no-op, like Line.
func Span(p unsafe.Pointer, n uintptr) {}
