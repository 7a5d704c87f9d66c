package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
)

// Webhook is a party's subscription to events: where they go, which types,
// and how far its delivery has got in the ledger.
type Webhook struct {
	ID        domain.ID
	PartyID   domain.ID
	URL       string
	Types     []string // none: every type
	CreatedAt time.Time
	// Epoch grows with every replay (see AdvanceWebhook).
	Epoch int64
	WebhookProgress
}

// WebhookProgress is a subscription's delivery state.
type WebhookProgress struct {
	// NextIndex is the ledger index of the next record to consider.
	NextIndex int64
	// CheckpointSize is the size of the last checkpoint announced.
	CheckpointSize int64
	// Failures counts the failed attempts at the next event; NextAttemptAt
	// is when the next one is due (nil: now), LastError why the last failed.
	Failures      int
	NextAttemptAt *time.Time
	LastError     string
	// Delivered counts the events delivered.
	Delivered int64
}

// DeadLetter is an event a subscription gave up on.
type DeadLetter struct {
	EventID     string
	LedgerIndex int64
	Type        string
	Attempts    int
	LastError   string
	FailedAt    time.Time
}

const webhookCols = "id, party_id, url, types, created_at, epoch, next_index, checkpoint_size, failures, next_attempt_at, last_error, delivered"

func scanWebhook(sc interface{ Scan(...any) error }) (Webhook, error) {
	var w Webhook
	var types string
	var created, next dbTime
	err := sc.Scan(&w.ID, &w.PartyID, &w.URL, &types, &created, &w.Epoch, &w.NextIndex, &w.CheckpointSize, &w.Failures, &next, &w.LastError, &w.Delivered)
	w.Types, w.CreatedAt, w.NextAttemptAt = strings.Fields(types), created.T, next.ptr()
	return w, err
}

// CreateWebhook stores a subscription; ECONFLICT when its id is taken,
// EINVALID when its party does not exist.
func (t *tx) CreateWebhook(ctx context.Context, w *Webhook) error {
	_, err := t.exec(ctx, "create webhook", "INSERT INTO webhook_subscriptions ("+webhookCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		w.ID, w.PartyID, w.URL, strings.Join(w.Types, " "), t.time(w.CreatedAt), w.Epoch, w.NextIndex, w.CheckpointSize,
		w.Failures, t.timePtr(w.NextAttemptAt), w.LastError, w.Delivered)
	return err
}

// Webhook returns the subscription with the id, or ENOTFOUND.
func (t *tx) Webhook(ctx context.Context, id domain.ID) (Webhook, error) {
	w, err := scanWebhook(t.queryRow(ctx, "SELECT "+webhookCols+" FROM webhook_subscriptions WHERE id = ?", id))
	return w, t.notFound(err, "webhook %s not found", id)
}

// Webhooks lists a party's subscriptions (every party's for the zero ID)
// in id order.
func (t *tx) Webhooks(ctx context.Context, party domain.ID) ([]Webhook, error) {
	q, args := "SELECT "+webhookCols+" FROM webhook_subscriptions ORDER BY id", []any{}
	if party != (domain.ID{}) {
		q, args = "SELECT "+webhookCols+" FROM webhook_subscriptions WHERE party_id = ? ORDER BY id", []any{party}
	}
	var out []Webhook
	err := t.queryRows(ctx, "list webhooks", q, func(r *sql.Rows) error {
		w, err := scanWebhook(r)
		out = append(out, w)
		return err
	}, args...)
	return out, err
}

// DeleteWebhook deletes a subscription and its dead letters; ENOTFOUND if
// absent.
func (t *tx) DeleteWebhook(ctx context.Context, id domain.ID) error {
	if _, err := t.exec(ctx, "delete webhook dead letters", "DELETE FROM webhook_deliveries WHERE subscription_id = ?", id); err != nil {
		return err
	}
	res, err := t.exec(ctx, "delete webhook", "DELETE FROM webhook_subscriptions WHERE id = ?", id)
	return t.affected(res, err, "webhook %s not found", id)
}

// AdvanceWebhook sets a subscription's delivery state, unless its epoch
// is no longer epoch (a replay or a deletion came in between): false then.
func (t *tx) AdvanceWebhook(ctx context.Context, id domain.ID, epoch int64, p WebhookProgress) (bool, error) {
	res, err := t.exec(ctx, "advance webhook", "UPDATE webhook_subscriptions SET next_index = ?, checkpoint_size = ?, failures = ?, next_attempt_at = ?, last_error = ?, delivered = ? WHERE id = ? AND epoch = ?",
		p.NextIndex, p.CheckpointSize, p.Failures, t.timePtr(p.NextAttemptAt), p.LastError, p.Delivered, id, epoch)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, t.s.wrap("advance webhook", err)
}

// AddDeadLetter records an event the subscription gave up on (again:
// replaces the earlier letter).
func (t *tx) AddDeadLetter(ctx context.Context, subscription domain.ID, d DeadLetter) error {
	_, err := t.exec(ctx, "add dead letter", `INSERT INTO webhook_deliveries (subscription_id, event_id, ledger_index, event_type, attempts, last_error, failed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (subscription_id, event_id) DO UPDATE SET attempts = excluded.attempts, last_error = excluded.last_error, failed_at = excluded.failed_at`,
		subscription, d.EventID, d.LedgerIndex, d.Type, d.Attempts, d.LastError, t.time(d.FailedAt))
	return err
}

// DeadLetters lists a subscription's dead letters by ledger index.
func (t *tx) DeadLetters(ctx context.Context, subscription domain.ID) ([]DeadLetter, error) {
	var out []DeadLetter
	err := t.queryRows(ctx, "list dead letters", "SELECT event_id, ledger_index, event_type, attempts, last_error, failed_at FROM webhook_deliveries WHERE subscription_id = ? ORDER BY ledger_index, "+t.byteOrder("event_id"),
		func(r *sql.Rows) error {
			var d DeadLetter
			var at dbTime
			err := r.Scan(&d.EventID, &d.LedgerIndex, &d.Type, &d.Attempts, &d.LastError, &at)
			d.FailedAt = at.T
			out = append(out, d)
			return err
		}, subscription)
	return out, err
}

// ReplayWebhook moves a subscription's cursor back to the ledger index
// from (and its checkpoint cursor to at most from), clears its failures,
// forgets its dead letters from that index on and advances its epoch;
// ENOTFOUND if absent.
func (t *tx) ReplayWebhook(ctx context.Context, id domain.ID, from int64) error {
	res, err := t.exec(ctx, "replay webhook", `UPDATE webhook_subscriptions SET next_index = ?,
		checkpoint_size = CASE WHEN checkpoint_size > ? THEN ? ELSE checkpoint_size END,
		failures = 0, next_attempt_at = NULL, last_error = '', epoch = epoch + 1 WHERE id = ?`, from, from, from, id)
	if err := t.affected(res, err, "webhook %s not found", id); err != nil {
		return err
	}
	_, err = t.exec(ctx, "replay webhook dead letters", "DELETE FROM webhook_deliveries WHERE subscription_id = ? AND ledger_index >= ?", id, from)
	return err
}

// affected returns err, or ENOTFOUND when the statement changed no row.
func (t *tx) affected(res sql.Result, err error, format string, args ...any) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return t.s.wrap("rows affected", err)
	}
	if n == 0 {
		return domain.Errorf(domain.ENOTFOUND, format, args...)
	}
	return nil
}
