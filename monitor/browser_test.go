package monitor_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hmsplatform/synclayer/internal/testenv"
	"github.com/hmsplatform/synclayer/monitor"
)

// chromium is the browser the dashboard test drives (SYNCLAYER_CHROMIUM
// overrides).
func chromium(t *testing.T) string {
	path := os.Getenv("SYNCLAYER_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		testenv.Unavailable(t, "Chromium at "+path+" (apt-get install chromium chromium-driver, or set SYNCLAYER_CHROMIUM)", err)
	}
	return path
}

// browser starts a headless Chromium and returns a tab's context.
func browser(t *testing.T) context.Context {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1360, 900),
	)
	ctx, cancelCtx := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		_ = chromedp.Cancel(ctx)
		cancelCtx()
		cancelAlloc()
	})
	// Start the browser now, on a context without a deadline.
	if err := chromedp.Do(ctx); err != nil {
		testenv.Unavailable(t, "Chromium", err)
	}
	return ctx
}

// screenshot saves a PNG of the whole page in dir and, when
// SYNCLAYER_SCREENSHOT_DIR is set, there too.
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	for _, d := range []string{dir, os.Getenv("SYNCLAYER_SCREENSHOT_DIR")} {
		if d == "" {
			continue
		}
		p := filepath.Join(d, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}
}

