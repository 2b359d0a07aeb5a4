package flowtable

import (
	"encoding/json"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/flowsift/flowsift/capture"
	"github.com/flowsift/flowsift/flowlog"
)

const t0 = int64(1_700_000_000_123_456_789)

func tcp(src, dst string, sport, dport uint16, at int64, l3 uint32, flags uint8) capture.Packet {
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	fam := uint8(4)
	if s.Is6() {
		fam = 6
	}
	return capture.Packet{Time: at, Family: fam, Proto: 6, Src: s, Dst: d, SrcPort: sport, DstPort: dport,
		TCPFlags: flags, L3Len: l3, IPLayers: 1}
}

// collect gathers emitted records (cloned) with their Info.
type collect struct {
	t     *Table
	recs  []flowlog.Record
	infos []Info
}

func newCollect(tb testing.TB, t *Table) *collectTB { return &collectTB{collect{t: t}, tb} }

type collectTB struct {
	collect
	tb testing.TB
}

func (c *collectTB) emit(r *flowlog.Record) {
	c.recs = append(c.recs, r.Clone())
	c.infos = append(c.infos, c.t.LastEmitted())
	checkRecord(c.tb, r)
}

// checkRecord asserts that attrs are strictly ascending and the JSONL line parses.
func checkRecord(tb testing.TB, r *flowlog.Record) {
	tb.Helper()
	for i := 1; i < len(r.Attrs); i++ {
		if r.Attrs[i-1].Key >= r.Attrs[i].Key {
			tb.Fatalf("attrs not ascending: %v", r.Attrs)
		}
	}
	line := flowlog.AppendJSON(nil, r)
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		tb.Fatalf("record JSON does not parse: %v: %s", err, line)
	}
}

func attrInt(r *flowlog.Record, k flowlog.AttrKey) (int64, bool) {
	a, ok := r.Attr(k)
	return a.Int, ok
}

func attrStr(r *flowlog.Record, k flowlog.AttrKey) string {
	a, _ := r.Attr(k)
	return a.Str
}

