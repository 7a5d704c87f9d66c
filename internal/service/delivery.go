package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/webhook"
)

// webhookLeader names the lock that elects the one replica delivering.
const webhookLeader = "webhooks"

// scanBatch is how many records a worker reads at a time.
const scanBatch = 256

// RunWebhooks delivers events to every subscription until ctx ends, while
// this process leads (one replica delivers; another takes over when it
// stops). The ledger is the outbox: each subscription has a cursor in it,
// and the worker walks it in order, one event in flight per subscription,
// at least once: the cursor moves only after the receiver answered 2xx (or
// the event went to the dead letters), so a restart delivers again what was
// in flight, with the same id. Commands write nothing for it.
func (s *Service) RunWebhooks(ctx context.Context) {
	poll := s.hooks.Poll
	for ctx.Err() == nil {
		ok, err := s.store.Leader(ctx, webhookLeader, s.deliverAll)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("webhook leadership", "err", err)
		}
		if !ok || err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(poll):
			}
		}
	}
}

// deliverAll runs one delivery loop per subscription, starting one for
// each new subscription, until ctx ends.
func (s *Service) deliverAll(ctx context.Context) error {
	client := s.webhookClient()
	events := &eventCache{m: map[eventKey]cachedEvent{}}
	var wg sync.WaitGroup
	defer wg.Wait()
	running := map[domain.ID]bool{}
	var mu sync.Mutex
	t := time.NewTicker(s.hooks.Poll)
	defer t.Stop()
	for {
		ws, err := viewOf(ctx, s.store, func(tx store.Tx) ([]store.Webhook, error) { return tx.Webhooks(ctx, domain.ID{}) })
		if err != nil && ctx.Err() == nil {
			s.log.Warn("webhooks: list subscriptions", "err", err)
		}
		for _, w := range ws {
			mu.Lock()
			start := !running[w.ID]
			running[w.ID] = true
			mu.Unlock()
			if start {
				wg.Add(1)
				go func(id domain.ID) {
					defer wg.Done()
					s.deliverLoop(ctx, client, events, id)
					mu.Lock()
					delete(running, id)
					mu.Unlock()
				}(w.ID)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (s *Service) webhookClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = webhook.Dialer(s.hooks.Timeout, s.hooks.AllowPrivate).DialContext
	tr.Proxy = nil // a proxy would connect for us, past the address policy
	// Several subscriptions often share a receiver: keep a connection for
	// each rather than dialing anew (the default keeps two per host).
	tr.MaxIdleConnsPerHost = 32
	return &http.Client{Transport: tr, Timeout: s.hooks.Timeout,
		// A redirect is an answer, not a success: the receiver's URL is
		// the one subscribed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// deliverLoop delivers one subscription's events in ledger order until ctx
// ends or the subscription is deleted. It keeps the subscription's
// progress in memory and stores it at most every flushEvery (and at once
// on a failure, and when it stops).
func (s *Service) deliverLoop(ctx context.Context, client *http.Client, events *eventCache, id domain.ID) {
	d := &delivery{id: id, client: client, events: events}
	defer func() {
		// Keep what was delivered when the server stops in good order; a
		// crash delivers it again, with the same ids.
		if err := d.flush(context.WithoutCancel(ctx), s, nil); err != nil && !errors.Is(err, errReplayed) && domain.ErrorCode(err) != domain.ENOTFOUND {
			s.log.Warn("webhook progress not stored", "subscription", id, "err", err)
		}
	}()
	for ctx.Err() == nil {
		wait, err := s.deliverBatch(ctx, d)
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return
		}
		if errors.Is(err, errReplayed) {
			continue
		}
		if err != nil && ctx.Err() == nil {
			s.log.Warn("webhook delivery", "subscription", id, "err", err)
			wait = s.hooks.Poll
		}
		if wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
	}
}

// delivery is one subscription's loop state: the subscription as last
// stored (w) and the progress made since (at).
type delivery struct {
	id      domain.ID
	client  *http.Client
	events  *eventCache
	loaded  bool
	w       store.Webhook
	at      store.WebhookProgress
	flushed time.Time
}

// flush stores the progress (with a dead letter when one is given) unless
// a replay or a deletion came in between: errReplayed then, and the next
// batch starts from what is stored.
func (d *delivery) flush(ctx context.Context, s *Service, dead *store.DeadLetter) error {
	if !d.loaded || (d.at == d.w.WebhookProgress && dead == nil) {
		return nil
	}
	ok, err := s.advance(ctx, d.w, d.at, dead)
	if err != nil {
		return err
	}
	if !ok {
		d.loaded = false
		return errReplayed
	}
	d.w.WebhookProgress, d.flushed = d.at, time.Now()
	return nil
}

// flushEvery bounds how long delivered events may go without their
// cursor being stored: a restart delivers them again (with their ids).
const flushEvery = time.Second

// deliverBatch reads the subscription and the next records in one
// snapshot and delivers their events one at a time, in order. A replay
// (a new epoch) replaces the progress in memory with the stored one. It
// returns how long to wait before the next call.
func (s *Service) deliverBatch(ctx context.Context, d *delivery) (time.Duration, error) {
	var cp store.StoredCheckpoint
	var recs []domain.AuditRecord
	err := s.store.View(ctx, func(tx store.Tx) error {
		w, err := tx.Webhook(ctx, d.id)
		if err != nil {
			return err
		}
		if !d.loaded || w.Epoch != d.w.Epoch {
			d.w, d.at, d.loaded, d.flushed = w, w.WebhookProgress, true, time.Now()
		}
		// Back-off runs on the wall clock: it is the worker's pace, not
		// the program's time.
		if d.at.NextAttemptAt != nil && time.Until(*d.at.NextAttemptAt) > 0 {
			return nil
		}
		size, err := tx.AuditSize(ctx)
		if err != nil {
			return err
		}
		cp, err = tx.LatestCheckpoint(ctx)
		if err != nil && domain.ErrorCode(err) != domain.ENOTFOUND {
			return err
		}
		recs, err = tx.AuditRecords(ctx, d.at.NextIndex, min(d.at.NextIndex+scanBatch, size))
		return err
	})
	if err != nil {
		return 0, err
	}
	if next := d.at.NextAttemptAt; next != nil {
		if wait := time.Until(*next); wait > 0 {
			return min(wait, s.hooks.Poll), nil
		}
	}
	w, at := d.w, &d.at
	id := d.id
	who, err := s.subscriber(ctx, w)
	if err != nil {
		return 0, err
	}
	flush := func(dead *store.DeadLetter) error { return d.flush(ctx, s, dead) }
	// deliver makes one attempt at ev; done says the batch stops there
	// (a failure, or the server stopping), wait how long until the next.
	deliver := func(ev Event) (done bool, wait time.Duration, err error) {
		failure, err := s.attempt(ctx, d.client, w, ev)
		if err != nil {
			return true, 0, err
		}
		if ctx.Err() != nil {
			return true, 0, nil // stopping: the event stays due, and goes again after a restart
		}
		if failure == "" {
			at.Failures, at.NextAttemptAt, at.LastError = 0, nil, ""
			at.Delivered++
			at.NextIndex, at.CheckpointSize = after(ev, *at)
			return false, 0, nil
		}
		at.Failures++
		at.LastError = failure
		if at.Failures >= s.hooks.MaxAttempts {
			dead := &store.DeadLetter{EventID: ev.ID, LedgerIndex: ev.Data.LedgerIndex, Type: ev.Type, Attempts: at.Failures, LastError: failure, FailedAt: time.Now().UTC()}
			at.Failures, at.NextAttemptAt, at.LastError = 0, nil, ""
			at.NextIndex, at.CheckpointSize = after(ev, *at)
			s.log.Warn("webhook event dead-lettered", "subscription", id, "event", ev.ID, "type", ev.Type, "attempts", dead.Attempts, "err", failure)
			return true, 0, flush(dead)
		}
		due := time.Now().Add(webhook.Backoff(at.Failures, s.hooks.Backoff, s.hooks.MaxBackoff, webhook.Jitter())).UTC()
		at.NextAttemptAt = &due
		return true, time.Until(due), flush(nil)
	}
	wantCP := webhook.Wants(w.Types, webhook.CheckpointPublished)
	// checkpoint announces the newest signed checkpoint once the cursor
	// has passed its size, before the records after it.
	checkpoint := func() (done bool, wait time.Duration, err error) {
		if cp.Size <= at.CheckpointSize || cp.Size > at.NextIndex {
			return false, 0, nil
		}
		if !wantCP {
			at.CheckpointSize = cp.Size
			return false, 0, nil
		}
		return deliver(s.checkpointEvent(cp))
	}
	for _, rec := range recs {
		if done, wait, err := checkpoint(); done || err != nil {
			return wait, err
		}
		if typ, _, ok := webhook.TypeOf(webhook.Record{Action: rec.Action, ActorRole: rec.ActorRole, Payload: rec.Payload}); !ok || !webhook.Wants(w.Types, typ) {
			at.NextIndex = rec.Index + 1 // no read for a record the subscription does not want
			continue
		}
		ev, ok, err := d.events.eventFor(ctx, s, who, rec)
		if err != nil {
			return 0, err
		}
		if !ok {
			at.NextIndex = rec.Index + 1
			continue
		}
		if done, wait, err := deliver(ev); done || err != nil {
			return wait, err
		}
	}
	if done, wait, err := checkpoint(); done || err != nil {
		return wait, err
	}
	if time.Since(d.flushed) >= flushEvery {
		if err := flush(nil); err != nil {
			return 0, err
		}
	}
	if len(recs) == scanBatch {
		return 0, nil
	}
	return s.hooks.Poll, nil
}

// errReplayed stops a batch whose subscription was replayed or deleted
// meanwhile; the next batch starts from what is stored.
var errReplayed = errors.New("webhook: replayed or deleted meanwhile")

// attempt builds ev's body and posts it; failure is why the receiver did
// not take it ("" when it did).
func (s *Service) attempt(ctx context.Context, client *http.Client, w store.Webhook, ev Event) (failure string, err error) {
	body, err := json.Marshal(struct {
		Type      string    `json:"type"`
		Timestamp time.Time `json:"timestamp"`
		Data      EventData `json:"data"`
	}{ev.Type, ev.Timestamp, ev.Data})
	if err != nil {
		return "", err
	}
	return s.post(ctx, client, w, ev.ID, body), nil
}

// after returns the cursors once ev is done with.
func after(ev Event, at store.WebhookProgress) (int64, int64) {
	if ev.Type == webhook.CheckpointPublished {
		return at.NextIndex, ev.Data.LedgerIndex
	}
	return ev.Data.LedgerIndex + 1, at.CheckpointSize
}

// advance stores the subscription's progress, with a dead letter when one
// is given, unless a replay or a deletion came in between (false then:
// the next call starts from the replayed cursor).
func (s *Service) advance(ctx context.Context, w store.Webhook, p store.WebhookProgress, dead *store.DeadLetter) (bool, error) {
	var ok bool
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		if ok, err = tx.AdvanceWebhook(ctx, w.ID, w.Epoch, p); err != nil || !ok || dead == nil {
			return err
		}
		return tx.AddDeadLetter(ctx, w.ID, *dead)
	})
	return ok, err
}

// subscriber is the actor a subscription's events are read as: its party,
// in its role.
func (s *Service) subscriber(ctx context.Context, w store.Webhook) (domain.Actor, error) {
	if p, ok := s.parties.Load(w.PartyID); ok {
		p := p.(domain.Party)
		return domain.Actor{UserName: "webhook " + w.ID.String(), PartyID: p.ID, PartySlug: p.Slug, Role: p.Role}, nil
	}
	p, err := viewOf(ctx, s.store, func(tx store.Tx) (domain.Party, error) { return s.partyByID(ctx, tx, w.PartyID) })
	if err != nil {
		return domain.Actor{}, err
	}
	return domain.Actor{UserName: "webhook " + w.ID.String(), PartyID: p.ID, PartySlug: p.Slug, Role: p.Role}, nil
}

// checkpointEvent announces a signed checkpoint; every role may read it.
func (s *Service) checkpointEvent(cp store.StoredCheckpoint) Event {
	origin, _, _ := strings.Cut(string(cp.Signed), "\n")
	view := CheckpointView{Origin: origin, Size: uint64(cp.Size), Signed: string(cp.Signed)}
	copy(view.Root[:], cp.Root)
	return Event{ID: "checkpoint-" + strconv.FormatInt(cp.Size, 10), Type: webhook.CheckpointPublished, Timestamp: cp.CreatedAt,
		Data: EventData{LedgerIndex: cp.Size, Action: "checkpoint.published", SubjectType: "checkpoint", SubjectID: strconv.FormatInt(cp.Size, 10), Object: view}}
}

// post makes one attempt: the body signed per Standard Webhooks. It
// returns "" when the receiver answered 2xx, else why not.
func (s *Service) post(ctx context.Context, client *http.Client, w store.Webhook, id string, body []byte) string {
	now := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "chipgate-webhooks")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", webhook.Sign(webhook.Secret(s.hooks.Key, w.ID.String()), id, now, body))
	resp, err := client.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // reuse the connection; what it says is not read
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	return ""
}

// eventCache shares, among the subscriptions of one party, the event a
// record makes for it: several subscriptions near the same place in the
// ledger read each subject once rather than once each. It is cleared when
// it grows past eventCacheSize entries; an entry may be a little older
// than a fresh read, as a delivery already in flight is.
type eventCache struct {
	mu sync.Mutex
	m  map[eventKey]cachedEvent
}

const eventCacheSize = 4096

type eventKey struct {
	index int64
	party domain.ID
}

type cachedEvent struct {
	ev Event
	ok bool
}

func (c *eventCache) eventFor(ctx context.Context, s *Service, who domain.Actor, rec domain.AuditRecord) (Event, bool, error) {
	k := eventKey{rec.Index, who.PartyID}
	c.mu.Lock()
	e, hit := c.m[k]
	c.mu.Unlock()
	if hit {
		return e.ev, e.ok, nil
	}
	ev, ok, err := s.eventFor(ctx, who, rec)
	if err != nil {
		return ev, ok, err
	}
	c.mu.Lock()
	if len(c.m) >= eventCacheSize {
		clear(c.m)
	}
	c.m[k] = cachedEvent{ev, ok}
	c.mu.Unlock()
	return ev, ok, nil
}
