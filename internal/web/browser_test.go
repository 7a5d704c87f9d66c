package web_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/domain"
)

// consoleRefusal is the console's note of a form's refusal (422, 409).
var consoleRefusal = regexp.MustCompile(`^Failed to load resource: the server responded with a status of (422|409) `)

// chromiumPath is Debian's chromium, which CI installs.
const chromiumPath = "/usr/bin/chromium"

// chrome starts a headless chromium with a fresh profile, or skips the test
// when there is none: `go test ./...` must pass on a machine with only Go.
func chrome(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("browser test skipped: %s is absent (apt-get install -y chromium to run it)", chromiumPath)
	}
	ctx := chromeB(t, 90*time.Second, extra...)
	// Every page must run under the CSP without complaint: a refused script
	// or style, or an uncaught exception, fails the test.
	var mu sync.Mutex
	var bad []string
	msgs := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			// A refused form answers 422 or 409 by design, with the
			// page and its message: the browser logs the status, which
			// is no fault of the page.
			if consoleRefusal.MatchString(m.Text) {
				continue
			}
			if m.IsException() || m.Type == "error" || strings.Contains(m.Text, "Content Security Policy") {
				mu.Lock()
				bad = append(bad, m.String()+" "+m.URL)
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range bad {
			t.Errorf("browser console: %s", m)
		}
	})
	return ctx
}

// chromeB starts chromium for a test or a benchmark; its steps must be done
// within limit.
func chromeB(tb testing.TB, limit time.Duration, extra ...chromedp.ExecAllocatorOption) context.Context {
	tb.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.WindowSize(1280, 1000),
	}
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelCtx := chromedp.NewContext(actx)
	// Start the browser on a context without a deadline (a deadline on the
	// first call would bound the browser's life), then bound the steps.
	if err := chromedp.Do(bctx); err != nil {
		cancelCtx()
		cancelAlloc()
		tb.Fatalf("starting %s: %v", chromiumPath, err)
	}
	ctx, cancelTimeout := context.WithTimeout(bctx, limit)
	tb.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	return ctx
}

// signInChrome signs in through the sign-in page, as a person would.
func signInChrome(ctx context.Context, e *env, party string) error {
	// /signin, not /: a browser already signed in would be sent home.
	return chromedp.Do(ctx,
		chromedp.Navigate(e.url+"/signin"),
		chromedp.WaitVisible(css("#token")),
		chromedp.SendKeys(css("#token"), e.creds[party].Token),
		chromedp.Click(css(`form[action="/signin"] button[type=submit]`)),
		chromedp.WaitVisible(css(".signout button")),
	)
}

// signInBrowser signs in through the sign-in page, as a person would.
func signInBrowser(t *testing.T, ctx context.Context, e *env, party string) {
	t.Helper()
	if err := signInChrome(ctx, e, party); err != nil {
		t.Fatalf("signing in as %s: %v", party, err)
	}
}

// css selects the first element matching a CSS selector.
func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

