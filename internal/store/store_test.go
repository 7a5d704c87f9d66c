// The store's conformance suite, in the manner of litestream's
// RunWithReplicaClient: one test per method group of store.Store and
// store.Tx, each run by storetest.Run against a fresh SQLite store always and
// a fresh PostgreSQL database when CHIPGATE_TEST_POSTGRES is set. Each test's
// doc comment states the contract it checks; the interface's doc comments in
// store.go say the same. The tests live next to the code of their group
// (parties_test.go, docs_test.go, …); this file holds the helpers and the
// contract of the Store itself: opening, leadership, errors, rollback.
package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// t0 has microseconds, the precision both backends keep.
var t0 = time.Date(2026, 1, 15, 9, 30, 0, 123456000, time.UTC)

// TestStore checks the Store's own methods and what holds across them:
// Dialect names the backend; Ping answers; commits survive closing and
// reopening the database; more concurrent transactions than pooled
// connections, on a cold statement cache, all finish; lists ordered by text
// order it byte by byte, whatever the database's collation; instants are
// kept to the microsecond and read back in UTC.
func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		t.Run("Dialect", func(t *testing.T) {
			st, _ := b.Open(t)
			if got := st.Dialect(); got != b.Name {
				t.Fatalf("Dialect() = %q, want %q", got, b.Name)
			}
		})

		t.Run("Ping", func(t *testing.T) {
			st, _ := b.Open(t)
			if err := st.Ping(t.Context()); err != nil {
				t.Fatal(err)
			}
		})

		t.Run("ReopenKeepsCommits", func(t *testing.T) {
			ctx := t.Context()
			st, dsn := b.Open(t)
			p := newParty("auditor", domain.RoleAuditor)
			mustTx(t, st, func(tx store.Tx) error { return tx.CreateParty(ctx, &p) })
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			again := storetest.MustOpen(t, dsn)
			got := read(t, again, func(tx store.Tx) (domain.Party, error) { return tx.PartyBySlug(ctx, "auditor") })
			equal(t, "PartyBySlug after reopening", got, p)
		})

		t.Run("ColdConcurrentReadsAndWrites", func(t *testing.T) {
			// More concurrent transactions than pooled connections, on a
			// cold statement cache: none may wait for a connection another
			// holds (a deadlock would end in the deadline's error).
			ctx := t.Context()
			st, _ := b.Open(t)
			p := newParty("nvidia", domain.RoleVendor)
			mustTx(t, st, func(tx store.Tx) error { return tx.CreateParty(ctx, &p) })
			dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			errs := make(chan error, 64)
			for i := range 32 {
				wg.Go(func() {
					errs <- st.View(dctx, func(tx store.Tx) error {
						if _, err := tx.PartyBySlug(dctx, "nvidia"); err != nil {
							return err
						}
						_, err := tx.Parties(dctx)
						return err
					})
				})
				wg.Go(func() {
					errs <- st.InTx(dctx, func(tx store.Tx) error {
						rec := audit("test.write", fmt.Sprint(i))
						return tx.AppendAudit(dctx, &rec)
					})
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if n := read(t, st, func(tx store.Tx) (int64, error) { return tx.AuditSize(ctx) }); n != 32 {
				t.Fatalf("audit size = %d, want 32", n)
			}
		})

		t.Run("TextInByteOrder", func(t *testing.T) {
			// Lists ordered by text order it byte by byte, as SQLite does,
			// whatever the collation of a PostgreSQL database: under a
			// locale's, "tw-0001" sorts before "TW-0002".
			ctx := t.Context()
			st, dsn := b.Open(t)
			if b.Name == "postgres" {
				linguistic(t, dsn, "parties.slug", "products.slug", "lots.number")
			}
			var prods []domain.Product
			mustTx(t, st, func(tx store.Tx) error {
				for _, slug := range []string{"b", "a-b", "B", "aa", "a"} {
					p := newParty(slug, domain.RoleBuyer)
					if err := tx.CreateParty(ctx, &p); err != nil {
						return err
					}
					prod := newProduct(slug, t0)
					if err := tx.CreateProduct(ctx, &prod); err != nil {
						return err
					}
					prods = append(prods, prod)
					l := newLot(prods[0], "tw-"+slug, 10, t0)
					if err := tx.CreateLot(ctx, &l); err != nil {
						return err
					}
				}
				return nil
			})
			// Compare keys only: the rows are checked elsewhere.
			var slugs, prodSlugs, numbers []string
			for _, p := range read(t, st, func(tx store.Tx) ([]domain.Party, error) { return tx.Parties(ctx) }) {
				slugs = append(slugs, p.Slug)
			}
			for _, p := range read(t, st, func(tx store.Tx) ([]domain.Product, error) { return tx.Products(ctx) }) {
				prodSlugs = append(prodSlugs, p.Slug)
			}
			for _, l := range read(t, st, func(tx store.Tx) ([]domain.Lot, error) { return tx.Lots(ctx, prods[0].ID) }) {
				numbers = append(numbers, l.Number)
			}
			want := []string{"B", "a", "a-b", "aa", "b"}
			equal(t, "Parties' slugs", slugs, want)
			equal(t, "Products' slugs", prodSlugs, want)
			equal(t, "Lots' numbers", numbers, []string{"tw-B", "tw-a", "tw-a-b", "tw-aa", "tw-b"})
		})

		t.Run("InstantsKeepMicroseconds", func(t *testing.T) {
			// PostgreSQL's timestamptz holds microseconds; SQLite's text
			// could hold more, but then a value would read back differently
			// on the two backends.
			ctx := t.Context()
			st, _ := b.Open(t)
			p := newParty("nvidia", domain.RoleVendor)
			p.CreatedAt = time.Date(2026, 1, 15, 9, 30, 0, 123456789, time.FixedZone("CET", 3600))
			mustTx(t, st, func(tx store.Tx) error { return tx.CreateParty(ctx, &p) })
			got := read(t, st, func(tx store.Tx) (domain.Party, error) { return tx.Party(ctx, p.ID) })
			want := time.Date(2026, 1, 15, 8, 30, 0, 123456000, time.UTC)
			if !got.CreatedAt.Equal(want) || got.CreatedAt.Location() != time.UTC {
				t.Fatalf("CreatedAt = %v, want %v", got.CreatedAt, want)
			}
		})
	})
}

