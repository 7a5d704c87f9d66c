package service_test

import (
	"time"

	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// Names on the embedded restricted-party list: one listed exactly (a
// match), one close to a listing (a potential match).
const (
	listedName  = "Harbin Institute of Technology"
	similarName = "Beijing Sensetime Technology"
)

// applicationNamed is bytedance's clean application under another legal name.
func applicationNamed(name string) service.ApplicationRequest {
	in := applicationFor("bytedance")
	in.LegalName = name
	return in
}

// submit files bytedance's application under a legal name.
func (e *env) submit(t testing.TB, name string) domain.Application {
	t.Helper()
	a, err := e.svc.SubmitApplication(e.ctx, e.as("bytedance"), applicationNamed(name))
	must(t, err)
	return a
}

// decide takes the export authority's decision on an application.
func (e *env) decide(t testing.TB, id domain.ID, decision, reason string) domain.Application {
	t.Helper()
	a, _, err := e.svc.DecideApplication(e.ctx, e.as("us-commerce"), id, service.ApplicationDecision{Decision: decision, Reason: reason})
	must(t, err)
	return a
}

// application reads an application back as the export authority.
func (e *env) application(t testing.TB, id domain.ID) domain.Application {
	t.Helper()
	a, err := e.svc.Application(e.ctx, e.as("us-commerce"), id)
	must(t, err)
	return a
}

// license reads a license back as the export authority.
func (e *env) license(t testing.TB, id domain.ID) domain.License {
	t.Helper()
	l, err := e.svc.License(e.ctx, e.as("us-commerce"), id)
	must(t, err)
	return l
}

func TestSubmitApplication(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		who := e.as("bytedance")
		t.Run("OK", func(t *testing.T) {
			before := e.auditSize(t)
			a, err := e.svc.SubmitApplication(e.ctx, who, applicationFor("bytedance"))
			must(t, err)
			if a.Status != domain.AppSubmitted || a.Screening.Status != "clear" || a.BuyerID != who.PartyID || a.Buyer != "bytedance" || len(a.Flags) != 0 {
				t.Fatalf("application %+v", a)
			}
			if got := e.application(t, a.ID); got.Status != domain.AppSubmitted || got.LegalName != a.LegalName {
				t.Fatalf("read back %+v", got)
			}
			rec := e.recorded(t, before, who, "application.submitted")[0]
			if p := payload[domain.Application](t, rec); rec.SubjectID != a.ID.String() || p.Status != domain.AppSubmitted || p.Screening.Status != "clear" {
				t.Fatalf("record %s", rec.Payload)
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, []domain.Role{domain.RoleBuyer}, func(who domain.Actor) error {
				_, err := e.svc.SubmitApplication(e.ctx, who, applicationFor("bytedance"))
				return err
			})
		})
		t.Run("MatchBlocks", func(t *testing.T) {
			before := e.auditSize(t)
			mine := e.submit(t, listedName)
			// The buyer learns that screening blocked it, never what matched.
			if mine.Screening.Status != "match" || len(mine.Screening.Hits) != 0 {
				t.Fatalf("the buyer's copy of its blocked application shows screening %+v, want the status without hits", mine.Screening)
			}
			if got, err := e.svc.Application(e.ctx, who, mine.ID); err != nil || got.Screening.Hits != nil {
				t.Fatalf("the buyer reads its application's hits: %+v, %v", got.Screening, err)
			}
			a := e.application(t, mine.ID)
			if a.Status != domain.AppBlocked || a.Screening.Status != "match" || len(a.Screening.Hits) == 0 || a.Screening.Hits[0].Via != "legal_name" {
				t.Fatalf("application %s, screening %+v", a.Status, a.Screening)
			}
			e.recorded(t, before, who, "application.submitted")
		})
		t.Run("PotentialMatchWaits", func(t *testing.T) {
			a := e.submit(t, similarName)
			if a.Status != domain.AppSubmitted || a.Screening.Status != "potential_match" {
				t.Fatalf("application %s, screening %s", a.Status, a.Screening.Status)
			}
		})
		t.Run("OwnersMatchInherited", func(t *testing.T) {
			in := applicationFor("bytedance")
			in.Owners = []domain.Owner{{Name: "Huawei Technologies Co., Ltd.", Country: "CN", Share: 60}}
			// On 2026-02-02 BIS's affiliates rule is suspended (S22, until
			// 2026-11-09): an Entity List owner's listing is for review, not
			// inherited.
			a, err := e.svc.SubmitApplication(e.ctx, who, in)
			must(t, err)
			a = e.application(t, a.ID)
			if a.Status != domain.AppSubmitted || a.Screening.Hits[0].Inherited || a.Screening.Status != "potential_match" {
				t.Fatalf("during the suspension: application %s, screening %+v", a.Status, a.Screening)
			}
			e.clock.Add(time.Date(2026, 11, 9, 0, 0, 0, 0, time.UTC).Sub(e.clock.Now()))
			a, err = e.svc.SubmitApplication(e.ctx, who, in)
			must(t, err)
			a = e.application(t, a.ID)
			if a.Status != domain.AppBlocked || !a.Screening.Hits[0].Inherited || a.Screening.Hits[0].Via != "owners[0]" {
				t.Fatalf("application %s, screening %+v", a.Status, a.Screening)
			}
			in.Owners[0].Share = 20 // a minority owner's listing is for review
			a, err = e.svc.SubmitApplication(e.ctx, who, in)
			must(t, err)
			if a.Status != domain.AppSubmitted || a.Screening.Status != "potential_match" {
				t.Fatalf("minority owner: application %s, screening %s", a.Status, a.Screening.Status)
			}
		})
		t.Run("RedFlags", func(t *testing.T) {
			in := applicationFor("bytedance")
			in.Addresses = []string{"Room 1203, Apartment 7, Lane 88"}
			a, err := e.svc.SubmitApplication(e.ctx, who, in)
			must(t, err)
			if a.Status != domain.AppSubmitted || !slices.ContainsFunc(a.Flags, func(f domain.RedFlag) bool { return f.Code == "residential_address" }) {
				t.Fatalf("application %s, flags %+v", a.Status, a.Flags)
			}
		})
		for _, c := range []struct {
			name string
			edit func(*service.ApplicationRequest)
			path string
		}{
			{"ErrLegalNameRequired", func(r *service.ApplicationRequest) { r.LegalName = " " }, "legal_name"},
			{"ErrCountryInvalid", func(r *service.ApplicationRequest) { r.Country = "cn" }, "country"},
			{"ErrParentCountryInvalid", func(r *service.ApplicationRequest) { r.ParentCountry = "PRC" }, "parent_country"},
			{"ErrRegistrationDateInvalid", func(r *service.ApplicationRequest) { r.Registered = "2012" }, "registration_date"},
			{"ErrAddressesRequired", func(r *service.ApplicationRequest) { r.Addresses = []string{" "} }, "addresses"},
			{"ErrOwnerPartyOrName", func(r *service.ApplicationRequest) {
				r.Owners = []domain.Owner{{Party: "alibaba", Name: "Alibaba", Share: 10}}
			}, "owners[0]"},
			{"ErrOwnerShareInvalid", func(r *service.ApplicationRequest) { r.Owners = []domain.Owner{{Name: "A", Share: 0}} }, "owners[0].share"},
			{"ErrOwnersOver100", func(r *service.ApplicationRequest) {
				r.Owners = []domain.Owner{{Name: "A", Share: 60}, {Name: "B", Share: 50}}
			}, "owners"},
			{"ErrOwnerPartyNotFound", func(r *service.ApplicationRequest) { r.Owners = []domain.Owner{{Party: "no-such-party", Share: 10}} }, "owners[0].party"},
			{"ErrBusinessTypeInvalid", func(r *service.ApplicationRequest) { r.BusinessType = "conglomerate" }, "business_type"},
			{"ErrEndUsesRequired", func(r *service.ApplicationRequest) { r.EndUses = nil }, "end_uses"},
			{"ErrSitesRequired", func(r *service.ApplicationRequest) { r.Sites = nil }, "sites"},
			{"ErrSiteCountryInvalid", func(r *service.ApplicationRequest) { r.Sites = []domain.Site{{Address: "DC 1", Country: "XXX"}} }, "sites[0].country"},
			{"ErrSiteLatWithoutLon", func(r *service.ApplicationRequest) {
				lat := 30.0
				r.Sites = []domain.Site{{Address: "DC 1", Country: "CN", Lat: &lat}}
			}, "sites[0].lat"},
			{"ErrVolumesRequired", func(r *service.ApplicationRequest) { r.Volumes = nil }, "requested_volumes"},
			{"ErrVolumeInvalid", func(r *service.ApplicationRequest) { r.Volumes = map[string]int64{"h200": -5} }, "requested_volumes.h200"},
		} {
			t.Run(c.name, func(t *testing.T) {
				in := applicationFor("bytedance")
				c.edit(&in)
				before := e.auditSize(t)
				_, err := e.svc.SubmitApplication(e.ctx, who, in)
				wantInvalid(t, err, c.path)
				e.unchanged(t, before)
			})
		}
	})
}

