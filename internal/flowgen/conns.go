package flowgen

import (
	"bufio"
	"io"
	"math/rand/v2"
)

// Conns replays a fixed pool of connections, as the flow logs of a VPC
// over a time span: every record is one direction of a pool connection
// (its client's ephemeral port fixed), with fresh counters and a start time
// that advances evenly through the span. Compared with Gen, whose every
// record is a distinct flow, records repeat as in real logs.
type Conns struct {
	r     *rand.Rand
	pool  []Flow
	start int64
	step  float64 // seconds per record
	i     int64
}

// NewConns returns a replayer of conns connections drawn from New(seed),
// spreading records over span seconds for every perSpan records.
func NewConns(seed uint64, conns int, span int64, perSpan int) *Conns {
	g := New(seed)
	c := &Conns{r: rand.New(rand.NewPCG(seed^0x5bd1e995, seed)), start: g.now}
	if conns < 1 {
		conns = 1
	}
	if perSpan < 1 {
		perSpan = 1
	}
	c.step = float64(span) / float64(perSpan)
	for i := 0; i < conns; i++ {
		c.pool = append(c.pool, g.Next())
	}
	return c
}

// Next returns the next record: a random pool connection, in its logged
// direction or (half the time, except ICMP) the other one.
func (c *Conns) Next() Flow {
	r := c.r
	f := c.pool[r.IntN(len(c.pool))]
	if f.Proto != 1 && r.IntN(2) == 0 {
		f.Src, f.Dst, f.SrcPort, f.DstPort = f.Dst, f.Src, f.DstPort, f.SrcPort
		f.Ingress = !f.Ingress
		if f.Proto == 6 {
			f.TCPFlags ^= 16 // opener SYN|FIN <-> reply SYN|ACK|FIN
		}
	}
	f.Packets = 1 + int64(r.ExpFloat64()*20)
	f.Bytes = f.Packets * int64(40+r.IntN(1400))
	f.Start = c.start + int64(float64(c.i)*c.step) - int64(r.IntN(60))
	f.End = f.Start + int64(r.IntN(60))
	c.i++
	return f
}

// AWSTextConns writes n records of NewConns(seed, conns, span, n) in the
// default v2 format (AWSText's layout).
func AWSTextConns(w io.Writer, n, conns int, span int64, seed uint64) error {
	c := NewConns(seed, conns, span, n)
	return writeAWSLines(bufio.NewWriterSize(w, 1<<20), n, AWSDefaultFields, c.Next)
}