// TestLeader checks Leader: with no other leader it runs fn and returns
// ok and fn's error. On PostgreSQL, while one process holds a name, Leader
// for that name elsewhere returns ok false at once without running fn,
// other names are free, and the name is free again once fn has returned.
// (SQLite's one process always leads.)
func TestLeader(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		t.Run("RunsFn", func(t *testing.T) {
			st, _ := b.Open(t)
			boom := errors.New("boom")
			ran := false
			ok, err := st.Leader(t.Context(), "checkpointer", func(context.Context) error { ran = true; return boom })
			if !ok || err != boom || !ran {
				t.Fatalf("Leader = %v, %v (ran %v); want true, fn's error", ok, err, ran)
			}
		})

		t.Run("OneAtATime", func(t *testing.T) {
			if b.Name != "postgres" {
				t.Skip("one process owns a SQLite database and always leads")
			}
			ctx := t.Context()
			st, dsn := b.Open(t)
			replica := storetest.MustOpen(t, dsn)
			lead := func(st store.Store, name string) (ok, ran bool) {
				t.Helper()
				ok, err := st.Leader(ctx, name, func(context.Context) error { ran = true; return nil })
				if err != nil {
					t.Fatal(err)
				}
				return ok, ran
			}
			ok, err := st.Leader(ctx, "checkpointer", func(context.Context) error {
				if ok, ran := lead(replica, "checkpointer"); ok || ran {
					t.Errorf("a replica led the name held: ok %v, ran %v", ok, ran)
				}
				if ok, ran := lead(st, "checkpointer"); ok || ran {
					t.Errorf("another connection of the leader led the name held: ok %v, ran %v", ok, ran)
				}
				if ok, ran := lead(replica, "alerts"); !ok || !ran {
					t.Errorf("a replica did not lead another name: ok %v, ran %v", ok, ran)
				}
				return nil
			})
			if !ok || err != nil {
				t.Fatalf("Leader = %v, %v", ok, err)
			}
			if ok, ran := lead(replica, "checkpointer"); !ok || !ran {
				t.Errorf("the name is not free after its leader returned: ok %v, ran %v", ok, ran)
			}
		})
	})
}

