package flowtable

import (
	"math/bits"
	"net/netip"
	"unsafe"

	"github.com/flowsift/flowsift/capture"
)

// key is the identity of one per-direction flow record: the inner 5-tuple
// (ICMP type/code in place of the ports), the interface, and everything
// that becomes a record key of its own (outermost tunnel, GWLB options,
// VLAN, ERSPAN direction), so that a record never mixes two values of a
// key. It is a fixed-size value without pointers and without padding: the
// hash reads it as 14 machine words, and entries holding it are not
// scanned by the garbage collector.
type key struct {
	src, dst   [16]byte // inner addresses (IPv4 in the first 4 bytes)
	tsrc, tdst [16]byte // outermost tunnel's carrying addresses
	gwlbEP     [8]byte
	gwlbAtt    [8]byte
	gwlbCookie [4]byte
	iface      uint32
	vni        uint32
	tid        uint32 // GRE key / ERSPAN session id
	sport      uint16 // ICMP: type
	dport      uint16 // ICMP: code
	vlan       uint16
	proto      uint8
	family     uint8 // 4 or 6
	tfamily    uint8 // 0 (no tunnel address), 4 or 6
	ttype      uint8 // capture.TunnelType of the outermost tunnel
	dir        uint8 // ERSPAN III direction: 0, 1 ingress, 2 egress
	bits       uint8 // kICMP | kVNI | kID | kVLAN | kFragOnly | kTSrc | kTDst
	gwlbLens   [3]uint8
	_          uint8
}

const keyWords = unsafe.Sizeof(key{}) / 8

// Compile-time check: the key is exactly 14 words (no padding, no tail).
var _ [1]struct{} = [unsafe.Sizeof(key{}) - 112 + 1]struct{}{}

const (
	kICMP     = 1 << iota // sport/dport hold ICMP type/code
	kVNI                  // vni is set
	kID                   // tid is set
	kVLAN                 // vlan is set
	kFragOnly             // non-first fragments whose first fragment was not seen
	kTSrc                 // tsrc is set
	kTDst                 // tdst is set
)

// copyAddr stores a into b (4 or 16 bytes) and returns the family.
func copyAddr(b *[16]byte, a netip.Addr) uint8 {
	if a.Is4() {
		v := a.As4()
		copy(b[:4], v[:])
		return 4
	}
	if a.Is6() {
		*b = a.As16()
		return 6
	}
	return 0
}

// fill builds the key of p (the caller zeroed k).
func (k *key) fill(p *capture.Packet) {
	k.family = p.Family
	if p.Family == 4 {
		s, d := p.Src.As4(), p.Dst.As4()
		copy(k.src[:4], s[:])
		copy(k.dst[:4], d[:])
	} else {
		k.src, k.dst = p.Src.As16(), p.Dst.As16()
	}
	k.proto = p.Proto
	if p.HasICMP {
		k.sport, k.dport = uint16(p.ICMPType), uint16(p.ICMPCode)
		k.bits |= kICMP
	} else {
		k.sport, k.dport = p.SrcPort, p.DstPort
	}
	k.iface = p.Iface
	if p.HasVLAN {
		k.vlan = p.VLAN
		k.bits |= kVLAN
	}
	if p.Tunnels == 0 && p.Outer.Type == capture.TunnelNone {
		return
	}
	o := &p.Outer
	k.ttype = uint8(o.Type)
	if o.HasVNI {
		k.vni = o.VNI & 0xFFFFFF
		k.bits |= kVNI
	}
	if o.HasID {
		k.tid = o.ID
		k.bits |= kID
	}
	if o.Src.IsValid() {
		k.tfamily = copyAddr(&k.tsrc, o.Src)
		k.bits |= kTSrc
	}
	if o.Dst.IsValid() {
		k.tfamily = copyAddr(&k.tdst, o.Dst)
		k.bits |= kTDst
	}
	// The ERSPAN III direction bit may sit on any layer; the one closest
	// to the packet wins.
	if p.Inner.Direction != 0 {
		k.dir = p.Inner.Direction
	} else {
		k.dir = o.Direction
	}
	// GWLB options: from the outermost tunnel that carries them (GWLB
	// Geneve normally is the outermost layer).
	g := o
	if g.GWLBLens == [3]uint8{} {
		g = &p.Inner
	}
	if g.GWLBLens != [3]uint8{} {
		k.gwlbEP, k.gwlbAtt, k.gwlbCookie, k.gwlbLens = g.GWLBEndpoint, g.GWLBAttachment, g.GWLBCookie, g.GWLBLens
	}
}

// words views k as machine words for hashing.
func (k *key) words() *[keyWords]uint64 { return (*[keyWords]uint64)(unsafe.Pointer(k)) }

// hash mixes the key's words pairwise with 64x64→128 multiplies (the
// pairs are independent, so they run in parallel) and folds the result.
// The table indexes by the top bits.
func (k *key) hash(seed uint64) uint64 {
	w := k.words()
	const (
		p0 = 0xa0761d6478bd642f
		p1 = 0xe7037ed1a0b428db
		p2 = 0x8ebc6af09c88c6e3
		p3 = 0x589965cc75374cc3
	)
	h := seed
	h ^= mum(w[0]^p0, w[1]^p1)
	h ^= mum(w[2]^p2, w[3]^p3) * p0
	h ^= mum(w[4]^p1, w[5]^p2) * p1
	h ^= mum(w[6]^p3, w[7]^p0) * p2
	h ^= mum(w[8]^p0, w[9]^p2) * p3
	h ^= mum(w[10]^p1, w[11]^p3)
	h ^= mum(w[12]^p2, w[13]^p0) * p0
	return mum(h^p1, h^p3^uint64(keyWords))
}

func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}
