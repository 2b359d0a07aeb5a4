package clickhouse

import (
	"encoding/binary"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	for _, c := range []struct {
		in, want, err string
	}{
		{"clickhouse://alice@db.example:9440/flows", "clickhouse://alice@db.example:9440/flows", ""},
		{"clickhouse://db.example", "clickhouse://default@db.example:9000/flowsift", ""},
		{"clickhouse://[::1]/x", "clickhouse://default@[::1]:9000/x", ""},
		{"clickhouse://alice:s3cret@db.example/flows", "", "must not contain a password"},
		{"http://db.example/flows", "", "scheme"},
		{"clickhouse:///flows", "", "no host"},
		{"clickhouse://h/bad-name", "", "database name"},
		{"clickhouse://h/x?secure=1", "", "unknown store URL parameter"},
		{"clickhouse://alice:s3cret@h/%zz", "", "malformed"},
	} {
		got, err := ParseURL(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want %q", c.in, err, c.err)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("%s: error shows the password: %v", c.in, err)
			}
			continue
		}
		if err != nil || got.String() != c.want {
			t.Errorf("%s: %v %v, want %s", c.in, got, err, c.want)
		}
	}
}

func TestParseVersion(t *testing.T) {
	for v, cur := range map[string]bool{"18.16.1": false, "21.3.20.1": false, "21.8.15.7": true, "24.8.4.13": true} {
		f, err := ParseVersion(v)
		if err != nil || f.Current != cur {
			t.Errorf("%s: current %v (%v), want %v", v, f.Current, err, cur)
		}
	}
	if _, err := ParseVersion("devel"); err == nil {
		t.Error("no error for an unparsable version")
	}
}

// TestDDLProfiles: 18.16 gets none of what it rejects (clickhouse18.md);
// current servers get IPv6, LowCardinality, codecs and TTL. Only the 18.16
// DDL runs against a real server here.
func TestDDLProfiles(t *testing.T) {
	legacy := Schema{DB: "d", F: Features{Major: 18, Minor: 16}, RetentionDays: 30}
	cur := Schema{DB: "d", F: Features{Major: 24, Minor: 8, Current: true}, RetentionDays: 30}
	var l, c string
	for _, m := range Migrations {
		l += strings.Join(m.SQL(legacy), "\n")
		c += strings.Join(m.SQL(cur), "\n")
	}
	for _, bad := range []string{"IPv6", "LowCardinality", "CODEC", "TTL", "DateTime64", "Bool", "Map("} {
		if strings.Contains(l, bad) {
			t.Errorf("18.16 DDL uses %s", bad)
		}
	}
	for _, good := range []string{"`src` IPv6", "LowCardinality(String)", "CODEC(", "TTL `start` + INTERVAL 30 DAY", "TTL `bucket`"} {
		if !strings.Contains(c, good) {
			t.Errorf("current DDL lacks %s", good)
		}
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	recs, res := genRecords(3000, 11, 2)
	var b, d batch
	b.reset()
	for i := range recs {
		if dayOf(&recs[i]) == dayOf(&recs[0]) {
			b.add(&recs[i], &res[i], "snap")
		}
	}
	b.id = "run-1"
	p := b.encode(nil)
	if err := d.decode(p); err != nil {
		t.Fatal(err)
	}
	if q := d.encode(nil); string(q) != string(p) {
		t.Fatal("decode(encode(b)) differs from b")
	}
	if d.n != b.n || d.id != b.id || d.packetsN != b.packetsN || d.rules[len(d.rules)-1] != b.rules[len(b.rules)-1] {
		t.Fatalf("decoded header differs: %d %s", d.n, d.id)
	}
	// Every truncation is an error, never a panic.
	for i := 0; i < len(p); i += 97 {
		if err := d.decode(p[:i]); err == nil {
			t.Fatalf("truncated at %d of %d: no error", i, len(p))
		}
	}
}

func TestAddNoAllocs(t *testing.T) {
	recs, res := genRecords(2000, 13, 1)
	var b batch
	b.reset()
	for i := range recs {
		b.add(&recs[i], &res[i], "p")
	}
	b.reset()
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		b.add(&recs[i%len(recs)], &res[i%len(recs)], "p")
		i++
	})
	if allocs != 0 {
		t.Errorf("batch.add allocates %.1f times per record", allocs)
	}
}

func FuzzDecode(f *testing.F) {
	recs, res := genRecords(50, 17, 1)
	var b batch
	b.reset()
	for i := range recs {
		b.add(&recs[i], &res[i], "snap")
	}
	b.id = "seed"
	f.Add(b.encode(nil))
	f.Add([]byte{encVersion})
	f.Fuzz(func(t *testing.T, p []byte) {
		if len(p) > 1<<20 {
			return
		}
		var d batch
		if err := d.decode(p); err != nil {
			return
		}
		// Accepted input re-encodes to itself (canonical varints aside,
		// the decoded batch must at least round-trip) and is consistent.
		var e batch
		if err := e.decode(d.encode(nil)); err != nil {
			t.Fatalf("re-encoded batch does not decode: %v", err)
		}
		if len(d.start) != d.n || len(d.addrs) != 32*d.n || len(d.rulesEnd) != d.n || len(d.attrEnd) != d.n {
			t.Fatalf("inconsistent columns for %d rows", d.n)
		}
	})
}

// encodeV1 is the spool encoding before reason (encVersion 1), kept to
// check that an older flowsift's spool still replays.
func (b *batch) encodeV1(buf []byte) []byte {
	buf = append(buf, 1)
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
		for _, s := range [...]string{b.iface[i], b.vpc[i], b.subnet[i], b.acct[i], b.source[i], b.finding[i], b.policy[i]} {
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

// TestDecodeV1: a version-1 spool file decodes to the same batch with an
// empty reason.
func TestDecodeV1(t *testing.T) {
	recs, res := genRecords(500, 23, 1)
	var b, d batch
	b.reset()
	for i := range recs {
		b.add(&recs[i], &res[i], "snap")
	}
	b.id = "old-1"
	if err := d.decode(b.encodeV1(nil)); err != nil {
		t.Fatal(err)
	}
	nonEmpty := 0
	for i := range b.reason {
		if b.reason[i] != "" {
			nonEmpty++
			b.reason[i] = ""
		}
	}
	if nonEmpty == 0 {
		t.Fatal("test data has no reason to lose")
	}
	if string(d.encode(nil)) != string(b.encode(nil)) {
		t.Error("v1 decode differs from the batch without reasons")
	}
}
