package service_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store"
)

// cloneDocs commits n copies of the document of kind with id, each with a
// new id, created one second apart before at (the newest first): a
// program's history without placing each record through the service.
func (e *env) cloneDocs(t *testing.T, kind store.Kind, id domain.ID, n int, before time.Time) {
	t.Helper()
	must(t, e.st.InTx(e.ctx, func(tx store.Tx) error {
		d, err := tx.GetDoc(e.ctx, kind, id, false)
		if err != nil {
			return err
		}
		var body map[string]any
		if err := json.Unmarshal(d.Body, &body); err != nil {
			return err
		}
		for i := range n {
			c := d
			c.ID = uuid.Must(uuid.NewV7())
			c.CreatedAt = before.Add(-time.Duration(i+1) * time.Second)
			c.UpdatedAt = c.CreatedAt
			body["id"] = c.ID
			if _, ok := body["placed_at"]; ok {
				body["placed_at"] = c.CreatedAt
			}
			var err error
			if c.Body, err = json.Marshal(body); err != nil {
				return err
			}
			if err := tx.PutDoc(e.ctx, kind, c, true); err != nil {
				return err
			}
		}
		return nil
	}))
}

// TestOrdersPageAtScale: after 10,000 orders (the old cap of GET /orders),
// the export authority's held-for-review queue begins with the newest held
// order, and walking every page of the orders lists each order once, the
// newest among them.
func TestOrdersPageAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 orders; skipped with -short")
	}
	run(t, func(t *testing.T, e *env) {
		e.customer(t, "us-cloud-a", 0)
		old := e.order(t, "us-cloud-a", 1)
		e.cloneDocs(t, store.KindOrder, old.ID, 10_050, old.PlacedAt)
		e.clock.Set(e.clock.Now().Add(time.Hour))
		// ByteDance, licensed but without a Chinese import permit: held.
		a := e.apply(t, "bytedance")
		e.approve(t, a.ID, 1000)
		held, err := e.svc.PlaceOrder(e.ctx, e.as("bytedance"), service.OrderRequest{Product: "h200", Quantity: 10, Period: "2026-03-02", EndUse: "commercial_ai"})
		must(t, err)
		if held.Status != domain.OrderHeld {
			t.Fatalf("bytedance's order is %s", held.Status)
		}
		authority := e.as("us-commerce")
		queue, err := e.svc.OrdersPage(e.ctx, authority, domain.ListQuery{Status: []string{string(domain.OrderHeld)}})
		must(t, err)
		if len(queue.Items) != 1 || queue.Items[0].ID != held.ID || queue.NextCursor != "" {
			t.Fatalf("held queue: %d orders, first %v, next %q; want only %v", len(queue.Items), queue.Items[0].ID, queue.NextCursor, held.ID)
		}
		all, err := e.svc.Orders(e.ctx, authority, []string{string(domain.OrderHeld)})
		if err != nil || len(all) != 1 || all[0].ID != held.ID {
			t.Fatalf("the whole held list: %d orders, %v", len(all), err)
		}
		first, err := e.svc.OrdersPage(e.ctx, authority, domain.ListQuery{Limit: 1})
		must(t, err)
		if first.Items[0].ID != held.ID {
			t.Fatalf("the first order newest first is %v, want the held one %v", first.Items[0].ID, held.ID)
		}
		seen := map[domain.ID]bool{}
		q := domain.ListQuery{Limit: domain.MaxPageLimit, Asc: true}
		var last time.Time
		for pages := 0; ; pages++ {
			p, err := e.svc.OrdersPage(e.ctx, authority, q)
			must(t, err)
			for _, o := range p.Items {
				if seen[o.ID] {
					t.Fatalf("order %v listed twice", o.ID)
				}
				if o.PlacedAt.Before(last) {
					t.Fatalf("order placed %v listed after one placed %v", o.PlacedAt, last)
				}
				seen[o.ID], last = true, o.PlacedAt
			}
			if p.NextCursor == "" {
				break
			}
			q.Cursor = p.NextCursor
		}
		if len(seen) != 10_052 || !seen[held.ID] || !seen[old.ID] {
			t.Fatalf("walked %d orders, want 10,052 with the first and the newest", len(seen))
		}
	})
}