// TestErrors checks the error contract of the package doc: a function's
// error comes out of InTx and View unchanged; a closed store, an ended
// context and an unreachable server are EUNAVAILABLE (and fn does not run);
// an empty SQLite path is EINVALID. (ENOTFOUND, ECONFLICT and EINVALID from
// the database are checked with each method group.)
func TestErrors(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		t.Run("FnErrorPassesThrough", func(t *testing.T) {
			st, _ := b.Open(t)
			boom := errors.New("boom")
			if err := st.InTx(t.Context(), func(store.Tx) error { return boom }); err != boom {
				t.Errorf("InTx returned %v, want fn's error itself", err)
			}
			if err := st.View(t.Context(), func(store.Tx) error { return boom }); err != boom {
				t.Errorf("View returned %v, want fn's error itself", err)
			}
			forbidden := domain.Errorf(domain.EFORBIDDEN, "no")
			if err := st.InTx(t.Context(), func(store.Tx) error { return forbidden }); err != error(forbidden) {
				t.Errorf("InTx returned %v, want fn's domain error itself", err)
			}
		})

		t.Run("ClosedStoreUnavailable", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			k := seedToken(t, st)
			// Warm the statement cache, so that a closed cached statement
			// is tried too.
			for range 3 {
				if _, _, _, err := st.Principal(ctx, k.Hash); err != nil {
					t.Fatal(err)
				}
				if _, err := st.TokenEpoch(ctx); err != nil {
					t.Fatal(err)
				}
				time.Sleep(10 * time.Millisecond)
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			var ran atomic.Bool
			run := func(tx store.Tx) error { ran.Store(true); return nil }
			dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			for i := range 20 { // a closed store must refuse every time, not now and then
				done := make(chan error, 1)
				go func() { done <- st.InTx(dctx, run) }()
				select {
				case err := <-done:
					wantCode(t, fmt.Sprintf("InTx #%d on a closed store", i), err, domain.EUNAVAILABLE)
				case <-dctx.Done():
					t.Fatalf("InTx #%d on a closed store never returned", i)
				}
			}
			wantCode(t, "View on a closed store", st.View(ctx, run), domain.EUNAVAILABLE)
			_, _, _, err := st.Principal(ctx, k.Hash)
			wantCode(t, "Principal on a closed store", err, domain.EUNAVAILABLE)
			_, err = st.TokenEpoch(ctx)
			wantCode(t, "TokenEpoch on a closed store", err, domain.EUNAVAILABLE)
			wantCode(t, "Ping on a closed store", st.Ping(ctx), domain.EUNAVAILABLE)
			if ran.Load() {
				t.Error("a function ran on a closed store")
			}
		})

		t.Run("WriteInViewInternal", func(t *testing.T) {
			// A write, or a locking read, in a View is a bug of the caller:
			// EINTERNAL on both backends (not "busy, retry"), and nothing
			// is written or locked.
			ctx := t.Context()
			st, _ := b.Open(t)
			p := seedParty(t, st, "nvidia")
			d := newDoc(p.ID, "", "open", t0)
			mustTx(t, st, func(tx store.Tx) error { return tx.PutDoc(ctx, store.KindOrder, d, true) })
			for name, fn := range map[string]func(tx store.Tx) error{
				"CreateParty": func(tx store.Tx) error { q := newParty("amd", domain.RoleVendor); return tx.CreateParty(ctx, &q) },
				"AppendAudit": func(tx store.Tx) error { rec := audit("test.write", "x"); return tx.AppendAudit(ctx, &rec) },
				"PutDoc":      func(tx store.Tx) error { return tx.PutDoc(ctx, store.KindOrder, newDoc(p.ID, "", "open", t0), true) },
				"AddVolume":   func(tx store.Tx) error { return tx.AddVolume(ctx, store.Ordered, "h200", "CN", 1) },
				"ClaimIdempotency": func(tx store.Tx) error {
					_, err := tx.ClaimIdempotency(ctx, p.ID, "k", []byte("h"), t0)
					return err
				},
				"GetDoc(forUpdate)": func(tx store.Tx) error { _, err := tx.GetDoc(ctx, store.KindOrder, d.ID, true); return err },
				"ListDocs(ForUpdate)": func(tx store.Tx) error {
					_, err := tx.ListDocs(ctx, store.KindOrder, store.DocFilter{ForUpdate: true})
					return err
				},
				"Volumes": func(tx store.Tx) error { _, err := tx.Volumes(ctx, store.Ordered, "h200", []string{"CN"}); return err },
			} {
				t.Run(name, func(t *testing.T) { wantCode(t, name+" in a View", st.View(ctx, fn), domain.EINTERNAL) })
			}
			equal(t, "parties", read(t, st, func(tx store.Tx) ([]domain.Party, error) { return tx.Parties(ctx) }), []domain.Party{p})
			if n := read(t, st, func(tx store.Tx) (int64, error) { return tx.AuditSize(ctx) }); n != 0 {
				t.Errorf("audit size %d", n)
			}
			if ds := read(t, st, func(tx store.Tx) ([]store.Doc, error) { return tx.ListDocs(ctx, store.KindOrder, store.DocFilter{}) }); len(ds) != 1 {
				t.Errorf("%d orders", len(ds))
			}
		})

		t.Run("EndedContextUnavailable", func(t *testing.T) {
			st, _ := b.Open(t)
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			var ran atomic.Bool
			run := func(tx store.Tx) error { ran.Store(true); return nil }
			wantCode(t, "InTx with a canceled context", st.InTx(ctx, run), domain.EUNAVAILABLE)
			wantCode(t, "View with a canceled context", st.View(ctx, run), domain.EUNAVAILABLE)
			if ran.Load() {
				t.Error("a function ran with a canceled context")
			}
		})
	})

	t.Run("UnreachablePostgres", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, err := store.Open(ctx, "postgres://nobody@127.0.0.1:1/none?connect_timeout=2")
		wantCode(t, "Open(unreachable)", err, domain.EUNAVAILABLE)
	})

	t.Run("EmptySQLitePath", func(t *testing.T) {
		_, err := store.Open(t.Context(), "")
		wantCode(t, "Open(\"\")", err, domain.EINVALID)
	})
}

