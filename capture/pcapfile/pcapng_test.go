package pcapfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/flowsift/flowsift/capture"
)

// ng builds pcapng files in memory.
type ng struct {
	o   binary.ByteOrder
	buf bytes.Buffer
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func (w *ng) block(typ uint32, body []byte) {
	body = pad4(body)
	n := uint32(12 + len(body))
	var h [8]byte
	w.o.PutUint32(h[:], typ)
	w.o.PutUint32(h[4:], n)
	w.buf.Write(h[:])
	w.buf.Write(body)
	w.buf.Write(h[4:8])
}

func (w *ng) opt(code uint16, val []byte) []byte {
	b := make([]byte, 4)
	w.o.PutUint16(b, code)
	w.o.PutUint16(b[2:], uint16(len(val)))
	return pad4(append(b, val...))
}

func (w *ng) shb(opts ...[]byte) {
	b := make([]byte, 16)
	w.o.PutUint32(b, 0x1a2b3c4d)
	w.o.PutUint16(b[4:], 1)
	w.o.PutUint64(b[8:], ^uint64(0))
	for _, o := range opts {
		b = append(b, o...)
	}
	w.block(blockSHB, b)
}

func (w *ng) idb(link uint16, snap uint32, opts ...[]byte) {
	b := make([]byte, 8)
	w.o.PutUint16(b, link)
	w.o.PutUint32(b[4:], snap)
	for _, o := range opts {
		b = append(b, o...)
	}
	if len(opts) > 0 {
		b = append(b, 0, 0, 0, 0) // opt_endofopt
	}
	w.block(blockIDB, b)
}

func (w *ng) epb(iface uint32, ts uint64, data []byte, orig uint32) {
	b := make([]byte, 20)
	w.o.PutUint32(b, iface)
	w.o.PutUint32(b[4:], uint32(ts>>32))
	w.o.PutUint32(b[8:], uint32(ts))
	w.o.PutUint32(b[12:], uint32(len(data)))
	w.o.PutUint32(b[16:], orig)
	w.block(blockEPB, append(b, data...))
}

func (w *ng) pb(iface uint16, ts uint64, data []byte, orig uint32) {
	b := make([]byte, 20)
	w.o.PutUint16(b, iface)
	w.o.PutUint32(b[4:], uint32(ts>>32))
	w.o.PutUint32(b[8:], uint32(ts))
	w.o.PutUint32(b[12:], uint32(len(data)))
	w.o.PutUint32(b[16:], orig)
	w.block(blockPB, append(b, data...))
}

func (w *ng) spb(orig uint32, data []byte) {
	b := make([]byte, 4)
	w.o.PutUint32(b, orig)
	w.block(blockSPB, append(b, data...))
}

func readAll(t *testing.T, data []byte) ([]capture.Frame, *Reader, error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, nil, err
	}
	var out []capture.Frame
	for {
		var f capture.Frame
		if err := r.Next(&f); err != nil {
			return out, r, err
		}
		f.Data = append([]byte(nil), f.Data...)
		out = append(out, f)
	}
}

