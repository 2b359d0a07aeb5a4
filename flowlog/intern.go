package flowlog

import "unsafe"

// Interner deduplicates the strings a reader sees again and again (ENI, VPC,
// subnet and account ids, regions, service names). Looking up a []byte that
// was seen before does not allocate. It is bounded: past Max distinct strings
// it stops remembering new ones (they are still returned, allocated), so a
// stream of unique values cannot grow memory without bound. Not safe for
// concurrent use: give each reader its own.
type Interner struct {
	m     map[string]string
	Max   int // distinct strings kept; 0 means 1<<16
	cache [internCache]string
}

// internCache is the size of the direct-mapped cache in front of the map:
// most lookups hit it and skip hashing the whole string.
const internCache = 4096

// slot hashes the length and the last 8 bytes (where ids differ).
func slot(b []byte) int {
	n := len(b)
	var h uint64 = uint64(n) * 0x9e3779b97f4a7c15
	if n >= 8 {
		h ^= uint64(b[n-1]) | uint64(b[n-2])<<8 | uint64(b[n-3])<<16 | uint64(b[n-4])<<24 |
			uint64(b[n-5])<<32 | uint64(b[n-6])<<40 | uint64(b[n-7])<<48 | uint64(b[n-8])<<56
	} else {
		for _, c := range b {
			h = h<<8 | uint64(c)
		}
	}
	h *= 0xff51afd7ed558ccd
	return int(h >> (64 - 12))
}

// Bytes returns the interned string equal to b.
func (in *Interner) Bytes(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	i := slot(b)
	if c := in.cache[i]; c == string(b) {
		return c
	}
	s, ok := in.m[string(b)] // no allocation: map lookup by string(b)
	if !ok {
		s = in.add(string(b))
	}
	in.cache[i] = s
	return s
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
