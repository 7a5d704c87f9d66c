package store_test

import (
	"sync"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// TestProducts checks CreateProduct, Product, ProductBySlug and Products: a
// product, its spec included, reads back field for field by id and by slug;
// Products lists the catalog ordered by launch date, then slug; a taken slug
// is ECONFLICT; an unknown id or slug is ENOTFOUND.
func TestProducts(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		t.Run("RoundTrip", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			p := newProduct("h200", time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC))
			mustTx(t, st, func(tx store.Tx) error { return tx.CreateProduct(ctx, &p) })
			got := read(t, st, func(tx store.Tx) (domain.Product, error) { return tx.ProductBySlug(ctx, "h200") })
			equal(t, "ProductBySlug", got, p)
			if got.Spec.Throughput[0].DenseTOPS != 1979 || !got.LaunchDate.Equal(p.LaunchDate) {
				t.Errorf("product = %+v", got)
			}
			equal(t, "Product", read(t, st, func(tx store.Tx) (domain.Product, error) { return tx.Product(ctx, p.ID) }), p)
		})

		t.Run("ListByLaunchThenSlug", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			if ps := read(t, st, func(tx store.Tx) ([]domain.Product, error) { return tx.Products(ctx) }); len(ps) != 0 {
				t.Fatalf("Products of an empty store = %+v", ps)
			}
			hopper := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
			b200, h200, h100, a100 := newProduct("b200", hopper.AddDate(1, 0, 0)), newProduct("h200", hopper), newProduct("h100", hopper), newProduct("a100", hopper.AddDate(-4, 0, 0))
			mustTx(t, st, func(tx store.Tx) error {
				for _, p := range []*domain.Product{&b200, &h200, &h100, &a100} {
					if err := tx.CreateProduct(ctx, p); err != nil {
						return err
					}
				}
				return nil
			})
			equal(t, "Products", read(t, st, func(tx store.Tx) ([]domain.Product, error) { return tx.Products(ctx) }),
				[]domain.Product{a100, h100, h200, b200})
		})

		t.Run("ErrSlugTaken", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			p := newProduct("h200", t0)
			mustTx(t, st, func(tx store.Tx) error { return tx.CreateProduct(ctx, &p) })
			q := newProduct("h200", t0)
			wantCode(t, "CreateProduct(taken slug)", st.InTx(ctx, func(tx store.Tx) error { return tx.CreateProduct(ctx, &q) }), domain.ECONFLICT)
		})

		t.Run("ErrNotFound", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			_, err := readErr(st, func(tx store.Tx) (domain.Product, error) { return tx.ProductBySlug(ctx, "h900") })
			wantCode(t, "ProductBySlug(unknown)", err, domain.ENOTFOUND)
			_, err = readErr(st, func(tx store.Tx) (domain.Product, error) { return tx.Product(ctx, newID()) })
			wantCode(t, "Product(unknown)", err, domain.ENOTFOUND)
		})
	})
}

