package monitor_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hmsplatform/synclayer/internal/testenv"
	"github.com/hmsplatform/synclayer/internal/testwait"
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
	// A short token TTL: the page must renew its token to keep writing.
	var renewals atomic.Int64
	r := newRig(t, monitor.WithWrites(true), monitor.WithTitle("Management Layer"), monitor.WithStatusInterval(200*time.Millisecond),
		monitor.WithBacklog("outbox", &fakeBacklog{n: 3, oldest: time.Now().Add(-90 * time.Second)}),
		monitor.WithTokenTTL(2*time.Second), monitor.WithAuthorize(func(req *http.Request) error {
			if req.URL.Path == "/api/token" {
				renewals.Add(1)
			}
			return nil
		}))
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

	// The outbox's backlog shows with its count and the age of its oldest.
	if err := chromedp.Do(step, chromedp.WaitVisible(chromedp.CSS(`#backlogs tr[data-backlog="outbox"]`))); err != nil {
		t.Errorf("the backlog did not show: %v", err)
	}
	row, _ := chromedp.Run(step, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#backlogs tr[data-backlog="outbox"] td')].map(td => td.textContent)`))
	if len(row) != 3 || row[1] != "3" || !strings.HasSuffix(row[2], "min") {
		t.Errorf("backlog row %q, want outbox, 3 and an age in minutes", row)
	}

	// Failed and dead show apart, as in the JSON.
	var st monitor.Status
	r.get(t, "api/status", &st)
	cells, err := chromedp.Run(step, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#connectors tr[data-connector="records"] td')].map(td => td.textContent)`))
	if err != nil || len(cells) < 11 || cells[7] != fmt.Sprint(st.Connectors[1].Failed) || cells[8] != fmt.Sprint(st.Connectors[1].Dead) {
		t.Errorf("records row %q (%v), want failed %d and dead %d in columns 8 and 9", cells, err, st.Connectors[1].Failed, st.Connectors[1].Dead)
	}

	// Bulk replay: two more dead letters on records; the connector's
	// Replay… button asks for confirmation with the count, then replays
	// both, with a token the page renewed (the one it loaded with expired).
	r.deadLetters(t, "503 records down", "evt-110", "WF-110", "evt-111", "WF-111")
	bulkBtn := `#connectors tr[data-connector="records"] button.bulk-replay`
	if err := chromedp.Do(step,
		chromedp.WaitVisible(chromedp.CSS(`#feed tr[data-event="evt-111"][data-connector="records"][data-state="dead"]`)),
		chromedp.WaitVisible(chromedp.CSS(bulkBtn)),
		chromedp.Click(chromedp.CSS(bulkBtn)),
		chromedp.WaitVisible(chromedp.CSS(`#bulk`)),
		chromedp.WaitVisible(chromedp.CSS(`#bulk-count[data-count="2"]`)),
	); err != nil {
		t.Fatalf("open the bulk replay: %v", err)
	}
	text, _ := chromedp.Run(step, chromedp.TextContent(chromedp.CSS("#bulk-count")))
	if !strings.Contains(text, "2 dead letters will be replayed") {
		t.Errorf("confirmation says %q", text)
	}
	if n := r.records.written("WF-110") + r.records.written("WF-111"); n != 0 {
		t.Fatalf("replayed before the confirmation (%d writes)", n)
	}
	screenshot(t, step, shots, "dashboard-bulk-replay.png")
	testwait.For(t, 10*time.Second, func() string { return "the page to renew its token past the TTL" }, func() bool { return renewals.Load() >= 3 })
	if err := chromedp.Do(step,
		chromedp.Click(chromedp.CSS("#bulk-confirm")),
		chromedp.WaitNotVisible(chromedp.CSS("#bulk")),
		chromedp.WaitVisible(chromedp.CSS(`#feed tr[data-event="evt-110"][data-connector="records"][data-state="synced"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#feed tr[data-event="evt-111"][data-connector="records"][data-state="synced"]`)),
	); err != nil {
		t.Fatalf("confirm the bulk replay: %v", err)
	}
	if a, b := r.records.written("WF-110"), r.records.written("WF-111"); a != 1 || b != 1 {
		t.Errorf("bulk replay wrote WF-110 %d and WF-111 %d times, want once each", a, b)
	}

	// A read-only monitor of the same dispatcher shows the dead letter
	// without any action button.
	r.records.fail("still down")
	r.dispatch(t, "evt-103", "WF-103")
	roMon := newHandler(t, r.d)
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
	// The key search reads; it is the one button a viewer keeps.
	if n, _ := chromedp.Run(step, chromedp.Evaluate[int](`Array.from(document.querySelectorAll("main button")).filter(b => !b.closest("form[role=search]")).length`)); n != 0 {
		t.Errorf("read-only dashboard shows %d action buttons, want none", n)
	}

	// The freshness view finds a key: the bulk replay brought WF-110 to
	// the records partner, and the key search says it holds it.
	fresh, cancelFresh := context.WithTimeout(ctx, 20*time.Second)
	defer cancelFresh()
	if err := chromedp.Do(fresh,
		chromedp.WaitVisible(chromedp.CSS(`#freshness-section`)),
		chromedp.SetValue(chromedp.CSS(`#freshness-key`), "WF-110"),
		chromedp.Click(chromedp.CSS(`#freshness-search button`)),
		chromedp.WaitVisible(chromedp.CSS(`#holdings tr[data-connector="records"][data-state="held"]`)),
	); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#freshness-section").outerHTML`))
		t.Fatalf("freshness search: %v\n%s", err, html)
	}
}
