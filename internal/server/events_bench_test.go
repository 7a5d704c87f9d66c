package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// BenchmarkPlaceOrderWebhooks places orders one at a time (as
// BenchmarkPlaceOrderSerial) while the delivery worker runs with 0 or 10
// subscriptions of the vendor to order.decided, each to a receiver on the
// loopback interface that answers 204 at once; the worker has serve's
// settings. The command writes nothing
// for the events (the ledger record it always wrote is the outbox), so
// the difference is what the worker's reads, posts and cursor writes take
// from the same machine and database. It reports the orders' mean latency
// and, with subscriptions, the events delivered per second until every
// subscription has every order.
func BenchmarkPlaceOrderWebhooks(b *testing.B) {
	for _, subs := range []int{0, 10} {
		b.Run("subscriptions="+strconv.Itoa(subs), func(b *testing.B) {
			e := newBenchEnv(b)
			ctx := context.Background()
			var delivered atomic.Int64
			rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				delivered.Add(1)
				w.WriteHeader(http.StatusNoContent)
			}))
			defer rc.Close()
			vendor, err := e.svc.Authenticate(ctx, e.creds["nvidia"].Token)
			if err != nil {
				b.Fatal(err)
			}
			for range subs {
				if _, err := e.svc.CreateWebhook(ctx, vendor, service.WebhookRequest{URL: rc.URL, Types: []string{"order.decided"}}); err != nil {
					b.Fatal(err)
				}
			}
			// The worker runs with serve's defaults (it looks for new
			// records every 500 ms), not the test kit's quick pace.
			worker := service.New(e.st, service.Options{Log: chipgatetest.QuietLog(), Policy: chipgatetest.Policy(b),
				Webhooks: service.WebhookOptions{Key: []byte(chipgatetest.WebhookKey), AllowPrivate: true}})
			wctx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); worker.RunWebhooks(wctx) }()
			defer func() { stop(); <-done }()
			who, err := e.svc.Authenticate(ctx, e.creds["bytedance"].Token)
			if err != nil {
				b.Fatal(err)
			}
			req := service.OrderRequest{Product: "h200", Quantity: 1, Period: "2026-03-02", EndUse: "commercial_ai"}
			start := time.Now()
			b.ResetTimer()
			for b.Loop() {
				o, err := e.svc.PlaceOrder(ctx, who, req)
				if err != nil || o.Status != domain.OrderAccepted {
					b.Fatalf("order %s: %v", o.Status, err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/order")
			if subs == 0 {
				return
			}
			want := int64(subs * b.N)
			deadline := time.Now().Add(2 * time.Minute)
			for delivered.Load() < want && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if got := delivered.Load(); got < want {
				b.Fatalf("%d of %d events delivered in 2 minutes", got, want)
			}
			b.ReportMetric(float64(want)/time.Since(start).Seconds(), "events/s")
		})
	}
}
