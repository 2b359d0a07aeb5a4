package live

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"

	"github.com/flowsift/flowsift/capture"
)

// OpenListener opens o.Workers UDP sockets bound to l.Addr (SO_REUSEPORT,
// so the kernel spreads sessions over them by the outer 4-tuple hash) and
// returns one Source per worker. Frames have Link l.Link, Data starting at
// the VXLAN/Geneve header, OuterSrc the sender and OuterDst the local
// address the datagram was sent to.
func OpenListener(l Listen, o Options) ([]Source, error) {
	o.norm()
	network := "udp"
	switch {
	case l.Addr.Addr().Is4():
		network = "udp4"
	case !l.Addr.Addr().IsUnspecified():
		network = "udp6"
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) { serr = setListenerOptions(int(fd), o.Workers > 1) }); err != nil {
			return err
		}
		return serr
	}}
	addr := l.Addr
	var out []Source
	fail := func(err error) ([]Source, error) {
		for _, s := range out {
			s.Close()
		}
		return nil, fmt.Errorf("listen %s: %w", l, err)
	}
	for i := 0; i < o.Workers; i++ {
		pc, err := lc.ListenPacket(context.Background(), network, addr.String())
		if err != nil {
			return fail(err)
		}
		conn := pc.(*net.UDPConn)
		if i == 0 {
			// A port 0 request gets an ephemeral port: the other workers
			// join that one.
			addr = netip.AddrPortFrom(addr.Addr(), conn.LocalAddr().(*net.UDPAddr).AddrPort().Port())
		}
		if o.RingMB <= 0 {
			o.RingMB = 16
		}
		setReceiveBuffer(conn, o.RingMB<<20)
		s, err := newUDPSource(conn, l.Link, addr, o)
		if err != nil {
			conn.Close()
			return fail(err)
		}
		out = append(out, s)
	}
	return out, nil
}

// udpCounters are the atomic counters of a listener socket.
type udpCounters struct {
	frames, drops, oversize atomic.Uint64
}

func (c *udpCounters) stats() Stats {
	return Stats{Frames: c.frames.Load(), KernelDrops: c.drops.Load(), Oversize: c.oversize.Load()}
}

// fillFrame sets the Frame fields every listener sets the same way.
func fillFrame(f *capture.Frame, link capture.LinkType, data []byte, origLen int, t int64, number uint64, src, dst netip.Addr) {
	*f = capture.Frame{Time: t, Data: data, OrigLen: uint32(origLen), Link: link, Number: number, OuterSrc: src, OuterDst: dst}
}

// Bound returns the address a listener source is bound to (with the port
// the kernel picked for port 0), or false for other sources.
func Bound(s Source) (netip.AddrPort, bool) {
	u, ok := s.(*udpSource)
	if !ok {
		return netip.AddrPort{}, false
	}
	a := u.conn.LocalAddr().(*net.UDPAddr).AddrPort()
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port()), true
}
