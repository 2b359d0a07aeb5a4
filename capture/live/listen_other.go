//go:build !linux

package live

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"github.com/flowsift/flowsift/capture"
)

// Outside Linux a listener reads one datagram per call and the local
// address is the bound one (no pktinfo parsing).

func setListenerOptions(fd int, reuse bool) error {
	if reuse {
		return errors.New("several listener workers need SO_REUSEPORT (Linux only)")
	}
	return nil
}

func setReceiveBuffer(c *net.UDPConn, n int) { c.SetReadBuffer(n) }

type udpSource struct {
	udpCounters
	conn   *net.UDPConn
	link   capture.LinkType
	local  netip.Addr
	poll   time.Duration
	buf    []byte
	number uint64
	closed atomic.Bool
}

func newUDPSource(conn *net.UDPConn, link capture.LinkType, bound netip.AddrPort, o Options) (*udpSource, error) {
	return &udpSource{conn: conn, link: link, local: bound.Addr(), poll: o.Poll, buf: make([]byte, o.Snaplen)}, nil
}

func (s *udpSource) Read(f *capture.Frame) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := s.conn.SetReadDeadline(time.Now().Add(s.poll)); err != nil {
		return err
	}
	n, _, flags, from, err := s.conn.ReadMsgUDPAddrPort(s.buf, nil)
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return ErrTimeout
		}
		if s.closed.Load() || errors.Is(err, net.ErrClosed) {
			return ErrClosed
		}
		return err
	}
	_ = flags
	s.number++
	s.frames.Add(1)
	fillFrame(f, s.link, s.buf[:n], n, time.Now().UnixNano(), s.number, from.Addr().Unmap(), s.local)
	return nil
}

func (s *udpSource) Stats() Stats { return s.stats() }

func (s *udpSource) Close() error {
	s.closed.Store(true)
	return s.conn.Close()
}
