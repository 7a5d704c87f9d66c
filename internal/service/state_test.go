package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/demo"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/ledger"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// newTamperProgram is newProgram with a raw handle on its database.
func newTamperProgram(t *testing.T, b storetest.Backend) (*program, *storetest.Raw) {
	t.Helper()
	st, dsn := b.Open(t)
	p := &program{t: t, ctx: context.Background(), st: st, now: chipgatetest.Start()}
	p.svc = chipgatetest.NewService(t, st, func() time.Time { return p.now })
	if _, err := demo.Load(p.ctx, p.svc); err != nil {
		t.Fatal(err)
	}
	return p, storetest.OpenRaw(t, dsn)
}

// setJSON rewrites one member of a document's JSON in the database, as an
// insider with write access would, and returns the document as it was.
func setJSON(t *testing.T, raw *storetest.Raw, table string, id domain.ID, member string, value any) []byte {
	t.Helper()
	old := raw.Bytes(t, "SELECT doc FROM "+table+" WHERE id = ?", id.String())
	var m map[string]any
	if err := json.Unmarshal(old, &m); err != nil {
		t.Fatal(err)
	}
	m[member] = value
	doc, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if raw.Exec(t, "UPDATE "+table+" SET doc = ? WHERE id = ?", doc, id.String()) != 1 {
		t.Fatalf("no %s %s", table, id)
	}
	return old
}

