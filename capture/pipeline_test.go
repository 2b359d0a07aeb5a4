package capture_test

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/flowsift/flowsift/capture"
	"github.com/flowsift/flowsift/capture/flowtable"
	"github.com/flowsift/flowsift/flowlog"
)

// fakeSource yields n frames one second apart (Data[0] = source port,
// Data[1] = 1 for a non-IP frame), then err.
type fakeSource struct {
	n, i int
	err  error
	buf  [2]byte
}

func (s *fakeSource) Next(f *capture.Frame) error {
	if s.i >= s.n {
		return s.err
	}
	s.i++
	s.buf[0], s.buf[1] = byte(s.i%4), 0
	if s.i%10 == 0 {
		s.buf[1] = 1
	}
	*f = capture.Frame{Time: int64(s.i) * int64(time.Second), Data: s.buf[:], Number: uint64(s.i)}
	return nil
}

func fakeDecode(f *capture.Frame, p *capture.Packet) {
	*p = capture.Packet{Time: f.Time}
	if f.Data[1] == 1 {
		p.Reason = capture.ReasonNotIP
		return
	}
	p.Family, p.Proto, p.L3Len = 4, 17, 100
	p.Src, p.Dst = netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	p.SrcPort, p.DstPort = uint16(f.Data[0]), 53
}

type damage struct{}

func (damage) Error() string { return "frame 41 at byte 9999: record cut short: unexpected EOF" }
func (damage) Unwrap() error { return io.ErrUnexpectedEOF }

func TestPipelineDamageKeepsEarlierFlows(t *testing.T) {
	var probs []flowlog.Problem
	tally := &flowlog.Tally{Path: "x.pcap", OnProblem: func(p flowlog.Problem) { probs = append(probs, p) }}
	tb := flowtable.New(flowtable.Config{Idle: 5 * time.Second, Active: 20 * time.Second, MaxFlows: 2})
	p := capture.NewPipeline(capture.PipelineConfig{
		Source: &fakeSource{n: 40, err: damage{}}, Decode: fakeDecode, Table: tb, Tally: tally,
	})
	var rec flowlog.Record
	var pk int64
	n := 0
	for p.Next(&rec) {
		n++
		pk += rec.Packets
	}
	if pk != 36 { // 40 frames, 4 not IP
		t.Errorf("packets %d, want 36", pk)
	}
	if tally.Records != int64(n) {
		t.Errorf("tally records %d, returned %d", tally.Records, n)
	}
	if s := tb.Stats(); s.Evicted == 0 || s.Emitted != uint64(n) {
		t.Errorf("stats %+v, %d records", s, n)
	}
	if len(probs) != 2 {
		t.Fatalf("problems %v", probs)
	}
	if got := probs[0].String(); got != "x.pcap:41: truncated: frame 41 at byte 9999: record cut short: unexpected EOF" {
		t.Errorf("damage report %q", got)
	}
	if got := probs[1].String(); !strings.Contains(got, "4 of 40 frame(s) carry no IP flow (not-ip 4)") {
		t.Errorf("note %q", got)
	}
	if p.Next(&rec) {
		t.Error("Next after the end returned a record")
	}
}

func TestPipelineExpiresWhileReading(t *testing.T) {
	tally := &flowlog.Tally{}
	tb := flowtable.New(flowtable.Config{Idle: 2 * time.Second})
	src := &fakeSource{n: 1000, err: io.EOF}
	p := capture.NewPipeline(capture.PipelineConfig{Source: src, Decode: fakeDecode, Table: tb, Tally: tally})
	var rec flowlog.Record
	var pk int64
	first := -1
	for i := 0; p.Next(&rec); i++ {
		if first < 0 {
			first = src.i
		}
		pk += rec.Packets
	}
	if pk != 900 {
		t.Errorf("packets %d, want 900", pk)
	}
	// Flows of 4 ports, each with a packet every 4 s: records expire idle
	// while reading, long before the end.
	if first < 0 || first > 20 {
		t.Errorf("first record after %d frames, want early expiry", first)
	}
	if tally.MalformedTotal() != 0 {
		t.Errorf("malformed %d", tally.MalformedTotal())
	}
}

func ExamplePipeline() {
	tally := &flowlog.Tally{Path: "-"}
	p := capture.NewPipeline(capture.PipelineConfig{
		Source: &fakeSource{n: 3, err: io.EOF}, Decode: fakeDecode,
		Table: flowtable.New(flowtable.Config{Source: flowlog.SourcePcap}), Tally: tally,
	})
	var rec flowlog.Record
	for p.Next(&rec) {
		fmt.Printf("%s\n", flowlog.AppendJSON(nil, &rec))
	}
	// Output:
	// {"start":1,"end":1,"src":"10.0.0.1","dst":"10.0.0.2","sport":1,"dport":53,"proto":17,"packets":1,"bytes":100,"action":"","direction":"","iface":"","vpc":"","subnet":"","account":"","tcp_flags":0,"source":"pcap"}
	// {"start":2,"end":2,"src":"10.0.0.1","dst":"10.0.0.2","sport":2,"dport":53,"proto":17,"packets":1,"bytes":100,"action":"","direction":"","iface":"","vpc":"","subnet":"","account":"","tcp_flags":0,"source":"pcap"}
	// {"start":3,"end":3,"src":"10.0.0.1","dst":"10.0.0.2","sport":3,"dport":53,"proto":17,"packets":1,"bytes":100,"action":"","direction":"","iface":"","vpc":"","subnet":"","account":"","tcp_flags":0,"source":"pcap"}
}
