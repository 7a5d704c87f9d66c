package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// send is do for many goroutines: it returns an error instead of failing
// the test, and sets an Idempotency-Key when key is not empty.
//
// A 503 (the database busy past the request's deadline, which a machine
// loaded by the race detector can reach) is retried as a client would: with
// the same Idempotency-Key (a fresh one when key is ""), so that a command
// is carried out once whatever the retries.
func (e *env) send(party, method, path string, body any, key string) (int, []byte, error) {
	if key == "" && method != "GET" {
		key = "retry-" + newKey()
	}
	for attempt := 1; ; attempt++ {
		r, err := e.api.Send(party, method, path, body, chipgatetest.IdempotencyKey(key))
		if err != nil || r.Status != http.StatusServiceUnavailable || attempt == 5 {
			return r.Status, r.Body, err
		}
		time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
	}
}

// newKey returns a random idempotency key.
func newKey() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// parallel runs fn(i) for i in [0, n) on n goroutines released at once, and
// fails the test with the first error any returned.
func parallel(t *testing.T, n int, fn func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if err := fn(i); err != nil {
				errs <- err
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// actionsSince counts the audit records from index from on, by action.
func (e *env) actionsSince(from int64) map[string]int {
	e.t.Helper()
	out := map[string]int{}
	ctx := context.Background()
	if err := e.st.View(ctx, func(tx store.Tx) error {
		n, err := tx.AuditSize(ctx)
		if err != nil {
			return err
		}
		recs, err := tx.AuditRecords(ctx, from, n)
		for _, r := range recs {
			out[r.Action]++
		}
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// shipmentsOf lists the shipments of an order.
func (e *env) shipmentsOf(order string) []domain.Shipment {
	e.t.Helper()
	_, raw, _ := e.do("nvidia", "GET", "/api/v1/shipments?limit=500", nil)
	var all []domain.Shipment
	if err := jsonItems(raw, &all); err != nil {
		e.t.Fatalf("shipments: %v", err)
	}
	var out []domain.Shipment
	for _, sh := range all {
		if sh.OrderID.String() == order {
			out = append(out, sh)
		}
	}
	return out
}

func shipmentBody(order, lot string, n int) map[string]any {
	return map[string]any{"order": order, "lot": lot, "serials": serials(n), "unit_value": map[string]any{"minor": 3_000_000, "currency": "USD"}, "carriers": []string{"carrier"}, "lab": "us-testlab"}
}

// TestLotUnderConcurrentShipments: 300 clients ship 1 to 3 units each from
// one 100-unit lot for three orders at once. The lot never gives more than
// it holds: the units acknowledged are the units in the shipments, each
// order counts its own, and what is left of the lot ships and no more.
func TestLotUnderConcurrentShipments(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.usCustomer()
		e.must("nvidia", "POST", "/api/v1/lots", map[string]any{"product": "h200", "number": "TW-RACE-1", "quantity": 100, "origin": "TW", "made_on": "2026-01-01", "available_on": "2026-01-15"}, 201)
		var orders []string
		for range 3 {
			orders = append(orders, e.order("us-cloud-a", "h200", 200, "commercial_ai")["id"].(string))
		}
		var acked atomic.Int64
		perOrder := make([]atomic.Int64, len(orders))
		parallel(t, 300, func(i int) error {
			n := 1 + i%3
			status, body, err := e.send("nvidia", "POST", "/api/v1/shipments", shipmentBody(orders[i%3], "TW-RACE-1", n), "")
			switch {
			case err != nil:
				return err
			case status == 201:
				acked.Add(int64(n))
				perOrder[i%3].Add(int64(n))
			case status != 409 || !strings.Contains(string(body), "lot has"):
				return fmt.Errorf("shipment: %d %s", status, body)
			}
			return nil
		})
		var inShipments int64
		for k, o := range orders {
			var sum int64
			for _, sh := range e.shipmentsOf(o) {
				sum += sh.Quantity
			}
			got := e.must("nvidia", "GET", "/api/v1/orders/"+o, nil, 200)["shipped"].(float64)
			if sum != perOrder[k].Load() || int64(got) != sum {
				t.Errorf("order %d: %d units acknowledged, %d in shipments, the order says %v", k, perOrder[k].Load(), sum, got)
			}
			inShipments += sum
		}
		if acked.Load() > 100 || inShipments != acked.Load() {
			t.Fatalf("a 100-unit lot: %d units acknowledged, %d in shipments", acked.Load(), inShipments)
		}
		if left := int(100 - acked.Load()); left > 0 {
			e.must("nvidia", "POST", "/api/v1/shipments", shipmentBody(orders[0], "TW-RACE-1", left), 201)
		}
		if status, body, _ := e.do("nvidia", "POST", "/api/v1/shipments", shipmentBody(orders[1], "TW-RACE-1", 1)); status != 409 || !strings.Contains(string(body), "0 of 100 units left") {
			t.Fatalf("one unit beyond the lot: %d %s", status, body)
		}
	})
}

// TestExportAndImportChecksUnderConcurrency: 200 one-unit Chinese
// shipments of two buyers, tested and waiting in the US, leave at once
// against a CN+MO cap with room for 150. Exactly 150 leave; each license
// counts exactly its buyer's exported units, and each import permit
// exactly the units its buyer's customs cleared, when the 150 clear at
// once: no update is lost and none exceeds its grant.
func TestExportAndImportChecksUnderConcurrency(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		f := e.fixtures()
		// 300 units exported to US end users: China's cap is 150.
		us := e.order("us-cloud-a", "h200", 300, "commercial_ai")["id"].(string)
		for range 6 {
			id := e.must("nvidia", "POST", "/api/v1/shipments", shipmentBody(us, "TW-H200-2025-12-01", 50), 201)["id"].(string)
			e.event(id, "picked_up", "TW")
		}
		buyers := []string{"bytedance", "alibaba"}
		orders := map[string]string{}
		for _, buyer := range buyers {
			orders[buyer] = e.order(buyer, "h200", 100, "commercial_ai")["id"].(string)
		}
		ids := make([]string, 200)
		parallel(t, 200, func(i int) error {
			var sh domain.Shipment
			status, body, err := e.send("nvidia", "POST", "/api/v1/shipments", shipmentBody(orders[buyers[i%2]], "TW-H200-2025-12-01", 1), "")
			if err != nil || status != 201 {
				return fmt.Errorf("shipment: %d %s %v", status, body, err)
			}
			if err := json.Unmarshal(body, &sh); err != nil {
				return err
			}
			ids[i] = sh.ID.String()
			for _, ev := range [][2]string{{"picked_up", "TW"}, {"arrived", "US"}, {"customs_cleared", "US"}} {
				if status, body, err := e.send("carrier", "POST", "/api/v1/shipments/"+ids[i]+"/events", map[string]any{"kind": ev[0], "country": ev[1], "place": "hub"}, ""); err != nil || status != 200 {
					return fmt.Errorf("%s: %d %s %v", ev[0], status, body, err)
				}
			}
			test := map[string]any{"throughput": []map[string]any{{"bits": 8, "dense_tops": 1979}}, "bandwidth_gbps": 4800}
			if status, body, err := e.send("us-testlab", "POST", "/api/v1/shipments/"+ids[i]+"/lab-tests", test, ""); err != nil || status != 200 {
				return fmt.Errorf("lab test: %d %s %v", status, body, err)
			}
			return nil
		})

		// The export authority clears the export legs, all at once.
		left := make([]bool, 200)
		parallel(t, 200, func(i int) error {
			status, body, err := e.send("us-commerce", "POST", "/api/v1/shipments/"+ids[i]+"/events", map[string]any{"kind": "export_cleared", "country": "US", "place": "JFK"}, "")
			switch {
			case err != nil:
				return err
			case status == 200:
				left[i] = true
			case status != 409 || !strings.Contains(string(body), "volume.cn-mo-cap"):
				return fmt.Errorf("export leg: %d %s", status, body)
			}
			return nil
		})
		exported := map[string]int{}
		for i, ok := range left {
			if ok {
				exported[buyers[i%2]]++
			}
		}
		if exported["bytedance"]+exported["alibaba"] != 150 {
			t.Fatalf("%v left for China against a cap of 150", exported)
		}
		for _, buyer := range buyers {
			lic := e.must("us-commerce", "GET", "/api/v1/licenses/"+f.licenses[buyer], nil, 200)
			if int(lic["exported"].(float64)) != exported[buyer] || lic["exported"].(float64) > lic["quantity"].(float64) {
				t.Errorf("%s's license: exported %v of %v, %d shipments left", buyer, lic["exported"], lic["quantity"], exported[buyer])
			}
		}

		// The export legs and Chinese customs (China's import authority's),
		// all at once.
		for _, kind := range []string{"picked_up", "arrived", "customs_cleared"} {
			parallel(t, 200, func(i int) error {
				if !left[i] {
					return nil
				}
				who, country := "carrier", "CN"
				switch kind {
				case "picked_up":
					country = "US"
				case "customs_cleared":
					who = "cn-mofcom"
				}
				status, body, err := e.send(who, "POST", "/api/v1/shipments/"+ids[i]+"/events", map[string]any{"kind": kind, "country": country, "place": "Shanghai"}, "")
				if err != nil || status != 200 {
					return fmt.Errorf("%s in %s: %d %s %v", kind, country, status, body, err)
				}
				return nil
			})
		}
		_, raw, _ := e.do("cn-mofcom", "GET", "/api/v1/permits", nil)
		var permits []domain.ImportPermit
		if err := jsonItems(raw, &permits); err != nil {
			t.Fatal(err)
		}
		for _, p := range permits {
			if p.Imported != int64(exported[p.Buyer]) || p.Imported > p.Quantity {
				t.Errorf("%s's permit: imported %d of %d, %d shipments cleared", p.Buyer, p.Imported, p.Quantity, exported[p.Buyer])
			}
		}
	})
}

// TestCancelRacingShipments: a buyer cancels an order that takes its whole
// license and permit while 200 one-unit shipments of it are being made.
// The shipments made before the cancellation stand; the license and the
// permit get back only the units that did not ship, so that a new order
// cannot take the shipped units a second time.
func TestCancelRacingShipments(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		f := e.fixtures()
		o := e.order("bytedance", "h200", 1000, "commercial_ai")["id"].(string)
		var shipped atomic.Int64
		parallel(t, 201, func(i int) error {
			if i == 100 {
				status, body, err := e.send("bytedance", "POST", "/api/v1/orders/"+o+"/cancel", map[string]any{"reason": "plans changed"}, "")
				if err != nil || status != 200 {
					return fmt.Errorf("cancel: %d %s %v", status, body, err)
				}
				return nil
			}
			status, body, err := e.send("nvidia", "POST", "/api/v1/shipments", shipmentBody(o, "TW-H200-2025-12-01", 1), "")
			switch {
			case err != nil:
				return err
			case status == 201:
				shipped.Add(1)
			case status != 409 || !strings.Contains(string(body), "cancelled"):
				return fmt.Errorf("shipment: %d %s", status, body)
			}
			return nil
		})
		order := e.must("bytedance", "GET", "/api/v1/orders/"+o, nil, 200)
		n := shipped.Load()
		if order["status"] != "cancelled" || int64(order["shipped"].(float64)) != n || int64(len(e.shipmentsOf(o))) != n {
			t.Fatalf("order %v with %v shipped; %d shipments acknowledged", order["status"], order["shipped"], n)
		}
		lic := e.must("bytedance", "GET", "/api/v1/licenses/"+f.licenses["bytedance"], nil, 200)
		_, raw, _ := e.do("bytedance", "GET", "/api/v1/permits", nil)
		var permits []domain.ImportPermit
		if err := jsonItems(raw, &permits); err != nil || len(permits) != 1 {
			t.Fatalf("permits: %s", raw)
		}
		if int64(lic["remaining"].(float64)) != 1000-n || permits[0].Remaining != 1000-n {
			t.Fatalf("after %d units shipped and the rest cancelled: license remaining %v, permit remaining %d; want %d", n, lic["remaining"], permits[0].Remaining, 1000-n)
		}
		if n < 1000 {
			if got := e.order("bytedance", "h200", 1000-n+1, "commercial_ai"); got["status"] != "rejected" {
				t.Fatalf("an order of the shipped units again: %v", got["status"])
			}
			if got := e.order("bytedance", "h200", 1000-n, "commercial_ai"); got["status"] != "accepted" {
				t.Fatalf("an order of the units given back: %v", got["status"])
			}
		}
	})
}

