package live

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/flowsift/flowsift/capture"
)

func TestParseListen(t *testing.T) {
	good := map[string]string{
		"vxlan://127.0.0.1:4789": "vxlan://127.0.0.1:4789",
		"vxlan://127.0.0.1":      "vxlan://127.0.0.1:4789",
		"geneve://:7000":         "geneve://[::]:7000",
		"geneve://":              "geneve://[::]:6081",
		"VXLAN://[::1]:99":       "vxlan://[::1]:99",
		"vxlan://[::1]":          "vxlan://[::1]:4789",
		"vxlan://::1":            "vxlan://[::1]:4789",
		"vxlan://0.0.0.0:4789/":  "vxlan://0.0.0.0:4789",
	}
	for in, want := range good {
		l, err := ParseListen(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if l.String() != want {
			t.Errorf("%s: got %s, want %s", in, l, want)
		}
	}
	for _, in := range []string{"udp://1.2.3.4:5", "127.0.0.1:4789", "vxlan://1.2.3.4:70000",
		"vxlan://[::1", "vxlan://host.example:4789", "vxlan://[fe80::1%eth0]:4789", "vxlan://[::1]x"} {
		if _, err := ParseListen(in); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
}

// vxlanPayload returns a VXLAN header with vni followed by body.
func vxlanPayload(vni uint32, body []byte) []byte {
	b := []byte{0x08, 0, 0, 0, byte(vni >> 16), byte(vni >> 8), byte(vni), 0}
	return append(b, body...)
}

// readAll reads frames from every source until want frames arrived or
// the deadline passed, copying each frame.
func readAll(t *testing.T, srcs []Source, want int, wait time.Duration) []capture.Frame {
	t.Helper()
	var mu sync.Mutex
	var got []capture.Frame
	var wg sync.WaitGroup
	deadline := time.Now().Add(wait)
	for _, s := range srcs {
		wg.Add(1)
		go func(s Source) {
			defer wg.Done()
			var f capture.Frame
			for time.Now().Before(deadline) {
				mu.Lock()
				done := len(got) >= want
				mu.Unlock()
				if done {
					return
				}
				err := s.Read(&f)
				if errors.Is(err, ErrTimeout) {
					continue
				}
				if err != nil {
					t.Errorf("read: %v", err)
					return
				}
				c := f
				c.Data = append([]byte(nil), f.Data...)
				mu.Lock()
				got = append(got, c)
				mu.Unlock()
			}
		}(s)
	}
	wg.Wait()
	return got
}

func TestListenerFrames(t *testing.T) {
	for _, tc := range []struct {
		spec    string
		workers int
		network string
		local   string
	}{
		{"vxlan://127.0.0.1:0", 1, "udp4", "127.0.0.1"},
		{"geneve://127.0.0.1:0", 2, "udp4", "127.0.0.1"},
		{"vxlan://:0", 1, "udp4", "127.0.0.1"}, // wildcard: the local address comes from pktinfo
		{"vxlan://[::1]:0", 1, "udp6", "::1"},
		{"geneve://:0", 3, "udp6", "::1"},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			l, err := ParseListen(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			srcs, err := OpenListener(l, Options{Workers: tc.workers, Poll: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				for _, s := range srcs {
					s.Close()
				}
			}()
			if len(srcs) != tc.workers {
				t.Fatalf("%d sources, want %d", len(srcs), tc.workers)
			}
			port := srcs[0].(*udpSource).conn.LocalAddr().(*net.UDPAddr).Port
			for _, s := range srcs[1:] {
				if p := s.(*udpSource).conn.LocalAddr().(*net.UDPAddr).Port; p != port {
					t.Fatalf("worker on port %d, first on %d", p, port)
				}
			}
			// Several senders (distinct source ports), so SO_REUSEPORT has
			// something to spread; every datagram is numbered in its body.
			const senders, each = 8, 50
			var clients []*net.UDPConn
			for i := 0; i < senders; i++ {
				c, err := net.DialUDP(tc.network, nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(tc.local), uint16(port))))
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				clients = append(clients, c)
			}
			sent := map[uint32]netip.AddrPort{}
			before := time.Now().UnixNano()
			for i := 0; i < each; i++ {
				for j, c := range clients {
					id := uint32(i*senders + j)
					body := make([]byte, 20+int(id%300))
					binary.BigEndian.PutUint32(body, id)
					if _, err := c.Write(vxlanPayload(id, body)); err != nil {
						t.Fatal(err)
					}
					sent[id] = c.LocalAddr().(*net.UDPAddr).AddrPort()
				}
			}
			got := readAll(t, srcs, len(sent), 5*time.Second)
			after := time.Now().UnixNano()
			if len(got) != len(sent) {
				t.Fatalf("received %d frames, sent %d", len(got), len(sent))
			}
			seen := map[uint32]bool{}
			for _, f := range got {
				if f.Link != l.Link {
					t.Fatalf("link %x, want %x", f.Link, l.Link)
				}
				if len(f.Data) < 12 || int(f.OrigLen) != len(f.Data) {
					t.Fatalf("data %d bytes, origlen %d", len(f.Data), f.OrigLen)
				}
				id := binary.BigEndian.Uint32(f.Data[8:])
				vni := uint32(f.Data[4])<<16 | uint32(f.Data[5])<<8 | uint32(f.Data[6])
				if vni != id || len(f.Data) != 8+20+int(id%300) {
					t.Fatalf("frame %d: vni %d, %d bytes", id, vni, len(f.Data))
				}
				if seen[id] {
					t.Fatalf("frame %d twice", id)
				}
				seen[id] = true
				if want := sent[id].Addr().Unmap(); f.OuterSrc != want {
					t.Fatalf("frame %d: outer src %v, want %v", id, f.OuterSrc, want)
				}
				if f.OuterDst != netip.MustParseAddr(tc.local) {
					t.Fatalf("frame %d: outer dst %v, want %s", id, f.OuterDst, tc.local)
				}
				if f.Time < before || f.Time > after {
					t.Fatalf("frame %d: time %d outside [%d, %d]", id, f.Time, before, after)
				}
				if f.Number == 0 || f.Iface != 0 || f.Offset != 0 {
					t.Fatalf("frame %d: number %d iface %d offset %d", id, f.Number, f.Iface, f.Offset)
				}
			}
			var tot Stats
			for _, s := range srcs {
				tot.Add(s.Stats())
			}
			if tot.Frames != uint64(len(sent)) || tot.KernelDrops != 0 || tot.Oversize != 0 {
				t.Fatalf("stats %+v, want %d frames", tot, len(sent))
			}
		})
	}
}

