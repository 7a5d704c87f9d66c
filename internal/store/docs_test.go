package store_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

var kinds = []store.Kind{store.KindApplication, store.KindLicense, store.KindPermit, store.KindHearing,
	store.KindOrder, store.KindAllocation, store.KindShipment, store.KindAlert}

// TestDocs checks PutDoc, GetDoc and ListDocs for every kind: a document
// reads back field for field; replacing one changes its ref, status,
// update time and body and keeps its party and creation time; an id taken
// is ECONFLICT, replacing or reading a missing id ENOTFOUND, an unknown
// party EINVALID, a kind not in the list EINTERNAL. ListDocs selects by
// every DocFilter field (zero fields select all), oldest first with ties by
// id (newest first with Desc), after the After position, at most Limit
// (every one when not positive: no silent cap). GetDoc with forUpdate and
// ListDocs with ForUpdate lock what they read, so that concurrent
// read-modify-write commands serialize and lose no update.
func TestDocs(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		t.Run("RoundTrip", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			p := seedParty(t, st, "bytedance")
			for _, kind := range kinds {
				d := newDoc(p.ID, "ref-"+string(kind), "pending", t0)
				d.UpdatedAt = t0.Add(time.Second)
				mustTx(t, st, func(tx store.Tx) error { return tx.PutDoc(ctx, kind, d, true) })
				for _, forUpdate := range []bool{false, true} {
					mustTx(t, st, func(tx store.Tx) error {
						got, err := tx.GetDoc(ctx, kind, d.ID, forUpdate)
						equal(t, fmt.Sprintf("GetDoc(%s, forUpdate %v)", kind, forUpdate), got, d)
						return err
					})
				}
				equal(t, "ListDocs("+string(kind)+")", read(t, st, func(tx store.Tx) ([]store.Doc, error) { return tx.ListDocs(ctx, kind, store.DocFilter{}) }), []store.Doc{d})
			}
		})

		t.Run("Replace", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			p, q := seedParty(t, st, "bytedance"), seedParty(t, st, "alibaba")
			for _, kind := range kinds {
				d := newDoc(p.ID, "ref", "pending", t0)
				mustTx(t, st, func(tx store.Tx) error { return tx.PutDoc(ctx, kind, d, true) })
				r := store.Doc{ID: d.ID, PartyID: q.ID, Ref: "ref-2", Status: "approved", CreatedAt: t0.Add(time.Hour),
					UpdatedAt: t0.Add(2 * time.Hour), Body: []byte(`{"n":1}`)}
				mustTx(t, st, func(tx store.Tx) error { return tx.PutDoc(ctx, kind, r, false) })
				want := r
				want.PartyID, want.CreatedAt = d.PartyID, d.CreatedAt // kept
				equal(t, "replaced "+string(kind), read(t, st, func(tx store.Tx) (store.Doc, error) { return tx.GetDoc(ctx, kind, d.ID, false) }), want)
			}
		})

		t.Run("Errors", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			p := seedParty(t, st, "bytedance")
			for _, kind := range kinds {
				d := newDoc(p.ID, "ref", "pending", t0)
				mustTx(t, st, func(tx store.Tx) error { return tx.PutDoc(ctx, kind, d, true) })
				dup := newDoc(p.ID, "other", "pending", t0)
				dup.ID = d.ID
				wantCode(t, "PutDoc(create, taken id) of "+string(kind), st.InTx(ctx, func(tx store.Tx) error { return tx.PutDoc(ctx, kind, dup, true) }), domain.ECONFLICT)
				missing := newDoc(p.ID, "ref", "pending", t0)
				wantCode(t, "PutDoc(replace, missing id) of "+string(kind), st.InTx(ctx, func(tx store.Tx) error { return tx.PutDoc(ctx, kind, missing, false) }), domain.ENOTFOUND)
				_, err := readErr(st, func(tx store.Tx) (store.Doc, error) { return tx.GetDoc(ctx, kind, missing.ID, false) })
				wantCode(t, "GetDoc(missing) of "+string(kind), err, domain.ENOTFOUND)
				orphan := newDoc(newID(), "ref", "pending", t0)
				wantCode(t, "PutDoc(unknown party) of "+string(kind), st.InTx(ctx, func(tx store.Tx) error { return tx.PutDoc(ctx, kind, orphan, true) }), domain.EINVALID)
				equal(t, "documents of "+string(kind)+" after the errors", read(t, st, func(tx store.Tx) ([]store.Doc, error) { return tx.ListDocs(ctx, kind, store.DocFilter{}) }), []store.Doc{d})
			}
			// Only the kinds reach SQL as table names.
			bogus := store.Kind("parties")
			d := newDoc(p.ID, "ref", "pending", t0)
			wantCode(t, "PutDoc(unknown kind)", st.InTx(ctx, func(tx store.Tx) error { return tx.PutDoc(ctx, bogus, d, true) }), domain.EINTERNAL)
			_, err := readErr(st, func(tx store.Tx) (store.Doc, error) { return tx.GetDoc(ctx, bogus, p.ID, false) })
			wantCode(t, "GetDoc(unknown kind)", err, domain.EINTERNAL)
			_, err = readErr(st, func(tx store.Tx) ([]store.Doc, error) { return tx.ListDocs(ctx, bogus, store.DocFilter{}) })
			wantCode(t, "ListDocs(unknown kind)", err, domain.EINTERNAL)
		})

		t.Run("List", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			a, c := seedParty(t, st, "bytedance"), seedParty(t, st, "alibaba")
			ids := orderedIDs(2)
			d1 := newDoc(a.ID, "r1", "open", t0.Add(3*time.Hour))
			d2 := newDoc(a.ID, "r2", "closed", t0.Add(time.Hour))
			d3 := newDoc(c.ID, "r1", "open", t0.Add(2*time.Hour))
			d4 := newDoc(c.ID, "r1", "held", t0.Add(2*time.Hour))
			d3.ID, d4.ID = ids[0], ids[1] // a tie in time, broken by id
			d5 := newDoc(a.ID, "r1", "open", t0)
			for _, kind := range kinds {
				mustTx(t, st, func(tx store.Tx) error {
					for _, d := range []store.Doc{d1, d2, d4, d3, d5} {
						if err := tx.PutDoc(ctx, kind, d, true); err != nil {
							return err
						}
					}
					return nil
				})
				for _, c := range []struct {
					name string
					f    store.DocFilter
					want []store.Doc
				}{
					{"All", store.DocFilter{}, []store.Doc{d5, d2, d3, d4, d1}},
					{"Party", store.DocFilter{PartyID: a.ID}, []store.Doc{d5, d2, d1}},
					{"Within", store.DocFilter{Within: []domain.ID{c.ID}}, []store.Doc{d3, d4}},
					{"WithinBoth", store.DocFilter{Within: []domain.ID{c.ID, a.ID}, Desc: true}, []store.Doc{d1, d4, d3, d2, d5}},
					{"WithinNone", store.DocFilter{Within: []domain.ID{}}, nil},
					{"WithinAndParty", store.DocFilter{Within: []domain.ID{c.ID}, PartyID: a.ID}, nil},
					{"Ref", store.DocFilter{Ref: "r1"}, []store.Doc{d5, d3, d4, d1}},
					{"Status", store.DocFilter{Status: []string{"open"}}, []store.Doc{d5, d3, d1}},
					{"Statuses", store.DocFilter{Status: []string{"held", "open"}}, []store.Doc{d5, d3, d4, d1}},
					{"NoSuchStatus", store.DocFilter{Status: []string{"gone"}}, nil},
					{"EveryField", store.DocFilter{PartyID: c.ID, Ref: "r1", Status: []string{"held", "closed"}}, []store.Doc{d4}},
					{"Limit", store.DocFilter{Limit: 2}, []store.Doc{d5, d2}},
					{"LimitAfterFilter", store.DocFilter{Status: []string{"open"}, Limit: 2}, []store.Doc{d5, d3}},
					{"NegativeLimit", store.DocFilter{Limit: -1}, []store.Doc{d5, d2, d3, d4, d1}},
					{"Desc", store.DocFilter{Desc: true}, []store.Doc{d1, d4, d3, d2, d5}},
					{"DescLimit", store.DocFilter{Desc: true, Limit: 2}, []store.Doc{d1, d4}},
					{"AfterTie", store.DocFilter{After: &store.Position{CreatedAt: d3.CreatedAt, ID: d3.ID}}, []store.Doc{d4, d1}},
					{"DescAfterTie", store.DocFilter{Desc: true, After: &store.Position{CreatedAt: d4.CreatedAt, ID: d4.ID}}, []store.Doc{d3, d2, d5}},
					{"AfterWithStatus", store.DocFilter{Status: []string{"open"}, After: &store.Position{CreatedAt: d5.CreatedAt, ID: d5.ID}, Limit: 1}, []store.Doc{d3}},
					{"AfterLast", store.DocFilter{After: &store.Position{CreatedAt: d1.CreatedAt, ID: d1.ID}}, nil},
					{"CreatedFrom", store.DocFilter{CreatedFrom: t0.Add(2 * time.Hour)}, []store.Doc{d3, d4, d1}},
					{"CreatedBefore", store.DocFilter{CreatedBefore: t0.Add(2 * time.Hour)}, []store.Doc{d5, d2}},
					{"CreatedRange", store.DocFilter{CreatedFrom: t0.Add(time.Hour), CreatedBefore: t0.Add(3 * time.Hour), Desc: true}, []store.Doc{d4, d3, d2}},
					{"ForUpdate", store.DocFilter{Ref: "r1", ForUpdate: true}, []store.Doc{d5, d3, d4, d1}},
				} {
					// In a write transaction: ForUpdate locks.
					mustTx(t, st, func(tx store.Tx) error {
						got, err := tx.ListDocs(ctx, kind, c.f)
						if len(got) != 0 || len(c.want) != 0 {
							equal(t, fmt.Sprintf("ListDocs(%s, %s)", kind, c.name), got, c.want)
						}
						return err
					})
				}
			}
		})

		// No silent cap: a list without a limit lists every document (the
		// old default of 1,000 dropped the newest ones without a word).
		t.Run("NoDefaultCap", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			p := seedParty(t, st, "bytedance")
			mustTx(t, st, func(tx store.Tx) error {
				for i := range 1001 {
					if err := tx.PutDoc(ctx, store.KindOrder, newDoc(p.ID, "", "open", t0.Add(time.Duration(i)*time.Second)), true); err != nil {
						return err
					}
				}
				return nil
			})
			for _, c := range []struct {
				limit, want int
			}{{0, 1001}, {-5, 1001}, {1000, 1000}, {5000, 1001}} {
				ds := read(t, st, func(tx store.Tx) ([]store.Doc, error) {
					return tx.ListDocs(ctx, store.KindOrder, store.DocFilter{Limit: c.limit})
				})
				if len(ds) != c.want || !ds[0].CreatedAt.Equal(t0) {
					t.Errorf("ListDocs(Limit %d) = %d documents from %v, want %d from %v", c.limit, len(ds), ds[0].CreatedAt, c.want, t0)
				}
			}
		})

		// PageOf walks a kind in pages while documents are added at both
		// ends of the order and in the middle of the walk: every document
		// there at the start is listed exactly once, in order.
		t.Run("PageWalkWhileInserting", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			p := seedParty(t, st, "bytedance")
			var before []store.Doc
			mustTx(t, st, func(tx store.Tx) error {
				for i := range 95 {
					// Every third one shares its instant with the one before.
					d := newDoc(p.ID, "", "open", t0.Add(time.Duration(i-i%3/2)*time.Minute))
					before = append(before, d)
					if err := tx.PutDoc(ctx, store.KindOrder, d, true); err != nil {
						return err
					}
				}
				return nil
			})
			for _, desc := range []bool{true, false} {
				seen := map[domain.ID]int{}
				var last *store.Position
				var prev store.Position
				for page := 0; ; page++ {
					type row struct {
						ID domain.ID `json:"id"`
					}
					var items []row
					var next *store.Position
					var docs []store.Doc
					err := st.View(ctx, func(tx store.Tx) error {
						var err error
						items, next, err = store.PageOf[row](ctx, tx, store.KindOrder, store.DocFilter{Desc: desc, After: last}, 10)
						if err != nil {
							return err
						}
						docs, err = tx.ListDocs(ctx, store.KindOrder, store.DocFilter{Desc: desc, After: last, Limit: 10})
						return err
					})
					if err != nil {
						t.Fatal(err)
					}
					for i, it := range items {
						seen[it.ID]++
						pos := store.PositionOf(docs[i])
						if page+i > 0 && (pos.CreatedAt.Before(prev.CreatedAt) != desc && !pos.CreatedAt.Equal(prev.CreatedAt)) {
							t.Errorf("desc %v: %v listed after %v", desc, pos.CreatedAt, prev.CreatedAt)
						}
						prev = pos
					}
					// New documents at the newest end, the oldest end, and
					// at the instant of the page's last one.
					mustTx(t, st, func(tx store.Tx) error {
						for _, at := range []time.Time{t0.Add(24 * time.Hour), t0.Add(-24 * time.Hour)} {
							if err := tx.PutDoc(ctx, store.KindOrder, newDoc(p.ID, "", "open", at.Add(time.Duration(page)*time.Second)), true); err != nil {
								return err
							}
						}
						return nil
					})
					if next == nil {
						break
					}
					if len(items) != 10 {
						t.Fatalf("a page with a next position has %d items", len(items))
					}
					last = next
				}
				for _, d := range before {
					if seen[d.ID] != 1 {
						t.Errorf("desc %v: document %v listed %d times", desc, d.ID, seen[d.ID])
					}
				}
			}
		})

		// Concurrent commands each add one to a counter in documents they
		// read locked and write back: none may overwrite another's update.
		const writers = 16
		counter := func(t *testing.T, d store.Doc) int {
			var v struct{ N int }
			if err := json.Unmarshal(d.Body, &v); err != nil {
				t.Error(err)
			}
			return v.N
		}
		bump := func(d store.Doc) store.Doc {
			var v struct{ N int }
			if err := json.Unmarshal(d.Body, &v); err != nil {
				panic(err)
			}
			d.Body = fmt.Appendf(nil, `{"n":%d}`, v.N+1)
			return d
		}
		race := func(t *testing.T, st store.Store, fn func(tx store.Tx) error) {
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for range writers {
				wg.Go(func() { errs <- st.InTx(t.Context(), fn) })
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
		}

		t.Run("GetForUpdateSerializes", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			p := seedParty(t, st, "bytedance")
			d := newDoc(p.ID, "", "open", t0)
			mustTx(t, st, func(tx store.Tx) error { return tx.PutDoc(ctx, store.KindLicense, d, true) })
			race(t, st, func(tx store.Tx) error {
				got, err := tx.GetDoc(ctx, store.KindLicense, d.ID, true)
				if err != nil {
					return err
				}
				time.Sleep(2 * time.Millisecond) // widen the window another writer would use
				return tx.PutDoc(ctx, store.KindLicense, bump(got), false)
			})
			got := read(t, st, func(tx store.Tx) (store.Doc, error) { return tx.GetDoc(ctx, store.KindLicense, d.ID, false) })
			if n := counter(t, got); n != writers {
				t.Fatalf("counter = %d after %d locked increments", n, writers)
			}
		})

		t.Run("ListForUpdateSerializes", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			p := seedParty(t, st, "bytedance")
			d, e := newDoc(p.ID, "lic", "open", t0), newDoc(p.ID, "lic", "open", t0.Add(time.Second))
			mustTx(t, st, func(tx store.Tx) error {
				if err := tx.PutDoc(ctx, store.KindPermit, d, true); err != nil {
					return err
				}
				return tx.PutDoc(ctx, store.KindPermit, e, true)
			})
			race(t, st, func(tx store.Tx) error {
				ds, err := tx.ListDocs(ctx, store.KindPermit, store.DocFilter{PartyID: p.ID, Ref: "lic", ForUpdate: true})
				if err != nil {
					return err
				}
				time.Sleep(2 * time.Millisecond)
				for _, d := range ds {
					if err := tx.PutDoc(ctx, store.KindPermit, bump(d), false); err != nil {
						return err
					}
				}
				return nil
			})
			for _, got := range read(t, st, func(tx store.Tx) ([]store.Doc, error) { return tx.ListDocs(ctx, store.KindPermit, store.DocFilter{}) }) {
				if n := counter(t, got); n != writers {
					t.Fatalf("counter = %d after %d locked increments", n, writers)
				}
			}
		})
	})
}