func TestPcapngSectionsAndOptions(t *testing.T) {
	w1 := &ng{o: binary.LittleEndian}
	w1.shb(w1.opt(4, []byte("flowsift test")))
	w1.idb(1, 65535, w1.opt(2, []byte("eth0")))                                                  // µs
	w1.idb(101, 0, w1.opt(9, []byte{9}), w1.opt(14, binary.LittleEndian.AppendUint64(nil, 100))) // ns, +100 s
	w1.block(0x99, []byte{1, 2, 3})                                                              // unknown
	w1.block(4, []byte{0, 0, 0, 0})                                                              // NRB
	w1.epb(0, 1_700_000_000_123456, []byte("abcdef"), 60)
	w1.epb(1, 5_000_000_001, []byte("xyz"), 3)
	w1.block(5, make([]byte, 12)) // ISB
	w2 := &ng{o: binary.BigEndian}
	w2.shb()
	w2.idb(12, 4, w2.opt(9, []byte{0x80 | 10})) // DLT_RAW 12, 2^-10 s, snaplen 4
	w2.spb(10, []byte("12345678"))
	w2.pb(0, 3<<10|512, []byte("pq"), 2) // 3.5 s
	w2.block(0x00000bad, append([]byte{0, 0, 0x7e, 0x99}, []byte("custom")...))
	file := append(w1.buf.Bytes(), w2.buf.Bytes()...)

	frames, r, err := readAll(t, file)
	if err != io.EOF {
		t.Fatalf("ended with %v", err)
	}
	type want struct {
		time   int64
		data   string
		orig   uint32
		link   capture.LinkType
		iface  uint32
		noTime bool
	}
	wants := []want{
		{1_700_000_000_123456_000, "abcdef", 60, capture.LinkEthernet, 0, false},
		{(5 + 100) * 1e9, "xyz", 3, capture.LinkRaw, 1, false}, // 5_000_000_001 ns ... see below
		{0, "1234", 10, capture.LinkRaw, 2, true},
		{3_500_000_000, "pq", 2, capture.LinkRaw, 2, false},
		{0, "custom\x00\x00", 8, capture.LinkPcapngCustom, 0, true}, // a custom block has no data length: padding included, as TShark shows it
	}
	wants[1].time = 5_000_000_001 + 100*1e9
	if len(frames) != len(wants) {
		t.Fatalf("%d frames", len(frames))
	}
	for i, w := range wants {
		f := frames[i]
		if f.Time != w.time || string(f.Data) != w.data || f.OrigLen != w.orig || f.Link != w.link || f.Iface != w.iface || f.NoTime != w.noTime || f.Number != uint64(i+1) {
			t.Errorf("frame %d: %+v, want %+v", i+1, f, w)
		}
	}
	ifs := r.Interfaces()
	if len(ifs) != 3 || ifs[0].Name != "eth0" || ifs[1].TSOffset != 100 || ifs[2].Section != 1 || ifs[2].RawLink != 12 || ifs[2].Link != capture.LinkRaw {
		t.Errorf("interfaces %+v", ifs)
	}
	if r.Format() != FormatPcapNG {
		t.Errorf("format %v", r.Format())
	}
}

func TestPcapngErrors(t *testing.T) {
	base := func() *ng {
		w := &ng{o: binary.LittleEndian}
		w.shb()
		w.idb(1, 0)
		w.epb(0, 1, []byte("ok"), 2)
		return w
	}
	cases := []struct {
		name   string
		mutate func(w *ng)
		reason string
	}{
		{"unknown interface", func(w *ng) { w.epb(7, 1, []byte("x"), 1) }, "interface 7"},
		{"caplen past block", func(w *ng) {
			b := make([]byte, 20)
			w.o.PutUint32(b[12:], 100)
			w.block(blockEPB, b)
		}, "runs past"},
		{"huge block", func(w *ng) {
			var h [8]byte
			w.o.PutUint32(h[:], blockEPB)
			w.o.PutUint32(h[4:], 0xfffffff0)
			w.buf.Write(h[:])
		}, "exceeds"},
		{"bad trailer", func(w *ng) {
			w.epb(0, 1, []byte("ab"), 2)
			b := w.buf.Bytes()
			b[len(b)-1] = 9
		}, "trailing length"},
		{"cut short", func(w *ng) {
			w.epb(0, 1, []byte("abcdefgh"), 8)
			w.buf.Truncate(w.buf.Len() - 5)
		}, "cut short"},
		{"option too long", func(w *ng) { w.idb(1, 0, []byte{2, 0, 200, 0}) }, "runs past"},
		{"bad section version", func(w *ng) {
			b := make([]byte, 16)
			w.o.PutUint32(b, 0x1a2b3c4d)
			w.o.PutUint16(b[4:], 2)
			w.block(blockSHB, b)
		}, "version 2.0"},
	}
	for _, c := range cases {
		w := base()
		off := int64(w.buf.Len())
		c.mutate(w)
		frames, _, err := readAll(t, w.buf.Bytes())
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if len(frames) != 1 || pe.Frame != 2 || pe.Offset < off || !strings.Contains(pe.Reason, c.reason) {
			t.Errorf("%s: %d frames, error %v (want offset ≥ %d, reason %q)", c.name, len(frames), err, off, c.reason)
		}
	}
}

