package service_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// licenseReaders may list and read licenses.
var licenseReaders = []domain.Role{domain.RoleVendor, domain.RoleExportAuthority, domain.RoleImportAuthority, domain.RoleBuyer}

// licensed approves a fresh application of a cast buyer with one license
// of vendor's.
func (e *env) licensed(t testing.TB, buyer, vendor string) domain.License {
	t.Helper()
	g := grant(100)
	g.Vendor = vendor
	_, ls, err := e.svc.DecideApplication(e.ctx, e.as("us-commerce"), e.apply(t, buyer).ID, service.ApplicationDecision{Decision: "approve", Licenses: []service.LicenseGrant{g}})
	must(t, err)
	return ls[0]
}

func TestLicenses(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		amd := e.newActor(t, service.PartyRequest{Slug: "amd", Name: "Advanced Micro Devices, Inc.", Role: domain.RoleVendor, Country: "US"})
		mine, theirs, other := e.licensed(t, "bytedance", "nvidia"), e.licensed(t, "alibaba", "nvidia"), e.licensed(t, "alibaba", "amd")
		ids := func(t *testing.T, who domain.Actor) []domain.ID {
			t.Helper()
			ls, err := e.svc.Licenses(e.ctx, who)
			must(t, err)
			var out []domain.ID
			for _, l := range ls {
				out = append(out, l.ID)
			}
			return out
		}
		t.Run("OK", func(t *testing.T) {
			for _, slug := range []string{"us-commerce", "cn-mofcom"} {
				if got := ids(t, e.as(slug)); len(got) != 3 {
					t.Fatalf("%s lists %v", slug, got)
				}
			}
		})
		t.Run("VendorOwnExports", func(t *testing.T) {
			if got := ids(t, e.as("nvidia")); len(got) != 2 || got[0] != mine.ID || got[1] != theirs.ID {
				t.Fatalf("nvidia lists %v", got)
			}
			if got := ids(t, amd); len(got) != 1 || got[0] != other.ID {
				t.Fatalf("amd lists %v", got)
			}
		})
		t.Run("BuyerOwnOnly", func(t *testing.T) {
			if got := ids(t, e.as("bytedance")); len(got) != 1 || got[0] != mine.ID {
				t.Fatalf("bytedance lists %v", got)
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, licenseReaders, func(who domain.Actor) error {
				_, err := e.svc.Licenses(e.ctx, who)
				return err
			})
		})
	})
}

func TestLicense(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		amd := e.newActor(t, service.PartyRequest{Slug: "amd", Name: "Advanced Micro Devices, Inc.", Role: domain.RoleVendor, Country: "US"})
		l := e.licensed(t, "bytedance", "nvidia")
		t.Run("OK", func(t *testing.T) {
			for _, r := range licenseReaders {
				if got, err := e.svc.License(e.ctx, e.as(castOf[r]), l.ID); err != nil || got.ID != l.ID {
					t.Fatalf("%s reads the license: %v", r, err)
				}
			}
		})
		t.Run("ErrOtherBuyerNotFound", func(t *testing.T) {
			_, err := e.svc.License(e.ctx, e.as("alibaba"), l.ID)
			wantCode(t, err, domain.ENOTFOUND)
		})
		t.Run("ErrOtherVendorNotFound", func(t *testing.T) {
			_, err := e.svc.License(e.ctx, amd, l.ID)
			wantCode(t, err, domain.ENOTFOUND)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := e.svc.License(e.ctx, e.as("us-commerce"), uuid.New())
			wantCode(t, err, domain.ENOTFOUND)
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, licenseReaders, func(who domain.Actor) error {
				_, err := e.svc.License(e.ctx, who, l.ID)
				return err
			})
		})
	})
}

func TestChangeLicense(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		bis := e.as("us-commerce")
		t.Run("OK", func(t *testing.T) {
			l := e.licensed(t, "bytedance", "nvidia")
			for _, step := range []struct {
				action string
				want   domain.GrantStatus
			}{{"suspend", domain.GrantSuspended}, {"reinstate", domain.GrantActive}, {"suspend", domain.GrantSuspended}, {"revoke", domain.GrantRevoked}} {
				before := e.auditSize(t)
				got, err := e.svc.ChangeLicense(e.ctx, bis, l.ID, step.action, " end-use check ")
				must(t, err)
				n := got.Notes[len(got.Notes)-1]
				if got.Status != step.want || n.Kind != step.action || n.Text != "end-use check" || n.By != "us-commerce" {
					t.Fatalf("%s: %s, note %+v", step.action, got.Status, n)
				}
				if e.license(t, l.ID).Status != step.want {
					t.Fatalf("%s was not stored", step.action)
				}
				rec := e.recorded(t, before, bis, "license."+string(step.want))[0]
				if rec.SubjectID != l.ID.String() || payload[domain.License](t, rec).Status != step.want {
					t.Fatalf("record %s", rec.Payload)
				}
			}
		})
		l := e.licensed(t, "bytedance", "nvidia")
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, []domain.Role{domain.RoleExportAuthority}, func(who domain.Actor) error {
				_, err := e.svc.ChangeLicense(e.ctx, who, l.ID, "suspend", "x")
				return err
			})
		})
		for _, c := range []struct {
			name, action, reason, path string
		}{
			{"ErrActionInvalid", "cancel", "x", "action"},
			{"ErrReasonRequired", "suspend", " ", "reason"},
			{"ErrReasonTooLong", "suspend", strings.Repeat("r", 4001), "reason"},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := e.svc.ChangeLicense(e.ctx, bis, l.ID, c.action, c.reason)
				wantInvalid(t, err, c.path)
			})
		}
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := e.svc.ChangeLicense(e.ctx, bis, uuid.New(), "suspend", "x")
			wantCode(t, err, domain.ENOTFOUND)
		})
		t.Run("ErrConflict", func(t *testing.T) {
			suspended, revoked := e.licensed(t, "bytedance", "nvidia"), e.licensed(t, "bytedance", "nvidia")
			_, err := e.svc.ChangeLicense(e.ctx, bis, suspended.ID, "suspend", "x")
			must(t, err)
			_, err = e.svc.ChangeLicense(e.ctx, bis, revoked.ID, "revoke", "x")
			must(t, err)
			for _, c := range []struct {
				id     domain.ID
				action string
			}{{l.ID, "reinstate"}, {suspended.ID, "suspend"}, {revoked.ID, "reinstate"}, {revoked.ID, "suspend"}, {revoked.ID, "revoke"}} {
				before := e.auditSize(t)
				_, err := e.svc.ChangeLicense(e.ctx, bis, c.id, c.action, "x")
				wantCode(t, err, domain.ECONFLICT)
				e.unchanged(t, before)
			}
		})
	})
}
