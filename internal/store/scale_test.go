package store_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
)

// The scale of the paging benchmark and test: a program's orders and
// allocation runs, as issue 19 asks (1,000,000 and 10,000). They run only
// when CHIPGATE_SCALE is set (seeding takes minutes); CHIPGATE_SCALE_DB
// keeps the SQLite file between runs (it is seeded once), and
// CHIPGATE_SCALE_POSTGRES names a PostgreSQL database to seed and read
// instead.
const (
	scaleOrders = 1_000_000
	scaleRuns   = 10_000
	scaleBuyers = 50
	scalePage   = 50
)

var scaleT0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// scaleID is the i-th record's id: ordered as i is, so that a position is
// known without a read.
func scaleID(kind byte, i int) domain.ID {
	var id domain.ID
	id[0] = kind
	binary.BigEndian.PutUint64(id[8:], uint64(i))
	id[6] = 0x70 // version 7
	id[8] |= 0x80
	return id
}

// scaleAt is the i-th record's creation: one every 30 seconds, so that a
// million orders span about a year.
func scaleAt(i int) time.Time { return scaleT0.Add(time.Duration(i) * 30 * time.Second) }

var scaleOnce struct {
	sync.Once
	st      store.Store
	parties []domain.ID
	err     error
}

// scaleStore opens (seeding it the first time) the scale database.
func scaleStore(tb testing.TB) (store.Store, []domain.ID) {
	tb.Helper()
	if os.Getenv("CHIPGATE_SCALE") == "" {
		tb.Skip("CHIPGATE_SCALE not set: the scale test seeds 1,000,000 orders")
	}
	scaleOnce.Do(func() {
		ctx := context.Background()
		dsn := os.Getenv("CHIPGATE_SCALE_POSTGRES")
		if dsn == "" {
			dsn = os.Getenv("CHIPGATE_SCALE_DB")
		}
		if dsn == "" {
			dsn = filepath.Join(os.TempDir(), "chipgate-scale.db")
		}
		st, err := store.Open(ctx, dsn)
		if err != nil {
			scaleOnce.err = err
			return
		}
		if _, err := store.Migrate(ctx, st); err != nil {
			scaleOnce.err = err
			return
		}
		scaleOnce.st = st
		scaleOnce.err = seedScale(ctx, st)
		for i := range scaleBuyers {
			scaleOnce.parties = append(scaleOnce.parties, scaleID(1, i))
		}
	})
	if scaleOnce.err != nil {
		tb.Fatal(scaleOnce.err)
	}
	return scaleOnce.st, scaleOnce.parties
}

