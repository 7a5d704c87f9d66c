package store_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// TestAudit checks AppendAudit, AuditSize and AuditRecords, the ledger's
// records: AppendAudit assigns the next index, from 0, gapless and in commit
// order, also under concurrent writers, and a rolled-back append leaves no
// gap; a record reads back field for field; AuditSize counts the committed
// records (and a transaction's own appends, to it); AuditRecords returns the
// records with from <= index < to, in order, none for an empty range.
func TestAudit(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		size := func(t *testing.T, st store.Store) int64 {
			t.Helper()
			return read(t, st, func(tx store.Tx) (int64, error) { return tx.AuditSize(t.Context()) })
		}
		records := func(t *testing.T, st store.Store, from, to int64) []domain.AuditRecord {
			t.Helper()
			return read(t, st, func(tx store.Tx) ([]domain.AuditRecord, error) { return tx.AuditRecords(t.Context(), from, to) })
		}

		t.Run("RoundTrip", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			rec := audit("party.created", "p1")
			rec.Payload = []byte(`{"a":"\u00e9","b":[1,2]}`)
			rec.ActorUser, rec.ActorParty, rec.ActorRole, rec.SubjectType = "ada", "nvidia", "vendor", "party"
			mustTx(t, st, func(tx store.Tx) error { return tx.AppendAudit(ctx, &rec) })
			equal(t, "AuditRecords", records(t, st, 0, 10), []domain.AuditRecord{rec})
		})

		t.Run("IndexesInCommitOrder", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			if n := size(t, st); n != 0 {
				t.Fatalf("audit size of a new store = %d", n)
			}
			var got []int64
			mustTx(t, st, func(tx store.Tx) error {
				for i := range 3 {
					rec := audit("test.write", fmt.Sprint(i))
					if err := tx.AppendAudit(ctx, &rec); err != nil {
						return err
					}
					got = append(got, rec.Index)
				}
				// The transaction counts its own appends; others do not yet.
				if n, err := tx.AuditSize(ctx); err != nil || n != 3 {
					t.Errorf("AuditSize in the appending transaction = %d, %v; want 3", n, err)
				}
				if n, err := readErr(st, func(tx store.Tx) (int64, error) { return tx.AuditSize(ctx) }); err != nil || n != 0 {
					t.Errorf("AuditSize outside the appending transaction = %d, %v; want 0", n, err)
				}
				return nil
			})
			// A rolled-back append leaves no gap: the next takes its index.
			err := st.InTx(ctx, func(tx store.Tx) error {
				rec := audit("test.write", "rolled back")
				if err := tx.AppendAudit(ctx, &rec); err != nil {
					return err
				}
				if rec.Index != 3 {
					t.Errorf("index after three = %d", rec.Index)
				}
				return errRollback
			})
			if !errors.Is(err, errRollback) {
				t.Fatal(err)
			}
			mustTx(t, st, func(tx store.Tx) error {
				rec := audit("test.write", "3")
				err := tx.AppendAudit(ctx, &rec)
				got = append(got, rec.Index)
				return err
			})
			equal(t, "indexes", got, []int64{0, 1, 2, 3})
			if n := size(t, st); n != 4 {
				t.Fatalf("audit size = %d, want 4", n)
			}
			for i, r := range records(t, st, 0, 4) {
				if r.Index != int64(i) || r.SubjectID != fmt.Sprint(i) {
					t.Errorf("record %d: index %d, subject %q", i, r.Index, r.SubjectID)
				}
			}
		})

		t.Run("Ranges", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			var all []domain.AuditRecord
			mustTx(t, st, func(tx store.Tx) error {
				for i := range 5 {
					rec := audit("test.write", fmt.Sprint(i))
					if err := tx.AppendAudit(ctx, &rec); err != nil {
						return err
					}
					all = append(all, rec)
				}
				return nil
			})
			for _, c := range []struct {
				from, to int64
				want     []domain.AuditRecord
			}{
				{0, 5, all},
				{1, 3, all[1:3]},
				{3, 100, all[3:]},
				{-1, 1, all[:1]},
				{2, 2, nil},
				{4, 2, nil},
				{5, 6, nil},
			} {
				got := records(t, st, c.from, c.to)
				if len(got) != 0 || len(c.want) != 0 {
					equal(t, fmt.Sprintf("AuditRecords(%d, %d)", c.from, c.to), got, c.want)
				}
			}
		})

		t.Run("GaplessUnderConcurrency", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			const writers, each = 8, 25
			var wg sync.WaitGroup
			errs := make(chan error, writers*each)
			for w := range writers {
				wg.Go(func() {
					for i := range each {
						err := st.InTx(ctx, func(tx store.Tx) error {
							rec := audit("test.write", fmt.Sprintf("%d-%d", w, i))
							if err := tx.AppendAudit(ctx, &rec); err != nil {
								return err
							}
							if i%5 == 4 { // every fifth write rolls back after taking an index
								return errRollback
							}
							return nil
						})
						if err != nil && err != errRollback {
							errs <- err
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			want := int64(writers * each * 4 / 5)
			if n := size(t, st); n != want {
				t.Fatalf("audit size = %d, want %d", n, want)
			}
			recs := records(t, st, 0, want)
			seen := map[string]bool{}
			for i, r := range recs {
				if r.Index != int64(i) {
					t.Fatalf("record %d has index %d: a gap", i, r.Index)
				}
				seen[r.SubjectID] = true
			}
			if int64(len(recs)) != want || int64(len(seen)) != want {
				t.Errorf("read %d records of %d subjects, want %d", len(recs), len(seen), want)
			}
		})
	})
}
