package verdict_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/flowsift/flowsift/analyze/policy"
	"github.com/flowsift/flowsift/analyze/policy/load"
	"github.com/flowsift/flowsift/analyze/policy/native"
	"github.com/flowsift/flowsift/analyze/verdict"
	"github.com/flowsift/flowsift/flowlog"
)

const examplesDir = "../../../shared/reference/samples/policy/examples"

type manifest struct {
	Examples []struct {
		Dir      string          `json:"dir"`
		Model    string          `json:"model"`
		Policy   []string        `json:"policy"`
		Current  []string        `json:"current"`
		Proposed []string        `json:"proposed"`
		Flows    string          `json:"flows"`
		Expected json.RawMessage `json:"expected"`
	} `json:"examples"`
}

type expectedRow struct {
	Line       int      `json:"line"`
	Iface      string   `json:"iface"`
	Src        string   `json:"src"`
	Dst        string   `json:"dst"`
	Sport      int      `json:"sport"`
	Dport      int      `json:"dport"`
	Proto      int      `json:"proto"`
	Verdict    string   `json:"verdict"`
	Rules      []string `json:"rules"`
	Finding    string   `json:"finding"`
	Reply      bool     `json:"reply"`
	ReplyBasis string   `json:"reply_basis"`
	Reason     string   `json:"reason"`
}

