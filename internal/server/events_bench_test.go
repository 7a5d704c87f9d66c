package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// webhookBench is a bench env whose vendor has 10 subscriptions to
// order.decided, each to a receiver on the loopback interface that
// answers 204 at once, and a worker with serve's settings (it looks for
// new records every 500 ms) that the benchmark starts and stops.
type webhookBench struct {
	*env
	delivered atomic.Int64
	worker    *service.Service
	buyer     domain.Actor
}

const benchSubscriptions = 10

func newWebhookBench(b *testing.B) *webhookBench {
	e := &webhookBench{env: newBenchEnv(b)}
	ctx := context.Background()
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		e.delivered.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(rc.Close)
	vendor, err := e.svc.Authenticate(ctx, e.creds["nvidia"].Token)
	if err != nil {
		b.Fatal(err)
	}
	for range benchSubscriptions {
		if _, err := e.svc.CreateWebhook(ctx, vendor, service.WebhookRequest{URL: rc.URL, Types: []string{"order.decided"}}); err != nil {
			b.Fatal(err)
		}
	}
	e.worker = service.New(e.st, service.Options{Log: chipgatetest.QuietLog(), Policy: chipgatetest.Policy(b),
		Webhooks: service.WebhookOptions{Key: []byte(chipgatetest.WebhookKey), AllowPrivate: true}})
	if e.buyer, err = e.svc.Authenticate(ctx, e.creds["bytedance"].Token); err != nil {
		b.Fatal(err)
	}
	return e
}

// start runs the worker until the returned stop is called.
func (e *webhookBench) start() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.worker.RunWebhooks(ctx) }()
	return func() { cancel(); <-done }
}

func (e *webhookBench) order(b *testing.B) {
	o, err := e.svc.PlaceOrder(context.Background(), e.buyer, service.OrderRequest{Product: "h200", Quantity: 1, Period: "2026-03-02", EndUse: "commercial_ai"})
	if err != nil || o.Status != domain.OrderAccepted {
		b.Fatalf("order %s: %v", o.Status, err)
	}
}

// BenchmarkPlaceOrderWebhooks places orders one at a time (as
// BenchmarkPlaceOrderSerial) in blocks of 20, alternately with the
// delivery worker running (delivering each order to 10 subscriptions)
// and stopped, on one database, so that a busy machine slows both alike.
// The command itself writes nothing for the events (its ledger record is
// the outbox); what differs is what the worker's reads, posts and cursor
// writes take from the same cores and database. It reports each kind's
// mean latency and the worker's share ("worker-%").
func BenchmarkPlaceOrderWebhooks(b *testing.B) {
	e := newWebhookBench(b)
	var spent [2]time.Duration
	var count [2]int
	stop := func() {}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		on := (i/20)%2 == 1
		if i%20 == 0 {
			b.StopTimer()
			stop()
			stop = func() {}
			if on {
				stop = e.start()
			}
			b.StartTimer()
		}
		t0 := time.Now()
		e.order(b)
		k := 0
		if on {
			k = 1
		}
		spent[k] += time.Since(t0)
		count[k]++
	}
	b.StopTimer()
	stop()
	if count[0] > 0 && count[1] > 0 {
		off, on := float64(spent[0].Microseconds())/float64(count[0]), float64(spent[1].Microseconds())/float64(count[1])
		b.ReportMetric(off, "idle-µs/order")
		b.ReportMetric(on, "delivering-µs/order")
		b.ReportMetric(100*(on-off)/off, "worker-%")
	}
}

// BenchmarkWebhookDelivery measures the worker's throughput: b.N orders
// are placed with the worker stopped, then it delivers each to the 10
// subscriptions; it reports events delivered per second (b.N × 10 over
// the time until the last one).
func BenchmarkWebhookDelivery(b *testing.B) {
	e := newWebhookBench(b)
	n := 0
	for b.Loop() {
		b.StopTimer()
		e.order(b)
		n++
		b.StartTimer()
	}
	want := int64(n * benchSubscriptions)
	t0 := time.Now()
	stop := e.start()
	defer stop()
	for e.delivered.Load() < want && time.Since(t0) < 5*time.Minute {
		time.Sleep(time.Millisecond)
	}
	if got := e.delivered.Load(); got < want {
		b.Fatalf("%d of %d events delivered", got, want)
	}
	b.ReportMetric(float64(want)/time.Since(t0).Seconds(), "events/s")
}
