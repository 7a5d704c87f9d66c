package service_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

func TestDecidePermit(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		mofcom := e.as("cn-mofcom")
		t.Run("Grant", func(t *testing.T) {
			in := permitRequest("bytedance", 5000)
			in.AllowedUses, in.ExcludedSectors, in.CloudOnly = []string{" commercial_ai ", ""}, []string{"soe"}, true
			in.Conditions = []string{`end_use != "military"`}
			before := e.auditSize(t)
			p, err := e.svc.DecidePermit(e.ctx, mofcom, in)
			must(t, err)
			if p.Status != domain.GrantActive || p.Quantity != 5000 || p.Remaining != 5000 || p.Buyer != "bytedance" || p.AuthorityID != mofcom.PartyID ||
				!slices.Equal(p.AllowedUses, []string{"commercial_ai"}) || !p.CloudOnly || !strings.HasPrefix(p.Number, "IP-2026-") {
				t.Fatalf("permit %+v", p)
			}
			ps, err := e.svc.Permits(e.ctx, e.as("bytedance"))
			if err != nil || len(ps) == 0 || ps[len(ps)-1].ID != p.ID {
				t.Fatalf("read back: %v", err)
			}
			rec := e.recorded(t, before, mofcom, "permit.active")[0]
			if rec.SubjectID != p.ID.String() || payload[domain.ImportPermit](t, rec).Remaining != 5000 {
				t.Fatalf("record %s", rec.Payload)
			}
		})
		t.Run("Deny", func(t *testing.T) {
			before := e.auditSize(t)
			p, err := e.svc.DecidePermit(e.ctx, mofcom, service.PermitRequest{Buyer: "tencent", Decision: "deny", Reason: " no hearing filing "})
			must(t, err)
			if p.Status != domain.GrantDenied || p.Quantity != 0 || p.Reason != "no hearing filing" {
				t.Fatalf("denial %+v", p)
			}
			e.recorded(t, before, mofcom, "permit.denied")
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, []domain.Role{domain.RoleImportAuthority}, func(who domain.Actor) error {
				_, err := e.svc.DecidePermit(e.ctx, who, permitRequest("bytedance", 1))
				return err
			})
		})
		for _, c := range []struct {
			name string
			edit func(*service.PermitRequest)
			path string
		}{
			{"ErrDecisionInvalid", func(r *service.PermitRequest) { r.Decision = "maybe" }, "decision"},
			{"ErrReasonRequired", func(r *service.PermitRequest) { r.Decision = "deny" }, "reason"},
			{"ErrReasonTooLong", func(r *service.PermitRequest) { r.Reason = strings.Repeat("r", 4001) }, "reason"},
			{"ErrBuyerUnknown", func(r *service.PermitRequest) { r.Buyer = "no-such-buyer" }, "buyer"},
			{"ErrBuyerNotABuyer", func(r *service.PermitRequest) { r.Buyer = "nvidia" }, "buyer"},
			{"ErrProductsRequired", func(r *service.PermitRequest) { r.Products = nil }, "products"},
			{"ErrProductUnknown", func(r *service.PermitRequest) { r.Products = []string{"h200", "h999"} }, "products[1]"},
			{"ErrQuantityInvalid", func(r *service.PermitRequest) { r.Quantity = 0 }, "quantity"},
			{"ErrValidFromInvalid", func(r *service.PermitRequest) { r.ValidFrom = "2026-02-30" }, "valid_from"},
			{"ErrValidUntilInvalid", func(r *service.PermitRequest) { r.ValidUntil = "" }, "valid_until"},
			{"ErrValidUntilNotAfter", func(r *service.PermitRequest) { r.ValidUntil = "2025-12-31" }, "valid_until"},
			{"ErrConditionInvalid", func(r *service.PermitRequest) { r.Conditions = []string{"quantity +"} }, "conditions[0]"},
		} {
			t.Run(c.name, func(t *testing.T) {
				in := permitRequest("bytedance", 10)
				c.edit(&in)
				before := e.auditSize(t)
				_, err := e.svc.DecidePermit(e.ctx, mofcom, in)
				wantInvalid(t, err, c.path)
				e.unchanged(t, before)
			})
		}
	})
}

