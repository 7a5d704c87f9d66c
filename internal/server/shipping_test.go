package server_test

import (
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

var serialSeq atomic.Int64

// serials returns n fresh serial numbers.
func serials(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("SN-%08d", serialSeq.Add(1))
	}
	return out
}

// shipmentOf ships n units of a fresh order of buyer and returns the
// shipment id.
func (e *env) shipmentOf(buyer string, n int, unitMinor int64) string {
	e.t.Helper()
	o := e.order(buyer, "h200", int64(n), "commercial_ai")
	if o["status"] != "accepted" {
		e.t.Fatalf("%s order: %v", buyer, o)
	}
	return e.must("nvidia", "POST", "/api/v1/shipments", map[string]any{"order": o["id"], "lot": "TW-H200-2025-12-01",
		"serials": serials(n), "unit_value": map[string]any{"minor": unitMinor, "currency": "USD"}, "carriers": []string{"carrier"}, "lab": "us-testlab"}, 201)["id"].(string)
}

// event records a custody or border event by the party whose it is: the
// export authority's export clearance, China's import authority's customs
// clearance into China, the carrier's every other.
func (e *env) event(id, kind, country string) map[string]any {
	e.t.Helper()
	who := "carrier"
	switch {
	case kind == "export_cleared":
		who = "us-commerce"
	case kind == "customs_cleared" && country == "CN":
		who = "cn-mofcom"
	}
	return e.must(who, "POST", "/api/v1/shipments/"+id+"/events", map[string]any{"kind": kind, "country": country, "place": "hub " + country}, 200)
}

var shippingMatrix = map[string]matrixEntry{
	"POST /api/v1/shipments": func(e *env, _ domain.Role) (probe, probe) {
		e.usCustomer()
		mk := func() probe {
			o := e.order("us-cloud-a", "h200", 2, "commercial_ai")
			return probe{"POST", "/api/v1/shipments", map[string]any{"order": o["id"], "lot": "TW-H200-2025-12-01", "serials": serials(2),
				"unit_value": map[string]any{"minor": 3000000, "currency": "USD"}, "carriers": []string{"carrier"}, "lab": "us-testlab"}, only(201, domain.RoleVendor)}
		}
		return mk(), mk()
	},
	"GET /api/v1/shipments": same(probe{"GET", "/api/v1/shipments", nil, only2(map[domain.Role]int{domain.RoleVendor: 200, domain.RoleExportAuthority: 200, domain.RoleImportAuthority: 200,
		domain.RoleLab: 200, domain.RoleCarrier: 200, domain.RoleBuyer: 200})}),
	"POST /api/v1/shipments/{id}/events": func(e *env, _ domain.Role) (probe, probe) {
		e.usCustomer()
		mk := func() probe {
			return probe{"POST", "/api/v1/shipments/" + e.shipmentOf("us-cloud-a", 1, 100) + "/events", map[string]any{"kind": "picked_up", "country": "TW", "place": "Hsinchu"}, only(200, domain.RoleCarrier)}
		}
		return mk(), mk()
	},
	"POST /api/v1/shipments/{id}/lab-tests": func(e *env, _ domain.Role) (probe, probe) {
		e.cnCustomer()
		mk := func() probe {
			id := e.shipmentOf("bytedance", 1, 100)
			e.event(id, "picked_up", "TW")
			e.event(id, "arrived", "US")
			e.event(id, "customs_cleared", "US")
			return probe{"POST", "/api/v1/shipments/" + id + "/lab-tests", map[string]any{"throughput": []map[string]any{{"bits": 8, "dense_tops": 1979}}, "bandwidth_gbps": 4800}, only(200, domain.RoleLab)}
		}
		return mk(), mk()
	},
	"GET /api/v1/duty/remittance": same(probe{"GET", "/api/v1/duty/remittance?month=2026-02&format=csv", nil, only2(map[domain.Role]int{domain.RoleVendor: 200, domain.RoleExportAuthority: 200})}),
}

