package whatif

import (
	"testing"

	"github.com/flowsift/flowsift/analyze/verdict"
	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/flowgen"
)

// genRecords: n records replaying conns connections (both directions, some
// with TCP flags, some without, some without an interface), over span
// seconds.
func genRecords(n, conns int, span int64) []flowlog.Record {
	g := flowgen.NewConns(3, conns, span, n)
	recs := make([]flowlog.Record, n)
	for i := range recs {
		f := g.Next()
		r := &recs[i]
		*r = flowlog.Record{Src: f.Src, Dst: f.Dst, SrcPort: f.SrcPort, DstPort: f.DstPort, Proto: f.Proto,
			Packets: f.Packets, Bytes: f.Bytes, Start: f.Start, End: f.End, Iface: f.Iface}
		switch i % 5 {
		case 0:
			r.TCPFlags = f.TCPFlags
		case 1:
			r.Iface = ""
		}
		if f.Ingress {
			r.Direction = flowlog.DirIngress
		} else {
			r.Direction = flowlog.DirEgress
		}
	}
	return recs
}

// TestRepliesMatchScan: the run-based reverse lookup decides every row as
// a scan of the whole table in order would.
func TestRepliesMatchScan(t *testing.T) {
	for _, tc := range []struct {
		n, conns int
		span     int64
	}{{4000, 300, 3600}, {3000, 40, 20000}, {500, 500, 600}} {
		agg := NewAggregator()
		for _, r := range genRecords(tc.n, tc.conns, tc.span) {
			agg.Add(&r)
		}
		all := make([]uint64, agg.Len())
		for i := range all {
			all[i] = uint64(i)
		}
		reps := agg.replies()
		var byRev int
		for i := range agg.entries {
			if agg.entries[i].key.cls != clsUndecided {
				continue
			}
			want, ok := agg.reverse(i, all)
			if !ok {
				want = verdict.Reply{}
			}
			if reps[i] != want {
				t.Fatalf("%+v row %d %+v: reply %+v, scan says %+v", tc, i, agg.entries[i].key, reps[i], want)
			}
			if want.Basis == verdict.BasisReverse {
				byRev++
			}
		}
		if byRev == 0 {
			t.Errorf("%+v: no row decided by its reverse", tc)
		}
	}
}
