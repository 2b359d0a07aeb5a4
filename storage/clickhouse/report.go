package clickhouse

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/flowsift/flowsift/analyze/verdict"
)

// ReportQuery selects what Report aggregates. The range is widened to
// whole hours (Since down, Until up): every section is answered from the
// rollups, never from raw rows, and flows_1h and offenders_1h keep hours.
type ReportQuery struct {
	Since, Until time.Time // zero: unbounded
	Top          int       // worst offenders per finding (<= 0: 10)
}

// Bounds returns the hour-aligned range [from, to) a query covers, as Unix
// seconds; to is 0 when open.
func (q ReportQuery) Bounds() (from, to int64) {
	if !q.Since.IsZero() {
		from = max(q.Since.Unix(), 0) / 3600 * 3600
	}
	if !q.Until.IsZero() {
		u := max(q.Until.Unix(), 0)
		to = (u + 3599) / 3600 * 3600
		if to <= from {
			to = from + 3600
		}
	}
	return from, to
}

// RuleHit is one rule id's hits in the range: the records whose rules list
// it (flows_1m). First and Last are the first and last minute buckets with
// a hit (start times; the rollups keep no end times).
type RuleHit struct {
	ID                      string
	Records, Packets, Bytes int64
	First, Last             int64 // Unix seconds
}

// Aggregates is a report answered from the rollups.
type Aggregates struct {
	From, To  int64 // the range covered, Unix seconds (To 0: open)
	Total     verdict.Count
	ByVerdict map[verdict.Verdict]*verdict.Count
	ByFinding map[verdict.Finding]*verdict.Count
	// Offenders per finding, worst first (analyze's order: records, then
	// bytes, then the key), at most Top.
	Offenders map[verdict.Finding][]verdict.Offender
	Rules     []RuleHit // every id with a hit, most records first
	Policies  []string  // policy snapshot ids of the records in the range
	Features  Features
}

// rangeWhere is the condition on a rollup's bucket.
func rangeWhere(from, to int64) string {
	w := fmt.Sprintf("`bucket` >= toDateTime(%d, 'UTC')", from)
	if to > 0 {
		w += fmt.Sprintf(" AND `bucket` < toDateTime(%d, 'UTC')", to)
	}
	return w
}

// ReportURL connects to url, brings the schema up to date (creating and
// backfilling a missing rollup) and answers q from the rollups.
func ReportURL(ctx context.Context, url string, opts Options, q ReportQuery) (*Aggregates, error) {
	conn, _, s, _, err := connectMigrated(ctx, url, opts.withDefaults(), false)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return Report(ctx, conn, s, q)
}

// Report answers q from the rollups of s.
func Report(ctx context.Context, conn driver.Conn, s Schema, q ReportQuery) (*Aggregates, error) {
	if q.Top <= 0 {
		q.Top = 10
	}
	from, to := q.Bounds()
	a := &Aggregates{From: from, To: to, Features: s.F, ByVerdict: map[verdict.Verdict]*verdict.Count{},
		ByFinding: map[verdict.Finding]*verdict.Count{}, Offenders: map[verdict.Finding][]verdict.Offender{}}
	where := rangeWhere(from, to)

	// Verdicts and findings (flows_1h).
	rows, err := conn.Query(ctx, "SELECT toInt8(`verdict`), `finding`, toInt64(sum(`flows`)) AS `f`, toInt64(sum(`packets`)), toInt64(sum(`bytes`)) FROM "+
		s.table("flows_1h")+" WHERE "+where+" GROUP BY `verdict`, `finding` HAVING `f` != 0")
	if err != nil {
		return nil, fmt.Errorf("clickhouse: report: %w", err)
	}
	for rows.Next() {
		var v int8
		var fd string
		var c verdict.Count
		if err := rows.Scan(&v, &fd, &c.Records, &c.Packets, &c.Bytes); err != nil {
			rows.Close()
			return nil, fmt.Errorf("clickhouse: report: %w", err)
		}
		a.Total.Records += c.Records
		a.Total.Packets += c.Packets
		a.Total.Bytes += c.Bytes
		addCount(a.ByVerdict, verdict.Verdict(v), c)
		if fd != "" {
			addCount(a.ByFinding, verdict.Finding(fd), c)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clickhouse: report: %w", err)
	}

	if err := a.offenders(ctx, conn, s, where, q.Top); err != nil {
		return nil, err
	}

	// Rule hits (flows_1m: minute first/last). Buckets whose corrections
	// cancelled out are left out before taking first/last.
	rows, err = conn.Query(ctx, "SELECT `rule`, toInt64(sum(`f`)) AS `n`, toInt64(sum(`p`)), toInt64(sum(`b`)), toUInt32(min(`bucket`)), toUInt32(max(`bucket`)) FROM ("+
		"SELECT `rule`, `bucket`, sum(`flows`) AS `f`, sum(`packets`) AS `p`, sum(`bytes`) AS `b` FROM "+s.table("flows_1m")+
		" ARRAY JOIN `rules` AS `rule` WHERE "+where+" GROUP BY `rule`, `bucket` HAVING `f` != 0) GROUP BY `rule`")
	if err != nil {
		return nil, fmt.Errorf("clickhouse: report rule hits: %w", err)
	}
	for rows.Next() {
		var h RuleHit
		var first, last uint32
		if err := rows.Scan(&h.ID, &h.Records, &h.Packets, &h.Bytes, &first, &last); err != nil {
			rows.Close()
			return nil, fmt.Errorf("clickhouse: report rule hits: %w", err)
		}
		h.First, h.Last = int64(first), int64(last)+59
		a.Rules = append(a.Rules, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clickhouse: report rule hits: %w", err)
	}
	sort.Slice(a.Rules, func(i, j int) bool {
		x, y := a.Rules[i], a.Rules[j]
		if x.Records != y.Records {
			return x.Records > y.Records
		}
		if x.Bytes != y.Bytes {
			return x.Bytes > y.Bytes
		}
		return x.ID < y.ID
	})

	rows, err = conn.Query(ctx, "SELECT DISTINCT `policy` FROM "+s.table("flows_1h")+" WHERE "+where+" ORDER BY `policy`")
	if err != nil {
		return nil, fmt.Errorf("clickhouse: report policies: %w", err)
	}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return nil, err
		}
		a.Policies = append(a.Policies, p)
	}
	rows.Close()
	return a, rows.Err()
}