// text is the rendered text of the first element matching sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// do runs the steps, writing a screenshot named name whatever happens.
func do(t *testing.T, ctx context.Context, name string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	err := chromedp.Do(ctx, steps...)
	screenshot(t, ctx, name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// screenshot writes the page to the test's artifact directory
// (go test -artifacts keeps it).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	img, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), name+".png"), img, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
}

func TestBrowserBuyerPlacesOrder(t *testing.T) {
	ctx := chrome(t)
	e := newEnv(t)
	signInBrowser(t, ctx, e, "bytedance")
	do(t, ctx, "buyer-order",
		chromedp.WaitVisible(css(".chart .uplot canvas")),
		chromedp.SetValue(css("#quantity"), "120"),
		chromedp.SetValue(css("#end_use"), "commercial_ai"),
		chromedp.Click(css(`form[action="/buyer/orders"] button[type=submit]`)),
		chromedp.WaitVisible(css("#placed .outcome")),
		chromedp.WaitVisible(css(".chart .uplot canvas")),
	)
	outcome, why := text(t, ctx, "#placed .outcome"), text(t, ctx, "#placed")
	if !regexp.MustCompile(`^(accepted|held for review|rejected)$`).MatchString(outcome) {
		t.Fatalf("decision %q", outcome)
	}
	if !strings.Contains(why, "120 × h200") {
		t.Fatalf("the decision does not describe the order: %q", why)
	}
	charts, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".chart .uplot canvas").length`))
	if err != nil || charts != 1 {
		t.Fatalf("%d outlook charts drawn after the order (%v), want 1", charts, err)
	}

	// A military end use is rejected, with the license's condition as reason.
	do(t, ctx, "buyer-rejected",
		chromedp.SetValue(css("#quantity"), "5"),
		chromedp.SetValue(css("#end_use"), "military"),
		chromedp.Click(css(`form[action="/buyer/orders"] button[type=submit]`)),
		chromedp.WaitVisible(css("#placed.decision-rejected")),
	)
	if why := text(t, ctx, "#placed"); !strings.Contains(why, "Why") || !strings.Contains(why, "5 × h200") {
		t.Fatalf("the rejection gives no reasons: %q", why)
	}
}

func TestBrowserExportAuthorityApproves(t *testing.T) {
	ctx := chrome(t)
	e := newEnv(t)
	signInBrowser(t, ctx, e, "us-commerce")
	app := "#app-" + e.pending.ID.String()
	do(t, ctx, "export-queue",
		chromedp.WaitVisible(css(app)),
		chromedp.WaitVisible(css("#cn-gauge")),
		chromedp.WaitVisible(css(app+" .hits mark")),
	)
	do(t, ctx, "export-approve",
		chromedp.Click(css(app+` button[value=approve]`)),
		chromedp.WaitVisible(css(".notice")),
	)
	if notice := text(t, ctx, ".notice"); !strings.Contains(notice, "approved") || !strings.Contains(notice, "license") {
		t.Fatalf("notice %q", notice)
	}
	a, err := e.svc.Application(context.Background(), domain.SystemActor, e.pending.ID)
	if err != nil || a.Status != domain.AppApproved {
		t.Fatalf("the application is %s (%v), want approved", a.Status, err)
	}
}

func TestBrowserAuditorVerifiesInclusion(t *testing.T) {
	ctx := chrome(t)
	e := newEnv(t)
	cp, err := e.svc.LatestCheckpoint(context.Background(), domain.SystemActor)
	if err != nil {
		t.Fatal(err)
	}
	// A record the auditor got elsewhere (an export, a party that shared it).
	rec, err := e.svc.Entry(context.Background(), domain.SystemActor, int64(cp.Size)-2)
	if err != nil {
		t.Fatal(err)
	}
	line, err := json.Marshal(map[string]any{"record": rec})
	if err != nil {
		t.Fatal(err)
	}
	signInBrowser(t, ctx, e, "auditor")
	do(t, ctx, "auditor-verified",
		chromedp.Click(css(`a[href="/auditor/verify"]`)),
		chromedp.WaitVisible(css("#record")),
		chromedp.SetValue(css("#record"), string(line)),
		chromedp.Click(css("#verify-button")),
		chromedp.WaitVisible(css("#verify-result .verdict-title")),
	)
	if verdict := text(t, ctx, "#verify-result .verdict-title"); verdict != "Verified: the record is in the log." {
		t.Fatalf("verdict %q\n%s", verdict, text(t, ctx, "#verify-result"))
	}
	if detail := text(t, ctx, "#verify-result"); !strings.Contains(detail, "checkpoint signature: valid, by test.chipgate/ledger") {
		t.Fatalf("the checkpoint's signature was not checked: %q", detail)
	}

	// One changed field and the same proof no longer leads to the root.
	rec.Action += "x"
	tampered, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "auditor-tampered",
		chromedp.SetValue(css("#record"), string(tampered)),
		chromedp.Click(css("#verify-button")),
		chromedp.WaitVisible(css("#verify-result.bad .verdict-title")),
	)
	if verdict := text(t, ctx, "#verify-result .verdict-title"); verdict != "Not verified." {
		t.Fatalf("a tampered record: verdict %q", verdict)
	}

	// The genuine record against a key of the same name that did not sign
	// the checkpoint: the browser refuses the checkpoint itself.
	_, otherKey := chipgatetest.LedgerKey(t, chipgatetest.LedgerOrigin)
	do(t, ctx, "auditor-wrong-key",
		chromedp.SetValue(css("#vkey"), otherKey),
		chromedp.SetValue(css("#record"), string(line)),
		chromedp.Click(css("#verify-button")),
		chromedp.WaitVisible(css("#verify-result.bad .verdict-title")),
	)
	if detail := text(t, ctx, "#verify-result"); !strings.Contains(detail, "no signature by test.chipgate/ledger") {
		t.Fatalf("a checkpoint under another key: %q", detail)
	}
}

func TestBrowserVendorRunsAllocation(t *testing.T) {
	ctx := chrome(t)
	e := newEnv(t)
	signInBrowser(t, ctx, e, "nvidia")
	do(t, ctx, "vendor-run",
		chromedp.SetValue(css("#periods"), "26"),
		chromedp.Click(css(`form[action="/vendor/runs"] button[type=submit]`)),
		chromedp.WaitVisible(css(".notice")),
		chromedp.WaitVisible(css(".chart .uplot canvas")),
	)
	if notice := text(t, ctx, ".notice"); !strings.HasPrefix(notice, "Run ") {
		t.Fatalf("notice %q", notice)
	}
}

func TestBrowserPhoneWidth(t *testing.T) {
	ctx := chrome(t)
	e := newEnv(t)
	for _, p := range []struct{ party, path, ready string }{
		{"bytedance", "/buyer", ".chart .uplot canvas"}, {"us-commerce", "/export", "#cn-gauge"},
		{"cn-mofcom", "/import", "#permit-h"}, {"nvidia", "/vendor", ".chart .uplot canvas"},
		{"auditor", "/auditor", "#cp-h"}, {"auditor", "/auditor/verify", "#record"},
		{"us-testlab", "/lab", "#bandwidth"}, {"carrier", "/carrier", "#event-place"},
	} {
		if err := signInChrome(ctx, e, p.party); err != nil {
			t.Fatal(err)
		}
		do(t, ctx, "phone"+strings.ReplaceAll(p.path, "/", "-"),
			chromedp.EmulateViewport(390, 844),
			chromedp.Navigate(e.url+p.path),
			chromedp.WaitVisible(css(p.ready)),
		)
		// Wide tables scroll inside their box; the page itself must not.
		overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
		if err != nil {
			t.Fatal(err)
		}
		if overflow {
			t.Errorf("%s scrolls sideways at phone width", p.path)
		}
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 1000)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBrowserKeyboard: a buyer orders with the keyboard alone — Tab to the
// quantity, type, Enter — after the skip link comes first.
func TestBrowserKeyboard(t *testing.T) {
	ctx := chrome(t)
	e := newEnv(t)
	signInBrowser(t, ctx, e, "bytedance")
	do(t, ctx, "keyboard-start", chromedp.Navigate(e.url+"/buyer"), chromedp.WaitVisible(css("#quantity")))
	focused := func() string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.activeElement.id || document.activeElement.className || document.activeElement.tagName)`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	do(t, ctx, "keyboard-tab", chromedp.KeyEvent("\t"))
	if f := focused(); f != "skip" {
		t.Fatalf("the first Tab focuses %q, want the skip link", f)
	}
	var path []string
	for range 30 {
		do(t, ctx, "keyboard-tab", chromedp.KeyEvent("\t"))
		if f := focused(); f == "quantity" {
			break
		} else {
			path = append(path, f)
		}
	}
	if f := focused(); f != "quantity" {
		t.Fatalf("Tab never reached the quantity field; it went %v", path)
	}
	do(t, ctx, "keyboard-order",
		chromedp.KeyEvent("77"),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(css("#placed .outcome")),
	)
	if why := text(t, ctx, "#placed"); !strings.Contains(why, "77 × h200") {
		t.Fatalf("the keyboard order: %q", why)
	}
}

