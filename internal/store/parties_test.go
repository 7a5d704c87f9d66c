package store_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// TestParties checks CreateParty, Party, PartyBySlug and Parties: a party
// reads back field for field by id and by slug; Parties lists every party
// ordered by slug; a taken slug or id is ECONFLICT; an unknown id or slug is
// ENOTFOUND.
func TestParties(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		t.Run("RoundTrip", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			p := newParty("bytedance", domain.RoleBuyer)
			p.Class, p.Country = domain.ClassPlatform, "CN"
			v := newParty("nvidia", domain.RoleVendor) // no class
			mustTx(t, st, func(tx store.Tx) error {
				if err := tx.CreateParty(ctx, &p); err != nil {
					return err
				}
				return tx.CreateParty(ctx, &v)
			})
			for _, want := range []domain.Party{p, v} {
				equal(t, "PartyBySlug", read(t, st, func(tx store.Tx) (domain.Party, error) { return tx.PartyBySlug(ctx, want.Slug) }), want)
				equal(t, "Party", read(t, st, func(tx store.Tx) (domain.Party, error) { return tx.Party(ctx, want.ID) }), want)
			}
		})

		t.Run("ListOrderedBySlug", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			if ps := read(t, st, func(tx store.Tx) ([]domain.Party, error) { return tx.Parties(ctx) }); len(ps) != 0 {
				t.Fatalf("Parties of an empty store = %+v", ps)
			}
			var want []domain.Party
			mustTx(t, st, func(tx store.Tx) error {
				for _, slug := range []string{"nvidia", "amd", "alibaba-cloud", "alibaba", "a0"} {
					p := newParty(slug, domain.RoleBuyer)
					if err := tx.CreateParty(ctx, &p); err != nil {
						return err
					}
					want = append(want, p)
				}
				return nil
			})
			want = []domain.Party{want[4], want[3], want[2], want[1], want[0]}
			equal(t, "Parties", read(t, st, func(tx store.Tx) ([]domain.Party, error) { return tx.Parties(ctx) }), want)
		})

		t.Run("ErrSlugTaken", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			p := seedParty(t, st, "nvidia")
			q := newParty("nvidia", domain.RoleVendor)
			wantCode(t, "CreateParty(taken slug)", st.InTx(ctx, func(tx store.Tx) error { return tx.CreateParty(ctx, &q) }), domain.ECONFLICT)
			equal(t, "Parties", read(t, st, func(tx store.Tx) ([]domain.Party, error) { return tx.Parties(ctx) }), []domain.Party{p})
		})

		t.Run("ErrIDTaken", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			p := seedParty(t, st, "nvidia")
			q := newParty("amd", domain.RoleVendor)
			q.ID = p.ID
			wantCode(t, "CreateParty(taken id)", st.InTx(ctx, func(tx store.Tx) error { return tx.CreateParty(ctx, &q) }), domain.ECONFLICT)
		})

		t.Run("ErrNotFound", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			seedParty(t, st, "nvidia")
			_, err := readErr(st, func(tx store.Tx) (domain.Party, error) { return tx.PartyBySlug(ctx, "nobody") })
			wantCode(t, "PartyBySlug(unknown)", err, domain.ENOTFOUND)
			_, err = readErr(st, func(tx store.Tx) (domain.Party, error) { return tx.Party(ctx, newID()) })
			wantCode(t, "Party(unknown)", err, domain.ENOTFOUND)
		})
	})
}

