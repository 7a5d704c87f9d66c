package store

import (
	"context"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
)

// Idempotent is a stored response to a request with an Idempotency-Key.
type Idempotent struct {
	RequestHash []byte
	// Status is the response's HTTP status; 0 while the first request is
	// in flight, IdempotencyCommitted once its command committed but
	// before its response was stored.
	Status   int
	Response []byte
	// ClaimedAt is when the request in flight claimed the key; it tells
	// one claim of the key from a later one that took it over.
	ClaimedAt time.Time
}

// IdempotencyCommitted is the status of a key whose request's command has
// committed and whose response is not stored yet. A key left in it by a
// crash is never run again: its command took effect.
const IdempotencyCommitted = -1

// ClaimIdempotency inserts the claim first and reads the earlier request
// only when the key is taken. (Reading first let two concurrent claims on
// PostgreSQL both find nothing, and the second insert then failed with a
// bare unique violation instead of answering with the first request.) On
// PostgreSQL the insert waits for a concurrent claim of the key to commit
// or roll back; the read that follows sees the committed claim.
func (t *tx) ClaimIdempotency(ctx context.Context, party domain.ID, key string, hash []byte, at time.Time) (*Idempotent, error) {
	res, err := t.exec(ctx, "idempotency", "INSERT INTO idempotency (party_id, key, request_hash, status, response, created_at) VALUES (?, ?, ?, 0, NULL, ?) ON CONFLICT DO NOTHING",
		party, key, hash, t.time(at))
	if err != nil {
		return nil, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, t.s.wrap("idempotency", err)
	} else if n == 1 {
		return nil, nil
	}
	var prev Idempotent
	var claimed dbTime
	err = t.queryRow(ctx, "SELECT request_hash, status, response, created_at FROM idempotency WHERE party_id = ? AND key = ?", party, key).
		Scan(&prev.RequestHash, &prev.Status, &prev.Response, &claimed)
	if err != nil {
		return nil, t.s.wrap("idempotency", err)
	}
	prev.ClaimedAt = claimed.T
	return &prev, nil
}

// TakeOverIdempotency moves an in-flight claim made at claimedAt to a new
// claim made at at, and reports whether it did: not when the claim has
// changed since (completed, committed or taken over by another).
func (t *tx) TakeOverIdempotency(ctx context.Context, party domain.ID, key string, claimedAt, at time.Time) (bool, error) {
	res, err := t.exec(ctx, "idempotency", "UPDATE idempotency SET created_at = ? WHERE party_id = ? AND key = ? AND status = 0 AND created_at = ?",
		t.time(at), party, key, t.time(claimedAt))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, t.s.wrap("idempotency", err)
}

func (t *tx) CompleteIdempotency(ctx context.Context, party domain.ID, key string, claimedAt time.Time, status int, response []byte) error {
	_, err := t.exec(ctx, "idempotency", "UPDATE idempotency SET status = ?, response = ? WHERE party_id = ? AND key = ? AND status <= 0 AND created_at = ?",
		status, response, party, key, t.time(claimedAt))
	return err
}

func (t *tx) ReleaseIdempotency(ctx context.Context, party domain.ID, key string, claimedAt time.Time) error {
	_, err := t.exec(ctx, "idempotency", "DELETE FROM idempotency WHERE party_id = ? AND key = ? AND status = 0 AND created_at = ?",
		party, key, t.time(claimedAt))
	return err
}

// idempotencyClaim is the claim a request's write transactions mark.
type idempotencyClaim struct {
	party     domain.ID
	key       string
	claimedAt time.Time
}

type claimCtxKey struct{}

// WithIdempotencyClaim returns a context under which every write
// transaction (Store.InTx) also marks the key's claim made at claimedAt
// committed (IdempotencyCommitted), in the same transaction, and fails
// with ECONFLICT instead of committing once the claim has been taken over.
// So a request's command and the fact that it ran commit together: a crash
// can lose the response, but never leaves a key that would run twice or
// never again.
func WithIdempotencyClaim(ctx context.Context, party domain.ID, key string, claimedAt time.Time) context.Context {
	return context.WithValue(ctx, claimCtxKey{}, idempotencyClaim{party, key, claimedAt})
}

// markClaim wraps fn so that it marks the context's claim, if any.
func markClaim(ctx context.Context, fn func(Tx) error) func(Tx) error {
	c, ok := ctx.Value(claimCtxKey{}).(idempotencyClaim)
	if !ok {
		return fn
	}
	return func(x Tx) error {
		if err := fn(x); err != nil {
			return err
		}
		t := x.(*tx)
		res, err := t.exec(ctx, "idempotency", "UPDATE idempotency SET status = ? WHERE party_id = ? AND key = ? AND status <= 0 AND created_at = ?",
			IdempotencyCommitted, c.party, c.key, t.time(c.claimedAt))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return t.s.wrap("idempotency", err)
		} else if n != 1 {
			return domain.Errorf(domain.ECONFLICT, "a retry with this Idempotency-Key took the request over; this attempt was not carried out")
		}
		return nil
	}
}