func TestResubmitApplication(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		who := e.as("bytedance")
		asked := func(t *testing.T) domain.Application {
			t.Helper()
			return e.decide(t, e.apply(t, "bytedance").ID, "request_info", "show the power contracts")
		}
		t.Run("OK", func(t *testing.T) {
			a := asked(t)
			in := applicationFor("bytedance")
			in.Sites[0].PowerMW = 400
			before := e.auditSize(t)
			got, err := e.svc.ResubmitApplication(e.ctx, who, a.ID, in)
			must(t, err)
			if got.Status != domain.AppSubmitted || got.Sites[0].PowerMW != 400 || len(got.Notes) != 1 || !got.SubmittedAt.Equal(a.SubmittedAt) {
				t.Fatalf("resubmitted %+v", got)
			}
			if e.application(t, a.ID).Sites[0].PowerMW != 400 {
				t.Fatal("the new answers were not stored")
			}
			rec := e.recorded(t, before, who, "application.resubmitted")[0]
			if payload[domain.Application](t, rec).Status != domain.AppSubmitted {
				t.Fatalf("record %s", rec.Payload)
			}
		})
		t.Run("BlockedCorrected", func(t *testing.T) {
			a := e.submit(t, listedName)
			got, err := e.svc.ResubmitApplication(e.ctx, who, a.ID, applicationFor("bytedance"))
			if err != nil || got.Status != domain.AppSubmitted || got.Screening.Status != "clear" {
				t.Fatalf("resubmitted %s %s, %v", got.Status, got.Screening.Status, err)
			}
		})
		t.Run("ReviewsKept", func(t *testing.T) {
			// The authority called the potential match a false positive,
			// then asked; the same name resubmitted keeps that call.
			a := e.submit(t, similarName)
			_, err := e.svc.ReviewHits(e.ctx, e.as("us-commerce"), a.ID, []service.HitReview{clear(0)})
			must(t, err)
			e.decide(t, a.ID, "request_info", "which site?")
			_, err = e.svc.ResubmitApplication(e.ctx, who, a.ID, applicationNamed(similarName))
			must(t, err)
			got := e.application(t, a.ID)
			if got.Screening.Status != "clear" || got.Screening.Hits[0].Review != "false_positive" {
				t.Fatalf("resubmitted: screening %+v, %v", got.Screening, err)
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			a := asked(t)
			e.refused(t, []domain.Role{domain.RoleBuyer}, func(who domain.Actor) error {
				_, err := e.svc.ResubmitApplication(e.ctx, who, a.ID, applicationFor("bytedance"))
				return err
			})
		})
		t.Run("ErrOtherBuyerNotFound", func(t *testing.T) {
			a := asked(t)
			before := e.auditSize(t)
			_, err := e.svc.ResubmitApplication(e.ctx, e.as("alibaba"), a.ID, applicationFor("alibaba"))
			wantCode(t, err, domain.ENOTFOUND)
			e.unchanged(t, before)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := e.svc.ResubmitApplication(e.ctx, who, uuid.New(), applicationFor("bytedance"))
			wantCode(t, err, domain.ENOTFOUND)
		})
		t.Run("ErrConflict", func(t *testing.T) {
			submitted := e.apply(t, "bytedance")
			approved, _ := e.approve(t, e.apply(t, "bytedance").ID, 10)
			for _, a := range []domain.Application{submitted, approved} {
				before := e.auditSize(t)
				_, err := e.svc.ResubmitApplication(e.ctx, who, a.ID, applicationFor("bytedance"))
				wantCode(t, err, domain.ECONFLICT)
				e.unchanged(t, before)
			}
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			a := asked(t)
			in := applicationFor("bytedance")
			in.Sites[0].Country = "China"
			before := e.auditSize(t)
			_, err := e.svc.ResubmitApplication(e.ctx, who, a.ID, in)
			wantInvalid(t, err, "sites[0].country")
			e.unchanged(t, before)
			if got := e.application(t, a.ID); got.Status != domain.AppInfoRequested || got.Sites[0].Country != "CN" {
				t.Fatalf("a refused resubmission changed the application: %s %+v", got.Status, got.Sites)
			}
		})
	})
}