// TestUsers checks CreateUser, User and Users: a user reads back field for
// field; Users lists a party's users (only theirs) ordered by creation, ties
// by id; a taken id is ECONFLICT, an unknown party EINVALID, an unknown user
// ENOTFOUND.
func TestUsers(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		t.Run("RoundTrip", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			p := seedParty(t, st, "nvidia")
			u := newUser(p, "Ada Lovelace", t0)
			mustTx(t, st, func(tx store.Tx) error { return tx.CreateUser(ctx, &u) })
			equal(t, "User", read(t, st, func(tx store.Tx) (domain.User, error) { return tx.User(ctx, u.ID) }), u)
		})

		t.Run("ListByPartyOrderedByCreation", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			p, q, r := seedParty(t, st, "nvidia"), seedParty(t, st, "amd"), seedParty(t, st, "intel")
			ids := orderedIDs(4)
			late := domain.User{ID: ids[0], PartyID: p.ID, Name: "late", CreatedAt: t0.Add(2 * time.Hour)}
			first := domain.User{ID: ids[2], PartyID: p.ID, Name: "first", CreatedAt: t0}
			tieB := domain.User{ID: ids[3], PartyID: p.ID, Name: "tie b", CreatedAt: t0.Add(time.Hour)}
			tieA := domain.User{ID: ids[1], PartyID: p.ID, Name: "tie a", CreatedAt: t0.Add(time.Hour)}
			other := newUser(q, "other", t0)
			mustTx(t, st, func(tx store.Tx) error {
				for _, u := range []*domain.User{&late, &first, &tieB, &other, &tieA} {
					if err := tx.CreateUser(ctx, u); err != nil {
						return err
					}
				}
				return nil
			})
			equal(t, "Users(nvidia)", read(t, st, func(tx store.Tx) ([]domain.User, error) { return tx.Users(ctx, p.ID) }),
				[]domain.User{first, tieA, tieB, late})
			equal(t, "Users(amd)", read(t, st, func(tx store.Tx) ([]domain.User, error) { return tx.Users(ctx, q.ID) }), []domain.User{other})
			if us := read(t, st, func(tx store.Tx) ([]domain.User, error) { return tx.Users(ctx, r.ID) }); len(us) != 0 {
				t.Errorf("Users(party without users) = %+v", us)
			}
		})

		t.Run("ErrIDTaken", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			p := seedParty(t, st, "nvidia")
			u := newUser(p, "one", t0)
			mustTx(t, st, func(tx store.Tx) error { return tx.CreateUser(ctx, &u) })
			v := newUser(p, "two", t0)
			v.ID = u.ID
			wantCode(t, "CreateUser(taken id)", st.InTx(ctx, func(tx store.Tx) error { return tx.CreateUser(ctx, &v) }), domain.ECONFLICT)
		})

		t.Run("ErrUnknownParty", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			u := domain.User{ID: newID(), PartyID: newID(), Name: "orphan", CreatedAt: t0}
			wantCode(t, "CreateUser(unknown party)", st.InTx(ctx, func(tx store.Tx) error { return tx.CreateUser(ctx, &u) }), domain.EINVALID)
		})

		t.Run("ErrNotFound", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			_, err := readErr(st, func(tx store.Tx) (domain.User, error) { return tx.User(ctx, newID()) })
			wantCode(t, "User(unknown)", err, domain.ENOTFOUND)
		})
	})
}