func TestTwoDirections(t *testing.T) {
	tb := New(Config{Source: flowlog.SourcePcap})
	c := newCollect(t, tb)
	pk := []capture.Packet{
		tcp("10.0.0.1", "10.0.0.2", 40000, 80, t0, 60, 0x02),
		tcp("10.0.0.2", "10.0.0.1", 80, 40000, t0+1000, 60, 0x12),
		tcp("10.0.0.1", "10.0.0.2", 40000, 80, t0+2_000_000_000, 52, 0x10),
		tcp("10.0.0.1", "10.0.0.2", 40000, 80, t0+3_000_000_000, 1500, 0x18),
	}
	for i := range pk {
		tb.Add(&pk[i], c.emit)
	}
	if tb.Len() != 2 {
		t.Fatalf("Len %d, want 2", tb.Len())
	}
	if n := tb.Flush(c.emit); n != 2 || tb.Len() != 0 {
		t.Fatalf("Flush emitted %d, Len %d", n, tb.Len())
	}
	// Flush emits in order of last packet: B->A first.
	ab, ba := c.recs[1], c.recs[0]
	if ab.Src.String() != "10.0.0.1" || ab.SrcPort != 40000 || ab.DstPort != 80 || ab.Packets != 3 || ab.Bytes != 1612 || ab.TCPFlags != 0x1a {
		t.Errorf("A->B record %+v", ab)
	}
	if ba.Packets != 1 || ba.Bytes != 60 || ba.TCPFlags != 0x12 {
		t.Errorf("B->A record %+v", ba)
	}
	if ab.Start != 1_700_000_000 || ab.End != 1_700_000_003 || ab.Source != flowlog.SourcePcap || ab.Direction != flowlog.DirUnknown {
		t.Errorf("A->B times/source %+v", ab)
	}
	if in := c.infos[1]; in.First != t0 || in.Last != t0+3_000_000_000 || in.Seq != 1 || in.Why != WhyFlush {
		t.Errorf("A->B info %+v", in)
	}
	if in := c.infos[0]; in.Seq != 2 {
		t.Errorf("B->A seq %d, want 2", in.Seq)
	}
	if len(ab.Attrs) != 0 {
		t.Errorf("plain TCP record has attrs %v", ab.Attrs)
	}
	s := tb.Stats()
	if s.Packets != 4 || s.Created != 2 || s.Emitted != 2 || s.Flushed != 2 || s.Active != 0 || s.Peak != 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestICMPKeyedByTypeCode(t *testing.T) {
	tb := New(Config{})
	c := newCollect(t, tb)
	mk := func(typ, code uint8) capture.Packet {
		p := tcp("2001:db8::1", "2001:db8::2", 0, 0, t0, 104, 0)
		p.Proto, p.HasICMP, p.ICMPType, p.ICMPCode = 58, true, typ, code
		return p
	}
	for _, p := range []capture.Packet{mk(128, 0), mk(128, 0), mk(1, 4)} {
		tb.Add(&p, c.emit)
	}
	tb.Flush(c.emit)
	if len(c.recs) != 2 {
		t.Fatalf("%d records, want 2 (one per type/code)", len(c.recs))
	}
	for _, r := range c.recs {
		typ, ok1 := attrInt(&r, flowlog.AttrIcmpType)
		code, ok2 := attrInt(&r, flowlog.AttrIcmpCode)
		if !ok1 || !ok2 || r.SrcPort != 0 || r.DstPort != 0 {
			t.Errorf("ICMP record %+v", r)
		}
		if (typ == 128 && (code != 0 || r.Packets != 2)) || (typ == 1 && (code != 4 || r.Packets != 1)) {
			t.Errorf("type %d code %d packets %d", typ, code, r.Packets)
		}
	}
}

func TestTunnelIdentitySplitsRecords(t *testing.T) {
	tb := New(Config{IfaceName: func(i uint32) string { return []string{"eth0", "eth1"}[i] }})
	c := newCollect(t, tb)
	base := tcp("192.168.1.1", "192.168.1.2", 1234, 443, t0, 100, 0x10)
	base.Iface = 1
	vx := func(vni uint32) capture.Packet {
		p := base
		p.Tunnels, p.IPLayers, p.Truncated = 1, 2, true
		p.Outer = capture.Tunnel{Type: capture.TunnelVXLAN, HasVNI: true, VNI: vni,
			Src: netip.MustParseAddr("10.255.0.1"), Dst: netip.MustParseAddr("10.255.0.2")}
		p.Inner = p.Outer
		return p
	}
	gw := vx(77)
	gw.Outer = capture.Tunnel{Type: capture.TunnelGeneve, HasVNI: true, VNI: 5,
		Src: netip.MustParseAddr("2001:db8::a"), Dst: netip.MustParseAddr("2001:db8::b"),
		GWLBEndpoint: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, GWLBAttachment: [8]byte{0xaa, 0xbb}, GWLBCookie: [4]byte{0xde, 0xad, 0xbe, 0xef},
		GWLBLens: [3]uint8{8, 8, 4}}
	gw.Tunnels = 2
	er := base
	er.Tunnels, er.HasVLAN, er.VLAN = 1, true, 100
	er.Outer = capture.Tunnel{Type: capture.TunnelERSPAN3, HasID: true, ID: 1023, Direction: 2,
		Src: netip.MustParseAddr("172.16.0.1"), Dst: netip.MustParseAddr("172.16.0.2")}
	er.Inner = er.Outer
	for _, p := range []capture.Packet{base, vx(4242), vx(4243), vx(4242), gw, er} {
		tb.Add(&p, c.emit)
	}
	tb.Flush(c.emit)
	if len(c.recs) != 5 {
		t.Fatalf("%d records, want 5", len(c.recs))
	}
	byKey := map[string]flowlog.Record{}
	for _, r := range c.recs {
		if r.Iface != "eth1" {
			t.Errorf("iface %q", r.Iface)
		}
		vni, _ := attrInt(&r, flowlog.AttrTunnelVni)
		byKey[attrStr(&r, flowlog.AttrTunnelType)+"/"+string(rune('0'+vni%10))] = r
	}
	if r := byKey["/0"]; r.Packets != 1 || len(r.Attrs) != 0 {
		t.Errorf("plain record %+v", r)
	}
	r := byKey["vxlan/2"]
	if r.Packets != 2 || attrStr(&r, flowlog.AttrTunnelSrc) != "10.255.0.1" || attrStr(&r, flowlog.AttrTunnelDst) != "10.255.0.2" {
		t.Errorf("vxlan 4242 record %+v", r)
	}
	if n, _ := attrInt(&r, flowlog.AttrTruncatedPackets); n != 2 {
		t.Errorf("truncated_packets %d, want 2", n)
	}
	r = byKey["geneve/5"]
	if attrStr(&r, flowlog.AttrGwlbEndpointId) != "0102030405060708" || attrStr(&r, flowlog.AttrGwlbAttachmentId) != "aabb000000000000" ||
		attrStr(&r, flowlog.AttrGwlbFlowCookie) != "deadbeef" || attrStr(&r, flowlog.AttrTunnelSrc) != "2001:db8::a" {
		t.Errorf("geneve/GWLB record %+v", r)
	}
	r = byKey["erspan3/0"]
	id, _ := attrInt(&r, flowlog.AttrTunnelId)
	vlan, _ := attrInt(&r, flowlog.AttrVlan)
	if r.Direction != flowlog.DirEgress || id != 1023 || vlan != 100 {
		t.Errorf("erspan3 record %+v", r)
	}
	want := `{"start":1700000000,"end":1700000000,"src":"192.168.1.1","dst":"192.168.1.2","sport":1234,"dport":443,"proto":6,"packets":1,"bytes":100,"action":"","direction":"egress","iface":"eth1","vpc":"","subnet":"","account":"","tcp_flags":16,"source":"","tunnel_dst":"172.16.0.2","tunnel_id":1023,"tunnel_src":"172.16.0.1","tunnel_type":"erspan3","vlan":100}`
	if got := string(flowlog.AppendJSON(nil, &r)); got != want {
		t.Errorf("JSONL\n got %s\nwant %s", got, want)
	}
}

func frag(id uint32, off uint16, more bool, at int64, l3 uint32) capture.Packet {
	p := tcp("10.1.1.1", "10.2.2.2", 0, 0, at, l3, 0)
	p.Proto = 17
	p.Fragment, p.FragID, p.FragOffset, p.MoreFrags = true, id, off, more
	return p
}

func TestFragments(t *testing.T) {
	tb := New(Config{})
	c := newCollect(t, tb)
	first := frag(7, 0, true, t0, 1500)
	first.SrcPort, first.DstPort = 5353, 53
	seq := []capture.Packet{
		frag(9, 185, true, t0-5, 1500), // before its first fragment: unmatched
		first,
		frag(7, 185, true, t0+10, 1500),
		frag(7, 370, false, t0+20, 300),
		frag(8, 185, false, t0+30, 200), // first fragment never seen
	}
	for i := range seq {
		tb.Add(&seq[i], c.emit)
	}
	tb.Flush(c.emit)
	var total int64
	var flow, orphans *flowlog.Record
	for i := range c.recs {
		r := &c.recs[i]
		fp, _ := attrInt(r, flowlog.AttrFragPackets)
		total += r.Packets + fp
		if r.SrcPort == 5353 {
			flow = r
		} else {
			orphans = r
		}
	}
	if total != 5 {
		t.Errorf("packets + frag_packets = %d, want 5", total)
	}
	if flow == nil || flow.Packets != 1 || flow.Bytes != 1500 {
		t.Fatalf("flow record %+v", flow)
	}
	if fp, _ := attrInt(flow, flowlog.AttrFragPackets); fp != 2 {
		t.Errorf("frag_packets %d, want 2", fp)
	}
	if fb, _ := attrInt(flow, flowlog.AttrFragBytes); fb != 1800 {
		t.Errorf("frag_bytes %d, want 1800", fb)
	}
	for i, in := range c.infos {
		if c.recs[i].SrcPort == 5353 && (in.First != t0 || in.Last != t0) {
			t.Errorf("fragments moved the record's times: %+v", in)
		}
	}
	if orphans == nil || orphans.Packets != 0 || orphans.Bytes != 0 || orphans.SrcPort != 0 || orphans.Proto != 17 {
		t.Fatalf("orphan record %+v", orphans)
	}
	if fp, _ := attrInt(orphans, flowlog.AttrFragPackets); fp != 2 {
		t.Errorf("orphan frag_packets %d, want 2", fp)
	}
	if s := tb.Stats(); s.FragMatched != 2 || s.FragUnmatched != 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestTimeouts(t *testing.T) {
	tb := New(Config{Active: 10 * time.Second, Idle: 3 * time.Second})
	c := newCollect(t, tb)
	sec := int64(time.Second)
	// flow A: a packet every second for 25 s → records of at most 10 s
	for i := int64(0); i <= 25; i++ {
		p := tcp("10.0.0.1", "10.0.0.2", 1, 2, t0+i*sec, 40, 0)
		tb.Add(&p, c.emit)
		if i == 1 {
			q := tcp("10.0.0.3", "10.0.0.4", 1, 2, t0+i*sec, 40, 0)
			tb.Add(&q, c.emit)
		}
		tb.Expire(t0+i*sec, c.emit)
	}
	// flow B went idle at 1 s: expired at 4 s
	var split, idle int
	for i, in := range c.infos {
		switch in.Why {
		case WhyActive:
			split++
			if in.Last-in.First >= 10*sec {
				t.Errorf("record spans %d ns", in.Last-in.First)
			}
		case WhyIdle:
			idle++
			if c.recs[i].Src.String() != "10.0.0.3" || in.Last != t0+sec {
				t.Errorf("idle record %+v %+v", c.recs[i], in)
			}
		}
	}
	if split != 2 || idle != 1 {
		t.Errorf("split %d idle %d, want 2 and 1", split, idle)
	}
	tb.Flush(c.emit)
	var n int64
	for _, r := range c.recs {
		n += r.Packets
	}
	if n != 27 {
		t.Errorf("packets %d, want 27", n)
	}
	if s := tb.Stats(); s.Emitted != s.Idle+s.Split+s.Evicted+s.Flushed || s.Emitted != uint64(len(c.recs)) {
		t.Errorf("stats %+v, %d records", s, len(c.recs))
	}
}

// flood adds n packets of distinct flows and checks the bound.
func TestFloodStaysBounded(t *testing.T) {
	n := 10_000_000
	if testing.Short() {
		n = 1_000_000
	}
	cfg := Config{MaxFlows: 4096}
	tb := New(cfg)
	var emitted, pk int64
	emit := func(r *flowlog.Record) { emitted++; pk += r.Packets }
	p := tcp("10.0.0.1", "10.0.0.2", 0, 80, t0, 40, 0)
	for i := 0; i < n; i++ {
		a := [4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}
		p.Src = netip.AddrFrom4(a)
		p.SrcPort = uint16(i >> 24)
		p.Time = t0 + int64(i)
		tb.Add(&p, emit)
		if tb.Len() > cfg.MaxFlows {
			t.Fatalf("table holds %d flows, max %d", tb.Len(), cfg.MaxFlows)
		}
	}
	if fp, max := tb.Footprint(), MaxFootprint(cfg); fp > max || max > 4096*300+DefaultFragSlots*24 {
		t.Fatalf("footprint %d, bound %d", fp, max)
	}
	s := tb.Stats()
	if s.Evicted != uint64(n-cfg.MaxFlows) || s.Peak != cfg.MaxFlows {
		t.Errorf("stats %+v", s)
	}
	tb.Flush(emit)
	if emitted != int64(n) || pk != int64(n) {
		t.Errorf("emitted %d records with %d packets, want %d", emitted, pk, n)
	}
}

func TestAddAllocatesNothing(t *testing.T) {
	tb := New(Config{MaxFlows: 1 << 12})
	emit := func(*flowlog.Record) {}
	ps := make([]capture.Packet, 20000)
	for i := range ps {
		ps[i] = tcp("10.0.0.1", "10.0.0.2", uint16(i), 80, t0+int64(i), 40, 0x10)
		if i%3 == 0 {
			ps[i].Outer = capture.Tunnel{Type: capture.TunnelVXLAN, HasVNI: true, VNI: 9, Src: ps[i].Src, Dst: ps[i].Dst}
			ps[i].Tunnels = 1
		}
		if i%7 == 0 {
			ps[i].Fragment, ps[i].FragID = true, uint32(i)
		}
	}
	for i := range ps { // warm up: grow to MaxFlows
		tb.Add(&ps[i], emit)
	}
	i := 0
	allocs := testing.AllocsPerRun(10000, func() {
		tb.Add(&ps[i%len(ps)], emit)
		i++
	})
	if allocs != 0 {
		t.Errorf("Add allocates %.2f per packet", allocs)
	}
}

// TestIndexAgainstModel churns flows through add/expire/evict and checks
// every held flow can still be found (backward-shift deletion).
func TestIndexAgainstModel(t *testing.T) {
	tb := New(Config{MaxFlows: 300, Idle: 50, Active: 1 << 40})
	var out int64
	emit := func(r *flowlog.Record) { out += r.Packets }
	x := uint32(1)
	for i := 0; i < 200000; i++ {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		p := tcp("10.0.0.1", "10.0.0.2", uint16(x%1000), 80, int64(i), 40, 0)
		tb.Add(&p, emit)
		if i%37 == 0 {
			tb.Expire(int64(i), emit)
		}
		if i%1000 == 0 {
			checkIndex(t, tb)
		}
	}
	tb.Flush(emit)
	if out != 200000 {
		t.Errorf("packets out %d, want 200000", out)
	}
}

// checkIndex verifies that every used entry is reachable from its home
// slot and that the index holds exactly the used entries.
func checkIndex(t *testing.T, tb *Table) {
	t.Helper()
	n := 0
	for _, s := range tb.idx {
		if s != 0 {
			n++
		}
	}
	if n != tb.n {
		t.Fatalf("index holds %d, table %d", n, tb.n)
	}
	for i := range tb.ents {
		e := &tb.ents[i]
		if !e.used {
			continue
		}
		k := e.k
		c := tb.ctxs[i]
		if got := tb.find(&k, &c, k.hash(tb.seed), nil); got != int32(i) {
			t.Fatalf("entry %d found at %d", i, got)
		}
	}
	seen := 0
	for i := tb.head; i >= 0; i = tb.ents[i].next {
		seen++
	}
	if seen != tb.n {
		t.Fatalf("LRU list has %d, table %d", seen, tb.n)
	}
}

// TestTunnelContextCache alternates packets of one inner flow between two
// tunnels that differ in exactly one identity field (the table reuses the
// context of the last tunnel): every variant must give two records with
// the packets of each tunnel, and each record the tunnel keys of its own.
func TestTunnelContextCache(t *testing.T) {
	a := capture.Tunnel{Type: capture.TunnelVXLAN, HasVNI: true, VNI: 10, HasID: false,
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")}
	variants := map[string]func(*capture.Tunnel){
		"type":      func(u *capture.Tunnel) { u.Type = capture.TunnelGeneve },
		"hasvni":    func(u *capture.Tunnel) { u.HasVNI = false },
		"vni":       func(u *capture.Tunnel) { u.VNI = 11 },
		"hasid":     func(u *capture.Tunnel) { u.HasID = true },
		"id":        func(u *capture.Tunnel) { u.HasID, u.ID = true, 7 },
		"src":       func(u *capture.Tunnel) { u.Src = netip.MustParseAddr("10.0.0.3") },
		"dst":       func(u *capture.Tunnel) { u.Dst = netip.MustParseAddr("::ffff:10.0.0.2") },
		"direction": func(u *capture.Tunnel) { u.Direction = 1 },
		"gwlb":      func(u *capture.Tunnel) { u.GWLBCookie, u.GWLBLens = [4]byte{1, 2, 3, 4}, [3]uint8{0, 0, 4} },
	}
	for name, change := range variants {
		b := a
		change(&b)
		tb := New(Config{})
		c := newCollect(t, tb)
		for i := 0; i < 10; i++ {
			p := tcp("192.168.1.1", "192.168.1.2", 1234, 443, t0+int64(i), 100, 0x10)
			p.Tunnels, p.IPLayers = 1, 2
			p.Outer = a
			n := 1
			if i%3 == 1 { // a b a a b a a b a a: three b, seven a
				p.Outer, n = b, 2
			}
			p.Inner = p.Outer
			p.L3Len = uint32(100 * n)
			tb.Add(&p, c.emit)
		}
		tb.Flush(c.emit)
		if len(c.recs) != 2 {
			t.Errorf("%s: %d records, want 2", name, len(c.recs))
			continue
		}
		for _, r := range c.recs {
			want := int64(7)
			if r.Bytes/r.Packets == 200 {
				want = 3
			}
			if r.Packets != want || r.Bytes != r.Packets*(r.Bytes/r.Packets) {
				t.Errorf("%s: record %+v, want %d packets", name, r, want)
			}
			vni, hasVNI := attrInt(&r, flowlog.AttrTunnelVni)
			typ, dst := attrStr(&r, flowlog.AttrTunnelType), attrStr(&r, flowlog.AttrTunnelDst)
			if want == 7 && (typ != "vxlan" || !hasVNI || vni != 10 || dst != "10.0.0.2" || r.Direction != (flowlog.Record{}).Direction) {
				t.Errorf("%s: tunnel a record %+v", name, r)
			}
			if want == 3 && name == "dst" && dst != "::ffff:10.0.0.2" {
				t.Errorf("%s: tunnel b record %+v", name, r)
			}
			if want == 3 && name == "gwlb" && attrStr(&r, flowlog.AttrGwlbFlowCookie) != "01020304" {
				t.Errorf("%s: tunnel b record %+v", name, r)
			}
		}
	}
}

// TestLRUGranularity: a flow's place in the LRU list moves only when its
// packets are a granularity apart, yet Flush emits in exact order of last
// packet, and Expire emits a flow no later than one granularity after it
// is due.
func TestLRUGranularity(t *testing.T) {
	tb := New(Config{Source: flowlog.SourcePcap, Idle: time.Second, Active: time.Minute})
	g := int64(1) << tb.markShift
	if g > int64(time.Second)/16 || g < int64(time.Second)/32 {
		t.Fatalf("granularity %d ns for a 1 s idle timeout", g)
	}
	base := t0 &^ (g - 1) // start of a granule
	c := newCollect(t, tb)
	pk := []capture.Packet{
		tcp("10.0.0.1", "10.0.0.2", 1000, 80, base, 60, 0x02),      // A
		tcp("10.0.0.3", "10.0.0.2", 1001, 80, base+1000, 60, 0x02), // B
		tcp("10.0.0.1", "10.0.0.2", 1000, 80, base+2000, 60, 0x10), // A again, same granule: not moved
	}
	for i := range pk {
		tb.Add(&pk[i], c.emit)
	}
	if tb.ents[tb.head].k.sport != 1000 {
		t.Fatalf("A moved within its granule: head is port %d", tb.ents[tb.head].k.sport)
	}
	tb.Flush(c.emit)
	if len(c.recs) != 2 || c.recs[0].SrcPort != 1001 || c.recs[1].SrcPort != 1000 || c.recs[1].Packets != 2 {
		t.Fatalf("Flush order %v, want B then A (exact order of last packet)", c.recs)
	}

	// Expire: A's last packet is a granule later than B's; both are
	// emitted once due, and never before.
	c.recs = c.recs[:0]
	pk = []capture.Packet{
		tcp("10.0.0.1", "10.0.0.2", 1000, 80, base, 60, 0x02),
		tcp("10.0.0.3", "10.0.0.2", 1001, 80, base+1000, 60, 0x02),
		tcp("10.0.0.1", "10.0.0.2", 1000, 80, base+g+5, 60, 0x10), // next granule: A moves behind B
	}
	for i := range pk {
		tb.Add(&pk[i], c.emit)
	}
	if n := tb.Expire(base+1000+int64(time.Second)-1, c.emit); n != 0 {
		t.Fatalf("Expire before B is due emitted %d", n)
	}
	if n := tb.Expire(base+1000+int64(time.Second), c.emit); n != 1 || c.recs[0].SrcPort != 1001 {
		t.Fatalf("Expire when B is due emitted %d %v", n, c.recs)
	}
	if n := tb.Expire(base+g+5+int64(time.Second)+g, c.emit); n != 1 || c.recs[1].SrcPort != 1000 || tb.Len() != 0 {
		t.Fatalf("Expire a granule after A is due emitted %d, %d left", n, tb.Len())
	}
}

// TestAheadSameRecords: adding packets through capture.Ahead (prefetching
// a few packets ahead, Add reusing the keys Prefetch built) gives exactly
// the records and counters of adding each packet as it comes, on a table
// small enough to evict and with sweeps between packets: for a uniform
// stream, and for a varied one (tunnels that change, GWLB options,
// fragments, skipped packets). In the varied stream, some packets are
// prefetched twice and some added out of prefetch order, which Add must
// notice.
func TestAheadSameRecords(t *testing.T) {
	run := func(varied, ahead bool) ([]string, Stats) {
		max := 400
		if varied {
			max = 100 // fewer distinct flows
		}
		tb := New(Config{Source: flowlog.SourceLive, MaxFlows: max, Idle: 2 * time.Second, Active: 5 * time.Second})
		var out []string
		emit := func(r *flowlog.Record) { out = append(out, string(flowlog.AppendJSON(nil, r))) }
		q := capture.NewAhead(tb)
		now := t0
		next := now
		add := func(p *capture.Packet) {
			tb.Add(p, emit)
			if p.Time >= next {
				tb.Expire(p.Time, emit)
				next = p.Time + int64(time.Second)
			}
		}
		x := uint32(2463534242)
		rnd := func() uint32 {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			return x
		}
		for i := 0; i < 20000; i++ {
			var p capture.Packet
			r := rnd()
			now += int64(r % 8_000_000)
			if varied {
				b := [4]byte{byte(rnd()), byte(rnd()), byte(rnd()), byte(rnd())}
				p = fuzzPacket(b[:], now)
			} else {
				benchPacket(&p, r%500, i%3 == 0)
				p.Time = now
				if r%97 == 0 {
					p.Reason = capture.Reason(1)
				}
			}
			if !ahead {
				add(&p)
				continue
			}
			switch {
			case varied && r%61 == 0:
				// added at once, ahead of the queue (out of prefetch order)
				for d := q.Pop(); d != nil; d = q.Pop() {
					add(d)
				}
				tb.Prefetch(&p)
				add(&p)
				continue
			case varied && r%67 == 0:
				tb.Prefetch(q.Slot()) // a stale prefetch of the slot's old contents
			}
			*q.Slot() = p
			if d := q.Push(); d != nil {
				add(d)
			}
		}
		for d := q.Pop(); d != nil; d = q.Pop() {
			add(d)
		}
		tb.Flush(emit)
		return out, tb.Stats()
	}
	for _, varied := range []bool{false, true} {
		plain, ps := run(varied, false)
		pre, as := run(varied, true)
		if ps.Evicted == 0 || ps.Idle == 0 || ps.Skipped[1] == 0 || varied && (ps.FragMatched == 0 || ps.FragUnmatched == 0) {
			t.Fatalf("varied=%v: the stream does not exercise eviction, expiry, fragments and skipping: %+v", varied, ps)
		}
		if ps != as {
			t.Fatalf("varied=%v: stats differ:\n%+v\n%+v", varied, ps, as)
		}
		if !slices.Equal(plain, pre) {
			for i := range min(len(plain), len(pre)) {
				if plain[i] != pre[i] {
					t.Fatalf("varied=%v: record %d differs:\n%s\n%s", varied, i, plain[i], pre[i])
				}
			}
			t.Fatalf("varied=%v: %d records vs %d", varied, len(plain), len(pre))
		}
	}
}
