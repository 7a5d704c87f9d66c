package service

import (
	"bytes"
	"context"
	"encoding/json"
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
					s.deliverLoop(ctx, client, id)
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
	return &http.Client{Transport: tr, Timeout: s.hooks.Timeout,
		// A redirect is an answer, not a success: the receiver's URL is
		// the one subscribed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// deliverLoop delivers one subscription's events in ledger order until ctx
// ends or the subscription is deleted.
func (s *Service) deliverLoop(ctx context.Context, client *http.Client, id domain.ID) {
	for ctx.Err() == nil {
		wait, err := s.deliverNext(ctx, client, id)
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return
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

// deliverNext makes one attempt at the subscription's next event and
// returns how long to wait before the next call.
func (s *Service) deliverNext(ctx context.Context, client *http.Client, id domain.ID) (time.Duration, error) {
	w, err := viewOf(ctx, s.store, func(tx store.Tx) (store.Webhook, error) { return tx.Webhook(ctx, id) })
	if err != nil {
		return 0, err
	}
	// Back-off runs on the wall clock: it is the worker's pace, not the
	// program's time.
	if w.NextAttemptAt != nil {
		if d := time.Until(*w.NextAttemptAt); d > 0 {
			return min(d, s.hooks.Poll), nil
		}
	}
	who, err := s.subscriber(ctx, w)
	if err != nil {
		return 0, err
	}
	ev, at, found, err := s.nextEvent(ctx, who, &w)
	if err != nil {
		return 0, err
	}
	if !found {
		// Caught up: keep what was skipped, and look again later.
		if at != w.WebhookProgress {
			if _, err := s.advance(ctx, w, at, nil); err != nil {
				return 0, err
			}
		}
		return s.hooks.Poll, nil
	}
	body, err := json.Marshal(struct {
		Type      string    `json:"type"`
		Timestamp time.Time `json:"timestamp"`
		Data      EventData `json:"data"`
	}{ev.Type, ev.Timestamp, ev.Data})
	if err != nil {
		return 0, err
	}
	failure := s.post(ctx, client, w, ev.ID, body)
	if ctx.Err() != nil {
		return 0, nil // stopping: the event stays due, and goes again after a restart
	}
	next := at
	if failure == "" {
		next.Failures, next.NextAttemptAt, next.LastError = 0, nil, ""
		next.Delivered++
		next.NextIndex, next.CheckpointSize = after(ev, at)
		_, err := s.advance(ctx, w, next, nil)
		return 0, err
	}
	next.Failures = w.Failures + 1
	next.LastError = failure
	if next.Failures >= s.hooks.MaxAttempts {
		dead := &store.DeadLetter{EventID: ev.ID, LedgerIndex: ev.Data.LedgerIndex, Type: ev.Type, Attempts: next.Failures, LastError: failure, FailedAt: time.Now().UTC()}
		next.Failures, next.NextAttemptAt, next.LastError = 0, nil, ""
		next.NextIndex, next.CheckpointSize = after(ev, at)
		_, err := s.advance(ctx, w, next, dead)
		s.log.Warn("webhook event dead-lettered", "subscription", id, "event", ev.ID, "type", ev.Type, "attempts", dead.Attempts, "err", failure)
		return 0, err
	}
	due := time.Now().Add(webhook.Backoff(next.Failures, s.hooks.Backoff, s.hooks.MaxBackoff, webhook.Jitter())).UTC()
	next.NextAttemptAt = &due
	_, err = s.advance(ctx, w, next, nil)
	return time.Until(due), err
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
	p, err := viewOf(ctx, s.store, func(tx store.Tx) (domain.Party, error) { return s.partyByID(ctx, tx, w.PartyID) })
	if err != nil {
		return domain.Actor{}, err
	}
	return domain.Actor{UserName: "webhook " + w.ID.String(), PartyID: p.ID, PartySlug: p.Slug, Role: p.Role}, nil
}

// nextEvent finds the subscription's next event from its cursors: the
// newest signed checkpoint once the cursor has passed its size (before
// the records after it), else the next record that announces an event of
// a wanted type that who may read. It returns the progress up to that
// event (records skipped on the way), or, when there is none yet, up to
// the ledger's end.
func (s *Service) nextEvent(ctx context.Context, who domain.Actor, w *store.Webhook) (Event, store.WebhookProgress, bool, error) {
	at := w.WebhookProgress
	var size int64
	var cp store.StoredCheckpoint
	var recs []domain.AuditRecord
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		if size, err = tx.AuditSize(ctx); err != nil {
			return err
		}
		cp, err = tx.LatestCheckpoint(ctx)
		if err != nil && domain.ErrorCode(err) != domain.ENOTFOUND {
			return err
		}
		recs, err = tx.AuditRecords(ctx, at.NextIndex, min(at.NextIndex+scanBatch, size))
		return err
	})
	if err != nil {
		return Event{}, at, false, err
	}
	wantCP := webhook.Wants(w.Types, webhook.CheckpointPublished)
	checkpointDue := func(next int64) bool { return cp.Size > at.CheckpointSize && cp.Size <= next }
	for _, rec := range recs {
		if checkpointDue(rec.Index) {
			if wantCP {
				return s.checkpointEvent(cp), at, true, nil
			}
			at.CheckpointSize = cp.Size
		}
		ev, ok, err := s.eventFor(ctx, who, rec)
		if err != nil {
			return Event{}, at, false, err
		}
		if ok && webhook.Wants(w.Types, ev.Type) {
			return ev, at, true, nil
		}
		at.NextIndex = rec.Index + 1
	}
	if checkpointDue(at.NextIndex) {
		if wantCP {
			return s.checkpointEvent(cp), at, true, nil
		}
		at.CheckpointSize = cp.Size
	}
	return Event{}, at, false, nil
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
