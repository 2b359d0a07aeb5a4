package clickhouse

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/flowsift/flowsift/analyze/verdict"
)

// TestReportEqualsSummary: the report answered from the rollups equals
// verdict.Summary computed in Go over the same records (those starting in
// the hour-aligned range): totals, verdicts, findings, worst offenders in
// order, and rule hits with their first/last minutes.
func TestReportEqualsSummary(t *testing.T) {
	db := srv.NewDatabase(t)
	recs, res := genRecords(40_000, 21, 2)
	store(t, db, recs, res)
	lo, hi := recs[0].Start, recs[0].Start
	for i := range recs {
		lo, hi = min(lo, recs[i].Start), max(hi, recs[i].Start)
	}
	c := conn(t)
	sch := Schema{DB: db, F: Features{Major: 18, Minor: 16}}
	for _, q := range []ReportQuery{
		{Top: 7},
		{Since: time.Unix(lo+(hi-lo)/3, 0), Top: 5},                                    // cut at an hour inside the data
		{Since: time.Unix(lo+(hi-lo)/4, 0), Until: time.Unix(lo+(hi-lo)/2, 0), Top: 3}, // both ends
		{Since: time.Unix(hi+7200, 0), Top: 3},                                         // nothing
	} {
		from, to := q.Bounds()
		got, err := Report(context.Background(), c, sch, q)
		if err != nil {
			t.Fatal(err)
		}
		sum := verdict.NewSummary()
		type hit struct {
			RuleHit
			seen bool
		}
		hits := map[string]*hit{}
		for i := range recs {
			st := recs[i].Start
			if st < from || to > 0 && st >= to {
				continue
			}
			sum.Add(&recs[i], &res[i])
			for _, id := range res[i].Rules {
				h := hits[id]
				if h == nil {
					h = &hit{RuleHit: RuleHit{ID: id, First: st / 60 * 60}}
					hits[id] = h
				}
				h.Records++
				h.Packets += recs[i].Packets
				h.Bytes += recs[i].Bytes
				h.First = min(h.First, st/60*60)
				h.Last = max(h.Last, st/60*60+59)
			}
		}
		name := time.Unix(from, 0).UTC().Format(time.RFC3339)
		if want := (verdict.Count{Records: sum.Records, Packets: sum.Packets, Bytes: sum.Bytes}); got.Total != want {
			t.Errorf("%s: total %+v, want %+v", name, got.Total, want)
		}
		if !reflect.DeepEqual(got.ByVerdict, sum.ByVerdict) {
			t.Errorf("%s: verdicts %v, want %v", name, deref(got.ByVerdict), deref(sum.ByVerdict))
		}
		if !reflect.DeepEqual(got.ByFinding, sum.ByFinding) {
			t.Errorf("%s: findings %v, want %v", name, deref(got.ByFinding), deref(sum.ByFinding))
		}
		for _, f := range verdict.Findings {
			want := sum.Offenders(f, q.Top)
			if len(want) == 0 && len(got.Offenders[f]) == 0 {
				continue
			}
			if !reflect.DeepEqual(got.Offenders[f], want) {
				t.Errorf("%s: offenders of %s:\n got %v\nwant %v", name, f, got.Offenders[f], want)
			}
		}
		if len(got.Rules) != len(hits) {
			t.Errorf("%s: %d rules with hits, want %d", name, len(got.Rules), len(hits))
		}
		for i, h := range got.Rules {
			if w := hits[h.ID]; w == nil || w.RuleHit != h {
				t.Errorf("%s: rule %s: %+v, want %+v", name, h.ID, h, w)
			}
			if i > 0 && got.Rules[i-1].Records < h.Records {
				t.Errorf("%s: rules not ordered by records", name)
			}
		}
		if sum.Records > 0 && !reflect.DeepEqual(got.Policies, []string{""}) {
			t.Errorf("%s: policies %q", name, got.Policies)
		}
		if sum.Records > 0 && len(sum.ByFinding) == 0 {
			t.Fatalf("%s: the data has no findings", name)
		}
	}
}

func deref[K comparable](m map[K]*verdict.Count) map[K]verdict.Count {
	out := map[K]verdict.Count{}
	for k, v := range m {
		out[k] = *v
	}
	return out
}

func TestReportBounds(t *testing.T) {
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	for _, c := range []struct {
		q        ReportQuery
		from, to string
	}{
		{ReportQuery{Since: at("2026-11-23T10:17:00Z")}, "2026-11-23T10:00:00Z", ""},
		{ReportQuery{Since: at("2026-11-23T10:00:00Z"), Until: at("2026-11-23T12:00:00Z")}, "2026-11-23T10:00:00Z", "2026-11-23T12:00:00Z"},
		{ReportQuery{Since: at("2026-11-23T10:17:00Z"), Until: at("2026-11-23T12:00:01Z")}, "2026-11-23T10:00:00Z", "2026-11-23T13:00:00Z"},
		{ReportQuery{Since: at("2026-11-23T10:17:00Z"), Until: at("2026-11-23T09:00:00Z")}, "2026-11-23T10:00:00Z", "2026-11-23T11:00:00Z"},
	} {
		from, to := c.q.Bounds()
		gf := time.Unix(from, 0).UTC().Format(time.RFC3339)
		gt := ""
		if to != 0 {
			gt = time.Unix(to, 0).UTC().Format(time.RFC3339)
		}
		if gf != c.from || gt != c.to {
			t.Errorf("%v: [%s, %s), want [%s, %s)", c.q, gf, gt, c.from, c.to)
		}
	}
}