// TestShipmentTaiwanUSChina follows a ByteDance shipment along the policy's
// route: duty at US customs, the lab test, the export leg's license and cap
// checks, the import permit at Chinese customs, delivery.
func TestShipmentTaiwanUSChina(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		f := e.fixtures()
		// US end users received units first: the export cap counts units shipped.
		us := e.shipmentOf("us-cloud-a", 40, 3_000_000)
		for _, ev := range [][2]string{{"picked_up", "TW"}, {"arrived", "US"}, {"customs_cleared", "US"}, {"delivered", "US"}} {
			e.event(us, ev[0], ev[1])
		}
		id := e.shipmentOf("bytedance", 10, 3_000_000) // USD 30,000.00 a unit
		// A buyer lists its own shipments only: not us-cloud-a's.
		var views []map[string]any
		if _, raw, _ := e.do("bytedance", "GET", "/api/v1/shipments", nil); jsonItems(raw, &views) != nil || len(views) != 1 || views[0]["id"] != id {
			t.Fatalf("bytedance's shipments before the lab: %s", raw)
		}
		// The route is the policy's: TW → US → CN.
		got := e.event(id, "picked_up", "TW")
		if fmt.Sprint(got["route"]) != "[TW US CN]" || got["route_rule"] != "shipment.route" {
			t.Fatalf("route: %v (%v)", got["route"], got["route_rule"])
		}
		if status, body, _ := e.do("carrier", "POST", "/api/v1/shipments/"+id+"/events", map[string]any{"kind": "arrived", "country": "CN", "place": "Shanghai"}); status != 409 || !strings.Contains(string(body), "must be in US") {
			t.Fatalf("skipping the US: %d %s", status, body)
		}
		e.event(id, "arrived", "US")
		got = e.event(id, "customs_cleared", "US")
		duty := got["duty"].(map[string]any)
		// 25% of 10 × USD 30,000.00 = USD 75,000.00, exactly.
		if duty["rule"] != "duty.section-232" || duty["amount"].(map[string]any)["minor"] != float64(7_500_000) || duty["dutiable_value"].(map[string]any)["minor"] != float64(30_000_000) {
			t.Fatalf("duty: %v", duty)
		}
		// No export before the lab test.
		if status, body, _ := e.do("carrier", "POST", "/api/v1/shipments/"+id+"/events", map[string]any{"kind": "picked_up", "country": "US", "place": "JFK"}); status != 409 || !strings.Contains(string(body), "lab test") {
			t.Fatalf("export before the test: %d %s", status, body)
		}
		// The queue gives the buyer an ETA: first in line, tested within
		// the week the lab's capacity allows.
		_, raw, _ := e.do("bytedance", "GET", "/api/v1/shipments", nil)
		if err := jsonItems(raw, &views); err != nil || len(views) != 1 {
			t.Fatalf("buyer's shipments: %s", raw)
		}
		if q, _ := views[0]["lab_queue"].(map[string]any); q == nil || q["units_ahead"] != float64(0) || q["tested_by"] == nil {
			t.Fatalf("buyer's lab queue: %s", raw)
		}
		// Alibaba's shipment reaches the lab next: ByteDance's ten units
		// are ahead of it, though Alibaba cannot see ByteDance's shipment.
		next := e.shipmentOf("alibaba", 5, 3_000_000)
		for _, ev := range [][2]string{{"picked_up", "TW"}, {"arrived", "US"}, {"customs_cleared", "US"}} {
			e.clock.Set(e.clock.Now().Add(time.Minute)) // arrives after ByteDance's
			e.event(next, ev[0], ev[1])
		}
		var theirs []map[string]any
		_, raw, _ = e.do("alibaba", "GET", "/api/v1/shipments", nil)
		if err := jsonItems(raw, &theirs); err != nil || len(theirs) != 1 || theirs[0]["id"] != next {
			t.Fatalf("alibaba's shipments: %s", raw)
		}
		if q, _ := theirs[0]["lab_queue"].(map[string]any); q == nil || q["units_ahead"] != float64(10) {
			t.Fatalf("alibaba's lab queue: %s", raw)
		}
		got = e.must("us-testlab", "POST", "/api/v1/shipments/"+id+"/lab-tests", map[string]any{"throughput": []map[string]any{{"bits": 8, "dense_tops": 1979}}, "bandwidth_gbps": 4800}, 200)
		if got["test"].(map[string]any)["pass"] != true || got["test"].(map[string]any)["tpp"] != float64(15832) {
			t.Fatalf("lab test: %v", got["test"])
		}
		e.event(id, "export_cleared", "US")
		e.event(id, "picked_up", "US")
		lic := e.must("us-commerce", "GET", "/api/v1/licenses/"+f.licenses["bytedance"], nil, 200)
		if lic["exported"] != float64(10) {
			t.Fatalf("license exported = %v, want 10", lic["exported"])
		}
		e.event(id, "arrived", "CN")
		got = e.event(id, "customs_cleared", "CN")
		if got["duty"].(map[string]any)["country"] != "US" {
			t.Fatal("a second duty was assessed")
		}
		got = e.event(id, "delivered", "CN")
		if got["status"] != "delivered" {
			t.Fatalf("status %v", got["status"])
		}
		// The same serials cannot ship twice.
		o := e.order("bytedance", "h200", 1, "commercial_ai")
		if status, body, _ := e.do("nvidia", "POST", "/api/v1/shipments", map[string]any{"order": o["id"], "lot": "TW-H200-2025-12-01",
			"serials": []string{got["serials"].([]any)[0].(string)}, "unit_value": map[string]any{"minor": 100, "currency": "USD"}, "carriers": []string{"carrier"}, "lab": "us-testlab"}); status != 409 || !strings.Contains(string(body), "already") {
			t.Fatalf("a serial twice: %d %s", status, body)
		}
	})
}