// TestVolumes checks Volumes and AddVolume: Volumes returns every region
// counted for the product (those asked for, created at zero, and any other
// already counted); AddVolume adds to one region, creating its row when
// Volumes did not; the counters (Ordered, Shipped) and products are apart; a
// counter not in the list is EINTERNAL. Volumes locks the product's rows, so
// concurrent commands that check a cap before adding never exceed it.
func TestVolumes(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		regions := []string{"US", "CN", "other"}
		// volumes reads a counter in a transaction of its own.
		volumes := func(t *testing.T, st store.Store, c store.Counter, product string, regions []string) map[string]int64 {
			t.Helper()
			var v map[string]int64
			mustTx(t, st, func(tx store.Tx) error {
				var err error
				v, err = tx.Volumes(t.Context(), c, product, regions)
				return err
			})
			return v
		}

		t.Run("ZeroRows", func(t *testing.T) {
			st, _ := b.Open(t)
			equal(t, "Volumes(no rows, no regions)", volumes(t, st, store.Ordered, "h200", nil), map[string]int64{})
			equal(t, "Volumes(new regions)", volumes(t, st, store.Ordered, "h200", regions), map[string]int64{"US": 0, "CN": 0, "other": 0})
			// Every counted region comes back, asked for or not.
			equal(t, "Volumes(one region)", volumes(t, st, store.Ordered, "h200", []string{"CN"}), map[string]int64{"US": 0, "CN": 0, "other": 0})
			equal(t, "Volumes(one more region)", volumes(t, st, store.Ordered, "h200", []string{"EU"}), map[string]int64{"US": 0, "CN": 0, "other": 0, "EU": 0})
		})

		// ReadVolumes reads what committed, in a View, creating nothing.
		t.Run("Read", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			read := func() map[string]int64 {
				var v map[string]int64
				if err := st.View(ctx, func(tx store.Tx) error {
					var err error
					v, err = tx.ReadVolumes(ctx, store.Shipped, "h200")
					return err
				}); err != nil {
					t.Fatal(err)
				}
				return v
			}
			equal(t, "ReadVolumes(no rows)", read(), map[string]int64{})
			mustTx(t, st, func(tx store.Tx) error {
				if _, err := tx.Volumes(ctx, store.Shipped, "h200", regions); err != nil {
					return err
				}
				return tx.AddVolume(ctx, store.Shipped, "h200", "CN", 7)
			})
			equal(t, "ReadVolumes", read(), map[string]int64{"US": 0, "CN": 7, "other": 0})
		})

		t.Run("Add", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			mustTx(t, st, func(tx store.Tx) error {
				if _, err := tx.Volumes(ctx, store.Ordered, "h200", regions); err != nil {
					return err
				}
				for _, a := range []struct {
					region string
					delta  int64
				}{{"CN", 10}, {"US", 5}, {"CN", -3}} {
					if err := tx.AddVolume(ctx, store.Ordered, "h200", a.region, a.delta); err != nil {
						return err
					}
				}
				// The transaction sees its own additions.
				v, err := tx.Volumes(ctx, store.Ordered, "h200", regions)
				equal(t, "Volumes in the adding transaction", v, map[string]int64{"US": 5, "CN": 7, "other": 0})
				return err
			})
			equal(t, "Volumes after commit", volumes(t, st, store.Ordered, "h200", regions), map[string]int64{"US": 5, "CN": 7, "other": 0})
			// Counters and products are apart.
			equal(t, "Shipped", volumes(t, st, store.Shipped, "h200", nil), map[string]int64{})
			equal(t, "another product", volumes(t, st, store.Ordered, "h100", nil), map[string]int64{})
			mustTx(t, st, func(tx store.Tx) error { return tx.AddVolume(ctx, store.Shipped, "h200", "CN", 4) })
			equal(t, "Shipped after adding", volumes(t, st, store.Shipped, "h200", nil), map[string]int64{"CN": 4})
			equal(t, "Ordered after adding to Shipped", volumes(t, st, store.Ordered, "h200", nil), map[string]int64{"US": 5, "CN": 7, "other": 0})
		})

		t.Run("AddWithoutVolumes", func(t *testing.T) {
			// A region Volumes never created still counts: no unit is
			// silently dropped from a cap's counter.
			ctx := t.Context()
			st, _ := b.Open(t)
			mustTx(t, st, func(tx store.Tx) error { return tx.AddVolume(ctx, store.Shipped, "b200", "EU", 4) })
			mustTx(t, st, func(tx store.Tx) error { return tx.AddVolume(ctx, store.Shipped, "b200", "EU", 2) })
			equal(t, "Volumes after adding to a region never read", volumes(t, st, store.Shipped, "b200", nil), map[string]int64{"EU": 6})
		})

		t.Run("ErrUnknownCounter", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			bogus := store.Counter("lots")
			wantCode(t, "Volumes(unknown counter)", st.InTx(ctx, func(tx store.Tx) error {
				_, err := tx.Volumes(ctx, bogus, "h200", regions)
				return err
			}), domain.EINTERNAL)
			wantCode(t, "AddVolume(unknown counter)", st.InTx(ctx, func(tx store.Tx) error { return tx.AddVolume(ctx, bogus, "h200", "CN", 1) }), domain.EINTERNAL)
		})

		t.Run("CapUnderConcurrency", func(t *testing.T) {
			// 30 commands at once each add one unit to CN unless that
			// would pass 10: exactly 10 add.
			ctx := t.Context()
			st, _ := b.Open(t)
			capped := domain.Errorf(domain.ECONFLICT, "cap reached")
			var wg sync.WaitGroup
			var mu sync.Mutex
			outcomes := map[string]int{}
			for range 30 {
				wg.Go(func() {
					err := st.InTx(ctx, func(tx store.Tx) error {
						v, err := tx.Volumes(ctx, store.Ordered, "h200", regions)
						if err != nil {
							return err
						}
						if v["CN"]+1 > 10 {
							return capped
						}
						time.Sleep(time.Millisecond) // widen the window another writer would use
						return tx.AddVolume(ctx, store.Ordered, "h200", "CN", 1)
					})
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						outcomes["added"]++
					case err == error(capped):
						outcomes["capped"]++
					default:
						outcomes[err.Error()]++
					}
				})
			}
			wg.Wait()
			equal(t, "outcomes", outcomes, map[string]int{"added": 10, "capped": 20})
			equal(t, "Volumes", volumes(t, st, store.Ordered, "h200", nil), map[string]int64{"US": 0, "CN": 10, "other": 0})
		})
	})
}

