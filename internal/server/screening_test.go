package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/screening"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

var screeners = map[domain.Role]int{domain.RoleVendor: 200, domain.RoleExportAuthority: 200, domain.RoleImportAuthority: 200}

var screeningMatrix = map[string]matrixEntry{
	"GET /api/v1/screen":            same(probe{"GET", "/api/v1/screen?name=Harbin+Institute+of+Technology&country=CN", nil, only2(screeners)}),
	"POST /api/v1/screen":           same(probe{"POST", "/api/v1/screen", map[string]any{"queries": []map[string]any{{"name": "Huawei Technologies"}, {"name": "华为技术有限公司"}}}, only2(screeners)}),
	"POST /api/v1/lists/reload":     same(probe{"POST", "/api/v1/lists/reload", nil, only(200, domain.RoleExportAuthority)}),
	"GET /api/v1/screening/reviews": same(probe{"GET", "/api/v1/screening/reviews", nil, only(200, domain.RoleExportAuthority)}),
	"GET /api/v1/screening/log":     same(probe{"GET", "/api/v1/screening/log?limit=5", nil, only2(map[domain.Role]int{domain.RoleExportAuthority: 200, domain.RoleAuditor: 200})}),
}

func TestScreenAPI(t *testing.T) {
	e := newEnv(t, storetest.Backends()[0])
	out := e.must("us-commerce", "GET", "/api/v1/screen?name=Harbin+Institute+of+Technology&country=CN", nil, 200)
	hits := out["hits"].([]any)
	if len(hits) == 0 || hits[0].(map[string]any)["list"] != "EL" {
		t.Fatalf("HIT: %v", out)
	}
	// The answer names the list versions it used; the search is logged
	// with them, and with who searched.
	vs, _ := out["list_versions"].([]any)
	if len(vs) == 0 || vs[0].(map[string]any)["digest"] == "" {
		t.Fatalf("list versions: %v", out["list_versions"])
	}
	status, body, _ := e.do("auditor", "GET", "/api/v1/screening/log?limit=1", nil)
	if status != 200 || !strings.Contains(string(body), `"query":"Harbin Institute of Technology"`) || !strings.Contains(string(body), `"officer":"us-commerce demo user"`) ||
		!strings.Contains(string(body), fmt.Sprintf(`"%s@%s"`, vs[0].(map[string]any)["list"], vs[0].(map[string]any)["digest"])) {
		t.Fatalf("screening log: %d %s", status, body)
	}
	if status, _, _ := e.do("auditor", "GET", "/api/v1/screening/log?before=yesterday", nil); status != 422 {
		t.Fatalf("a bad before: %d, want 422", status)
	}
	// Chinese script finds the romanized listing.
	_, body, _ = e.do("nvidia", "POST", "/api/v1/screen", map[string]any{"queries": []map[string]any{{"name": "华为技术有限公司"}}})
	if !strings.Contains(strings.ToLower(string(body)), "huawei technologies") {
		t.Fatalf("华为技术有限公司: %.400s", body)
	}
	// A name disguised with a zero-width space still hits, and says so.
	out = e.must("us-commerce", "GET", "/api/v1/screen?name=Hua%E2%80%8Bwei+Technologies+Co.%2C+Ltd.", nil, 200)
	if hits := out["hits"].([]any); len(hits) == 0 || !strings.Contains(strings.ToLower(hits[0].(map[string]any)["name"].(string)), "huawei") {
		t.Fatalf("zero-width space: %v", out)
	}
	if ev, _ := out["evasion"].([]any); len(ev) != 1 || ev[0] != screening.EvasionInvisible {
		t.Fatalf("zero-width space: evasion %v, want [%s]", out["evasion"], screening.EvasionInvisible)
	}
	for _, bad := range []string{"/api/v1/screen?name=", "/api/v1/screen?name=%2C%2C%2C", "/api/v1/screen?name=x&min_score=2", "/api/v1/screen?name=x&limit=-1"} {
		if status, body, _ := e.do("us-commerce", "GET", bad, nil); status != 422 {
			t.Errorf("%s: %d %s, want 422", bad, status, body)
		}
	}
}

