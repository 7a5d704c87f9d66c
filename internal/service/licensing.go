package service

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
)

// LicenseGrant is one license the export authority issues with an approval.
type LicenseGrant struct {
	Vendor       string   `json:"vendor"` // the exporter's slug
	Products     []string `json:"products"`
	Destinations []string `json:"destinations,omitempty"`
	Quantity     int64    `json:"quantity"`
	ValidFrom    string   `json:"valid_from"`  // YYYY-MM-DD, inclusive
	ValidUntil   string   `json:"valid_until"` // YYYY-MM-DD, exclusive
	// Conditions are CEL expressions over the order facts that every order
	// under the license must satisfy, e.g. `end_use != "military"`.
	Conditions []string `json:"conditions,omitempty"`
}

// ApplicationDecision is the export authority's decision on an application.
type ApplicationDecision struct {
	// Decision is approve, deny, request_info, suspend, reinstate or revoke.
	Decision string         `json:"decision"`
	Reason   string         `json:"reason,omitempty"`
	Licenses []LicenseGrant `json:"licenses,omitempty"`
}

var decisionTarget = map[string]domain.ApplicationStatus{
	"approve": domain.AppApproved, "deny": domain.AppDenied, "request_info": domain.AppInfoRequested,
	"suspend": domain.AppSuspended, "reinstate": domain.AppApproved, "revoke": domain.AppRevoked,
}

// DecideApplication moves an application through its lifecycle. Approving
// makes the buyer an approved customer and issues the licenses; suspending,
// reinstating and revoking carry over to the licenses issued with it
// (suspending its active ones, reinstating its suspended ones, revoking
// both). Callers: the export authority, an approver (an officer may request
// information); EFORBIDDEN for anyone else. Returns
// ENOTFOUND for an unknown application, ECONFLICT naming the current state
// for a move the lifecycle does not allow (a blocked application cannot be
// approved), EINVALID naming the field for a bad decision, a missing
// reason (every decision but approve needs one) or a bad license
// (licenses[i].…); nothing is issued when one license is bad.
func (s *Service) DecideApplication(ctx context.Context, who domain.Actor, id domain.ID, in ApplicationDecision) (domain.Application, []domain.License, error) {
	if err := authorize(who, ActApplicationDecide); err != nil {
		return domain.Application{}, nil, err
	}
	to, ok := decisionTarget[in.Decision]
	if !ok {
		return domain.Application{}, nil, domain.Invalid("decision", "must be approve, deny, request_info, suspend, reinstate or revoke")
	}
	// Asking for information is routine work; every other decision is an
	// approver's.
	need := decisiveWork
	if in.Decision == "request_info" {
		need = routineWork
	}
	if err := requireDuty(who, need, "application."+in.Decision); err != nil {
		return domain.Application{}, nil, err
	}
	in.Reason = strings.TrimSpace(in.Reason)
	if in.Decision != "approve" && in.Reason == "" {
		return domain.Application{}, nil, domain.Invalid("reason", "required to %s", strings.ReplaceAll(in.Decision, "_", " "))
	}
	if len(in.Reason) > 4000 {
		return domain.Application{}, nil, domain.Invalid("reason", "at most 4000 bytes")
	}
	if in.Decision == "approve" && len(in.Licenses) == 0 {
		return domain.Application{}, nil, domain.Invalid("licenses", "approving issues at least one license")
	}
	if in.Decision != "approve" && len(in.Licenses) > 0 {
		return domain.Application{}, nil, domain.Invalid("licenses", "only an approval issues licenses")
	}
	pol := s.policy.Load()
	if pol == nil {
		return domain.Application{}, nil, domain.Errorf(domain.EUNAVAILABLE, "no policy loaded")
	}
	// The licenses answer the requirements of the regime the authority
	// speaks for, and no other's.
	jur, err := s.authorityJurisdiction(ctx, pol, who, domain.RoleExportAuthority)
	if err != nil {
		return domain.Application{}, nil, err
	}
	now := s.Now()
	var a domain.Application
	var issued []domain.License
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		a, err = store.Get[domain.Application](ctx, tx, store.KindApplication, id, true)
		if err != nil {
			return err
		}
		// Reinstating says so in its own words: the lifecycle would only say
		// that an approved application cannot become approved.
		if in.Decision == "reinstate" && a.Status != domain.AppSuspended {
			return domain.Errorf(domain.ECONFLICT, "application is %s; only a suspended one can be reinstated", a.Status)
		}
		if err := domain.Transition("application", a.Status, to, domain.ApplicationMoves); err != nil {
			return err
		}
		if in.Decision == "approve" {
			for i, g := range in.Licenses {
				l, err := s.newLicense(ctx, tx, a, g, fmt.Sprintf("licenses[%d]", i), now)
				if err != nil {
					return err
				}
				l.Jurisdiction = jur
				if err := put(ctx, tx, store.KindLicense, true, licenseDoc(l), l); err != nil {
					return err
				}
				if err := s.record(ctx, tx, who, now, "license.issued", "license", l.ID.String(), l); err != nil {
					return err
				}
				a.LicenseIDs = append(a.LicenseIDs, l.ID)
				issued = append(issued, l)
			}
		}
		// The licenses follow the customer's approval.
		if cascade, ok := map[string][2]domain.GrantStatus{
			"suspend": {domain.GrantActive, domain.GrantSuspended}, "reinstate": {domain.GrantSuspended, domain.GrantActive},
			"revoke": {domain.GrantActive, domain.GrantRevoked},
		}[in.Decision]; ok {
			for _, lid := range a.LicenseIDs {
				l, err := store.Get[domain.License](ctx, tx, store.KindLicense, lid, true)
				if err != nil {
					return err
				}
				if l.Status != cascade[0] && !(in.Decision == "revoke" && l.Status == domain.GrantSuspended) {
					continue
				}
				l.Status, l.UpdatedAt = cascade[1], now
				l.Notes = append(l.Notes, domain.Note{At: now, By: who.PartySlug, Kind: in.Decision, Text: "with the customer's approval: " + in.Reason})
				if err := put(ctx, tx, store.KindLicense, false, licenseDoc(l), l); err != nil {
					return err
				}
				if err := s.record(ctx, tx, who, now, "license."+string(l.Status), "license", l.ID.String(), l); err != nil {
					return err
				}
			}
		}
		a.Status, a.UpdatedAt = to, now
		if in.Reason != "" {
			a.Notes = append(a.Notes, domain.Note{At: now, By: who.PartySlug, Kind: in.Decision, Text: in.Reason})
		}
		if err := put(ctx, tx, store.KindApplication, false, appDoc(a), a); err != nil {
			return err
		}
		return s.record(ctx, tx, who, now, "application."+string(to), "application", a.ID.String(), a)
	})
	return a, issued, err
}