func TestPcapErrors(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, capture.LinkEthernet, 0, false)
	w.Write(1e9, []byte("hello"), 0)
	w.Flush()
	good := buf.Len()
	// a record claiming more than MaxFrame: an error, not an allocation
	h := make([]byte, 16)
	binary.LittleEndian.PutUint32(h[8:], MaxFrame+1)
	file := append(buf.Bytes(), h...)
	frames, _, err := readAll(t, file)
	var pe *Error
	if !errors.As(err, &pe) || len(frames) != 1 || pe.Frame != 2 || pe.Offset != int64(good) || !strings.Contains(pe.Reason, "limit") {
		t.Errorf("huge record: %d frames, %v", len(frames), err)
	}
	// a large claimed record cut short: the buffer grows only with the data read
	binary.LittleEndian.PutUint32(h[8:], 200<<20)
	file = append(append(buf.Bytes()[:good:good], h...), make([]byte, 1<<20)...)
	r, _ := NewReader(bytes.NewReader(file))
	var f capture.Frame
	r.Next(&f)
	err = r.Next(&f)
	if !errors.As(err, &pe) || !errors.Is(err, io.ErrUnexpectedEOF) || cap(r.big) > 16<<20 {
		t.Errorf("cut large record: %v, buffer %d", err, cap(r.big))
	}
	// header cut short; unknown magic
	if _, err := NewReader(bytes.NewReader(buf.Bytes()[:10])); !errors.As(err, &pe) {
		t.Errorf("short header: %v", err)
	}
	if _, err := NewReader(bytes.NewReader([]byte("GET / HTTP/1.1\r\n\r\n"))); !errors.Is(err, ErrNotCapture) {
		t.Errorf("not a capture: %v", err)
	}
}

// TestReaderAllocs checks that reading frames allocates nothing.
func TestReaderAllocs(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, capture.LinkEthernet, 0, true)
	for i := 0; i < 2000; i++ {
		w.Write(int64(i), make([]byte, 60+i%1000), 0)
	}
	w.Flush()
	r, err := NewReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var f capture.Frame
	n := testing.AllocsPerRun(1000, func() {
		if err := r.Next(&f); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per frame", n)
	}
}

// TestModifiedPcap reads the modified (Kuznetzov) pcap format, whose record
// headers carry 8 more bytes.
func TestModifiedPcap(t *testing.T) {
	for _, o := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		h := make([]byte, 24)
		o.PutUint32(h, 0xa1b2cd34)
		o.PutUint16(h[4:], 2)
		o.PutUint16(h[6:], 4)
		o.PutUint32(h[16:], 65535)
		o.PutUint32(h[20:], 1)
		rec := make([]byte, 24)
		o.PutUint32(rec, 10)
		o.PutUint32(rec[4:], 5)
		o.PutUint32(rec[8:], 3)
		o.PutUint32(rec[12:], 60)
		file := append(append(h, rec...), "abc"...)
		frames, r, err := readAll(t, file)
		if err != io.EOF || len(frames) != 1 || frames[0].Time != 10e9+5000 || string(frames[0].Data) != "abc" || frames[0].OrigLen != 60 || r.LinkType() != capture.LinkEthernet {
			t.Errorf("%v: %v %+v", o, err, frames)
		}
	}
}

func TestSniff(t *testing.T) {
	for _, file := range corpusFiles(t) {
		b := make([]byte, 4)
		fh, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadFull(fh, b)
		fh.Close()
		f, ok := Sniff(b)
		bad := strings.Contains(file, "bad-magic")
		wantF := FormatPcap
		if strings.HasSuffix(file, ".pcapng") {
			wantF = FormatPcapNG
		}
		if ok == bad || (ok && f != wantF) {
			t.Errorf("%s: %v %v", file, f, ok)
		}
	}
	if _, ok := Sniff([]byte{0xa1}); ok {
		t.Error("short input sniffed")
	}
}
