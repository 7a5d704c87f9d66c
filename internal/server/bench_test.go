package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// BenchmarkPlaceOrderHTTP measures durable order decisions over HTTP on
// SQLite: each request authenticates, decides under the policy, depletes the
// license and permit, and commits its order, audit record and ledger leaf.
// Run with -cpu 2 and -benchtime; the loadgen command measures the same with
// a separate client process (docs/BENCHMARKS.md).
func BenchmarkPlaceOrderHTTP(b *testing.B) {
	e := newBenchEnv(b)
	buyers := []string{"us-cloud-a", "bytedance", "alibaba"}
	var n atomic.Int64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(4) // 4 × GOMAXPROCS(2) = 8 concurrent clients
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			buyer := buyers[n.Add(1)%3]
			req, _ := http.NewRequest("POST", e.url+"/api/v1/orders", bytes.NewReader([]byte(`{"product":"h200","quantity":1,"requested_period":"2026-03-02","end_use":"commercial_ai"}`)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+e.creds[buyer].Token)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 201 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
}

// BenchmarkPlaceOrderSerial is one order command at a time, without HTTP:
// the latency of the command itself (decision, depletion, commit with its
// audit record). Set beside BenchmarkCommandLedgerCost's absolute cost of a
// record, it gives the ledger's share of an order's latency.
func BenchmarkPlaceOrderSerial(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	who, err := e.svc.Authenticate(ctx, e.creds["bytedance"].Token)
	if err != nil {
		b.Fatal(err)
	}
	req := service.OrderRequest{Product: "h200", Quantity: 1, Period: "2026-03-02", EndUse: "commercial_ai"}
	b.ResetTimer()
	for b.Loop() {
		o, err := e.svc.PlaceOrder(ctx, who, req)
		if err != nil || o.Status != domain.OrderAccepted {
			b.Fatalf("order %s: %v", o.Status, err)
		}
	}
}

// BenchmarkIssueTokenHTTP is the smallest command over the API, one at a
// time: a buyer issues itself a token (one row and its audit record). Set
// beside BenchmarkCommandLedgerCost's cost of a record, it gives the
// ledger's share of the smallest command's latency as a client sees it.
func BenchmarkIssueTokenHTTP(b *testing.B) {
	e := newBenchEnv(b)
	client := &http.Client{}
	body := []byte(`{"label":"bench"}`)
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest("POST", e.url+"/api/v1/tokens", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+e.creds["alibaba"].Token)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

// BenchmarkBareSQLiteInsert is the floor to compare with: the same row
// count inserted into a bare table with the same durability
// (synchronous=FULL, one transaction per row), 8 writers.
func BenchmarkBareSQLiteInsert(b *testing.B) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(b.TempDir(), "bare.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(5000)&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("CREATE TABLE orders (id TEXT PRIMARY KEY, doc BLOB NOT NULL)"); err != nil {
		b.Fatal(err)
	}
	doc := bytes.Repeat([]byte("x"), 1500) // about an order document's size
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tx, err := db.BeginTx(context.Background(), nil)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := tx.Exec("INSERT INTO orders (id, doc) VALUES (?, ?)", uuid.NewString(), doc); err != nil {
				b.Error(err)
				return
			}
			if err := tx.Commit(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// newBenchEnv is newEnv with the fixtures of the order tests and licenses
// large enough for any benchmark run.
func newBenchEnv(b *testing.B) *env {
	b.Helper()
	e := newEnv(b, storetest.Backends()[0])
	e.apply("us-cloud-a")
	for _, buyer := range []string{"bytedance", "alibaba"} {
		e.approve(e.apply(buyer), 10_000_000)
		e.permit(buyer, 10_000_000)
	}
	// US units first, so the CN cap has room for the whole run.
	e.must("us-cloud-a", "POST", "/api/v1/orders", map[string]any{"product": "h200", "quantity": 9_000_000, "requested_period": "2026-03-02", "end_use": "commercial_ai"}, 201)
	return e
}

// BenchmarkTokenDuringAllocation is the smallest command's latency over
// HTTP (a buyer issues itself a token) alone ("quiet") and while the vendor
// runs allocation after allocation over 20,000 accepted orders
// (CHIPGATE_BENCH_ORDERS sets another count; placing them through the
// service takes most of the benchmark's time) ("during-run"): a run solves on a snapshot outside the write transaction,
// so a command should not wait for it. It reports the median and p99
// latency of each, and the tokens refused with 503 because the writer was
// held past the command's deadline.
func BenchmarkTokenDuringAllocation(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("CHIPGATE_BENCH_ORDERS")); err == nil && v > 0 {
		n = v
	}
	t0 := time.Now()
	seedAcceptedOrders(b, e, n)
	b.Logf("%d orders placed in %s", n, time.Since(t0).Round(time.Second))
	vendor, err := e.svc.Authenticate(ctx, e.creds["nvidia"].Token)
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{}
	// busy counts the tokens refused with 503 because the writer was held
	// past the command's deadline.
	busy := 0
	issue := func() time.Duration {
		t0 := time.Now()
		req, _ := http.NewRequest("POST", e.url+"/api/v1/tokens", bytes.NewReader([]byte(`{"label":"bench"}`)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+e.creds["alibaba"].Token)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusCreated:
		case http.StatusServiceUnavailable:
			busy++
		default:
			b.Fatalf("status %d", resp.StatusCode)
		}
		return time.Since(t0)
	}
	measure := func(b *testing.B) {
		busy = 0
		var lat []time.Duration
		for b.Loop() {
			lat = append(lat, issue())
			time.Sleep(5 * time.Millisecond) // a person's pace, not a flood
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(busy), "503s")
	}
	b.Run("quiet", measure)
	b.Run("during-run", func(b *testing.B) {
		stop := make(chan struct{})
		done := make(chan int)
		go func() {
			runs := 0
			defer func() { done <- runs }()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := e.svc.RunAllocation(ctx, vendor, service.AllocationRunRequest{Start: "2026-02-02"}); err != nil {
					b.Error(err)
					return
				}
				runs++
			}
		}()
		measure(b)
		close(stop)
		b.ReportMetric(float64(<-done), "runs")
	})
}

// seedAcceptedOrders has the env's buyers place n orders through the
// service (so that every row is bound to its record, as the write path
// checks), four at a time.
func seedAcceptedOrders(b *testing.B, e *env, n int) {
	b.Helper()
	ctx := context.Background()
	buyers := []string{"bytedance", "alibaba", "us-cloud-a"}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := int(next.Add(1)); i <= n; i = int(next.Add(1)) {
				who, err := e.svc.Authenticate(ctx, e.creds[buyers[i%len(buyers)]].Token)
				if err != nil {
					b.Error(err)
					return
				}
				o, err := e.svc.PlaceOrder(ctx, who, service.OrderRequest{Product: "h200", Quantity: int64(1 + i%20), Period: "2026-03-02", EndUse: "commercial_ai"})
				if err != nil || o.Status != domain.OrderAccepted {
					b.Errorf("order %d: %s %v", i, o.Status, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