func TestApplications(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		mine, theirs := e.apply(t, "bytedance"), e.apply(t, "alibaba")
		e.decide(t, theirs.ID, "deny", "no")
		readers := []domain.Role{domain.RoleVendor, domain.RoleExportAuthority, domain.RoleImportAuthority, domain.RoleBuyer}
		t.Run("OK", func(t *testing.T) {
			for _, slug := range []string{"nvidia", "us-commerce", "cn-mofcom"} {
				as, err := e.svc.Applications(e.ctx, e.as(slug), nil)
				if err != nil || len(as) != 2 {
					t.Fatalf("%s lists %d applications, %v", slug, len(as), err)
				}
				as, err = e.svc.Applications(e.ctx, e.as(slug), []string{"denied"})
				if err != nil || len(as) != 1 || as[0].ID != theirs.ID {
					t.Fatalf("%s lists %d denied applications, %v", slug, len(as), err)
				}
			}
		})
		t.Run("BuyerOwnOnly", func(t *testing.T) {
			as, err := e.svc.Applications(e.ctx, e.as("bytedance"), nil)
			if err != nil || len(as) != 1 || as[0].ID != mine.ID {
				t.Fatalf("bytedance lists %+v, %v", as, err)
			}
			if as, err := e.svc.Applications(e.ctx, e.as("bytedance"), []string{"denied"}); err != nil || len(as) != 0 {
				t.Fatalf("bytedance lists another's denied application: %+v, %v", as, err)
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, readers, func(who domain.Actor) error {
				_, err := e.svc.Applications(e.ctx, who, nil)
				return err
			})
		})
	})
}

