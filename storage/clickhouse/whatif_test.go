package clickhouse

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/flowsift/flowsift/analyze/verdict"
	"github.com/flowsift/flowsift/analyze/whatif"
	"github.com/flowsift/flowsift/flowlog"
)

type rowKey struct {
	iface            string
	dir              flowlog.Direction
	src, dst         string
	sport, dport     uint16
	proto            uint8
	reply            bool
	icmpT, icmpC     int16
	bucket           int64
	flows, pkts, byt int64
	first, last      int64
}

func keyOf(r *whatif.Row) rowKey {
	return rowKey{r.Iface, r.Direction, r.Src.String(), r.Dst.String(), r.SrcPort, r.DstPort, r.Proto, r.Reply.Reply,
		r.ICMPType, r.ICMPCode, r.Bucket, r.Flows, r.Packets, r.Bytes, r.First, r.Last}
}

// TestFlowKeysMatchAggregator: the flow_keys aggregate fed by the view and
// read with WhatifQuery holds exactly the rows whatif.Aggregator makes of
// the same records (reply sides as stored; no port folding), including
// records stored before the migration (backfill) and ICMP type/code.
func TestFlowKeysMatchAggregator(t *testing.T) {
	db := srv.NewDatabase(t)
	recs, res := genRecords(20000, 3, 2)
	for i := range recs {
		if recs[i].Proto == 1 && i%2 == 0 {
			recs[i].SetInt(flowlog.AttrIcmpType, 8)
			if i%4 == 0 {
				recs[i].SetInt(flowlog.AttrIcmpCode, 0)
			}
		}
		// Stored reply sides must agree with flags for the aggregator's
		// classes: make every record's flags say what res says.
		if recs[i].Proto == 6 {
			recs[i].TCPFlags = map[bool]int32{true: 18, false: 2}[res[i].Reply]
		}
	}
	store(t, db, recs, res)
	// Compare per key without the reply side (the aggregator splits rows by
	// flag class, the store by the reply column analyze stored).
	type sums struct{ flows, pkts, byt, first, last int64 }
	fold := func(m map[rowKey]sums, r *whatif.Row) {
		k := keyOf(r)
		k.reply, k.flows, k.pkts, k.byt, k.first, k.last = false, 0, 0, 0, 0, 0
		v, ok := m[k]
		if !ok {
			v.first, v.last = r.First, r.Last
		}
		v.flows += r.Flows
		v.pkts += r.Packets
		v.byt += r.Bytes
		v.first, v.last = min(v.first, r.First), max(v.last, r.Last)
		m[k] = v
	}
	got, want := map[rowKey]sums{}, map[rowKey]sums{}
	err := WhatifRows(context.Background(), srv.URL(db), testOptions(t), WhatifQuery{}, func(r *whatif.Row) { fold(got, r) })
	if err != nil {
		t.Fatal(err)
	}
	agg := whatif.NewAggregator()
	for i := range recs {
		agg.Add(&recs[i])
	}
	agg.Rows(func(r *whatif.Row) { fold(want, r) })
	if len(got) != len(want) {
		t.Errorf("clickhouse %d keys, aggregator %d", len(got), len(want))
	}
	icmp := 0
	for k, w := range want {
		if g := got[k]; g != w {
			t.Fatalf("key %+v: clickhouse %+v, aggregator %+v", k, g, w)
		}
		if k.icmpT == 8 {
			icmp++
		}
	}
	if icmp == 0 {
		t.Error("no ICMP type survived")
	}
	_ = sort.Ints
	_ = fmt.Sprint
}

// TestFlowKeysBackfill: rows stored before migration 10 are copied once.
func TestFlowKeysBackfill(t *testing.T) {
	db := srv.NewDatabase(t)
	c := conn(t)
	ctx := context.Background()
	recs, res := genRecords(5000, 9, 1)
	storeBefore(t, db, 10, recs, res)
	for i := 0; i < 2; i++ { // the second run applies nothing
		if _, err := MigrateURL(ctx, srv.URL(db), testOptions(t)); err != nil {
			t.Fatal(err)
		}
	}
	// Running the step's SQL again (a crash before it was recorded) adds nothing.
	var f Features
	f, _ = DetectFeatures(ctx, c)
	if err := c.Exec(ctx, Schema{DB: db, F: f}.FlowKeysBackfillSQL()); err != nil {
		t.Fatal(err)
	}
	var n int64
	err := WhatifRows(ctx, srv.URL(db), testOptions(t), WhatifQuery{}, func(r *whatif.Row) { n += r.Flows })
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(recs)) {
		t.Errorf("flow_keys holds %d flows after backfill, stored %d", n, len(recs))
	}
}

// TestWhatifQueryScale stores generated flows and times the what-if query
// (CPU of the server and wall clock), for the README's extrapolation.
func TestWhatifQueryScale(t *testing.T) {
	db := srv.NewDatabase(t)
	const n = 400_000
	recs, res := genRecords(n, 11, 3)
	store(t, db, recs, res)
	// Bounds of a typical policy: well-known ports and the ephemeral range.
	q := WhatifQuery{Bounds: []uint16{0, 22, 23, 53, 54, 67, 70, 80, 81, 443, 444, 1024, 3306, 3307, 5432, 5433, 32768, 61000}}
	cpu0, _ := srv.CPUTime()
	start := time.Now()
	var rows, flows int64
	err := WhatifRows(context.Background(), srv.URL(db), testOptions(t), q, func(r *whatif.Row) { rows++; flows += r.Flows })
	if err != nil {
		t.Fatal(err)
	}
	wall := time.Since(start)
	cpu1, _ := srv.CPUTime()
	if flows != n {
		t.Fatalf("%d flows read, %d stored", flows, n)
	}
	t.Logf("what-if query over %d stored flows: %d distinct rows sent, %.2fs wall, %.2fs server CPU (%.1f M flows per server CPU-second)",
		n, rows, wall.Seconds(), (cpu1 - cpu0).Seconds(), float64(n)/(cpu1-cpu0).Seconds()/1e6)
	_ = verdict.Accept
}
