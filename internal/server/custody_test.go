package server_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/demo"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// party registers a party beyond the demo cast, with a token the client
// sends for it.
func (e *env) party(slug string, role domain.Role, country string) {
	e.t.Helper()
	ctx, sys := context.Background(), domain.SystemActor
	if _, err := e.svc.CreateParty(ctx, sys, service.PartyRequest{Slug: slug, Name: slug, Role: role, Country: country}); err != nil {
		e.t.Fatal(err)
	}
	u, err := e.svc.CreateUser(ctx, sys, service.UserRequest{Party: slug, Name: slug + " user", Duties: domain.AllDuties})
	if err != nil {
		e.t.Fatal(err)
	}
	tok, err := e.svc.IssueToken(ctx, sys, u.ID, "test", 0)
	if err != nil {
		e.t.Fatal(err)
	}
	e.api.Creds[slug] = demo.Credential{Role: role, Token: tok.Secret}
}

// TestCustodyRoutes: over HTTP, every event route (custody events and the
// lab test) of a shipment to China, tried at each step by every carrier,
// lab and buyer, and both authorities, before the party the step belongs
// to: only that party gets 200; a party the shipment does not name gets
// 404 (or 403 for a role that never records the kind) whose body says
// nothing of the shipment; the shipment does not move.
func TestCustodyRoutes(t *testing.T) {
	e := newEnv(t, storetest.Backends()[0])
	e.fixtures()
	e.party("carrier-b", domain.RoleCarrier, "US")
	e.party("lab-b", domain.RoleLab, "US")
	// Units exported to US end users first: China's cap counts against them.
	e.event(e.shipmentOf("us-cloud-a", 10, 3_000_000), "picked_up", "TW")
	id := e.shipmentOf("bytedance", 2, 3_000_000)
	everyone := []string{"carrier", "carrier-b", "us-testlab", "lab-b", "bytedance", "alibaba", "nvidia", "us-commerce", "cn-mofcom", "auditor"}
	lab := map[string]any{"throughput": []map[string]any{{"bits": 8, "dense_tops": 1979}}, "bandwidth_gbps": 4800}
	for _, step := range []struct{ kind, country, speaker string }{
		{"picked_up", "TW", "carrier"},
		{"arrived", "US", "carrier"},
		{"customs_cleared", "US", "carrier"},
		{"lab_test", "US", "us-testlab"},
		{"export_cleared", "US", "us-commerce"},
		{"picked_up", "US", "carrier"},
		{"arrived", "CN", "carrier"},
		{"customs_cleared", "CN", "cn-mofcom"},
		{"delivered", "CN", "carrier"},
	} {
		path, body := "/api/v1/shipments/"+id+"/events", any(map[string]any{"kind": step.kind, "country": step.country, "place": "hub"})
		if step.kind == "lab_test" {
			path, body = "/api/v1/shipments/"+id+"/lab-tests", lab
		}
		for _, party := range everyone {
			if party == step.speaker {
				continue
			}
			status, raw, _ := e.do(party, "POST", path, body)
			if status == 200 || status == 201 {
				t.Fatalf("%s %s by %s: %d; only %s may", step.kind, step.country, party, status, step.speaker)
			}
			if status == 404 && (strings.Contains(string(raw), "SH-") || strings.Contains(string(raw), "bytedance")) {
				t.Fatalf("%s by %s: the 404 says something of the shipment: %s", step.kind, party, raw)
			}
		}
		got := e.must(step.speaker, "POST", path, body, 200)
		if step.kind != "lab_test" {
			evs := got["events"].([]any)
			ev := evs[len(evs)-1].(map[string]any)
			if ev["kind"] != step.kind || ev["by"] != step.speaker || ev["role"] != string(e.api.Creds[step.speaker].Role) {
				t.Fatalf("event %v", ev)
			}
		}
	}
}