// TestReloadRescreensAndReviewsStick: a reload that lists a customer blocks
// its orders; a false-positive review sticks across reloads of the same
// listing and is asked again when the listing changes.
func TestReloadRescreensAndReviewsStick(t *testing.T) {
	e := newEnv(t, storetest.Backends()[0])
	app := e.apply("deepcurrent-ai")
	e.approve(app, 100)
	listing := func(aliases ...string) *screening.Index {
		return screening.NewIndex([]screening.Entity{{
			Key: "EL:deepcurrent", Type: screening.TypeEntity, Name: "DeepCurrent AI (Hangzhou) Co., Ltd.", Aliases: aliases,
			Countries: []string{"CN"}, Sources: []screening.Source{{List: "EL", ID: "el-1", Name: "DeepCurrent AI (Hangzhou) Co., Ltd."}},
		}})
	}
	e.mu.Lock()
	e.lists = listing()
	e.mu.Unlock()
	// One entity instead of thousands: refused, the lists in force stay.
	if status, body, _ := e.do("us-commerce", "POST", "/api/v1/lists/reload", nil); status != 409 || !strings.Contains(string(body), "shrinks from") {
		t.Fatalf("shrinking reload: %d %s, want 409 naming the shrink", status, body)
	}
	if out := e.must("us-commerce", "GET", "/api/v1/screen?name=Harbin+Institute+of+Technology", nil, 200); len(out["hits"].([]any)) == 0 {
		t.Fatalf("after a refused reload the old lists are gone: %v", out)
	}
	if status, body, _ := e.do("us-commerce", "POST", "/api/v1/lists/reload?force=true", nil); status != 422 || !strings.Contains(string(body), "reason") {
		t.Fatalf("force without a reason: %d %s, want 422 naming reason", status, body)
	}
	rep := e.must("us-commerce", "POST", "/api/v1/lists/reload?force=true&reason=test+listing", nil, 200)
	if rep["applications_changed"] != float64(1) || rep["new_hits"] != float64(1) {
		t.Fatalf("reload: %v", rep)
	}
	queue := e.must("us-commerce", "GET", "/api/v1/screening/reviews", nil, 200)
	_ = queue
	got := e.must("us-commerce", "GET", "/api/v1/applications/"+app, nil, 200)
	if got["screening"].(map[string]any)["status"] != "match" || got["status"] != "approved" {
		t.Fatalf("after reload: %v %v", got["status"], got["screening"])
	}
	if o := e.order("deepcurrent-ai", "h200", 1, "commercial_ai"); o["status"] != "rejected" {
		rules, msg := reasons(o)
		t.Fatalf("order of a newly listed customer: %v %v %s", o["status"], rules, msg)
	}
	// The listed entry's details come with the hit, not a bare id.
	hit0 := got["screening"].(map[string]any)["hits"].([]any)[0].(map[string]any)
	if entry, _ := hit0["entry"].(map[string]any); entry == nil || entry["name"] != "DeepCurrent AI (Hangzhou) Co., Ltd." || entry["sources"].([]any)[0].(map[string]any)["list"] != "EL" {
		t.Fatalf("hit without its entry: %v", hit0)
	}
	// The authority finds it a false positive: it scores at least
	// four_eyes_score, so one officer's clear waits for a second.
	clear := map[string]any{"reviews": []map[string]any{{"hit": 0, "decision": "false_positive", "reason": "verified_distinct_party", "note": "registry extract on file"}}}
	if status, body, _ := e.do("us-commerce", "POST", "/api/v1/applications/"+app+"/hit-reviews",
		map[string]any{"reviews": []map[string]any{{"hit": 0, "decision": "false_positive", "note": "x"}}}); status != 422 || !strings.Contains(string(body), "reviews[0].reason") {
		t.Fatalf("a decision without a reason: %d %s", status, body)
	}
	one := e.must("us-commerce", "POST", "/api/v1/applications/"+app+"/hit-reviews", clear, 200)
	if h := one["screening"].(map[string]any)["hits"].([]any)[0].(map[string]any); h["review"] != "pending_second" || one["screening"].(map[string]any)["status"] != "match" {
		t.Fatalf("one officer's clear: %v", one["screening"])
	}
	if status, body, _ := e.do("us-commerce", "POST", "/api/v1/applications/"+app+"/hit-reviews", clear); status != 409 {
		t.Fatalf("the same officer's second clear: %d %s, want 409", status, body)
	}
	// The second clear is an approver's: an officer's is refused.
	e.officer("us-commerce", "us-commerce-officer", "officer only", domain.DutyOfficer)
	if status, body, _ := e.do("us-commerce-officer", "POST", "/api/v1/applications/"+app+"/hit-reviews", clear); status != 403 || !strings.Contains(string(body), "approver") {
		t.Fatalf("an officer's second clear: %d %s, want 403 naming the approver", status, body)
	}
	e.officer("us-commerce", "us-commerce-2", "second officer")
	e.must("us-commerce-2", "POST", "/api/v1/applications/"+app+"/hit-reviews", clear, 200)
	rep = e.must("us-commerce", "POST", "/api/v1/lists/reload", nil, 200)
	if rep["applications_changed"] != float64(0) {
		t.Fatalf("reloading the same listing changed %v applications", rep["applications_changed"])
	}
	got = e.must("us-commerce", "GET", "/api/v1/applications/"+app, nil, 200)
	h := got["screening"].(map[string]any)["hits"].([]any)[0].(map[string]any)
	if h["review"] != "false_positive" || h["reviewed_by"] != "second officer" || got["screening"].(map[string]any)["status"] != "clear" {
		t.Fatalf("review did not stick: %v", got["screening"])
	}
	// The listing changes (a new alias): asked again.
	e.mu.Lock()
	e.lists = listing("DeepCurrent Hangzhou")
	e.mu.Unlock()
	rep = e.must("us-commerce", "POST", "/api/v1/lists/reload", nil, 200)
	got = e.must("us-commerce", "GET", "/api/v1/applications/"+app, nil, 200)
	if rep["new_hits"] != float64(1) || got["screening"].(map[string]any)["status"] != "match" {
		t.Fatalf("changed listing: %v, %v", rep, got["screening"])
	}
}

