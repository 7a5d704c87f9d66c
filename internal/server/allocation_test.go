package server_test

import (
	"testing"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

var allocationReaders = map[domain.Role]int{domain.RoleVendor: 200, domain.RoleExportAuthority: 200, domain.RoleImportAuthority: 200}

var allocationMatrix = map[string]matrixEntry{
	"POST /api/v1/allocation-runs": same(probe{"POST", "/api/v1/allocation-runs", map[string]any{"periods": 8, "start": "2026-02-02"}, only(201, domain.RoleVendor)}),
	"GET /api/v1/allocation-runs":  same(probe{"GET", "/api/v1/allocation-runs", nil, only2(allocationReaders)}),
	"GET /api/v1/allocation-runs/{id}": func(e *env, _ domain.Role) (probe, probe) {
		id := e.must("nvidia", "POST", "/api/v1/allocation-runs", map[string]any{"periods": 4}, 201)["id"].(string)
		p := probe{"GET", "/api/v1/allocation-runs/" + id, nil, only2(allocationReaders)}
		return p, p
	},
	"GET /api/v1/outlook": func(e *env, _ domain.Role) (probe, probe) {
		e.must("nvidia", "POST", "/api/v1/allocation-runs", map[string]any{"periods": 4}, 201)
		p := probe{"GET", "/api/v1/outlook", nil, only2(readers)}
		return p, p
	},
}

// TestAllocationRunAndOutlook: the vendor allocates the year's lots to the
// accepted orders; US orders come first, China stays within its cap, and
// each buyer reads only its own outlook.
func TestAllocationRunAndOutlook(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.fixtures() // us-cloud-a 100,000 H200 accepted; ByteDance and Alibaba licensed
		for _, buyer := range []string{"bytedance", "alibaba"} {
			if o := e.order(buyer, "h200", 800, "commercial_ai"); o["status"] != "accepted" {
				t.Fatalf("%s order: %v", buyer, o)
			}
		}
		if status, _, _ := e.do("bytedance", "GET", "/api/v1/outlook", nil); status != 404 {
			t.Fatalf("outlook before any run: %d, want 404", status)
		}
		run := e.must("nvidia", "POST", "/api/v1/allocation-runs", map[string]any{"start": "2026-02-02", "periods": 26}, 201)
		metrics := run["result"].(map[string]any)["metrics"].(map[string]any)
		if metrics["demand"] != float64(101600) || metrics["allocated"].(float64) <= 0 {
			t.Fatalf("metrics: %v", metrics)
		}
		tiers := metrics["tiers"].([]any)
		us := tiers[0].(map[string]any)
		if us["regions"].([]any)[0] != "US" || us["allocated"] != us["demand"] {
			t.Fatalf("US tier first and served in full: %v", tiers)
		}
		for _, rr := range metrics["region_ratio"].([]any) {
			m := rr.(map[string]any)
			if m["units"].(float64) > m["limit"].(float64) {
				t.Fatalf("CN cap broken: %v", m)
			}
		}
		mine := e.must("bytedance", "GET", "/api/v1/outlook", nil, 200)
		orders := mine["orders"].([]any)
		if len(orders) != 1 || orders[0].(map[string]any)["buyer"] != "bytedance" {
			t.Fatalf("bytedance's outlook: %v", mine)
		}
		o := orders[0].(map[string]any)
		if o["promised"] != float64(800) || o["p50"] == nil || o["p90"] == nil || o["p90"].(string) < o["p50"].(string) {
			t.Fatalf("bytedance's order outlook: %v", o)
		}
		all := e.must("us-commerce", "GET", "/api/v1/outlook", nil, 200)
		if len(all["orders"].([]any)) != 3 {
			t.Fatalf("authority's outlook: %d orders", len(all["orders"].([]any)))
		}
		// Same inputs, same run: deterministic.
		again := e.must("nvidia", "POST", "/api/v1/allocation-runs", map[string]any{"start": "2026-02-02", "periods": 26}, 201)
		if again["inputs_sha256"] != run["inputs_sha256"] || len(again["result"].(map[string]any)["allocations"].([]any)) != len(run["result"].(map[string]any)["allocations"].([]any)) {
			t.Fatal("two runs over the same inputs differ")
		}
		if status, body, _ := e.do("nvidia", "POST", "/api/v1/allocation-runs", map[string]any{"periods": 0, "period_days": -1}); status != 422 {
			t.Fatalf("bad horizon: %d %s", status, body)
		}
	})
}