// TestTokens checks tokens, the principal and the token epoch: a token reads
// back field for field by hash and by id (with and without an expiry);
// Tokens lists a user's tokens newest first; a taken hash is ECONFLICT, an
// unknown user EINVALID, an unknown hash or id ENOTFOUND. RevokeToken stamps
// the instant once (revoking again keeps the first instant) and is ENOTFOUND
// for an unknown token. Principal, in a transaction or on its own, joins the
// token's user and party and sees revocations. The token epoch starts at 0
// and moves by one with each revocation, when it commits; revoking a revoked
// or unknown token, or a revocation rolled back, leaves it.
func TestTokens(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		t.Run("RoundTrip", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			p := seedParty(t, st, "us-testlab")
			u := newUser(p, "lab operator", t0)
			exp := t0.Add(24 * time.Hour)
			k := newToken(u, 7, t0)
			k.Label, k.ExpiresAt = "ci", &exp
			forever := newToken(u, 8, t0)
			mustTx(t, st, func(tx store.Tx) error {
				if err := tx.CreateUser(ctx, &u); err != nil {
					return err
				}
				if err := tx.CreateToken(ctx, &k); err != nil {
					return err
				}
				return tx.CreateToken(ctx, &forever)
			})
			for _, want := range []domain.Token{k, forever} {
				equal(t, "TokenByHash", read(t, st, func(tx store.Tx) (domain.Token, error) { return tx.TokenByHash(ctx, want.Hash) }), want)
				equal(t, "Token", read(t, st, func(tx store.Tx) (domain.Token, error) { return tx.Token(ctx, want.ID) }), want)
			}
			got := read(t, st, func(tx store.Tx) (domain.Token, error) { return tx.TokenByHash(ctx, k.Hash) })
			if !got.Active(t0) || got.Active(exp) {
				t.Errorf("token active at creation %v, at expiry %v; want true, false", got.Active(t0), got.Active(exp))
			}
		})

		t.Run("SessionLineage", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			p := seedParty(t, st, "us-testlab")
			u := newUser(p, "lab operator", t0)
			api := newToken(u, 7, t0)
			session := newToken(u, 8, t0)
			exp := t0.Add(time.Hour)
			session.Kind, session.ParentID, session.ExpiresAt, session.LastUsedAt = domain.TokenSession, &api.ID, &exp, &t0
			mustTx(t, st, func(tx store.Tx) error {
				if err := tx.CreateUser(ctx, &u); err != nil {
					return err
				}
				if err := tx.CreateToken(ctx, &api); err != nil {
					return err
				}
				return tx.CreateToken(ctx, &session)
			})
			if api.Kind != domain.TokenAPI {
				t.Errorf("a token created without a kind is %q, want api", api.Kind)
			}
			equal(t, "Token(session)", read(t, st, func(tx store.Tx) (domain.Token, error) { return tx.Token(ctx, session.ID) }), session)
			later := t0.Add(10 * time.Minute)
			mustTx(t, st, func(tx store.Tx) error { return tx.TouchToken(ctx, session.ID, later) })
			k, _, _, err := st.Principal(ctx, session.Hash)
			if err != nil {
				t.Fatal(err)
			}
			if k.LastUsedAt == nil || !k.LastUsedAt.Equal(later) || k.ParentID == nil || *k.ParentID != api.ID || k.Kind != domain.TokenSession {
				t.Errorf("Principal(session) = %+v, want last used %v, parent %v, kind session", k, later, api.ID)
			}
			wantCode(t, "TouchToken(unknown)", st.InTx(ctx, func(tx store.Tx) error { return tx.TouchToken(ctx, newID(), later) }), domain.ENOTFOUND)
		})

		t.Run("ListNewestFirst", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			p := seedParty(t, st, "nvidia")
			u, v, w := newUser(p, "u", t0), newUser(p, "v", t0), newUser(p, "w", t0)
			ids := orderedIDs(4)
			mk := func(id domain.ID, hash byte, at time.Time) domain.Token {
				k := newToken(u, hash, at)
				k.ID = id
				return k
			}
			old, tieA, tieB, newest := mk(ids[3], 1, t0), mk(ids[1], 2, t0.Add(time.Hour)), mk(ids[2], 3, t0.Add(time.Hour)), mk(ids[0], 4, t0.Add(2*time.Hour))
			other := newToken(v, 5, t0)
			mustTx(t, st, func(tx store.Tx) error {
				for _, x := range []*domain.User{&u, &v, &w} {
					if err := tx.CreateUser(ctx, x); err != nil {
						return err
					}
				}
				for _, k := range []*domain.Token{&tieA, &newest, &other, &old, &tieB} {
					if err := tx.CreateToken(ctx, k); err != nil {
						return err
					}
				}
				return nil
			})
			equal(t, "Tokens(u)", read(t, st, func(tx store.Tx) ([]domain.Token, error) { return tx.Tokens(ctx, u.ID) }),
				[]domain.Token{newest, tieB, tieA, old})
			equal(t, "Tokens(v)", read(t, st, func(tx store.Tx) ([]domain.Token, error) { return tx.Tokens(ctx, v.ID) }), []domain.Token{other})
			if ks := read(t, st, func(tx store.Tx) ([]domain.Token, error) { return tx.Tokens(ctx, w.ID) }); len(ks) != 0 {
				t.Errorf("Tokens(user without tokens) = %+v", ks)
			}
		})

		t.Run("ErrHashTaken", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			k := seedToken(t, st)
			dup := k
			dup.ID = newID()
			wantCode(t, "CreateToken(taken hash)", st.InTx(ctx, func(tx store.Tx) error { return tx.CreateToken(ctx, &dup) }), domain.ECONFLICT)
		})

		t.Run("ErrUnknownUser", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			k := newToken(domain.User{ID: newID()}, 1, t0)
			wantCode(t, "CreateToken(unknown user)", st.InTx(ctx, func(tx store.Tx) error { return tx.CreateToken(ctx, &k) }), domain.EINVALID)
		})

		t.Run("ErrNotFound", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			seedToken(t, st)
			_, err := readErr(st, func(tx store.Tx) (domain.Token, error) { return tx.TokenByHash(ctx, bytes.Repeat([]byte{8}, 32)) })
			wantCode(t, "TokenByHash(unknown)", err, domain.ENOTFOUND)
			_, err = readErr(st, func(tx store.Tx) (domain.Token, error) { return tx.Token(ctx, newID()) })
			wantCode(t, "Token(unknown)", err, domain.ENOTFOUND)
		})

		t.Run("Revoke", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			k := seedToken(t, st)
			mustTx(t, st, func(tx store.Tx) error { return tx.RevokeToken(ctx, k.ID, t0.Add(time.Minute)) })
			got := read(t, st, func(tx store.Tx) (domain.Token, error) { return tx.Token(ctx, k.ID) })
			if got.RevokedAt == nil || !got.RevokedAt.Equal(t0.Add(time.Minute)) || got.Active(t0.Add(2*time.Minute)) {
				t.Fatalf("revoked token: %+v", got)
			}
			// Revoking again succeeds and keeps the first instant.
			mustTx(t, st, func(tx store.Tx) error { return tx.RevokeToken(ctx, k.ID, t0.Add(time.Hour)) })
			again := read(t, st, func(tx store.Tx) (domain.Token, error) { return tx.Token(ctx, k.ID) })
			equal(t, "token revoked twice", again, got)
			err := st.InTx(ctx, func(tx store.Tx) error { return tx.RevokeToken(ctx, newID(), t0) })
			wantCode(t, "RevokeToken(unknown)", err, domain.ENOTFOUND)
		})

		t.Run("Principal", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			k := seedToken(t, st)
			u := read(t, st, func(tx store.Tx) (domain.User, error) { return tx.User(ctx, k.UserID) })
			p := read(t, st, func(tx store.Tx) (domain.Party, error) { return tx.Party(ctx, u.PartyID) })
			check := func(what string, gk domain.Token, gu domain.User, gp domain.Party, err error, wantK domain.Token) {
				t.Helper()
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				equal(t, what+" token", gk, wantK)
				equal(t, what+" user", gu, u)
				equal(t, what+" party", gp, p)
			}
			mustView(t, st, func(tx store.Tx) error {
				gk, gu, gp, err := tx.Principal(ctx, k.Hash)
				check("Tx.Principal", gk, gu, gp, err, k)
				return nil
			})
			gk, gu, gp, err := st.Principal(ctx, k.Hash)
			check("Store.Principal", gk, gu, gp, err, k)

			// The transaction-free lookup every request makes sees the
			// revocation and joins the user and the party.
			mustTx(t, st, func(tx store.Tx) error { return tx.RevokeToken(ctx, k.ID, t0.Add(time.Minute)) })
			revoked := read(t, st, func(tx store.Tx) (domain.Token, error) { return tx.Token(ctx, k.ID) })
			for range 2 { // once unprepared, once from the statement cache
				gk, gu, gp, err := st.Principal(ctx, k.Hash)
				check("Store.Principal after revocation", gk, gu, gp, err, revoked)
				if gk.RevokedAt == nil || gp.Role != domain.RoleLab {
					t.Fatalf("Principal = %+v %+v", gk, gp)
				}
				time.Sleep(10 * time.Millisecond) // let the background prepare land
			}
			mustView(t, st, func(tx store.Tx) error {
				_, _, _, err := tx.Principal(ctx, bytes.Repeat([]byte{8}, 32))
				wantCode(t, "Tx.Principal(unknown)", err, domain.ENOTFOUND)
				return nil
			})
			_, _, _, err = st.Principal(ctx, bytes.Repeat([]byte{8}, 32))
			wantCode(t, "Store.Principal(unknown)", err, domain.ENOTFOUND)
		})

		t.Run("Epoch", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			epoch := func() int64 {
				t.Helper()
				n, err := st.TokenEpoch(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			if n := epoch(); n != 0 {
				t.Fatalf("token epoch of a new store = %d, want 0", n)
			}
			k := seedToken(t, st)
			// Until the revocation commits, the epoch has not moved.
			mustTx(t, st, func(tx store.Tx) error {
				if err := tx.RevokeToken(ctx, k.ID, t0.Add(time.Minute)); err != nil {
					return err
				}
				// (fn may run on another goroutine: no t.Fatal here.)
				if n, err := st.TokenEpoch(ctx); err != nil || n != 0 {
					t.Errorf("token epoch before the revocation committed = %d, %v; want 0", n, err)
				}
				return nil
			})
			// The revocation moved the token epoch once; revoking again, or
			// an unknown token, does not move it.
			if n := epoch(); n != 1 {
				t.Fatalf("token epoch after one revocation = %d; want 1", n)
			}
			mustTx(t, st, func(tx store.Tx) error { return tx.RevokeToken(ctx, k.ID, t0.Add(time.Hour)) })
			if n := epoch(); n != 1 {
				t.Fatalf("token epoch after revoking a revoked token = %d; want 1", n)
			}
			_ = st.InTx(ctx, func(tx store.Tx) error { return tx.RevokeToken(ctx, newID(), t0) })
			if n := epoch(); n != 1 {
				t.Fatalf("token epoch after revoking an unknown token = %d; want 1", n)
			}
			// A revocation rolled back leaves it; the next one moves it.
			u := read(t, st, func(tx store.Tx) (domain.User, error) { return tx.User(ctx, k.UserID) })
			k2 := newToken(u, 9, t0)
			mustTx(t, st, func(tx store.Tx) error { return tx.CreateToken(ctx, &k2) })
			_ = st.InTx(ctx, func(tx store.Tx) error {
				if err := tx.RevokeToken(ctx, k2.ID, t0); err != nil {
					return err
				}
				return errRollback
			})
			if n := epoch(); n != 1 {
				t.Fatalf("token epoch after a revocation rolled back = %d; want 1", n)
			}
			mustTx(t, st, func(tx store.Tx) error { return tx.RevokeToken(ctx, k2.ID, t0) })
			if n := epoch(); n != 2 {
				t.Fatalf("token epoch after two revocations = %d; want 2", n)
			}
		})
	})
}
