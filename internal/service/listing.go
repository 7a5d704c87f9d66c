package service

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/internal/screening"
	"github.com/chipgate/chipgate/internal/store"
)

// blockingHits returns the hits that make a screening a match: confirmed,
// inherited through owners, or open on the party's own names at or above
// matchScore (what screeningStatus counts as a match).
func blockingHits(hits []domain.ScreeningHit, matchScore float64) []domain.ScreeningHit {
	var out []domain.ScreeningHit
	for _, h := range hits {
		if h.Review == domain.HitFalsePositive {
			continue
		}
		if h.Review == domain.HitConfirmed || h.Inherited || (h.Share == 0 && h.Score >= matchScore) {
			out = append(out, h)
		}
	}
	return out
}

// describeHit names the listed entry a hit points to, for holds, alerts
// and refusals: list, the entry's name, the list's id, programs and the
// Federal Register citation where the list gives one.
func describeHit(h domain.ScreeningHit) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s entry %q (%s %s", h.List, h.Name, h.List, h.SourceID)
	if e := h.Entry; e != nil {
		for _, src := range e.Sources {
			if src.FederalRegister != "" {
				fmt.Fprintf(&b, ", %s", src.FederalRegister)
				break
			}
		}
		if len(e.Programs) > 0 {
			fmt.Fprintf(&b, ", programs %s", strings.Join(e.Programs, " "))
		}
	}
	fmt.Fprintf(&b, ") matched %q", h.Query)
	if h.Via != "" {
		fmt.Fprintf(&b, " (%s)", h.Via)
	}
	fmt.Fprintf(&b, " at %.3f", h.Score)
	if h.Review != "" {
		fmt.Fprintf(&b, ", %s", h.Review)
	}
	return b.String()
}

// blockNewListing acts on a party that a re-screening made a match: its
// accepted orders with units left to ship are held under the
// listed-end-user rule (their unshipped units go back to the grants), its
// active licenses are suspended pending review, and the export authority
// gets an alert naming the list entries. In the re-screening's
// transaction, so that the match and its consequences commit together.
func (s *Service) blockNewListing(ctx context.Context, tx store.Tx, who domain.Actor, rules policy.Rules, a domain.Application, hits []domain.ScreeningHit, now time.Time) error {
	rule, ok := rules.EndUser()
	if !ok {
		rule = policy.Rule{ID: "screening.thresholds", Source: rules.ScreeningSource()}
	}
	var entries []string
	for _, h := range hits {
		entries = append(entries, describeHit(h))
	}
	why := fmt.Sprintf("buyer %s newly matches a restricted-party list: %s", a.Buyer, strings.Join(entries, "; "))
	orders, err := store.List[domain.Order](ctx, tx, store.KindOrder, store.DocFilter{PartyID: a.BuyerID, Status: []string{string(domain.OrderAccepted)}, ForUpdate: true})
	if err != nil {
		return err
	}
	var held []string
	for i := range orders {
		o := &orders[i]
		if o.Quantity-o.Shipped <= 0 {
			continue
		}
		if err := s.giveBack(ctx, tx, *o, now); err != nil {
			return err
		}
		o.Decision.Reasons = append(o.Decision.Reasons, domain.Reason{Rule: rule.ID, Source: rule.Source, Jurisdiction: rule.Jurisdiction,
			Outcome: domain.HeldForReview, Message: "held: " + why})
		o.Decision.Outcome = domain.HeldForReview
		o.Status, o.UpdatedAt, o.LicenseID, o.PermitID, o.Drawn = domain.OrderHeld, now, nil, nil, nil
		o.Notes = append(o.Notes, domain.Note{At: now, By: who.PartySlug, Kind: "held", Text: why})
		if err := put(ctx, tx, store.KindOrder, false, orderDoc(*o), *o); err != nil {
			return err
		}
		if err := s.record(ctx, tx, who, now, "order.held_for_review", "order", o.ID.String(), *o); err != nil {
			return err
		}
		held = append(held, o.ID.String())
	}
	licenses, err := store.List[domain.License](ctx, tx, store.KindLicense, store.DocFilter{PartyID: a.BuyerID, Status: []string{string(domain.GrantActive)}, ForUpdate: true})
	if err != nil {
		return err
	}
	var suspended []string
	for _, l := range licenses {
		l.Status, l.UpdatedAt = domain.GrantSuspended, now
		l.Notes = append(l.Notes, domain.Note{At: now, By: who.PartySlug, Kind: "suspend", Text: "suspended pending review (rule " + rule.ID + "): " + why})
		if err := put(ctx, tx, store.KindLicense, false, licenseDoc(l), l); err != nil {
			return err
		}
		if err := s.record(ctx, tx, who, now, "license."+string(domain.GrantSuspended), "license", l.ID.String(), l); err != nil {
			return err
		}
		suspended = append(suspended, l.Number)
	}
	if s.authorityOf(ctx, tx) == (domain.ID{}) {
		return nil
	}
	evidence := append(entries, fmt.Sprintf("application %s", a.ID))
	if len(held) > 0 {
		evidence = append(evidence, "orders held: "+strings.Join(held, ", "))
	}
	if len(suspended) > 0 {
		evidence = append(evidence, "licenses suspended pending review: "+strings.Join(suspended, ", "))
	}
	return s.saveAlerts(ctx, tx, who, []domain.Alert{{ID: newID(), Kind: "new_listing", Buyer: a.Buyer, State: domain.AlertOpen,
		Evidence: evidence, Reasons: []domain.Reason{{Rule: rule.ID, Source: rule.Source, Jurisdiction: rule.Jurisdiction, Outcome: domain.HeldForReview, Message: why}},
		CreatedAt: now, UpdatedAt: now}})
}

