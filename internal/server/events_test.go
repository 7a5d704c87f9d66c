package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/server"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store/storetest"
	"github.com/chipgate/chipgate/internal/webhook"
)

// hook subscribes the party to events at an address nothing listens on and
// returns the subscription's id.
func (e *env) hook(party string) string {
	e.t.Helper()
	out := e.must(party, "POST", "/api/v1/webhooks", map[string]any{"url": "http://127.0.0.1:9/hook", "types": []string{"order.held"}}, 201)
	return out["id"].(string)
}

// otherParty is a party whose subscriptions role's cast party may not see.
func otherParty(role domain.Role) string {
	if role == domain.RoleBuyer {
		return "alibaba"
	}
	return "bytedance"
}

var eventsMatrix = map[string]matrixEntry{
	"POST /api/v1/webhooks": same(probe{"POST", "/api/v1/webhooks", map[string]any{"url": "http://127.0.0.1:9/hook", "types": []string{"order.held"}}, every(201)}),
	"GET /api/v1/webhooks":  same(probe{"GET", "/api/v1/webhooks", nil, every(200)}),
	"GET /api/v1/webhooks/{id}": func(e *env, role domain.Role) (probe, probe) {
		return probe{"GET", "/api/v1/webhooks/" + e.hook(actorOf[role]), nil, every(200)},
			probe{"GET", "/api/v1/webhooks/" + e.hook(otherParty(role)), nil, every(404)}
	},
	"DELETE /api/v1/webhooks/{id}": func(e *env, role domain.Role) (probe, probe) {
		return probe{"DELETE", "/api/v1/webhooks/" + e.hook(actorOf[role]), nil, every(204)},
			probe{"DELETE", "/api/v1/webhooks/" + e.hook(otherParty(role)), nil, every(404)}
	},
	"POST /api/v1/webhooks/{id}/replay": func(e *env, role domain.Role) (probe, probe) {
		return probe{"POST", "/api/v1/webhooks/" + e.hook(actorOf[role]) + "/replay", map[string]any{"from": 0}, every(200)},
			probe{"POST", "/api/v1/webhooks/" + e.hook(otherParty(role)) + "/replay", map[string]any{"from": 0}, every(404)}
	},
	// Every role may listen; what it hears is what it may read. An
	// unknown type is 422 before the stream starts.
	"GET /api/v1/events/stream": same(probe{"GET", "/api/v1/events/stream?types=token.issued", nil, every(422)}),
}

// TestWebhookAPI: a subscription made over HTTP shows its secret once and
// a Location; a URL that is not http(s), or a private address when the
// server refuses them, or an unknown type is 422 naming the field; the
// list and the read never show the secret again.
func TestWebhookAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		r := e.api.Do("bytedance", "POST", "/api/v1/webhooks", map[string]any{"url": "https://hooks.example.com/cg", "types": []string{"order.decided", "shipment.*"}})
		if r.Status != 201 || !strings.HasPrefix(r.Header.Get("Location"), "/api/v1/webhooks/") {
			t.Fatalf("create: %d %s %v", r.Status, r.Body, r.Header)
		}
		var w service.Webhook
		if err := json.Unmarshal(r.Body, &w); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(w.Secret, "whsec_") || w.Party != "bytedance" {
			t.Fatalf("created %+v", w)
		}
		for _, path := range []string{"/api/v1/webhooks", "/api/v1/webhooks/" + w.ID.String()} {
			if r := e.api.Do("bytedance", "GET", path, nil); r.Status != 200 || strings.Contains(string(r.Body), "whsec_") || !strings.Contains(string(r.Body), w.ID.String()) {
				t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
			}
		}
		// With an Idempotency-Key, a retry gets the secret again, but the
		// idempotency table keeps the answer without it.
		body := map[string]any{"url": "https://hooks.example.com/again"}
		first := e.api.Do("bytedance", "POST", "/api/v1/webhooks", body, chipgatetest.IdempotencyKey("hook-1"))
		again := e.api.Do("bytedance", "POST", "/api/v1/webhooks", body, chipgatetest.IdempotencyKey("hook-1"))
		var w1, w2 service.Webhook
		if err := errors.Join(json.Unmarshal(first.Body, &w1), json.Unmarshal(again.Body, &w2)); err != nil || first.Status != 201 || again.Status != 201 ||
			again.Header.Get("Idempotent-Replayed") != "true" || w1.ID != w2.ID || w1.Secret == "" || w2.Secret != w1.Secret {
			t.Fatalf("an idempotent creation: %d %s, then %d %s", first.Status, first.Body, again.Status, again.Body)
		}
		kept := storetest.OpenRaw(t, e.kit.DSN).Bytes(t, "SELECT response FROM idempotency WHERE key = ?", "hook-1")
		if len(kept) == 0 || strings.Contains(string(kept), "whsec_") {
			t.Fatalf("the idempotency table keeps %s", kept)
		}
		for name, tc := range map[string]struct {
			body map[string]any
			path string
		}{
			"FTP":         {map[string]any{"url": "ftp://hooks.example.com/"}, "url"},
			"NotAURL":     {map[string]any{"url": "hooks"}, "url"},
			"UnknownType": {map[string]any{"url": "https://hooks.example.com/", "types": []string{"token.issued"}}, "types[0]"},
		} {
			t.Run(name, func(t *testing.T) {
				r := e.api.Do("bytedance", "POST", "/api/v1/webhooks", tc.body)
				if r.Status != 422 || !strings.Contains(string(r.Body), `"`+tc.path+`"`) {
					t.Fatalf("%d %s, want 422 naming %s", r.Status, r.Body, tc.path)
				}
			})
		}
	})
}

