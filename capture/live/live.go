package live

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/flowsift/flowsift/capture"
)

// ErrTimeout is returned by Source.Read when no frame arrived within
// Options.Poll.
var ErrTimeout = errors.New("live: no frame within the poll interval")

// ErrClosed is returned by Source.Read after Close.
var ErrClosed = errors.New("live: source closed")

// Source delivers the frames of one worker.
type Source interface {
	// Read fills f with the next frame. f.Data is valid until the next
	// Read. It returns ErrTimeout when nothing arrived within the poll
	// interval, ErrClosed after Close, or another error when the socket
	// failed.
	Read(f *capture.Frame) error
	// Stats returns the source's cumulative counters. It may be called
	// from another goroutine.
	Stats() Stats
	// Close releases the socket. For AF_PACKET sources it must not run
	// concurrently with Read (the ring is unmapped): the worker closes its
	// own source after its last Read.
	Close() error
}

// Stats are a source's cumulative counters.
type Stats struct {
	Frames uint64 // frames delivered by Read
	// KernelDrops are frames the kernel dropped for this socket: the
	// TPACKET statistics (tp_drops) for AF_PACKET, SO_RXQ_OVFL for UDP
	// listeners (datagrams dropped because the receive buffer was full).
	KernelDrops uint64
	// Freezes counts TPACKET_V3 queue freezes (all ring blocks full).
	Freezes uint64
	// Oversize counts datagrams a listener received truncated because they
	// exceeded its read buffer (still delivered, with OrigLen set).
	Oversize uint64
}

// Add sums counters (for totals over workers).
func (s *Stats) Add(o Stats) {
	s.Frames += o.Frames
	s.KernelDrops += o.KernelDrops
	s.Freezes += o.Freezes
	s.Oversize += o.Oversize
}

// Options tune the sources.
type Options struct {
	// Workers is the number of sources to open (fanout group members or
	// SO_REUSEPORT sockets); <= 0 means 1.
	Workers int
	// Filter is a BPF filter expression in tcpdump syntax (AF_PACKET only).
	Filter string
	// Snaplen bounds the bytes kept per frame (AF_PACKET ring frame size,
	// listener read buffer); 0 means 65535 for AF_PACKET and 65535 (the
	// largest UDP payload) for listeners.
	Snaplen int
	// Poll is how long Read waits before returning ErrTimeout; 0 means
	// 100 ms.
	Poll time.Duration
	// RingMB is the AF_PACKET ring size per worker in MiB (0: 64 MiB), or
	// the listener's SO_RCVBUF request (0: 16 MiB; the kernel caps it at
	// net.core.rmem_max).
	RingMB int
	// FanoutID names the AF_PACKET fanout group (0: derived from the
	// process id so two flowsift processes do not share packets).
	FanoutID uint16
}

func (o *Options) norm() {
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if o.Snaplen <= 0 || o.Snaplen > 65535 {
		o.Snaplen = 65535
	}
	if o.Poll <= 0 {
		o.Poll = 100 * time.Millisecond
	}
}

// Listen is a parsed mirror-target address: vxlan://ADDR:PORT or
// geneve://ADDR:PORT.
type Listen struct {
	Link capture.LinkType // LinkVXLAN or LinkGeneve
	Addr netip.AddrPort   // the address to bind; unspecified address = all
}

// Default ports of the mirror encapsulations (FORMATS.md 8).
const (
	PortVXLAN  = 4789
	PortGeneve = 6081
)

// ParseListen parses "vxlan://ADDR:PORT" or "geneve://ADDR:PORT". The
// port may be omitted (4789 / 6081) and so may the address ("vxlan://:4789"
// or "vxlan://" bind every local address); IPv6 addresses go in brackets.
func ParseListen(s string) (Listen, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return Listen{}, fmt.Errorf("listen address %q: want vxlan://ADDR:PORT or geneve://ADDR:PORT", s)
	}
	var l Listen
	port := 0
	switch strings.ToLower(scheme) {
	case "vxlan":
		l.Link, port = capture.LinkVXLAN, PortVXLAN
	case "geneve":
		l.Link, port = capture.LinkGeneve, PortGeneve
	default:
		return Listen{}, fmt.Errorf("listen address %q: unknown scheme %q (vxlan or geneve)", s, scheme)
	}
	rest = strings.TrimSuffix(rest, "/")
	host, portStr := rest, ""
	switch {
	case strings.HasPrefix(rest, "["):
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return Listen{}, fmt.Errorf("listen address %q: missing ]", s)
		}
		host = rest[1:end]
		if after := rest[end+1:]; after != "" {
			if after[0] != ':' {
				return Listen{}, fmt.Errorf("listen address %q: junk after ]", s)
			}
			portStr = after[1:]
		}
	case strings.Count(rest, ":") == 1:
		host, portStr, _ = strings.Cut(rest, ":")
	}
	if portStr != "" {
		p, err := strconv.ParseUint(portStr, 10, 16)
		if err != nil {
			return Listen{}, fmt.Errorf("listen address %q: bad port %q", s, portStr)
		}
		port = int(p)
	}
	addr := netip.IPv6Unspecified()
	if host != "" {
		a, err := netip.ParseAddr(host)
		if err != nil {
			return Listen{}, fmt.Errorf("listen address %q: %v", s, err)
		}
		if a.Zone() != "" {
			return Listen{}, fmt.Errorf("listen address %q: zones are not supported", s)
		}
		addr = a.Unmap()
	}
	l.Addr = netip.AddrPortFrom(addr, uint16(port))
	return l, nil
}

// The port may be 0: the kernel picks one (see Bound).

// String returns the canonical form, e.g. vxlan://127.0.0.1:4789.
func (l Listen) String() string {
	scheme := "vxlan"
	if l.Link == capture.LinkGeneve {
		scheme = "geneve"
	}
	return scheme + "://" + l.Addr.String()
}
