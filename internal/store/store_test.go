package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

var t0 = time.Date(2026, 1, 15, 9, 30, 0, 123456000, time.UTC)

func newParty(slug string, role domain.Role) domain.Party {
	return domain.Party{ID: uuid.Must(uuid.NewV7()), Slug: slug, Name: slug + " Inc.", Role: role, Country: "US", CreatedAt: t0}
}

// TestConformance is the contract every backend meets.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()

		t.Run("PartyRoundTrip", func(t *testing.T) {
			st, _ := b.Open(t)
			p := newParty("bytedance", domain.RoleBuyer)
			p.Class, p.Country = domain.ClassPlatform, "CN"
			mustTx(t, st, func(tx store.Tx) error { return tx.CreateParty(ctx, &p) })
			mustView(t, st, func(tx store.Tx) error {
				got, err := tx.PartyBySlug(ctx, "bytedance")
				if err != nil {
					return err
				}
				if got != p {
					t.Errorf("PartyBySlug = %+v, want %+v", got, p)
				}
				byID, err := tx.Party(ctx, p.ID)
				if err != nil || byID != p {
					t.Errorf("Party = %+v, %v", byID, err)
				}
				return nil
			})
		})

		t.Run("ErrSlugTaken", func(t *testing.T) {
			st, _ := b.Open(t)
			p := newParty("nvidia", domain.RoleVendor)
			mustTx(t, st, func(tx store.Tx) error { return tx.CreateParty(ctx, &p) })
			q := newParty("nvidia", domain.RoleVendor)
			err := st.InTx(ctx, func(tx store.Tx) error { return tx.CreateParty(ctx, &q) })
			if domain.ErrorCode(err) != domain.ECONFLICT {
				t.Fatalf("err = %v, want conflict", err)
			}
		})

		t.Run("ErrNotFound", func(t *testing.T) {
			st, _ := b.Open(t)
			err := st.View(ctx, func(tx store.Tx) error {
				_, err := tx.PartyBySlug(ctx, "nobody")
				return err
			})
			if domain.ErrorCode(err) != domain.ENOTFOUND {
				t.Fatalf("err = %v, want not_found", err)
			}
		})

		t.Run("RollbackWritesNothing", func(t *testing.T) {
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

		t.Run("PanicRollsBack", func(t *testing.T) {
			// A panic in fn rolls the command back and reaches InTx's
			// caller with its value on both backends (SQLite's group
			// commit turned it into an error).
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
			mustView(t, st, func(tx store.Tx) error {
				ps, err := tx.Parties(ctx)
				if len(ps) != 0 {
					t.Errorf("after a panic: parties %+v", ps)
				}
				return err
			})
			p := newParty("nvidia", domain.RoleVendor) // the store works on
			mustTx(t, st, func(tx store.Tx) error { return tx.CreateParty(ctx, &p) })
		})

		t.Run("InstantsKeepMicroseconds", func(t *testing.T) {
			// PostgreSQL's timestamptz holds microseconds (pgx truncates);
			// SQLite's text held nanoseconds, so a value read back
			// differently on the two backends.
			st, _ := b.Open(t)
			p := newParty("nvidia", domain.RoleVendor)
			p.CreatedAt = time.Date(2026, 1, 15, 9, 30, 0, 123456789, time.FixedZone("CET", 3600))
			mustTx(t, st, func(tx store.Tx) error { return tx.CreateParty(ctx, &p) })
			mustView(t, st, func(tx store.Tx) error {
				got, err := tx.Party(ctx, p.ID)
				want := time.Date(2026, 1, 15, 8, 30, 0, 123456000, time.UTC)
				if !got.CreatedAt.Equal(want) || got.CreatedAt.Location() != time.UTC {
					t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, want)
				}
				return err
			})
		})

		t.Run("AddVolumeWithoutVolumes", func(t *testing.T) {
			// A region Volumes never created still counts: the UPDATE
			// alone dropped the units, and a cap's counter fell short.
			st, _ := b.Open(t)
			mustTx(t, st, func(tx store.Tx) error { return tx.AddVolume(ctx, store.Shipped, "b200", "EU", 4) })
			mustTx(t, st, func(tx store.Tx) error { return tx.AddVolume(ctx, store.Shipped, "b200", "EU", 2) })
			mustTx(t, st, func(tx store.Tx) error {
				v, err := tx.Volumes(ctx, store.Shipped, "b200", nil)
				if v["EU"] != 6 || len(v) != 1 {
					t.Errorf("Volumes = %v, want EU 6", v)
				}
				return err
			})
		})

		t.Run("TextInByteOrder", func(t *testing.T) {
			// Lists ordered by text order it byte by byte, as SQLite does,
			// whatever the collation of a PostgreSQL database: under an
			// English one, "tw-a" sorted before "tw-B".
			st, dsn := b.Open(t)
			if b.Name == "postgres" {
				linguistic(t, dsn, "parties.slug", "products.slug", "lots.number")
			}
			var first domain.Product
			mustTx(t, st, func(tx store.Tx) error {
				for i, slug := range []string{"b", "a-b", "B", "aa", "a"} {
					p := newParty(slug, domain.RoleBuyer)
					if err := tx.CreateParty(ctx, &p); err != nil {
						return err
					}
					prod := domain.Product{ID: uuid.Must(uuid.NewV7()), Slug: slug, Name: slug, Family: "hopper", LaunchDate: t0, CreatedAt: t0}
					if err := tx.CreateProduct(ctx, &prod); err != nil {
						return err
					}
					if i == 0 {
						first = prod
					}
					l := domain.Lot{ID: uuid.Must(uuid.NewV7()), ProductID: first.ID, Number: "tw-" + slug, Quantity: 10, Origin: "TW", MadeOn: t0, AvailableOn: t0, CreatedAt: t0}
					if err := tx.CreateLot(ctx, &l); err != nil {
						return err
					}
				}
				return nil
			})
			var slugs, prodSlugs, numbers []string
			mustView(t, st, func(tx store.Tx) error {
				ps, err := tx.Parties(ctx)
				if err != nil {
					return err
				}
				for _, p := range ps {
					slugs = append(slugs, p.Slug)
				}
				prods, err := tx.Products(ctx)
				if err != nil {
					return err
				}
				for _, p := range prods {
					prodSlugs = append(prodSlugs, p.Slug)
				}
				ls, err := tx.Lots(ctx, first.ID)
				for _, l := range ls {
					numbers = append(numbers, l.Number)
				}
				return err
			})
			want := fmt.Sprint([]string{"B", "a", "a-b", "aa", "b"})
			if fmt.Sprint(slugs) != want || fmt.Sprint(prodSlugs) != want || fmt.Sprint(numbers) != fmt.Sprint([]string{"tw-B", "tw-a", "tw-a-b", "tw-aa", "tw-b"}) {
				t.Fatalf("parties %v, products %v, lots %v; want %s in byte order", slugs, prodSlugs, numbers, want)
			}
		})

		t.Run("WriteInViewInternal", func(t *testing.T) {
			// A write, or a locking read, in a View is a bug of the caller:
			// EINTERNAL on both backends, and nothing is written. SQLite's
			// query_only readers called a write busy (EUNAVAILABLE: retry)
			// and took a locking read without locking, where PostgreSQL
			// refuses both.
			st, _ := b.Open(t)
			p := newParty("nvidia", domain.RoleVendor)
			mustTx(t, st, func(tx store.Tx) error { return tx.CreateParty(ctx, &p) })
			d := store.Doc{ID: uuid.Must(uuid.NewV7()), PartyID: p.ID, Status: "open", CreatedAt: t0, UpdatedAt: t0, Body: []byte(`{}`)}
			mustTx(t, st, func(tx store.Tx) error { return tx.PutDoc(ctx, store.KindOrder, d, true) })
			for name, fn := range map[string]func(tx store.Tx) error{
				"CreateParty": func(tx store.Tx) error { q := newParty("amd", domain.RoleVendor); return tx.CreateParty(ctx, &q) },
				"AppendAudit": func(tx store.Tx) error { rec := audit("test.write", "x"); return tx.AppendAudit(ctx, &rec) },
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
				if err := st.View(ctx, fn); domain.ErrorCode(err) != domain.EINTERNAL {
					t.Errorf("%s in a View: %v, want internal", name, err)
				}
			}
			mustView(t, st, func(tx store.Tx) error {
				ps, err := tx.Parties(ctx)
				if err != nil {
					return err
				}
				n, err := tx.AuditSize(ctx)
				if len(ps) != 1 || n != 0 {
					t.Errorf("after writes in a View: %d parties, audit size %d", len(ps), n)
				}
				return err
			})
		})

		t.Run("TokenLifecycle", func(t *testing.T) {
			st, _ := b.Open(t)
			p := newParty("us-testlab", domain.RoleLab)
			u := domain.User{ID: uuid.Must(uuid.NewV7()), PartyID: p.ID, Name: "lab operator", CreatedAt: t0}
			exp := t0.Add(24 * time.Hour)
			k := domain.Token{ID: uuid.Must(uuid.NewV7()), UserID: u.ID, Hash: bytes.Repeat([]byte{7}, 32), Label: "ci", CreatedAt: t0, ExpiresAt: &exp}
			mustTx(t, st, func(tx store.Tx) error {
				if err := tx.CreateParty(ctx, &p); err != nil {
					return err
				}
				if err := tx.CreateUser(ctx, &u); err != nil {
					return err
				}
				return tx.CreateToken(ctx, &k)
			})
			mustTx(t, st, func(tx store.Tx) error {
				got, err := tx.TokenByHash(ctx, k.Hash)
				if err != nil {
					return err
				}
				if got.ID != k.ID || got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) || got.RevokedAt != nil || !got.Active(t0) {
					t.Errorf("TokenByHash = %+v", got)
				}
				return tx.RevokeToken(ctx, k.ID, t0.Add(time.Minute))
			})
			mustView(t, st, func(tx store.Tx) error {
				got, err := tx.Token(ctx, k.ID)
				if err != nil {
					return err
				}
				if got.RevokedAt == nil || got.Active(t0.Add(2*time.Minute)) {
					t.Errorf("revoked token still active: %+v", got)
				}
				return nil
			})
			// The transaction-free lookup every request makes sees the
			// revocation and joins the user and the party.
			for range 2 { // once unprepared, once from the statement cache
				gk, gu, gp, err := st.Principal(ctx, k.Hash)
				if err != nil || gk.ID != k.ID || gk.RevokedAt == nil || gu.ID != u.ID || gp.ID != p.ID || gp.Role != domain.RoleLab {
					t.Fatalf("Principal = %+v %+v %+v, %v", gk, gu, gp, err)
				}
				time.Sleep(10 * time.Millisecond) // let the background prepare land
			}
			if _, _, _, err := st.Principal(ctx, bytes.Repeat([]byte{8}, 32)); domain.ErrorCode(err) != domain.ENOTFOUND {
				t.Fatalf("Principal(unknown) = %v, want not_found", err)
			}
			err := st.InTx(ctx, func(tx store.Tx) error { return tx.RevokeToken(ctx, uuid.Must(uuid.NewV7()), t0) })
			if domain.ErrorCode(err) != domain.ENOTFOUND {
				t.Fatalf("revoke unknown token: %v", err)
			}
			// The revocation moved the token epoch once; revoking again, or
			// an unknown token, does not move it.
			if n, err := st.TokenEpoch(ctx); err != nil || n != 1 {
				t.Fatalf("token epoch after one revocation = %d, %v; want 1", n, err)
			}
			mustTx(t, st, func(tx store.Tx) error { return tx.RevokeToken(ctx, k.ID, t0.Add(time.Hour)) })
			if n, err := st.TokenEpoch(ctx); err != nil || n != 1 {
				t.Fatalf("token epoch after revoking a revoked token = %d, %v; want 1", n, err)
			}
		})

		t.Run("ProductsAndLots", func(t *testing.T) {
			st, _ := b.Open(t)
			p := domain.Product{ID: uuid.Must(uuid.NewV7()), Slug: "h200", Name: "NVIDIA H200", Family: "hopper",
				Spec:       domain.Spec{Throughput: []domain.Throughput{{Bits: 8, DenseTOPS: 1979}}, DieAreaMM2: 814, MemoryGB: 141, BandwidthGBps: 4800},
				LaunchDate: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), CreatedAt: t0}
			l := domain.Lot{ID: uuid.Must(uuid.NewV7()), ProductID: p.ID, Number: "TW-0001", Quantity: 20000, Origin: "TW",
				MadeOn: t0, AvailableOn: t0.Add(14 * 24 * time.Hour), CreatedAt: t0}
			mustTx(t, st, func(tx store.Tx) error {
				if err := tx.CreateProduct(ctx, &p); err != nil {
					return err
				}
				return tx.CreateLot(ctx, &l)
			})
			mustView(t, st, func(tx store.Tx) error {
				got, err := tx.ProductBySlug(ctx, "h200")
				if err != nil {
					return err
				}
				if got.Spec.Throughput[0].DenseTOPS != 1979 || !got.LaunchDate.Equal(p.LaunchDate) {
					t.Errorf("product = %+v", got)
				}
				lots, err := tx.Lots(ctx, p.ID)
				if err != nil {
					return err
				}
				if len(lots) != 1 || lots[0] != l {
					t.Errorf("lots = %+v, want [%+v]", lots, l)
				}
				return nil
			})
			dup := l
			dup.ID = uuid.Must(uuid.NewV7())
			if err := st.InTx(ctx, func(tx store.Tx) error { return tx.CreateLot(ctx, &dup) }); domain.ErrorCode(err) != domain.ECONFLICT {
				t.Fatalf("duplicate lot number: %v", err)
			}
			bad := l
			bad.ID, bad.Number, bad.ProductID = uuid.Must(uuid.NewV7()), "TW-0002", uuid.Must(uuid.NewV7())
			if err := st.InTx(ctx, func(tx store.Tx) error { return tx.CreateLot(ctx, &bad) }); err == nil {
				t.Fatal("lot of an unknown product accepted: foreign keys are off")
			}
		})

		t.Run("AuditGaplessUnderConcurrency", func(t *testing.T) {
			st, _ := b.Open(t)
			const writers, each = 8, 25
			var wg sync.WaitGroup
			errs := make(chan error, writers*each)
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := 0; i < each; i++ {
						err := st.InTx(ctx, func(tx store.Tx) error {
							rec := audit("test.write", fmt.Sprintf("%d-%d", w, i))
							if err := tx.AppendAudit(ctx, &rec); err != nil {
								return err
							}
							if i%5 == 4 { // every fifth write rolls back after taking an index
								return errors.New("rolled back")
							}
							return nil
						})
						if err != nil && err.Error() != "rolled back" {
							errs <- err
						}
					}
				}(w)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			want := int64(writers * each * 4 / 5)
			mustView(t, st, func(tx store.Tx) error {
				n, err := tx.AuditSize(ctx)
				if err != nil {
					return err
				}
				if n != want {
					t.Errorf("audit size = %d, want %d", n, want)
				}
				recs, err := tx.AuditRecords(ctx, 0, n)
				if err != nil {
					return err
				}
				for i, r := range recs {
					if r.Index != int64(i) {
						t.Fatalf("record %d has index %d: a gap", i, r.Index)
					}
				}
				if int64(len(recs)) != want {
					t.Errorf("read %d records, want %d", len(recs), want)
				}
				return nil
			})
		})

		t.Run("IdempotencyClaimUnderConcurrency", func(t *testing.T) {
			// Many claims of one key at once: exactly one claims it, every
			// other gets the claim back (not a unique violation).
			st, _ := b.Open(t)
			party, hash := uuid.Must(uuid.NewV7()), []byte("request hash")
			const claims = 50
			var wg sync.WaitGroup
			var mu sync.Mutex
			won, seen := 0, 0
			errs := make(chan error, claims)
			for i := 0; i < claims; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
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
					case bytes.Equal(prev.RequestHash, hash) && prev.Status == 0:
						seen++
					default:
						errs <- fmt.Errorf("claim returned %+v", prev)
					}
				}()
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

		t.Run("IdempotencyClaimFencing", func(t *testing.T) {
			// A write transaction under a claim marks it committed; once a
			// retry has taken the claim over, the first claimant's writes
			// can no longer commit, and its completion changes nothing.
			st, _ := b.Open(t)
			party, hash := uuid.Must(uuid.NewV7()), []byte("h")
			t1, t2 := t0.Add(time.Minute), t0.Add(2*time.Minute)
			claim := func(key string, at time.Time) *store.Idempotent {
				var prev *store.Idempotent
				mustTx(t, st, func(tx store.Tx) error {
					var err error
					prev, err = tx.ClaimIdempotency(ctx, party, key, hash, at)
					return err
				})
				return prev
			}
			write := func(key string, at time.Time, subject string) error {
				return st.InTx(store.WithIdempotencyClaim(ctx, party, key, at), func(tx store.Tx) error {
					rec := audit("test.write", subject)
					return tx.AppendAudit(ctx, &rec)
				})
			}
			// Committed under its claim: a later claim sees it committed.
			claim("done", t0)
			if err := write("done", t0, "done"); err != nil {
				t.Fatal(err)
			}
			if prev := claim("done", t1); prev == nil || prev.Status != store.IdempotencyCommitted || !prev.ClaimedAt.Equal(t0) {
				t.Fatalf("after the command committed: %+v", prev)
			}
			// Taken over before committing: the first claimant is fenced.
			claim("slow", t0)
			var took bool
			mustTx(t, st, func(tx store.Tx) error {
				var err error
				took, err = tx.TakeOverIdempotency(ctx, party, "slow", t0, t1)
				return err
			})
			if !took {
				t.Fatal("an in-flight claim was not taken over")
			}
			var before int64
			mustView(t, st, func(tx store.Tx) (err error) { before, err = tx.AuditSize(ctx); return err })
			if err := write("slow", t0, "fenced"); domain.ErrorCode(err) != domain.ECONFLICT {
				t.Fatalf("the fenced claimant's write: %v", err)
			}
			mustTx(t, st, func(tx store.Tx) error { return tx.CompleteIdempotency(ctx, party, "slow", t0, 201, []byte("first")) })
			if err := write("slow", t1, "taken over"); err != nil {
				t.Fatal(err)
			}
			mustTx(t, st, func(tx store.Tx) error { return tx.CompleteIdempotency(ctx, party, "slow", t1, 201, []byte("second")) })
			mustTx(t, st, func(tx store.Tx) error { return tx.ReleaseIdempotency(ctx, party, "slow", t0) })
			if prev := claim("slow", t2); prev == nil || prev.Status != 201 || string(prev.Response) != "second" {
				t.Fatalf("after the takeover: %+v", prev)
			}
			mustView(t, st, func(tx store.Tx) error {
				n, err := tx.AuditSize(ctx)
				if n != before+1 {
					t.Errorf("%d records written under the claims, want 1", n-before)
				}
				return err
			})
			// A committed claim is not taken over.
			mustTx(t, st, func(tx store.Tx) error {
				var err error
				took, err = tx.TakeOverIdempotency(ctx, party, "done", t0, t2)
				return err
			})
			if took {
				t.Fatal("a committed claim was taken over")
			}
		})

		t.Run("ShipFromLotUnderConcurrency", func(t *testing.T) {
			// 200 one-unit draws on a 50-unit lot at once: exactly 50.
			st, _ := b.Open(t)
			p := domain.Product{ID: uuid.Must(uuid.NewV7()), Slug: "h200", Name: "NVIDIA H200", Family: "hopper",
				Spec:       domain.Spec{Throughput: []domain.Throughput{{Bits: 8, DenseTOPS: 1979}}, DieAreaMM2: 814, MemoryGB: 141, BandwidthGBps: 4800},
				LaunchDate: t0, CreatedAt: t0}
			l := domain.Lot{ID: uuid.Must(uuid.NewV7()), ProductID: p.ID, Number: "TW-0001", Quantity: 50, Origin: "TW", MadeOn: t0, AvailableOn: t0, CreatedAt: t0}
			mustTx(t, st, func(tx store.Tx) error {
				if err := tx.CreateProduct(ctx, &p); err != nil {
					return err
				}
				return tx.CreateLot(ctx, &l)
			})
			var wg sync.WaitGroup
			var mu sync.Mutex
			outcomes := map[string]int{}
			for i := 0; i < 200; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := st.InTx(ctx, func(tx store.Tx) error { return tx.ShipFromLot(ctx, l.ID, 1) })
					mu.Lock()
					outcomes[domain.ErrorCode(err)]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			if outcomes[""] != 50 || outcomes[domain.ECONFLICT] != 150 {
				t.Fatalf("outcomes by error code %v, want 50 shipped and 150 refused", outcomes)
			}
		})

		t.Run("ColdConcurrentReadsAndWrites", func(t *testing.T) {
			// More concurrent transactions than pooled connections, on a
			// cold statement cache: none may wait for a connection another
			// holds (a deadlock would end in the deadline's error).
			st, _ := b.Open(t)
			p := newParty("nvidia", domain.RoleVendor)
			mustTx(t, st, func(tx store.Tx) error { return tx.CreateParty(ctx, &p) })
			dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			errs := make(chan error, 64)
			for i := 0; i < 32; i++ {
				wg.Add(2)
				go func() {
					defer wg.Done()
					errs <- st.View(dctx, func(tx store.Tx) error {
						if _, err := tx.PartyBySlug(dctx, "nvidia"); err != nil {
							return err
						}
						_, err := tx.Parties(dctx)
						return err
					})
				}()
				go func(i int) {
					defer wg.Done()
					errs <- st.InTx(dctx, func(tx store.Tx) error {
						rec := audit("test.write", fmt.Sprint(i))
						return tx.AppendAudit(dctx, &rec)
					})
				}(i)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
		})

		t.Run("AuditRoundTrip", func(t *testing.T) {
			st, _ := b.Open(t)
			rec := audit("party.created", "p1")
			rec.Payload = []byte(`{"a":"\u00e9","b":[1,2]}`)
			mustTx(t, st, func(tx store.Tx) error { return tx.AppendAudit(ctx, &rec) })
			mustView(t, st, func(tx store.Tx) error {
				recs, err := tx.AuditRecords(ctx, 0, 10)
				if err != nil {
					return err
				}
				if len(recs) != 1 || !bytes.Equal(recs[0].Payload, rec.Payload) || !recs[0].At.Equal(rec.At) || recs[0].ID != rec.ID || recs[0].Action != rec.Action {
					t.Errorf("records = %+v, want [%+v]", recs, rec)
				}
				return nil
			})
		})

		t.Run("ClosedStoreUnavailable", func(t *testing.T) {
			// Every call on a closed store is EUNAVAILABLE: InTx on SQLite
			// could queue its command after the group commit had stopped
			// and wait forever; Principal met a closed cached statement
			// (EINTERNAL).
			st, _ := b.Open(t)
			p := newParty("us-testlab", domain.RoleLab)
			u := domain.User{ID: uuid.Must(uuid.NewV7()), PartyID: p.ID, Name: "lab operator", CreatedAt: t0}
			k := domain.Token{ID: uuid.Must(uuid.NewV7()), UserID: u.ID, Hash: bytes.Repeat([]byte{7}, 32), Label: "ci", CreatedAt: t0}
			mustTx(t, st, func(tx store.Tx) error {
				if err := tx.CreateParty(ctx, &p); err != nil {
					return err
				}
				if err := tx.CreateUser(ctx, &u); err != nil {
					return err
				}
				return tx.CreateToken(ctx, &k)
			})
			for range 3 { // warm the statement cache
				if _, _, _, err := st.Principal(ctx, k.Hash); err != nil {
					t.Fatal(err)
				}
				time.Sleep(10 * time.Millisecond)
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			for i := range 20 {
				done := make(chan error, 1)
				go func() { done <- st.InTx(dctx, func(store.Tx) error { return nil }) }()
				select {
				case err := <-done:
					if domain.ErrorCode(err) != domain.EUNAVAILABLE {
						t.Fatalf("InTx #%d on a closed store: %v", i, err)
					}
				case <-dctx.Done():
					t.Fatalf("InTx #%d on a closed store never returned", i)
				}
			}
			if err := st.View(ctx, func(store.Tx) error { return nil }); domain.ErrorCode(err) != domain.EUNAVAILABLE {
				t.Fatalf("View on a closed store: %v", err)
			}
			if _, _, _, err := st.Principal(ctx, k.Hash); domain.ErrorCode(err) != domain.EUNAVAILABLE {
				t.Fatalf("Principal on a closed store: %v", err)
			}
			if _, err := st.TokenEpoch(ctx); domain.ErrorCode(err) != domain.EUNAVAILABLE {
				t.Fatalf("TokenEpoch on a closed store: %v", err)
			}
		})

		t.Run("ReopenKeepsCommits", func(t *testing.T) {
			st, dsn := b.Open(t)
			p := newParty("auditor", domain.RoleAuditor)
			mustTx(t, st, func(tx store.Tx) error { return tx.CreateParty(ctx, &p) })
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			again := storetest.MustOpen(t, dsn)
			mustView(t, again, func(tx store.Tx) error {
				_, err := tx.PartyBySlug(ctx, "auditor")
				return err
			})
		})
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	st, _ := storetest.OpenSQLite(t)
	applied, err := store.Migrate(context.Background(), st)
	if err != nil || len(applied) != 0 {
		t.Fatalf("second migrate applied %v, %v", applied, err)
	}
}

func TestOpenUnreachablePostgres(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := store.Open(ctx, "postgres://nobody@127.0.0.1:1/none?connect_timeout=2")
	if domain.ErrorCode(err) != domain.EUNAVAILABLE {
		t.Fatalf("err = %v (code %q), want unavailable", err, domain.ErrorCode(err))
	}
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

func audit(action, subject string) domain.AuditRecord {
	return domain.AuditRecord{ID: uuid.Must(uuid.NewV7()), At: t0, ActorUser: "u", ActorParty: "p", ActorRole: "vendor",
		Action: action, SubjectType: "test", SubjectID: subject, Payload: []byte(`{}`)}
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
