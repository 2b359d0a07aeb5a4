package lex

import (
	"fmt"
	"testing"
)

// BenchmarkScanIPv4: the dotted quads of a flow log (varied field lengths).
func BenchmarkScanIPv4(b *testing.B) {
	var line []byte
	var starts []int
	x := uint32(12345)
	for i := 0; i < 1024; i++ {
		x = x*1103515245 + 12345
		starts = append(starts, len(line))
		switch i % 3 {
		case 0:
			line = fmt.Appendf(line, "10.0.%d.%d ", x>>8&7, x>>16&255)
		default:
			line = fmt.Appendf(line, "%d.%d.%d.%d ", x>>24&255, x>>16&255, x>>8&255, x&255)
		}
	}
	line = append(line, make([]byte, ScanPad)...)[:len(line)]
	b.ResetTimer()
	var sum int
	for i := 0; i < b.N; i++ {
		for _, s := range starts {
			_, j, ok := ScanIPv4(line, s)
			if !ok {
				b.Fatal("bad")
			}
			sum += j
		}
	}
	_ = sum
}
