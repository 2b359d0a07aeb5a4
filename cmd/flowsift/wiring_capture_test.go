package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const captureCorpus = "../../../shared/corpus"

// convTotals sums a conv-ip.tsv: frames and L3 bytes of the 5-tuple rows
// (tcp/udp/sctp) and of the address-pair rows (ip/ipv6, every frame).
func convTotals(t *testing.T, name string) (fivePk, fiveBy, allPk, allBy int64) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(captureCorpus, "expected", name+".conv-ip.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		f := strings.Split(line, "\t")
		if i == 0 || len(f) < 9 {
			continue
		}
		var n [4]int64
		for j := range n {
			n[j], _ = strconv.ParseInt(f[5+j], 10, 64)
		}
		switch f[0] {
		case "tcp", "udp", "sctp":
			fivePk += n[0] + n[2]
			fiveBy += n[1] + n[3]
		default:
			allPk += n[0] + n[2]
			allBy += n[1] + n[3]
		}
	}
	return
}

type capJSON struct {
	Proto       int    `json:"proto"`
	Packets     int64  `json:"packets"`
	Bytes       int64  `json:"bytes"`
	FragPackets int64  `json:"frag_packets"`
	FragBytes   int64  `json:"frag_bytes"`
	Source      string `json:"source"`
}

// TestFlowsCaptureCorpus runs `flowsift flows FILE` on every corpus capture:
// the JSONL records' TCP/UDP/SCTP packets and bytes sum to the conv-ip
// 5-tuple totals, and packets+frag_packets / bytes+frag_bytes over all
// records to the address-pair totals. Damaged files keep the records of
// the frames before the damage and report its frame number and offset;
// files damaged in the header are unusable (exit 1).
func TestFlowsCaptureCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(captureCorpus, "pcap", "*"))
	if len(files) < 50 {
		t.Fatalf("%d corpus files", len(files))
	}
	for _, path := range files {
		base := filepath.Base(path)
		name := strings.TrimSuffix(strings.TrimSuffix(base, ".pcapng"), ".pcap")
		t.Run(name, func(t *testing.T) {
			code, out, errs := flowsCLI(t, "", "flows", path)
			var fivePk, fiveBy, allPk, allBy int64
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				if line == "" {
					continue
				}
				var r capJSON
				if err := json.Unmarshal([]byte(line), &r); err != nil {
					t.Fatalf("not JSON: %q", line)
				}
				if want := map[bool]string{true: "pcapng", false: "pcap"}[strings.HasSuffix(base, ".pcapng")]; r.Source != want {
					t.Errorf("source %q, want %q", r.Source, want)
				}
				if r.Proto == 6 || r.Proto == 17 || r.Proto == 132 {
					fivePk += r.Packets
					fiveBy += r.Bytes
				}
				allPk += r.Packets + r.FragPackets
				allBy += r.Bytes + r.FragBytes
			}
			wFivePk, wFiveBy, wAllPk, wAllBy := convTotals(t, name)
			// Records with ports 0 (e.g. a TCP packet cut short before its
			// ports) are not 5-tuple rows; the corpus has none.
			if fivePk != wFivePk || fiveBy != wFiveBy || allPk != wAllPk || allBy != wAllBy {
				t.Errorf("5-tuple %d/%d (want %d/%d), all %d/%d (want %d/%d)\n%s", fivePk, fiveBy, wFivePk, wFiveBy, allPk, allBy, wAllPk, wAllBy, errs)
			}
			headerDamage := map[string]bool{
				"damaged-pcap-invalid-version":       true,
				"damaged-pcapng-invalid-version":     true,
				"damaged-pcapng-shb-option-too-long": true,
				"damaged-bad-magic":                  true, // not even detected as a capture
			}[name]
			switch {
			case headerDamage:
				if code != exitUnusable || out != "" {
					t.Errorf("header damage: exit %d, output %q", code, out)
				}
			case strings.HasPrefix(name, "damaged-"):
				// PATH:FRAME: KIND: frame FRAME at byte OFFSET: …
				st, _ := os.ReadFile(filepath.Join(captureCorpus, "expected", name+".status.txt"))
				read := ""
				for _, l := range strings.Split(string(st), "\n") {
					if v, ok := strings.CutPrefix(l, "frames_read\t"); ok {
						read = v
					}
				}
				n, _ := strconv.Atoi(read)
				frame := strconv.Itoa(n + 1)
				if code != exitOK || !strings.Contains(errs, path+":"+frame+": ") || !strings.Contains(errs, "frame "+frame+" at byte ") {
					t.Errorf("damage after %d frames: exit %d, stderr:\n%s", n, code, errs)
				}
			default:
				if code != exitOK || regexp.MustCompile(regexp.QuoteMeta(path)+`:[0-9]`).MatchString(errs) {
					t.Errorf("exit %d, stderr:\n%s", code, errs)
				}
			}
		})
	}
}