// TestWebhookPrivateAddresses: by default (no --webhook-allow-private) a
// subscription to a loopback, private or link-local address is refused.
func TestWebhookPrivateAddresses(t *testing.T) {
	kit := chipgatetest.New(t)
	svc := service.New(kit.Store, service.Options{Log: chipgatetest.QuietLog(), Now: kit.Clock.Now, Policy: chipgatetest.Policy(t),
		Webhooks: service.WebhookOptions{Key: []byte("k")}})
	who := kit.Actor("bytedance")
	for _, u := range []string{"http://127.0.0.1:8080/", "http://localhost/", "http://10.0.0.8/", "http://169.254.169.254/", "http://[::1]/"} {
		_, err := svc.CreateWebhook(context.Background(), who, service.WebhookRequest{URL: u})
		if domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("subscribing %s: %v, want EINVALID", u, err)
		}
	}
	if _, err := svc.CreateWebhook(context.Background(), who, service.WebhookRequest{URL: "https://203.0.113.9/hook"}); err != nil {
		t.Fatalf("a public address: %v", err)
	}
}

// sse reads one Server-Sent Events stream.
type sse struct {
	t      *testing.T
	cancel context.CancelFunc
	events chan sseEvent
}

type sseEvent struct{ id, typ, data string }

func openStream(t *testing.T, url, token, lastID string) *sse {
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/api/v1/events/stream", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &sse{t: t, cancel: cancel, events: make(chan sseEvent, 100)}
	t.Cleanup(cancel)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.id != "" {
					s.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.typ = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	return s
}

func (s *sse) next() sseEvent {
	s.t.Helper()
	select {
	case ev := <-s.events:
		return ev
	case <-time.After(20 * time.Second):
		s.t.Fatal("no event on the stream")
	}
	return sseEvent{}
}

// TestEventStream: a buyer's stream carries its own events live, and none
// of another buyer's (which came first); Last-Event-ID resumes after an
// event; the export authority hears both buyers'.
func TestEventStream(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		kit := chipgatetest.New(t, chipgatetest.OnBackend(b))
		api := kit.Serve(server.Options{RateLimit: -1})
		s := openStream(t, api.URL, kit.Creds["bytedance"].Token, "")
		ctx := context.Background()
		req := func(buyer string) service.ApplicationRequest {
			return service.ApplicationRequest{LegalName: buyer + " Ltd", Country: "CN", Registered: "2012-03-09",
				Addresses: []string{"1 Road, CN"}, BusinessType: "platform", Sector: "private", EndUses: []string{"commercial_ai"}, KYCAttested: true,
				Volumes: map[string]int64{"h200": 10}, Sites: []domain.Site{{Address: "DC 1", Country: "CN", PowerMW: 20}}}
		}
		time.Sleep(50 * time.Millisecond) // the stream starts at the ledger's end
		other, err := kit.Service.SubmitApplication(ctx, kit.Actor("alibaba"), req("alibaba"))
		if err != nil {
			t.Fatal(err)
		}
		own, err := kit.Service.SubmitApplication(ctx, kit.Actor("bytedance"), req("bytedance"))
		if err != nil {
			t.Fatal(err)
		}
		ev := s.next()
		var body struct {
			Type string            `json:"type"`
			Data service.EventData `json:"data"`
		}
		if err := json.Unmarshal([]byte(ev.data), &body); err != nil {
			t.Fatal(err)
		}
		if ev.typ != webhook.ApplicationSubmitted || body.Data.SubjectID != own.ID.String() || ev.id == "" {
			t.Fatalf("first event %+v, want bytedance's application (alibaba's is %s)", ev, other.ID)
		}
		s.cancel()

		// Resuming after the event before bytedance's gives it again.
		resumed := openStream(t, api.URL, kit.Creds["bytedance"].Token, "0")
		if again := resumed.next(); again.id != ev.id {
			t.Fatalf("resumed from the start: first event %s, want %s", again.id, ev.id)
		}
		// The export authority hears both.
		auth := openStream(t, api.URL, kit.Creds["us-commerce"].Token, "0")
		var subjects []string
		for len(subjects) < 2 {
			e := auth.next()
			if e.typ == webhook.ApplicationSubmitted {
				subjects = append(subjects, e.data)
			}
		}
		if !strings.Contains(subjects[0], other.ID.String()) || !strings.Contains(subjects[1], own.ID.String()) {
			t.Fatalf("the authority heard %q", subjects)
		}
	})
}
