package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flowsift/flowsift/capture"
	"github.com/flowsift/flowsift/capture/live/livetest"
	"github.com/flowsift/flowsift/internal/pcapgen"
)

// capRec is the part of a capture record the tests compare.
type capRec struct {
	Src, Dst     string
	Sport, Dport int
	Proto        int
	Packets      int64
	Bytes        int64
	Source       string
	Iface        string
	IcmpType     *int    `json:"icmp_type"`
	TunnelVNI    *int    `json:"tunnel_vni"`
	TunnelSrc    *string `json:"tunnel_src"`
	TunnelDst    *string `json:"tunnel_dst"`
	TunnelType   *string `json:"tunnel_type"`
	Verdict      *string `json:"verdict"`
	Finding      *string `json:"finding"`
}

func parseCapRecs(t *testing.T, b []byte) []capRec {
	t.Helper()
	var out []capRec
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r capRec
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		out = append(out, r)
	}
	return out
}

// flowKey is a direction of a flow as both sides can name it: ICMP by
// addresses and protocol only (pcapgen keeps type/id in the ports, flowsift
// keeps icmp_type/icmp_code keys).
type flowKey struct {
	src, dst     string
	sport, dport int
	proto        int
}

type tot struct{ packets, bytes int64 }

func truthTotals(tr pcapgen.Truth) map[flowKey]tot {
	m := map[flowKey]tot{}
	for k, c := range tr {
		fk := flowKey{k.Src.String(), k.Dst.String(), int(k.SrcPort), int(k.DstPort), int(k.Proto)}
		if k.Proto == 1 || k.Proto == 58 {
			fk.sport, fk.dport = 0, 0
		}
		v := m[fk]
		v.packets += int64(c.Packets)
		v.bytes += int64(c.Bytes)
		m[fk] = v
	}
	return m
}

func recordTotals(recs []capRec) map[flowKey]tot {
	m := map[flowKey]tot{}
	for _, r := range recs {
		fk := flowKey{r.Src, r.Dst, r.Sport, r.Dport, r.Proto}
		v := m[fk]
		v.packets += r.Packets
		v.bytes += r.Bytes
		m[fk] = v
	}
	return m
}

