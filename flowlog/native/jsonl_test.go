package native

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/flowgen"
)

func decode(t testing.TB, line []byte) (flowlog.Record, []flowlog.Problem) {
	var probs []flowlog.Problem
	tally := &flowlog.Tally{OnProblem: func(p flowlog.Problem) { probs = append(probs, p) }}
	d := NewDecoder(tally)
	var p fastjson.Parser
	v, err := p.ParseBytes(line)
	if err != nil {
		t.Fatalf("AppendJSON wrote invalid JSON %s: %v", line, err)
	}
	var rec flowlog.Record
	if !d.DecodeJSON(v, 1, &rec) {
		return flowlog.Record{}, probs
	}
	return rec.Clone(), probs
}

// allAttrs is a record with every optional key set, strings with escapes.
func allAttrs() flowlog.Record {
	r := flowlog.Record{Start: -5, End: 1<<63 - 1, Src: netip.MustParseAddr("::ffff:10.0.0.1"), Dst: netip.MustParseAddr("2001:db8::1"),
		Packets: 1<<63 - 1, Bytes: 0, SrcPort: 65535, DstPort: 0, Proto: 255, Action: flowlog.ActionReject,
		Direction: flowlog.DirIngress, Source: flowlog.SourceAzureVNet, TCPFlags: 1<<31 - 1,
		Iface: "eni\"x\\y\n", VPC: "vpc-\u2028", Subnet: "", Account: "ünï"}
	for i, k := range flowlog.AttrKeys() {
		if k.IsInt() {
			r.SetInt(k, int64(i)*1_000_000_007-3)
		} else {
			r.SetStr(k, k.Name()+"\t<&>\x01")
		}
	}
	return r
}

func TestRoundTrip(t *testing.T) {
	recs := []flowlog.Record{allAttrs(), {Src: netip.MustParseAddr("1.2.3.4"), Dst: netip.MustParseAddr("5.6.7.8")}}
	g := flowgen.New(3)
	for i := 0; i < 2000; i++ {
		f := g.Next()
		r := flowlog.Record{Start: f.Start, End: f.End, Src: f.Src, Dst: f.Dst, Packets: f.Packets, Bytes: f.Bytes,
			SrcPort: f.SrcPort, DstPort: f.DstPort, Proto: f.Proto, TCPFlags: f.TCPFlags, Iface: f.Iface, VPC: f.VPC,
			Subnet: f.Subnet, Account: f.Account, Source: flowlog.Sources()[i%len(flowlog.Sources())]}
		if f.Accept {
			r.Action = flowlog.ActionAccept
		}
		if f.Ingress {
			r.Direction = flowlog.DirIngress
		}
		r.SetStr(flowlog.AttrInstanceId, f.Instance)
		r.SetStr(flowlog.AttrRegion, f.Region)
		r.SetInt(flowlog.AttrVersion, int64(i%8))
		recs = append(recs, r)
	}
	for i := range recs {
		line := flowlog.AppendJSON(nil, &recs[i])
		got, probs := decode(t, line)
		if len(probs) != 0 {
			t.Fatalf("%s: %v", line, probs)
		}
		if !got.Equal(&recs[i]) {
			t.Fatalf("round trip differs:\n in  %s\n out %s", line, flowlog.AppendJSON(nil, &got))
		}
	}
}

