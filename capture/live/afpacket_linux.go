//go:build linux && cgo

package live

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/gopacket/afpacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcap"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/flowsift/flowsift/capture"
)

// InterfaceSupported reports whether this build can read interfaces.
const InterfaceSupported = true

// ARPHRD values of /sys/class/net/IFACE/type whose AF_PACKET SOCK_RAW data
// starts with an Ethernet header.
const (
	arphrdEther    = 1
	arphrdLoopback = 772
)

// OpenInterface opens o.Workers TPACKET_V3 sockets on iface ("any" or ""
// for every interface), joined in one PACKET_FANOUT_HASH group when there
// are several, with o.Filter attached. Ethernet and loopback interfaces
// are read with their link header (LinkEthernet); other link types (tun,
// GRE, "any") as SOCK_DGRAM from the network header (LinkRaw), where a
// non-IP frame shows up as an undecodable one. With a filter (or a snaplen)
// no frame it rejects is ever read, not even one that arrived while the
// socket was set up; that costs about one poll interval per worker at
// opening (see drainRing).
//
// Frame.Iface is the kernel's interface index (IfaceName names it).
//
// Fanout hashes on the kernel's flow hash, which is symmetric and, for
// fragments, uses addresses and protocol only: all fragments of a datagram
// reach one worker, but a flow whose first packets are fragmented may be
// split over two workers' tables and then gives two records.
func OpenInterface(iface string, o Options) ([]Source, error) {
	o.norm()
	if iface == "any" {
		iface = ""
	}
	link, sockType, dlt := capture.LinkRaw, afpacket.SocketDgram, layers.LinkTypeRaw
	if iface != "" {
		if _, err := net.InterfaceByName(iface); err != nil {
			return nil, fmt.Errorf("interface %s: %w", iface, err)
		}
		if n, err := hardwareType(iface); err != nil {
			return nil, fmt.Errorf("interface %s: %w", iface, err)
		} else if n == arphrdEther || n == arphrdLoopback {
			link, sockType, dlt = capture.LinkEthernet, afpacket.SocketRaw, layers.LinkTypeEthernet
		}
	}
	var prog []bpf.RawInstruction
	if o.Filter != "" || o.Snaplen < 65535 {
		ins, err := pcap.CompileBPFFilter(dlt, o.Snaplen, o.Filter)
		if err != nil {
			return nil, fmt.Errorf("filter %q: %w", o.Filter, err)
		}
		for _, in := range ins {
			prog = append(prog, bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K})
		}
	}
	if o.RingMB <= 0 {
		o.RingMB = 64
	}
	const blockSize = 1 << 20
	const frameSize = 1 << 16
	fanout := o.FanoutID
	if fanout == 0 {
		fanout = uint16(os.Getpid())
	}
	var out []Source
	fail := func(err error) ([]Source, error) {
		for _, s := range out {
			s.Close()
		}
		name := iface
		if name == "" {
			name = "any"
		}
		return nil, fmt.Errorf("interface %s: %w", name, err)
	}
	for i := 0; i < o.Workers; i++ {
		opts := []any{afpacket.OptFrameSize(frameSize), afpacket.OptBlockSize(blockSize),
			afpacket.OptNumBlocks(max(2, o.RingMB*(1<<20)/blockSize)), afpacket.TPacketVersion3,
			afpacket.OptPollTimeout(o.Poll), afpacket.OptBlockTimeout(10 * time.Millisecond), sockType}
		if iface != "" {
			opts = append(opts, afpacket.OptInterface(iface))
		}
		tp, err := afpacket.NewTPacket(opts...)
		if err != nil {
			return fail(err)
		}
		out = append(out, &afSource{tp: tp, link: link})
		if prog == nil {
			if err := joinFanout(tp, o.Workers, fanout); err != nil {
				return fail(err)
			}
			continue
		}
		// The socket receives from the moment it is bound, before a
		// filter can be attached: as libpcap does, reject everything,
		// drop what the ring caught meanwhile (below), then attach the
		// filter, so that no frame the filter would drop is ever read.
		if err := tp.SetBPF(rejectAll); err != nil {
			return fail(fmt.Errorf("attaching the filter: %w", err))
		}
	}
	if prog == nil {
		return out, nil
	}
	// Wait out the TPACKET_V3 block timeout (10 ms) once for all the rings,
	// so that a block still being filled is handed over too.
	time.Sleep(15 * time.Millisecond)
	for _, s := range out {
		tp := s.(*afSource).tp
		drainRing(tp)
		if err := tp.SetBPF(prog); err != nil {
			return fail(fmt.Errorf("attaching the filter: %w", err))
		}
		if err := joinFanout(tp, o.Workers, fanout); err != nil {
			return fail(err)
		}
	}
	return out, nil
}