func TestFailedLabTestBlocksExportAndCapCountsShippedUnits(t *testing.T) {
	e := newEnv(t, storetest.Backends()[0])
	e.fixtures()
	id := e.shipmentOf("bytedance", 2, 100)
	e.event(id, "picked_up", "TW")
	e.event(id, "arrived", "US")
	e.event(id, "customs_cleared", "US")
	// Relabeled B200s: the measured chip is not the licensed H200.
	got := e.must("us-testlab", "POST", "/api/v1/shipments/"+id+"/lab-tests", map[string]any{"throughput": []map[string]any{{"bits": 8, "dense_tops": 4500}}, "bandwidth_gbps": 8000}, 200)
	test := got["test"].(map[string]any)
	if test["pass"] != false || !strings.Contains(fmt.Sprint(test["reasons"]), "not the licensed product") {
		t.Fatalf("relabeled chips: %v", test)
	}
	if status, body, _ := e.do("carrier", "POST", "/api/v1/shipments/"+id+"/events", map[string]any{"kind": "picked_up", "country": "US", "place": "JFK"}); status != 409 || !strings.Contains(string(body), "no passing lab test") {
		t.Fatalf("export after a failed test: %d %s", status, body)
	}
	if status, _, _ := e.do("us-testlab", "POST", "/api/v1/shipments/"+id+"/lab-tests", map[string]any{"throughput": []map[string]any{{"bits": 8, "dense_tops": 1979}}, "bandwidth_gbps": 4800}); status != 409 {
		t.Fatalf("a second test: %d", status)
	}
	// Nothing went to US end users yet: a passing CN shipment cannot leave.
	ok := e.shipmentOf("alibaba", 1, 100)
	e.event(ok, "picked_up", "TW")
	e.event(ok, "arrived", "US")
	e.event(ok, "customs_cleared", "US")
	e.must("us-testlab", "POST", "/api/v1/shipments/"+ok+"/lab-tests", map[string]any{"throughput": []map[string]any{{"bits": 8, "dense_tops": 1979}}, "bandwidth_gbps": 4800}, 200)
	if status, body, _ := e.do("carrier", "POST", "/api/v1/shipments/"+ok+"/events", map[string]any{"kind": "picked_up", "country": "US", "place": "JFK"}); status != 409 || !strings.Contains(string(body), "volume.cn-mo-cap") {
		t.Fatalf("CN export with no US units shipped: %d %s", status, body)
	}
}

