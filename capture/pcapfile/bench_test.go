package pcapfile

import (
	"encoding/binary"
	"io"
	"os"
	"testing"

	"github.com/flowsift/flowsift/capture"
	"github.com/flowsift/flowsift/internal/benchutil"
)

const benchFrames = 1_000_000

// genPcap writes benchFrames Ethernet/IPv4/UDP frames of 60 to 250 bytes.
func genPcap(path string, nano bool) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	w, err := NewWriter(fh, capture.LinkEthernet, 0, nano)
	if err != nil {
		return err
	}
	buf := make([]byte, 256)
	t := int64(1_700_000_000_000_000_000)
	for i := 0; i < benchFrames; i++ {
		n := 60 + (i*37)%190
		binary.BigEndian.PutUint16(buf[12:], 0x0800)
		buf[14] = 0x45
		binary.BigEndian.PutUint32(buf[26:], uint32(i))
		t += 1234
		if err := w.Write(t, buf[:n], uint32(n+(i%3)*100)); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return fh.Close()
}

func BenchmarkReadPcap(b *testing.B) {
	path := benchutil.File(b, "pcapfile-1m.pcap", func(p string) error { return genPcap(p, true) })
	fh, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer fh.Close()
	var f capture.Frame
	m := benchutil.Start(b)
	var total int64
	for i := 0; i < b.N; i++ {
		fh.Seek(0, io.SeekStart)
		r, err := NewReader(fh)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if err := r.Next(&f); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
			total++
		}
	}
	m.Stop(total)
}
