package clickhouse

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/flowsift/flowsift/analyze/verdict"
	"github.com/flowsift/flowsift/flowlog"
)

// batch holds up to BatchRows records of one UTC day as columns, in the
// order of flowColumns. It is reused: reset keeps the capacity.
type batch struct {
	id       string
	day      int64 // UTC day (start / 86400)
	n        int
	created  time.Time
	inDoubt  bool // an insert may have been attempted: resolve before inserting
	minStart int64
	maxStart int64
	packetsN uint64 // sums, for the ledger and the checks
	bytesN   uint64

	start, end     []int64
	addrs          []byte // 32 bytes a row: src, dst (IPv4 as v4-mapped)
	sport, dport   []uint16
	proto          []uint8
	packets, bytes []uint64
	action, dir    []int8
	iface, vpc     []string
	subnet, acct   []string
	tcpFlags       []int32
	source         []string
	attrBuf        []byte
	attrEnd        []uint32 // end offset of row i's attrs in attrBuf
	verdict        []int8
	finding        []string
	rules          []string // every row's rules, flat
	rulesEnd       []uint32 // end offset of row i's rules in rules
	reply          []uint8
	policy         []string
	reason         []string

	// scratch for send
	srcV, dstV, attrV [][]byte
	ids               []string
}

func (b *batch) reset() {
	b.id, b.n, b.inDoubt = "", 0, false
	b.minStart, b.maxStart, b.packetsN, b.bytesN = math.MaxInt64, math.MinInt64, 0, 0
	b.start, b.end, b.addrs = b.start[:0], b.end[:0], b.addrs[:0]
	b.sport, b.dport, b.proto = b.sport[:0], b.dport[:0], b.proto[:0]
	b.packets, b.bytes, b.action, b.dir = b.packets[:0], b.bytes[:0], b.action[:0], b.dir[:0]
	b.iface, b.vpc, b.subnet, b.acct = b.iface[:0], b.vpc[:0], b.subnet[:0], b.acct[:0]
	b.tcpFlags, b.source, b.attrBuf, b.attrEnd = b.tcpFlags[:0], b.source[:0], b.attrBuf[:0], b.attrEnd[:0]
	b.verdict, b.finding, b.rules, b.rulesEnd = b.verdict[:0], b.finding[:0], b.rules[:0], b.rulesEnd[:0]
	b.reply, b.policy, b.reason = b.reply[:0], b.policy[:0], b.reason[:0]
}

// clampTime maps Unix seconds onto DateTime's range (UInt32). ok is false
// when the value had to be changed.
func clampTime(t int64) (int64, bool) {
	if t < 0 {
		return 0, false
	}
	if t > math.MaxUint32 {
		return math.MaxUint32, false
	}
	return t, true
}

func clampCount(v int64) (uint64, bool) {
	if v < 0 {
		return 0, false
	}
	return uint64(v), true
}

// dayOf is the UTC day of a record's (clamped) start.
func dayOf(r *flowlog.Record) int64 {
	t, _ := clampTime(r.Start)
	return t / 86400
}

// add appends one record; clamped reports values changed to fit a column.
func (b *batch) add(r *flowlog.Record, res *verdict.Result, policy string) (clamped bool) {
	start, ok1 := clampTime(r.Start)
	end, ok2 := clampTime(r.End)
	pk, ok3 := clampCount(r.Packets)
	by, ok4 := clampCount(r.Bytes)
	clamped = !(ok1 && ok2 && ok3 && ok4)
	if b.n == 0 {
		b.day = start / 86400
	}
	b.n++
	b.minStart = min(b.minStart, start)
	b.maxStart = max(b.maxStart, start)
	b.packetsN += pk
	b.bytesN += by
	b.start = append(b.start, start)
	b.end = append(b.end, end)
	b.addrs = appendAddr(b.addrs, r.Src)
	b.addrs = appendAddr(b.addrs, r.Dst)
	b.sport = append(b.sport, r.SrcPort)
	b.dport = append(b.dport, r.DstPort)
	b.proto = append(b.proto, r.Proto)
	b.packets = append(b.packets, pk)
	b.bytes = append(b.bytes, by)
	b.action = append(b.action, int8(r.Action))
	b.dir = append(b.dir, int8(r.Direction))
	b.iface = append(b.iface, r.Iface)
	b.vpc = append(b.vpc, r.VPC)
	b.subnet = append(b.subnet, r.Subnet)
	b.acct = append(b.acct, r.Account)
	b.tcpFlags = append(b.tcpFlags, r.TCPFlags)
	b.source = append(b.source, r.Source.String())
	if len(r.Attrs) > 0 {
		at := len(b.attrBuf)
		b.attrBuf = flowlog.AppendJSONAttrs(b.attrBuf, r.Attrs)
		b.attrBuf[at] = '{' // replaces the leading comma
		b.attrBuf = append(b.attrBuf, '}')
	}
	b.attrEnd = append(b.attrEnd, uint32(len(b.attrBuf)))
	if res != nil {
		b.verdict = append(b.verdict, int8(res.Verdict))
		b.finding = append(b.finding, string(res.Finding))
		b.rules = append(b.rules, res.Rules...)
		b.reply = append(b.reply, boolByte(res.Reply))
		b.reason = append(b.reason, res.Reason)
	} else {
		b.verdict = append(b.verdict, int8(verdict.Unknown))
		b.finding = append(b.finding, "")
		b.reply = append(b.reply, 0)
		b.reason = append(b.reason, "")
	}
	b.rulesEnd = append(b.rulesEnd, uint32(len(b.rules)))
	b.policy = append(b.policy, policy)
	return clamped
}

