package decode

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/flowsift/flowsift/capture"
	"github.com/flowsift/flowsift/capture/pcapfile"
)

const corpus = "../../../shared/corpus"

func corpusFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpus, "pcap", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files (%v)", err)
	}
	return files
}

func baseName(file string) string {
	b := filepath.Base(file)
	return strings.TrimSuffix(strings.TrimSuffix(b, ".pcapng"), ".pcap")
}

func readTSV(t testing.TB, path string) (header []string, rows [][]string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		f := strings.Split(line, "\t")
		if i == 0 {
			header = f
			continue
		}
		rows = append(rows, f)
	}
	return
}

// corpusFrames returns copies of every frame a corpus file yields.
func corpusFrames(t testing.TB, file string) []capture.Frame {
	t.Helper()
	fh, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	r, err := pcapfile.NewReader(fh)
	if err != nil {
		return nil
	}
	var out []capture.Frame
	for {
		var f capture.Frame
		if err := r.Next(&f); err != nil {
			var pe *pcapfile.Error
			if err != io.EOF && !errors.As(err, &pe) {
				t.Fatal(err)
			}
			return out
		}
		f.Data = append([]byte(nil), f.Data...)
		out = append(out, f)
	}
}

// row renders a Packet in the inner.tsv columns compared.
func row(p *capture.Packet) map[string]string {
	m := map[string]string{"ip_layers": strconv.Itoa(int(p.IPLayers))}
	for _, k := range []string{"family", "src", "dst", "proto", "sport", "dport", "l3_len", "fragment"} {
		m[k] = ""
	}
	if p.Reason != capture.ReasonNone {
		return m
	}
	m["family"] = strconv.Itoa(int(p.Family))
	m["src"] = p.Src.String()
	m["dst"] = p.Dst.String()
	m["proto"] = strconv.Itoa(int(p.Proto))
	if (p.Proto == 6 || p.Proto == 17 || p.Proto == 132) && p.FragOffset == 0 {
		m["sport"] = strconv.Itoa(int(p.SrcPort))
		m["dport"] = strconv.Itoa(int(p.DstPort))
	}
	m["l3_len"] = strconv.Itoa(int(p.L3Len))
	m["fragment"] = "0"
	if p.Fragment {
		m["fragment"] = "1"
	}
	return m
}

// checkTunnelID compares the corpus tunnel_id column with Packet.Inner.
func checkTunnelID(want string, p *capture.Packet) string {
	in := p.Inner
	kind, id, hasID := strings.Cut(want, ":")
	switch kind {
	case "":
		switch in.Type {
		case capture.TunnelVXLAN, capture.TunnelGeneve, capture.TunnelERSPAN1, capture.TunnelERSPAN2, capture.TunnelERSPAN3:
			return "unexpected inner tunnel " + in.Type.String()
		}
		return ""
	case "vxlan", "geneve":
		v, err := strconv.ParseUint(strings.TrimPrefix(id, "0x"), map[bool]int{true: 16, false: 10}[kind == "geneve"], 32)
		if err != nil {
			return "bad expected " + want
		}
		if in.Type.String() != kind || !in.HasVNI || in.VNI != uint32(v) {
			return "inner tunnel " + in.Type.String() + " vni " + strconv.Itoa(int(in.VNI))
		}
	case "erspan":
		if !strings.HasPrefix(in.Type.String(), "erspan") {
			return "inner tunnel " + in.Type.String()
		}
		if hasID {
			if !in.HasID || strconv.Itoa(int(in.ID)) != id {
				return "erspan session " + strconv.Itoa(int(in.ID))
			}
		} else if in.HasID {
			return "erspan session present"
		}
	}
	return ""
}

// TestCorpus decodes every frame of every corpus capture and compares the
// innermost IP layer with NAME.inner.tsv.
func TestCorpus(t *testing.T) {
	d := New(Options{})
	var p capture.Packet
	total := 0
	for _, file := range corpusFiles(t) {
		name := baseName(file)
		t.Run(name, func(t *testing.T) {
			header, rows := readTSV(t, filepath.Join(corpus, "expected", name+".inner.tsv"))
			col := map[string]int{}
			for i, h := range header {
				col[h] = i
			}
			frames := corpusFrames(t, file)
			if len(frames) != len(rows) {
				t.Fatalf("%d frames, inner.tsv has %d rows", len(frames), len(rows))
			}
			bad := 0
			for i := range frames {
				d.Decode(&frames[i], &p)
				total++
				got := row(&p)
				want := rows[i]
				for _, k := range []string{"family", "src", "dst", "proto", "sport", "dport", "l3_len", "fragment", "ip_layers"} {
					if got[k] != want[col[k]] {
						t.Errorf("frame %d %s: %s = %q, want %q (reason %v, path %s)", i+1, want[col["outer_path"]], k, got[k], want[col[k]], p.Reason, want[col["outer_path"]])
						bad++
					}
				}
				if msg := checkTunnelID(want[col["tunnel_id"]], &p); msg != "" {
					t.Errorf("frame %d: tunnel_id %s: %s", i+1, want[col["tunnel_id"]], msg)
					bad++
				}
				if bad > 20 {
					t.Fatal("too many differences")
				}
			}
		})
	}
}