// TestSerials checks ClaimSerials and SerialShipment: claimed serials name
// their shipment; a serial claimed before, or twice in one call, is
// ECONFLICT naming it (and the caller's rollback claims none of the call's
// serials); an unclaimed serial is ENOTFOUND; no serials is no change.
func TestSerials(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		shipmentOf := func(t *testing.T, st store.Store, serial string) (domain.ID, error) {
			return readErr(st, func(tx store.Tx) (domain.ID, error) { return tx.SerialShipment(t.Context(), serial) })
		}
		claim := func(t *testing.T, st store.Store, shipment domain.ID, serials ...string) error {
			return st.InTx(t.Context(), func(tx store.Tx) error { return tx.ClaimSerials(t.Context(), shipment, serials) })
		}

		t.Run("Claim", func(t *testing.T) {
			st, _ := b.Open(t)
			s1, s2 := newID(), newID()
			if err := claim(t, st, s1, "SN-1", "SN-2"); err != nil {
				t.Fatal(err)
			}
			if err := claim(t, st, s2, "SN-3"); err != nil {
				t.Fatal(err)
			}
			if err := claim(t, st, s2); err != nil {
				t.Fatalf("ClaimSerials(none) = %v", err)
			}
			for serial, want := range map[string]domain.ID{"SN-1": s1, "SN-2": s1, "SN-3": s2} {
				got, err := shipmentOf(t, st, serial)
				if err != nil || got != want {
					t.Errorf("SerialShipment(%s) = %v, %v; want %v", serial, got, err, want)
				}
			}
			_, err := shipmentOf(t, st, "SN-4")
			wantCode(t, "SerialShipment(unclaimed)", err, domain.ENOTFOUND)
		})

		t.Run("ErrShipped", func(t *testing.T) {
			st, _ := b.Open(t)
			s1, s2 := newID(), newID()
			if err := claim(t, st, s1, "SN-1"); err != nil {
				t.Fatal(err)
			}
			err := claim(t, st, s2, "SN-2", "SN-1", "SN-3")
			wantCode(t, "ClaimSerials(one shipped before)", err, domain.ECONFLICT)
			if !strings.Contains(domain.ErrorMessage(err), `"SN-1"`) {
				t.Errorf("message %q does not name the serial", domain.ErrorMessage(err))
			}
			err = claim(t, st, s2, "SN-5", "SN-5")
			wantCode(t, "ClaimSerials(one serial twice)", err, domain.ECONFLICT)
			if !strings.Contains(domain.ErrorMessage(err), `"SN-5"`) {
				t.Errorf("message %q does not name the serial", domain.ErrorMessage(err))
			}
			if got, err := shipmentOf(t, st, "SN-1"); err != nil || got != s1 {
				t.Errorf("SerialShipment(SN-1) = %v, %v; want %v", got, err, s1)
			}
			for _, serial := range []string{"SN-2", "SN-3", "SN-5"} {
				_, err := shipmentOf(t, st, serial)
				wantCode(t, "SerialShipment("+serial+") of a refused claim", err, domain.ENOTFOUND)
			}
		})
	})
}

