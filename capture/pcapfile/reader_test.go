package pcapfile

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/flowsift/flowsift/capture"
)

const corpus = "../../../shared/corpus"

// corpusFiles lists every capture of the shared corpus.
func corpusFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpus, "pcap", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files (%v)", err)
	}
	return files
}

func expectedName(file string) string {
	base := filepath.Base(file)
	return strings.TrimSuffix(strings.TrimSuffix(base, ".pcapng"), ".pcap")
}

// readTSV returns the rows (header dropped) of a tab-separated file.
func readTSV(t testing.TB, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if i == 0 || line == "" {
			continue
		}
		rows = append(rows, strings.Split(line, "\t"))
	}
	return rows
}

func readStatus(t testing.TB, name string) (framesRead int, damaged bool) {
	t.Helper()
	framesRead = -1
	for _, row := range readTSV(t, filepath.Join(corpus, "expected", name+".status.txt")) {
		switch row[0] {
		case "frames_read":
			framesRead, _ = strconv.Atoi(row[1])
		case "damaged":
			damaged = row[1] == "yes"
		}
	}
	// readTSV drops the first line ("file\tNAME"), which is fine.
	if framesRead < 0 {
		t.Fatalf("%s: no frames_read", name)
	}
	return
}

// parseEpoch turns "1234.567890123" into Unix nanoseconds exactly.
func parseEpoch(t testing.TB, s string) int64 {
	t.Helper()
	sec, frac, ok := strings.Cut(s, ".")
	if !ok || len(frac) != 9 {
		t.Fatalf("bad epoch %q", s)
	}
	a, err1 := strconv.ParseInt(sec, 10, 64)
	b, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("bad epoch %q", s)
	}
	return a*1e9 + b
}

// TestCorpus reads every corpus capture and compares frame count, time,
// original and captured length with TShark's packets.tsv, and checks that
// damaged files end in an *Error after exactly frames_read frames.
func TestCorpus(t *testing.T) {
	for _, file := range corpusFiles(t) {
		name := expectedName(file)
		t.Run(name, func(t *testing.T) {
			want := readTSV(t, filepath.Join(corpus, "expected", name+".packets.tsv"))
			framesRead, damaged := readStatus(t, name)
			if len(want) != framesRead {
				t.Fatalf("packets.tsv has %d rows, status says %d", len(want), framesRead)
			}
			fh, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			r, err := NewReader(fh)
			if err != nil {
				if !damaged || framesRead != 0 {
					t.Fatalf("NewReader: %v", err)
				}
				var pe *Error
				if !errors.As(err, &pe) {
					t.Fatalf("NewReader error %T is not *Error", err)
				}
				t.Logf("header error (expected): %v", err)
				return
			}
			var f capture.Frame
			n := 0
			for {
				err = r.Next(&f)
				if err != nil {
					break
				}
				if n >= len(want) {
					t.Fatalf("frame %d beyond the %d expected", n+1, len(want))
				}
				row := want[n]
				n++
				if f.Number != uint64(n) {
					t.Errorf("frame %d: Number %d", n, f.Number)
				}
				if row[1] == "" {
					if !f.NoTime || f.Time != 0 {
						t.Errorf("frame %d: time %d NoTime %v, want none", n, f.Time, f.NoTime)
					}
				} else if got, w := f.Time, parseEpoch(t, row[1]); got != w || f.NoTime {
					t.Errorf("frame %d: time %d, want %d", n, got, w)
				}
				if got := strconv.FormatUint(uint64(f.OrigLen), 10); got != row[2] {
					t.Errorf("frame %d: len %s, want %s", n, got, row[2])
				}
				if got := strconv.Itoa(len(f.Data)); got != row[3] {
					t.Errorf("frame %d: cap_len %s, want %s", n, got, row[3])
				}
				if f.Link == 0 && !strings.HasPrefix(row[4], "null") {
					t.Errorf("frame %d: link 0 but protocols %s", n, row[4])
				}
			}
			if n != framesRead {
				t.Errorf("read %d frames, want %d", n, framesRead)
			}
			if damaged {
				var pe *Error
				if !errors.As(err, &pe) {
					t.Fatalf("damaged file ended with %v, want *Error", err)
				}
				if pe.Frame != uint64(n+1) {
					t.Errorf("error names frame %d, want %d", pe.Frame, n+1)
				}
				if again := r.Next(&f); again != err {
					t.Errorf("error not sticky: %v then %v", err, again)
				}
				t.Logf("error (expected): %v", err)
			} else if err != io.EOF {
				t.Fatalf("ended with %v, want io.EOF", err)
			}
		})
	}
}

