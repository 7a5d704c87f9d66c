package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

type matrixEntry = func(e *env, role domain.Role) (own, other probe)

func joinMatrices(ms ...map[string]matrixEntry) map[string]matrixEntry {
	out := map[string]matrixEntry{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// must sends a request and fails the test unless it gets want; it returns
// the decoded body.
func (e *env) must(party, method, path string, body any, want int) map[string]any {
	e.t.Helper()
	status, raw, _ := e.do(party, method, path, body)
	if status != want {
		e.t.Fatalf("%s %s as %s: %d %s, want %d", method, path, party, status, raw, want)
	}
	var out map[string]any
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out); err != nil {
			e.t.Fatal(err)
		}
	}
	return out
}

// applicationBody is a clean application of a buyer from the demo cast.
func applicationBody(name, country string, class domain.BuyerClass) map[string]any {
	return map[string]any{
		"legal_name": name, "country": country, "registration_date": "2012-03-09",
		"addresses":     []string{"1 Data Center Road, Industrial Park"},
		"business_type": class, "sector": "private", "end_uses": []string{"commercial_ai"},
		"sites":             []map[string]any{{"address": "1 Data Center Road, Industrial Park", "country": country, "power_mw": 200, "cloud_service": true}},
		"kyc_remote_access": true, "requested_volumes": map[string]int64{"h200": 100000},
	}
}

var demoNames = map[string][3]string{
	"bytedance": {"Beijing ByteDance Technology Co., Ltd.", "CN", "platform"}, "alibaba": {"Alibaba Cloud Computing Co., Ltd.", "CN", "platform"},
	"tencent": {"Shenzhen Tencent Computer Systems Co., Ltd.", "CN", "platform"}, "us-cloud-a": {"US Cloud A, Inc.", "US", "cloud"},
	"us-cloud-b": {"US Cloud B, LLC", "US", "cloud"}, "deepcurrent-ai": {"DeepCurrent AI (Hangzhou) Co., Ltd.", "CN", "sme"},
}

func (e *env) apply(buyer string) string {
	e.t.Helper()
	n := demoNames[buyer]
	return e.must(buyer, "POST", "/api/v1/applications", applicationBody(n[0], n[1], domain.BuyerClass(n[2])), 201)["id"].(string)
}

// approve approves an application with one H200 license of quantity units.
func (e *env) approve(app string, quantity int64, conditions ...string) string {
	e.t.Helper()
	out := e.must("us-commerce", "POST", "/api/v1/applications/"+app+"/decision", map[string]any{
		"decision": "approve", "licenses": []map[string]any{{"vendor": "nvidia", "products": []string{"h200"}, "quantity": quantity,
			"valid_from": "2026-01-01", "valid_until": "2027-01-01", "conditions": conditions}},
	}, 200)
	return out["licenses"].([]any)[0].(map[string]any)["id"].(string)
}

func (e *env) permit(buyer string, quantity int64) string {
	e.t.Helper()
	return e.must("cn-mofcom", "POST", "/api/v1/permits", map[string]any{"buyer": buyer, "decision": "grant", "products": []string{"h200"},
		"quantity": quantity, "valid_from": "2026-01-01", "valid_until": "2027-01-01"}, 201)["id"].(string)
}

func (e *env) order(buyer string, product string, quantity int64, endUse string) map[string]any {
	e.t.Helper()
	return e.must(buyer, "POST", "/api/v1/orders", map[string]any{"product": product, "quantity": quantity,
		"requested_period": "2026-03-02", "site": 0, "end_use": endUse}, 201)
}

// programFixtures sets up an approved US customer with accepted orders (so
// that the CN volume cap has room) and two approved CN customers with
// licenses and permits.
type programFixtures struct {
	apps, licenses map[string]string
}

var fixturesMu sync.Mutex

