package live

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// cmsg builds one control message.
func cmsg(level, typ int32, data []byte) []byte {
	h := unix.Cmsghdr{Level: level, Type: typ}
	h.SetLen(unix.CmsgLen(len(data)))
	b := make([]byte, unix.CmsgSpace(len(data)))
	copy(b, unsafe.Slice((*byte)(unsafe.Pointer(&h)), unix.SizeofCmsghdr))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

// TestParseControl: the local address, receive time and drop counter come
// out of the control messages the kernel sends.
func TestParseControl(t *testing.T) {
	var pkt4 [12]byte
	copy(pkt4[8:], []byte{192, 0, 2, 7})
	var ts [16]byte
	binary.NativeEndian.PutUint64(ts[0:], 1700000000)
	binary.NativeEndian.PutUint64(ts[8:], 123)
	var ovf [4]byte
	binary.NativeEndian.PutUint32(ovf[:], 5)
	b := append(append(cmsg(unix.IPPROTO_IP, unix.IP_PKTINFO, pkt4[:]), cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, ts[:])...),
		cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, ovf[:])...)
	s := &udpSource{}
	dst, tm := s.parseControl(b)
	if dst != netip.MustParseAddr("192.0.2.7") || tm != 1700000000*1e9+123 || s.drops.Load() != 5 {
		t.Fatalf("dst %v time %d drops %d", dst, tm, s.drops.Load())
	}
	binary.NativeEndian.PutUint32(ovf[:], 8) // cumulative: 3 more
	s.parseControl(cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, ovf[:]))
	if s.drops.Load() != 8 {
		t.Fatalf("drops %d", s.drops.Load())
	}
	var pkt6 [20]byte
	copy(pkt6[:], netip.MustParseAddr("2001:db8::9").AsSlice())
	if dst, _ := s.parseControl(cmsg(unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, pkt6[:])); dst != netip.MustParseAddr("2001:db8::9") {
		t.Fatalf("v6 dst %v", dst)
	}
}

// FuzzParseControl: arbitrary control bytes never panic or loop.
func FuzzParseControl(f *testing.F) {
	var ts [16]byte
	f.Add(cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, ts[:]))
	f.Add(append(cmsg(unix.IPPROTO_IP, unix.IP_PKTINFO, make([]byte, 12)), 1, 2, 3))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := &udpSource{}
		s.parseControl(b)
	})
}