// The dashboard, in a real browser: a failure appears live, in red, with
// its error (a partner's "<script>" shown as text, never run); replay turns
// it green.
func TestDashboardInBrowser(t *testing.T) {
	r := newRig(t, monitor.WithWrites(true), monitor.WithTitle("Management Layer"), monitor.WithStatusInterval(200*time.Millisecond))
	ctx := browser(t)
	step, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	shots := t.TempDir()

	// Some history, then the page.
	r.dispatch(t, "evt-100", "WF-100")
	r.dispatch(t, "evt-101", "WF-101")
	if err := chromedp.Do(step,
		chromedp.Navigate(r.url("")),
		chromedp.WaitVisible(chromedp.CSS("#live.on")),
		chromedp.WaitVisible(chromedp.CSS(`#connectors tr[data-connector="records"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#feed tr[data-event="evt-101"][data-connector="records"][data-state="synced"]`)),
	); err != nil {
		t.Fatalf("load the dashboard: %v", err)
	}

	// A partner fails with markup in its error; the row appears live.
	const evil = `<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> 422 start date is before the end date`
	r.records.fail(evil)
	r.dispatch(t, "evt-102", "WF-102")
	deadRow := `#feed tr[data-event="evt-102"][data-connector="records"]`
	if err := chromedp.Do(step,
		chromedp.WaitVisible(chromedp.CSS(deadRow+`[data-state="dead"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#connectors tr[data-connector="records"] td.bad`)),
	); err != nil {
		t.Fatalf("the failure did not appear live: %v", err)
	}
	class, err := chromedp.Run(step, chromedp.Evaluate[string](`document.querySelector('`+deadRow+`').className`))
	if err != nil || !strings.Contains(class, "bad") {
		t.Errorf("failed row class %q (%v), want it red (bad)", class, err)
	}
	color, err := chromedp.Run(step, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('`+deadRow+` .badge')).backgroundColor`))
	if err != nil || color != "rgb(207, 34, 46)" {
		t.Errorf("failed badge colour %q (%v), want red rgb(207, 34, 46)", color, err)
	}

	// The error shows on click, as text.
	if err := chromedp.Do(step,
		chromedp.Click(chromedp.CSS(deadRow+` td.name`)),
		chromedp.WaitVisible(chromedp.CSS("#detail")),
	); err != nil {
		t.Fatalf("open the error: %v", err)
	}
	if err := chromedp.Do(step, chromedp.WaitVisible(chromedp.CSS("#detail-outcome li:nth-child(2)"))); err != nil {
		t.Errorf("the event's outcome on every connector did not show: %v", err)
	}
	outcome, _ := chromedp.Run(step, chromedp.TextContent(chromedp.CSS("#detail-outcome")))
	if !strings.Contains(outcome, "calendarsynced") || !strings.Contains(outcome, "recordsdead letter") {
		t.Errorf("event outcome %q, want calendar synced and records dead", outcome)
	}
	shown, err := chromedp.Run(step, chromedp.TextContent(chromedp.CSS("#detail-error")))
	if err != nil || !strings.Contains(shown, evil) {
		t.Errorf("detail error %q (%v), want it to show %q as text", shown, err, evil)
	}
	screenshot(t, step, shots, "dashboard-failure.png")
	injected, err := chromedp.Run(step, chromedp.Evaluate[bool](`window.__pwned !== undefined || document.querySelector('main script, main img, #detail script, #detail img') !== null`))
	if err != nil || injected {
		t.Fatalf("the partner's markup ran or was parsed (injected=%v, err=%v)", injected, err)
	}

	// The partner recovers; replay from the row turns it green.
	r.records.fail("")
	if err := chromedp.Do(step,
		chromedp.Click(chromedp.CSS("#detail-replay")),
		chromedp.WaitVisible(chromedp.CSS(deadRow+`[data-state="synced"]`)),
		chromedp.WaitVisible(chromedp.CSS("#toast")),
	); err != nil {
		t.Fatalf("replay: %v", err)
	}
	class, _ = chromedp.Run(step, chromedp.Evaluate[string](`document.querySelector('`+deadRow+`').className`))
	if !strings.Contains(class, "good") {
		t.Errorf("replayed row class %q, want it green (good)", class)
	}
	color, _ = chromedp.Run(step, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('`+deadRow+` .badge')).color`))
	if color != "rgb(26, 127, 55)" {
		t.Errorf("replayed badge colour %q, want green rgb(26, 127, 55)", color)
	}
	toast, _ := chromedp.Run(step, chromedp.TextContent(chromedp.CSS("#toast")))
	if !strings.Contains(toast, "synced") {
		t.Errorf("toast %q", toast)
	}
	if err := chromedp.Do(step, chromedp.WaitVisible(chromedp.CSS(`#detail-error.dim`))); err != nil {
		t.Errorf("the open detail did not follow the replay: %v", err)
	}
	screenshot(t, step, shots, "dashboard-replayed.png")
	if err := chromedp.Do(step, chromedp.Click(chromedp.CSS("#detail-close")), chromedp.WaitNotVisible(chromedp.CSS("#detail"))); err != nil {
		t.Errorf("close the detail: %v", err)
	}
	screenshot(t, step, shots, "dashboard.png")
	if n := r.records.written("WF-102"); n != 1 {
		t.Errorf("records wrote WF-102 %d times, want 1", n)
	}
	if injected, _ := chromedp.Run(step, chromedp.Evaluate[bool](`window.__pwned !== undefined`)); injected {
		t.Error("the partner's script ran")
	}

	// A read-only monitor of the same dispatcher shows the dead letter
	// without any action button.
	r.records.fail("still down")
	r.dispatch(t, "evt-103", "WF-103")
	roMon := monitor.New(r.d)
	ro := httptest.NewServer(roMon)
	defer ro.Close()
	defer roMon.Close() // first: ends the page's live stream, so ro.Close need not wait for it
	if err := chromedp.Do(step,
		chromedp.Navigate(ro.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#feed tr[data-event="evt-103"][data-connector="records"][data-state="dead"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#connectors tr[data-connector="records"]`)),
	); err != nil {
		t.Fatalf("read-only dashboard: %v", err)
	}
	if n, _ := chromedp.Run(step, chromedp.Evaluate[int](`document.querySelectorAll("main button").length`)); n != 0 {
		t.Errorf("read-only dashboard shows %d buttons, want none", n)
	}
}