func TestBrowserLabRecordsTest(t *testing.T) {
	ctx := chrome(t)
	e := newEnv(t)
	signInBrowser(t, ctx, e, "us-testlab")
	do(t, ctx, "lab-queue",
		chromedp.WaitVisible(css("#queue")),
		chromedp.WaitVisible(css("#lab-shipment")),
	)
	if q := text(t, ctx, "#queue"); !strings.Contains(q, e.atLab.Number) {
		t.Fatalf("the queue lacks %s: %q", e.atLab.Number, q)
	}
	do(t, ctx, "lab-test",
		chromedp.SetValue(css("#lab-shipment"), e.atLab.ID.String()),
		chromedp.SendKeys(css("#tops-8"), "1979"),
		chromedp.SendKeys(css("#tops-16"), "989.5"),
		chromedp.SendKeys(css("#bandwidth"), "4800"),
		chromedp.Click(css(`form[action="/lab/tests"] button[type=submit]`)),
		chromedp.WaitVisible(css(".notice")),
		chromedp.WaitVisible(css("#tests")),
	)
	if notice := text(t, ctx, ".notice"); !strings.Contains(notice, e.atLab.Number+" passed its test") {
		t.Fatalf("notice %q", notice)
	}
	if row := text(t, ctx, "#tests tbody tr"); !strings.Contains(row, e.atLab.Number) || !strings.Contains(row, "pass") {
		t.Fatalf("the tests table: %q", row)
	}
	if sv := e.shipmentOf(e.atLab.ID); sv.Test == nil || !sv.Test.Pass {
		t.Fatalf("the test recorded: %+v", sv.Test)
	}
}

