package service

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/webhook"
)

// WebhookOptions are the operator's settings for events (serve's flags),
// not rules of the program: how hard to try and whom to reach.
type WebhookOptions struct {
	// Key derives each subscription's signing secret (webhook.Secret);
	// without it no subscription can be made. serve derives it from the
	// ledger's key file, so that the database holds nothing that forges a
	// webhook.
	Key []byte
	// AllowPrivate lets receivers be loopback, private or link-local
	// addresses (tests, a receiver on the operator's own network); by
	// default they are refused when subscribing and when connecting.
	AllowPrivate bool
	// MaxAttempts is how many failed attempts put an event in the dead
	// letters (default 8); Backoff and MaxBackoff shape the wait between
	// attempts (defaults 1 s and 1 h, see webhook.Backoff); Timeout bounds
	// one attempt (default 10 s); Poll is how often a caught-up worker or
	// stream looks for new records (default 500 ms).
	MaxAttempts int
	Backoff     time.Duration
	MaxBackoff  time.Duration
	Timeout     time.Duration
	Poll        time.Duration
}

func (o WebhookOptions) withDefaults() WebhookOptions {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Hour
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = 500 * time.Millisecond
	}
	return o
}

// WebhookRequest subscribes the caller's party to events.
type WebhookRequest struct {
	// URL receives the events: http or https.
	URL string `json:"url"`
	// Types are the event types wanted (docs/EVENTS.md); none, or "*",
	// means all; "shipment.*" every shipment event.
	Types []string `json:"types"`
}

// ReplayRequest rewinds a subscription.
type ReplayRequest struct {
	// From is the ledger index to deliver from again; without it, the
	// oldest dead letter's.
	From *int64 `json:"from,omitempty"`
}

// Webhook is a subscription as its party sees it.
type Webhook struct {
	ID        domain.ID `json:"id"`
	Party     string    `json:"party"`
	URL       string    `json:"url"`
	Types     []string  `json:"types"`
	CreatedAt time.Time `json:"created_at"`
	// Secret signs the deliveries; shown once, in the answer that made
	// the subscription.
	Secret string `json:"secret,omitempty"`
	// NextIndex is the ledger index the worker considers next.
	NextIndex     int64        `json:"next_index"`
	Delivered     int64        `json:"delivered"`
	Failures      int          `json:"failures"`
	NextAttemptAt *time.Time   `json:"next_attempt_at,omitempty"`
	LastError     string       `json:"last_error,omitempty"`
	DeadLetters   []DeadLetter `json:"dead_letters"`
}

