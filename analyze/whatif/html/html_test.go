package html

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/flowsift/flowsift/analyze/whatif"
	"github.com/flowsift/flowsift/flowlog"
	"github.com/flowsift/flowsift/flowlog/input"
)

var bundledPolicy = []string{
	"../../../examples/policy/aws/describe-security-groups.json",
	"../../../examples/policy/aws/describe-network-acls.json",
	"../../../examples/policy/aws/describe-network-interfaces.json",
}

// testReport: the bundled AWS scenario with SSH narrowed on the public NACL,
// HTTPS of the web group narrowed, and the data NACL opened to all client
// ports — newly denied and newly allowed traffic, safe removals.
func testReport(t *testing.T) *whatif.Report {
	t.Helper()
	edit := filepath.Join(t.TempDir(), "edit.yaml")
	os.WriteFile(edit, []byte(`flowsift_policy_edit: 1
edits:
  - change: sg-0web0000000000001/ingress/0
    remote: [10.0.0.0/8, 203.0.113.0/24]
  - change: acl-0data0000000001/egress/100
    ports: ["1024-65535"]
  - remove: sg-0app0000000000001/ingress/1
`), 0o644)
	before, after, err := whatif.LoadSets(bundledPolicy, []string{edit})
	if err != nil {
		t.Fatal(err)
	}
	c := whatif.NewComparison(before, after)
	agg := whatif.NewAggregator()
	if _, err := input.Run(input.Expand([]string{"../../../examples/flowlogs/aws-s3", "../../../examples/flowlogs/cloudwatch"}, nil),
		input.Options{}, func(r *flowlog.Record) error { agg.Add(r); return nil }); err != nil {
		t.Fatal(err)
	}
	b := c.NewBuilder(10)
	agg.Rows(b.Add)
	r := b.Report()
	if r.NewlyDenied.Flows == 0 {
		t.Fatal("scenario denies nothing")
	}
	return r
}

// TestSelfContained: no external resource, no script, print styles.
func TestSelfContained(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, testReport(t)); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	for _, bad := range []string{"http://", "https://", "<script", "@import", "url(", "<link"} {
		if strings.Contains(strings.ReplaceAll(s, `xmlns="http://www.w3.org/2000/svg"`, ""), bad) {
			t.Errorf("report contains %q", bad)
		}
	}
	for _, want := range []string{"@media print", "<svg", "timeline of affected traffic", "sg-0web0000000000001/ingress/0"} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func chromiumPath(t *testing.T) string {
	for _, p := range []string{"chromium", "chromium-browser", "/usr/bin/chromium"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatal("chromium not found: install Debian's chromium package (scripts/install-deps.sh, Makefile TEST_DEPS)")
	return ""
}

// TestRenderInChromium renders the report in headless Chromium: the page
// loads without console errors or exceptions, the headline numbers are in
// the DOM, and a full-page screenshot is written (to the test's temp dir;
// also to $FLOWSIFT_WHATIF_PNG when set).
func TestRenderInChromium(t *testing.T) {
	bin := chromiumPath(t)
	rep := testReport(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(f, rep); err != nil {
		t.Fatal(err)
	}
	f.Close()

	// The browser profile lives outside t.TempDir: Chromium's helper
	// processes may still write to it for a moment after the browser is
	// gone, which would fail TempDir's cleanup ("directory not empty").
	profile, err := os.MkdirTemp("", "flowsift-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("could not remove the browser profile %s", profile)
	})
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-breakpad", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile), chromedp.WindowSize(1280, 900),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	var mu sync.Mutex
	var problems []string
	chromedp.ListenTarget(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError || e.Type == runtime.APITypeWarning {
				problems = append(problems, "console "+string(e.Type))
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+e.ExceptionDetails.Text)
		case *log.EventEntryAdded:
			if e.Entry.Level == log.LevelError {
				problems = append(problems, "log error: "+e.Entry.Text+" "+e.Entry.URL)
			}
		}
	})
	var png []byte
	texts := map[string]*string{}
	ids := []string{"denied-flows", "allowed-flows", "denied-peers", "total-flows", "denied-connections"}
	actions := []chromedp.Action{log.Enable(), runtime.Enable(), chromedp.Navigate("file://" + page), chromedp.WaitVisible("#denied-flows", chromedp.ByID)}
	for _, id := range ids {
		s := new(string)
		texts[id] = s
		actions = append(actions, chromedp.Text("#"+id, s, chromedp.ByID))
	}
	var rows int
	actions = append(actions, chromedp.Evaluate(`document.querySelectorAll("#denied-table tr").length`, &rows),
		chromedp.FullScreenshot(&png, 100))
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	want := map[string]string{
		"denied-flows":       group(rep.NewlyDenied.Flows),
		"allowed-flows":      group(rep.NewlyAllowed.Flows),
		"denied-peers":       group(int64(rep.NewlyDenied.Peers)),
		"total-flows":        group(rep.Totals.Flows),
		"denied-connections": group(int64(rep.NewlyDenied.Connections)),
	}
	for id, w := range want {
		if got := strings.TrimSpace(*texts[id]); got != w {
			t.Errorf("#%s: DOM has %q, report %q", id, got, w)
		}
	}
	if rows != len(rep.Denied)+1 {
		t.Errorf("denied table: %d rows, want %d", rows, len(rep.Denied)+1)
	}
	mu.Lock()
	if len(problems) > 0 {
		t.Errorf("console problems: %q", problems)
	}
	mu.Unlock()
	if len(png) < 10_000 || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("screenshot: %d bytes", len(png))
	}
	shot := filepath.Join(dir, "report.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	if p := os.Getenv("FLOWSIFT_WHATIF_PNG"); p != "" {
		os.WriteFile(p, png, 0o644)
		os.WriteFile(strings.TrimSuffix(p, ".png")+".html", mustRead(t, page), 0o644)
	}
	t.Logf("screenshot %s (%d bytes)", shot, len(png))
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
