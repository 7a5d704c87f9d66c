package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

var watchMatrix = map[string]matrixEntry{
	// A buyer speaks for its own devices only: a serial never shipped to
	// it is not found; the vendor's telemetry reports any.
	"POST /api/v1/checkins": same(probe{"POST", "/api/v1/checkins", map[string]any{"serial": "GRAY-0001", "site": 0, "country": "CN"},
		only2(map[domain.Role]int{domain.RoleBuyer: 404, domain.RoleVendor: 201})}),
	"POST /api/v1/checkins/challenges": same(probe{"POST", "/api/v1/checkins/challenges", map[string]any{"serial": "GRAY-0001"},
		only2(map[domain.Role]int{domain.RoleBuyer: 404, domain.RoleVendor: 201})}),
	"POST /api/v1/checkins/attested": same(probe{"POST", "/api/v1/checkins/attested", map[string]any{"evidence": strangerEvidence()},
		only2(map[domain.Role]int{domain.RoleBuyer: 404, domain.RoleVendor: 201})}),
	"GET /api/v1/alerts": same(probe{"GET", "/api/v1/alerts?status=open", nil, only(200, domain.RoleExportAuthority)}),
	"POST /api/v1/alerts/{id}/state": func(e *env, _ domain.Role) (probe, probe) {
		mk := func() probe {
			out := e.must("nvidia", "POST", "/api/v1/checkins", map[string]any{"serial": fmt.Sprintf("GRAY-%d", serialSeq.Add(1)), "site": 0, "country": "CN"}, 201)
			id := out["alerts"].([]any)[0].(map[string]any)["id"].(string)
			return probe{"POST", "/api/v1/alerts/" + id + "/state", map[string]any{"state": "escalated", "note": "refer to OEE"}, only(200, domain.RoleExportAuthority)}
		}
		return mk(), mk()
	},
	"POST /api/v1/alerts/sweep": same(probe{"POST", "/api/v1/alerts/sweep", nil, only(200, domain.RoleExportAuthority)}),
}

func alertKinds(out map[string]any) []string {
	var kinds []string
	for _, a := range out["alerts"].([]any) {
		kinds = append(kinds, a.(map[string]any)["kind"].(string))
	}
	return kinds
}