// shipmentScreening stops a shipment whose buyer has an open screening
// match (confirmed, or open at or above the match score): every border
// step checks it, so a listing after the order was accepted stops the
// goods at their next step. Returns ECONFLICT naming the rule and the
// list entry.
func (s *Service) shipmentScreening(ctx context.Context, tx store.Tx, rules policy.Rules, sh domain.Shipment) error {
	app, ok, err := customerApplication(ctx, tx, sh.BuyerID)
	if err != nil || !ok {
		return err
	}
	_, matchScore := s.screeningThresholds(rules)
	hits := blockingHits(app.Screening.Hits, matchScore)
	if len(hits) == 0 {
		return nil
	}
	rule, ok := rules.EndUser()
	if !ok {
		rule = policy.Rule{ID: "screening.thresholds", Source: rules.ScreeningSource()}
	}
	return domain.Errorf(domain.ECONFLICT, "shipment stopped under rule %s (%s): buyer %s has an open restricted-party match: %s; the export authority adjudicates the hit first",
		rule.ID, rule.Source, app.Buyer, describeHit(hits[0]))
}

// screenCustody screens the carriers and the lab a new shipment names, as
// the vendor who ships: each is logged (kind shipment), and a party whose name scores at
// least the match score on a list refuses the shipment (ECONFLICT naming
// the party, the entry and the rule). Unregistered names cannot be named,
// so every custodian is a registered party with a name and a country.
func (s *Service) screenCustody(ctx context.Context, tx store.Tx, who domain.Actor, rules policy.Rules, sh domain.Shipment, now time.Time) error {
	ix := s.screen.Load()
	if ix == nil {
		return nil
	}
	minScore, matchScore := s.screeningThresholds(rules)
	lists := listRefs(ix.Versions())
	type custodian struct {
		a   domain.Assignee
		via string
	}
	var cs []custodian
	seen := map[domain.ID]bool{}
	for i, c := range sh.Carriers {
		if !seen[c.PartyID] {
			seen[c.PartyID] = true
			cs = append(cs, custodian{c, fmt.Sprintf("carriers[%d]", i)})
		}
	}
	if sh.Lab != nil && !seen[sh.Lab.PartyID] {
		cs = append(cs, custodian{*sh.Lab, "lab"})
	}
	var log []ScreeningLogEntry
	var refusal error
	for _, c := range cs {
		p, err := tx.Party(ctx, c.a.PartyID)
		if err != nil {
			return err
		}
		hits, err := ix.Search(screening.Query{Name: p.Name, Country: p.Country, MinScore: minScore})
		if err != nil {
			return domain.Invalid(c.via, "cannot be screened: %s", domain.ErrorMessage(err))
		}
		entry := ScreeningLogEntry{ID: newID(), At: now, Kind: "shipment", Subject: sh.ID.String(), Officer: officerName(who), UserID: who.UserID,
			Party: who.PartySlug, Role: who.Role, Query: p.Name, Country: p.Country, Via: c.via, MinScore: minScore, Lists: lists, Hits: len(hits)}
		if len(hits) > 0 {
			entry.BestScore = math.Round(hits[0].Score*1000) / 1000
			if h := hits[0]; h.Score >= matchScore && refusal == nil {
				src := h.Entity.PrimarySource()
				rule, ok := rules.EndUser()
				if !ok {
					rule = policy.Rule{ID: "screening.thresholds", Source: rules.ScreeningSource()}
				}
				refusal = domain.Errorf(domain.ECONFLICT, "shipment refused under rule %s (%s): %s %s matches %s entry %q (%s %s) at %.3f",
					rule.ID, rule.Source, c.via, p.Slug, src.List, h.Entity.Name, src.List, src.ID, h.Score)
			}
		}
		log = append(log, entry)
	}
	// Queued rather than written in tx: the screenings happened, and are
	// logged, whether or not the shipment commits.
	if err := s.logSearches(ctx, log); err != nil {
		return err
	}
	return refusal
}