func (e *env) fixtures() programFixtures {
	fixturesMu.Lock()
	defer fixturesMu.Unlock()
	f := programFixtures{apps: map[string]string{}, licenses: map[string]string{}}
	f.apps["us-cloud-a"] = e.apply("us-cloud-a")
	if o := e.order("us-cloud-a", "h200", 100000, "commercial_ai"); o["status"] != "accepted" {
		e.t.Fatalf("US order: %v", o)
	}
	for _, b := range []string{"bytedance", "alibaba"} {
		f.apps[b] = e.apply(b)
		f.licenses[b] = e.approve(f.apps[b], 1000)
		e.permit(b, 1000)
	}
	return f
}

func only2(roles map[domain.Role]int) func(domain.Role) int {
	return func(r domain.Role) int {
		if s, ok := roles[r]; ok {
			return s
		}
		return http.StatusForbidden
	}
}

var readers = map[domain.Role]int{domain.RoleBuyer: 200, domain.RoleExportAuthority: 200, domain.RoleImportAuthority: 200, domain.RoleVendor: 200}

func otherBuyerHidden(r domain.Role) int {
	if r == domain.RoleBuyer {
		return 404
	}
	return readers[r] + map[bool]int{true: 403}[readers[r] == 0]
}

var programMatrix = map[string]matrixEntry{
	"POST /api/v1/applications": same(probe{"POST", "/api/v1/applications", applicationBody("Beijing ByteDance Technology Co., Ltd.", "CN", "platform"), only(201, domain.RoleBuyer)}),
	"GET /api/v1/applications":  same(probe{"GET", "/api/v1/applications?status=submitted,approved", nil, only2(readers)}),
	"GET /api/v1/applications/{id}": func(e *env, _ domain.Role) (probe, probe) {
		return probe{"GET", "/api/v1/applications/" + e.apply("bytedance"), nil, only2(readers)},
			probe{"GET", "/api/v1/applications/" + e.apply("alibaba"), nil, otherBuyerHidden}
	},
	"PUT /api/v1/applications/{id}": func(e *env, _ domain.Role) (probe, probe) {
		mk := func(buyer string, want func(domain.Role) int) probe {
			id := e.apply(buyer)
			e.must("us-commerce", "POST", "/api/v1/applications/"+id+"/decision", map[string]any{"decision": "request_info", "reason": "show the power contracts"}, 200)
			n := demoNames[buyer]
			return probe{"PUT", "/api/v1/applications/" + id, applicationBody(n[0], n[1], domain.BuyerClass(n[2])), want}
		}
		return mk("bytedance", only(200, domain.RoleBuyer)), mk("alibaba", only2(map[domain.Role]int{domain.RoleBuyer: 404}))
	},
	"POST /api/v1/applications/{id}/decision": func(e *env, _ domain.Role) (probe, probe) {
		mk := func(buyer string) probe {
			return probe{"POST", "/api/v1/applications/" + e.apply(buyer) + "/decision", map[string]any{"decision": "request_info", "reason": "which sites?"}, only(200, domain.RoleExportAuthority)}
		}
		return mk("bytedance"), mk("alibaba")
	},
	"POST /api/v1/applications/{id}/hit-reviews": func(e *env, _ domain.Role) (probe, probe) {
		body := applicationBody("Harbin Institute of Technology", "CN", "university")
		body["end_uses"] = []string{"research"}
		id := e.must("bytedance", "POST", "/api/v1/applications", body, 201)["id"].(string)
		p := probe{"POST", "/api/v1/applications/" + id + "/hit-reviews", map[string]any{"reviews": []map[string]any{{"hit": 0, "decision": "escalated", "reason": "insufficient_information", "note": "ask"}}}, only(200, domain.RoleExportAuthority)}
		return p, p
	},
	"POST /api/v1/applications/{id}/exception-notices": func(e *env, _ domain.Role) (probe, probe) {
		mk := func(buyer string) probe {
			// China's authority speaks for no NAC: 422, not 403.
			return probe{"POST", "/api/v1/applications/" + e.current(buyer) + "/exception-notices", e.notice(),
				only2(map[domain.Role]int{domain.RoleExportAuthority: 200, domain.RoleImportAuthority: 422})}
		}
		return mk("bytedance"), mk("alibaba")
	},
	"POST /api/v1/applications/{id}/exception-notices/{confirmation}/withdraw": func(e *env, _ domain.Role) (probe, probe) {
		mk := func(buyer string) probe {
			app, n := e.current(buyer), e.notice()
			e.must("us-commerce", "POST", "/api/v1/applications/"+app+"/exception-notices", n, 200)
			// Only the notice's own jurisdiction withdraws it.
			return probe{"POST", "/api/v1/applications/" + app + "/exception-notices/" + n["confirmation"].(string) + "/withdraw", map[string]any{"reason": "end user changed"},
				only2(map[domain.Role]int{domain.RoleExportAuthority: 200, domain.RoleImportAuthority: 403})}
		}
		return mk("bytedance"), mk("alibaba")
	},
	"GET /api/v1/licenses": same(probe{"GET", "/api/v1/licenses", nil, only2(readers)}),
	"GET /api/v1/licenses/{id}": func(e *env, _ domain.Role) (probe, probe) {
		return probe{"GET", "/api/v1/licenses/" + e.approve(e.apply("bytedance"), 10), nil, only2(readers)},
			probe{"GET", "/api/v1/licenses/" + e.approve(e.apply("alibaba"), 10), nil, otherBuyerHidden}
	},
	"POST /api/v1/licenses/{id}/status": func(e *env, _ domain.Role) (probe, probe) {
		mk := func(buyer string) probe {
			return probe{"POST", "/api/v1/licenses/" + e.approve(e.apply(buyer), 10) + "/status", map[string]any{"action": "suspend", "reason": "audit"}, only(200, domain.RoleExportAuthority)}
		}
		return mk("bytedance"), mk("alibaba")
	},
	"POST /api/v1/permits": same(probe{"POST", "/api/v1/permits", map[string]any{"buyer": "tencent", "decision": "deny", "reason": "no hearing filing"}, only(201, domain.RoleImportAuthority)}),
	"GET /api/v1/permits":  same(probe{"GET", "/api/v1/permits", nil, only2(readers)}),
	"POST /api/v1/permits/{id}/revoke": func(e *env, _ domain.Role) (probe, probe) {
		mk := func(buyer string) probe {
			return probe{"POST", "/api/v1/permits/" + e.permit(buyer, 5) + "/revoke", map[string]any{"reason": "SOE use found"}, only(200, domain.RoleImportAuthority)}
		}
		return mk("tencent"), mk("alibaba")
	},
	"POST /api/v1/hearings": same(probe{"POST", "/api/v1/hearings", map[string]any{"title": "Q2 H200 demand", "product": "h200", "period_start": "2026-04-01", "period_end": "2026-07-01"}, only(201, domain.RoleImportAuthority)}),
	"GET /api/v1/hearings":  same(probe{"GET", "/api/v1/hearings", nil, only2(map[domain.Role]int{domain.RoleImportAuthority: 200, domain.RoleBuyer: 200})}),
	"GET /api/v1/hearings/{id}": func(e *env, _ domain.Role) (probe, probe) {
		p := probe{"GET", "/api/v1/hearings/" + e.hearing(), nil, only2(map[domain.Role]int{domain.RoleImportAuthority: 200, domain.RoleBuyer: 200})}
		return p, p
	},
	"POST /api/v1/hearings/{id}/filings": func(e *env, _ domain.Role) (probe, probe) {
		p := probe{"POST", "/api/v1/hearings/" + e.hearing() + "/filings", map[string]any{"forecast_units": 5000, "uses": []string{"commercial_ai"}}, only(201, domain.RoleBuyer)}
		return p, p
	},
	"POST /api/v1/hearings/{id}/close": func(e *env, _ domain.Role) (probe, probe) {
		mk := func() probe {
			return probe{"POST", "/api/v1/hearings/" + e.hearing() + "/close", nil, only(200, domain.RoleImportAuthority)}
		}
		return mk(), mk()
	},
	"POST /api/v1/orders": same(probe{"POST", "/api/v1/orders", map[string]any{"product": "h200", "quantity": 1, "requested_period": "2026-03-02", "site": 0, "end_use": "commercial_ai"}, only(201, domain.RoleBuyer)}),
	"GET /api/v1/orders":  same(probe{"GET", "/api/v1/orders?status=held_for_review", nil, only2(readers)}),
	"GET /api/v1/orders/{id}": func(e *env, _ domain.Role) (probe, probe) {
		return probe{"GET", "/api/v1/orders/" + e.order("bytedance", "h200", 1, "commercial_ai")["id"].(string), nil, only2(readers)},
			probe{"GET", "/api/v1/orders/" + e.order("alibaba", "h200", 1, "commercial_ai")["id"].(string), nil, otherBuyerHidden}
	},
	"POST /api/v1/orders/{id}/review": func(e *env, _ domain.Role) (probe, probe) {
		mk := func() probe {
			o := e.order("us-cloud-b", "h200", 1, "commercial_ai") // no application on file: screening pending, held
			if o["status"] != "held_for_review" {
				e.t.Fatalf("order without an application: %v", o)
			}
			// The import authority reads the orders of its jurisdiction's
			// buyers only: a US order is not found, not forbidden.
			return probe{"POST", "/api/v1/orders/" + o["id"].(string) + "/review", map[string]any{"decision": "reject", "reason": "no application"},
				only2(map[domain.Role]int{domain.RoleExportAuthority: 200, domain.RoleImportAuthority: 404})}
		}
		return mk(), mk()
	},
	"POST /api/v1/orders/{id}/cancel": func(e *env, _ domain.Role) (probe, probe) {
		return probe{"POST", "/api/v1/orders/" + e.order("bytedance", "h200", 1, "commercial_ai")["id"].(string) + "/cancel", map[string]any{"reason": "plans changed"}, only(200, domain.RoleBuyer)},
			probe{"POST", "/api/v1/orders/" + e.order("alibaba", "h200", 1, "commercial_ai")["id"].(string) + "/cancel", map[string]any{"reason": "x"}, only2(map[domain.Role]int{domain.RoleBuyer: 404})}
	},
}