// TestOutlookIsTheLatestRun: with more than 1,000 runs (the old default
// cap of a list), the outlook and the first page of runs are the newest
// run's, not the 1,000th's.
func TestOutlookIsTheLatestRun(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.orders(t)
		first, err := e.svc.RunAllocation(e.ctx, e.as("nvidia"), smallRun)
		must(t, err)
		e.cloneDocs(t, store.KindAllocation, first.ID, 1_001, first.At)
		e.clock.Set(e.clock.Now().Add(time.Hour))
		latest, err := e.svc.RunAllocation(e.ctx, e.as("nvidia"), smallRun)
		must(t, err)
		v, err := e.svc.Outlook(e.ctx, e.as("nvidia"))
		if err != nil || v.Run != latest.ID {
			t.Fatalf("outlook of run %v, %v; want the latest %v", v.Run, err, latest.ID)
		}
		runs, err := e.svc.AllocationRunsPage(e.ctx, e.as("us-commerce"), domain.ListQuery{Limit: 2})
		if err != nil || len(runs.Items) != 2 || runs.Items[0].ID != latest.ID || runs.Items[1].ID != first.ID || runs.NextCursor == "" {
			t.Fatalf("first page of runs: %+v, %v", runs, err)
		}
	})
}

// TestListQuery: every list checks its query the same way (limit bounds,
// cursors it issued, its states, parties), filters by party and creation,
// and keeps a buyer to its own records.
func TestListQuery(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.customer(t, "us-cloud-a", 0)
		e.customer(t, "bytedance", 1000)
		a := e.order(t, "us-cloud-a", 100)
		e.clock.Set(e.clock.Now().Add(time.Hour))
		b := e.order(t, "bytedance", 1)
		authority := e.as("us-commerce")
		for _, c := range []struct {
			q     domain.ListQuery
			field string
		}{
			{domain.ListQuery{Limit: -1}, "limit"},
			{domain.ListQuery{Limit: domain.MaxPageLimit + 1}, "limit"},
			{domain.ListQuery{Cursor: "c1.bm90IGEgY3Vyc29y"}, "cursor"},
			{domain.ListQuery{Cursor: "12345"}, "cursor"},
			{domain.ListQuery{Status: []string{"accepted", "shipped"}}, "status"},
			{domain.ListQuery{Party: "nobody"}, "party"},
			{domain.ListQuery{Since: start, Before: start}, "before"},
		} {
			_, err := e.svc.OrdersPage(e.ctx, authority, c.q)
			wantInvalid(t, err, c.field)
		}
		_, err := e.svc.OrdersPage(e.ctx, e.as("bytedance"), domain.ListQuery{Party: "us-cloud-a"})
		wantCode(t, err, domain.EFORBIDDEN)
		for _, c := range []struct {
			who  string
			q    domain.ListQuery
			want []domain.ID
		}{
			{"us-commerce", domain.ListQuery{}, []domain.ID{b.ID, a.ID}},
			{"us-commerce", domain.ListQuery{Asc: true}, []domain.ID{a.ID, b.ID}},
			{"us-commerce", domain.ListQuery{Party: "bytedance"}, []domain.ID{b.ID}},
			{"us-commerce", domain.ListQuery{Party: a.BuyerID.String()}, []domain.ID{a.ID}},
			{"us-commerce", domain.ListQuery{Since: start.Add(time.Minute)}, []domain.ID{b.ID}},
			{"us-commerce", domain.ListQuery{Before: start.Add(time.Minute)}, []domain.ID{a.ID}},
			{"bytedance", domain.ListQuery{}, []domain.ID{b.ID}},
			{"bytedance", domain.ListQuery{Party: "bytedance"}, []domain.ID{b.ID}},
		} {
			p, err := e.svc.OrdersPage(e.ctx, e.as(c.who), c.q)
			must(t, err)
			var got []domain.ID
			for _, o := range p.Items {
				got = append(got, o.ID)
			}
			if len(got) != len(c.want) || (len(got) > 0 && (got[0] != c.want[0] || got[len(got)-1] != c.want[len(c.want)-1])) {
				t.Errorf("%s's orders %+v: %v, want %v", c.who, c.q, got, c.want)
			}
		}
		// One item a page: the cursor leads to the next, the last has none.
		p1, err := e.svc.OrdersPage(e.ctx, authority, domain.ListQuery{Limit: 1})
		must(t, err)
		p2, err := e.svc.OrdersPage(e.ctx, authority, domain.ListQuery{Limit: 1, Cursor: p1.NextCursor})
		must(t, err)
		if p1.Items[0].ID != b.ID || p2.Items[0].ID != a.ID || p1.NextCursor == "" || p2.NextCursor != "" {
			t.Fatalf("pages of one: %v then %v (next %q)", p1.Items[0].ID, p2.Items[0].ID, p2.NextCursor)
		}
		// Empty pages have an empty list, not a nil one.
		empty, err := e.svc.OrdersPage(e.ctx, authority, domain.ListQuery{Status: []string{string(domain.OrderCancelled)}})
		if err != nil || empty.Items == nil || len(empty.Items) != 0 {
			t.Fatalf("an empty page: %#v, %v", empty.Items, err)
		}
	})
}
