//go:build linux && cgo

package live

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/google/gopacket/afpacket"

	"github.com/flowsift/flowsift/capture"
	"github.com/flowsift/flowsift/capture/live/livetest"
	"github.com/flowsift/flowsift/internal/pcapgen"
)

// TestInterfaceFanoutFilter sends generated frames out of one end of a
// veth pair and reads them on the other with two fanout workers and a BPF
// filter: every frame the filter passes arrives exactly once, byte for
// byte, the rest never, the kernel drops none, and reading allocates
// nothing per frame.
func TestInterfaceFanoutFilter(t *testing.T) {
	p := livetest.NewPair(t)
	// Only the test hosts' addresses; the filter drops TCP port 22.
	cfg := pcapgen.Config{Seed: 11, Packets: 3000, Flows: 80, Hosts4: p.Addr4, Hosts6: p.Addr6, PPS: 100000}
	g := pcapgen.New(cfg)
	g.Track = true
	var frames [][]byte
	var f capture.Frame
	for g.Next(&f) {
		frames = append(frames, append([]byte(nil), f.Data...))
	}
	filter := fmt.Sprintf("(host %s or host %s or host %s or host %s) and not tcp port 22", p.Addr4[0], p.Addr4[1], p.Addr6[0], p.Addr6[1])
	want := map[string]int{}
	wantN := 0
	for k, c := range g.Truth() {
		if k.Proto == 6 && (k.SrcPort == 22 || k.DstPort == 22) {
			continue
		}
		wantN += int(c.Packets)
	}
	if wantN == len(frames) || wantN == 0 {
		t.Fatalf("traffic has %d of %d frames outside port 22: the filter test needs both kinds", wantN, len(frames))
	}

	var srcs []Source
	if err := livetest.InNS(p.NSB, func() (err error) {
		srcs, err = OpenInterface(p.B, Options{Workers: 2, Filter: filter, Poll: 20 * time.Millisecond, RingMB: 16})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, s := range srcs {
			s.Close()
		}
	}()
	if srcs[0].(*afSource).link != capture.LinkEthernet {
		t.Fatalf("veth read as link %d, want Ethernet", srcs[0].(*afSource).link)
	}
	tx := sender(t, p)
	for _, fr := range frames {
		if err := tx.WritePacketData(fr); err != nil {
			t.Fatal(err)
		}
	}
	for _, fr := range frames {
		want[string(fr)]++
	}

	// Read each worker until it stays idle.
	got := map[string]int{}
	per := make([]int, len(srcs))
	n := 0
	deadline := time.Now().Add(10 * time.Second)
	for i, s := range srcs {
		readUntilIdle(t, s, &f, deadline, func() {
			if f.Link != capture.LinkEthernet || int(f.OrigLen) != len(f.Data) || f.Time == 0 {
				t.Fatalf("frame %+v", f)
			}
			if want[string(f.Data)] == 0 { // string(b) in a map index does not allocate
				t.Fatalf("worker %d: frame %d not sent (or filtered): % x", i, f.Number, f.Data[:min(60, len(f.Data))])
			}
			got[string(f.Data)]++
			per[i]++
			n++
		})
	}
	if n != wantN {
		t.Fatalf("read %d frames (per worker %v), want %d", n, per, wantN)
	}
	for _, c := range per {
		if c == 0 {
			t.Fatalf("fanout gave a worker nothing: %v", per)
		}
	}
	for k, c := range got {
		if c > want[k] {
			t.Fatalf("frame received %d times, sent %d", c, want[k])
		}
	}
	// Allocations: the same frames again, read without bookkeeping.
	for _, fr := range frames {
		if err := tx.WritePacketData(fr); err != nil {
			t.Fatal(err)
		}
	}
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	n2 := 0
	for _, s := range srcs {
		for idle := 0; idle < 5 && time.Now().Before(deadline); {
			if err := s.Read(&f); err != nil {
				idle++
				continue
			}
			idle = 0
			n2++
		}
	}
	runtime.ReadMemStats(&ms1)
	if n2 != wantN {
		t.Fatalf("second round: %d frames, want %d", n2, wantN)
	}
	if allocs := ms1.Mallocs - ms0.Mallocs; allocs > uint64(n2)/100 {
		t.Fatalf("%d allocations for %d frames", allocs, n2)
	}
	wantN *= 2
	var tot Stats
	for _, s := range srcs {
		tot.Add(s.Stats())
	}
	if tot.Frames != uint64(wantN) || tot.KernelDrops != 0 {
		t.Fatalf("stats %+v, want %d frames, no drops", tot, wantN)
	}
}

// TestInterfaceErrors: unknown interfaces and bad filters are reported
// with their name.
func TestInterfaceErrors(t *testing.T) {
	if _, err := OpenInterface("nosuchif0", Options{}); err == nil {
		t.Fatal("no error for a missing interface")
	}
	_, err := OpenInterface("lo", Options{Filter: "tcp port"})
	if err == nil {
		t.Fatal("no error for a bad filter")
	}
	if want := `filter "tcp port"`; !contains(err.Error(), want) {
		t.Fatalf("error %q does not name the filter", err)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestInterfaceFilterFromTheStart: frames the filter rejects never come
// out, even those that arrive while the sockets are being set up (the
// socket receives from the moment it is bound, before a filter can be
// attached). Traffic the filter rejects flows all through the opening;
// then frames it accepts are sent; every frame read must be one of those.
func TestInterfaceFilterFromTheStart(t *testing.T) {
	p := livetest.NewPair(t)
	frame := func(proto byte, dport uint16, i int) []byte {
		b := make([]byte, 14+20+8)
		copy(b[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		copy(b[6:12], []byte{0x02, 0, 0, 0, 0, 1})
		b[12], b[13] = 0x08, 0x00
		ip := b[14:]
		ip[0], ip[3], ip[8], ip[9] = 0x45, 28, 64, proto
		copy(ip[12:16], p.Addr4[0].AsSlice())
		copy(ip[16:20], p.Addr4[1].AsSlice())
		ip[20], ip[21] = byte(i>>8), byte(i)
		ip[22], ip[23] = byte(dport>>8), byte(dport)
		return b
	}
	tx := sender(t, p)
	stop := make(chan struct{})
	sent := make(chan int)
	go func() { // rejected traffic (TCP) until told to stop
		n := 0
		for {
			select {
			case <-stop:
				sent <- n
				return
			default:
			}
			if tx.WritePacketData(frame(6, 4242, n)) == nil {
				n++
			}
		}
	}()
	var srcs []Source
	err := livetest.InNS(p.NSB, func() (err error) {
		srcs, err = OpenInterface(p.B, Options{Workers: 2, Filter: "udp and dst port 4242", Poll: 20 * time.Millisecond, RingMB: 4})
		return err
	})
	time.Sleep(20 * time.Millisecond)
	close(stop)
	rejected := <-sent
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, s := range srcs {
			s.Close()
		}
	}()
	if rejected < 100 {
		t.Fatalf("only %d rejected frames sent during the opening", rejected)
	}
	const accepted = 50
	for i := 0; i < accepted; i++ {
		if err := tx.WritePacketData(frame(17, 4242, i)); err != nil {
			t.Fatal(err)
		}
	}
	var f capture.Frame
	n := 0
	for _, s := range srcs {
		readUntilIdle(t, s, &f, time.Now().Add(10*time.Second), func() {
			if len(f.Data) < 38 || f.Data[23] != 17 {
				t.Fatalf("a frame the filter rejects was read (protocol %d) after %d rejected frames were sent", f.Data[23], rejected)
			}
			n++
		})
	}
	if n != accepted {
		t.Fatalf("read %d accepted frames, sent %d", n, accepted)
	}
}

// readUntilIdle reads s into f until it has been idle for five poll
// intervals or the deadline has passed, calling each after every frame.
func readUntilIdle(t *testing.T, s Source, f *capture.Frame, deadline time.Time, each func()) {
	t.Helper()
	for idle := 0; idle < 5 && time.Now().Before(deadline); {
		err := s.Read(f)
		if errors.Is(err, ErrTimeout) {
			idle++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		idle = 0
		each()
	}
}

// sender opens a socket that sends frames out of the pair's A end; the
// test's cleanup closes it.
func sender(t *testing.T, p *livetest.Pair) *afpacket.TPacket {
	t.Helper()
	var tx *afpacket.TPacket
	if err := livetest.InNS(p.NSA, func() (err error) {
		tx, err = afpacket.NewTPacket(afpacket.OptInterface(p.A))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tx.Close)
	return tx
}
