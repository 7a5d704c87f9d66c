package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// TestIdentity checks the identity provider, mappings and pending sign-ins:
// a provider reads back with its secret and a second put replaces it; a
// mapping is unique per party, kind and value, listed oldest first and
// deleted only by its party; a pending sign-in is taken once, and not once
// expired; SetUserDuties replaces the duties and moves the token epoch.
func TestIdentity(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		st, _ := b.Open(t)
		p, q := seedParty(t, st, "us-commerce"), seedParty(t, st, "cn-mofcom")
		u := newUser(p, "officer", t0)
		mustTx(t, st, func(tx store.Tx) error { return tx.CreateUser(ctx, &u) })

		ip := domain.IdentityProvider{PartyID: p.ID, Issuer: "https://login.example", ClientID: "c", ClientSecret: "s1", GroupsClaim: "groups", Name: "SSO", UpdatedAt: t0}
		mustTx(t, st, func(tx store.Tx) error { return tx.PutIdentityProvider(ctx, &ip) })
		ip.ClientSecret, ip.UpdatedAt = "s2", t0.Add(time.Hour)
		mustTx(t, st, func(tx store.Tx) error { return tx.PutIdentityProvider(ctx, &ip) })
		equal(t, "IdentityProvider", read(t, st, func(tx store.Tx) (domain.IdentityProvider, error) { return tx.IdentityProvider(ctx, p.ID) }), ip)
		_, err := readErr(st, func(tx store.Tx) (domain.IdentityProvider, error) { return tx.IdentityProvider(ctx, q.ID) })
		wantCode(t, "IdentityProvider(none)", err, domain.ENOTFOUND)

		m1 := domain.IdentityMapping{ID: newID(), PartyID: p.ID, Kind: domain.MapSubject, Value: "alice", UserID: u.ID, CreatedAt: t0}
		m2 := domain.IdentityMapping{ID: newID(), PartyID: p.ID, Kind: domain.MapGroup, Value: "alice", UserID: u.ID, CreatedAt: t0.Add(time.Minute)}
		mustTx(t, st, func(tx store.Tx) error { return tx.CreateIdentityMapping(ctx, &m2) })
		mustTx(t, st, func(tx store.Tx) error { return tx.CreateIdentityMapping(ctx, &m1) })
		dup := m1
		dup.ID = newID()
		wantCode(t, "CreateIdentityMapping(taken)", st.InTx(ctx, func(tx store.Tx) error { return tx.CreateIdentityMapping(ctx, &dup) }), domain.ECONFLICT)
		equal(t, "IdentityMappings", read(t, st, func(tx store.Tx) ([]domain.IdentityMapping, error) { return tx.IdentityMappings(ctx, p.ID) }), []domain.IdentityMapping{m1, m2})
		wantCode(t, "DeleteIdentityMapping(other party)", st.InTx(ctx, func(tx store.Tx) error { return tx.DeleteIdentityMapping(ctx, q.ID, m1.ID) }), domain.ENOTFOUND)
		mustTx(t, st, func(tx store.Tx) error { return tx.DeleteIdentityMapping(ctx, p.ID, m1.ID) })
		equal(t, "IdentityMappings after delete", read(t, st, func(tx store.Tx) ([]domain.IdentityMapping, error) { return tx.IdentityMappings(ctx, p.ID) }), []domain.IdentityMapping{m2})

		ps := domain.PendingSignIn{StateHash: []byte("state-hash-1"), PartyID: p.ID, Nonce: "n", Verifier: "v", ExpiresAt: t0.Add(10 * time.Minute)}
		mustTx(t, st, func(tx store.Tx) error { return tx.CreatePendingSignIn(ctx, &ps) })
		var got domain.PendingSignIn
		mustTx(t, st, func(tx store.Tx) error {
			var err error
			got, err = tx.TakePendingSignIn(ctx, ps.StateHash, t0)
			return err
		})
		equal(t, "TakePendingSignIn", got, ps)
		wantCode(t, "TakePendingSignIn(again)", st.InTx(ctx, func(tx store.Tx) error {
			_, err := tx.TakePendingSignIn(ctx, ps.StateHash, t0)
			return err
		}), domain.ENOTFOUND)
		old := domain.PendingSignIn{StateHash: []byte("state-hash-2"), PartyID: p.ID, Nonce: "n", Verifier: "v", ExpiresAt: t0}
		mustTx(t, st, func(tx store.Tx) error { return tx.CreatePendingSignIn(ctx, &old) })
		wantCode(t, "TakePendingSignIn(expired)", st.InTx(ctx, func(tx store.Tx) error {
			_, err := tx.TakePendingSignIn(ctx, old.StateHash, t0)
			return err
		}), domain.ENOTFOUND)

		before, err := st.TokenEpoch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		mustTx(t, st, func(tx store.Tx) error {
			return tx.SetUserDuties(ctx, u.ID, domain.Duties{domain.DutyOfficer, domain.DutyAdministrator})
		})
		if after, err := st.TokenEpoch(ctx); err != nil || after != before+1 {
			t.Fatalf("token epoch %d after setting duties, want %d (%v)", after, before+1, err)
		}
		equal(t, "duties", read(t, st, func(tx store.Tx) (domain.User, error) { return tx.User(ctx, u.ID) }).Duties, domain.Duties{domain.DutyOfficer, domain.DutyAdministrator})
		wantCode(t, "SetUserDuties(unknown)", st.InTx(ctx, func(tx store.Tx) error { return tx.SetUserDuties(ctx, newID(), nil) }), domain.ENOTFOUND)
	})
}
