//go:build !amd64

package flowtable

import "unsafe"

// prefetch is a no-op where flowsift has no assembly for it; Prefetch and
// PrefetchEntry then only cost their hashing.
func prefetch(p unsafe.Pointer) {}