func TestApplication(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		a := e.apply(t, "bytedance")
		readers := []domain.Role{domain.RoleVendor, domain.RoleExportAuthority, domain.RoleImportAuthority, domain.RoleBuyer}
		t.Run("OK", func(t *testing.T) {
			for _, r := range readers {
				got, err := e.svc.Application(e.ctx, e.as(castOf[r]), a.ID)
				if err != nil || got.ID != a.ID {
					t.Fatalf("%s reads bytedance's application: %v", r, err)
				}
			}
		})
		t.Run("ErrOtherBuyerNotFound", func(t *testing.T) {
			_, err := e.svc.Application(e.ctx, e.as("alibaba"), a.ID)
			wantCode(t, err, domain.ENOTFOUND)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := e.svc.Application(e.ctx, e.as("us-commerce"), uuid.New())
			wantCode(t, err, domain.ENOTFOUND)
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, readers, func(who domain.Actor) error {
				_, err := e.svc.Application(e.ctx, who, a.ID)
				return err
			})
		})
	})
}

func TestDecideApplication(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		bis := e.as("us-commerce")
		decide := func(id domain.ID, in service.ApplicationDecision) (domain.Application, []domain.License, error) {
			return e.svc.DecideApplication(e.ctx, bis, id, in)
		}
		t.Run("Approve", func(t *testing.T) {
			a := e.apply(t, "bytedance")
			g := grant(1000)
			g.Destinations, g.Conditions = []string{"CN"}, []string{`end_use != "military"`}
			before := e.auditSize(t)
			got, ls, err := decide(a.ID, service.ApplicationDecision{Decision: "approve", Licenses: []service.LicenseGrant{g, grant(50)}})
			must(t, err)
			if got.Status != domain.AppApproved || len(ls) != 2 || !slices.Equal(got.LicenseIDs, []domain.ID{ls[0].ID, ls[1].ID}) || len(got.Notes) != 0 {
				t.Fatalf("approved %s with %d licenses, ids %v", got.Status, len(ls), got.LicenseIDs)
			}
			l := ls[0]
			if l.Status != domain.GrantActive || l.Quantity != 1000 || l.Remaining != 1000 || l.Vendor != "nvidia" || l.BuyerID != a.BuyerID ||
				l.ApplicationID != a.ID || !strings.HasPrefix(l.Number, "EL-2026-") {
				t.Fatalf("license %+v", l)
			}
			if e.license(t, l.ID).Remaining != 1000 || e.application(t, a.ID).Status != domain.AppApproved {
				t.Fatal("the approval was not stored")
			}
			recs := e.recorded(t, before, bis, "license.issued", "license.issued", "application.approved")
			if recs[0].SubjectID != l.ID.String() || recs[2].SubjectID != a.ID.String() || payload[domain.Application](t, recs[2]).Status != domain.AppApproved {
				t.Fatalf("records %+v", recs)
			}
		})
		t.Run("RequestInfo", func(t *testing.T) {
			a := e.apply(t, "bytedance")
			before := e.auditSize(t)
			got, ls, err := decide(a.ID, service.ApplicationDecision{Decision: "request_info", Reason: " which sites? "})
			must(t, err)
			if got.Status != domain.AppInfoRequested || ls != nil || len(got.Notes) != 1 || got.Notes[0].Text != "which sites?" || got.Notes[0].By != "us-commerce" {
				t.Fatalf("asked: %+v", got)
			}
			e.recorded(t, before, bis, "application.info_requested")
		})
		t.Run("Deny", func(t *testing.T) {
			for _, a := range []domain.Application{e.apply(t, "bytedance"), e.submit(t, listedName)} {
				before := e.auditSize(t)
				got, _, err := decide(a.ID, service.ApplicationDecision{Decision: "deny", Reason: "end user of concern"})
				if err != nil || got.Status != domain.AppDenied {
					t.Fatalf("deny a %s application: %s, %v", a.Status, got.Status, err)
				}
				e.recorded(t, before, bis, "application.denied")
			}
		})
		t.Run("SuspendReinstateRevoke", func(t *testing.T) {
			a, l := e.approve(t, e.apply(t, "bytedance").ID, 100)
			for _, step := range []struct {
				decision string
				app      domain.ApplicationStatus
				license  domain.GrantStatus
				actions  []string
			}{
				{"suspend", domain.AppSuspended, domain.GrantSuspended, []string{"license.suspended", "application.suspended"}},
				{"reinstate", domain.AppApproved, domain.GrantActive, []string{"license.active", "application.approved"}},
				{"suspend", domain.AppSuspended, domain.GrantSuspended, []string{"license.suspended", "application.suspended"}},
				{"revoke", domain.AppRevoked, domain.GrantRevoked, []string{"license.revoked", "application.revoked"}},
			} {
				before := e.auditSize(t)
				got, _, err := decide(a.ID, service.ApplicationDecision{Decision: step.decision, Reason: "compliance review"})
				must(t, err)
				if got.Status != step.app || e.application(t, a.ID).Status != step.app {
					t.Fatalf("%s: application %s, want %s", step.decision, got.Status, step.app)
				}
				if lic := e.license(t, l.ID); lic.Status != step.license || lic.Notes[len(lic.Notes)-1].Kind != step.decision {
					t.Fatalf("%s: license %s, want %s", step.decision, lic.Status, step.license)
				}
				recs := e.recorded(t, before, bis, step.actions...)
				if recs[0].SubjectID != l.ID.String() || recs[1].SubjectID != a.ID.String() {
					t.Fatalf("%s: records of %s and %s", step.decision, recs[0].SubjectID, recs[1].SubjectID)
				}
			}
		})
		t.Run("RevokedLicenseStaysRevoked", func(t *testing.T) {
			// A license revoked on its own stays revoked through the
			// customer's suspension and reinstatement.
			a, l := e.approve(t, e.apply(t, "bytedance").ID, 100)
			_, err := e.svc.ChangeLicense(e.ctx, bis, l.ID, "revoke", "misuse")
			must(t, err)
			before := e.auditSize(t)
			for _, d := range []string{"suspend", "reinstate"} {
				_, _, err := decide(a.ID, service.ApplicationDecision{Decision: d, Reason: "review"})
				must(t, err)
			}
			e.recorded(t, before, bis, "application.suspended", "application.approved")
			if got := e.license(t, l.ID); got.Status != domain.GrantRevoked {
				t.Fatalf("a revoked license became %s with its customer", got.Status)
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			a := e.apply(t, "bytedance")
			e.refused(t, []domain.Role{domain.RoleExportAuthority}, func(who domain.Actor) error {
				_, _, err := e.svc.DecideApplication(e.ctx, who, a.ID, service.ApplicationDecision{Decision: "deny", Reason: "x"})
				return err
			})
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, _, err := decide(uuid.New(), service.ApplicationDecision{Decision: "deny", Reason: "x"})
			wantCode(t, err, domain.ENOTFOUND)
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			a := e.apply(t, "bytedance")
			for _, c := range []struct {
				name string
				in   service.ApplicationDecision
				path string
			}{
				{"Decision", service.ApplicationDecision{Decision: "approve_later"}, "decision"},
				{"ReasonRequired", service.ApplicationDecision{Decision: "deny", Reason: "  "}, "reason"},
				{"ReasonTooLong", service.ApplicationDecision{Decision: "deny", Reason: strings.Repeat("r", 4001)}, "reason"},
				{"LicensesRequired", service.ApplicationDecision{Decision: "approve"}, "licenses"},
				{"LicensesOnlyWithApproval", service.ApplicationDecision{Decision: "deny", Reason: "x", Licenses: []service.LicenseGrant{grant(1)}}, "licenses"},
			} {
				t.Run(c.name, func(t *testing.T) {
					before := e.auditSize(t)
					_, _, err := decide(a.ID, c.in)
					wantInvalid(t, err, c.path)
					e.unchanged(t, before)
				})
			}
		})
		t.Run("ErrLicenseInvalid", func(t *testing.T) {
			a := e.apply(t, "bytedance")
			for _, c := range []struct {
				name string
				edit func(*service.LicenseGrant)
				path string
			}{
				{"VendorUnknown", func(g *service.LicenseGrant) { g.Vendor = "acme" }, "licenses[1].vendor"},
				{"VendorNotAVendor", func(g *service.LicenseGrant) { g.Vendor = "bytedance" }, "licenses[1].vendor"},
				{"ProductsRequired", func(g *service.LicenseGrant) { g.Products = nil }, "licenses[1].products"},
				{"ProductUnknown", func(g *service.LicenseGrant) { g.Products = []string{"h200", "h999"} }, "licenses[1].products[1]"},
				{"DestinationInvalid", func(g *service.LicenseGrant) { g.Destinations = []string{"China"} }, "licenses[1].destinations[0]"},
				{"QuantityZero", func(g *service.LicenseGrant) { g.Quantity = 0 }, "licenses[1].quantity"},
				{"QuantityHuge", func(g *service.LicenseGrant) { g.Quantity = 100_000_001 }, "licenses[1].quantity"},
				{"ValidFromInvalid", func(g *service.LicenseGrant) { g.ValidFrom = "soon" }, "licenses[1].valid_from"},
				{"ValidUntilInvalid", func(g *service.LicenseGrant) { g.ValidUntil = "" }, "licenses[1].valid_until"},
				{"ValidUntilNotAfter", func(g *service.LicenseGrant) { g.ValidUntil = g.ValidFrom }, "licenses[1].valid_until"},
				{"ConditionInvalid", func(g *service.LicenseGrant) { g.Conditions = []string{"end_use ==="} }, "licenses[1].conditions[0]"},
			} {
				t.Run(c.name, func(t *testing.T) {
					// The first license is good: nothing of the approval
					// may be stored when the second is not.
					g := grant(10)
					c.edit(&g)
					before := e.auditSize(t)
					_, _, err := decide(a.ID, service.ApplicationDecision{Decision: "approve", Licenses: []service.LicenseGrant{grant(10), g}})
					wantInvalid(t, err, c.path)
					e.unchanged(t, before)
				})
			}
			if got := e.application(t, a.ID); got.Status != domain.AppSubmitted || len(got.LicenseIDs) != 0 {
				t.Fatalf("refused approvals left the application %s with licenses %v", got.Status, got.LicenseIDs)
			}
			ls, err := e.svc.Licenses(e.ctx, e.as("bytedance"))
			must(t, err)
			if slices.ContainsFunc(ls, func(l domain.License) bool { return l.ApplicationID == a.ID }) {
				t.Fatal("a refused approval left a license")
			}
		})
		t.Run("ErrConflict", func(t *testing.T) {
			approved, _ := e.approve(t, e.apply(t, "bytedance").ID, 10)
			denied := e.decide(t, e.apply(t, "bytedance").ID, "deny", "no")
			asked := e.decide(t, e.apply(t, "bytedance").ID, "request_info", "why?")
			revoked := e.decide(t, approved.ID, "suspend", "audit")
			revoked = e.decide(t, revoked.ID, "revoke", "audit")
			approved, _ = e.approve(t, e.apply(t, "bytedance").ID, 10)
			blocked := e.submit(t, listedName)
			for _, c := range []struct {
				name     string
				app      domain.Application
				decision string
			}{
				{"ApproveBlocked", blocked, "approve"},
				{"ApproveDenied", denied, "approve"},
				{"ApproveAsked", asked, "approve"},
				{"AskApproved", approved, "request_info"},
				{"AskAgain", asked, "request_info"},
				{"ReinstateApproved", approved, "reinstate"},
				{"SuspendDenied", denied, "suspend"},
				{"DenyApproved", approved, "deny"},
				{"ReinstateRevoked", revoked, "reinstate"},
				{"RevokeRevoked", revoked, "revoke"},
			} {
				t.Run(c.name, func(t *testing.T) {
					in := service.ApplicationDecision{Decision: c.decision, Reason: "because"}
					if c.decision == "approve" {
						in = service.ApplicationDecision{Decision: "approve", Licenses: []service.LicenseGrant{grant(10)}}
					}
					before := e.auditSize(t)
					_, _, err := decide(c.app.ID, in)
					wantCode(t, err, domain.ECONFLICT)
					e.unchanged(t, before)
					if got := e.application(t, c.app.ID); got.Status != c.app.Status {
						t.Fatalf("a refused decision moved the application from %s to %s", c.app.Status, got.Status)
					}
				})
			}
		})
	})
}