// current files an application for the buyer and approves it, so that it
// is the application the buyer's orders read.
func (e *env) current(buyer string) string {
	e.t.Helper()
	app := e.apply(buyer)
	e.approve(app, 10)
	return app
}

// notice is a NAC confirmation never recorded before, for a 3A090.b chip
// (which NAC covers) that it adds to the catalog the first time.
func (e *env) notice() map[string]any {
	e.t.Helper()
	if e.notices == 0 {
		_, err := e.svc.CreateProduct(context.Background(), domain.SystemActor, service.ProductRequest{Slug: "chip-b", Name: "Chip B", Family: "test", LaunchDate: "2025-06-01",
			Spec: domain.Spec{Throughput: []domain.Throughput{{Bits: 8, DenseTOPS: 400}}, DieAreaMM2: 800, MemoryGB: 141, BandwidthGBps: 2000}})
		if err != nil {
			e.t.Fatal(err)
		}
	}
	e.notices++
	return map[string]any{"exception": "NAC", "confirmation": fmt.Sprintf("C67-%04d", e.notices), "products": []string{"chip-b"}}
}

func (e *env) hearing() string {
	e.t.Helper()
	return e.must("cn-mofcom", "POST", "/api/v1/hearings", map[string]any{"title": "H200 demand", "product": "h200", "period_start": "2026-04-01", "period_end": "2026-07-01"}, 201)["id"].(string)
}