// joinFanout puts one of several workers' sockets into the fanout group
// (packets spread by flow hash); a single worker needs none.
func joinFanout(tp *afpacket.TPacket, workers int, group uint16) error {
	if workers <= 1 {
		return nil
	}
	if err := tp.SetFanout(afpacket.FanoutHash, group); err != nil {
		return fmt.Errorf("joining fanout group %d: %w", group, err)
	}
	return nil
}

// rejectAll is a BPF program that accepts no packet (ret #0).
var rejectAll = []bpf.RawInstruction{{Op: 0x06, K: 0}}

// drainRing reads and drops every frame the ring holds (the caller has
// waited out the block timeout): it stops at the first poll timeout.
func drainRing(tp *afpacket.TPacket) {
	for {
		if _, _, err := tp.ZeroCopyReadPacketData(); err != nil {
			return
		}
	}
}

// IfaceName returns the name of a kernel interface index ("" when it is
// gone), cached: the flow table calls it once per record.
func IfaceName(index uint32) string {
	if v, ok := ifaceNames.Load(index); ok {
		return v.(string)
	}
	name := ""
	if ifc, err := net.InterfaceByIndex(int(index)); err == nil {
		name = ifc.Name
	}
	ifaceNames.Store(index, name)
	return name
}

var ifaceNames sync.Map

// hardwareType returns the interface's ARPHRD_* type (SIOCGIFHWADDR on a
// socket of the caller's network namespace; /sys may belong to another).
func hardwareType(iface string) (uint16, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(iface)
	if err != nil {
		return 0, err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFHWADDR, ifr); err != nil {
		return 0, err
	}
	return ifr.Uint16(), nil
}

// afSource reads one TPACKET_V3 ring without copying frames.
type afSource struct {
	tp     *afpacket.TPacket
	link   capture.LinkType
	number uint64
	frames atomic.Uint64
	vlan   []byte // a frame with its offloaded 802.1Q tag put back

	mu     sync.Mutex // guards the socket's statistics against Close
	closed bool
	last   Stats
}

func (s *afSource) Read(f *capture.Frame) error {
	data, ci, err := s.tp.ZeroCopyReadPacketData()
	if err != nil {
		switch {
		case errors.Is(err, afpacket.ErrTimeout):
			return ErrTimeout
		case s.closed:
			return ErrClosed
		}
		return err
	}
	if len(ci.AncillaryData) > 0 && s.link == capture.LinkEthernet && len(data) >= 12 {
		// The NIC or veth stripped the VLAN tag (offload); put it back so
		// the record keeps its vlan key. gopacket allocates the ancillary
		// value itself, so tagged frames on offloading devices are not
		// allocation-free.
		if v, ok := ci.AncillaryData[0].(afpacket.AncillaryVLAN); ok {
			s.vlan = append(s.vlan[:0], data[:12]...)
			s.vlan = append(s.vlan, 0x81, 0x00, byte(v.VLAN>>8), byte(v.VLAN))
			s.vlan = append(s.vlan, data[12:]...)
			data = s.vlan
			ci.Length += 4
		}
	}
	s.number++
	s.frames.Add(1)
	*f = capture.Frame{Time: ci.Timestamp.UnixNano(), Data: data, OrigLen: uint32(ci.Length), Link: s.link, Number: s.number,
		Iface: uint32(ci.InterfaceIndex)}
	return nil
}

func (s *afSource) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.refresh()
	}
	st := s.last
	st.Frames = s.frames.Load()
	return st
}

// refresh reads the kernel's counters (reading them resets them in the
// kernel; gopacket keeps the running totals). s.mu must be held.
func (s *afSource) refresh() {
	if _, v3, err := s.tp.SocketStats(); err == nil {
		s.last.KernelDrops = uint64(v3.Drops())
		s.last.Freezes = uint64(v3.QueueFreezes())
	}
}

func (s *afSource) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.refresh()
	s.closed = true
	s.tp.Close()
	return nil
}