// DeadLetter is an event given up on after the operator's number of
// attempts; a replay delivers it again.
type DeadLetter struct {
	EventID     string    `json:"event_id"`
	LedgerIndex int64     `json:"ledger_index"`
	Type        string    `json:"type"`
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"last_error"`
	FailedAt    time.Time `json:"failed_at"`
}

// Event is one announcement: the body of a delivery and of a stream
// message (Standard Webhooks' type, timestamp and data).
type Event struct {
	// ID is the webhook-id: the ledger index of the record announced, or
	// "checkpoint-<size>"; the same on every attempt and replay.
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      EventData `json:"data"`
}

// EventData says what happened to which subject, and the subject as the
// receiving party reads it at delivery.
type EventData struct {
	// LedgerIndex is the record's index (the checkpoint's size for
	// checkpoint.published): its inclusion proof is the event's evidence.
	LedgerIndex int64  `json:"ledger_index"`
	Action      string `json:"action"`
	SubjectType string `json:"subject_type"`
	SubjectID   string `json:"subject_id"`
	// Object is the subject as GET returns it to the subscriber.
	Object any `json:"object"`
}

func webhookOf(w store.Webhook, party string, dead []store.DeadLetter) Webhook {
	v := Webhook{ID: w.ID, Party: party, URL: w.URL, Types: w.Types, CreatedAt: w.CreatedAt, NextIndex: w.NextIndex,
		Delivered: w.Delivered, Failures: w.Failures, NextAttemptAt: w.NextAttemptAt, LastError: w.LastError, DeadLetters: []DeadLetter{}}
	if v.Types == nil {
		v.Types = []string{}
	}
	for _, d := range dead {
		v.DeadLetters = append(v.DeadLetters, DeadLetter(d))
	}
	return v
}

// webhookRecord is what the ledger keeps of a subscription: no secret.
type webhookRecord struct {
	ID    domain.ID `json:"id"`
	Party string    `json:"party"`
	URL   string    `json:"url"`
	Types []string  `json:"types"`
	From  *int64    `json:"from,omitempty"`
}

// CreateWebhook subscribes the caller's party to events of the types asked
// for, from the next record on, and returns the subscription with its
// secret (shown this once). Callers: every role, for its own party.
// Returns EINVALID naming url or types[i]; EUNAVAILABLE when the server
// has no webhook key.
func (s *Service) CreateWebhook(ctx context.Context, who domain.Actor, in WebhookRequest) (Webhook, error) {
	if err := authorizeWork(who, ActWebhookManage, administration); err != nil {
		return Webhook{}, err
	}
	if isSystem(who) {
		return Webhook{}, domain.Errorf(domain.EFORBIDDEN, "a subscription belongs to a party: subscribe with a party's token")
	}
	opt := s.hooks
	if err := webhook.CheckURL(in.URL, opt.AllowPrivate); err != nil {
		return Webhook{}, domain.Invalid("url", "%s", err.Error())
	}
	if err := storable("url", in.URL); err != nil {
		return Webhook{}, err
	}
	var types []string
	for i, t := range in.Types {
		if !webhook.Known(t) {
			return Webhook{}, domain.Invalid("types["+strconv.Itoa(i)+"]", "unknown event type %q (see docs/EVENTS.md)", t)
		}
		if t == "*" {
			types = nil
			break
		}
		types = append(types, t)
	}
	if len(opt.Key) == 0 {
		return Webhook{}, domain.Errorf(domain.EUNAVAILABLE, "webhooks are not configured on this server")
	}
	w := store.Webhook{ID: newID(), PartyID: who.PartyID, URL: in.URL, Types: types, CreatedAt: s.Now()}
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		size, err := tx.AuditSize(ctx)
		if err != nil {
			return err
		}
		w.NextIndex, w.CheckpointSize = size, size
		if err := tx.CreateWebhook(ctx, &w); err != nil {
			return err
		}
		return s.record(ctx, tx, who, w.CreatedAt, "webhook.created", "webhook", w.ID.String(),
			webhookRecord{ID: w.ID, Party: who.PartySlug, URL: w.URL, Types: w.Types})
	})
	if err != nil {
		return Webhook{}, err
	}
	v := webhookOf(w, who.PartySlug, nil)
	v.Secret = webhook.FormatSecret(webhook.Secret(opt.Key, w.ID.String()))
	return v, nil
}

// WebhookSecret derives the secret of a subscription of who's party, for
// the server to put back into a creation answer replayed to an
// Idempotency-Key, which is kept without it. It reads nothing: the
// answer being replayed was made for who's party. Not a route.
func (s *Service) WebhookSecret(who domain.Actor, id domain.ID) (string, error) {
	if err := authorize(who, ActWebhookManage); err != nil {
		return "", err
	}
	if len(s.hooks.Key) == 0 {
		return "", domain.Errorf(domain.EUNAVAILABLE, "webhooks are not configured on this server")
	}
	return webhook.FormatSecret(webhook.Secret(s.hooks.Key, id.String())), nil
}

// Webhooks lists the caller's party's subscriptions (every party's for
// the operator). Callers: every role.
func (s *Service) Webhooks(ctx context.Context, who domain.Actor) ([]Webhook, error) {
	if err := authorize(who, ActWebhookManage); err != nil {
		return nil, err
	}
	party := who.PartyID
	if isSystem(who) {
		party = domain.ID{}
	}
	return viewOf(ctx, s.store, func(tx store.Tx) ([]Webhook, error) {
		ws, err := tx.Webhooks(ctx, party)
		if err != nil {
			return nil, err
		}
		out := make([]Webhook, 0, len(ws))
		for _, w := range ws {
			v, err := s.webhookView(ctx, tx, w)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	})
}

func (s *Service) webhookView(ctx context.Context, tx store.Tx, w store.Webhook) (Webhook, error) {
	p, err := s.partyByID(ctx, tx, w.PartyID)
	if err != nil {
		return Webhook{}, err
	}
	dead, err := tx.DeadLetters(ctx, w.ID)
	if err != nil {
		return Webhook{}, err
	}
	return webhookOf(w, p.Slug, dead), nil
}

// ownWebhook reads a subscription of who's party (any for the operator),
// or ENOTFOUND.
func ownWebhook(ctx context.Context, tx store.Tx, who domain.Actor, id domain.ID) (store.Webhook, error) {
	w, err := tx.Webhook(ctx, id)
	if err != nil {
		return w, err
	}
	if !isSystem(who) && w.PartyID != who.PartyID {
		return store.Webhook{}, domain.Errorf(domain.ENOTFOUND, "webhook %s not found", id)
	}
	return w, nil
}

// Webhook returns one of the caller's party's subscriptions with its
// delivery state and dead letters. Callers: every role; ENOTFOUND for
// another party's.
func (s *Service) Webhook(ctx context.Context, who domain.Actor, id domain.ID) (Webhook, error) {
	if err := authorize(who, ActWebhookManage); err != nil {
		return Webhook{}, err
	}
	return viewOf(ctx, s.store, func(tx store.Tx) (Webhook, error) {
		w, err := ownWebhook(ctx, tx, who, id)
		if err != nil {
			return Webhook{}, err
		}
		return s.webhookView(ctx, tx, w)
	})
}

// DeleteWebhook ends a subscription: nothing more is delivered to it.
// Callers: every role, for its own party's; ENOTFOUND otherwise.
func (s *Service) DeleteWebhook(ctx context.Context, who domain.Actor, id domain.ID) error {
	if err := authorizeWork(who, ActWebhookManage, administration); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx store.Tx) error {
		w, err := ownWebhook(ctx, tx, who, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteWebhook(ctx, id); err != nil {
			return err
		}
		p, err := s.partyByID(ctx, tx, w.PartyID)
		if err != nil {
			return err
		}
		return s.record(ctx, tx, who, s.Now(), "webhook.deleted", "webhook", id.String(),
			webhookRecord{ID: w.ID, Party: p.Slug, URL: w.URL, Types: w.Types})
	})
}

// ReplayWebhook delivers a subscription's events again from a ledger
// index (in.From; by default its oldest dead letter's): the events keep
// their ids, so a receiver that has one already can tell. Callers: every
// role, for its own party's (the operator for any, `chipgate webhook
// replay`); ENOTFOUND otherwise; EINVALID naming from when it is out of
// the ledger's range, or when it is absent and there is no dead letter.
func (s *Service) ReplayWebhook(ctx context.Context, who domain.Actor, id domain.ID, in ReplayRequest) (Webhook, error) {
	if err := authorizeWork(who, ActWebhookManage, administration); err != nil {
		return Webhook{}, err
	}
	var v Webhook
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		w, err := ownWebhook(ctx, tx, who, id)
		if err != nil {
			return err
		}
		from := in.From
		if from == nil {
			dead, err := tx.DeadLetters(ctx, id)
			if err != nil {
				return err
			}
			if len(dead) == 0 {
				return domain.Invalid("from", "the subscription has no dead letters: say from which ledger index to replay")
			}
			from = &dead[0].LedgerIndex
		}
		size, err := tx.AuditSize(ctx)
		if err != nil {
			return err
		}
		if *from < 0 || *from > size {
			return domain.Invalid("from", "must be a ledger index from 0 to %d", size)
		}
		if err := tx.ReplayWebhook(ctx, id, *from); err != nil {
			return err
		}
		p, err := s.partyByID(ctx, tx, w.PartyID)
		if err != nil {
			return err
		}
		if err := s.record(ctx, tx, who, s.Now(), "webhook.replayed", "webhook", id.String(),
			webhookRecord{ID: w.ID, Party: p.Slug, URL: w.URL, Types: w.Types, From: from}); err != nil {
			return err
		}
		if w, err = tx.Webhook(ctx, id); err != nil {
			return err
		}
		v, err = s.webhookView(ctx, tx, w)
		return err
	})
	return v, err
}