// TestIdempotencyKeyOnShippingPOSTs: 200 clients send the same shipment,
// the same custody event, the same lab test and the same check-in, each
// with one Idempotency-Key, at once. Each is written exactly once; every
// answer is the one write or "still in flight".
func TestIdempotencyKeyOnShippingPOSTs(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.cnCustomer()
		o := e.order("us-cloud-a", "h200", 50, "commercial_ai")["id"].(string)
		cn := e.shipmentOf("bytedance", 2, 100)
		e.event(cn, "picked_up", "TW")
		e.event(cn, "arrived", "US")
		e.event(cn, "customs_cleared", "US")
		burst := func(party, path string, body map[string]any, key string, want int) string {
			t.Helper()
			raw, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			answers := map[string]int{}
			parallel(t, 200, func(int) error {
				status, out, err := e.send(party, "POST", path, json.RawMessage(raw), key)
				switch {
				case err != nil:
					return err
				case status == want:
					mu.Lock()
					answers[string(out)]++
					mu.Unlock()
				case status != 409 || !strings.Contains(string(out), "in flight"):
					return fmt.Errorf("%s: %d %s", path, status, out)
				}
				return nil
			})
			if len(answers) != 1 {
				t.Fatalf("%s: %d different answers to one key", path, len(answers))
			}
			for a := range answers {
				return a
			}
			return ""
		}

		from := e.lastIndex() + 1
		sh := burst("nvidia", "/api/v1/shipments", shipmentBody(o, "TW-H200-2025-12-01", 5), "ship-1", 201)
		var created domain.Shipment
		if err := json.Unmarshal([]byte(sh), &created); err != nil {
			t.Fatal(err)
		}
		burst("carrier", "/api/v1/shipments/"+created.ID.String()+"/events", map[string]any{"kind": "picked_up", "country": "TW", "place": "Hsinchu"}, "event-1", 200)
		test := map[string]any{"throughput": []map[string]any{{"bits": 8, "dense_tops": 1979}}, "bandwidth_gbps": 4800}
		burst("us-testlab", "/api/v1/shipments/"+cn+"/lab-tests", test, "test-1", 200)
		burst("nvidia", "/api/v1/checkins", map[string]any{"serial": created.Serials[0], "site": 0, "country": "US"}, "checkin-1", 201)

		got := e.actionsSince(from)
		for _, action := range []string{"shipment.created", "shipment.picked_up", "shipment.tested", "checkin.received"} {
			if got[action] != 1 {
				t.Errorf("%d %s records from one Idempotency-Key, want 1 (all: %v)", got[action], action, got)
			}
		}
		shs := e.shipmentsOf(o)
		if len(shs) != 1 || len(shs[0].Events) != 1 {
			t.Fatalf("%d shipments of the order, want 1", len(shs))
		}
		if order := e.must("nvidia", "GET", "/api/v1/orders/"+o, nil, 200); order["shipped"] != float64(5) {
			t.Fatalf("order shipped %v, want 5", order["shipped"])
		}
	})
}