// reasons returns the rule ids and messages of an order's decision.
func reasons(o map[string]any) (rules []string, text string) {
	d, _ := o["decision"].(map[string]any)
	rs, _ := d["reasons"].([]any)
	var msgs []string
	for _, r := range rs {
		m := r.(map[string]any)
		if m["outcome"] == d["outcome"] {
			rules = append(rules, fmt.Sprint(m["rule"]))
			msgs = append(msgs, fmt.Sprint(m["message"]))
		}
	}
	return rules, strings.Join(msgs, "; ")
}

func hasRule(rules []string, id string) bool {
	for _, r := range rules {
		if r == id {
			return true
		}
	}
	return false
}

// TestArticleStory follows the article over HTTP: approved customers with
// licenses, an Entity List applicant blocked at screening, the 2026-01-15
// rule change, a banned chip, a license running out and a military end use.
func TestArticleStory(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.clock.Set(time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC))

		// A US cloud buys first: the CN volume cap is a share of US units.
		e.apply("us-cloud-a")
		if o := e.order("us-cloud-a", "h200", 100000, "commercial_ai"); o["status"] != "accepted" {
			t.Fatalf("US order: %v", o)
		}

		// ByteDance and Alibaba apply and are approved with licenses.
		licenses := map[string]string{}
		for _, buyer := range []string{"bytedance", "alibaba"} {
			app := e.apply(buyer)
			got := e.must("us-commerce", "GET", "/api/v1/applications/"+app, nil, 200)
			if got["status"] != "submitted" || got["screening"].(map[string]any)["status"] != "clear" {
				t.Fatalf("%s application: status %v screening %v", buyer, got["status"], got["screening"])
			}
			licenses[buyer] = e.approve(app, 50000)
			e.permit(buyer, 200000)
		}

		// Harbin Institute of Technology is on the Entity List: blocked.
		hit := applicationBody("Harbin Institute of Technology", "CN", "university")
		hit["end_uses"] = []string{"research"}
		blocked := e.must("cn-university-lab", "POST", "/api/v1/applications", hit, 201)
		scr := blocked["screening"].(map[string]any)
		if blocked["status"] != "blocked" || scr["status"] != "match" {
			t.Fatalf("HIT application: status %v, screening %v", blocked["status"], scr)
		}
		// The buyer learns it is blocked, never what matched.
		if _, ok := scr["hits"]; ok {
			t.Fatalf("the buyer's application shows its screening hits: %v", scr)
		}
		seen := e.must("us-commerce", "GET", "/api/v1/applications/"+blocked["id"].(string), nil, 200)["screening"].(map[string]any)
		first := seen["hits"].([]any)[0].(map[string]any)
		if first["list"] != "EL" || !strings.Contains(strings.ToLower(fmt.Sprint(first["name"])), "harbin institute of technology") {
			t.Fatalf("HIT's first hit: %v", first)
		}
		status, body, _ := e.do("us-commerce", "POST", "/api/v1/applications/"+blocked["id"].(string)+"/decision",
			map[string]any{"decision": "approve", "licenses": []map[string]any{{"vendor": "nvidia", "products": []string{"h200"}, "quantity": 10, "valid_from": "2026-01-01", "valid_until": "2027-01-01"}}})
		if status != 409 || !strings.Contains(string(body), "blocked") {
			t.Fatalf("approving a blocked application: %d %s, want 409 naming the state", status, body)
		}
		// Its orders are rejected: it is no approved customer and it is listed.
		e.clock.Set(time.Date(2026, 1, 20, 10, 0, 0, 0, time.UTC))
		if o := e.order("cn-university-lab", "h200", 10, "research"); o["status"] != "rejected" {
			t.Fatalf("order by a blocked applicant: %v", o)
		}

		// The day before the rule: presumption of denial.
		e.clock.Set(time.Date(2026, 1, 14, 12, 0, 0, 0, time.UTC))
		o := e.order("bytedance", "h200", 1000, "commercial_ai")
		rules, msg := reasons(o)
		if o["status"] != "rejected" || !hasRule(rules, "dest.cn-mo") {
			t.Fatalf("H200 on 2026-01-14: %v %v (%s), want rejected by dest.cn-mo", o["status"], rules, msg)
		}
		// On 2026-01-15 the US side moves to case-by-case review; China's
		// customs still admit none (S8), so the order waits for review.
		e.clock.Set(time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC))
		o = e.order("bytedance", "h200", 1000, "commercial_ai")
		rules, msg = reasons(o)
		if o["status"] != "held_for_review" || hasRule(rules, "dest.cn-mo") || !hasRule(rules, "cn.import-permit") {
			t.Fatalf("H200 on 2026-01-15: %v %v (%s), want held by cn.import-permit only", o["status"], rules, msg)
		}
		e.must("bytedance", "POST", "/api/v1/orders/"+o["id"].(string)+"/cancel", map[string]any{"reason": "wait for customs"}, 200)
		// Once China admits them (first approvals, 2026-01-28): accepted.
		e.clock.Set(time.Date(2026, 2, 2, 9, 0, 0, 0, time.UTC))
		o = e.order("bytedance", "h200", 1000, "commercial_ai")
		if o["status"] != "accepted" {
			rules, msg := reasons(o)
			t.Fatalf("H200 on 2026-02-02: %v %v (%s), want accepted", o["status"], rules, msg)
		}
		lic := e.must("bytedance", "GET", "/api/v1/licenses/"+licenses["bytedance"], nil, 200)
		if lic["remaining"] != float64(49000) {
			t.Fatalf("license remaining = %v, want 49000", lic["remaining"])
		}
		// Blackwell stays banned.
		o = e.order("bytedance", "b200", 10, "commercial_ai")
		rules, msg = reasons(o)
		if o["status"] != "rejected" || !strings.Contains(msg, "36,000") {
			t.Fatalf("B200: %v %v (%s), want rejected showing TPP 36,000", o["status"], rules, msg)
		}
		// Beyond the license: rejected with the remaining quantity.
		o = e.order("bytedance", "h200", 49001, "commercial_ai")
		rules, msg = reasons(o)
		if o["status"] != "rejected" || !strings.Contains(msg, "49,000") {
			t.Fatalf("beyond the license: %v %v (%s), want rejected naming 49,000 remaining", o["status"], rules, msg)
		}
		// A military end use.
		o = e.order("alibaba", "h200", 10, "military")
		rules, msg = reasons(o)
		if o["status"] != "rejected" || !hasRule(rules, "end-use.prohibited") {
			t.Fatalf("military end use: %v %v (%s), want rejected by end-use.prohibited", o["status"], rules, msg)
		}
		// Rejections depleted nothing.
		lic = e.must("bytedance", "GET", "/api/v1/licenses/"+licenses["bytedance"], nil, 200)
		if lic["remaining"] != float64(49000) {
			t.Fatalf("license remaining after rejections = %v, want 49000", lic["remaining"])
		}
		// Alibaba sees its own orders only; the authority sees all.
		var mine []map[string]any
		_, raw, _ := e.do("alibaba", "GET", "/api/v1/orders", nil)
		if err := jsonItems(raw, &mine); err != nil || len(mine) != 1 {
			t.Fatalf("alibaba's orders: %s", raw)
		}
	})
}

