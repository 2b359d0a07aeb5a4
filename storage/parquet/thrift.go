package parquet

import "encoding/binary"

// Thrift compact protocol, just what the Parquet footer and page headers
// need (parquet-format's parquet.thrift): structs, i32, i64, bool, binary
// and lists of those. Field ids are written in increasing order.
const (
	ctTrue   = 1
	ctFalse  = 2
	ctI32    = 5
	ctI64    = 6
	ctBinary = 8
	ctList   = 9
	ctStruct = 12
)

type thrift struct {
	b    []byte
	last []int16 // last field id per open struct; the top is the current one
}

func (t *thrift) reset(b []byte) {
	t.b, t.last = b, append(t.last[:0], 0)
}

func (t *thrift) field(id int16, typ byte) {
	top := &t.last[len(t.last)-1]
	if d := id - *top; d > 0 && d <= 15 {
		t.b = append(t.b, byte(d)<<4|typ)
	} else {
		t.b = append(t.b, typ)
		t.b = binary.AppendVarint(t.b, int64(id))
	}
	*top = id
}

func (t *thrift) i32(id int16, v int32) {
	t.field(id, ctI32)
	t.b = binary.AppendVarint(t.b, int64(v))
}

func (t *thrift) i64(id int16, v int64) {
	t.field(id, ctI64)
	t.b = binary.AppendVarint(t.b, v)
}

func (t *thrift) boolean(id int16, v bool) {
	if v {
		t.field(id, ctTrue)
	} else {
		t.field(id, ctFalse)
	}
}

func (t *thrift) binary(id int16, v []byte) {
	t.field(id, ctBinary)
	t.b = binary.AppendUvarint(t.b, uint64(len(v)))
	t.b = append(t.b, v...)
}

func (t *thrift) str(id int16, v string) {
	t.field(id, ctBinary)
	t.b = binary.AppendUvarint(t.b, uint64(len(v)))
	t.b = append(t.b, v...)
}

// begin opens a struct-valued field; end closes it.
func (t *thrift) begin(id int16) {
	t.field(id, ctStruct)
	t.last = append(t.last, 0)
}

func (t *thrift) end() {
	t.b = append(t.b, 0) // STOP
	t.last = t.last[:len(t.last)-1]
}

// list opens a list field of n elements of type elem. Struct elements are
// then written with beginElem/end, scalar ones with the elem* methods.
func (t *thrift) list(id int16, elem byte, n int) {
	t.field(id, ctList)
	if n < 15 {
		t.b = append(t.b, byte(n)<<4|elem)
	} else {
		t.b = append(t.b, 0xf0|elem)
		t.b = binary.AppendUvarint(t.b, uint64(n))
	}
}

func (t *thrift) beginElem() { t.last = append(t.last, 0) }

func (t *thrift) elemI32(v int32) { t.b = binary.AppendVarint(t.b, int64(v)) }

func (t *thrift) elemStr(v string) {
	t.b = binary.AppendUvarint(t.b, uint64(len(v)))
	t.b = append(t.b, v...)
}