// TestRollback checks that nothing of a failed InTx is visible: when fn
// returns an error, or a method fails and fn returns its error, or fn
// panics, no write of the transaction (in any table) reaches the database;
// a panic reaches InTx's caller with its value; and the store works on.
func TestRollback(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		t.Run("ErrorWritesNothing", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			boom := errors.New("boom")
			err := st.InTx(ctx, func(tx store.Tx) error {
				p := newParty("alibaba", domain.RoleBuyer)
				if err := tx.CreateParty(ctx, &p); err != nil {
					return err
				}
				rec := audit("party.created", p.ID.String())
				if err := tx.AppendAudit(ctx, &rec); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("err = %v, want boom", err)
			}
			mustView(t, st, func(tx store.Tx) error {
				ps, err := tx.Parties(ctx)
				if err != nil {
					return err
				}
				n, err := tx.AuditSize(ctx)
				if len(ps) != 0 || n != 0 {
					t.Errorf("after rollback: %d parties, audit size %d", len(ps), n)
				}
				return err
			})
		})

		t.Run("EveryTable", func(t *testing.T) {
			// One failed command that writes to every table; a committed
			// token, lot and claim to change.
			ctx := t.Context()
			st, _ := b.Open(t)
			k := seedToken(t, st)
			owner := read(t, st, func(tx store.Tx) (domain.Party, error) { return tx.PartyBySlug(ctx, "us-testlab") })
			prod := newProduct("h200", t0)
			lot := newLot(prod, "TW-0001", 50, t0)
			party, hash := newID(), []byte("h")
			mustTx(t, st, func(tx store.Tx) error {
				if err := tx.CreateProduct(ctx, &prod); err != nil {
					return err
				}
				if err := tx.CreateLot(ctx, &lot); err != nil {
					return err
				}
				_, err := tx.ClaimIdempotency(ctx, party, "k", hash, t0)
				return err
			})
			before := snapshot(t, st, owner.ID, party, k.Hash)
			boom := errors.New("boom")
			err := st.InTx(ctx, func(tx store.Tx) error {
				p := newParty("alibaba", domain.RoleBuyer)
				u := newUser(owner, "second", t0)
				k2 := newToken(u, 9, t0)
				p2 := newProduct("b200", t0)
				l2 := newLot(p2, "TW-0002", 10, t0)
				rec := audit("test.write", "x")
				d := newDoc(owner.ID, "ref", "open", t0)
				for _, w := range []func() error{
					func() error { return tx.CreateParty(ctx, &p) },
					func() error { return tx.CreateUser(ctx, &u) },
					func() error { return tx.CreateToken(ctx, &k2) },
					func() error { return tx.RevokeToken(ctx, k.ID, t0) },
					func() error { return tx.CreateProduct(ctx, &p2) },
					func() error { return tx.CreateLot(ctx, &l2) },
					func() error { return tx.ShipFromLot(ctx, lot.ID, 5) },
					func() error { return tx.AppendAudit(ctx, &rec) },
					func() error { return tx.PutDoc(ctx, store.KindOrder, d, true) },
					func() error { _, err := tx.Volumes(ctx, store.Ordered, "h200", []string{"CN"}); return err },
					func() error { return tx.AddVolume(ctx, store.Ordered, "h200", "CN", 7) },
					func() error { return tx.ClaimSerials(ctx, newID(), []string{"SN-1"}) },
					func() error { return tx.AddCheckIn(ctx, newID(), "SN-1", t0, []byte(`{}`)) },
					func() error {
						return tx.WriteTiles(ctx, []store.TileBlob{{Key: store.TileKey{Level: 0, Index: 0}, Hashes: []byte{1}}})
					},
					func() error {
						return tx.AddCheckpoint(ctx, store.StoredCheckpoint{Size: 1, Root: []byte{1}, Signed: []byte("s"), CreatedAt: t0})
					},
					func() error { return tx.SetLedgerMeta(ctx, "key", "v") },
					func() error { _, err := tx.ClaimIdempotency(ctx, party, "k2", hash, t0); return err },
					func() error { return tx.CompleteIdempotency(ctx, party, "k", t0, 200, []byte("r")) },
				} {
					if err := w(); err != nil {
						return err
					}
				}
				return boom
			})
			if err != boom {
				t.Fatalf("err = %v, want boom", err)
			}
			equal(t, "state after the failed command", snapshot(t, st, owner.ID, party, k.Hash), before)
		})

		t.Run("FailedMethodWritesNothing", func(t *testing.T) {
			// A method fails on the database (a taken slug) after an
			// earlier write; fn returns its error.
			ctx := t.Context()
			st, _ := b.Open(t)
			p := newParty("nvidia", domain.RoleVendor)
			mustTx(t, st, func(tx store.Tx) error { return tx.CreateParty(ctx, &p) })
			err := st.InTx(ctx, func(tx store.Tx) error {
				q := newParty("amd", domain.RoleVendor)
				if err := tx.CreateParty(ctx, &q); err != nil {
					return err
				}
				dup := newParty("nvidia", domain.RoleVendor)
				return tx.CreateParty(ctx, &dup)
			})
			wantCode(t, "second party with a taken slug", err, domain.ECONFLICT)
			ps := read(t, st, func(tx store.Tx) ([]domain.Party, error) { return tx.Parties(ctx) })
			equal(t, "parties", ps, []domain.Party{p})
		})

		t.Run("PanicWritesNothing", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			type boom struct{ n int }
			got := func() (v any) {
				defer func() { v = recover() }()
				_ = st.InTx(ctx, func(tx store.Tx) error {
					p := newParty("alibaba", domain.RoleBuyer)
					if err := tx.CreateParty(ctx, &p); err != nil {
						return err
					}
					panic(boom{7})
				})
				return nil
			}()
			if got != (boom{7}) {
				t.Fatalf("InTx's caller recovered %v, want fn's panic value", got)
			}
			if ps := read(t, st, func(tx store.Tx) ([]domain.Party, error) { return tx.Parties(ctx) }); len(ps) != 0 {
				t.Fatalf("after a panic: parties %+v", ps)
			}
			// The store works on.
			p := newParty("nvidia", domain.RoleVendor)
			mustTx(t, st, func(tx store.Tx) error { return tx.CreateParty(ctx, &p) })
		})
	})
}