// clear and confirm are an officer's decisions on hit i, with a reason
// from the default policy and a note.
func clear(i int) service.HitReview {
	return service.HitReview{Hit: i, Decision: "false_positive", Reason: "different_location", Note: "registry extract on file"}
}

func confirm(i int) service.HitReview {
	return service.HitReview{Hit: i, Decision: "confirmed", Reason: "same_name_and_address", Note: "same address in the registry"}
}

func TestReviewHits(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		bis := e.as("us-commerce")
		t.Run("OK", func(t *testing.T) {
			a := e.submit(t, similarName)
			before := e.auditSize(t)
			got, err := e.svc.ReviewHits(e.ctx, bis, a.ID, []service.HitReview{clear(0)})
			must(t, err)
			h := got.Screening.Hits[0]
			if got.Status != domain.AppSubmitted || got.Screening.Status != "clear" || h.Review != "false_positive" || h.ReviewedBy != "us-commerce demo user" || h.ReviewedAt == nil {
				t.Fatalf("reviewed: %s, screening %+v", got.Status, got.Screening)
			}
			d := h.Decisions[0]
			if len(h.Decisions) != 1 || d.Decision != "false_positive" || d.Reason != "different_location" || d.Rule != "screening.thresholds" || d.Source != "S5" ||
				d.Note != "registry extract on file" || d.Officer != "us-commerce demo user" || d.UserID != bis.UserID || d.Result != "false_positive" {
				t.Fatalf("decision %+v", h.Decisions)
			}
			if e.application(t, a.ID).Screening.Status != "clear" {
				t.Fatal("the review was not stored")
			}
			rec := e.recorded(t, before, bis, "application.hits_reviewed")[0]
			if rh := payload[domain.Application](t, rec).Screening.Hits[0]; rh.Review != "false_positive" || rh.Decisions[0].Note != d.Note {
				t.Fatalf("record %s", rec.Payload)
			}
		})
		t.Run("FourEyes", func(t *testing.T) {
			// A hit scoring at least four_eyes_score (an exact listed name)
			// is cleared only by two different officers.
			a := e.application(t, e.submit(t, listedName).ID)
			if a.Screening.Hits[0].Score < 0.95 {
				t.Fatalf("setup: %s scores %v", listedName, a.Screening.Hits[0].Score)
			}
			got, err := e.svc.ReviewHits(e.ctx, bis, a.ID, []service.HitReview{clear(0)})
			must(t, err)
			if h := got.Screening.Hits[0]; h.Review != "pending_second" || got.Status != domain.AppBlocked || got.Screening.Status != "match" {
				t.Fatalf("one officer's clear: hit %s, application %s, screening %s", h.Review, got.Status, got.Screening.Status)
			}
			if q, _ := e.svc.ReviewQueue(e.ctx, bis); !slices.ContainsFunc(q, func(x domain.Application) bool { return x.ID == a.ID }) {
				t.Fatal("a hit waiting for its second officer left the review queue")
			}
			before := e.auditSize(t)
			_, err = e.svc.ReviewHits(e.ctx, bis, a.ID, []service.HitReview{clear(0)})
			wantCode(t, err, domain.ECONFLICT)
			e.unchanged(t, before)
			second := e.officer(t, "us-commerce", "second officer")
			got, err = e.svc.ReviewHits(e.ctx, second, a.ID, []service.HitReview{clear(0)})
			must(t, err)
			h := got.Screening.Hits[0]
			if h.Review != "false_positive" || h.ReviewedBy != "second officer" || got.Status != domain.AppSubmitted || got.Screening.Status != "clear" ||
				len(h.Decisions) != 2 || h.Decisions[0].Result != "pending_second" || h.Decisions[1].Officer != "second officer" {
				t.Fatalf("second officer's clear: %s %s %+v", got.Status, got.Screening.Status, h)
			}
			wantCode(t, func() error {
				_, err := e.svc.ReviewHits(e.ctx, bis, a.ID, []service.HitReview{confirm(0)})
				return err
			}(), domain.ECONFLICT)
		})
		t.Run("FourEyesSecondConfirms", func(t *testing.T) {
			a := e.submit(t, listedName)
			_, err := e.svc.ReviewHits(e.ctx, bis, a.ID, []service.HitReview{clear(0)})
			must(t, err)
			got, err := e.svc.ReviewHits(e.ctx, e.officer(t, "us-commerce", "third officer"), a.ID, []service.HitReview{confirm(0)})
			if err != nil || got.Screening.Hits[0].Review != "confirmed" || got.Status != domain.AppBlocked {
				t.Fatalf("second officer confirms: %+v, %v", got.Screening, err)
			}
		})
		t.Run("Escalated", func(t *testing.T) {
			a := e.submit(t, similarName)
			got, err := e.svc.ReviewHits(e.ctx, bis, a.ID, []service.HitReview{{Hit: 0, Decision: "escalated", Reason: "insufficient_information", Note: "ask for the registry extract"}})
			must(t, err)
			if got.Screening.Hits[0].Review != "escalated" || got.Screening.Status != "potential_match" {
				t.Fatalf("escalated: %+v", got.Screening)
			}
			if got, err = e.svc.ReviewHits(e.ctx, bis, a.ID, []service.HitReview{clear(0)}); err != nil || got.Screening.Status != "clear" {
				t.Fatalf("an escalated hit cleared: %+v, %v", got.Screening, err)
			}
		})
		t.Run("EntryDetails", func(t *testing.T) {
			// The officer reads the listed entry, not a bare id.
			h := e.application(t, e.submit(t, listedName).ID).Screening.Hits[0]
			if h.Entry == nil || h.Entry.Name == "" || len(h.Entry.Sources) == 0 || h.Entry.Sources[0].List == "" || h.EntryHash == "" ||
				(len(h.Entry.Addresses) == 0 && len(h.Entry.Programs) == 0 && h.Entry.Remarks == "") {
				t.Fatalf("hit without the entry's details: %+v", h.Entry)
			}
			fr := false
			for _, s := range h.Entry.Sources {
				fr = fr || s.FederalRegister != ""
			}
			if !fr {
				t.Errorf("no Federal Register citation for an Entity List entry: %+v", h.Entry.Sources)
			}
		})
		t.Run("ConfirmedBlocks", func(t *testing.T) {
			a := e.submit(t, similarName)
			got, err := e.svc.ReviewHits(e.ctx, bis, a.ID, []service.HitReview{confirm(0)})
			if err != nil || got.Status != domain.AppBlocked || got.Screening.Status != "match" {
				t.Fatalf("confirmed: %s %s, %v", got.Status, got.Screening.Status, err)
			}
		})
		a := e.submit(t, similarName)
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, []domain.Role{domain.RoleExportAuthority}, func(who domain.Actor) error {
				_, err := e.svc.ReviewHits(e.ctx, who, a.ID, []service.HitReview{confirm(0)})
				return err
			})
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := e.svc.ReviewHits(e.ctx, bis, uuid.New(), []service.HitReview{confirm(0)})
			wantCode(t, err, domain.ENOTFOUND)
		})
		for _, c := range []struct {
			name    string
			reviews []service.HitReview
			path    string
		}{
			{"ErrReviewsRequired", nil, "reviews"},
			{"ErrHitInvalid", []service.HitReview{confirm(0), confirm(1)}, "reviews[1].hit"},
			{"ErrHitNegative", []service.HitReview{confirm(-1)}, "reviews[0].hit"},
			{"ErrDecisionInvalid", []service.HitReview{{Hit: 0, Decision: "probably", Reason: "legal_review", Note: "n"}}, "reviews[0].decision"},
			{"ErrReasonRequired", []service.HitReview{{Hit: 0, Decision: "confirmed", Note: "n"}}, "reviews[0].reason"},
			{"ErrReasonUnknown", []service.HitReview{{Hit: 0, Decision: "confirmed", Reason: "looks_fine", Note: "n"}}, "reviews[0].reason"},
			{"ErrReasonForAnotherDecision", []service.HitReview{{Hit: 0, Decision: "confirmed", Reason: "different_location", Note: "n"}}, "reviews[0].reason"},
			{"ErrNoteRequired", []service.HitReview{{Hit: 0, Decision: "confirmed", Reason: "same_name_and_address", Note: "  "}}, "reviews[0].note"},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := e.auditSize(t)
				_, err := e.svc.ReviewHits(e.ctx, bis, a.ID, c.reviews)
				wantInvalid(t, err, c.path)
				e.unchanged(t, before)
				if got := e.application(t, a.ID); got.Screening.Hits[0].Review != "" {
					t.Fatalf("a refused review was stored: %+v", got.Screening.Hits[0])
				}
			})
		}
	})
}