// TestTamperedStateIsNeverDecidedOn is issue 16's first defect: an insider
// raised a 90,000-unit license's and its permit's remaining units and the
// volume counters by hand, and a buyer's order of 200,000 units was
// accepted past the license and the China cap. Now each of those rows, and
// an application's status changed by hand, makes the order fail with
// EStateTampered, with nothing recorded and nothing drawn, an alert for the
// export authority and the metric counted; once the row is restored, the
// same program decides again.
func TestTamperedStateIsNeverDecidedOn(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		p, raw := newTamperProgram(t, b)
		p.approve("us-cloud-a", "US Cloud A, Inc.", "US", 0)
		p.order("us-cloud-a", 100_000)
		p.approve("bytedance", "Beijing ByteDance Technology Co., Ltd.", "CN", 90_000)
		ip := p.permit("bytedance", 90_000)
		var lic domain.License
		must(t, p.st.View(p.ctx, func(tx store.Tx) error {
			ls, err := store.List[domain.License](p.ctx, tx, store.KindLicense, store.DocFilter{Status: []string{"active"}})
			for _, l := range ls {
				if l.Buyer == "bytedance" {
					lic = l
				}
			}
			return err
		}))
		if lic.ID == (domain.ID{}) || lic.Remaining != 90_000 {
			t.Fatalf("bytedance's license: %+v", lic)
		}
		place := func(units int64) (domain.Order, error) {
			return p.svc.PlaceOrder(p.ctx, p.actor("bytedance"), service.OrderRequest{Product: "h200", Quantity: units, Period: "2026-03-01", EndUse: "commercial_ai"})
		}
		metric := p.svc.Collectors()[0].(*prometheus.CounterVec)
		authority := p.actor("us-commerce")

		// The whole defect at once: grants and counters raised.
		oldLic := setJSON(t, raw, "licenses", lic.ID, "remaining", 1_000_000)
		oldPermit := setJSON(t, raw, "permits", ip.ID, "remaining", 1_000_000)
		raw.Exec(t, "UPDATE order_volumes SET units = 10000000 WHERE product = 'h200' AND region = 'US'")
		before := chipgatetest.AuditSize(t, p.st)
		o, err := place(200_000)
		wantCode(t, err, domain.EStateTampered)
		if o.Status == domain.OrderAccepted {
			t.Fatalf("an order was accepted on tampered state: %+v", o)
		}
		// Nothing decided: the one record written since is the alert.
		if got := chipgatetest.AuditSize(t, p.st); got != before+1 {
			t.Fatalf("%d records written, want only the alert's", got-before)
		}
		alerts, err := p.svc.Alerts(p.ctx, authority, nil)
		must(t, err)
		if len(alerts) != 1 || alerts[0].Kind != "state_tampered" || !bytes.Contains([]byte(alerts[0].Evidence[0]), []byte("verify --state")) {
			t.Fatalf("alerts %+v", alerts)
		}
		var m dto.Metric
		must(t, metric.WithLabelValues("licenses").Write(&m))
		if n := m.GetCounter().GetValue(); n != 1 {
			t.Fatalf("chipgate_state_tampered_total{table=licenses} = %v", n)
		}
		// The same row again: refused again, one alert still.
		_, err = place(10)
		wantCode(t, err, domain.EStateTampered)
		if alerts, _ := p.svc.Alerts(p.ctx, authority, nil); len(alerts) != 1 {
			t.Fatalf("%d alerts for one tampered row", len(alerts))
		}

		// Each row alone, then restored.
		raw.Exec(t, "UPDATE licenses SET doc = ? WHERE id = ?", oldLic, lic.ID.String())
		_, err = place(10)
		wantCode(t, err, domain.EStateTampered) // the permit and the counter still are
		raw.Exec(t, "UPDATE permits SET doc = ? WHERE id = ?", oldPermit, ip.ID.String())
		_, err = place(10)
		wantCode(t, err, domain.EStateTampered) // the counter still is
		raw.Exec(t, "UPDATE order_volumes SET units = 100000 WHERE product = 'h200' AND region = 'US'")
		if o := p.order("bytedance", 10); o.Status != domain.OrderAccepted {
			t.Fatalf("order on restored state: %s %+v", o.Status, o.Decision.Blocking())
		}
		// The 200,000 units: past the license and the cap, never accepted.
		if o := p.order("bytedance", 200_000); o.Status == domain.OrderAccepted {
			t.Fatalf("200,000 units accepted on a 90,000-unit license")
		}

		for _, tc := range []struct {
			name, table, set string
		}{
			{"license ref column", "licenses", "ref = 'x'"},
			{"permit status column", "permits", "status = 'suspended'"},
			{"counter lowered", "order_volumes", "units = units - 5"},
			{"counter unstamped", "order_volumes", "ledger_idx = NULL"},
			{"application approved again", "applications", "status = 'denied'"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				where := "party_id = (SELECT id FROM parties WHERE slug = 'bytedance')"
				if tc.table == "order_volumes" {
					where = "product = 'h200' AND region = 'CN'"
				}
				q := "UPDATE " + tc.table + " SET " + tc.set + " WHERE " + where
				snap := snapshot(t, raw, tc.table)
				raw.Exec(t, q)
				_, err = place(1)
				wantCode(t, err, domain.EStateTampered)
				restore(t, raw, tc.table, snap)
				if o := p.order("bytedance", 1); o.Status != domain.OrderAccepted {
					t.Fatalf("order on restored state: %s %+v", o.Status, o.Decision.Blocking())
				}
			})
		}
	})
}

// snapshot copies a table's rows (as a temporary table) to restore them.
func snapshot(t *testing.T, raw *storetest.Raw, table string) string {
	t.Helper()
	name := "snap_" + table
	raw.Exec(t, "DROP TABLE IF EXISTS "+name)
	raw.Exec(t, "CREATE TABLE "+name+" AS SELECT * FROM "+table)
	return name
}

func restore(t *testing.T, raw *storetest.Raw, table, snap string) {
	t.Helper()
	raw.Exec(t, "DELETE FROM "+table)
	raw.Exec(t, "INSERT INTO "+table+" SELECT * FROM "+snap)
	raw.Exec(t, "DROP TABLE "+snap)
}