// TestDutyReconciliation ships many US shipments of awkward values and
// checks the remittance: every entry is its value × 25% rounded half away
// from zero to the cent, and the total is the exact sum of the entries.
func TestDutyReconciliation(t *testing.T) {
	e := newEnv(t, storetest.Backends()[0])
	e.apply("us-cloud-a")
	e.must("us-cloud-a", "POST", "/api/v1/orders", map[string]any{"product": "h200", "quantity": 1_000_000, "requested_period": "2026-03-02", "end_use": "commercial_ai"}, 201)
	const n = 600
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	values := make([]int64, n)
	for i := range values {
		values[i] = 1_234_567 + int64(i)*7919%100_003 // cents, odd and even, halves included
	}
	orders := e.must("us-cloud-a", "GET", "/api/v1/orders?status=accepted", nil, 200)
	_ = orders
	var orderID string
	_, raw, _ := e.do("us-cloud-a", "GET", "/api/v1/orders?status=accepted", nil)
	var os []map[string]any
	if err := jsonItems(raw, &os); err != nil || len(os) != 1 {
		t.Fatalf("orders: %s", raw)
	}
	orderID = os[0]["id"].(string)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			id := e.must("nvidia", "POST", "/api/v1/shipments", map[string]any{"order": orderID, "lot": "TW-H200-2025-12-01",
				"serials": serials(1 + i%3), "unit_value": map[string]any{"minor": values[i], "currency": "USD"}, "carriers": []string{"carrier"}, "lab": "us-testlab"}, 201)["id"].(string)
			e.event(id, "picked_up", "TW")
			e.event(id, "arrived", "US")
			e.event(id, "customs_cleared", "US")
		}(i)
	}
	wg.Wait()
	rep := e.must("us-commerce", "GET", "/api/v1/duty/remittance?month=2026-02", nil, 200)
	entries := rep["entries"].([]any)
	if len(entries) != n {
		t.Fatalf("%d entries, want %d", len(entries), n)
	}
	var sumDuty, sumValue int64
	for _, x := range entries {
		d := x.(map[string]any)
		value := int64(d["dutiable_value"].(map[string]any)["minor"].(float64))
		amount := int64(d["amount"].(map[string]any)["minor"].(float64))
		// value × 0.25, rounded half away from zero, computed independently.
		want := new(big.Rat).Mul(big.NewRat(value, 1), big.NewRat(1, 4))
		q, r := new(big.Int).QuoRem(want.Num(), want.Denom(), new(big.Int))
		if new(big.Int).Mul(r, big.NewInt(2)).CmpAbs(want.Denom()) >= 0 {
			q.Add(q, big.NewInt(1))
		}
		if amount != q.Int64() {
			t.Fatalf("entry on %d cents: duty %d, want %d", value, amount, q.Int64())
		}
		sumDuty += amount
		sumValue += value
	}
	totals := rep["totals"].([]any)[0].(map[string]any)
	if int64(totals["duty_minor"].(float64)) != sumDuty || int64(totals["dutiable_minor"].(float64)) != sumValue {
		t.Fatalf("totals %v, want duty %d on %d", totals, sumDuty, sumValue)
	}
	// Per-entry rounding keeps the total within half a cent per entry of
	// the unrounded 25%.
	exact := new(big.Rat).Mul(big.NewRat(sumValue, 1), big.NewRat(1, 4))
	diff := new(big.Rat).Sub(big.NewRat(sumDuty, 1), exact)
	if diff.Abs(diff).Cmp(big.NewRat(n, 2)) > 0 {
		t.Fatalf("rounding drift %s cents over %d entries", diff.FloatString(2), n)
	}
	status, csvBody, hdr := e.do("nvidia", "GET", "/api/v1/duty/remittance?month=2026-02&format=csv", nil)
	if status != 200 || hdr.Get("Content-Type") != "text/csv; charset=utf-8" || strings.Count(string(csvBody), "\n") != n+2 || !strings.Contains(string(csvBody), fmt.Sprintf("total,,,,,,USD,%d,%d", sumValue, sumDuty)) ||
		!strings.HasPrefix(string(csvBody), "\uFEFFassessed_at,shipment_id,rule,country,rate,exempt,currency,dutiable_minor,duty_minor\n") {
		t.Fatalf("csv: %d %q …", status, string(csvBody)[:min(300, len(csvBody))])
	}
}

