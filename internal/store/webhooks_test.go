package store_test

import (
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// TestWebhooks: a subscription reads back as stored; Webhooks lists a
// party's (or everyone's) in id order; AdvanceWebhook moves it only under
// its current epoch, so that a replay made while an event was in flight
// is not overwritten; ReplayWebhook rewinds the cursors, clears the
// failures and forgets the dead letters from its index on; deleting one
// takes its dead letters with it; an unknown party is EINVALID and an
// unknown subscription ENOTFOUND.
func TestWebhooks(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		st, _ := b.Open(t)
		buyer, vendor := seedParty(t, st, "bytedance"), seedParty(t, st, "nvidia")
		w1 := store.Webhook{ID: newID(), PartyID: buyer.ID, URL: "https://hooks.example/a", Types: []string{"order.held", "order.decided"},
			CreatedAt: t0, WebhookProgress: store.WebhookProgress{NextIndex: 7, CheckpointSize: 5}}
		w2 := store.Webhook{ID: newID(), PartyID: vendor.ID, URL: "https://hooks.example/b", CreatedAt: t0}
		mustTx(t, st, func(tx store.Tx) error {
			if err := tx.CreateWebhook(ctx, &w1); err != nil {
				return err
			}
			return tx.CreateWebhook(ctx, &w2)
		})
		got := read(t, st, func(tx store.Tx) (store.Webhook, error) { return tx.Webhook(ctx, w1.ID) })
		equal(t, "Webhook", got, w1)
		equal(t, "Webhooks(buyer)", read(t, st, func(tx store.Tx) ([]store.Webhook, error) { return tx.Webhooks(ctx, buyer.ID) }), []store.Webhook{w1})
		all := read(t, st, func(tx store.Tx) ([]store.Webhook, error) { return tx.Webhooks(ctx, domain.ID{}) })
		if len(all) != 2 || all[0].ID.String() > all[1].ID.String() {
			t.Fatalf("Webhooks(all) = %v", all)
		}

		next := t0.Add(time.Minute)
		p := store.WebhookProgress{NextIndex: 9, CheckpointSize: 8, Failures: 2, NextAttemptAt: &next, LastError: "500", Delivered: 3}
		var ok bool
		mustTx(t, st, func(tx store.Tx) (err error) {
			ok, err = tx.AdvanceWebhook(ctx, w1.ID, 0, p)
			if err != nil {
				return err
			}
			return tx.AddDeadLetter(ctx, w1.ID, store.DeadLetter{EventID: "8", LedgerIndex: 8, Type: "order.held", Attempts: 5, LastError: "timeout", FailedAt: t0})
		})
		if !ok {
			t.Fatal("AdvanceWebhook under the current epoch: false")
		}
		got = read(t, st, func(tx store.Tx) (store.Webhook, error) { return tx.Webhook(ctx, w1.ID) })
		w1.WebhookProgress = p
		equal(t, "Webhook after AdvanceWebhook", got, w1)
		mustTx(t, st, func(tx store.Tx) error {
			return tx.AddDeadLetter(ctx, w1.ID, store.DeadLetter{EventID: "12", LedgerIndex: 12, Type: "order.held", Attempts: 5, LastError: "500", FailedAt: t0})
		})
		equal(t, "DeadLetters", len(read(t, st, func(tx store.Tx) ([]store.DeadLetter, error) { return tx.DeadLetters(ctx, w1.ID) })), 2)

		mustTx(t, st, func(tx store.Tx) error { return tx.ReplayWebhook(ctx, w1.ID, 10) })
		got = read(t, st, func(tx store.Tx) (store.Webhook, error) { return tx.Webhook(ctx, w1.ID) })
		w1.Epoch, w1.WebhookProgress = 1, store.WebhookProgress{NextIndex: 10, CheckpointSize: 8, Delivered: 3}
		equal(t, "Webhook after ReplayWebhook", got, w1)
		dead := read(t, st, func(tx store.Tx) ([]store.DeadLetter, error) { return tx.DeadLetters(ctx, w1.ID) })
		if len(dead) != 1 || dead[0].EventID != "8" || dead[0].Attempts != 5 || !dead[0].FailedAt.Equal(t0) {
			t.Fatalf("dead letters after a replay from 10: %+v, want the one of index 8", dead)
		}
		mustTx(t, st, func(tx store.Tx) error { return tx.ReplayWebhook(ctx, w1.ID, 2) })
		got = read(t, st, func(tx store.Tx) (store.Webhook, error) { return tx.Webhook(ctx, w1.ID) })
		if got.NextIndex != 2 || got.CheckpointSize != 2 || got.Epoch != 2 {
			t.Fatalf("after a replay from 2: %+v", got)
		}
		// A delivery that started before the replay cannot write its cursor.
		mustTx(t, st, func(tx store.Tx) (err error) {
			ok, err = tx.AdvanceWebhook(ctx, w1.ID, 1, store.WebhookProgress{NextIndex: 11})
			return err
		})
		if ok {
			t.Fatal("AdvanceWebhook under a stale epoch moved the cursor")
		}

		mustTx(t, st, func(tx store.Tx) error { return tx.DeleteWebhook(ctx, w1.ID) })
		err := st.View(ctx, func(tx store.Tx) error { _, err := tx.Webhook(ctx, w1.ID); return err })
		if domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("Webhook after delete: %v, want ENOTFOUND", err)
		}
		equal(t, "DeadLetters after delete", len(read(t, st, func(tx store.Tx) ([]store.DeadLetter, error) { return tx.DeadLetters(ctx, w1.ID) })), 0)
		for name, fn := range map[string]func(store.Tx) error{
			"DeleteUnknown": func(tx store.Tx) error { return tx.DeleteWebhook(ctx, w1.ID) },
			"ReplayUnknown": func(tx store.Tx) error { return tx.ReplayWebhook(ctx, w1.ID, 0) },
		} {
			if err := st.InTx(ctx, fn); domain.ErrorCode(err) != domain.ENOTFOUND {
				t.Errorf("%s: %v, want ENOTFOUND", name, err)
			}
		}
		err = st.InTx(ctx, func(tx store.Tx) error {
			return tx.CreateWebhook(ctx, &store.Webhook{ID: newID(), PartyID: newID(), URL: "https://x", CreatedAt: t0})
		})
		if domain.ErrorCode(err) != domain.EINVALID {
			t.Fatalf("a webhook of an unknown party: %v, want EINVALID", err)
		}
	})
}