func boolByte(v bool) uint8 {
	if v {
		return 1
	}
	return 0
}

func appendAddr(buf []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(buf, make([]byte, 16)...)
	}
	a16 := a.As16() // IPv4 becomes ::ffff:a.b.c.d
	return append(buf, a16[:]...)
}

// insertColumns is the column list of the INSERT (never omit it: 18.16
// needs it, clickhouse18.md).
func insertColumns() string { return quotedList(columnNames()) }

func columnNames() []string {
	n := make([]string, len(flowColumns))
	for i, c := range flowColumns {
		n[i] = c.name
	}
	return n
}

// send inserts the batch into table as one block (one part per partition;
// a batch spans one day, hence one part).
func (b *batch) send(ctx context.Context, conn driver.Conn, table string) (err error) {
	pb, err := conn.PrepareBatch(ctx, "INSERT INTO "+table+" ("+insertColumns()+")")
	if err != nil {
		return err
	}
	defer pb.Close()
	b.srcV, b.dstV, b.attrV, b.ids = b.srcV[:0], b.dstV[:0], b.attrV[:0], b.ids[:0]
	prev := uint32(0)
	for i := 0; i < b.n; i++ {
		b.srcV = append(b.srcV, b.addrs[32*i:32*i+16:32*i+16])
		b.dstV = append(b.dstV, b.addrs[32*i+16:32*i+32:32*i+32])
		e := b.attrEnd[i]
		b.attrV = append(b.attrV, b.attrBuf[prev:e:e])
		prev = e
		b.ids = append(b.ids, b.id)
	}
	cols := []any{b.start, b.end, b.srcV, b.dstV, b.sport, b.dport, b.proto, b.packets, b.bytes,
		b.action, b.dir, b.iface, b.vpc, b.subnet, b.acct, b.tcpFlags, b.source, b.attrV,
		b.verdict, b.finding, nil, b.reply, b.policy, b.ids, b.reason}
	for i, c := range cols {
		if flowColumns[i].name == "rules" {
			// Row by row with []string: the driver's reflection-free path.
			col, p := pb.Column(i), uint32(0)
			for _, e := range b.rulesEnd {
				if err := col.AppendRow(b.rules[p:e:e]); err != nil {
					return fmt.Errorf("column rules: %w", err)
				}
				p = e
			}
			continue
		}
		if err := pb.Column(i).Append(c); err != nil {
			return fmt.Errorf("column %s: %w", flowColumns[i].name, err)
		}
	}
	return pb.Send()
}

// Spool encoding: a version byte, the header, then each column. Strings are
// length-prefixed; decode checks every length against what is left.
// Version 2 added reason; version 1 files (an older flowsift's spool) still
// decode, with reason "".
const encVersion = 2

func (b *batch) encode(buf []byte) []byte {
	buf = append(buf, encVersion)
	buf = appendStr(buf, b.id)
	buf = binary.AppendVarint(buf, b.day)
	buf = binary.AppendUvarint(buf, uint64(b.n))
	buf = binary.AppendVarint(buf, b.minStart)
	buf = binary.AppendVarint(buf, b.maxStart)
	buf = binary.AppendUvarint(buf, b.packetsN)
	buf = binary.AppendUvarint(buf, b.bytesN)
	for i := 0; i < b.n; i++ {
		buf = binary.AppendUvarint(buf, uint64(b.start[i]))
		buf = binary.AppendUvarint(buf, uint64(b.end[i]))
		buf = binary.AppendUvarint(buf, uint64(b.sport[i]))
		buf = binary.AppendUvarint(buf, uint64(b.dport[i]))
		buf = append(buf, b.proto[i], byte(b.action[i]), byte(b.dir[i]), byte(b.verdict[i]), b.reply[i])
		buf = binary.AppendUvarint(buf, b.packets[i])
		buf = binary.AppendUvarint(buf, b.bytes[i])
		buf = binary.AppendVarint(buf, int64(b.tcpFlags[i]))
		for _, s := range [...]string{b.iface[i], b.vpc[i], b.subnet[i], b.acct[i], b.source[i], b.finding[i], b.policy[i], b.reason[i]} {
			buf = appendStr(buf, s)
		}
		buf = binary.AppendUvarint(buf, uint64(b.attrEnd[i]))
		buf = binary.AppendUvarint(buf, uint64(b.rulesEnd[i]))
	}
	buf = append(buf, b.addrs...)
	buf = binary.AppendUvarint(buf, uint64(len(b.attrBuf)))
	buf = append(buf, b.attrBuf...)
	buf = binary.AppendUvarint(buf, uint64(len(b.rules)))
	for _, s := range b.rules {
		buf = appendStr(buf, s)
	}
	return buf
}