// TestPcapngInterfaces checks the global interface numbering and link types
// of the multi-interface pcapng files against TShark's protocol column.
func TestPcapngInterfaces(t *testing.T) {
	for _, name := range []string{"pcapng-be-three-interfaces-ether-null", "pcapng-le-five-interfaces-ether-null", "pcapng-le-two-interfaces-ether-null"} {
		fh, err := os.Open(filepath.Join(corpus, "pcap", name+".pcapng"))
		if err != nil {
			t.Fatal(err)
		}
		r, err := NewReader(fh)
		if err != nil {
			t.Fatal(err)
		}
		want := readTSV(t, filepath.Join(corpus, "expected", name+".packets.tsv"))
		var f capture.Frame
		for i := 0; r.Next(&f) == nil; i++ {
			ifs := r.Interfaces()
			if f.Link != capture.LinkPcapngCustom && (int(f.Iface) >= len(ifs) || ifs[f.Iface].Link != f.Link) {
				t.Errorf("%s frame %d: iface %d of %d, link %d", name, f.Number, f.Iface, len(ifs), f.Link)
			}
			proto := want[i][4]
			wantLink := capture.LinkEthernet
			switch {
			case strings.HasPrefix(proto, "null"):
				wantLink = capture.LinkNull
			case proto == "data":
				wantLink = capture.LinkPcapngCustom
			}
			if f.Link != wantLink {
				t.Errorf("%s frame %d: link %d, protocols %s", name, f.Number, f.Link, proto)
			}
		}
		fh.Close()
		if len(r.Interfaces()) < 2 {
			t.Errorf("%s: %d interfaces", name, len(r.Interfaces()))
		}
	}
}

// TestWriterRoundTrip writes frames with the Writer (µs and ns) and reads
// them back.
func TestWriterRoundTrip(t *testing.T) {
	for _, nano := range []bool{false, true} {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, capture.LinkEthernet, 128, nano)
		if err != nil {
			t.Fatal(err)
		}
		times := []int64{0, 1_700_000_000_123_456_789, 4291747200_000_000_000}
		for i, tm := range times {
			data := bytes.Repeat([]byte{byte(i)}, 50*(i+1))
			if err := w.Write(tm, data, 0); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		r, err := NewReader(bufio.NewReader(&buf))
		if err != nil {
			t.Fatal(err)
		}
		var f capture.Frame
		for i, tm := range times {
			if err := r.Next(&f); err != nil {
				t.Fatal(err)
			}
			if !nano {
				tm = tm / 1000 * 1000
			}
			wantCap := min(50*(i+1), 128)
			if f.Time != tm || len(f.Data) != wantCap || f.OrigLen != uint32(50*(i+1)) || f.Link != capture.LinkEthernet {
				t.Errorf("nano=%v frame %d: time %d len %d orig %d", nano, i, f.Time, len(f.Data), f.OrigLen)
			}
		}
		if err := r.Next(&f); err != io.EOF {
			t.Errorf("want EOF, got %v", err)
		}
	}
}

// TestFrameLargerThanBuffer: a frame longer than the read buffer (taken
// through the gathering path) comes out whole, between ordinary frames,
// in classic pcap; the frames around it are intact.
func TestFrameLargerThanBuffer(t *testing.T) {
	var file bytes.Buffer
	w, err := NewWriter(&file, capture.LinkEthernet, 1<<30, false)
	if err != nil {
		t.Fatal(err)
	}
	sizes := []int{60, 3*bufSize + 17, 1514, bufSize, 60}
	for i, n := range sizes {
		data := make([]byte, n)
		for j := range data {
			data[j] = byte(i*31 + j)
		}
		if err := w.Write(int64(1000+i)*1e9, data, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(bytes.NewReader(file.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var f capture.Frame
	for i, n := range sizes {
		if err := r.Next(&f); err != nil {
			t.Fatalf("frame %d: %v", i+1, err)
		}
		if len(f.Data) != n || f.Time != int64(1000+i)*1e9 {
			t.Fatalf("frame %d: %d bytes at %d, want %d", i+1, len(f.Data), f.Time, n)
		}
		for j, c := range f.Data {
			if c != byte(i*31+j) {
				t.Fatalf("frame %d: byte %d is %d", i+1, j, c)
			}
		}
	}
	if err := r.Next(&f); err != io.EOF {
		t.Fatalf("after the last frame: %v", err)
	}
}