// TestOwnershipChainInheritsListing: a buyer owned 60% by a registered
// party that is itself wholly owned by a company on the Entity List inherits
// the hit under BIS's affiliates rule (50% in the policy) — but not while
// that rule is suspended (2025-11-10 to 2026-11-09, S22), when the hit asks
// only for review; a 20% owner only asks for review either way.
func TestOwnershipChainInheritsListing(t *testing.T) {
	e := newEnv(t, storetest.Backends()[0])
	parent := applicationBody("Alibaba Cloud Computing Co., Ltd.", "CN", "platform")
	parent["owners"] = []map[string]any{{"name": "Huawei Technologies Co., Ltd.", "country": "CN", "share": 100}}
	e.must("alibaba", "POST", "/api/v1/applications", parent, 201)

	child := applicationBody("DeepCurrent AI (Hangzhou) Co., Ltd.", "CN", "sme")
	child["owners"] = []map[string]any{{"party": "alibaba", "share": 60}, {"name": "Founders", "share": 40}}
	got := e.must("deepcurrent-ai", "POST", "/api/v1/applications", child, 201)
	// The buyer never sees its hits; the export authority reads them.
	got = e.must("us-commerce", "GET", "/api/v1/applications/"+got["id"].(string), nil, 200)
	inherited := func(scr map[string]any) (found, inherited bool) {
		for _, h := range scr["hits"].([]any) {
			m := h.(map[string]any)
			if m["share"] == float64(60) && m["list"] == "EL" && strings.Contains(fmt.Sprint(m["via"]), "owners[0]→owners[0]") {
				found, inherited = true, m["inherited"] == true
			}
		}
		return found, inherited
	}
	// 2026-02-02: the affiliates rule is suspended.
	scr := got["screening"].(map[string]any)
	if found, inh := inherited(scr); got["status"] != "submitted" || scr["status"] != "potential_match" || !found || inh {
		t.Fatalf("60%% through a chain during the suspension: %v %v", got["status"], scr)
	}

	// From 2026-11-09 it is in force again: the same ownership blocks.
	e.clock.Set(time.Date(2026, 11, 9, 9, 0, 0, 0, time.UTC))
	e.must("us-commerce", "POST", "/api/v1/lists/reload", nil, 200)
	got = e.must("us-commerce", "GET", "/api/v1/applications/"+got["id"].(string), nil, 200)
	scr = got["screening"].(map[string]any)
	if found, inh := inherited(scr); got["status"] != "blocked" || scr["status"] != "match" || !found || !inh {
		t.Fatalf("60%% through a chain with the affiliates rule in force: %v %v", got["status"], scr)
	}

	minority := applicationBody("Shenzhen Tencent Computer Systems Co., Ltd.", "CN", "platform")
	minority["owners"] = []map[string]any{{"name": "Huawei Technologies Co., Ltd.", "share": 20}}
	got = e.must("tencent", "POST", "/api/v1/applications", minority, 201)
	if got["status"] != "submitted" || got["screening"].(map[string]any)["status"] != "potential_match" {
		t.Fatalf("20%% listed owner: %v %v", got["status"], got["screening"])
	}
}
