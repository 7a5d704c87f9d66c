package store_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// TestIdempotency checks the Idempotency-Key claims: the first claim of a
// party's key returns nil, every later one the earlier request's record
// (hash, status, response, claim instant), also when many claim at once;
// keys are per party. CompleteIdempotency stores the response that later
// claims replay, once, and only for the claim it names. ReleaseIdempotency
// forgets an in-flight claim it names, so that the key runs again, and
// nothing else. TakeOverIdempotency moves an in-flight claim it names to a
// new instant and reports whether it did. A write transaction under
// WithIdempotencyClaim marks its claim committed with it, and fails with
// ECONFLICT, writing nothing, once the claim was taken over or is gone.
func TestIdempotency(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		hash := []byte("request hash")
		t1, t2 := t0.Add(time.Minute), t0.Add(2*time.Minute)
		claim := func(t *testing.T, st store.Store, party domain.ID, key string, h []byte, at time.Time) *store.Idempotent {
			t.Helper()
			var prev *store.Idempotent
			mustTx(t, st, func(tx store.Tx) error {
				var err error
				prev, err = tx.ClaimIdempotency(t.Context(), party, key, h, at)
				return err
			})
			return prev
		}
		takeOver := func(t *testing.T, st store.Store, party domain.ID, key string, claimedAt, at time.Time) bool {
			t.Helper()
			var took bool
			mustTx(t, st, func(tx store.Tx) error {
				var err error
				took, err = tx.TakeOverIdempotency(t.Context(), party, key, claimedAt, at)
				return err
			})
			return took
		}
		complete := func(t *testing.T, st store.Store, party domain.ID, key string, claimedAt time.Time, status int, resp string) {
			t.Helper()
			mustTx(t, st, func(tx store.Tx) error {
				return tx.CompleteIdempotency(t.Context(), party, key, claimedAt, status, []byte(resp))
			})
		}
		release := func(t *testing.T, st store.Store, party domain.ID, key string, claimedAt time.Time) {
			t.Helper()
			mustTx(t, st, func(tx store.Tx) error { return tx.ReleaseIdempotency(t.Context(), party, key, claimedAt) })
		}
		// write appends a record in a write transaction under the claim.
		write := func(t *testing.T, st store.Store, party domain.ID, key string, at time.Time, subject string) error {
			ctx := store.WithIdempotencyClaim(t.Context(), party, key, at)
			return st.InTx(ctx, func(tx store.Tx) error {
				rec := audit("test.write", subject)
				return tx.AppendAudit(ctx, &rec)
			})
		}
		inFlight := func(at time.Time) *store.Idempotent {
			return &store.Idempotent{RequestHash: hash, Status: 0, ClaimedAt: at}
		}

		t.Run("Claim", func(t *testing.T) {
			st, _ := b.Open(t)
			party, other := newID(), newID()
			if prev := claim(t, st, party, "key-1", hash, t0); prev != nil {
				t.Fatalf("first claim = %+v, want nil", prev)
			}
			equal(t, "second claim", claim(t, st, party, "key-1", []byte("another request"), t1), inFlight(t0))
			if prev := claim(t, st, other, "key-1", hash, t1); prev != nil {
				t.Errorf("another party's claim of the key = %+v, want nil", prev)
			}
			if prev := claim(t, st, party, "key-2", hash, t1); prev != nil {
				t.Errorf("claim of another key = %+v, want nil", prev)
			}
		})

		t.Run("CompleteAndReplay", func(t *testing.T) {
			st, _ := b.Open(t)
			party := newID()
			claim(t, st, party, "k", hash, t0)
			complete(t, st, party, "k", t1, 201, "not this claim's") // names another claim: no change
			equal(t, "claim after completing another claim", claim(t, st, party, "k", hash, t1), inFlight(t0))
			complete(t, st, party, "k", t0, 201, `{"id":1}`)
			want := &store.Idempotent{RequestHash: hash, Status: 201, Response: []byte(`{"id":1}`), ClaimedAt: t0}
			equal(t, "replay", claim(t, st, party, "k", hash, t1), want)
			complete(t, st, party, "k", t0, 500, "again") // completed once
			equal(t, "replay after completing again", claim(t, st, party, "k", hash, t2), want)
		})

		t.Run("Release", func(t *testing.T) {
			st, _ := b.Open(t)
			party := newID()
			claim(t, st, party, "k", hash, t0)
			release(t, st, party, "k", t1) // names another claim: no change
			equal(t, "claim after releasing another claim", claim(t, st, party, "k", hash, t1), inFlight(t0))
			release(t, st, party, "k", t0)
			if prev := claim(t, st, party, "k", hash, t1); prev != nil {
				t.Fatalf("claim after release = %+v, want nil", prev)
			}
			complete(t, st, party, "k", t1, 200, "ok")
			release(t, st, party, "k", t1) // completed: kept
			equal(t, "replay after releasing a completed key", claim(t, st, party, "k", hash, t2),
				&store.Idempotent{RequestHash: hash, Status: 200, Response: []byte("ok"), ClaimedAt: t1})
		})

		t.Run("TakeOver", func(t *testing.T) {
			st, _ := b.Open(t)
			party := newID()
			claim(t, st, party, "k", hash, t0)
			if !takeOver(t, st, party, "k", t0, t1) {
				t.Fatal("an in-flight claim was not taken over")
			}
			equal(t, "claim after the takeover", claim(t, st, party, "k", hash, t2), inFlight(t1))
			if takeOver(t, st, party, "k", t0, t2) {
				t.Error("a claim was taken over from an instant it no longer has")
			}
			if takeOver(t, st, party, "unknown", t0, t2) {
				t.Error("an unknown key was taken over")
			}
			complete(t, st, party, "k", t1, 200, "ok")
			if takeOver(t, st, party, "k", t1, t2) {
				t.Error("a completed claim was taken over")
			}
		})

		t.Run("CommitMarksClaim", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			party := newID()
			claim(t, st, party, "failed", hash, t0)
			if err := st.InTx(store.WithIdempotencyClaim(ctx, party, "failed", t0), func(tx store.Tx) error { return errRollback }); err != errRollback {
				t.Fatal(err)
			}
			if err := st.View(store.WithIdempotencyClaim(ctx, party, "failed", t0), func(tx store.Tx) error { return nil }); err != nil {
				t.Fatal(err)
			}
			equal(t, "claim after a failed command and a view", claim(t, st, party, "failed", hash, t1), inFlight(t0))

			claim(t, st, party, "ok", hash, t0)
			if err := write(t, st, party, "ok", t0, "ok"); err != nil {
				t.Fatal(err)
			}
			equal(t, "claim after its command committed", claim(t, st, party, "ok", hash, t1),
				&store.Idempotent{RequestHash: hash, Status: store.IdempotencyCommitted, ClaimedAt: t0})
			complete(t, st, party, "ok", t0, 201, "created")
			equal(t, "replay", claim(t, st, party, "ok", hash, t1),
				&store.Idempotent{RequestHash: hash, Status: 201, Response: []byte("created"), ClaimedAt: t0})
		})

		t.Run("ConcurrentClaims", func(t *testing.T) {
			// Many claims of one key at once: exactly one claims it, every
			// other gets the claim back (not a unique violation).
			ctx := t.Context()
			st, _ := b.Open(t)
			party := newID()
			const claims = 50
			var wg sync.WaitGroup
			var mu sync.Mutex
			won, seen := 0, 0
			errs := make(chan error, claims)
			for range claims {
				wg.Go(func() {
					var prev *store.Idempotent
					err := st.InTx(ctx, func(tx store.Tx) error {
						var err error
						prev, err = tx.ClaimIdempotency(ctx, party, "key-1", hash, t0)
						return err
					})
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err != nil:
						errs <- err
					case prev == nil:
						won++
					case bytes.Equal(prev.RequestHash, hash) && prev.Status == 0 && prev.ClaimedAt.Equal(t0):
						seen++
					default:
						errs <- fmt.Errorf("claim returned %+v", prev)
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if won != 1 || seen != claims-1 {
				t.Fatalf("%d claims won and %d saw the claim, want 1 and %d", won, seen, claims-1)
			}
		})

		t.Run("Fencing", func(t *testing.T) {
			// A write transaction under a claim marks it committed; once a
			// retry has taken the claim over, the first claimant's writes
			// can no longer commit, and its completion changes nothing.
			ctx := t.Context()
			st, _ := b.Open(t)
			party := newID()
			size := func() int64 {
				return read(t, st, func(tx store.Tx) (int64, error) { return tx.AuditSize(ctx) })
			}
			// Committed under its claim: a later claim sees it committed.
			claim(t, st, party, "done", hash, t0)
			if err := write(t, st, party, "done", t0, "done"); err != nil {
				t.Fatal(err)
			}
			if prev := claim(t, st, party, "done", hash, t1); prev == nil || prev.Status != store.IdempotencyCommitted || !prev.ClaimedAt.Equal(t0) {
				t.Fatalf("after the command committed: %+v", prev)
			}
			// Taken over before committing: the first claimant is fenced.
			claim(t, st, party, "slow", hash, t0)
			if !takeOver(t, st, party, "slow", t0, t1) {
				t.Fatal("an in-flight claim was not taken over")
			}
			before := size()
			wantCode(t, "the fenced claimant's write", write(t, st, party, "slow", t0, "fenced"), domain.ECONFLICT)
			complete(t, st, party, "slow", t0, 201, "first")
			if err := write(t, st, party, "slow", t1, "taken over"); err != nil {
				t.Fatal(err)
			}
			complete(t, st, party, "slow", t1, 201, "second")
			release(t, st, party, "slow", t0)
			if prev := claim(t, st, party, "slow", hash, t2); prev == nil || prev.Status != 201 || string(prev.Response) != "second" {
				t.Fatalf("after the takeover: %+v", prev)
			}
			if n := size(); n != before+1 {
				t.Errorf("%d records written under the claims, want 1", n-before)
			}
			// A committed claim is not taken over.
			if takeOver(t, st, party, "done", t0, t2) {
				t.Fatal("a committed claim was taken over")
			}
			// A claim that is gone (released, or never made) fences too.
			before = size()
			claim(t, st, party, "gone", hash, t0)
			release(t, st, party, "gone", t0)
			wantCode(t, "a write under a released claim", write(t, st, party, "gone", t0, "released"), domain.ECONFLICT)
			wantCode(t, "a write under a claim never made", write(t, st, party, "never", t0, "never"), domain.ECONFLICT)
			if n := size(); n != before {
				t.Errorf("%d records written under claims that are gone, want 0", n-before)
			}
		})
	})
}