func TestReviewQueue(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.apply(t, "alibaba") // clear: nothing to review
		potential, blocked := e.submit(t, similarName), e.submit(t, listedName)
		denied := e.submit(t, listedName)
		e.decide(t, denied.ID, "deny", "listed")
		t.Run("OK", func(t *testing.T) {
			q, err := e.svc.ReviewQueue(e.ctx, e.as("us-commerce"))
			must(t, err)
			var ids []domain.ID
			for _, a := range q {
				ids = append(ids, a.ID)
			}
			if !slices.Equal(ids, []domain.ID{potential.ID, blocked.ID}) {
				t.Fatalf("queue %v, want %v", ids, []domain.ID{potential.ID, blocked.ID})
			}
			_, err = e.svc.ReviewHits(e.ctx, e.as("us-commerce"), potential.ID, []service.HitReview{clear(0)})
			must(t, err)
			if q, err := e.svc.ReviewQueue(e.ctx, e.as("us-commerce")); err != nil || len(q) != 1 || q[0].ID != blocked.ID {
				t.Fatalf("queue after a review: %d, %v", len(q), err)
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, []domain.Role{domain.RoleExportAuthority}, func(who domain.Actor) error {
				_, err := e.svc.ReviewQueue(e.ctx, who)
				return err
			})
		})
	})
}
