package pcapfile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"

	"github.com/flowsift/flowsift/capture"
)

// Writer writes a classic little-endian pcap file (version 2.4) with
// microsecond or nanosecond timestamps. It buffers; call Flush at the end.
type Writer struct {
	w    *bufio.Writer
	nano bool
	snap uint32
	hdr  [16]byte
}

// NewWriter writes the file header for link type link (a LINKTYPE_* value,
// e.g. capture.LinkEthernet) and returns a Writer. snaplen 0 means 262144.
// nano selects nanosecond timestamps (magic a1b23c4d) over microseconds.
func NewWriter(w io.Writer, link capture.LinkType, snaplen uint32, nano bool) (*Writer, error) {
	if link > 0xffff {
		return nil, errors.New("pcapfile: link type does not fit a pcap header")
	}
	if snaplen == 0 {
		snaplen = 262144
	}
	pw := &Writer{w: bufio.NewWriterSize(w, 64<<10), nano: nano, snap: snaplen}
	var h [24]byte
	magic := uint32(0xa1b2c3d4)
	if nano {
		magic = 0xa1b23c4d
	}
	le := binary.LittleEndian
	le.PutUint32(h[0:], magic)
	le.PutUint16(h[4:], 2)
	le.PutUint16(h[6:], 4)
	le.PutUint32(h[16:], snaplen)
	le.PutUint32(h[20:], uint32(link))
	if _, err := pw.w.Write(h[:]); err != nil {
		return nil, err
	}
	return pw, nil
}

// Write writes one record: time in Unix nanoseconds (must not be negative),
// the captured bytes (cut to the snap length) and the original length
// (0 means len(data)).
func (w *Writer) Write(time int64, data []byte, origLen uint32) error {
	if time < 0 {
		return errors.New("pcapfile: negative timestamp")
	}
	if origLen == 0 {
		origLen = uint32(len(data))
	}
	if uint64(len(data)) > uint64(w.snap) {
		data = data[:w.snap]
	}
	sec, frac := time/1e9, time%1e9
	if !w.nano {
		frac /= 1000
	}
	if sec > 0xffffffff {
		return errors.New("pcapfile: timestamp past 2106")
	}
	le := binary.LittleEndian
	le.PutUint32(w.hdr[0:], uint32(sec))
	le.PutUint32(w.hdr[4:], uint32(frac))
	le.PutUint32(w.hdr[8:], uint32(len(data)))
	le.PutUint32(w.hdr[12:], origLen)
	if _, err := w.w.Write(w.hdr[:]); err != nil {
		return err
	}
	_, err := w.w.Write(data)
	return err
}

// WriteFrame writes f's Time, Data and OrigLen (its link type is not
// checked against the file's).
func (w *Writer) WriteFrame(f *capture.Frame) error {
	return w.Write(f.Time, f.Data, f.OrigLen)
}

// Flush writes buffered records to the underlying writer.
func (w *Writer) Flush() error { return w.w.Flush() }
