package flowlog

import (
	"net/netip"
)

// Action is what the observation point decided for a record.
type Action uint8

const (
	ActionUnknown Action = iota // the source states no decision ("")
	ActionAccept                // "accept"
	ActionReject                // "reject"
)

func (a Action) String() string {
	switch a {
	case ActionAccept:
		return "accept"
	case ActionReject:
		return "reject"
	}
	return ""
}

// ParseAction maps the JSONL text back to an Action.
func ParseAction(s string) (Action, bool) {
	switch s {
	case "accept":
		return ActionAccept, true
	case "reject":
		return ActionReject, true
	case "":
		return ActionUnknown, true
	}
	return ActionUnknown, false
}

// Direction is relative to the observed interface.
type Direction uint8

const (
	DirUnknown Direction = iota // "" (never guessed)
	DirIngress                  // into the interface
	DirEgress                   // out of the interface
)

func (d Direction) String() string {
	switch d {
	case DirIngress:
		return "ingress"
	case DirEgress:
		return "egress"
	}
	return ""
}

// ParseDirection maps the JSONL text back to a Direction.
func ParseDirection(s string) (Direction, bool) {
	switch s {
	case "ingress":
		return DirIngress, true
	case "egress":
		return DirEgress, true
	case "":
		return DirUnknown, true
	}
	return DirUnknown, false
}

// Record is one normalized, unidirectional flow record. It is a value type:
// copying it copies everything but the backing array of Attrs, which a
// reader may reuse on its next call (see Clone).
//
// String fields are interned by the readers, so records of one interface
// share their Iface/VPC/Subnet/Account strings.
type Record struct {
	Start, End       int64      // Unix seconds of the window
	Src, Dst         netip.Addr // zero Addr prints as ""
	Packets, Bytes   int64      // this direction; bytes are L3 (IP header + payload)
	SrcPort, DstPort uint16
	Proto            uint8 // IANA protocol number
	Action           Action
	Direction        Direction
	Source           Source
	TCPFlags         int32 // OR of the flags seen (flow-log convention: SYN-ACK = 18)
	Iface            string
	VPC              string
	Subnet           string
	Account          string
	// Attrs holds the optional keys (FORMATS.md 1.3), sorted by key name,
	// at most one per key. Readers own the backing array: it is valid until
	// the reader's next call. Use SetStr/SetInt to keep it sorted.
	Attrs []Attr
}

// Reset clears r for reuse, keeping the Attrs capacity.
func (r *Record) Reset() {
	attrs := r.Attrs[:0]
	*r = Record{Attrs: attrs}
}

// Clone returns a copy of r that owns its Attrs.
func (r *Record) Clone() Record {
	c := *r
	if len(r.Attrs) > 0 {
		c.Attrs = append([]Attr(nil), r.Attrs...)
	} else {
		c.Attrs = nil
	}
	return c
}

// Equal reports whether two records carry the same values.
func (r *Record) Equal(o *Record) bool {
	if r.Start != o.Start || r.End != o.End || r.Src != o.Src || r.Dst != o.Dst ||
		r.Packets != o.Packets || r.Bytes != o.Bytes || r.SrcPort != o.SrcPort ||
		r.DstPort != o.DstPort || r.Proto != o.Proto || r.Action != o.Action ||
		r.Direction != o.Direction || r.Source != o.Source || r.TCPFlags != o.TCPFlags ||
		r.Iface != o.Iface || r.VPC != o.VPC || r.Subnet != o.Subnet || r.Account != o.Account ||
		len(r.Attrs) != len(o.Attrs) {
		return false
	}
	for i := range r.Attrs {
		if r.Attrs[i] != o.Attrs[i] {
			return false
		}
	}
	return true
}

// Attr returns the optional attribute with key k.
func (r *Record) Attr(k AttrKey) (Attr, bool) {
	for _, a := range r.Attrs {
		if a.Key == k {
			return a, true
		}
		if a.Key > k {
			break
		}
	}
	return Attr{}, false
}

// SetStr sets the string attribute k. An empty value removes the key, since
// absent values are never printed (FORMATS.md 1.3).
func (r *Record) SetStr(k AttrKey, v string) {
	if v == "" {
		r.Del(k)
		return
	}
	r.set(Attr{Key: k, Str: v})
}

// SetInt sets the integer attribute k.
func (r *Record) SetInt(k AttrKey, v int64) { r.set(Attr{Key: k, Int: v}) }

// Del removes the attribute k if present.
func (r *Record) Del(k AttrKey) {
	for i, a := range r.Attrs {
		if a.Key == k {
			r.Attrs = append(r.Attrs[:i], r.Attrs[i+1:]...)
			return
		}
	}
}

func (r *Record) set(a Attr) {
	n := len(r.Attrs)
	// Fast path: readers mostly set keys in ascending order.
	if n == 0 || r.Attrs[n-1].Key < a.Key {
		r.Attrs = append(r.Attrs, a)
		return
	}
	for i := range r.Attrs {
		if r.Attrs[i].Key == a.Key {
			r.Attrs[i] = a
			return
		}
		if r.Attrs[i].Key > a.Key {
			r.Attrs = append(r.Attrs, Attr{})
			copy(r.Attrs[i+1:], r.Attrs[i:])
			r.Attrs[i] = a
			return
		}
	}
}