func TestRevokePermit(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		mofcom := e.as("cn-mofcom")
		grantNew := func(t *testing.T) domain.ImportPermit {
			t.Helper()
			p, err := e.svc.DecidePermit(e.ctx, mofcom, permitRequest("alibaba", 100))
			must(t, err)
			return p
		}
		t.Run("OK", func(t *testing.T) {
			p := grantNew(t)
			before := e.auditSize(t)
			got, err := e.svc.RevokePermit(e.ctx, mofcom, p.ID, " SOE use found ")
			must(t, err)
			if got.Status != domain.GrantRevoked || got.Reason != "SOE use found" {
				t.Fatalf("revoked %+v", got)
			}
			ps, err := e.svc.Permits(e.ctx, e.as("alibaba"))
			must(t, err)
			if i := slices.IndexFunc(ps, func(x domain.ImportPermit) bool { return x.ID == p.ID }); i < 0 || ps[i].Status != domain.GrantRevoked {
				t.Fatal("the revocation was not stored")
			}
			rec := e.recorded(t, before, mofcom, "permit.revoked")[0]
			if rec.SubjectID != p.ID.String() {
				t.Fatalf("record %+v", rec)
			}
		})
		p := grantNew(t)
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, []domain.Role{domain.RoleImportAuthority}, func(who domain.Actor) error {
				_, err := e.svc.RevokePermit(e.ctx, who, p.ID, "x")
				return err
			})
		})
		t.Run("ErrReasonRequired", func(t *testing.T) {
			_, err := e.svc.RevokePermit(e.ctx, mofcom, p.ID, "\t")
			wantInvalid(t, err, "reason")
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := e.svc.RevokePermit(e.ctx, mofcom, uuid.New(), "x")
			wantCode(t, err, domain.ENOTFOUND)
		})
		t.Run("ErrConflict", func(t *testing.T) {
			denied, err := e.svc.DecidePermit(e.ctx, mofcom, service.PermitRequest{Buyer: "alibaba", Decision: "deny", Reason: "no"})
			must(t, err)
			revoked := grantNew(t)
			_, err = e.svc.RevokePermit(e.ctx, mofcom, revoked.ID, "x")
			must(t, err)
			for _, id := range []domain.ID{denied.ID, revoked.ID} {
				before := e.auditSize(t)
				_, err := e.svc.RevokePermit(e.ctx, mofcom, id, "again")
				wantCode(t, err, domain.ECONFLICT)
				e.unchanged(t, before)
			}
		})
	})
}

func TestPermits(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		for _, b := range []string{"bytedance", "alibaba"} {
			_, err := e.svc.DecidePermit(e.ctx, e.as("cn-mofcom"), permitRequest(b, 10))
			must(t, err)
		}
		readers := []domain.Role{domain.RoleVendor, domain.RoleExportAuthority, domain.RoleImportAuthority, domain.RoleBuyer}
		t.Run("OK", func(t *testing.T) {
			for _, slug := range []string{"nvidia", "us-commerce", "cn-mofcom"} {
				if ps, err := e.svc.Permits(e.ctx, e.as(slug)); err != nil || len(ps) != 2 {
					t.Fatalf("%s lists %d permits, %v", slug, len(ps), err)
				}
			}
		})
		t.Run("BuyerOwnOnly", func(t *testing.T) {
			ps, err := e.svc.Permits(e.ctx, e.as("alibaba"))
			if err != nil || len(ps) != 1 || ps[0].Buyer != "alibaba" {
				t.Fatalf("alibaba lists %+v, %v", ps, err)
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, readers, func(who domain.Actor) error {
				_, err := e.svc.Permits(e.ctx, who)
				return err
			})
		})
	})
}