// TestLots checks CreateLot, Lots and ShipFromLot: a lot reads back field for
// field with nothing shipped; Lots lists a product's lots (every product's
// for the zero ID) ordered by availability, then number; a lot number taken
// in the product is ECONFLICT (another product may reuse it), an unknown
// product or a quantity below 1 EINVALID. ShipFromLot takes units out of a
// lot up to its quantity exactly; a draw beyond what is left is ECONFLICT
// and takes nothing; an unknown lot is ENOTFOUND; concurrent draws never
// take more than the lot holds.
func TestLots(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		// setup commits the products and lots.
		setup := func(t *testing.T, st store.Store, ps []*domain.Product, ls ...*domain.Lot) {
			t.Helper()
			mustTx(t, st, func(tx store.Tx) error {
				for _, p := range ps {
					if err := tx.CreateProduct(t.Context(), p); err != nil {
						return err
					}
				}
				for _, l := range ls {
					if err := tx.CreateLot(t.Context(), l); err != nil {
						return err
					}
				}
				return nil
			})
		}
		lots := func(t *testing.T, st store.Store, product domain.ID) []domain.Lot {
			t.Helper()
			return read(t, st, func(tx store.Tx) ([]domain.Lot, error) { return tx.Lots(t.Context(), product) })
		}

		t.Run("RoundTrip", func(t *testing.T) {
			st, _ := b.Open(t)
			p := newProduct("h200", t0)
			l := newLot(p, "TW-0001", 20000, t0.Add(14*24*time.Hour))
			setup(t, st, []*domain.Product{&p}, &l)
			equal(t, "Lots", lots(t, st, p.ID), []domain.Lot{l})
		})

		t.Run("ListByAvailabilityThenNumber", func(t *testing.T) {
			st, _ := b.Open(t)
			p, q, r := newProduct("h200", t0), newProduct("h100", t0), newProduct("b200", t0)
			week := 7 * 24 * time.Hour
			late := newLot(p, "TW-0001", 10, t0.Add(2*week))
			early := newLot(p, "TW-0003", 10, t0)
			tieB := newLot(p, "TW-0010", 10, t0.Add(week))
			tieA := newLot(p, "TW-0002", 10, t0.Add(week))
			other := newLot(q, "TW-0001", 10, t0.Add(week))
			setup(t, st, []*domain.Product{&p, &q, &r}, &late, &early, &tieB, &other, &tieA)
			equal(t, "Lots(h200)", lots(t, st, p.ID), []domain.Lot{early, tieA, tieB, late})
			equal(t, "Lots(h100)", lots(t, st, q.ID), []domain.Lot{other})
			equal(t, "Lots(all)", lots(t, st, domain.ID{}), []domain.Lot{early, other, tieA, tieB, late})
			if ls := lots(t, st, r.ID); len(ls) != 0 {
				t.Errorf("Lots(product without lots) = %+v", ls)
			}
		})

		t.Run("ErrNumberTaken", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			p, q := newProduct("h200", t0), newProduct("h100", t0)
			l := newLot(p, "TW-0001", 20000, t0)
			setup(t, st, []*domain.Product{&p, &q}, &l)
			dup := l
			dup.ID = newID()
			wantCode(t, "CreateLot(taken number)", st.InTx(ctx, func(tx store.Tx) error { return tx.CreateLot(ctx, &dup) }), domain.ECONFLICT)
			same := newLot(q, "TW-0001", 10, t0) // another product's lot of the same number
			mustTx(t, st, func(tx store.Tx) error { return tx.CreateLot(ctx, &same) })
			dupID := newLot(q, "TW-0002", 10, t0)
			dupID.ID = l.ID
			wantCode(t, "CreateLot(taken id)", st.InTx(ctx, func(tx store.Tx) error { return tx.CreateLot(ctx, &dupID) }), domain.ECONFLICT)
		})

		t.Run("ErrInvalid", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			p := newProduct("h200", t0)
			setup(t, st, []*domain.Product{&p})
			bad := newLot(domain.Product{ID: newID()}, "TW-0002", 10, t0)
			wantCode(t, "CreateLot(unknown product): are foreign keys off?", st.InTx(ctx, func(tx store.Tx) error { return tx.CreateLot(ctx, &bad) }), domain.EINVALID)
			empty := newLot(p, "TW-0003", 0, t0)
			wantCode(t, "CreateLot(quantity 0)", st.InTx(ctx, func(tx store.Tx) error { return tx.CreateLot(ctx, &empty) }), domain.EINVALID)
		})

		t.Run("ShipFromLot", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			p := newProduct("h200", t0)
			l, m := newLot(p, "TW-0001", 50, t0), newLot(p, "TW-0002", 50, t0)
			setup(t, st, []*domain.Product{&p}, &l, &m)
			ship := func(lot domain.ID, n int64) error {
				return st.InTx(ctx, func(tx store.Tx) error { return tx.ShipFromLot(ctx, lot, n) })
			}
			shipped := func() []int64 {
				var out []int64
				for _, x := range lots(t, st, p.ID) {
					out = append(out, x.Shipped)
				}
				return out
			}
			if err := ship(l.ID, 30); err != nil {
				t.Fatal(err)
			}
			equal(t, "shipped after 30", shipped(), []int64{30, 0})
			wantCode(t, "ShipFromLot(21 of 20 left)", ship(l.ID, 21), domain.ECONFLICT)
			equal(t, "shipped after a refused draw", shipped(), []int64{30, 0})
			if err := ship(l.ID, 20); err != nil {
				t.Fatal(err)
			}
			equal(t, "shipped after 20 more", shipped(), []int64{50, 0})
			wantCode(t, "ShipFromLot(1 of 0 left)", ship(l.ID, 1), domain.ECONFLICT)
			wantCode(t, "ShipFromLot(unknown lot)", ship(newID(), 1), domain.ENOTFOUND)
			// Two draws in one transaction see each other.
			wantCode(t, "ShipFromLot(40 then 20 of 50)", st.InTx(ctx, func(tx store.Tx) error {
				if err := tx.ShipFromLot(ctx, m.ID, 40); err != nil {
					return err
				}
				return tx.ShipFromLot(ctx, m.ID, 20)
			}), domain.ECONFLICT)
			equal(t, "shipped after a rolled-back pair", shipped(), []int64{50, 0})
		})

		t.Run("ShipFromLotConcurrent", func(t *testing.T) {
			// 200 one-unit draws on a 50-unit lot at once: exactly 50.
			ctx := t.Context()
			st, _ := b.Open(t)
			p := newProduct("h200", t0)
			l := newLot(p, "TW-0001", 50, t0)
			setup(t, st, []*domain.Product{&p}, &l)
			var wg sync.WaitGroup
			var mu sync.Mutex
			outcomes := map[string]int{}
			for range 200 {
				wg.Go(func() {
					err := st.InTx(ctx, func(tx store.Tx) error { return tx.ShipFromLot(ctx, l.ID, 1) })
					mu.Lock()
					outcomes[domain.ErrorCode(err)]++
					mu.Unlock()
				})
			}
			wg.Wait()
			if outcomes[""] != 50 || outcomes[domain.ECONFLICT] != 150 {
				t.Fatalf("outcomes by error code %v, want 50 shipped and 150 refused", outcomes)
			}
			if got := lots(t, st, p.ID)[0].Shipped; got != 50 {
				t.Fatalf("lot shipped %d, want 50", got)
			}
		})
	})
}