// TestRecordsCarryPostStates: an accepted order's record carries the
// post-state of the order (as the payload itself), the license and the
// permit it drew on, and the volume counter; each row names that record,
// and the payload without _state is the order as before.
func TestRecordsCarryPostStates(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		p, raw := newTamperProgram(t, b)
		p.approve("us-cloud-a", "US Cloud A, Inc.", "US", 0)
		p.order("us-cloud-a", 1000)
		p.approve("bytedance", "Beijing ByteDance Technology Co., Ltd.", "CN", 5000)
		p.permit("bytedance", 5000)
		o := p.order("bytedance", 20)
		var rec domain.AuditRecord
		must(t, p.st.View(p.ctx, func(tx store.Tx) error {
			n, err := tx.AuditSize(p.ctx)
			if err != nil {
				return err
			}
			recs, err := tx.AuditRecords(p.ctx, n-1, n)
			rec = recs[0]
			return err
		}))
		rows, subject, err := ledger.SplitState(rec.Payload)
		must(t, err)
		var back domain.Order
		must(t, json.Unmarshal(subject, &back))
		if back.ID != o.ID || back.Status != domain.OrderAccepted {
			t.Fatalf("subject %s", subject)
		}
		tables := map[string]ledger.StateRow{}
		for _, r := range rows {
			tables[r.Table] = r
		}
		for _, want := range []string{"orders", "licenses", "permits", "order_volumes"} {
			if _, ok := tables[want]; !ok {
				t.Fatalf("the order's record carries %v, not %s", rows, want)
			}
		}
		if !bytes.Equal(tables["orders"].Doc, subject) || !bytes.Contains(rec.Payload, []byte(`"`+o.ID.String()+`","`)) {
			t.Fatalf("the order's post-state is not the payload: %s", rec.Payload[:200])
		}
		if c := tables["order_volumes"]; c.Key != "h200/CN" || c.Fields[0] != "20" {
			t.Fatalf("counter post-state %+v", c)
		}
		var l domain.License
		must(t, json.Unmarshal(tables["licenses"].Doc, &l))
		if l.Remaining != 4980 {
			t.Fatalf("license post-state remaining %d", l.Remaining)
		}
		leaf, err := ledger.LeafHash(&rec)
		must(t, err)
		for table, r := range tables {
			col := "id"
			if table == "order_volumes" {
				col = "product || '/' || region"
			}
			if h := raw.Bytes(t, "SELECT ledger_hash FROM "+table+" WHERE "+col+" = ?", r.Key); !bytes.Equal(h, leaf[:]) {
				t.Errorf("%s %s names %x, not its record %x", table, r.Key, h, leaf)
			}
		}
	})
}

// TestAdoptState: rows written before migration 0013 name no record, and a
// command refuses them; AdoptState records them as they are, once, and
// stamps them, after which the program decides again and verify --state
// finds every row bound.
func TestAdoptState(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		p, raw := newTamperProgram(t, b)
		p.approve("us-cloud-a", "US Cloud A, Inc.", "US", 0)
		p.order("us-cloud-a", 1000)
		p.approve("bytedance", "Beijing ByteDance Technology Co., Ltd.", "CN", 5000)
		p.permit("bytedance", 5000)
		// As a database migrated from before 0013 holds them.
		legacy := raw.Exec(t, "UPDATE licenses SET ledger_idx = NULL, ledger_hash = NULL")
		legacy += raw.Exec(t, "UPDATE order_volumes SET ledger_idx = NULL, ledger_hash = NULL WHERE units > 0")
		_, err := p.svc.PlaceOrder(p.ctx, p.actor("bytedance"), service.OrderRequest{Product: "h200", Quantity: 1, Period: "2026-03-01", EndUse: "commercial_ai"})
		wantCode(t, err, domain.EStateTampered)
		n, err := p.svc.AdoptState(p.ctx)
		must(t, err)
		if int64(n) != legacy {
			t.Fatalf("adopted %d rows, want %d", n, legacy)
		}
		if n, err := p.svc.AdoptState(p.ctx); err != nil || n != 0 {
			t.Fatalf("adopted again: %d %v", n, err)
		}
		if o := p.order("bytedance", 1); o.Status != domain.OrderAccepted {
			t.Fatalf("order after adoption: %s", o.Status)
		}
		if _, rep, err := p.svc.VerifyState(p.ctx, service.VerifyOptions{}); err != nil || len(rep.Diffs) != 0 {
			t.Fatalf("verify --state after adoption: %v %v", err, rep.Diffs)
		}
	})
}
