package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// keepAlive is how long an event stream may stay silent before it sends
// a comment, so that proxies do not close an idle connection.
const keepAlive = 15 * time.Second

func (s *Server) eventRoutes() []Route {
	svc := s.svc
	return []Route{
		{Method: "POST", Path: "/api/v1/webhooks", Summary: "Subscribe the caller's party to events at a URL; the answer shows the signing secret, once",
			Description: "Deliveries are signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature); see docs/EVENTS.md for the event types and the delivery semantics.",
			Status:      http.StatusCreated, Request: service.WebhookRequest{}, Response: service.Webhook{},
			secret: &secretAnswer{remove: withoutSecret, restore: func(r *http.Request, who domain.Actor, kept []byte) ([]byte, error) {
				var w service.Webhook
				if err := json.Unmarshal(kept, &w); err != nil {
					return nil, err
				}
				secret, err := svc.WebhookSecret(who, w.ID)
				if err != nil {
					return nil, err
				}
				w.Secret = secret
				return json.Marshal(w)
			}},
			handle: withBody(http.StatusCreated, func(r *http.Request, who domain.Actor, in service.WebhookRequest) (any, error) {
				return svc.CreateWebhook(r.Context(), who, in)
			})},
		{Method: "GET", Path: "/api/v1/webhooks", Summary: "The caller's party's webhook subscriptions, with their delivery state and dead letters", Response: []service.Webhook{},
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				out, err := svc.Webhooks(r.Context(), who)
				if err != nil {
					return err
				}
				return writeJSON(w, http.StatusOK, nonNil(out))
			}},
		{Method: "GET", Path: "/api/v1/webhooks/{id}", Summary: "One of the caller's party's webhook subscriptions", Response: service.Webhook{},
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				id, err := pathID(r, "id")
				if err != nil {
					return err
				}
				out, err := svc.Webhook(r.Context(), who, id)
				if err != nil {
					return err
				}
				return writeJSON(w, http.StatusOK, out)
			}},
		{Method: "DELETE", Path: "/api/v1/webhooks/{id}", Summary: "End one of the caller's party's webhook subscriptions", Status: http.StatusNoContent,
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				id, err := pathID(r, "id")
				if err != nil {
					return err
				}
				if err := svc.DeleteWebhook(r.Context(), who, id); err != nil {
					return err
				}
				w.WriteHeader(http.StatusNoContent)
				return nil
			}},
		{Method: "POST", Path: "/api/v1/webhooks/{id}/replay", Summary: "Deliver a subscription's events again from a ledger index (default: its oldest dead letter), with their ids",
			Request: service.ReplayRequest{}, Response: service.Webhook{},
			handle: withBody(http.StatusOK, func(r *http.Request, who domain.Actor, in service.ReplayRequest) (any, error) {
				id, err := pathID(r, "id")
				if err != nil {
					return nil, err
				}
				return svc.ReplayWebhook(r.Context(), who, id, in)
			})},
		{Method: "GET", Path: "/api/v1/events/stream", Summary: "Server-Sent Events: the events the caller may read, live, in ledger order (Last-Event-ID resumes)",
			Description: "Each message has id (the ledger index), event (the type) and data (the event as a webhook carries it). Without Last-Event-ID the stream starts at the ledger's end.",
			Media:       []string{"text/event-stream"}, stream: true,
			Query: []Param{{Name: "types", Description: "Comma-separated event types (docs/EVENTS.md); all when absent.",
				Schema: map[string]any{"type": "string"}, Example: "order.held,alert.raised"}},
			handle: s.eventStream},
	}
}

// withoutSecret is a subscription's answer without its secret.
func withoutSecret(body []byte) []byte {
	return keptWithout(body, func(w *service.Webhook) { w.Secret = "" })
}

// keptWithout is an answer of type T with its secret cleared, for the
// idempotency table; nil (keep nothing rather than a secret) for a body
// that is not a T.
func keptWithout[T any](body []byte, clear func(*T)) []byte {
	var v T
	if json.Unmarshal(body, &v) != nil {
		return nil
	}
	clear(&v)
	out, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return out
}

// eventStream serves GET /api/v1/events/stream.
func (s *Server) eventStream(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
	var types []string
	if v := r.URL.Query().Get("types"); v != "" {
		types = strings.Split(v, ",")
	}
	from := int64(-1)
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return domain.Invalid("Last-Event-ID", "must be a ledger index")
		}
		from = n + 1
	}
	rc := http.NewResponseController(w)
	started := false
	last := time.Now()
	write := func(text string) error {
		if !started {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("X-Accel-Buffering", "no")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		// The server's write timeout bounds a response; a stream's is
		// bounded by its client, so each write gets a new deadline.
		_ = rc.SetWriteDeadline(time.Now().Add(keepAlive + 30*time.Second))
		if _, err := fmt.Fprint(w, text); err != nil {
			return err
		}
		last = time.Now()
		return rc.Flush()
	}
	err := s.svc.StreamEvents(r.Context(), who, from, types, func(ev service.Event) error {
		body, err := json.Marshal(struct {
			Type      string            `json:"type"`
			Timestamp time.Time         `json:"timestamp"`
			Data      service.EventData `json:"data"`
		}{ev.Type, ev.Timestamp, ev.Data})
		if err != nil {
			return err
		}
		return write("id: " + ev.ID + "\nevent: " + ev.Type + "\ndata: " + string(body) + "\n\n")
	}, func() error {
		if !started {
			return write(": chipgate events\n\n")
		}
		if time.Since(last) >= keepAlive {
			return write(": keep-alive\n\n")
		}
		return nil
	})
	if started {
		return nil // the stream has begun: an error ends it, it cannot become a problem document
	}
	return err
}