// TestConcurrentOrdersNeverOverDeplete: 50 simultaneous orders against a
// license with room for 10 accept exactly 10.
func TestConcurrentOrdersNeverOverDeplete(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		f := e.fixtures()
		// Shrink ByteDance's room to exactly 10 units.
		e.must("bytedance", "POST", "/api/v1/orders", map[string]any{"product": "h200", "quantity": 990, "requested_period": "2026-03-02", "end_use": "commercial_ai"}, 201)
		var wg sync.WaitGroup
		results := make(chan string, 50)
		for i := 0; i < 50; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status, raw, _ := e.do("bytedance", "POST", "/api/v1/orders", map[string]any{"product": "h200", "quantity": 1, "requested_period": "2026-03-02", "end_use": "commercial_ai"})
				var o map[string]any
				_ = json.Unmarshal(raw, &o)
				results <- fmt.Sprintf("%d %v", status, o["status"])
			}()
		}
		wg.Wait()
		close(results)
		counts := map[string]int{}
		for r := range results {
			counts[r]++
		}
		if counts["201 accepted"] != 10 || counts["201 rejected"] != 40 {
			t.Fatalf("outcomes %v, want 10 accepted and 40 rejected", counts)
		}
		lic := e.must("us-commerce", "GET", "/api/v1/licenses/"+f.licenses["bytedance"], nil, 200)
		if lic["remaining"] != float64(0) {
			t.Fatalf("remaining = %v, want 0", lic["remaining"])
		}
	})
}

