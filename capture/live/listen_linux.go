package live

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/flowsift/flowsift/capture"
)

// batchSize is the number of datagrams one recvmmsg call may return.
const batchSize = 64

// controlSize holds the control messages of one datagram: IP_PKTINFO or
// IPV6_PKTINFO (local address), SCM_TIMESTAMPNS and SO_RXQ_OVFL.
const controlSize = 128

// mmsghdr is struct mmsghdr (msghdr followed by the received length; Go's
// struct padding matches C's on 32- and 64-bit targets).
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

func setListenerOptions(fd int, reuse bool) error {
	if reuse {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			return err
		}
	}
	// The local address of each datagram (the socket may be bound to the
	// wildcard), kernel receive times and the drop counter. IPv4 and IPv6
	// options are both tried: a dual-stack socket gets IPv4 datagrams too.
	e4 := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
	e6 := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1)
	if e4 != nil && e6 != nil {
		return e4
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return err
	}
	return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1)
}

func setReceiveBuffer(c *net.UDPConn, n int) {
	raw, err := c.SyscallConn()
	if err == nil {
		var serr error
		raw.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n) })
		if serr == nil {
			return
		}
	}
	c.SetReadBuffer(n) // capped at net.core.rmem_max
}

// udpSource reads datagrams in recvmmsg batches into one slab of buffers.
type udpSource struct {
	udpCounters
	conn   *net.UDPConn
	raw    syscall.RawConn
	link   capture.LinkType
	local  netip.Addr // the bound address; unspecified: take it from pktinfo
	poll   time.Duration
	snap   int
	slab   []byte
	ctrl   []byte
	names  [batchSize]unix.RawSockaddrInet6
	iovs   [batchSize]unix.Iovec
	hdrs   [batchSize]mmsghdr
	n, i   int // datagrams in the batch, next one
	number uint64
	// read is the closure RawConn.Read calls, built once so a Read does
	// not allocate; it leaves its result in got/errno.
	read    func(fd uintptr) bool
	got     int
	errno   syscall.Errno
	lastOvf uint32
	closed  atomic.Bool
}

func newUDPSource(conn *net.UDPConn, link capture.LinkType, bound netip.AddrPort, o Options) (*udpSource, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	s := &udpSource{conn: conn, raw: raw, link: link, local: bound.Addr(), poll: o.Poll, snap: o.Snaplen,
		slab: make([]byte, batchSize*o.Snaplen), ctrl: make([]byte, batchSize*controlSize)}
	for i := range s.hdrs {
		s.iovs[i].Base = &s.slab[i*s.snap]
		s.iovs[i].SetLen(s.snap)
		h := &s.hdrs[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&s.names[i]))
		h.Iov = &s.iovs[i]
		h.SetIovlen(1)
		h.Control = &s.ctrl[i*controlSize]
	}
	s.read = func(fd uintptr) bool {
		for i := range s.hdrs {
			h := &s.hdrs[i].hdr
			h.Namelen = uint32(unsafe.Sizeof(s.names[0]))
			h.SetControllen(controlSize)
			h.Flags = 0
		}
		n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&s.hdrs[0])), batchSize,
			unix.MSG_TRUNC|unix.MSG_DONTWAIT, 0, 0)
		if e == unix.EAGAIN || e == unix.EWOULDBLOCK {
			return false
		}
		if e == unix.EINTR {
			return false
		}
		s.got, s.errno = int(n), e
		return true
	}
	return s, nil
}

func (s *udpSource) Read(f *capture.Frame) error {
	for s.i >= s.n {
		if s.closed.Load() {
			return ErrClosed
		}
		if err := s.conn.SetReadDeadline(time.Now().Add(s.poll)); err != nil {
			return s.fail(err)
		}
		s.got, s.errno = 0, 0
		if err := s.raw.Read(s.read); err != nil {
			return s.fail(err)
		}
		if s.errno != 0 {
			return s.fail(s.errno)
		}
		s.n, s.i = s.got, 0
	}
	m := &s.hdrs[s.i]
	idx := s.i
	s.i++
	size := int(m.len)
	data := s.slab[idx*s.snap : idx*s.snap+min(size, s.snap)]
	if size > s.snap || m.hdr.Flags&unix.MSG_TRUNC != 0 {
		s.oversize.Add(1)
	}
	src := sockaddrAddr(&s.names[idx])
	dst, t := s.parseControl(s.ctrl[idx*controlSize : idx*controlSize+int(m.hdr.Controllen)])
	if !dst.IsValid() {
		dst = s.local
	}
	if t == 0 {
		t = time.Now().UnixNano()
	}
	s.number++
	s.frames.Add(1)
	fillFrame(f, s.link, data, size, t, s.number, src, dst)
	return nil
}

func (s *udpSource) fail(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return ErrTimeout
	}
	if s.closed.Load() || errors.Is(err, net.ErrClosed) {
		return ErrClosed
	}
	return err
}

// sockaddrAddr returns the address of a sockaddr_in or sockaddr_in6
// (IPv4-mapped addresses unmapped).
func sockaddrAddr(sa *unix.RawSockaddrInet6) netip.Addr {
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrFrom4(sa4.Addr)
	case unix.AF_INET6:
		return netip.AddrFrom16(sa.Addr).Unmap()
	}
	return netip.Addr{}
}

// parseControl reads the control messages of one datagram: its local
// (destination) address, its kernel receive time, and the socket's drop
// counter.
func (s *udpSource) parseControl(b []byte) (dst netip.Addr, t int64) {
	const hdrLen = unix.SizeofCmsghdr
	align := func(n int) int {
		return (n + int(unsafe.Sizeof(uintptr(0))) - 1) &^ (int(unsafe.Sizeof(uintptr(0))) - 1)
	}
	for len(b) >= hdrLen {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
		l := int(h.Len)
		if l < hdrLen || l > len(b) {
			break
		}
		data := b[hdrLen:l]
		switch {
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && len(data) >= 12:
			dst = netip.AddrFrom4([4]byte(data[8:12])) // ipi_addr: the header's destination
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO && len(data) >= 16:
			dst = netip.AddrFrom16([16]byte(data[:16])).Unmap()
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && len(data) >= 16:
			sec := int64(binary.NativeEndian.Uint64(data[0:8]))
			nsec := int64(binary.NativeEndian.Uint64(data[8:16]))
			t = sec*1e9 + nsec
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SO_RXQ_OVFL && len(data) >= 4:
			// A cumulative count of datagrams dropped since the socket
			// was created (wraps at 2^32).
			v := binary.NativeEndian.Uint32(data[:4])
			if v != s.lastOvf {
				s.drops.Add(uint64(v - s.lastOvf))
				s.lastOvf = v
			}
		}
		if align(l) >= len(b) {
			break
		}
		b = b[align(l):]
	}
	return dst, t
}

func (s *udpSource) Stats() Stats { return s.stats() }

func (s *udpSource) Close() error {
	s.closed.Store(true)
	return s.conn.Close()
}