func appendStr(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

var errDecode = errors.New("malformed spooled batch")

// decoder is a cursor with a sticky error.
type decoder struct {
	b      []byte
	err    error
	strs   map[string]string // interning: spooled rows repeat their strings
	maxLen uint64
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errDecode
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(n uint64) []byte {
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte1() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) str() string {
	raw := d.bytes(d.uvarint())
	if s, ok := d.strs[string(raw)]; ok {
		return s
	}
	s := string(raw)
	if len(d.strs) < 1<<16 {
		d.strs[s] = s
	}
	return s
}

// decode fills b (reset first) from an encoded batch.
func (b *batch) decode(p []byte) error {
	b.reset()
	d := &decoder{b: p, strs: map[string]string{}}
	version := d.byte1()
	if version != 1 && version != encVersion {
		return fmt.Errorf("%w: unknown version", errDecode)
	}
	b.id = d.str()
	b.day = d.varint()
	n := d.uvarint()
	// Every row takes at least 40 bytes: a count beyond that is damage,
	// not a reason to allocate.
	if n > uint64(len(d.b))/40+1 {
		return fmt.Errorf("%w: %d rows in %d bytes", errDecode, n, len(d.b))
	}
	b.minStart, b.maxStart = d.varint(), d.varint()
	b.packetsN, b.bytesN = d.uvarint(), d.uvarint()
	for i := uint64(0); i < n && d.err == nil; i++ {
		b.start = append(b.start, int64(d.uvarint()))
		b.end = append(b.end, int64(d.uvarint()))
		b.sport = append(b.sport, uint16(d.uvarint()))
		b.dport = append(b.dport, uint16(d.uvarint()))
		b.proto = append(b.proto, d.byte1())
		b.action = append(b.action, int8(d.byte1()))
		b.dir = append(b.dir, int8(d.byte1()))
		b.verdict = append(b.verdict, int8(d.byte1()))
		b.reply = append(b.reply, d.byte1())
		b.packets = append(b.packets, d.uvarint())
		b.bytes = append(b.bytes, d.uvarint())
		b.tcpFlags = append(b.tcpFlags, int32(d.varint()))
		b.iface = append(b.iface, d.str())
		b.vpc = append(b.vpc, d.str())
		b.subnet = append(b.subnet, d.str())
		b.acct = append(b.acct, d.str())
		b.source = append(b.source, d.str())
		b.finding = append(b.finding, d.str())
		b.policy = append(b.policy, d.str())
		if version >= 2 {
			b.reason = append(b.reason, d.str())
		} else {
			b.reason = append(b.reason, "")
		}
		b.attrEnd = append(b.attrEnd, uint32(d.uvarint()))
		b.rulesEnd = append(b.rulesEnd, uint32(d.uvarint()))
	}
	b.n = int(n)
	b.addrs = append(b.addrs, d.bytes(32*n)...)
	b.attrBuf = append(b.attrBuf, d.bytes(d.uvarint())...)
	nr := d.uvarint()
	if nr > uint64(len(d.b)) {
		d.fail()
	}
	for i := uint64(0); i < nr && d.err == nil; i++ {
		b.rules = append(b.rules, d.str())
	}
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", errDecode, len(d.b))
	}
	// Offsets must be non-decreasing and within their buffers.
	var pa, pr uint32
	for i := 0; i < b.n; i++ {
		if b.attrEnd[i] < pa || int(b.attrEnd[i]) > len(b.attrBuf) || b.rulesEnd[i] < pr || int(b.rulesEnd[i]) > len(b.rules) {
			return fmt.Errorf("%w: offsets of row %d", errDecode, i)
		}
		pa, pr = b.attrEnd[i], b.rulesEnd[i]
	}
	if b.n > 0 && (int(pa) != len(b.attrBuf) || int(pr) != len(b.rules)) {
		return fmt.Errorf("%w: unused column data", errDecode)
	}
	return nil
}