// usCustomer makes us-cloud-a a screened customer, once per env.
func (e *env) usCustomer() {
	e.mu.Lock()
	done := e.usReady
	e.usReady = true
	e.mu.Unlock()
	if !done {
		e.apply("us-cloud-a")
	}
}

// cnCustomer sets up the fixtures (US units, licensed CN buyers), once per env.
func (e *env) cnCustomer() {
	e.mu.Lock()
	done := e.cnReady
	e.cnReady, e.usReady = true, true
	e.mu.Unlock()
	if !done {
		e.fixtures()
	}
}

// TestLotsNeverOverShipped: twenty concurrent one-unit shipments from a lot
// of ten units ship exactly ten; the invoice carries the exact amounts.
func TestLotsNeverOverShipped(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.usCustomer()
		e.must("nvidia", "POST", "/api/v1/lots", map[string]any{"product": "h200", "number": "TW-SMALL-1", "quantity": 10, "origin": "TW", "made_on": "2026-01-01", "available_on": "2026-01-15"}, 201)
		o := e.order("us-cloud-a", "h200", 50, "commercial_ai")
		var wg sync.WaitGroup
		var shipped, refused atomic.Int64
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status, body, _ := e.do("nvidia", "POST", "/api/v1/shipments", map[string]any{"order": o["id"], "lot": "TW-SMALL-1", "serials": serials(1),
					"unit_value": map[string]any{"minor": 3_000_000, "currency": "USD"}, "carriers": []string{"carrier"}, "lab": "us-testlab"})
				switch {
				case status == 201:
					shipped.Add(1)
				case status == 409 && strings.Contains(string(body), "lot"):
					refused.Add(1)
				default:
					t.Errorf("shipment: %d %s", status, body)
				}
			}()
		}
		wg.Wait()
		if shipped.Load() != 10 || refused.Load() != 10 {
			t.Fatalf("shipped %d, refused %d; want 10 and 10", shipped.Load(), refused.Load())
		}
		// The lot tells how much of it has shipped.
		var lots []domain.Lot
		_, raw, _ := e.do("nvidia", "GET", "/api/v1/lots?product=h200", nil)
		if err := jsonUnmarshal(raw, &lots); err != nil {
			t.Fatal(err)
		}
		if i := slices.IndexFunc(lots, func(l domain.Lot) bool { return l.Number == "TW-SMALL-1" }); i < 0 || lots[i].Shipped != 10 || lots[i].Quantity != 10 {
			t.Fatalf("lot TW-SMALL-1 after shipping it all: %s", raw)
		}
		sh := e.must("nvidia", "POST", "/api/v1/shipments", map[string]any{"order": o["id"], "lot": "TW-H200-2025-12-01", "serials": serials(3),
			"unit_value": map[string]any{"minor": 3_000_001, "currency": "USD"}, "carriers": []string{"carrier"}, "lab": "us-testlab"}, 201)
		inv := sh["invoice"].(map[string]any)
		line := inv["lines"].([]any)[0].(map[string]any)
		if line["quantity"] != float64(3) || line["amount"].(map[string]any)["minor"] != float64(9_000_003) || inv["total"].(map[string]any)["minor"] != float64(9_000_003) {
			t.Fatalf("invoice: %v", inv)
		}
	})
}