// TestDiversionWatch delivers a shipment to ByteDance's Beijing site and
// checks its devices in: honestly, from another site, with round-trip times
// that cannot be from Beijing, from two places, a serial never shipped, and
// serials that fall silent.
func TestDiversionWatch(t *testing.T) {
	e := newEnv(t, storetest.Backends()[0])
	// ByteDance's site has coordinates (Beijing) for the latency check.
	body := applicationBody("Beijing ByteDance Technology Co., Ltd.", "CN", "platform")
	body["sites"] = []map[string]any{{"address": "1 Data Center Road, Beijing", "country": "CN", "power_mw": 200, "cloud_service": true, "lat": 39.9042, "lon": 116.4074}}
	e.apply("us-cloud-a")
	e.must("us-cloud-a", "POST", "/api/v1/orders", map[string]any{"product": "h200", "quantity": 100000, "requested_period": "2026-03-02", "end_use": "commercial_ai"}, 201)
	app := e.must("bytedance", "POST", "/api/v1/applications", body, 201)["id"].(string)
	e.approve(app, 1000)
	e.permit("bytedance", 1000)
	us := e.shipmentOf("us-cloud-a", 10, 100)
	for _, ev := range [][2]string{{"picked_up", "TW"}, {"arrived", "US"}, {"customs_cleared", "US"}, {"delivered", "US"}} {
		e.event(us, ev[0], ev[1])
	}
	id := e.shipmentOf("bytedance", 3, 100)
	e.event(id, "picked_up", "TW")
	e.event(id, "arrived", "US")
	e.event(id, "customs_cleared", "US")
	e.must("us-testlab", "POST", "/api/v1/shipments/"+id+"/lab-tests", map[string]any{"throughput": []map[string]any{{"bits": 8, "dense_tops": 1979}}, "bandwidth_gbps": 4800}, 200)
	e.event(id, "export_cleared", "US")
	e.event(id, "picked_up", "US")
	e.event(id, "arrived", "CN")
	e.event(id, "customs_cleared", "CN")
	sh := e.event(id, "delivered", "CN")
	sn := sh["serials"].([]any)
	s0, s1 := sn[0].(string), sn[1].(string)

	// Honest: right site, RTTs that fit Beijing.
	out := e.must("bytedance", "POST", "/api/v1/checkins", map[string]any{"serial": s0, "site": 0, "country": "CN", "rtt_ms": map[string]float64{"beijing": 4, "shanghai": 25}}, 201)
	if k := alertKinds(out); len(k) != 0 {
		t.Fatalf("honest check-in raised %v", k)
	}
	// 3 ms to Singapore cannot be from Beijing (4,500 km away).
	out = e.must("bytedance", "POST", "/api/v1/checkins", map[string]any{"serial": s1, "site": 0, "country": "CN", "rtt_ms": map[string]float64{"singapore": 3}}, 201)
	k := alertKinds(out)
	if len(k) != 1 || k[0] != "impossible_location" || !strings.Contains(fmt.Sprint(out["alerts"]), "300 km") {
		t.Fatalf("impossible RTT: %v", out["alerts"])
	}
	// The first serial now reports from Malaysia: another site, two places.
	out = e.must("bytedance", "POST", "/api/v1/checkins", map[string]any{"serial": s0, "site": 0, "country": "MY"}, 201)
	if k := alertKinds(out); strings.Join(k, ",") != "site_mismatch,two_places" {
		t.Fatalf("moved serial: %v", k)
	}
	// A serial that was never shipped: not the buyer's to report; the
	// vendor's telemetry reports it, and the alert says so.
	if status, body, _ := e.do("bytedance", "POST", "/api/v1/checkins", map[string]any{"serial": "NEVER-SHIPPED-1", "site": 0, "country": "CN"}); status != 404 {
		t.Fatalf("a buyer's check-in of a serial never shipped: %d %s", status, body)
	}
	out = e.must("nvidia", "POST", "/api/v1/checkins", map[string]any{"serial": "NEVER-SHIPPED-1", "site": 0, "country": "CN"}, 201)
	if k := alertKinds(out); len(k) != 1 || k[0] != "unshipped_serial" {
		t.Fatalf("unshipped: %v", k)
	}
	if a := out["alerts"].([]any)[0].(map[string]any); a["reported_by"] != "nvidia" || a["reporter_role"] != "vendor" || a["checkin_id"] != out["checkin"].(map[string]any)["id"] {
		t.Fatalf("the alert does not say who reported it: %v", a)
	}
	// Another buyer's serial: not found, and the body says nothing of it.
	status, raw, _ := e.do("alibaba", "POST", "/api/v1/checkins", map[string]any{"serial": s0, "site": 0, "country": "SG"})
	if status != 404 || strings.Contains(string(raw), "bytedance") || strings.Contains(string(raw), "SH-") {
		t.Fatalf("a competitor's check-in: %d %s", status, raw)
	}
	// Bad landmark: a clear error naming the field.
	if status, body, _ := e.do("bytedance", "POST", "/api/v1/checkins", map[string]any{"serial": s0, "site": 0, "country": "CN", "rtt_ms": map[string]float64{"atlantis": 3}}); status != 422 || !strings.Contains(string(body), "rtt_ms.atlantis") {
		t.Fatalf("unknown landmark: %d %s", status, body)
	}
	// 31 days later the third serial has never checked in; the others did.
	e.clock.Set(e.clock.Now().Add(31 * 24 * time.Hour))
	_, raw, _ = e.do("us-commerce", "POST", "/api/v1/alerts/sweep", nil)
	var raised []map[string]any
	if err := jsonUnmarshal(raw, &raised); err != nil {
		t.Fatal(err)
	}
	silent := map[string]bool{}
	for _, a := range raised {
		silent[a["serial"].(string)] = true
	}
	if !silent[sn[2].(string)] || len(raised) < 1 {
		t.Fatalf("sweep: %s", raw)
	}
	_, raw, _ = e.do("us-commerce", "POST", "/api/v1/alerts/sweep", nil)
	if err := jsonUnmarshal(raw, &raised); err != nil || len(raised) != 0 {
		t.Fatalf("a second sweep raised again: %s", raw)
	}
	// Pattern: a forwarder as consignee raises an alert when it ships.
	var alerts []map[string]any
	_, raw, _ = e.do("us-commerce", "GET", "/api/v1/alerts?status=open", nil)
	if err := jsonItems(raw, &alerts); err != nil || len(alerts) < 5 {
		t.Fatalf("open alerts: %s", raw)
	}
	a := alerts[0]["id"].(string)
	e.must("us-commerce", "POST", "/api/v1/alerts/"+a+"/state", map[string]any{"state": "explained", "note": "site visit confirmed"}, 200)
	if status, body, _ := e.do("us-commerce", "POST", "/api/v1/alerts/"+a+"/state", map[string]any{"state": "escalated", "note": "x"}); status != 409 || !strings.Contains(string(body), "explained") {
		t.Fatalf("escalating an explained alert: %d %s", status, body)
	}
}

func TestEnforcementPatternAlert(t *testing.T) {
	e := newEnv(t, storetest.Backends()[0])
	e.apply("us-cloud-a")
	e.must("us-cloud-a", "POST", "/api/v1/orders", map[string]any{"product": "h200", "quantity": 100000, "requested_period": "2026-03-02", "end_use": "commercial_ai"}, 201)
	body := applicationBody("Pacific Freight Logistics Ltd.", "CN", "platform")
	app := e.must("tencent", "POST", "/api/v1/applications", body, 201)
	if !strings.Contains(fmt.Sprint(app["red_flags"]), "freight_forwarder") {
		t.Fatalf("no forwarder flag: %v", app["red_flags"])
	}
	e.approve(app["id"].(string), 100)
	e.permit("tencent", 100)
	e.shipmentOf("tencent", 1, 100)
	var alerts []map[string]any
	_, raw, _ := e.do("us-commerce", "GET", "/api/v1/alerts", nil)
	if err := jsonItems(raw, &alerts); err != nil || len(alerts) != 1 || alerts[0]["kind"] != "enforcement_pattern" || alerts[0]["buyer"] != "tencent" {
		t.Fatalf("alerts: %s", raw)
	}
}