func compareTotals(t *testing.T, got, want map[flowKey]tot) {
	t.Helper()
	bad := 0
	for k, w := range want {
		if g := got[k]; g != w {
			if bad++; bad <= 10 {
				t.Errorf("%+v: captured %+v, sent %+v", k, g, w)
			}
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			if bad++; bad <= 10 {
				t.Errorf("%+v: captured %+v, never sent", k, g)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d flow directions differ", bad, len(want))
	}
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// flowsiftBinary builds the command once per test run.
func flowsiftBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "flowsift-capture-test")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "flowsift")
		out, err := exec.Command("go", "build", "-o", buildPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// startCapture runs flowsift capture (cmd's args) and waits for the line
// that says the sockets are open; it returns the process, its stderr so
// far (later output keeps arriving in the buffer) and the ready line.
type capProc struct {
	cmd    *exec.Cmd
	stderr *syncBuf
	done   chan error
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func startCapture(t *testing.T, cmd *exec.Cmd, ready *regexp.Regexp) (*capProc, []string) {
	t.Helper()
	p := &capProc{cmd: cmd, stderr: &syncBuf{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
	})
	go func() { p.done <- cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := ready.FindStringSubmatch(p.stderr.String()); m != nil {
			return p, m
		}
		select {
		case err := <-p.done:
			t.Fatalf("flowsift capture exited early: %v\n%s", err, p.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("flowsift capture not ready:\n%s", p.stderr.String())
	return nil, nil
}

// interrupt sends SIGINT and waits for a clean exit.
func (p *capProc) interrupt(t *testing.T) string {
	t.Helper()
	// ip netns exec passes the signal on to flowsift (it execs it).
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("flowsift capture: %v\n%s", err, p.stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("flowsift capture did not stop on SIGINT:\n%s", p.stderr.String())
	}
	return p.stderr.String()
}

var totalRe = regexp.MustCompile(`capture total: ([\d,]+) frame\(s\) read, ([\d,]+) decoded, ([\d,]+) undecodable.*?, ([\d,]+) dropped by the kernel`)

func counters(t *testing.T, stderr string) (read, decoded, undecodable, drops int64) {
	t.Helper()
	m := totalRe.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no final counters in:\n%s", stderr)
	}
	n := func(s string) int64 {
		v, err := strconv.ParseInt(strings.ReplaceAll(s, ",", ""), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	return n(m[1]), n(m[2]), n(m[3]), n(m[4])
}

// TestCaptureLiveVeth replays generated traffic between two namespaces
// with tcpreplay and captures it with flowsift on the receiving end (two
// fanout workers, a BPF filter keeping only the test hosts): after SIGINT
// the records carry exactly the packets and L3 bytes sent per direction
// and 5-tuple, and the kernel dropped nothing.
func TestCaptureLiveVeth(t *testing.T) {
	livetest.Need(t, "ip", "tcpreplay")
	bin := flowsiftBinary(t)
	p := livetest.NewPair(t)
	dir := t.TempDir()
	pcap := filepath.Join(dir, "traffic.pcap")
	f, err := os.Create(pcap)
	if err != nil {
		t.Fatal(err)
	}
	// Only the test hosts' addresses; the destination MAC is not B's, so
	// B's stack ignores the frames (no RSTs or ICMP errors added).
	truth, err := pcapgen.Write(f, pcapgen.Config{Seed: 5, Packets: 6000, Flows: 120, Hosts4: p.Addr4, Hosts6: p.Addr6,
		PPS: 100000}, false)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "records.jsonl")
	filter := fmt.Sprintf("host %s or host %s or host %s or host %s", p.Addr4[0], p.Addr4[1], p.Addr6[0], p.Addr6[1])
	proc, _ := startCapture(t, livetest.Exec(p.NSB, bin, "capture", "-i", p.B, "--workers", "2", "--filter", filter, "-o", out),
		regexp.MustCompile(`capturing on `+p.B))
	rep := livetest.Exec(p.NSA, "tcpreplay", "-i", p.A, "--pps", "20000", pcap)
	if b, err := rep.CombinedOutput(); err != nil {
		t.Fatalf("tcpreplay: %v\n%s", err, b)
	}
	time.Sleep(300 * time.Millisecond) // the ring hands over part-filled blocks after 10 ms
	stderr := proc.interrupt(t)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	recs := parseCapRecs(t, b)
	for _, r := range recs {
		if r.Source != "live" || r.Iface != p.B {
			t.Fatalf("record source %q iface %q, want live, %s", r.Source, r.Iface, p.B)
		}
	}
	compareTotals(t, recordTotals(recs), truthTotals(truth))
	read, decoded, undec, drops := counters(t, stderr)
	if read != 6000 || decoded != 6000 || undec != 0 || drops != 0 {
		t.Fatalf("counters: read %d decoded %d undecodable %d drops %d; want 6000 6000 0 0\n%s", read, decoded, undec, drops, stderr)
	}
}

// TestCaptureVXLANListener sends VXLAN-encapsulated frames over loopback
// to flowsift capture --listen and compares the records with the inner
// traffic, tunnel keys included; the same for Geneve over IPv6 loopback.
func TestCaptureVXLANListener(t *testing.T) {
	for _, tc := range []struct{ scheme, addr, network string }{
		{"vxlan", "127.0.0.1", "udp4"},
		{"geneve", "::1", "udp6"},
	} {
		t.Run(tc.scheme, func(t *testing.T) { testListener(t, tc.scheme, tc.addr, tc.network) })
	}
}

func testListener(t *testing.T, scheme, local, network string) {
	bin := flowsiftBinary(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "records.jsonl")
	url := scheme + "://" + netip.AddrPortFrom(netip.MustParseAddr(local), 0).String()
	proc, m := startCapture(t, exec.Command(bin, "capture", "--listen", url, "--workers", "2", "-o", out),
		regexp.MustCompile(`listening on `+scheme+`://(\S+) `))
	target := netip.MustParseAddrPort(m[1])
	const vni = 4242
	g := pcapgen.New(pcapgen.Config{Seed: 9, Packets: 8000, Flows: 200, VXLAN: true, VNI: vni})
	g.Track = true
	// Several sender sockets, so SO_REUSEPORT spreads them over both
	// workers; every inner flow always uses the same sender (as a mirror
	// session hashes it).
	var conns []*net.UDPConn
	for i := 0; i < 4; i++ {
		c, err := net.DialUDP(network, nil, net.UDPAddrFromAddrPort(target))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	var fr capture.Frame
	n := 0
	var payload []byte
	for g.Next(&fr) {
		vx := fr.Data[14+20+8:] // from the VXLAN header on
		payload = append(payload[:0], vx...)
		if scheme == "geneve" {
			// Geneve base header, no options: version 0, protocol
			// 0x6558 (Ethernet), the same VNI, then the inner frame.
			copy(payload, []byte{0, 0, 0x65, 0x58, vx[4], vx[5], vx[6], 0})
		}
		// the generator's outer UDP source port is a hash of the inner flow
		sport := int(fr.Data[14+20])<<8 | int(fr.Data[14+21])
		if _, err := conns[sport%len(conns)].Write(payload); err != nil {
			t.Fatal(err)
		}
		if n++; n%500 == 0 {
			time.Sleep(5 * time.Millisecond) // loopback does not pace; keep under the socket buffer
		}
	}
	time.Sleep(300 * time.Millisecond)
	stderr := proc.interrupt(t)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	recs := parseCapRecs(t, b)
	for _, r := range recs {
		if r.TunnelVNI == nil || *r.TunnelVNI != vni || r.TunnelSrc == nil || *r.TunnelSrc != local ||
			r.TunnelDst == nil || *r.TunnelDst != local || r.TunnelType == nil || *r.TunnelType != scheme || r.Source != "live" {
			t.Fatalf("record without the session's tunnel keys: %+v", r)
		}
	}
	compareTotals(t, recordTotals(recs), truthTotals(g.Truth()))
	read, decoded, undec, drops := counters(t, stderr)
	if read != 8000 || decoded != 8000 || undec != 0 || drops != 0 {
		t.Fatalf("counters: read %d decoded %d undecodable %d drops %d; want 8000 8000 0 0\n%s", read, decoded, undec, drops, stderr)
	}
}

// TestCaptureReadFile runs a generated capture file through the capture
// engine (-r) and compares with its truth; with --policy every record
// carries a judgment.
func TestCaptureReadFile(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "t.pcap")
	f, err := os.Create(pcap)
	if err != nil {
		t.Fatal(err)
	}
	truth, err := pcapgen.Write(f, pcapgen.Config{Seed: 2, Packets: 20000, Flows: 500, VXLAN: true, VNI: 77}, true)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, st := runCLI(t, "capture", "-r", pcap)
	if st != exitOK {
		t.Fatalf("status %d\n%s", st, stderr)
	}
	recs := parseCapRecs(t, []byte(stdout))
	compareTotals(t, recordTotals(recs), truthTotals(truth))
	for _, r := range recs {
		if r.Source != "pcap" || r.TunnelVNI == nil || *r.TunnelVNI != 77 || *r.TunnelSrc != "10.255.0.1" {
			t.Fatalf("record %+v", r)
		}
	}
	if read, dec, _, _ := counters(t, stderr); read != 20000 || dec != 20000 {
		t.Fatalf("counters %d %d\n%s", read, dec, stderr)
	}

	// Timeouts are packet time for files: 20,000 packets at 1 Mpps span
	// 20 ms, so a 5 ms active timeout splits flows into several records
	// with the same totals.
	stdout, stderr, st = runCLI(t, "capture", "-r", pcap, "--active-timeout", "5ms", "-q")
	if st != exitOK || stderr != "" {
		t.Fatalf("status %d\n%s", st, stderr)
	}
	split := parseCapRecs(t, []byte(stdout))
	if len(split) <= len(recs) {
		t.Fatalf("%d records with a 5 ms active timeout, %d without", len(split), len(recs))
	}
	compareTotals(t, recordTotals(split), truthTotals(truth))

	// --max-flows bounds the table: flows are evicted early, totals stay.
	stdout, stderr, st = runCLI(t, "capture", "-r", pcap, "--max-flows", "64")
	if st != exitOK {
		t.Fatalf("status %d\n%s", st, stderr)
	}
	compareTotals(t, recordTotals(parseCapRecs(t, []byte(stdout))), truthTotals(truth))
	if !regexp.MustCompile(`evicted [1-9]`).MatchString(stderr) {
		t.Fatalf("no evictions reported with --max-flows 64:\n%s", stderr)
	}

	pol := filepath.Join(policyExamples, "01-aws-nacl-rule-order")
	stdout, stderr, st = runCLI(t, "capture", "-r", pcap, "-q", "--policy",
		filepath.Join(pol, "describe-network-acls.json")+","+filepath.Join(pol, "describe-security-groups.json")+","+filepath.Join(pol, "describe-network-interfaces.json"))
	if st != exitOK {
		t.Fatalf("status %d\n%s", st, stderr)
	}
	judgedRecs := parseCapRecs(t, []byte(stdout))
	if len(judgedRecs) != len(recs) {
		t.Fatalf("%d judged records, %d plain", len(judgedRecs), len(recs))
	}
	for _, r := range judgedRecs {
		if r.Verdict == nil || *r.Verdict == "" || r.Finding == nil {
			t.Fatalf("record without verdict: %+v", r)
		}
	}
}

// TestCaptureDamagedFile: a capture cut mid-record gives the records of
// the frames before the damage, reports it and exits with status 1.
func TestCaptureDamagedFile(t *testing.T) {
	stdout, stderr, st := runCLI(t, "capture", "-r", "../../../shared/corpus/pcap/damaged-truncated-mid-packet.pcap")
	if st != exitUnusable {
		t.Fatalf("status %d, want %d\n%s", st, exitUnusable, stderr)
	}
	if read, _, _, _ := counters(t, stderr); read != 5 {
		t.Fatalf("read %d frames, want the 5 before the damage\n%s", read, stderr)
	}
	if stdout == "" || !strings.Contains(stderr, "flowsift capture: ") {
		t.Fatalf("stdout %q\nstderr %s", stdout, stderr)
	}
}

func TestCaptureUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-i", "lo", "--listen", "vxlan://:4789"},
		{"--listen", "udp://1.2.3.4:5"},
		{"--listen", "vxlan://:4789", "--filter", "tcp"},
		{"-r", "x.pcap", "--format", "xml"},
		{"-r", "x.pcap", "--format", "table", "--policy", "p.json"},
		{"-r", "x.pcap", "--format", "parquet"},
		{"-r", "x.pcap", "--workers", "0"},
		{"-r", "x.pcap", "--idle-timeout", "0s"},
		{"-r", "x.pcap", "extra"},
	} {
		_, stderr, st := runCLI(t, append([]string{"capture"}, args...)...)
		if st != exitUsage || !strings.Contains(stderr, "flowsift capture") {
			t.Errorf("%v: status %d, stderr %q", args, st, stderr)
		}
	}
	_, stderr, st := runCLI(t, "capture", "-i", "nosuchif0")
	if st != exitUnusable || !strings.Contains(stderr, "nosuchif0") {
		t.Errorf("missing interface: status %d, stderr %q", st, stderr)
	}
	out, _, st := runCLI(t, "capture", "--help")
	if st != exitOK || !strings.Contains(out, "--listen") || !strings.Contains(out, "--max-flows") {
		t.Errorf("help: status %d\n%s", st, out)
	}
}

// TestCaptureStore: capture --store writes every record, with its verdict
// and the policy snapshot id when judged, and the packet totals equal the
// traffic's.
func TestCaptureStore(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the spool directory
	t.Setenv("CLICKHOUSE_PASSWORD", "")
	dir := t.TempDir()
	pcap := filepath.Join(dir, "t.pcap")
	f, err := os.Create(pcap)
	if err != nil {
		t.Fatal(err)
	}
	truth, err := pcapgen.Write(f, pcapgen.Config{Seed: 8, Packets: 5000, Flows: 150}, false)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var packets, bytes uint64
	for _, c := range truth {
		packets, bytes = packets+c.Packets, bytes+c.Bytes
	}
	for _, judged := range []bool{false, true} {
		db := chsrv.NewDatabase(t)
		args := []string{"capture", "-q", "-r", pcap, "-o", filepath.Join(dir, "out.jsonl"), "--store", chsrv.URL(db)}
		if judged {
			args = append(args, storePolicy...)
		}
		_, stderr, st := runCLI(t, args...)
		if st != exitOK {
			t.Fatalf("judged %v: status %d\n%s", judged, st, stderr)
		}
		recs, _ := os.ReadFile(filepath.Join(dir, "out.jsonl"))
		n := uint64(len(parseCapRecs(t, recs)))
		conn, err := chsrv.Conn(db)
		if err != nil {
			t.Fatal(err)
		}
		policyID := ""
		if judged {
			policyID, _ = policySnapshotID([]string{storePolicy[1], storePolicy[3], storePolicy[5]})
		}
		var gotN, gotP, gotB, withPolicy uint64
		row := conn.QueryRow(context.Background(), "SELECT count(), sum(packets), sum(bytes), countIf(policy = ?) FROM flows", policyID)
		if err := row.Scan(&gotN, &gotP, &gotB, &withPolicy); err != nil {
			t.Fatal(err)
		}
		conn.Close()
		if gotN != n || gotP != packets || gotB != bytes || withPolicy != n {
			t.Errorf("judged %v: %d rows, %d packets, %d bytes, %d with policy %q; want %d, %d, %d", judged, gotN, gotP, gotB,
				withPolicy, policyID, n, packets, bytes)
		}
	}
}