// state is what TestRollback compares before and after a failed command.
type state struct {
	Parties     []domain.Party
	Users       []domain.User
	Tokens      []domain.Token
	Epoch       int64
	Products    []domain.Product
	Lots        []domain.Lot
	AuditSize   int64
	Orders      []store.Doc
	Volumes     map[string]int64
	SerialErr   string
	CheckInErr  string
	Tiles       [][]byte
	Checkpoints []store.StoredCheckpoint
	MetaErr     string
	Claims      []*store.Idempotent
}

// snapshot reads the state that the failed command of TestRollback would
// change: owner's users, the token with hash and its user's tokens, party's
// idempotency claims, and every table's rows.
func snapshot(t *testing.T, st store.Store, owner, party domain.ID, hash []byte) state {
	t.Helper()
	ctx := t.Context()
	var s state
	mustView(t, st, func(tx store.Tx) error {
		var err error
		if s.Parties, err = tx.Parties(ctx); err != nil {
			return err
		}
		if s.Users, err = tx.Users(ctx, owner); err != nil {
			return err
		}
		k, err := tx.TokenByHash(ctx, hash)
		if err != nil {
			return err
		}
		if s.Tokens, err = tx.Tokens(ctx, k.UserID); err != nil {
			return err
		}
		if s.Products, err = tx.Products(ctx); err != nil {
			return err
		}
		if s.Lots, err = tx.Lots(ctx, domain.ID{}); err != nil {
			return err
		}
		if s.AuditSize, err = tx.AuditSize(ctx); err != nil {
			return err
		}
		if s.Orders, err = tx.ListDocs(ctx, store.KindOrder, store.DocFilter{}); err != nil {
			return err
		}
		_, err = tx.SerialShipment(ctx, "SN-1")
		s.SerialErr = domain.ErrorCode(err)
		_, err = tx.LastCheckIn(ctx, "SN-1")
		s.CheckInErr = domain.ErrorCode(err)
		if s.Tiles, err = tx.ReadTiles(ctx, []store.TileKey{{Level: 0, Index: 0}}); err != nil {
			return err
		}
		if s.Checkpoints, err = tx.Checkpoints(ctx); err != nil {
			return err
		}
		_, err = tx.LedgerMeta(ctx, "key")
		s.MetaErr = domain.ErrorCode(err)
		return nil
	})
	var err error
	if s.Epoch, err = st.TokenEpoch(ctx); err != nil {
		t.Fatal(err)
	}
	// Reading the volumes and the claims writes (zero rows, claims): do it
	// in a transaction that rolls back.
	errDone := errors.New("done")
	err = st.InTx(ctx, func(tx store.Tx) error {
		var err error
		if s.Volumes, err = tx.Volumes(ctx, store.Ordered, "h200", nil); err != nil {
			return err
		}
		for _, key := range []string{"k", "k2"} {
			prev, err := tx.ClaimIdempotency(ctx, party, key, []byte("snapshot"), t0)
			if err != nil {
				return err
			}
			s.Claims = append(s.Claims, prev)
		}
		return errDone
	})
	if err != errDone {
		t.Fatal(err)
	}
	return s
}

