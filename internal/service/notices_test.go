package service_test

import (
	"slices"
	"testing"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// TestNoticeAcceptsTheOrdersItWasWaitingFor: an order of a 3A090.b chip
// (not a data-center part) to China is held while BIS has confirmed no NAC
// notification for the buyer (rule exception.nac); the US export authority
// records the confirmation, the held order is decided again and accepted
// under "NAC <number>" with China's permit drawn, and later orders go
// straight through. Only an authority of the exception's jurisdiction
// records or withdraws it; bad requests write nothing; a withdrawn notice
// serves no new order and takes nothing back.
func TestNoticeAcceptsTheOrdersItWasWaitingFor(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		p := newProgram(t, b)
		// TPP 3,200 and performance density 4: 3A090.b, eligible for NAC.
		if _, err := p.svc.CreateProduct(p.ctx, p.actor("nvidia"), service.ProductRequest{Slug: "chip-b", Name: "Chip B", Family: "test",
			LaunchDate: "2025-06-01", Spec: domain.Spec{Throughput: []domain.Throughput{{Bits: 8, DenseTOPS: 400}}, DieAreaMM2: 800, MemoryGB: 141, BandwidthGBps: 2000}}); err != nil {
			t.Fatal(err)
		}
		orderOf := func(slug string, units int64) domain.Order {
			t.Helper()
			o, err := p.svc.PlaceOrder(p.ctx, p.actor(slug), service.OrderRequest{Product: "chip-b", Quantity: units, Period: "2026-03-01", EndUse: "commercial_ai"})
			if err != nil {
				t.Fatalf("order of %s: %v", slug, err)
			}
			return o
		}
		p.approve("us-cloud-a", "US Cloud A, Inc.", "US", 0)
		if o := orderOf("us-cloud-a", 1000); o.Status != domain.OrderAccepted {
			t.Fatalf("US order %s: %+v", o.Status, o.Decision.Blocking())
		}
		p.approve("bytedance", "Beijing ByteDance Technology Co., Ltd.", "CN", 5000)
		ip, err := p.svc.DecidePermit(p.ctx, p.actor("cn-mofcom"), service.PermitRequest{Buyer: "bytedance", Decision: "grant", Products: []string{"chip-b"},
			Quantity: 1000, ValidFrom: "2026-01-28", ValidUntil: "2027-01-28"})
		if err != nil {
			t.Fatal(err)
		}
		waiting := orderOf("bytedance", 100)
		if waiting.Status != domain.OrderHeld || !heldBy(waiting, "exception.nac") || len(waiting.Decision.Blocking()) != 1 {
			t.Fatalf("order before a notice: %s %+v", waiting.Status, waiting.Decision.Blocking())
		}
		apps, err := p.svc.Applications(p.ctx, domain.SystemActor, nil)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(apps, func(a domain.Application) bool { return a.Buyer == "bytedance" })
		app := apps[i].ID

		nac := service.NoticeRequest{Exception: "NAC", Confirmation: "C67-0042", Products: []string{"chip-b"}}
		before := auditSize(t, p)
		for _, bad := range []struct {
			who  string
			in   service.NoticeRequest
			code string
			say  string
		}{
			{"bytedance", nac, domain.EFORBIDDEN, ""},
			{"cn-mofcom", nac, domain.EINVALID, "no license exception"}, // NAC is the US's, not China's
			{"us-commerce", service.NoticeRequest{Exception: "ACA", Confirmation: "C67-0042", Products: []string{"chip-b"}}, domain.EINVALID, "needs no notification"},
			{"us-commerce", service.NoticeRequest{Exception: "NAC", Confirmation: "", Products: []string{"chip-b"}}, domain.EINVALID, "confirmation"},
			{"us-commerce", service.NoticeRequest{Exception: "NAC", Confirmation: "C67 0042; drop", Products: []string{"chip-b"}}, domain.EINVALID, "confirmation"},
			{"us-commerce", service.NoticeRequest{Exception: "NAC", Confirmation: "C67-0042"}, domain.EINVALID, "products"},
			{"us-commerce", service.NoticeRequest{Exception: "NAC", Confirmation: "C67-0042", Products: []string{"nope"}}, domain.EINVALID, "nope"},
			{"us-commerce", service.NoticeRequest{Exception: "NAC", Confirmation: "C67-0042", Products: []string{"h200"}}, domain.EINVALID, "does not cover h200 (3A090.a, designed for data centers)"},
		} {
			_, _, err := p.svc.ConfirmNotice(p.ctx, p.actor(bad.who), app, bad.in)
			wantError(t, err, bad.code, bad.say)
		}
		if after := auditSize(t, p); after != before {
			t.Fatalf("refused requests wrote %d records", after-before)
		}

		a, accepted, err := p.svc.ConfirmNotice(p.ctx, p.actor("us-commerce"), app, nac)
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Notices) != 1 || a.Notices[0].Rule != "exception.nac" || a.Notices[0].Jurisdiction != "us-ear" || a.Notices[0].By != "us-commerce" {
			t.Fatalf("notices %+v", a.Notices)
		}
		if len(accepted) != 1 || accepted[0].ID != waiting.ID {
			t.Fatalf("accepted %d orders, want the waiting one", len(accepted))
		}
		got := p.get(waiting.ID)
		refs := map[domain.GrantKind]string{}
		for _, g := range got.Decision.Grants() {
			refs[g.Kind] = g.Ref
		}
		if got.Status != domain.OrderAccepted || refs[domain.GrantException] != "NAC C67-0042" || refs[domain.GrantPermit] != ip.Number || got.PermitID == nil || *got.PermitID != ip.ID {
			t.Fatalf("after the notice: %s grants %+v permit %v", got.Status, got.Decision.Grants(), got.PermitID)
		}
		_, _, err = p.svc.ConfirmNotice(p.ctx, p.actor("us-commerce"), app, nac)
		wantError(t, err, domain.ECONFLICT, "already carries")

		if o := orderOf("bytedance", 50); o.Status != domain.OrderAccepted {
			t.Fatalf("an order after the notice is %s: %+v", o.Status, o.Decision.Blocking())
		}
		if o, err := p.svc.Application(p.ctx, p.actor("bytedance"), app); err != nil || len(o.Notices) != 1 {
			t.Fatalf("the buyer reads its notices: %v %+v", err, o.Notices)
		}

		_, err = p.svc.WithdrawNotice(p.ctx, p.actor("cn-mofcom"), app, "C67-0042", "not ours")
		wantError(t, err, domain.EFORBIDDEN, "us-ear")
		_, err = p.svc.WithdrawNotice(p.ctx, p.actor("us-commerce"), app, "C67-0042", " ")
		wantError(t, err, domain.EINVALID, "reason")
		_, err = p.svc.WithdrawNotice(p.ctx, p.actor("us-commerce"), app, "C67-9999", "typo")
		wantError(t, err, domain.ENOTFOUND, "C67-9999")
		if _, err := p.svc.WithdrawNotice(p.ctx, p.actor("us-commerce"), app, "C67-0042", "end user changed"); err != nil {
			t.Fatal(err)
		}
		_, err = p.svc.WithdrawNotice(p.ctx, p.actor("us-commerce"), app, "C67-0042", "again")
		wantError(t, err, domain.ECONFLICT, "withdrawn")
		if o := orderOf("bytedance", 10); o.Status != domain.OrderHeld || !heldBy(o, "exception.nac") {
			t.Fatalf("an order after the withdrawal is %s: %+v", o.Status, o.Decision.Blocking())
		}
		if got := p.get(waiting.ID); got.Status != domain.OrderAccepted {
			t.Fatalf("the withdrawal took back an accepted order: %s", got.Status)
		}
	})
}

// auditSize is the number of audit records the program's store committed.
func auditSize(t *testing.T, p *program) int64 {
	t.Helper()
	var n int64
	must(t, p.st.View(p.ctx, func(tx store.Tx) (err error) { n, err = tx.AuditSize(p.ctx); return err }))
	return n
}