// partyByID reads a party, from the cache when it can (parties never change).
func (s *Service) partyByID(ctx context.Context, tx store.Tx, id domain.ID) (domain.Party, error) {
	if p, ok := s.parties.Load(id); ok {
		return p.(domain.Party), nil
	}
	p, err := tx.Party(ctx, id)
	if err != nil {
		return p, err
	}
	s.parties.Store(id, p)
	return p, nil
}

// eventFor returns the event a record announces to who, built by reading
// its subject as who reads it through the API; ok is false when the record
// announces nothing, or nothing who may read: the subject is not found or
// forbidden to who, or it is a screening event and who a buyer (a buyer
// never learns of screening hits, not even that there was one).
func (s *Service) eventFor(ctx context.Context, who domain.Actor, rec domain.AuditRecord) (Event, bool, error) {
	typ, subject, ok := webhook.TypeOf(webhook.Record{Action: rec.Action, ActorRole: rec.ActorRole, Payload: rec.Payload})
	if !ok || (who.Role == domain.RoleBuyer && strings.HasPrefix(typ, "screening.")) {
		return Event{}, false, nil
	}
	obj, err := s.subjectFor(ctx, who, subject, rec)
	switch domain.ErrorCode(err) {
	case "":
	case domain.ENOTFOUND, domain.EFORBIDDEN:
		return Event{}, false, nil
	default:
		return Event{}, false, err
	}
	return Event{ID: strconv.FormatInt(rec.Index, 10), Type: typ, Timestamp: rec.At,
		Data: EventData{LedgerIndex: rec.Index, Action: rec.Action, SubjectType: rec.SubjectType, SubjectID: rec.SubjectID, Object: obj}}, true, nil
}