func addCount[K comparable](m map[K]*verdict.Count, k K, c verdict.Count) {
	x := m[k]
	if x == nil {
		x = &verdict.Count{}
		m[k] = x
	}
	x.Records += c.Records
	x.Packets += c.Packets
	x.Bytes += c.Bytes
}

// offenders fills a.Offenders from offenders_1h in two steps, so that ties
// are broken exactly as analyze does (by the key, in Go): the n-th group's
// (records, bytes) per finding, then every group at least as bad.
func (a *Aggregates) offenders(ctx context.Context, conn driver.Conn, s Schema, where string, top int) error {
	grouped := "SELECT `finding`, `iface`, `src`, `dst`, `dport`, `proto`, `rule`, toInt64(sum(`flows`)) AS `f`, toInt64(sum(`packets`)) AS `p`, toInt64(sum(`bytes`)) AS `b` FROM " +
		s.table("offenders_1h") + " WHERE " + where + " GROUP BY `finding`, `iface`, `src`, `dst`, `dport`, `proto`, `rule` HAVING `f` != 0"
	rows, err := conn.Query(ctx, "SELECT `finding`, `f`, `b` FROM ("+grouped+") ORDER BY `finding`, `f` DESC, `b` DESC LIMIT ? BY `finding`", top)
	if err != nil {
		return fmt.Errorf("clickhouse: report offenders: %w", err)
	}
	type cut struct{ f, b int64 }
	cuts := map[string]cut{}
	for rows.Next() {
		var fd string
		var c cut
		if err := rows.Scan(&fd, &c.f, &c.b); err != nil {
			rows.Close()
			return fmt.Errorf("clickhouse: report offenders: %w", err)
		}
		cuts[fd] = c // rows come worst first: the last one is the n-th
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("clickhouse: report offenders: %w", err)
	}
	if len(cuts) == 0 {
		return nil
	}
	var conds []string
	for fd, c := range cuts {
		conds = append(conds, fmt.Sprintf("(`finding` = '%s' AND (`f` > %d OR `f` = %d AND `b` >= %d))", escapeString(fd), c.f, c.f, c.b))
	}
	sort.Strings(conds)
	rows, err = conn.Query(ctx, "SELECT * FROM ("+grouped+") WHERE "+strings.Join(conds, " OR "))
	if err != nil {
		return fmt.Errorf("clickhouse: report offenders: %w", err)
	}
	defer rows.Close()
	src, dst := addrTargets(s.F)
	for rows.Next() {
		var fd string
		var o verdict.Offender
		if err := rows.Scan(&fd, &o.Key.Iface, src, dst, &o.Key.DstPort, &o.Key.Proto, &o.Key.Rule, &o.Records, &o.Packets, &o.Bytes); err != nil {
			return fmt.Errorf("clickhouse: report offenders: %w", err)
		}
		o.Key.Src, o.Key.Dst = scannedAddr(src), scannedAddr(dst)
		f := verdict.Finding(fd)
		a.Offenders[f] = append(a.Offenders[f], o)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("clickhouse: report offenders: %w", err)
	}
	for f, offs := range a.Offenders {
		sort.Slice(offs, func(i, j int) bool { return worse(offs[i], offs[j]) })
		if len(offs) > top {
			a.Offenders[f] = offs[:top]
		}
	}
	return nil
}

// worse orders offenders as verdict.Summary.Offenders does.
func worse(a, b verdict.Offender) bool {
	if a.Records != b.Records {
		return a.Records > b.Records
	}
	if a.Bytes != b.Bytes {
		return a.Bytes > b.Bytes
	}
	x, y := a.Key, b.Key
	switch {
	case x.Iface != y.Iface:
		return x.Iface < y.Iface
	case x.Src != y.Src:
		return x.Src.Less(y.Src)
	case x.Dst != y.Dst:
		return x.Dst.Less(y.Dst)
	case x.DstPort != y.DstPort:
		return x.DstPort < y.DstPort
	case x.Proto != y.Proto:
		return x.Proto < y.Proto
	}
	return x.Rule < y.Rule
}

// addrTargets returns scan targets for the two address columns of a
// query, as scannedAddr reads them.
func addrTargets(f Features) (src, dst any) {
	if f.Current {
		return new(netip.Addr), new(netip.Addr)
	}
	return new(string), new(string)
}

// scannedAddr converts a scanned address column: FixedString(16) on 18.16,
// IPv6 on current servers. IPv4 is stored v4-mapped and comes back as IPv4;
// the zero address (a record without one) as the invalid Addr.
func scannedAddr(v any) netip.Addr {
	var a netip.Addr
	switch x := v.(type) {
	case *netip.Addr:
		a = *x
	case *string:
		if len(*x) != 16 {
			return netip.Addr{}
		}
		a = netip.AddrFrom16([16]byte([]byte(*x)))
	}
	if a == netip.IPv6Unspecified() {
		return netip.Addr{}
	}
	return a.Unmap()
}

// escapeString quotes s for a ClickHouse string literal.
func escapeString(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}