// TestShipments checks shipments, with their custody events and lab tests,
// as documents read through the typed helpers Get and List: a shipment
// reads back value for value, events and test included, after it is
// created and after each change written back under the lock of GetDoc; a
// body that is not the type's JSON is EINTERNAL.
func TestShipments(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		t.Run("RoundTrip", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			buyer := seedParty(t, st, "bytedance")
			arrival := t0.Add(72 * time.Hour)
			sh := domain.Shipment{ID: newID(), Number: "SH-0001", OrderID: newID(), BuyerID: buyer.ID, Buyer: buyer.Slug,
				Product: "h200", Lot: "TW-0001", Serials: []string{"SN-1", "SN-2"}, Quantity: 2,
				Route: []string{"TW", "US", "CN"}, RouteRule: "via-us-lab", Destination: "CN", Site: 3, EndUse: "inference",
				UnitValue: domain.Money{Minor: 3_000_000, Currency: "USD"}, Value: domain.Money{Minor: 6_000_000, Currency: "USD"},
				Invoice: domain.Invoice{Number: "INV-1", IssuedAt: t0, Total: domain.Money{Minor: 6_000_000, Currency: "USD"}},
				Status:  domain.ShipAtOrigin, LabRequired: "lab-test", LabCountry: "US", LabArrival: &arrival,
				Events: []domain.CustodyEvent{}, CreatedAt: t0, UpdatedAt: t0}
			doc := func(sh domain.Shipment) store.Doc {
				body, err := json.Marshal(sh)
				if err != nil {
					panic(err)
				}
				return store.Doc{ID: sh.ID, PartyID: sh.BuyerID, Ref: sh.OrderID.String(), Status: string(sh.Status),
					CreatedAt: sh.CreatedAt, UpdatedAt: sh.UpdatedAt, Body: body}
			}
			check := func(what string, want domain.Shipment) {
				t.Helper()
				got := read(t, st, func(tx store.Tx) (domain.Shipment, error) {
					return store.Get[domain.Shipment](ctx, tx, store.KindShipment, sh.ID, false)
				})
				equal(t, "Get "+what, got, want)
				list := read(t, st, func(tx store.Tx) ([]domain.Shipment, error) {
					return store.List[domain.Shipment](ctx, tx, store.KindShipment, store.DocFilter{Ref: sh.OrderID.String(), Status: []string{string(want.Status)}})
				})
				equal(t, "List "+what, list, []domain.Shipment{want})
			}
			mustTx(t, st, func(tx store.Tx) error { return tx.PutDoc(ctx, store.KindShipment, doc(sh), true) })
			check("created", sh)

			// change reads the shipment locked, applies fn and writes it back.
			change := func(fn func(*domain.Shipment)) domain.Shipment {
				var out domain.Shipment
				mustTx(t, st, func(tx store.Tx) error {
					got, err := store.Get[domain.Shipment](ctx, tx, store.KindShipment, sh.ID, true)
					if err != nil {
						return err
					}
					fn(&got)
					out = got
					return tx.PutDoc(ctx, store.KindShipment, doc(got), false)
				})
				return out
			}
			picked := change(func(s *domain.Shipment) {
				s.Status, s.UpdatedAt = domain.ShipInTransit, t0.Add(time.Hour)
				s.Events = append(s.Events, domain.CustodyEvent{At: t0.Add(time.Hour), Kind: "picked_up", Country: "TW", Place: "Hsinchu", By: "carrier"})
			})
			check("picked up", picked)
			tested := change(func(s *domain.Shipment) {
				s.Leg, s.Status, s.UpdatedAt = 1, domain.ShipArrived, arrival
				s.Events = append(s.Events, domain.CustodyEvent{At: arrival, Kind: "arrived", Country: "US", Place: "San Jose", By: "carrier"})
				s.Test = &domain.LabTest{At: arrival.Add(time.Hour), By: "us-testlab", Measured: domain.Spec{
					Throughput: []domain.Throughput{{Bits: 8, DenseTOPS: 1979}}, DieAreaMM2: 814, MemoryGB: 141, BandwidthGBps: 4800},
					TPP: 15832, Pass: true, Reasons: []string{}}
			})
			check("tested", tested)
			if len(tested.Events) != 2 || tested.Test == nil || tested.Test.TPP != 15832 {
				t.Fatalf("tested shipment %+v", tested)
			}
		})

		t.Run("ErrBadBody", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			buyer := seedParty(t, st, "bytedance")
			d := newDoc(buyer.ID, "", "at_origin", t0)
			d.Body = []byte(`{"quantity":"two"}`)
			mustTx(t, st, func(tx store.Tx) error { return tx.PutDoc(ctx, store.KindShipment, d, true) })
			_, err := readErr(st, func(tx store.Tx) (domain.Shipment, error) {
				return store.Get[domain.Shipment](ctx, tx, store.KindShipment, d.ID, false)
			})
			wantCode(t, "Get(bad body)", err, domain.EINTERNAL)
			_, err = readErr(st, func(tx store.Tx) ([]domain.Shipment, error) {
				return store.List[domain.Shipment](ctx, tx, store.KindShipment, store.DocFilter{})
			})
			wantCode(t, "List(bad body)", err, domain.EINTERNAL)
			_, err = readErr(st, func(tx store.Tx) (domain.Shipment, error) {
				return store.Get[domain.Shipment](ctx, tx, store.KindShipment, newID(), false)
			})
			wantCode(t, "Get(missing)", err, domain.ENOTFOUND)
		})
	})
}