func TestBrowserCarrierRecordsEvent(t *testing.T) {
	ctx := chrome(t)
	e := newEnv(t)
	signInBrowser(t, ctx, e, "carrier")
	do(t, ctx, "carrier-custody",
		chromedp.WaitVisible(css("#custody")),
		chromedp.WaitVisible(css("#event-shipment")),
	)
	// Later than the events the env recorded, so that it heads the table.
	e.clock.Add(time.Minute)
	do(t, ctx, "carrier-event",
		chromedp.SetValue(css("#event-shipment"), e.inTransit.ID.String()),
		chromedp.SetValue(css("#event-kind"), "arrived"),
		chromedp.SendKeys(css("#event-country"), "US"),
		chromedp.SendKeys(css("#event-place"), "Los Angeles air cargo"),
		chromedp.Click(css(`form[action="/carrier/events"] button[type=submit]`)),
		chromedp.WaitVisible(css(".notice")),
	)
	if notice := text(t, ctx, ".notice"); !strings.Contains(notice, e.inTransit.Number+": Arrived at a stop in US recorded") {
		t.Fatalf("notice %q", notice)
	}
	if row := text(t, ctx, "#events tbody tr"); !strings.Contains(row, "Los Angeles air cargo") || !strings.Contains(row, e.inTransit.Number) {
		t.Fatalf("the newest event: %q", row)
	}
	if sv := e.shipmentOf(e.inTransit.ID); sv.Status != domain.ShipArrived {
		t.Fatalf("the shipment is %s, want arrived", sv.Status)
	}
}

