package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// TestWrongMethodIs405: a path the API serves for other methods answers
// 405 with Allow and problem+json (it answered 404); an unknown path is
// still 404.
func TestWrongMethodIs405(t *testing.T) {
	e := newEnv(t, storetest.Backends()[0])
	for _, c := range []struct {
		method, path, allow string
	}{
		{"DELETE", "/api/v1/orders", "POST, GET, HEAD"},
		{"PUT", "/api/v1/orders/0197a8b2-0000-7000-8000-000000000000/cancel", "POST"},
		{"POST", "/healthz", "GET, HEAD"},
		{"DELETE", "/api/v1/openapi.json", "GET, HEAD"},
	} {
		status, body, h := e.do("bytedance", c.method, c.path, nil)
		if status != http.StatusMethodNotAllowed || h.Get("Allow") != c.allow || h.Get("Content-Type") != "application/problem+json" ||
			!strings.Contains(string(body), "method_not_allowed") {
			t.Errorf("%s %s: %d Allow %q %s; want 405 Allow %q", c.method, c.path, status, h.Get("Allow"), body, c.allow)
		}
	}
	if status, _, _ := e.do("bytedance", "GET", "/api/v1/nothing-here", nil); status != http.StatusNotFound {
		t.Errorf("unknown path: %d, want 404", status)
	}
}

// TestLocationETagAndIfMatch: a 201 says where the record is; reading it
// gives its ETag; a change conditional on the current ETag succeeds and
// gives the new one; one conditional on a stale ETag is 412 and changes
// nothing; If-Match: * and no If-Match are unconditional.
func TestLocationETagAndIfMatch(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.apply("us-cloud-a")
		order := map[string]any{"product": "h200", "quantity": 10, "requested_period": "2026-03-02", "site": 0, "end_use": "commercial_ai"}
		r := e.api.Do("us-cloud-a", "POST", "/api/v1/orders", order)
		var placed struct{ ID string }
		if r.Status != 201 || r.Decode(&placed) != nil || r.Header.Get("Location") != "/api/v1/orders/"+placed.ID {
			t.Fatalf("POST /orders: %d Location %q (id %s)", r.Status, r.Header.Get("Location"), placed.ID)
		}
		got := e.api.Do("us-cloud-a", "GET", r.Header.Get("Location"), nil)
		tag := got.Header.Get("ETag")
		if got.Status != 200 || !strings.HasPrefix(tag, `"`) || len(tag) < 10 {
			t.Fatalf("GET the Location: %d ETag %q", got.Status, tag)
		}
		if again := e.api.Do("us-cloud-a", "GET", r.Header.Get("Location"), nil); again.Header.Get("ETag") != tag {
			t.Fatalf("ETag of an unchanged order moved: %q then %q", tag, again.Header.Get("ETag"))
		}
		// A second order to cancel on a stale tag.
		r2 := e.api.Do("us-cloud-a", "POST", "/api/v1/orders", order)
		var second struct{ ID string }
		if r2.Status != 201 || r2.Decode(&second) != nil {
			t.Fatalf("second order: %d", r2.Status)
		}
		cancel := map[string]any{"reason": "no longer needed"}
		stale := e.api.Do("us-cloud-a", "POST", "/api/v1/orders/"+second.ID+"/cancel", cancel, chipgatetest.Header("If-Match", tag))
		if stale.Status != http.StatusPreconditionFailed || !strings.Contains(string(stale.Body), "precondition_failed") {
			t.Fatalf("cancel with another order's ETag: %d %s, want 412", stale.Status, stale.Body)
		}
		if o := e.must("us-cloud-a", "GET", "/api/v1/orders/"+second.ID, nil, 200); o["status"] != "accepted" {
			t.Fatalf("after a 412 the order is %v", o["status"])
		}
		ok := e.api.Do("us-cloud-a", "POST", "/api/v1/orders/"+placed.ID+"/cancel", cancel, chipgatetest.Header("If-Match", tag))
		if ok.Status != 200 || ok.Header.Get("ETag") == "" || ok.Header.Get("ETag") == tag {
			t.Fatalf("cancel with the current ETag: %d ETag %q (was %q)", ok.Status, ok.Header.Get("ETag"), tag)
		}
		if now := e.api.Do("us-cloud-a", "GET", "/api/v1/orders/"+placed.ID, nil); now.Header.Get("ETag") != ok.Header.Get("ETag") {
			t.Fatalf("the ETag a change answers (%q) is not the one a read then gives (%q)", ok.Header.Get("ETag"), now.Header.Get("ETag"))
		}
		// The old tag is stale now: a retry on it is 412, not a second change.
		if again := e.api.Do("us-cloud-a", "POST", "/api/v1/orders/"+placed.ID+"/cancel", cancel, chipgatetest.Header("If-Match", tag)); again.Status != http.StatusPreconditionFailed {
			t.Fatalf("a change on the pre-change ETag: %d, want 412", again.Status)
		}
		if any := e.api.Do("us-cloud-a", "POST", "/api/v1/orders/"+second.ID+"/cancel", cancel, chipgatetest.Header("If-Match", "*")); any.Status != 200 {
			t.Fatalf("If-Match: *: %d %s", any.Status, any.Body)
		}
	})
}

// TestMetricsNeedTheOperatorsCredential: /metrics shows platform-wide
// counts: a buyer's token is 403, no token 401, the export authority's 200
// with Prometheus' text format.
func TestMetricsNeedTheOperatorsCredential(t *testing.T) {
	e := newEnv(t, storetest.Backends()[0])
	for party, want := range map[string]int{"bytedance": 403, "nvidia": 403, "": 401, "us-commerce": 200} {
		status, body, h := e.do(party, "GET", "/metrics", nil)
		if status != want {
			t.Errorf("/metrics as %q: %d, want %d", party, status, want)
		}
		if want == 200 && (!strings.HasPrefix(h.Get("Content-Type"), "text/plain") || !strings.Contains(string(body), "# TYPE go_gc_duration_seconds")) {
			t.Errorf("/metrics: %s %.200s", h.Get("Content-Type"), body)
		}
	}
}

// TestListsAreNeverNull: lists the document calls arrays are [] when
// empty, never null (red_flags of a clean application, a denied permit's
// products, the outlook's unmet orders of a buyer without any).
func TestListsAreNeverNull(t *testing.T) {
	e := newEnv(t, storetest.Backends()[0])
	app := e.apply("us-cloud-a")
	_, body, _ := e.do("us-cloud-a", "GET", "/api/v1/applications/"+app, nil)
	if !strings.Contains(string(body), `"red_flags":[]`) {
		t.Errorf("a clean application: %.300s", body)
	}
	_, body, _ = e.do("cn-mofcom", "POST", "/api/v1/permits", map[string]any{"buyer": "bytedance", "decision": "deny", "reason": "no"})
	if strings.Contains(string(body), "null") {
		t.Errorf("a denied permit has a null: %s", body)
	}
	e.order("us-cloud-a", "h200", 10, "commercial_ai")
	e.must("nvidia", "POST", "/api/v1/allocation-runs", map[string]any{"start": "2026-02-02", "periods": 4, "uncertainty": map[string]any{"seed": 1, "runs": 5}}, 201)
	_, body, _ = e.do("alibaba", "GET", "/api/v1/outlook", nil)
	if !strings.Contains(string(body), `"unmet":[]`) || !strings.Contains(string(body), `"orders":[]`) {
		t.Errorf("the outlook of a buyer without orders: %s", body)
	}
}
