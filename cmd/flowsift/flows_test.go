package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const samples = "../../../shared/reference/samples"

// runCLI runs flowsift with args and returns its exit status and output.
func flowsCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb}
	code := run(e, args)
	return code, out.String(), errb.String()
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"nosuchcommand"},
		{"flows"},
		{"flows", "--no-such-flag", "x"},
		{"flows", "--format", "xml", samples + "/aws/doc-v2-default-accept-reject.log"},
		{"flows", "--format", "parquet", samples + "/aws/doc-v2-default-accept-reject.log"},
	} {
		code, out, errs := flowsCLI(t, "", args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want 2 (stdout %q stderr %q)", args, code, out, errs)
		}
		if len(args) > 0 && out != "" {
			t.Errorf("%v: printed records on a usage error: %q", args, out)
		}
	}
}

func TestHelpTeaches(t *testing.T) {
	for _, cmd := range []string{"flows", "analyze", "policy"} {
		code, out, _ := flowsCLI(t, "", cmd, "--help")
		if code != exitOK {
			t.Errorf("%s --help: exit %d", cmd, code)
		}
		for _, want := range []string{"Usage:", "Example", "Exit status", "--"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s --help lacks %q", cmd, want)
			}
		}
	}
	if code, out, _ := flowsCLI(t, "", "version"); code != 0 || !strings.HasPrefix(out, "flowsift ") {
		t.Errorf("version: %d %q", code, out)
	}
}

func TestFlowsReportsAndSummary(t *testing.T) {
	bad := samples + "/bad/aws-v2-default-mixed.log"
	code, out, errs := flowsCLI(t, "", "flows", bad)
	if code != exitOK {
		t.Fatalf("exit %d, want 0: %s", code, errs)
	}
	if n := strings.Count(out, "\n"); n != 5 {
		t.Errorf("%d records, want 5", n)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
	}
	for _, want := range []string{bad + ":2: field-count:", bad + ":19: bad-ip:", "summary: 1 input(s), 5 record(s), 12 malformed"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	// -q hides the summary, not the reports.
	_, _, errs = flowsCLI(t, "", "flows", "-q", bad)
	if strings.Contains(errs, "summary:") || !strings.Contains(errs, ":2: field-count") {
		t.Errorf("-q stderr: %s", errs)
	}
}

func TestFlowsUnusableInputStillReadsOthers(t *testing.T) {
	good := samples + "/aws/doc-v2-default-accept-reject.log"
	code, out, errs := flowsCLI(t, "", "flows", "no/such/file.log", good, samples+"/bad/binary-junk.bin", "no/such/*.gz")
	if code != exitUnusable {
		t.Errorf("exit %d, want 1", code)
	}
	if strings.Count(out, "\n") != 2 {
		t.Errorf("records of the good input missing: %q", out)
	}
	for _, want := range []string{"no/such/file.log: unreadable:", "binary-junk.bin: unrecognized:", "no/such/*.gz: unreadable: no file matches"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
}

func TestFlowsStrict(t *testing.T) {
	bad := samples + "/bad/aws-v2-default-mixed.log"
	code, out, errs := flowsCLI(t, "", "flows", "--strict", bad, samples+"/aws/doc-v2-default-accept-reject.log")
	if code != exitUnusable {
		t.Errorf("exit %d, want 1", code)
	}
	if n := strings.Count(errs, ": field-count:") + strings.Count(errs, ": bad-"); n != 1 {
		t.Errorf("%d reports, want exactly the first:\n%s", n, errs)
	}
	if strings.Count(out, "\n") != 1 { // line 1 is good, line 2 stops the run
		t.Errorf("records before the stop: %q", out)
	}
}

func TestFlowsStdinDirsAndFormats(t *testing.T) {
	line := "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK\n"
	code, out, _ := flowsCLI(t, line, "flows", "--format", "csv", "-")
	if code != 0 || !strings.HasPrefix(out, "start,end,src,dst,") || !strings.Contains(out, "\n1418530010,1418530070,172.31.16.139,172.31.16.21,20641,22,6,20,4249,accept,") {
		t.Errorf("csv from stdin: %d %q", code, out)
	}
	code, out, _ = flowsCLI(t, line, "flows", "--format", "table", "-")
	if code != 0 || !strings.Contains(out, "START (UTC)") || !strings.Contains(out, "2014-12-14 04:06:50") {
		t.Errorf("table: %d %q", code, out)
	}
	// A directory is walked in lexical order; dot files are skipped.
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "b"), 0o755)
	os.WriteFile(filepath.Join(dir, "b", "x.log"), []byte(strings.Replace(line, "20641", "2", 1)), 0o644)
	os.WriteFile(filepath.Join(dir, "a.log"), []byte(strings.Replace(line, "20641", "1", 1)), 0o644)
	os.WriteFile(filepath.Join(dir, ".hidden.log"), []byte(line), 0o644)
	code, out, errs := flowsCLI(t, "", "flows", dir)
	if code != 0 || strings.Count(out, "\n") != 2 || strings.Index(out, `"sport":1,`) > strings.Index(out, `"sport":2,`) {
		t.Errorf("directory walk: %d %q %s", code, out, errs)
	}
	if !strings.Contains(errs, `summary: file "`+filepath.Join(dir, "b", "x.log")+`"`) {
		t.Errorf("per-file summary names the path below the directory:\n%s", errs)
	}
}

func TestFlowsEveryFormatTogether(t *testing.T) {
	// Every sample file but the SOURCES.md notes (prose: a 14-word line in
	// one of them would make it AWS text by FORMATS.md 2.2 rule 8).
	var files []string
	for _, prov := range []string{"aws", "gcp", "azure", "alibaba"} {
		filepath.Walk(filepath.Join(samples, prov), func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() && info.Name() != "SOURCES.md" {
				files = append(files, p)
			}
			return nil
		})
	}
	code, out, errs := flowsCLI(t, "", append([]string{"flows", "-q"}, files...)...)
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	sources := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m struct{ Source string }
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("bad line %q", line)
		}
		sources[m.Source] = true
	}
	for _, s := range []string{"aws-vpc-text", "aws-vpc-parquet", "aws-cwl-json", "gcp-vpc-flows", "gcp-firewall",
		"azure-nsg", "azure-vnet", "alibaba-sls-json", "alibaba-sls-csv"} {
		if !sources[s] {
			t.Errorf("no record with source %s", s)
		}
	}
}
