package flowtable

import (
	"math/bits"
	"net/netip"
	"unsafe"

	"github.com/flowsift/flowsift/capture"
)

// key is the identity of one per-direction flow record: the inner 5-tuple
// (ICMP type/code in place of the ports), the interface, the VLAN id, the
// ERSPAN direction and the 64-bit hash of the tunnel context (everything
// else that becomes a record key: the outermost tunnel's type, VNI or id
// and outer addresses, the GWLB options), so that a record never mixes two
// values of a key. The context itself is kept beside the entry (cold: read
// only when the record is built); two contexts differing in the hash's 64
// bits would merge, which with a per-table random seed does not happen in
// practice. key is a 7-word value without pointers or padding: the hash
// reads it as words, and entries holding it are not scanned by the GC.
type key struct {
	src, dst [16]byte // inner addresses (IPv4 in the first 4 bytes)
	ctx      uint64   // tunnel context hash; 0: not tunnelled
	iface    uint32
	sport    uint16 // ICMP: type
	dport    uint16 // ICMP: code
	vlan     uint16
	proto    uint8
	family   uint8 // 4 or 6
	dir      uint8 // ERSPAN III direction: 0, 1 ingress, 2 egress
	bits     uint8 // kICMP | kVLAN | kFragOnly
	_        [2]uint8
}

// tunCtx is the tunnel identity of a record (FORMATS.md 8).
type tunCtx struct {
	_          [0]uint64 // 8-byte alignment: hashed as words
	tsrc, tdst [16]byte  // outermost tunnel's carrying addresses
	gwlbEP     [8]byte
	gwlbAtt    [8]byte
	gwlbCookie [4]byte
	vni        uint32
	tid        uint32 // GRE key / ERSPAN session id
	ttype      uint8  // capture.TunnelType of the outermost tunnel
	tfamily    uint8  // 4 or 6 (tunnel addresses)
	bits       uint8  // kVNI | kID | kTSrc | kTDst
	gwlbLens   [3]uint8
	_          [6]uint8
}

const (
	keyWords = unsafe.Sizeof(key{}) / 8
	ctxWords = unsafe.Sizeof(tunCtx{}) / 8
)

// Compile-time checks: no padding, no tail.
var (
	_ [1]struct{} = [unsafe.Sizeof(key{}) - 56 + 1]struct{}{}
	_ [1]struct{} = [unsafe.Sizeof(tunCtx{}) - 72 + 1]struct{}{}
)

const (
	kICMP     = 1 << iota // key: sport/dport hold ICMP type/code
	kVLAN                 // key: vlan is set
	kFragOnly             // key: non-first fragments whose first fragment was not seen
)