// TestCheckIns checks AddCheckIn and LastCheckIn, and alerts as the
// diversion watch looks them up: LastCheckIn returns the newest check-in of
// the serial by its instant (not by when it was stored; ties by id), or
// ENOTFOUND when it never checked in; a check-in id taken is ECONFLICT. Open
// alerts of a kind and serial are found by ref and statuses, oldest first,
// and leave the list when their status changes.
func TestCheckIns(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		t.Run("Last", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			ids := orderedIDs(2)
			mustTx(t, st, func(tx store.Tx) error {
				for _, c := range []struct {
					id     domain.ID
					serial string
					at     time.Time
					doc    string
				}{
					{newID(), "SN-1", t0.Add(2 * time.Hour), "newest"},
					{newID(), "SN-1", t0, "oldest"},
					{newID(), "SN-1", t0.Add(time.Hour), "middle"},
					{newID(), "SN-2", t0.Add(3 * time.Hour), "other serial"},
					{ids[1], "SN-3", t0, "tie, larger id"},
					{ids[0], "SN-3", t0, "tie, smaller id"},
				} {
					if err := tx.AddCheckIn(ctx, c.id, c.serial, c.at, []byte(c.doc)); err != nil {
						return err
					}
				}
				return nil
			})
			for serial, want := range map[string]string{"SN-1": "newest", "SN-2": "other serial", "SN-3": "tie, larger id"} {
				got := read(t, st, func(tx store.Tx) ([]byte, error) { return tx.LastCheckIn(ctx, serial) })
				if string(got) != want {
					t.Errorf("LastCheckIn(%s) = %q, want %q", serial, got, want)
				}
			}
			_, err := readErr(st, func(tx store.Tx) ([]byte, error) { return tx.LastCheckIn(ctx, "SN-9") })
			wantCode(t, "LastCheckIn(never checked in)", err, domain.ENOTFOUND)
		})

		t.Run("ErrIDTaken", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			id := newID()
			mustTx(t, st, func(tx store.Tx) error { return tx.AddCheckIn(ctx, id, "SN-1", t0, []byte("a")) })
			wantCode(t, "AddCheckIn(taken id)", st.InTx(ctx, func(tx store.Tx) error { return tx.AddCheckIn(ctx, id, "SN-2", t0, []byte("b")) }), domain.ECONFLICT)
		})

		t.Run("Alerts", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			authority := seedParty(t, st, "bis")
			silent := "silent_serial:SN-1"
			first := newDoc(authority.ID, silent, string(domain.AlertOpen), t0)
			escalated := newDoc(authority.ID, silent, string(domain.AlertEscalated), t0.Add(time.Hour))
			explained := newDoc(authority.ID, silent, string(domain.AlertExplained), t0.Add(-time.Hour))
			other := newDoc(authority.ID, "silent_serial:SN-2", string(domain.AlertOpen), t0.Add(-time.Hour))
			mustTx(t, st, func(tx store.Tx) error {
				for _, d := range []store.Doc{first, escalated, explained, other} {
					if err := tx.PutDoc(ctx, store.KindAlert, d, true); err != nil {
						return err
					}
				}
				return nil
			})
			open := func() []store.Doc {
				return read(t, st, func(tx store.Tx) ([]store.Doc, error) {
					return tx.ListDocs(ctx, store.KindAlert, store.DocFilter{Ref: silent,
						Status: []string{string(domain.AlertOpen), string(domain.AlertEscalated)}, Limit: 1})
				})
			}
			equal(t, "open alerts of SN-1", open(), []store.Doc{first})
			first.Status, first.UpdatedAt = string(domain.AlertExplained), t0.Add(2*time.Hour)
			mustTx(t, st, func(tx store.Tx) error { return tx.PutDoc(ctx, store.KindAlert, first, false) })
			equal(t, "open alerts of SN-1 after one is explained", open(), []store.Doc{escalated})
		})
	})
}