// seedScale writes the buyers, orders and runs unless a run of the last
// index is there already.
func seedScale(ctx context.Context, st store.Store) error {
	if err := st.View(ctx, func(tx store.Tx) error {
		_, err := tx.GetDoc(ctx, store.KindAllocation, scaleID(3, scaleRuns-1), false)
		return err
	}); err == nil {
		return nil
	}
	if err := st.InTx(ctx, func(tx store.Tx) error {
		for i := range scaleBuyers {
			p := domain.Party{ID: scaleID(1, i), Slug: fmt.Sprintf("buyer-%02d", i), Name: "Buyer " + strconv.Itoa(i), Role: domain.RoleBuyer, Country: "CN", CreatedAt: scaleT0}
			if err := tx.CreateParty(ctx, &p); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	// An order's body as the service writes it, about 1.3 kB.
	order := func(i int) store.Doc {
		status := domain.OrderAccepted
		switch i % 20 {
		case 7:
			status = domain.OrderHeld
		case 13:
			status = domain.OrderRejected
		}
		at := scaleAt(i)
		o := domain.Order{ID: scaleID(2, i), BuyerID: scaleID(1, i%scaleBuyers), Buyer: fmt.Sprintf("buyer-%02d", i%scaleBuyers), Product: "h200",
			Quantity: int64(1 + i%1000), Period: "2026-03-02", EndUse: "commercial_ai", Status: status, PlacedAt: at, UpdatedAt: at,
			Decision: domain.Decision{Outcome: domain.Outcome(status), ECCN: "3A090.a", TPP: 15832, Region: "CN", Status: domain.LicenseRequired,
				Reasons: []domain.Reason{
					{Rule: "dest.cn-mo", Source: "S4", Jurisdiction: "us-ear", Outcome: "accepted", Message: "CN: case-by-case review (license_required): TPP 15,832 < 21,000; bandwidth 4,800 < 6,500 GB/s"},
					{Rule: "dest.cn-mo", Source: "S4", Jurisdiction: "us-ear", Outcome: "accepted", Message: "license EL-2026-1D884E3CAE0D covers 10 of remaining 50,000 h200 to CN", Ref: "EL-2026-1D884E3CAE0D", Grant: "license", Units: 10},
					{Rule: "cn.import-permit", Source: "S8", Jurisdiction: "cn-import", Outcome: "accepted", Message: "import permit IP-2026-C5CB380D3BAE covers 10 of remaining 200,000", Ref: "IP-2026-C5CB380D3BAE", Grant: "permit", Units: 10},
				}}}
		body, _ := json.Marshal(o)
		return store.Doc{ID: o.ID, PartyID: o.BuyerID, Status: string(status), CreatedAt: at, UpdatedAt: at, Body: body}
	}
	run := func(i int) store.Doc {
		at := scaleAt(i * 100)
		body := fmt.Appendf(nil, `{"id":%q,"at":%q,"inputs_hash":"%064x","problem":{"start":"2026-02-02","period_days":7,"lots":[%s]},"result":{"metrics":{"supply":100000,"demand":120000,"allocated":100000,"hhi":2500}}}`,
			scaleID(3, i), at.Format(time.RFC3339Nano), i, strings.Repeat(`{"id":"h200/TW-H200-2025-12-01","product":"h200","quantity":5000,"period":0},`, 39)+`{"id":"h200/TW-H200-2025-12-02","product":"h200","quantity":5000,"period":1}`)
		return store.Doc{ID: scaleID(3, i), PartyID: scaleID(1, 0), CreatedAt: at, UpdatedAt: at, Body: body}
	}
	const batch = 10_000
	for from := 0; from < scaleOrders; from += batch {
		if err := st.InTx(ctx, func(tx store.Tx) error {
			for i := from; i < from+batch; i++ {
				if err := tx.PutDoc(ctx, store.KindOrder, order(i), true); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return st.InTx(ctx, func(tx store.Tx) error {
		for i := range scaleRuns {
			if err := tx.PutDoc(ctx, store.KindAllocation, run(i), true); err != nil {
				return err
			}
		}
		return nil
	})
}

// scaleCase is one list read of the benchmark: a filter at a depth.
type scaleCase struct {
	name string
	kind store.Kind
	f    store.DocFilter
}

func scaleCases(parties []domain.ID) []scaleCase {
	deepOrder := &store.Position{CreatedAt: scaleAt(100_000), ID: scaleID(2, 100_000)} // 900,000 newer ones before it
	deepRun := &store.Position{CreatedAt: scaleAt(100 * 1_000), ID: scaleID(3, 1_000)} // 9,000 newer ones before it
	held := []string{string(domain.OrderHeld)}
	return []scaleCase{
		{"orders/first", store.KindOrder, store.DocFilter{Desc: true}},
		{"orders/deep", store.KindOrder, store.DocFilter{Desc: true, After: deepOrder}},
		{"orders/asc-deep", store.KindOrder, store.DocFilter{After: &store.Position{CreatedAt: scaleAt(900_000), ID: scaleID(2, 900_000)}}},
		{"orders/held/first", store.KindOrder, store.DocFilter{Desc: true, Status: held}},
		{"orders/held/deep", store.KindOrder, store.DocFilter{Desc: true, Status: held, After: deepOrder}},
		{"orders/party/first", store.KindOrder, store.DocFilter{Desc: true, PartyID: parties[7]}},
		{"orders/party/deep", store.KindOrder, store.DocFilter{Desc: true, PartyID: parties[7], After: deepOrder}},
		{"orders/since/first", store.KindOrder, store.DocFilter{Desc: true, CreatedFrom: scaleAt(500_000), CreatedBefore: scaleAt(600_000)}},
		{"runs/first", store.KindAllocation, store.DocFilter{Desc: true}},
		{"runs/deep", store.KindAllocation, store.DocFilter{Desc: true, After: deepRun}},
		{"runs/latest", store.KindAllocation, store.DocFilter{Desc: true, Limit: 1}},
	}
}

// readPage reads one page of c, decoding the bodies as the service does.
func readPage(ctx context.Context, st store.Store, c scaleCase) (int, error) {
	n := 0
	err := st.View(ctx, func(tx store.Tx) error {
		limit := scalePage
		if c.f.Limit > 0 {
			limit = c.f.Limit
		}
		if c.kind == store.KindOrder {
			items, _, err := store.PageOf[domain.Order](ctx, tx, c.kind, c.f, limit)
			n = len(items)
			return err
		}
		items, _, err := store.PageOf[map[string]any](ctx, tx, c.kind, c.f, limit)
		n = len(items)
		return err
	})
	return n, err
}

// BenchmarkListPage reads one page (50 items, decoded) of each list at the
// start and deep into it, over 1,000,000 orders and 10,000 runs, and
// reports the p50 and p99 of a page's latency. Run with CHIPGATE_SCALE=1
// (docs/BENCHMARKS.md).
func BenchmarkListPage(b *testing.B) {
	st, parties := scaleStore(b)
	ctx := context.Background()
	for _, c := range scaleCases(parties) {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				t := time.Now()
				n, err := readPage(ctx, st, c)
				lat = append(lat, time.Since(t))
				if err != nil || n == 0 {
					b.Fatalf("%s: %d items, %v", c.name, n, err)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// TestScaleWalk walks every page of the million orders, newest first, and
// of the held ones: every order once, in order, the newest first.
func TestScaleWalk(t *testing.T) {
	st, _ := scaleStore(t)
	ctx := context.Background()
	for _, status := range [][]string{nil, {string(domain.OrderHeld)}} {
		var after *store.Position
		seen, pages := 0, 0
		last := scaleOrders
		for {
			var docs []store.Doc
			err := st.View(ctx, func(tx store.Tx) error {
				var err error
				docs, err = tx.ListDocs(ctx, store.KindOrder, store.DocFilter{Desc: true, Status: status, After: after, Limit: domain.MaxPageLimit})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) == 0 {
				break
			}
			for _, d := range docs {
				i := int(binary.BigEndian.Uint64(d.ID[8:]) &^ (1 << 63))
				if i >= last {
					t.Fatalf("order %d listed after order %d", i, last)
				}
				last = i
				seen++
			}
			p := store.PositionOf(docs[len(docs)-1])
			after = &p
			pages++
		}
		want := scaleOrders
		if status != nil {
			want = scaleOrders / 20
		}
		if seen != want {
			t.Fatalf("status %v: %d orders in %d pages, want %d", status, seen, pages, want)
		}
		t.Logf("status %v: %d orders in %d pages", status, seen, pages)
	}
}