// TestOrdersDrawOnlyOnRequiredGrants: a US customer that holds an export
// license (approved like any customer) orders for a US site: no license is
// required for a domestic sale, so the order neither draws on the license
// nor fails when the license is spent; a Chinese order draws on both its
// license and its permit.
func TestOrdersDrawOnlyOnRequiredGrants(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		f := e.fixtures()
		us := e.approve(f.apps["us-cloud-a"], 5)
		for range 2 {
			o := e.order("us-cloud-a", "h200", 20, "commercial_ai")
			if o["status"] != "accepted" || o["license_id"] != nil || o["permit_id"] != nil {
				t.Fatalf("US order with a 5-unit license: %v", o)
			}
			if d := o["decision"].(map[string]any); d["uses_license"] != nil || d["uses_permit"] != nil {
				t.Fatalf("US order's decision draws on grants: %v", d)
			}
		}
		if lic := e.must("us-commerce", "GET", "/api/v1/licenses/"+us, nil, 200); lic["remaining"] != float64(5) {
			t.Fatalf("the US customer's license after domestic orders: %v", lic["remaining"])
		}
		o := e.order("bytedance", "h200", 7, "commercial_ai")
		if o["status"] != "accepted" || o["license_id"] != f.licenses["bytedance"] || o["permit_id"] == nil {
			t.Fatalf("CN order: %v", o)
		}
		if lic := e.must("us-commerce", "GET", "/api/v1/licenses/"+f.licenses["bytedance"], nil, 200); lic["remaining"] != float64(1000-7) {
			t.Fatalf("bytedance's license after a 7-unit order: %v", lic["remaining"])
		}
	})
}

