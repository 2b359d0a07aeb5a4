package flowlog

import "unsafe"

// Interner deduplicates the strings a reader sees again and again (ENI, VPC,
// subnet and account ids, regions, service names). Looking up a []byte that
// was seen before does not allocate. It is bounded: past Max distinct strings
// it stops remembering new ones (they are still returned, allocated), so a
// stream of unique values cannot grow memory without bound. Not safe for
// concurrent use: give each reader its own.
type Interner struct {
	m   map[string]string
	Max int // distinct strings kept; 0 means 1<<16
}

// Bytes returns the interned string equal to b.
func (in *Interner) Bytes(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := in.m[string(b)]; ok { // no allocation: map lookup by string(b)
		return s
	}
	return in.add(string(b))
}

// String returns the interned copy of s.
func (in *Interner) String(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := in.m[s]; ok {
		return v
	}
	// s may alias a reader's buffer: copy before keeping it.
	return in.add(string(unsafe.Slice(unsafe.StringData(s), len(s))))
}

func (in *Interner) add(s string) string {
	max := in.Max
	if max == 0 {
		max = 1 << 16
	}
	if in.m == nil {
		in.m = make(map[string]string, 64)
	}
	if len(in.m) < max {
		in.m[s] = s
	}
	return s
}