// linguistic gives the PostgreSQL columns (table.column) an English
// collation, as a database created under an English locale has, or skips the
// test when the server has none.
func linguistic(t *testing.T, dsn string, columns ...string) {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_collation WHERE collname = 'en-x-icu'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Skip("the PostgreSQL server has no ICU collation en-x-icu")
	}
	for _, c := range columns {
		table, column, _ := strings.Cut(c, ".")
		if _, err := db.ExecContext(t.Context(), `ALTER TABLE `+table+` ALTER COLUMN `+column+` TYPE text COLLATE "en-x-icu"`); err != nil {
			t.Fatal(err)
		}
	}
}

// Helpers. A function given to InTx may run on another goroutine (SQLite's
// group commit), so it reports with t.Error, never t.Fatal.

// errRollback is an error a test's function returns to roll back.
var errRollback = errors.New("rolled back")

func newID() domain.ID { return uuid.Must(uuid.NewV7()) }

// orderedIDs returns n new ids in ascending order, for tests of orderings
// that break ties by id.
func orderedIDs(n int) []domain.ID {
	ids := make([]domain.ID, n)
	for i := range ids {
		ids[i] = newID()
	}
	slices.SortFunc(ids, func(a, b domain.ID) int { return bytes.Compare(a[:], b[:]) })
	return ids
}

