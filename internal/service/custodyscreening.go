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

// Carriers and labs (issue 17): screened when a shipment names them
// (screenCustody) and again at every list reload (rescreenCustodians),
// their screening kept as a party_screenings document bound to the ledger.
// Each step of a shipment reads its holder's and its lab's current result
// (custodyScreening): a carrier or lab that became a match stops the
// shipment there.

// rescreenCustodians screens every registered carrier and lab against the
// lists in use, each in its own transaction, keeping the officers' decisions
// on unchanged entries. A party whose screening changed gets its document and
// a party.rescreened record; one that becomes a match (counted in
// rep.NewMatches) raises the export authority's new_listing alert naming
// the entries and the shipments it holds or tests. A clean party never
// screened before is left without a document.
func (s *Service) rescreenCustodians(ctx context.Context, who domain.Actor, rules policy.Rules, rep *RescreenReport) error {
	ix := s.screen.Load()
	if ix == nil {
		return nil
	}
	parties, err := viewOf(ctx, s.store, func(tx store.Tx) ([]domain.Party, error) { return tx.Parties(ctx) })
	if err != nil {
		return err
	}
	minScore, matchScore := s.screeningThresholds(rules)
	lists := listRefs(ix.Versions())
	for _, p := range parties {
		if p.Role != domain.RoleCarrier && p.Role != domain.RoleLab {
			continue
		}
		rep.Custodians++
		err := s.store.InTx(ctx, func(tx store.Tx) error {
			old, err := store.Get[domain.PartyScreening](ctx, tx, store.KindPartyScreening, p.ID, true)
			exists := err == nil
			if err != nil && domain.ErrorCode(err) != domain.ENOTFOUND {
				return err
			}
			now := s.Now()
			via := string(p.Role)
			hits, err := ix.Search(screening.Query{Name: p.Name, Country: p.Country, MinScore: minScore})
			if err != nil {
				return domain.Invalid(via, "cannot be screened: %s", domain.ErrorMessage(err))
			}
			entry := ScreeningLogEntry{ID: newID(), At: now, Kind: "party", Subject: p.Slug, Officer: officerName(who), UserID: who.UserID,
				Party: who.PartySlug, Role: who.Role, Query: p.Name, Country: p.Country, Via: via, MinScore: minScore, Lists: lists, Hits: len(hits)}
			if len(hits) > 0 {
				entry.BestScore = math.Round(hits[0].Score*1000) / 1000
			}
			if err := logScreenings(ctx, tx, []ScreeningLogEntry{entry}); err != nil {
				return err
			}
			res := domain.ScreeningResult{At: now}
			for _, h := range hits {
				res.Hits = append(res.Hits, screeningHit(p.Name, via, h))
			}
			keepReviews(res.Hits, old.Screening.Hits)
			res.Status = screeningStatus(res.Hits, matchScore)
			if (exists && sameHits(res.Hits, old.Screening.Hits)) || (!exists && len(res.Hits) == 0) {
				return nil
			}
			ps := domain.PartyScreening{PartyID: p.ID, Party: p.Slug, Role: p.Role, Name: p.Name, Country: p.Country, Screening: res, CreatedAt: now, UpdatedAt: now}
			if exists {
				ps.CreatedAt = old.CreatedAt
			}
			doc := store.Doc{ID: p.ID, PartyID: p.ID, Status: res.Status, CreatedAt: ps.CreatedAt, UpdatedAt: now}
			if err := put(ctx, tx, store.KindPartyScreening, !exists, doc, ps); err != nil {
				return err
			}
			if err := s.record(ctx, tx, who, now, "party.rescreened", "party", p.ID.String(), ps); err != nil {
				return err
			}
			if res.Status != "match" || old.Screening.Status == "match" {
				return nil
			}
			rep.NewMatches++
			return s.alertCustodianListed(ctx, tx, who, rules, p, blockingHits(res.Hits, matchScore), now)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// screeningHit is a search hit as a screening keeps it.
func screeningHit(query, via string, h screening.Hit) domain.ScreeningHit {
	src := h.Entity.PrimarySource()
	sh := domain.ScreeningHit{Query: query, Via: via, List: src.List, SourceID: src.ID, Name: h.Entity.Name,
		Matched: h.Matched, Score: math.Round(h.Score*1000) / 1000, Listing: h.Entity.Fingerprint(),
		EntryHash: h.Entity.ContentHash(), Entry: listEntry(h.Entity)}
	for _, t := range h.Tokens {
		sh.Words = append(sh.Words, t.Query+"~"+t.Listed)
	}
	return sh
}

// alertCustodianListed raises the export authority's new_listing alert for
// a carrier or lab a reload made a match, naming the entries and the
// shipments under way that it holds or is to test (stopped at their next
// step by custodyScreening).
func (s *Service) alertCustodianListed(ctx context.Context, tx store.Tx, who domain.Actor, rules policy.Rules, p domain.Party, hits []domain.ScreeningHit, now time.Time) error {
	authority := s.authorityOf(ctx, tx)
	if authority == (domain.ID{}) {
		return nil
	}
	rule := endUserRule(rules)
	var entries []string
	for _, h := range hits {
		entries = append(entries, describeHit(h))
	}
	why := fmt.Sprintf("%s %s newly matches a restricted-party list: %s", p.Role, p.Slug, strings.Join(entries, "; "))
	ids, err := tx.PartyShipments(ctx, p.ID)
	if err != nil {
		return err
	}
	var stopped []string
	var first *domain.ID
	for _, id := range ids {
		sh, err := store.Get[domain.Shipment](ctx, tx, store.KindShipment, id, false)
		if err != nil {
			return err
		}
		if sh.Status == domain.ShipDelivered || !custodian(sh, p.ID) {
			continue
		}
		stopped = append(stopped, sh.ID.String())
		if first == nil {
			first = &sh.ID
		}
	}
	evidence := append(entries, fmt.Sprintf("%s %s (%s)", p.Role, p.Slug, p.Name))
	if len(stopped) > 0 {
		evidence = append(evidence, "shipments stopped at their next step: "+strings.Join(stopped, ", "))
	}
	return s.saveAlerts(ctx, tx, who, []domain.Alert{{ID: newID(), Kind: "new_listing", ShipmentID: first, ReportedBy: p.Slug, ReporterRole: p.Role, State: domain.AlertOpen,
		Evidence: evidence, Reasons: []domain.Reason{{Rule: rule.ID, Source: rule.Source, Jurisdiction: rule.Jurisdiction, Outcome: domain.HeldForReview, Message: why}},
		CreatedAt: now, UpdatedAt: now}})
}

// custodian reports whether a shipment under way depends on the party: it
// holds the shipment or carries a leg still ahead, or it is the lab of a
// test not yet made.
func custodian(sh domain.Shipment, party domain.ID) bool {
	if sh.Holder != nil && sh.Holder.PartyID == party {
		return true
	}
	for i, c := range sh.Carriers {
		if i >= sh.Leg && c.PartyID == party {
			return true
		}
	}
	return sh.Lab != nil && sh.Lab.PartyID == party && sh.Test == nil
}

// endUserRule is the listed-end-user rule in force, or the screening rule
// when the policy has none.
func endUserRule(rules policy.Rules) policy.Rule {
	if rule, ok := rules.EndUser(); ok {
		return rule
	}
	return policy.Rule{ID: "screening.thresholds", Source: rules.ScreeningSource()}
}

// custodyScreening stops a shipment whose holder, a carrier it names for
// the leg under way or next (to, on a hand-over), or its lab (before the
// test) has an open screening match, reading their current screening (the
// last reload's): ECONFLICT naming the party, the rule and the entry.
func (s *Service) custodyScreening(ctx context.Context, tx store.Tx, rules policy.Rules, sh domain.Shipment, to string) error {
	var parties []domain.Assignee
	if sh.Holder != nil {
		parties = append(parties, *sh.Holder)
	}
	if sh.Lab != nil && sh.Test == nil {
		parties = append(parties, *sh.Lab)
	}
	if to != "" {
		if p, err := tx.PartyBySlug(ctx, to); err == nil {
			parties = append(parties, domain.Assignee{PartyID: p.ID, Party: p.Slug})
		}
	}
	_, matchScore := s.screeningThresholds(rules)
	for _, a := range parties {
		ps, err := store.Get[domain.PartyScreening](ctx, tx, store.KindPartyScreening, a.PartyID, false)
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			continue
		}
		if err != nil {
			return err
		}
		if hits := blockingHits(ps.Screening.Hits, matchScore); len(hits) > 0 {
			rule := endUserRule(rules)
			return domain.Errorf(domain.ECONFLICT, "shipment stopped under rule %s (%s): %s %s has an open restricted-party match: %s; the export authority decides before it moves on",
				rule.ID, rule.Source, ps.Role, ps.Party, describeHit(hits[0]))
		}
	}
	return nil
}
