package server_test

import (
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/server"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// TestTamperedStateOverHTTP: an order over the API that would read a
// license changed behind the program's back (its ref column) is answered
// 500 with the problem type state_tampered and decides nothing; the
// metric counts it, and an alert awaits the export authority.
func TestTamperedStateOverHTTP(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		e := chipgatetest.New(t, chipgatetest.OnBackend(b), chipgatetest.WithStory())
		c := e.Serve(server.Options{})
		order := map[string]any{"product": "h200", "quantity": 1, "requested_period": "2026-03-02", "end_use": "commercial_ai"}
		if r := c.Do("bytedance", "POST", "/api/v1/orders", order); r.Status != 201 {
			t.Fatalf("an order on intact state: %d %s", r.Status, r.Body)
		}
		raw := storetest.OpenRaw(t, e.DSN)
		if raw.Exec(t, "UPDATE licenses SET ref = 'forged' WHERE party_id = (SELECT id FROM parties WHERE slug = 'bytedance')") == 0 {
			t.Fatal("bytedance holds no license")
		}
		before := chipgatetest.AuditSize(t, e.Store)
		r := c.Do("bytedance", "POST", "/api/v1/orders", order)
		var p server.Problem
		if err := r.Decode(&p); err != nil || r.Status != 500 || p.Type != "tag:chipgate,2026:problem:state_tampered" || !strings.Contains(p.Detail, "disagrees with its ledger") {
			t.Fatalf("an order on tampered state: %d %s", r.Status, r.Body)
		}
		if got := chipgatetest.AuditSize(t, e.Store); got != before+1 { // the alert's record
			t.Fatalf("%d records, want the alert's only", got-before)
		}
		if m := c.Do("auditor", "GET", "/metrics", nil); !strings.Contains(string(m.Body), `chipgate_state_tampered_total{table="licenses"} 1`) {
			t.Fatalf("metrics lack the tampered row")
		}
		if a := c.Do("us-commerce", "GET", "/api/v1/alerts", nil); a.Status != 200 || !strings.Contains(string(a.Body), `"kind":"state_tampered"`) {
			t.Fatalf("alerts: %d %s", a.Status, a.Body)
		}
	})
}