func newParty(slug string, role domain.Role) domain.Party {
	return domain.Party{ID: newID(), Slug: slug, Name: slug + " Inc.", Role: role, Country: "US", CreatedAt: t0}
}

func newUser(p domain.Party, name string, at time.Time) domain.User {
	return domain.User{ID: newID(), PartyID: p.ID, Name: name, CreatedAt: at}
}

// newToken returns a token of u whose hash is 32 bytes of b.
func newToken(u domain.User, b byte, at time.Time) domain.Token {
	return domain.Token{ID: newID(), UserID: u.ID, Hash: bytes.Repeat([]byte{b}, 32), Label: fmt.Sprintf("token %d", b), CreatedAt: at}
}

func newProduct(slug string, launch time.Time) domain.Product {
	return domain.Product{ID: newID(), Slug: slug, Name: "NVIDIA " + slug, Family: "hopper",
		Spec:       domain.Spec{Throughput: []domain.Throughput{{Bits: 8, DenseTOPS: 1979}, {Bits: 16, DenseTOPS: 989.5}}, DieAreaMM2: 814.5, MemoryGB: 141, BandwidthGBps: 4800},
		LaunchDate: launch, CreatedAt: t0}
}

func newLot(p domain.Product, number string, qty int64, available time.Time) domain.Lot {
	return domain.Lot{ID: newID(), ProductID: p.ID, Number: number, Quantity: qty, Origin: "TW",
		MadeOn: t0, AvailableOn: available, CreatedAt: t0}
}

func newDoc(party domain.ID, ref, status string, at time.Time) store.Doc {
	id := newID()
	return store.Doc{ID: id, PartyID: party, Ref: ref, Status: status, CreatedAt: at, UpdatedAt: at,
		Body: fmt.Appendf(nil, `{"id":%q,"n":0}`, id)}
}

func audit(action, subject string) domain.AuditRecord {
	return domain.AuditRecord{ID: newID(), At: t0, ActorUser: "u", ActorParty: "p", ActorRole: "vendor",
		Action: action, SubjectType: "test", SubjectID: subject, Payload: []byte(`{}`)}
}

// seedToken commits a party "us-testlab", a user of it and a token of the
// user, and returns the token.
func seedToken(t *testing.T, st store.Store) domain.Token {
	t.Helper()
	ctx := t.Context()
	p := newParty("us-testlab", domain.RoleLab)
	u := newUser(p, "lab operator", t0)
	k := newToken(u, 7, t0)
	mustTx(t, st, func(tx store.Tx) error {
		if err := tx.CreateParty(ctx, &p); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, &u); err != nil {
			return err
		}
		return tx.CreateToken(ctx, &k)
	})
	return k
}

// seedParty commits a party of role buyer and returns it.
func seedParty(t *testing.T, st store.Store, slug string) domain.Party {
	t.Helper()
	p := newParty(slug, domain.RoleBuyer)
	mustTx(t, st, func(tx store.Tx) error { return tx.CreateParty(t.Context(), &p) })
	return p
}

func mustTx(t *testing.T, st store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := st.InTx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func mustView(t *testing.T, st store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := st.View(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// read runs fn in a View and returns its result, failing the test on an error.
func read[T any](t *testing.T, st store.Store, fn func(store.Tx) (T, error)) T {
	t.Helper()
	v, err := readErr(st, fn)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// readErr runs fn in a View and returns its result and error.
func readErr[T any](st store.Store, fn func(store.Tx) (T, error)) (T, error) {
	var v T
	err := st.View(context.Background(), func(tx store.Tx) error {
		var err error
		v, err = fn(tx)
		return err
	})
	return v, err
}

// wantCode fails the test unless err has the domain error code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := domain.ErrorCode(err); got != code {
		t.Fatalf("%s: err = %v (code %q), want code %q", what, err, got, code)
	}
}

// equal reports got and want when they differ.
func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s =\n\t%+v\nwant\n\t%+v", what, got, want)
	}
}
