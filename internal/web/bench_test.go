package web_test

import (
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// BenchmarkPages measures each role's page end to end over HTTP on the demo
// data and its story: the session check, the service reads and the template.
// docs/BENCHMARKS.md has the figures.
func BenchmarkPages(b *testing.B) {
	e := newEnv(b)
	benchPages(b, e, []benchPage{
		{"/buyer", "bytedance"}, {"/export", "us-commerce"}, {"/import", "cn-mofcom"}, {"/vendor", "nvidia"},
		{"/auditor", "auditor"}, {"/auditor/verify", "auditor"}, {"/lab", "us-testlab"}, {"/carrier", "carrier"},
		{"/csv/buyer/orders.csv", "bytedance"}, {"/csv/export/licenses.csv", "us-commerce"},
		{"/csv/buyer/shipments.csv", "bytedance"}, {"/csv/export/duty.csv", "us-commerce"}, {"/csv/lab/queue.csv", "us-testlab"},
	})
}

// BenchmarkBrowserPages measures what a person waits for: from navigation
// to the page drawn in headless chromium (charts included), each page
// loaded afresh. It needs /usr/bin/chromium.
func BenchmarkBrowserPages(b *testing.B) {
	if _, err := os.Stat(chromiumPath); err != nil {
		b.Skipf("%s is absent", chromiumPath)
	}
	e := newEnv(b)
	for _, p := range []struct{ path, party, ready string }{
		{"/buyer", "bytedance", ".chart .uplot canvas"}, {"/export", "us-commerce", "#cn-gauge"},
		{"/import", "cn-mofcom", "#permit-h"}, {"/vendor", "nvidia", ".chart .uplot canvas"},
		{"/auditor/verify", "auditor", "#record"}, {"/lab", "us-testlab", "#bandwidth"}, {"/carrier", "carrier", "#event-place"},
	} {
		b.Run(p.path, func(b *testing.B) {
			// Loose: b.N navigations on a loaded machine take minutes.
			ctx := chromeB(b, 15*time.Minute)
			if err := signInChrome(ctx, e, p.party); err != nil {
				b.Fatal(err)
			}
			// ns/op includes chromedp's round trips; the page's own
			// Navigation Timing says when the browser had the response,
			// the DOM and the load event (deferred scripts, charts drawn).
			var resp, dom, load float64
			for b.Loop() {
				if err := chromedp.Do(ctx, chromedp.Navigate(e.url+p.path), chromedp.WaitVisible(css(p.ready))); err != nil {
					b.Fatal(err)
				}
				nt, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => { const n = performance.getEntriesByType("navigation")[0]; return [n.responseEnd, n.domContentLoadedEventEnd, n.loadEventEnd]; })()`))
				if err != nil || len(nt) != 3 {
					b.Fatalf("navigation timing: %v %v", nt, err)
				}
				resp, dom, load = resp+nt[0], dom+nt[1], load+nt[2]
			}
			n := float64(b.N)
			b.ReportMetric(resp/n, "response-ms")
			b.ReportMetric(dom/n, "dom-ms")
			b.ReportMetric(load/n, "load-ms")
		})
	}
}

// BenchmarkPagesManyShipments measures the pages that list shipments when
// there are many: 400 more shipments of two units, half of them cleared in
// the US and waiting at the lab (each with its duty and queue ETA), on top
// of the demo data. docs/BENCHMARKS.md has the figures.
func BenchmarkPagesManyShipments(b *testing.B) {
	e := newEnv(b)
	buyers := []string{"bytedance", "alibaba", "tencent", "us-cloud-a", "us-cloud-b"}
	for i := range 400 {
		sh := e.ship(buyers[i%len(buyers)], 2)
		if i%2 == 0 {
			e.move(sh, "picked_up TW", "arrived US", "customs_cleared US")
		}
	}
	benchPages(b, e, []benchPage{
		{"/lab", "us-testlab"}, {"/carrier", "carrier"}, {"/vendor", "nvidia"}, {"/buyer", "bytedance"}, {"/export", "us-commerce"},
	})
}

// benchPage is a dashboard page and the party that reads it.
type benchPage struct{ path, party string }

// benchPages measures GET of each page over HTTP as its party, signed in
// once per page.
func benchPages(b *testing.B, e *env, pages []benchPage) {
	for _, p := range pages {
		br := e.browser()
		br.signIn(p.party)
		b.Run(p.path, func(b *testing.B) {
			for b.Loop() {
				if r := br.get(p.path); r.status != http.StatusOK {
					b.Fatalf("%s: %d", p.path, r.status)
				}
			}
		})
	}
}
