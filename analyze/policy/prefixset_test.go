package policy

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestPrefixSetMatchesContains compares PrefixSet with a linear
// netip.Prefix.Contains over random nested, adjacent and overlapping
// prefixes of both families, probing every prefix's edges.
func TestPrefixSetMatchesContains(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 300; round++ {
		var ps []netip.Prefix
		for i := rng.IntN(12); i >= 0; i-- {
			if rng.IntN(3) == 0 {
				b := [16]byte{0x20, 0x01, 0x0d, 0xb8, byte(rng.IntN(3)), byte(rng.IntN(256))}
				ps = append(ps, netip.PrefixFrom(netip.AddrFrom16(b), []int{0, 16, 32, 40, 48, 127, 128}[rng.IntN(7)]))
			} else {
				a := netip.AddrFrom4([4]byte{10, byte(rng.IntN(3)), byte(rng.IntN(256)), byte(rng.IntN(256))})
				ps = append(ps, netip.PrefixFrom(a, []int{0, 8, 15, 16, 24, 31, 32}[rng.IntN(7)]))
			}
		}
		ps = append(ps, netip.Prefix{}) // invalid: ignored
		s := NewPrefixSet(ps)
		var probes []netip.Addr
		for _, p := range ps {
			if !p.IsValid() {
				continue
			}
			lo := p.Masked().Addr()
			hi := lo
			for hi.Next().IsValid() && p.Contains(hi.Next()) && hi.Next() != lo {
				hi = hi.Next()
				if rng.IntN(4) == 0 { // walk a little, then jump to the end
					break
				}
			}
			probes = append(probes, lo, lo.Prev(), hi, hi.Next(), p.Addr())
		}
		probes = append(probes, netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("255.255.255.255"), netip.MustParseAddr("::"), netip.Addr{})
		for _, a := range probes {
			if !a.IsValid() {
				continue
			}
			want := false
			for _, p := range ps {
				if p.IsValid() && p.Contains(a) {
					want = true
				}
			}
			if got := s.Contains(a); got != want {
				t.Fatalf("prefixes %v: Contains(%v) = %v, want %v", ps, a, got, want)
			}
		}
	}
}

func BenchmarkPrefixSetContains(b *testing.B) {
	s := NewPrefixSet(privateRanges)
	addrs := []netip.Addr{netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("2001:db8::1")}
	b.ReportAllocs()
	n := 0
	for i := 0; i < b.N; i++ {
		if s.Contains(addrs[i%3]) {
			n++
		}
	}
	_ = n
}