func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t, storetest.Backends()[0])
	f := e.fixtures()
	send := func(body string, key string) (int, map[string]any, http.Header) {
		resp := e.api.Do("bytedance", "POST", "/api/v1/orders", body, chipgatetest.IdempotencyKey(key))
		var out map[string]any
		_ = resp.Decode(&out)
		return resp.Status, out, resp.Header
	}
	body := `{"product":"h200","quantity":7,"requested_period":"2026-03-02","end_use":"commercial_ai"}`
	s1, o1, _ := send(body, "order-42")
	s2, o2, h2 := send(body, "order-42")
	if s1 != 201 || s2 != 201 || o1["id"] != o2["id"] || h2.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry: %d %v / %d %v (replayed %q)", s1, o1["id"], s2, o2["id"], h2.Get("Idempotent-Replayed"))
	}
	lic := e.must("bytedance", "GET", "/api/v1/licenses/"+f.licenses["bytedance"], nil, 200)
	if lic["remaining"] != float64(993) {
		t.Fatalf("remaining = %v after one order sent twice, want 993", lic["remaining"])
	}
	if s, p, _ := send(strings.Replace(body, "7", "8", 1), "order-42"); s != 422 || p["errors"] == nil {
		t.Fatalf("same key, other body: %d %v, want 422", s, p)
	}
	// Another party may use the same key for its own request.
	e.creds["alibaba-key"] = e.creds["alibaba"]
	resp := e.api.Do("alibaba", "POST", "/api/v1/orders", body, chipgatetest.IdempotencyKey("order-42"))
	var o3 map[string]any
	_ = resp.Decode(&o3)
	if resp.Status != 201 || o3["id"] == o1["id"] || o3["buyer"] != "alibaba" {
		t.Fatalf("other party, same key: %d %v", resp.Status, o3)
	}
}