// TestBrowserLabKeyboard: the lab records a test with the keyboard alone —
// Tab to the first throughput field, type, Tab through the next fields,
// Enter.
func TestBrowserLabKeyboard(t *testing.T) {
	ctx := chrome(t)
	e := newEnv(t)
	signInBrowser(t, ctx, e, "us-testlab")
	do(t, ctx, "lab-keyboard-start", chromedp.Navigate(e.url+"/lab"), chromedp.WaitVisible(css("#tops-8")))
	focused := func() string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.activeElement.id || document.activeElement.tagName)`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	var path []string
	for range 20 {
		if err := chromedp.Do(ctx, chromedp.KeyEvent("\t")); err != nil {
			t.Fatal(err)
		}
		if f := focused(); f == "tops-8" {
			break
		} else {
			path = append(path, f)
		}
	}
	if f := focused(); f != "tops-8" {
		t.Fatalf("Tab never reached the 8-bit throughput field; it went %v", path)
	}
	if !slices.Contains(path, "lab-shipment") {
		t.Errorf("Tab skipped the shipment choice: %v", path)
	}
	do(t, ctx, "lab-keyboard-test",
		chromedp.KeyEvent("1979\t989.5\t"),
	)
	if f := focused(); f != "bandwidth" {
		t.Fatalf("after the throughput fields the focus is on %q, want the bandwidth", f)
	}
	// The shipment chosen is the one Tab passed over: the first in the
	// lab's queue (the demo story's, which arrived first).
	chosen, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#lab-shipment").selectedOptions[0].textContent`))
	if err != nil {
		t.Fatal(err)
	}
	number, _, _ := strings.Cut(chosen, " · ")
	if !strings.HasPrefix(number, "SH-") {
		t.Fatalf("the shipment chosen: %q", chosen)
	}
	do(t, ctx, "lab-keyboard-done",
		chromedp.KeyEvent("4800\r"),
		chromedp.WaitVisible(css(".notice")),
	)
	if notice := text(t, ctx, ".notice"); !strings.Contains(notice, number+" passed its test") {
		t.Fatalf("notice %q, want %s passed", notice, number)
	}
}

// TestBrowserVendorShips: the vendor ships units of an accepted order from
// the form, reaching its fields in order with Tab, and sees the shipment
// with its invoice total.
func TestBrowserVendorShips(t *testing.T) {
	ctx := chrome(t)
	e := newEnv(t)
	orders, err := e.svc.Orders(context.Background(), e.actor("nvidia"), []string{string(domain.OrderAccepted)})
	if err != nil || len(orders) == 0 {
		t.Fatalf("no accepted order: %v", err)
	}
	order := orders[0]
	signInBrowser(t, ctx, e, "nvidia")
	// Later than the shipments the env made, so that it heads the table.
	e.clock.Add(time.Minute)
	do(t, ctx, "vendor-ship-form",
		chromedp.Navigate(e.url+"/vendor"),
		chromedp.WaitVisible(css("#ship-order")),
		chromedp.SetValue(css("#ship-order"), order.ID.String()),
		chromedp.Focus(css("#ship-order")),
	)
	var path []string
	for range 6 {
		if err := chromedp.Do(ctx, chromedp.KeyEvent("\t")); err != nil {
			t.Fatal(err)
		}
		id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`))
		if err != nil {
			t.Fatal(err)
		}
		path = append(path, id)
	}
	if want := []string{"ship-lot", "ship-value", "ship-currency", "ship-carriers", "ship-lab", "ship-serials"}; !slices.Equal(path, want) {
		t.Fatalf("Tab from the order went %v, want %v", path, want)
	}
	do(t, ctx, "vendor-ship-serials",
		chromedp.KeyEvent("SN-B-1\rSN-B-2\r"),
		chromedp.WaitVisible(css("#ship-serials-count")),
	)
	if n := text(t, ctx, "#ship-serials-count"); n != "2 serial numbers read." {
		t.Fatalf("the count under the serial numbers: %q", n)
	}
	do(t, ctx, "vendor-ship",
		chromedp.SendKeys(css("#ship-value"), "30000.00"),
		chromedp.SendKeys(css("#ship-carriers"), "carrier"),
		chromedp.SendKeys(css("#ship-lab"), "us-testlab"),
		chromedp.Click(css(`form[action="/vendor/shipments"] button[type=submit]`)),
		chromedp.WaitVisible(css("#shipped")),
	)
	shipped := text(t, ctx, "#shipped")
	if !strings.Contains(shipped, "USD 60,000.00") || !strings.Contains(shipped, "2 × h200") || !strings.Contains(shipped, order.Buyer) {
		t.Fatalf("the shipment shown: %q", shipped)
	}
	if notice := text(t, ctx, ".notice"); !strings.Contains(notice, "(2 serial numbers read)") {
		t.Fatalf("notice %q", notice)
	}
	number := strings.Fields(text(t, ctx, "#shipped-h"))[1]
	if row := text(t, ctx, "#shipments tbody tr"); !strings.Contains(row, number) {
		t.Fatalf("the newest shipment row %q is not %s", row, number)
	}
}