func parseDate(field, v string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, domain.Invalid(field, "must be a date YYYY-MM-DD")
	}
	return t, nil
}

// newLicense validates one grant and builds the license.
func (s *Service) newLicense(ctx context.Context, tx store.Tx, a domain.Application, g LicenseGrant, field string, now time.Time) (domain.License, error) {
	vendor, err := requireParty(ctx, tx, g.Vendor, domain.RoleVendor)
	if err != nil {
		return domain.License{}, domain.Invalid(field+".vendor", "%s", domain.ErrorMessage(err))
	}
	if len(g.Products) == 0 {
		return domain.License{}, domain.Invalid(field+".products", "at least one product")
	}
	for i, p := range g.Products {
		if _, err := productByRef(ctx, tx, p); err != nil {
			return domain.License{}, domain.Invalid(fmt.Sprintf("%s.products[%d]", field, i), "no product %q", p)
		}
	}
	for i, c := range g.Destinations {
		if !domain.ValidCountry(c) {
			return domain.License{}, domain.Invalid(fmt.Sprintf("%s.destinations[%d]", field, i), "must be an ISO 3166-1 alpha-2 code")
		}
	}
	if g.Quantity <= 0 || g.Quantity > 100_000_000 {
		return domain.License{}, domain.Invalid(field+".quantity", "must be between 1 and 100,000,000")
	}
	from, err := parseDate(field+".valid_from", g.ValidFrom)
	if err != nil {
		return domain.License{}, err
	}
	until, err := parseDate(field+".valid_until", g.ValidUntil)
	if err != nil {
		return domain.License{}, err
	}
	if !until.After(from) {
		return domain.License{}, domain.Invalid(field+".valid_until", "must be after valid_from")
	}
	pol := s.policy.Load()
	for i, c := range g.Conditions {
		if _, err := pol.CompileCondition(c); err != nil {
			return domain.License{}, domain.Invalid(fmt.Sprintf("%s.conditions[%d]", field, i), "%v", err)
		}
	}
	id := newID()
	return domain.License{
		ID: id, Number: fmt.Sprintf("EL-%d-%s", now.Year(), strings.ToUpper(id.String()[24:])),
		ApplicationID: a.ID, VendorID: vendor.ID, Vendor: vendor.Slug, BuyerID: a.BuyerID, Buyer: a.Buyer,
		Products: slices.Clone(g.Products), Destinations: g.Destinations, Quantity: g.Quantity, Remaining: g.Quantity,
		ValidFrom: from, ValidUntil: until, Conditions: g.Conditions, Status: domain.GrantActive, IssuedAt: now, UpdatedAt: now,
	}, nil
}

func licenseDoc(l domain.License) store.Doc {
	return store.Doc{ID: l.ID, PartyID: l.BuyerID, Ref: l.VendorID.String(), Status: string(l.Status), CreatedAt: l.IssuedAt, UpdatedAt: l.UpdatedAt}
}