// TestListenerOversize: a datagram longer than the snap length is
// delivered cut, with its real length, and counted.
func TestListenerOversize(t *testing.T) {
	srcs, err := OpenListener(Listen{Link: capture.LinkVXLAN, Addr: netip.MustParseAddrPort("127.0.0.1:0")}, Options{Snaplen: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer srcs[0].Close()
	c, err := net.DialUDP("udp4", nil, srcs[0].(*udpSource).conn.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(vxlanPayload(1, make([]byte, 500)))
	got := readAll(t, srcs, 1, 3*time.Second)
	if len(got) != 1 || len(got[0].Data) != 100 || got[0].OrigLen != 508 {
		t.Fatalf("got %d frames: %+v", len(got), got)
	}
	if st := srcs[0].Stats(); st.Oversize != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestListenerTimeoutAndClose: Read times out when idle and reports
// ErrClosed after Close, even when Close runs during a Read.
func TestListenerTimeoutAndClose(t *testing.T) {
	srcs, err := OpenListener(Listen{Link: capture.LinkGeneve, Addr: netip.MustParseAddrPort("127.0.0.1:0")}, Options{Poll: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var f capture.Frame
	start := time.Now()
	if err := srcs[0].Read(&f); !errors.Is(err, ErrTimeout) {
		t.Fatalf("idle read: %v", err)
	}
	if el := time.Since(start); el < 25*time.Millisecond || el > 2*time.Second {
		t.Fatalf("timeout after %v", el)
	}
	go func() { time.Sleep(50 * time.Millisecond); srcs[0].Close() }()
	for {
		err := srcs[0].Read(&f)
		if errors.Is(err, ErrTimeout) {
			continue
		}
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("read after close: %v", err)
		}
		break
	}
}

// TestListenerAllocs: reading a batch of datagrams allocates nothing per
// frame.
func TestListenerAllocs(t *testing.T) {
	srcs, err := OpenListener(Listen{Link: capture.LinkVXLAN, Addr: netip.MustParseAddrPort("127.0.0.1:0")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srcs[0].Close()
	c, err := net.DialUDP("udp4", nil, srcs[0].(*udpSource).conn.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	payload := vxlanPayload(7, make([]byte, 200))
	const n = 2000
	var f capture.Frame
	allocs := testing.AllocsPerRun(5, func() {
		for i := 0; i < n; i++ {
			c.Write(payload)
			if i%50 == 49 {
				for j := 0; j < 50; j++ {
					if err := srcs[0].Read(&f); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	})
	// c.Write itself allocates nothing on a connected socket; allow a
	// little for deadline timers.
	if per := allocs / n; per > 0.01 {
		t.Fatalf("%.3f allocations per frame", per)
	}
}
