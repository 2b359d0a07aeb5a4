package verdict

import (
	"net/netip"

	"github.com/flowsift/flowsift/flowlog"
)

// Basis is what decided the reply side of a record (POLICY.md 3).
type Basis uint8

const (
	BasisNone    Basis = iota // nothing decided: treated as an opener
	BasisFlags                // TCP flags
	BasisReverse              // the reverse record in the same input
	BasisPorts                // the service-port heuristic
)

var basisNames = [...]string{"none", "flags", "reverse", "ports"}

func (b Basis) String() string { return basisNames[b] }

// Reply says whether a record is the reply side of a connection.
type Reply struct {
	Reply bool
	Basis Basis
}

// ReverseWindow is the tolerance of reverse-record matching, in seconds.
const ReverseWindow = 60

// byFlags is step 1: TCP flags, SYN-ACK = reply, SYN without ACK = opener.
func byFlags(r *flowlog.Record) (reply, ok bool) {
	if r.Proto != 6 || r.TCPFlags == 0 {
		return false, false
	}
	if r.TCPFlags&18 == 18 {
		return true, true
	}
	if r.TCPFlags&2 != 0 && r.TCPFlags&16 == 0 {
		return false, true
	}
	return false, false
}

// servicePorts are the ports of step 3 beyond those below 1024.
var servicePorts = func() (s [65536 / 64]uint64) {
	for p := 0; p < 1024; p++ {
		s[p/64] |= 1 << (p % 64)
	}
	for _, p := range []int{1433, 1521, 1883, 2049, 2181, 2375, 2376, 2379, 2380, 3306, 3389, 5432, 5601, 5672,
		5900, 5984, 6379, 6443, 8080, 8443, 9042, 9092, 9200, 9243, 9300, 9343, 9400, 9443, 10250, 11211, 15672, 27017} {
		s[p/64] |= 1 << (p % 64)
	}
	return
}()

// IsServicePort reports whether p is a service port of POLICY.md 3.
func IsServicePort(p uint16) bool { return servicePorts[p/64]&(1<<(p%64)) != 0 }

// byPorts is step 3 (TCP and UDP only).
func byPorts(r *flowlog.Record) (reply, ok bool) {
	if r.Proto != 6 && r.Proto != 17 {
		return false, false
	}
	s, d := IsServicePort(r.SrcPort), IsServicePort(r.DstPort)
	switch {
	case s && !d:
		return true, true
	case d && !s:
		return false, true
	}
	return r.SrcPort < r.DstPort, true
}

// DetectOne classifies a record without a batch (no reverse-record step).
func DetectOne(r *flowlog.Record) Reply {
	if rep, ok := byFlags(r); ok {
		return Reply{rep, BasisFlags}
	}
	if rep, ok := byPorts(r); ok {
		return Reply{rep, BasisPorts}
	}
	return Reply{false, BasisNone}
}

type tupleKey struct {
	src, dst     netip.Addr
	sport, dport uint16
	proto        uint8
}

// ReplyIndex is the pre-pass over a batch: it indexes every record by its
// five-tuple so the reverse record of step 2 is found in O(1).
type ReplyIndex struct {
	recs []flowlog.Record
	by   map[tupleKey][]int32
}

// NewReplyIndex indexes recs (kept by reference; do not modify them).
func NewReplyIndex(recs []flowlog.Record) *ReplyIndex {
	ix := &ReplyIndex{recs: recs, by: make(map[tupleKey][]int32, len(recs))}
	for i := range recs {
		r := &recs[i]
		k := tupleKey{r.Src.Unmap(), r.Dst.Unmap(), r.SrcPort, r.DstPort, r.Proto}
		ix.by[k] = append(ix.by[k], int32(i))
	}
	return ix
}

// Detect classifies record i of the batch (POLICY.md 3, steps 1–4). The
// reverse record is any other record of the batch with the swapped
// five-tuple, the same iface when both have one, and windows overlapping
// within ReverseWindow seconds; the first such record (in input order) that
// decides wins.
func (ix *ReplyIndex) Detect(i int) Reply {
	r := &ix.recs[i]
	if rep, ok := byFlags(r); ok {
		return Reply{rep, BasisFlags}
	}
	k := tupleKey{r.Dst.Unmap(), r.Src.Unmap(), r.DstPort, r.SrcPort, r.Proto}
	for _, j := range ix.by[k] {
		if int(j) == i {
			continue
		}
		o := &ix.recs[j]
		if r.Iface != "" && o.Iface != "" && r.Iface != o.Iface {
			continue
		}
		if o.Start > r.End+ReverseWindow || r.Start > o.End+ReverseWindow {
			continue
		}
		if rep, ok := byFlags(o); ok {
			return Reply{!rep, BasisReverse}
		}
		if o.Start != r.Start {
			return Reply{r.Start > o.Start, BasisReverse}
		}
	}
	if rep, ok := byPorts(r); ok {
		return Reply{rep, BasisPorts}
	}
	return Reply{false, BasisNone}
}
