package flowgen

import (
	"math/rand/v2"
	"net/netip"
)

// Flow is one generated unidirectional flow, the common source of every
// format's generator.
type Flow struct {
	Account, Iface, VPC, Subnet, Instance, Region, AZ string
	Src, Dst                                          netip.Addr
	SrcPort, DstPort                                  uint16
	Proto                                             uint8
	Packets, Bytes                                    int64
	Start, End                                        int64
	Accept                                            bool
	Ingress                                           bool
	TCPFlags                                          int32
}

// Gen produces flows of a small simulated VPC: a few hundred interfaces,
// clients on the internet and inside, common service ports, replies.
type Gen struct {
	r      *rand.Rand
	enis   []eni
	now    int64
	remote []netip.Addr
}

type eni struct {
	id, vpc, subnet, instance, account string
	addr                               netip.Addr
}

var servicePorts = []uint16{443, 443, 443, 80, 22, 5432, 3306, 6379, 9200, 53, 123, 8080, 3389}

// New returns a generator seeded with seed.
func New(seed uint64) *Gen {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &Gen{r: r, now: 1763800000}
	for i := 0; i < 256; i++ {
		sub := i % 8
		g.enis = append(g.enis, eni{
			id:       hexID("eni-", r),
			vpc:      "vpc-0a1b2c3d4e5f60718",
			subnet:   "subnet-0" + string(rune('a'+sub)) + "1b2c3d4e5f6071",
			instance: hexID("i-", r),
			account:  "123456789012",
			addr:     netip.AddrFrom4([4]byte{10, 0, byte(sub), byte(10 + i)}),
		})
	}
	for i := 0; i < 4096; i++ {
		g.remote = append(g.remote, netip.AddrFrom4([4]byte{byte(20 + r.IntN(180)), byte(r.IntN(256)), byte(r.IntN(256)), byte(1 + r.IntN(254))}))
	}
	return g
}

func hexID(prefix string, r *rand.Rand) string {
	const hex = "0123456789abcdef"
	b := []byte(prefix)
	for i := 0; i < 17; i++ {
		b = append(b, hex[r.IntN(16)])
	}
	return string(b)
}

// Next returns the next flow. Times advance slowly so windows overlap as in
// real logs.
func (g *Gen) Next() Flow {
	r := g.r
	e := g.enis[r.IntN(len(g.enis))]
	var peer netip.Addr
	if r.IntN(3) == 0 {
		peer = g.enis[r.IntN(len(g.enis))].addr
	} else {
		peer = g.remote[r.IntN(len(g.remote))]
	}
	svc := servicePorts[r.IntN(len(servicePorts))]
	eph := uint16(32768 + r.IntN(28232))
	proto := uint8(6)
	if svc == 53 || svc == 123 {
		proto = 17
	}
	if r.IntN(50) == 0 {
		proto = 1
	}
	f := Flow{Account: e.account, Iface: e.id, VPC: e.vpc, Subnet: e.subnet, Instance: e.instance,
		Region: "us-east-1", AZ: "use1-az4", Proto: proto}
	f.Ingress = r.IntN(2) == 0
	reply := r.IntN(2) == 0
	local, remote := e.addr, peer
	// opener: client ephemeral -> service port; reply: the reverse
	var cport, sport = eph, svc
	switch {
	case f.Ingress && !reply: // remote client opens to local service
		f.Src, f.Dst, f.SrcPort, f.DstPort = remote, local, cport, sport
		f.TCPFlags = 3
	case f.Ingress && reply: // reply to a local client
		f.Src, f.Dst, f.SrcPort, f.DstPort = remote, local, sport, cport
		f.TCPFlags = 19
	case !f.Ingress && !reply:
		f.Src, f.Dst, f.SrcPort, f.DstPort = local, remote, cport, sport
		f.TCPFlags = 3
	default:
		f.Src, f.Dst, f.SrcPort, f.DstPort = local, remote, sport, cport
		f.TCPFlags = 19
	}
	if proto != 6 {
		f.TCPFlags = 0
	}
	if proto == 1 {
		f.SrcPort, f.DstPort = 0, 0
	}
	f.Packets = 1 + int64(r.ExpFloat64()*20)
	f.Bytes = f.Packets * int64(40+r.IntN(1400))
	g.now += int64(r.IntN(2))
	f.Start = g.now - int64(r.IntN(60))
	f.End = f.Start + int64(r.IntN(60))
	f.Accept = r.IntN(10) != 0
	return f
}
