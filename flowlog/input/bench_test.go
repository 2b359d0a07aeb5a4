package input

import (
	"bytes"
	stdgzip "compress/gzip"
	"io"
	"os"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/internal/benchutil"
	"github.com/flowsift/flowsift/internal/flowgen"
)

const benchRecords = 1_000_000

// gzFile is the 1 M-record default-format file, gzip-compressed (level 6,
// like AWS's S3 delivery).
func gzFile(b *testing.B) []byte {
	p := benchutil.File(b, "aws-v2.log.gz", func(p string) error {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		defer f.Close()
		zw, _ := stdgzip.NewWriterLevel(f, 6)
		if err := flowgen.AWSText(zw, benchRecords, nil, 42); err != nil {
			return err
		}
		return zw.Close()
	})
	data, err := os.ReadFile(p)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkReadAWSTextGzip: detection, gzip (decompressing ahead on a second
// goroutine) and parsing, end to end, as `flowsift flows x.log.gz` does.
func BenchmarkReadAWSTextGzip(b *testing.B) {
	data := gzFile(b)
	var rec flowlog.Record
	var total int64
	m := benchutil.Start(b)
	for i := 0; i < b.N; i++ {
		t := &flowlog.Tally{}
		r, err := NewReader(bytes.NewReader(data), t, &Options{})
		if err != nil || r == nil {
			b.Fatalf("NewReader: %v", err)
		}
		for r.Next(&rec) {
			total++
		}
		r.(io.Closer).Close()
	}
	m.Stop(total)
}

func benchGunzip(b *testing.B, open func(io.Reader) (io.Reader, error)) {
	data := gzFile(b)
	buf := make([]byte, 256<<10)
	m := benchutil.Start(b)
	for i := 0; i < b.N; i++ {
		zr, err := open(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := zr.Read(buf)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	m.Stop(int64(b.N) * benchRecords)
}

// BenchmarkGunzip: decompression alone with klauspost/compress (what
// flowsift uses), to split the gzip benchmark's time.
func BenchmarkGunzip(b *testing.B) {
	benchGunzip(b, func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) })
}

// BenchmarkGunzipStdlib: the same with compress/gzip, the baseline.
func BenchmarkGunzipStdlib(b *testing.B) {
	benchGunzip(b, func(r io.Reader) (io.Reader, error) { return stdgzip.NewReader(r) })
}