// LicensesPage reads one page of licenses (newest first unless q.Asc): all
// for the authorities, the vendor's own exports for a vendor, its own for a
// buyer; filtered by q (party: the licensee). Returns EINVALID naming limit,
// cursor, status or party; EFORBIDDEN for the lab, carriers and auditors.
func (s *Service) LicensesPage(ctx context.Context, who domain.Actor, q domain.ListQuery) (domain.Page[domain.License], error) {
	if err := authorize(who, ActLicenseRead); err != nil {
		return domain.Page[domain.License]{}, err
	}
	pq, err := checkQuery(who, q, grantStates, grants[ActLicenseRead][who.Role])
	if err != nil {
		return domain.Page[domain.License]{}, err
	}
	if err := s.within(ctx, who, &pq.f); err != nil {
		return domain.Page[domain.License]{}, err
	}
	if who.Role == domain.RoleVendor {
		pq.f.Ref = who.PartyID.String()
	}
	return viewOf(ctx, s.store, func(tx store.Tx) (domain.Page[domain.License], error) {
		return pageOf[domain.License](ctx, tx, store.KindLicense, pq)
	})
}

// Licenses lists licenses: all for the authorities, the vendor's own
// exports for a vendor, its own for a buyer. Callers: those; EFORBIDDEN for
// the lab, carriers and auditors.
func (s *Service) Licenses(ctx context.Context, who domain.Actor) ([]domain.License, error) {
	if err := authorize(who, ActLicenseRead); err != nil {
		return nil, err
	}
	f := store.DocFilter{}
	switch who.Role {
	case domain.RoleBuyer:
		f.PartyID = who.PartyID
	case domain.RoleVendor:
		f.Ref = who.PartyID.String()
	}
	if err := s.within(ctx, who, &f); err != nil {
		return nil, err
	}
	return viewOf(ctx, s.store, func(tx store.Tx) ([]domain.License, error) {
		return store.List[domain.License](ctx, tx, store.KindLicense, f)
	})
}

// License returns one license. Callers: the authorities, the vendor that
// exports under it and the buyer it is issued to (ENOTFOUND for another
// vendor or buyer); EFORBIDDEN for the lab, carriers and auditors. Returns
// ENOTFOUND for an unknown license.
func (s *Service) License(ctx context.Context, who domain.Actor, id domain.ID) (domain.License, error) {
	if err := authorize(who, ActLicenseRead); err != nil {
		return domain.License{}, err
	}
	l, err := viewOf(ctx, s.store, func(tx store.Tx) (domain.License, error) {
		return store.Get[domain.License](ctx, tx, store.KindLicense, id, false)
	})
	if err != nil {
		return l, err
	}
	if (who.Role == domain.RoleBuyer && l.BuyerID != who.PartyID) || (who.Role == domain.RoleVendor && l.VendorID != who.PartyID) {
		return domain.License{}, domain.Errorf(domain.ENOTFOUND, "license %s not found", id)
	}
	if err := s.visible(ctx, who, l.BuyerID, "license "+id.String()); err != nil {
		return domain.License{}, err
	}
	return l, nil
}

// ChangeLicense suspends, reinstates or revokes one license. Callers: the
// export authority; EFORBIDDEN for anyone else. Returns EINVALID naming
// action or reason, ENOTFOUND for an unknown license, ECONFLICT naming the
// state for a disallowed move.
func (s *Service) ChangeLicense(ctx context.Context, who domain.Actor, id domain.ID, action, reason string) (domain.License, error) {
	if err := authorizeWork(who, ActLicenseManage, decisiveWork); err != nil {
		return domain.License{}, err
	}
	to, ok := map[string]domain.GrantStatus{"suspend": domain.GrantSuspended, "reinstate": domain.GrantActive, "revoke": domain.GrantRevoked}[action]
	if !ok {
		return domain.License{}, domain.Invalid("action", "must be suspend, reinstate or revoke")
	}
	if strings.TrimSpace(reason) == "" || len(reason) > 4000 {
		return domain.License{}, domain.Invalid("reason", "required, at most 4000 bytes")
	}
	var l domain.License
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		l, err = store.Get[domain.License](ctx, tx, store.KindLicense, id, true)
		if err != nil {
			return err
		}
		if err := domain.Transition("license", l.Status, to, domain.GrantMoves); err != nil {
			return err
		}
		l.Status, l.UpdatedAt = to, s.Now()
		l.Notes = append(l.Notes, domain.Note{At: l.UpdatedAt, By: who.PartySlug, Kind: action, Text: strings.TrimSpace(reason)})
		if err := put(ctx, tx, store.KindLicense, false, licenseDoc(l), l); err != nil {
			return err
		}
		return s.record(ctx, tx, who, l.UpdatedAt, "license."+string(to), "license", l.ID.String(), l)
	})
	return l, err
}