func TestRejects(t *testing.T) {
	for in, kind := range map[string]flowlog.Kind{
		`{"src":"1.2.3.4","start":1}`:                                 flowlog.KindMissingField,
		`{"src":"1.2.3.4","dst":"","start":1}`:                        flowlog.KindBadIP,
		`{"src":"1.2.3.4","dst":"fe80::1%eth0","start":1}`:            flowlog.KindBadIP,
		`{"src":"1.2.3.4","dst":"1.2.3.5","sport":65536}`:             flowlog.KindBadPort,
		`{"src":"1.2.3.4","dst":"1.2.3.5","proto":256}`:               flowlog.KindBadProtocol,
		`{"src":"1.2.3.4","dst":"1.2.3.5","packets":-1}`:              flowlog.KindBadNumber,
		`{"src":"1.2.3.4","dst":"1.2.3.5","bytes":1.5}`:               flowlog.KindBadNumber,
		`{"src":"1.2.3.4","dst":"1.2.3.5","start":"5"}`:               flowlog.KindBadNumber,
		`{"src":"1.2.3.4","dst":"1.2.3.5","start":1e3}`:               flowlog.KindBadNumber,
		`{"src":"1.2.3.4","dst":"1.2.3.5","end":9223372036854775808}`: flowlog.KindBadNumber,
		`{"src":"1.2.3.4","dst":"1.2.3.5","tcp_flags":2147483648}`:    flowlog.KindBadNumber,
		`{"src":"1.2.3.4","dst":"1.2.3.5","action":"ACCEPT"}`:         flowlog.KindBadValue,
		`{"src":"1.2.3.4","dst":"1.2.3.5","direction":"in"}`:          flowlog.KindBadValue,
		`{"src":"1.2.3.4","dst":"1.2.3.5","source":"x"}`:              flowlog.KindBadValue,
		`{"src":"1.2.3.4","dst":"1.2.3.5","vpc":5}`:                   flowlog.KindBadValue,
		`{"src":"1.2.3.4","dst":"1.2.3.5","rtt_msec":"5"}`:            flowlog.KindBadNumber,
	} {
		_, probs := decode(t, []byte(in))
		if len(probs) != 1 || probs[0].Kind != kind {
			t.Errorf("%s: %v, want one %v", in, probs, kind)
		}
	}
	// Defaults, nulls, unknown keys.
	got, probs := decode(t, []byte(`{"src":"1.2.3.4","dst":"1.2.3.5","start":-9223372036854775808,"vpc":null,"region":"","x":[1],"rule_priority":null}`))
	if len(probs) != 0 || got.Start != -1<<63 || got.VPC != "" || len(got.Attrs) != 0 {
		t.Errorf("%v %s", probs, flowlog.AppendJSON(nil, &got))
	}
}

// FuzzDecode: no panic; a record that decodes re-encodes to JSON that
// decodes to an equal record.
func FuzzDecode(f *testing.F) {
	r := allAttrs()
	f.Add(flowlog.AppendJSON(nil, &r))
	f.Add([]byte(`{"src":"1.2.3.4","dst":"1.2.3.5","start":1}`))
	f.Add([]byte(`{"start":1418530010,"end":1418530070,"src":"172.31.16.139","dst":"172.31.16.21","sport":20641,"dport":22,"proto":6,"packets":20,"bytes":4249,"action":"accept","direction":"","iface":"eni-1235b8ca123456789","vpc":"","subnet":"","account":"123456789010","tcp_flags":0,"source":"aws-vpc-text","version":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p fastjson.Parser
		v, err := p.ParseBytes(b)
		if err != nil {
			return
		}
		tally := &flowlog.Tally{}
		d := NewDecoder(tally)
		var rec flowlog.Record
		if !d.DecodeJSON(v, 1, &rec) {
			if tally.MalformedTotal() != 1 {
				t.Fatalf("rejected with %d reports", tally.MalformedTotal())
			}
			return
		}
		line := flowlog.AppendJSON(nil, &rec)
		back, probs := decode(t, line)
		if len(probs) != 0 || !back.Equal(&rec) {
			t.Fatalf("re-encoded %s does not read back: %v", line, probs)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	r := allAttrs()
	line := flowlog.AppendJSON(nil, &r)
	d := NewDecoder(&flowlog.Tally{})
	var p fastjson.Parser
	var rec flowlog.Record
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		v, _ := p.ParseBytes(line)
		if !d.DecodeJSON(v, 1, &rec) {
			b.Fatal("rejected")
		}
	}
	_ = bytes.MinRead
}
