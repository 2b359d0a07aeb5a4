package live

import (
	"io"
	"os"
	"testing"
	"unsafe"

	"github.com/flowsift/flowsift/capture"
	"github.com/flowsift/flowsift/capture/pcapfile"
	"github.com/flowsift/flowsift/internal/benchutil"
	"github.com/flowsift/flowsift/internal/pcapgen"
	"github.com/flowsift/flowsift/internal/prefetch"
)

// memFrames holds generated frames in one slab, replayed as a FrameSource
// any number of times with time moving on between passes (the flows
// continue, as a long capture's would).
type memFrames struct {
	slab  []byte
	ends  []int
	times []int64
	span  int64
	link  capture.LinkType
}

func loadFrames(cfg pcapgen.Config) *memFrames {
	m := &memFrames{link: capture.LinkEthernet}
	g := pcapgen.New(cfg)
	var f capture.Frame
	var first, last int64
	for g.Next(&f) {
		if len(m.times) == 0 {
			first = f.Time
		}
		last = f.Time
		m.slab = append(m.slab, f.Data...)
		m.ends = append(m.ends, len(m.slab))
		m.times = append(m.times, f.Time)
	}
	m.span = last - first + 1e6
	return m
}

// replay returns a FrameSource over total frames. stripOuter delivers the
// frames as a mirror listener would: from the VXLAN header on, with the
// outer addresses in the Frame.
func (m *memFrames) replay(total int, stripOuter bool) *memReplay {
	return &memReplay{m: m, total: total, strip: stripOuter}
}

type memReplay struct {
	m     *memFrames
	total int
	strip bool
	i, n  int
	pass  int64
}

func (r *memReplay) Next(f *capture.Frame) error {
	if r.n >= r.total {
		return io.EOF
	}
	if r.i == len(r.m.ends) {
		r.i = 0
		r.pass++
	}
	start := 0
	if r.i > 0 {
		start = r.m.ends[r.i-1]
	}
	data := r.m.slab[start:r.m.ends[r.i]]
	// Real sources hand over frames that were just written into a small
	// buffer (the pcap reader's 1 MiB buffer filled by read(2), the ring
	// block the kernel just filled), so their headers are in the cache;
	// this slab is far larger than the caches and read once a pass.
	// Fetching the headers a few frames ahead keeps the benchmark from
	// measuring memory misses no real source has.
	if j := r.i + 4; j < len(r.m.ends) {
		prefetch.Span(unsafe.Pointer(&r.m.slab[r.m.ends[j-1]]), 128) // the headers, inner ones included
	}
	// Only the fields that change are written (the frame is reused, and
	// consumers do not write to it), as a real source's Next does.
	if r.strip {
		data = data[14+20+8:]
		if r.n == 0 {
			*f = capture.Frame{Link: capture.LinkVXLAN, OuterSrc: outerSrc, OuterDst: outerDst}
		}
	} else if r.n == 0 {
		*f = capture.Frame{Link: r.m.link}
	}
	f.Time, f.Data, f.OrigLen, f.Number = r.m.times[r.i]+r.pass*r.m.span, data, uint32(len(data)), uint64(r.n+1)
	r.i++
	r.n++
	return nil
}

var (
	outerSrc = pcapgen.New(pcapgen.Config{}).OuterSrc()
	outerDst = pcapgen.New(pcapgen.Config{}).OuterDst()
)

// benchPcap is the cached generated capture of the benchmarks: 2,000,000
// packets over 20,000 connections, plain or VXLAN-wrapped (VNI 4242).
func benchPcap(b testing.TB, vxlan bool) string {
	name := "capture-plain-2m.pcap"
	cfg := pcapgen.Config{Seed: 1, Packets: 2_000_000, Flows: 20_000}
	if vxlan {
		name = "capture-vxlan-2m.pcap"
		cfg.VXLAN, cfg.VNI = true, 4242
	}
	return benchutil.File(b, name, func(path string) error {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if _, err := pcapgen.Write(f, cfg, false); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
}

// fileFrames opens a capture file as a FrameSource.
func fileFrames(b testing.TB, path string) (*pcapfile.Reader, *os.File) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	r, err := pcapfile.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	return r, f
}