func TestHearingTotalsAndPrivacy(t *testing.T) {
	e := newEnv(t, storetest.Backends()[0])
	id := e.hearing()
	e.must("bytedance", "POST", "/api/v1/hearings/"+id+"/filings", map[string]any{"forecast_units": 300000, "uses": []string{"commercial_ai", "recommendation"}}, 201)
	e.must("alibaba", "POST", "/api/v1/hearings/"+id+"/filings", map[string]any{"forecast_units": 200000, "uses": []string{"cloud_service"}}, 201)
	e.must("alibaba", "POST", "/api/v1/hearings/"+id+"/filings", map[string]any{"forecast_units": 250000, "uses": []string{"cloud_service"}}, 201) // replaces
	h := e.must("cn-mofcom", "GET", "/api/v1/hearings/"+id, nil, 200)
	if h["total_units"] != float64(550000) || len(h["filings"].([]any)) != 2 {
		t.Fatalf("authority view: total %v, %d filings", h["total_units"], len(h["filings"].([]any)))
	}
	mine := e.must("bytedance", "GET", "/api/v1/hearings/"+id, nil, 200)
	if fs := mine["filings"].([]any); len(fs) != 1 || fs[0].(map[string]any)["buyer"] != "bytedance" || mine["total_units"] != nil {
		t.Fatalf("buyer view leaks: %v", mine)
	}
	e.must("cn-mofcom", "POST", "/api/v1/hearings/"+id+"/close", nil, 200)
	if status, body, _ := e.do("tencent", "POST", "/api/v1/hearings/"+id+"/filings", map[string]any{"forecast_units": 1, "uses": []string{"x"}}); status != 409 || !strings.Contains(string(body), "closed") {
		t.Fatalf("filing in a closed hearing: %d %s", status, body)
	}
}

func jsonUnmarshal(raw []byte, v any) error { return json.Unmarshal(raw, v) }

// jsonItems decodes the items of a list read's page into v; an error when
// the page is not the last (the tests read lists that fit one page).
func jsonItems(raw []byte, v any) error {
	var p struct {
		Items json.RawMessage `json:"items"`
		Next  string          `json:"next"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return err
	}
	if p.Next != "" {
		return fmt.Errorf("a list read has more than one page (next %s)", p.Next)
	}
	return json.Unmarshal(p.Items, v)
}

// TestIdempotencyKeyUnderConcurrency: 200 clients send the same order with
// the same key at once; exactly one order is written, and every answer is
// that order or "still in flight".
func TestIdempotencyKeyUnderConcurrency(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		f := e.fixtures()
		body := `{"product":"h200","quantity":3,"requested_period":"2026-03-02","end_use":"commercial_ai"}`
		var wg sync.WaitGroup
		ids := make(chan string, 200)
		statuses := make(chan int, 200)
		for i := 0; i < 200; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := e.api.Send("bytedance", "POST", "/api/v1/orders", body, chipgatetest.IdempotencyKey("burst-1"))
				if err != nil {
					t.Error(err)
					return
				}
				var o map[string]any
				_ = resp.Decode(&o)
				statuses <- resp.Status
				if resp.Status == 201 {
					ids <- o["id"].(string)
				}
			}()
		}
		wg.Wait()
		close(ids)
		close(statuses)
		distinct := map[string]bool{}
		for id := range ids {
			distinct[id] = true
		}
		for s := range statuses {
			if s != 201 && s != 409 {
				t.Fatalf("status %d", s)
			}
		}
		if len(distinct) != 1 {
			t.Fatalf("%d distinct orders from one key", len(distinct))
		}
		lic := e.must("bytedance", "GET", "/api/v1/licenses/"+f.licenses["bytedance"], nil, 200)
		if lic["remaining"] != float64(997) {
			t.Fatalf("remaining = %v, want 997: the order was written more than once", lic["remaining"])
		}
	})
}