const (
	kVNI  = 1 << iota // tunCtx: vni is set
	kID               // tunCtx: tid is set
	kTSrc             // tunCtx: tsrc is set
	kTDst             // tunCtx: tdst is set
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

// fill builds the key of p (the caller zeroed k and c) and, for a
// tunnelled packet, its tunnel context c (k.ctx is c's hash).
func (k *key) fill(p *capture.Packet, c *tunCtx, seed uint64) {
	if k.fillFlow(p) {
		k.fillTun(p, c, seed)
	}
}

// fillFlow fills the key's fields that do not depend on a tunnel and
// reports whether p is tunnelled (fillTun then completes the key).
func (k *key) fillFlow(p *capture.Packet) bool {
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
	return p.Tunnels != 0 || p.Outer.Type != capture.TunnelNone
}

// fillTun fills the tunnel part of the key (k.dir, k.ctx) and the
// context c of a tunnelled packet.
func (k *key) fillTun(p *capture.Packet, c *tunCtx, seed uint64) {
	o := &p.Outer
	c.ttype = uint8(o.Type)
	if o.HasVNI {
		c.vni = o.VNI & 0xFFFFFF
		c.bits |= kVNI
	}
	if o.HasID {
		c.tid = o.ID
		c.bits |= kID
	}
	if o.Src.IsValid() {
		c.tfamily = copyAddr(&c.tsrc, o.Src)
		c.bits |= kTSrc
	}
	if o.Dst.IsValid() {
		c.tfamily = copyAddr(&c.tdst, o.Dst)
		c.bits |= kTDst
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
		c.gwlbEP, c.gwlbAtt, c.gwlbCookie, c.gwlbLens = g.GWLBEndpoint, g.GWLBAttachment, g.GWLBCookie, g.GWLBLens
	}
	if *c != (tunCtx{}) {
		k.ctx = c.hash(seed) | 1
	}
}

// tunDir is the key's ERSPAN III direction of a tunnelled packet: the
// bit closest to the packet wins (as in fillTun).
func tunDir(p *capture.Packet) uint8 {
	if p.Inner.Direction != 0 {
		return p.Inner.Direction
	}
	return p.Outer.Direction
}

// tunCache remembers the context of the last tunnelled packet without
// GWLB options: a mirror session sends every packet through the same
// tunnel, so its context is built and hashed once, not per packet.
type tunCache struct {
	valid    bool
	typ      capture.TunnelType
	hasVNI   bool
	hasID    bool
	vni, id  uint32
	src, dst netip.Addr
	ctx      tunCtx
	hash     uint64 // k.ctx of the context
}

// hit reports whether o is the cached tunnel (fillTun would build the
// cached context from it). o carries no GWLB options (the caller checks).
func (tc *tunCache) hit(o *capture.Tunnel) bool {
	return tc.valid && o.Type == tc.typ && o.HasVNI == tc.hasVNI && o.HasID == tc.hasID &&
		o.VNI == tc.vni && o.ID == tc.id && o.Src == tc.src && o.Dst == tc.dst
}

// set caches the context c (and key context k.ctx) built from o.
func (tc *tunCache) set(o *capture.Tunnel, c *tunCtx, h uint64) {
	*tc = tunCache{valid: true, typ: o.Type, hasVNI: o.HasVNI, hasID: o.HasID, vni: o.VNI, id: o.ID,
		src: o.Src, dst: o.Dst, ctx: *c, hash: h}
}

// hash mixes the key's words pairwise with 64x64→128 multiplies (the
// pairs are independent, so they run in parallel) and folds the result.
// The table indexes by the top bits.
func (k *key) hash(seed uint64) uint64 {
	w := (*[keyWords]uint64)(unsafe.Pointer(k))
	h := seed
	h ^= mum(w[0]^p0, w[1]^p1)
	h ^= mum(w[2]^p2, w[3]^p3) * p0
	h ^= mum(w[4]^p1, w[5]^p2) * p1
	h ^= mum(w[6]^p3, h^p0)
	return mum(h^p1, h^p3^uint64(keyWords))
}

// eq compares two keys word by word (inlined; no memequal call).
func (k *key) eq(o *key) bool {
	a := (*[keyWords]uint64)(unsafe.Pointer(k))
	b := (*[keyWords]uint64)(unsafe.Pointer(o))
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] &&
		a[4] == b[4] && a[5] == b[5] && a[6] == b[6]
}

// hash is the context's 64-bit identity.
func (c *tunCtx) hash(seed uint64) uint64 {
	w := (*[ctxWords]uint64)(unsafe.Pointer(c))
	h := seed ^ p2
	h ^= mum(w[0]^p0, w[1]^p1)
	h ^= mum(w[2]^p2, w[3]^p3) * p0
	h ^= mum(w[4]^p1, w[5]^p2) * p1
	h ^= mum(w[6]^p3, w[7]^p0) * p2
	h ^= mum(w[8]^p2, h^p1)
	return mum(h^p1, h^p3^uint64(ctxWords))
}

const (
	p0 = 0xa0761d6478bd642f
	p1 = 0xe7037ed1a0b428db
	p2 = 0x8ebc6af09c88c6e3
	p3 = 0x589965cc75374cc3
)

func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}