// subjectFor reads a record's subject as who: the same call, and so the
// same authorization, as the API's read of it.
func (s *Service) subjectFor(ctx context.Context, who domain.Actor, subject string, rec domain.AuditRecord) (any, error) {
	if subject == "list_version" {
		if err := authorize(who, ActScreen); err != nil {
			return nil, err
		}
		return json.RawMessage(rec.Payload), nil
	}
	id, err := domain.ParseID(rec.SubjectID)
	if err != nil {
		return nil, domain.Errorf(domain.ENOTFOUND, "%s %q not found", subject, rec.SubjectID)
	}
	switch subject {
	case "application":
		return s.Application(ctx, who, id)
	case "order":
		return s.Order(ctx, who, id)
	case "license":
		return s.License(ctx, who, id)
	case "hearing":
		return s.Hearing(ctx, who, id)
	case "permit":
		return s.permitFor(ctx, who, id)
	case "shipment":
		return s.shipmentFor(ctx, who, id)
	case "alert":
		return s.alertFor(ctx, who, id)
	}
	return nil, domain.Errorf(domain.ENOTFOUND, "%s not found", subject)
}

// permitFor reads one permit as who may (PermitsPage's rule).
func (s *Service) permitFor(ctx context.Context, who domain.Actor, id domain.ID) (domain.ImportPermit, error) {
	if err := authorize(who, ActPermitRead); err != nil {
		return domain.ImportPermit{}, err
	}
	p, err := viewOf(ctx, s.store, func(tx store.Tx) (domain.ImportPermit, error) {
		var p domain.ImportPermit
		d, err := tx.GetDoc(ctx, store.KindPermit, id, false)
		if err != nil {
			return p, err
		}
		if err := authorizeFor(who, ActPermitRead, d.PartyID, "permit "+id.String()); err != nil {
			return p, err
		}
		return p, json.Unmarshal(d.Body, &p)
	})
	if err != nil {
		return domain.ImportPermit{}, err
	}
	return p, s.visible(ctx, who, p.BuyerID, "permit "+id.String())
}

// shipmentFor reads one shipment as who may (ShipmentsPage's rule: a
// buyer its own, a carrier or a lab those that name it).
func (s *Service) shipmentFor(ctx context.Context, who domain.Actor, id domain.ID) (domain.Shipment, error) {
	if err := authorize(who, ActShipmentRead); err != nil {
		return domain.Shipment{}, err
	}
	sh, err := viewOf(ctx, s.store, func(tx store.Tx) (domain.Shipment, error) {
		var sh domain.Shipment
		d, err := tx.GetDoc(ctx, store.KindShipment, id, false)
		if err != nil {
			return sh, err
		}
		if shipmentScope(who) == own && !isSystem(who) && d.PartyID != who.PartyID {
			return sh, domain.Errorf(domain.ENOTFOUND, "shipment %s not found", id)
		}
		if err := json.Unmarshal(d.Body, &sh); err != nil {
			return sh, err
		}
		kept, err := namingOnly(ctx, tx, who, []domain.Shipment{sh})
		if err != nil {
			return sh, err
		}
		if len(kept) == 0 {
			return domain.Shipment{}, domain.Errorf(domain.ENOTFOUND, "shipment %s not found", id)
		}
		return sh, nil
	})
	if err != nil {
		return domain.Shipment{}, err
	}
	return sh, s.visible(ctx, who, sh.BuyerID, "shipment "+id.String())
}

// alertFor reads one alert as who may (AlertsPage's rule: the export
// authority).
func (s *Service) alertFor(ctx context.Context, who domain.Actor, id domain.ID) (domain.Alert, error) {
	if err := authorize(who, ActAlertManage); err != nil {
		return domain.Alert{}, err
	}
	return viewOf(ctx, s.store, func(tx store.Tx) (domain.Alert, error) {
		return store.Get[domain.Alert](ctx, tx, store.KindAlert, id, false)
	})
}