// readFlows decodes a flows.jsonl file into records (test helper; the
// native JSONL reader lives in flowlog).
func readFlows(t testing.TB, path string) []flowlog.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []flowlog.Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m struct {
			Start, End     int64
			Src, Dst       string
			Sport, Dport   uint16
			Proto          uint8
			Packets, Bytes int64
			Action         string
			Direction      string
			Iface, VPC     string
			Subnet         string
			Account        string
			TCPFlags       int32  `json:"tcp_flags"`
			IcmpType       *int64 `json:"icmp_type"`
			IcmpCode       *int64 `json:"icmp_code"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r := flowlog.Record{Start: m.Start, End: m.End, SrcPort: m.Sport, DstPort: m.Dport, Proto: m.Proto,
			Packets: m.Packets, Bytes: m.Bytes, TCPFlags: m.TCPFlags, Iface: m.Iface, VPC: m.VPC, Subnet: m.Subnet, Account: m.Account}
		r.Src, _ = netip.ParseAddr(m.Src)
		r.Dst, _ = netip.ParseAddr(m.Dst)
		r.Action, _ = flowlog.ParseAction(m.Action)
		r.Direction, _ = flowlog.ParseDirection(m.Direction)
		if m.IcmpCode != nil {
			r.SetInt(flowlog.AttrIcmpCode, *m.IcmpCode)
		}
		if m.IcmpType != nil {
			r.SetInt(flowlog.AttrIcmpType, *m.IcmpType)
		}
		out = append(out, r)
	}
	return out
}

func readExpected(t testing.TB, path string) []expectedRow {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows []expectedRow
	dec := json.NewDecoder(bytes.NewReader(data))
	for dec.More() {
		var r expectedRow
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		rows = append(rows, r)
	}
	return rows
}

func loadManifest(t testing.TB) manifest {
	data, err := os.ReadFile(filepath.Join(examplesDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Examples) != 15 {
		t.Fatalf("manifest lists %d examples, want 15", len(m.Examples))
	}
	return m
}

func loadSet(t testing.TB, dir string, files []string) *policy.Set {
	t.Helper()
	var paths []string
	for _, f := range files {
		paths = append(paths, filepath.Join(dir, f))
	}
	set, err := load.Files(paths)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// checkExample judges flows with each engine and compares every expected row.
func checkExample(t *testing.T, set *policy.Set, flows string, expected string) {
	recs := readFlows(t, flows)
	want := readExpected(t, expected)
	if len(want) != len(recs) {
		t.Fatalf("%d records, %d expected rows", len(recs), len(want))
	}
	for name, eng := range map[string]*verdict.Engine{"reference": verdict.NewReferenceEngine(set), "compiled": verdict.NewEngine(set)} {
		out := make([]verdict.Result, len(recs))
		eng.JudgeAll(recs, out)
		for i, w := range want {
			r := &recs[w.Line-1]
			g := &out[w.Line-1]
			if r.Src.String() != w.Src || r.Dst.String() != w.Dst || int(r.DstPort) != w.Dport || r.Iface != w.Iface {
				t.Fatalf("row %d does not join line %d", i, w.Line)
			}
			rules := g.Rules
			if rules == nil {
				rules = []string{}
			}
			if w.Rules == nil {
				w.Rules = []string{}
			}
			reason := ""
			if g.Verdict == verdict.Unknown {
				reason = g.Reason
			}
			got := [6]any{g.Verdict.String(), rules, string(g.Finding), g.Reply, g.Basis.String(), reason}
			exp := [6]any{w.Verdict, w.Rules, w.Finding, w.Reply, w.ReplyBasis, w.Reason}
			if !reflect.DeepEqual(got, exp) {
				t.Errorf("%s line %d:\n got  verdict=%v rules=%v finding=%q reply=%v basis=%v reason=%q\n want verdict=%v rules=%v finding=%q reply=%v basis=%v reason=%q\n why: %s",
					name, w.Line, got[0], got[1], got[2], got[3], got[4], got[5], exp[0], exp[1], exp[2], exp[3], exp[4], exp[5], g.Why())
			}
		}
	}
}

func TestExamples(t *testing.T) {
	m := loadManifest(t)
	for _, ex := range m.Examples {
		t.Run(ex.Dir, func(t *testing.T) {
			dir := filepath.Join(examplesDir, ex.Dir)
			if ex.Policy == nil {
				// What-if example: judge against the current policy here;
				// TestWhatIfProposed checks the proposed one.
				var exp map[string]string
				if err := json.Unmarshal(ex.Expected, &exp); err != nil {
					t.Fatal(err)
				}
				checkExample(t, loadSet(t, dir, ex.Current), filepath.Join(dir, ex.Flows), filepath.Join(dir, exp["current"]))
				return
			}
			var exp string
			if err := json.Unmarshal(ex.Expected, &exp); err != nil {
				t.Fatal(err)
			}
			checkExample(t, loadSet(t, dir, ex.Policy), filepath.Join(dir, ex.Flows), filepath.Join(dir, exp))
		})
	}
}

func TestWhatIfProposed(t *testing.T) {
	m := loadManifest(t)
	n := 0
	for _, ex := range m.Examples {
		if ex.Policy != nil {
			continue
		}
		n++
		dir := filepath.Join(examplesDir, ex.Dir)
		var exp map[string]string
		if err := json.Unmarshal(ex.Expected, &exp); err != nil {
			t.Fatal(err)
		}
		t.Run(ex.Dir, func(t *testing.T) {
			checkExample(t, loadSet(t, dir, ex.Proposed), filepath.Join(dir, ex.Flows), filepath.Join(dir, exp["proposed"]))
		})
	}
	if n == 0 {
		t.Fatal("no what-if example in the manifest")
	}
}

// TestNativeRoundTrip prints every example's policy as native YAML, loads
// it back and requires the same decisions for every record.
func TestNativeRoundTrip(t *testing.T) {
	m := loadManifest(t)
	for _, ex := range m.Examples {
		t.Run(ex.Dir, func(t *testing.T) {
			dir := filepath.Join(examplesDir, ex.Dir)
			files, expName := ex.Policy, ""
			if files == nil {
				var exp map[string]string
				if err := json.Unmarshal(ex.Expected, &exp); err != nil {
					t.Fatal(err)
				}
				files, expName = ex.Proposed, exp["proposed"]
			} else if err := json.Unmarshal(ex.Expected, &expName); err != nil {
				t.Fatal(err)
			}
			set := loadSet(t, dir, files)
			var buf bytes.Buffer
			if err := native.Write(&buf, set); err != nil {
				t.Fatal(err)
			}
			back, err := load.Data([]string{"policy.yaml"}, [][]byte{buf.Bytes()})
			if err != nil {
				t.Fatalf("%v\n%s", err, buf.String())
			}
			checkExample(t, back, filepath.Join(dir, ex.Flows), filepath.Join(dir, expName))
			var again bytes.Buffer
			if err := native.Write(&again, back); err != nil {
				t.Fatal(err)
			}
			if again.String() != buf.String() {
				t.Errorf("second round trip differs:\n%s\n----\n%s", buf.String(), again.String())
			}
		})
	}
}
