// Package prefetch exposes the CPU's prefetch instruction (PREFETCHT0 on
// amd64; nothing elsewhere) to the hot paths that know which memory they
// will touch a little later: the flow table's index slots and entries
// (capture/flowtable) and the frames a capture source hands out next.
// Go has no prefetch intrinsic outside the runtime.
package prefetch
