package service

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/internal/screening"
	"github.com/chipgate/chipgate/internal/store"
)

// ApplicationRequest is what a buyer files to become an approved customer.
type ApplicationRequest struct {
	LegalName     string            `json:"legal_name"`
	ChineseName   string            `json:"chinese_name,omitempty"`
	Aliases       []string          `json:"aliases,omitempty"`
	Country       string            `json:"country"`
	ParentCountry string            `json:"parent_country,omitempty"`
	Registered    string            `json:"registration_date"`
	Addresses     []string          `json:"addresses"`
	Owners        []domain.Owner    `json:"owners,omitempty"`
	BusinessType  domain.BuyerClass `json:"business_type"`
	Sector        string            `json:"sector,omitempty"`
	EndUses       []string          `json:"end_uses"`
	Sites         []domain.Site     `json:"sites"`
	KYCAttested   bool              `json:"kyc_remote_access"`
	Volumes       map[string]int64  `json:"requested_volumes"`
	// The other parties to the buyer's transactions, where it declares
	// them; each is screened under its field (consignees[0], …).
	Consignees []domain.TransactionParty `json:"consignees,omitempty"`
	EndUsers   []domain.TransactionParty `json:"end_users,omitempty"`
	Forwarders []domain.TransactionParty `json:"forwarders,omitempty"`
	Banks      []domain.TransactionParty `json:"banks,omitempty"`
}

func (in ApplicationRequest) fill(a *domain.Application) {
	a.LegalName, a.ChineseName, a.Aliases = in.LegalName, strings.TrimSpace(in.ChineseName), in.Aliases
	a.Country, a.ParentCountry, a.Registered = in.Country, in.ParentCountry, in.Registered
	a.Addresses, a.Owners, a.BusinessType, a.Sector = in.Addresses, in.Owners, in.BusinessType, strings.TrimSpace(in.Sector)
	a.EndUses, a.Sites, a.KYCAttested, a.Volumes = in.EndUses, in.Sites, in.KYCAttested, in.Volumes
	a.Consignees, a.EndUsers, a.Forwarders, a.Banks = in.Consignees, in.EndUsers, in.Forwarders, in.Banks
}

// SubmitApplication files a buyer's application, screens its names and
// owners and checks the red flags. A screening match blocks it at once.
// Callers: buyers, for their own party; EFORBIDDEN for other roles. Returns
// EINVALID naming the field (owners[i].party for an owner that is no
// registered party).
func (s *Service) SubmitApplication(ctx context.Context, who domain.Actor, in ApplicationRequest) (domain.Application, error) {
	if err := authorizeWork(who, ActApplicationSubmit, routineWork); err != nil {
		return domain.Application{}, err
	}
	now := s.Now()
	a := domain.Application{ID: newID(), BuyerID: who.PartyID, Buyer: who.PartySlug, SubmittedAt: now, UpdatedAt: now}
	in.fill(&a)
	if err := a.Validate(); err != nil {
		return domain.Application{}, err
	}
	rules, err := s.rulesNow()
	if err != nil {
		return domain.Application{}, err
	}
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		if err := s.vet(ctx, tx, who, rules, &a); err != nil {
			return err
		}
		if err := put(ctx, tx, store.KindApplication, true, appDoc(a), a); err != nil {
			return err
		}
		return s.record(ctx, tx, who, now, "application.submitted", "application", a.ID.String(), a)
	})
	return appFor(who, a), err
}

// ResubmitApplication replaces the answers of an application the export
// authority asked about (or one blocked, after a correction) and vets it
// again. Callers: the buyer that filed it (ENOTFOUND for another buyer);
// EFORBIDDEN for other roles. Returns ENOTFOUND for an unknown application,
// ECONFLICT in any other state, EINVALID naming the field.
func (s *Service) ResubmitApplication(ctx context.Context, who domain.Actor, id domain.ID, in ApplicationRequest) (domain.Application, error) {
	if err := authorizeWork(who, ActApplicationSubmit, routineWork); err != nil {
		return domain.Application{}, err
	}
	rules, err := s.rulesNow()
	if err != nil {
		return domain.Application{}, err
	}
	var a domain.Application
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		a, err = store.Get[domain.Application](ctx, tx, store.KindApplication, id, true)
		if err != nil {
			return err
		}
		if err := authorizeFor(who, ActApplicationSubmit, a.BuyerID, "application "+id.String()); err != nil {
			return err
		}
		if a.Status != domain.AppInfoRequested && a.Status != domain.AppBlocked {
			return domain.Errorf(domain.ECONFLICT, "application is %s; only an application with information requested or blocked can be resubmitted", a.Status)
		}
		in.fill(&a)
		if err := a.Validate(); err != nil {
			return err
		}
		a.UpdatedAt = s.Now()
		if err := s.vet(ctx, tx, who, rules, &a); err != nil {
			return err
		}
		if err := put(ctx, tx, store.KindApplication, false, appDoc(a), a); err != nil {
			return err
		}
		return s.record(ctx, tx, who, a.UpdatedAt, "application.resubmitted", "application", a.ID.String(), a)
	})
	return appFor(who, a), err
}

// appFor is an application as who may read it: a buyer never sees its
// screening hits (which lists, entries and names matched, at what score),
// only the screening's status, so that screening tips no one off.
func appFor(who domain.Actor, a domain.Application) domain.Application {
	if who.Role == domain.RoleBuyer {
		a.Screening.Hits = nil
	}
	return a
}

func appDoc(a domain.Application) store.Doc {
	return store.Doc{ID: a.ID, PartyID: a.BuyerID, Status: string(a.Status), CreatedAt: a.SubmittedAt, UpdatedAt: a.UpdatedAt}
}

// vet screens the application and checks its red flags, setting its
// screening result, flags and status (submitted, or blocked on a match).
func (s *Service) vet(ctx context.Context, tx store.Tx, who domain.Actor, rules policy.Rules, a *domain.Application) error {
	res, err := s.screenApplication(ctx, tx, who, rules, a)
	if err != nil {
		return err
	}
	keepReviews(res.Hits, a.Screening.Hits)
	_, matchScore := s.screeningThresholds(rules)
	res.Status = screeningStatus(res.Hits, matchScore)
	a.Screening = res
	a.Flags = rules.RedFlagsOf(a)
	a.Status = domain.AppSubmitted
	if res.Status == "match" {
		a.Status = domain.AppBlocked
	}
	return nil
}

// keepReviews carries the officers' decisions over to hits that are still
// there, for the same name and the same listed entry: a changed entry (new
// aliases, a new program, address, identifier or remark, another list)
// re-opens the hit for review. A hit recorded before entries were hashed
// (no EntryHash) is compared by its listing fingerprint alone.
func keepReviews(hits, old []domain.ScreeningHit) {
	for i, h := range hits {
		for _, o := range old {
			if o.Review != domain.HitPotential && o.SourceID == h.SourceID && o.List == h.List && o.Query == h.Query && o.Listing == h.Listing &&
				(o.EntryHash == "" || o.EntryHash == h.EntryHash) {
				hits[i].Review, hits[i].ReviewedBy, hits[i].ReviewedAt, hits[i].Decisions = o.Review, o.ReviewedBy, o.ReviewedAt, o.Decisions
			}
		}
	}
}

// screeningStatus is match when a confirmed hit, an inherited one, or an
// unreviewed hit on the applicant's own names scores at least matchScore;
// potential_match for any other unreviewed hit; clear otherwise. A hit the authority marked a false
// positive counts for nothing.
func screeningStatus(hits []domain.ScreeningHit, matchScore float64) string {
	status := "clear"
	for _, h := range hits {
		switch {
		case h.Review == "false_positive":
		case h.Review == "confirmed" || h.Inherited || (h.Share == 0 && h.Score >= matchScore):
			// An owner's own listing blocks only through the affiliates
			// rule (Inherited); below its threshold it is for review.
			return "match"
		default:
			status = "potential_match"
		}
	}
	return status
}

// screenApplication screens the legal name, the Chinese name, the aliases and
// the owners, following owners that are registered parties through their own
// applications; an owner chain holding at least the affiliates threshold
// passes its hits on. Each name screened is logged in tx, as who's.
func (s *Service) screenApplication(ctx context.Context, tx store.Tx, who domain.Actor, rules policy.Rules, a *domain.Application) (domain.ScreeningResult, error) {
	res := domain.ScreeningResult{At: s.Now()}
	minScore, matchScore := s.screeningThresholds(rules)
	ix := s.screen.Load()
	if ix == nil {
		res.Status = "pending"
		return res, nil
	}
	lists := listRefs(ix.Versions())
	// The ownership rules are policy data: the threshold for an owner on
	// each list, and whether a rule reaching that list is in force at all
	// (BIS's affiliates rule for the Entity and MEU Lists was suspended
	// 2025-11-10 to 2026-11-09; OFAC's 50 percent rule for SDN owners
	// stands). An owner's hit no rule in force reaches is reported, not
	// inherited.
	threshold := func(lists []string) float64 {
		th := math.Inf(1)
		for _, l := range lists {
			if r, _, ok := rules.OwnershipThreshold(l); ok {
				th = min(th, float64(r)*100/domain.RateScale)
			}
		}
		return th
	}
	// Every name and address screened is logged, in one append at the end.
	var log []ScreeningLogEntry
	logged := func(q screening.Query, via string, hits int, best float64) {
		entry := ScreeningLogEntry{ID: newID(), At: res.At, Kind: "application", Subject: a.ID.String(), Officer: officerName(who), UserID: who.UserID,
			Party: who.PartySlug, Role: who.Role, Query: q.Name, Country: q.Country, Address: q.Address, Via: via, MinScore: minScore, Lists: lists, Hits: hits}
		if hits > 0 {
			entry.BestScore = math.Round(best*1000) / 1000
		}
		log = append(log, entry)
	}
	addParty := func(q screening.Query, via string, share float64) error {
		if strings.TrimSpace(q.Name) == "" {
			return nil
		}
		q.MinScore = minScore
		hits, err := ix.Search(q)
		if err != nil {
			return domain.Invalid(via, "cannot be screened: %s", domain.ErrorMessage(err))
		}
		best := 0.0
		if len(hits) > 0 {
			best = hits[0].Score
		}
		logged(q, via, len(hits), best)
		name := q.Name
		for _, h := range hits {
			src := h.Entity.PrimarySource()
			sh := domain.ScreeningHit{Query: name, Via: via, List: src.List, SourceID: src.ID, Name: h.Entity.Name,
				Matched: h.Matched, Score: math.Round(h.Score*1000) / 1000, Listing: h.Entity.Fingerprint(),
				EntryHash: h.Entity.ContentHash(), Entry: listEntry(h.Entity)}
			for _, t := range h.Tokens {
				sh.Words = append(sh.Words, t.Query+"~"+t.Listed)
			}
			if share > 0 {
				sh.Share = math.Round(share*100) / 100
				sh.Inherited = share >= threshold(h.Entity.Lists()) && h.Score >= matchScore
			}
			res.Hits = append(res.Hits, sh)
		}
		return nil
	}
	add := func(name, via, country string, share float64) error {
		return addParty(screening.Query{Name: name, Country: country}, via, share)
	}
	if err := add(a.LegalName, "legal_name", a.Country, 0); err != nil {
		return res, err
	}
	if err := add(a.ChineseName, "chinese_name", a.Country, 0); err != nil {
		return res, err
	}
	for i, alias := range a.Aliases {
		if err := add(alias, fmt.Sprintf("aliases[%d]", i), a.Country, 0); err != nil {
			return res, err
		}
	}
	// The other parties to its transactions, each under its own field
	// (consignees[0], banks[1], …): a hit on any of them blocks as one on
	// the applicant does.
	for _, k := range a.TransactionParties() {
		for i, p := range k.Parties {
			if err := addParty(screening.Query{Name: p.Name, Country: p.Country, Address: p.Address}, fmt.Sprintf("%s[%d]", k.Field, i), 0); err != nil {
				return res, err
			}
		}
	}
	// Deployment sites by address: a site at a listed party's premises.
	for i, site := range a.Sites {
		via := fmt.Sprintf("sites[%d].address", i)
		q := screening.AddressQuery{Address: site.Address, Country: site.Country, MinScore: minScore}
		hits, err := ix.SearchAddress(q)
		if err != nil {
			return res, domain.Invalid(via, "cannot be screened: %s", domain.ErrorMessage(err))
		}
		best := 0.0
		if len(hits) > 0 {
			best = hits[0].Score
		}
		logged(screening.Query{Name: site.Address, Country: site.Country, Address: site.Address}, via, len(hits), best)
		for _, h := range hits {
			src := h.Entity.PrimarySource()
			res.Hits = append(res.Hits, domain.ScreeningHit{Query: site.Address, Via: via, List: src.List, SourceID: src.ID, Name: h.Entity.Name,
				Matched: h.Matched, Score: math.Round(h.Score*1000) / 1000, Words: h.Shared, Listing: h.Entity.Fingerprint(),
				EntryHash: h.Entity.ContentHash(), Entry: listEntry(h.Entity)})
		}
	}
	// Owners, through chains of registered parties: share multiplies along
	// the chain; a party seen once is not followed again.
	type link struct {
		owner domain.Owner
		share float64
		via   string
		depth int
	}
	queue := make([]link, 0, len(a.Owners))
	for i, o := range a.Owners {
		queue = append(queue, link{o, o.Share, fmt.Sprintf("owners[%d]", i), 1})
	}
	seen := map[string]bool{a.Buyer: true}
	for len(queue) > 0 {
		l := queue[0]
		queue = queue[1:]
		name := l.owner.Name
		if l.owner.Party != "" {
			if seen[l.owner.Party] {
				continue
			}
			seen[l.owner.Party] = true
			p, err := partyByRef(ctx, tx, l.owner.Party)
			if err != nil {
				return res, domain.Invalid(l.via+".party", "no party %q", l.owner.Party)
			}
			name = p.Name
			if l.depth < 6 {
				if parent, ok, err := latestApplication(ctx, tx, p.ID); err != nil {
					return res, err
				} else if ok {
					for j, o := range parent.Owners {
						queue = append(queue, link{o, l.share * o.Share / 100, fmt.Sprintf("%s→owners[%d]", l.via, j), l.depth + 1})
					}
				}
			}
		}
		if err := add(name, l.via, l.owner.Country, l.share); err != nil {
			return res, err
		}
	}
	return res, logScreenings(ctx, tx, log)
}

func latestApplication(ctx context.Context, tx store.Tx, party domain.ID) (domain.Application, bool, error) {
	apps, err := store.List[domain.Application](ctx, tx, store.KindApplication, store.DocFilter{PartyID: party})
	if err != nil || len(apps) == 0 {
		return domain.Application{}, false, err
	}
	return apps[len(apps)-1], true, nil
}

// ApplicationsPage reads one page of applications (newest first unless
// q.Asc): a buyer's own, or all of them for the authorities and the vendor
// (optionally one party's), filtered by q. Returns EINVALID naming limit,
// cursor, status or party; EFORBIDDEN for the lab, carriers and auditors.
func (s *Service) ApplicationsPage(ctx context.Context, who domain.Actor, q domain.ListQuery) (domain.Page[domain.Application], error) {
	if err := authorize(who, ActApplicationRead); err != nil {
		return domain.Page[domain.Application]{}, err
	}
	pq, err := checkQuery(who, q, applicationStates, grants[ActApplicationRead][who.Role])
	if err != nil {
		return domain.Page[domain.Application]{}, err
	}
	if err := s.within(ctx, who, &pq.f); err != nil {
		return domain.Page[domain.Application]{}, err
	}
	page, err := viewOf(ctx, s.store, func(tx store.Tx) (domain.Page[domain.Application], error) {
		return pageOf[domain.Application](ctx, tx, store.KindApplication, pq)
	})
	for i := range page.Items {
		page.Items[i] = appFor(who, page.Items[i])
	}
	return page, err
}

// Applications lists applications: a buyer's own, or all of them for the
// authorities and the vendor; optionally only those in the states given.
// Callers: those; EFORBIDDEN for the lab, carriers and auditors.
func (s *Service) Applications(ctx context.Context, who domain.Actor, states []string) ([]domain.Application, error) {
	if err := authorize(who, ActApplicationRead); err != nil {
		return nil, err
	}
	f := store.DocFilter{Status: states}
	if grants[ActApplicationRead][who.Role] == own {
		f.PartyID = who.PartyID
	}
	if err := s.within(ctx, who, &f); err != nil {
		return nil, err
	}
	as, err := viewOf(ctx, s.store, func(tx store.Tx) ([]domain.Application, error) {
		return store.List[domain.Application](ctx, tx, store.KindApplication, f)
	})
	for i := range as {
		as[i] = appFor(who, as[i])
	}
	return as, err
}

// Application returns one application. Callers: its buyer (ENOTFOUND for
// another buyer), the authorities and the vendor; EFORBIDDEN for other
// roles. Returns ENOTFOUND for an unknown application.
func (s *Service) Application(ctx context.Context, who domain.Actor, id domain.ID) (domain.Application, error) {
	if err := authorize(who, ActApplicationRead); err != nil {
		return domain.Application{}, err
	}
	a, err := viewOf(ctx, s.store, func(tx store.Tx) (domain.Application, error) {
		return store.Get[domain.Application](ctx, tx, store.KindApplication, id, false)
	})
	if err != nil {
		return a, err
	}
	if err := authorizeFor(who, ActApplicationRead, a.BuyerID, "application "+id.String()); err != nil {
		return domain.Application{}, err
	}
	return appFor(who, a), s.visible(ctx, who, a.BuyerID, "application "+id.String())
}

// HitReview is an officer's decision on one screening hit.
type HitReview struct {
	Hit      int    `json:"hit"`      // index into screening.hits
	Decision string `json:"decision"` // false_positive, confirmed or escalated
	// Reason is a code from the policy's list (screening.thresholds
	// reasons) that allows the decision.
	Reason string `json:"reason"`
	// Note says, in the officer's words, what the decision rests on.
	Note string `json:"note"`
}

// ReviewHits records an officer's decisions on screening hits and
// re-derives the screening status: a blocked application whose every match
// is a false positive goes back to submitted, one not yet decided with a
// confirmed hit is blocked. A hit moves from potential (or escalated, or
// pending_second) to false_positive, confirmed or escalated, each with a
// reason from the policy's list and a note, by the authenticated officer;
// clearing a hit that scores at least the policy's four_eyes_score takes
// two different officers: the first clear leaves it pending_second.
// Callers: the export authority, an officer or approver (the second clear
// of a four-eyes hit: an approver); EFORBIDDEN for anyone else. Returns
// ENOTFOUND for an unknown application; EINVALID naming reviews[i].hit,
// .decision, .reason or .note; ECONFLICT for a hit already decided (a
// changed list entry re-opens it) or a second clear by the officer who
// made the first.
func (s *Service) ReviewHits(ctx context.Context, who domain.Actor, id domain.ID, reviews []HitReview) (domain.Application, error) {
	if err := authorizeWork(who, ActApplicationDecide, routineWork); err != nil {
		return domain.Application{}, err
	}
	rules, err := s.rulesNow()
	if err != nil {
		return domain.Application{}, err
	}
	params, ruleID, _ := rules.Screening()
	_, matchScore := s.screeningThresholds(rules)
	fourEyes := params.FourEyes()
	if fourEyes == 0 {
		fourEyes = matchScore
	}
	var a domain.Application
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		a, err = store.Get[domain.Application](ctx, tx, store.KindApplication, id, true)
		if err != nil {
			return err
		}
		if len(reviews) == 0 {
			return domain.Invalid("reviews", "at least one")
		}
		at := s.Now()
		for i, r := range reviews {
			path := fmt.Sprintf("reviews[%d]", i)
			if r.Hit < 0 || r.Hit >= len(a.Screening.Hits) {
				return domain.Invalid(path+".hit", "no hit %d (the application has %d)", r.Hit, len(a.Screening.Hits))
			}
			if !slices.Contains(policy.HitDecisions, r.Decision) {
				return domain.Invalid(path+".decision", "must be one of %s", strings.Join(policy.HitDecisions, ", "))
			}
			reason, ok := params.Reason(r.Reason)
			if !ok || !slices.Contains(reason.Decisions, r.Decision) {
				return domain.Invalid(path+".reason", "must be a reason for %s in rule %s: %s", r.Decision, ruleID, strings.Join(reasonsFor(params, r.Decision), ", "))
			}
			r.Note = strings.TrimSpace(r.Note)
			if r.Note == "" || len(r.Note) > 4000 {
				return domain.Invalid(path+".note", "required (what the decision rests on), at most 4000 bytes")
			}
			if err := storable(path+".note", r.Note); err != nil {
				return err
			}
			h := &a.Screening.Hits[r.Hit]
			switch h.Review {
			case domain.HitPotential, domain.HitEscalated, domain.HitPendingSecond:
			default:
				return domain.Errorf(domain.ECONFLICT, "hit %d is already %s by %s; a change of the listed entry re-opens it", r.Hit, h.Review, h.ReviewedBy)
			}
			result := r.Decision
			if r.Decision == domain.HitFalsePositive && h.Score >= fourEyes {
				if h.Review != domain.HitPendingSecond {
					result = domain.HitPendingSecond
				} else if err := requireDuty(who, decisiveWork, fmt.Sprintf("the second clear of hit %d", r.Hit)); err != nil {
					return err
				} else if first := h.Decisions[len(h.Decisions)-1]; sameOfficer(first, who) {
					return domain.Errorf(domain.ECONFLICT, "hit %d scores %.3f (at least %.2f, rule %s): a second, different officer must confirm %s's clear",
						r.Hit, h.Score, fourEyes, ruleID, first.Officer)
				}
			}
			h.Decisions = append(h.Decisions, domain.HitDecision{Decision: r.Decision, Reason: r.Reason, Rule: ruleID, Source: rules.ScreeningSource(),
				Note: r.Note, Officer: officerName(who), UserID: who.UserID, Party: who.PartySlug, At: at, Result: result})
			h.Review, h.ReviewedBy, h.ReviewedAt = result, officerName(who), &at
		}
		a.Screening.Status = screeningStatus(a.Screening.Hits, matchScore)
		a.UpdatedAt = at
		switch {
		case a.Status == domain.AppBlocked && a.Screening.Status != "match":
			a.Status = domain.AppSubmitted
		case (a.Status == domain.AppSubmitted || a.Status == domain.AppInfoRequested) && a.Screening.Status == "match":
			a.Status = domain.AppBlocked
		}
		a.Notes = append(a.Notes, domain.Note{At: a.UpdatedAt, By: who.PartySlug, Kind: "hits_reviewed", Text: fmt.Sprintf("%d hit(s) reviewed by %s", len(reviews), officerName(who))})
		if err := put(ctx, tx, store.KindApplication, false, appDoc(a), a); err != nil {
			return err
		}
		return s.record(ctx, tx, who, a.UpdatedAt, "application.hits_reviewed", "application", a.ID.String(), a)
	})
	return a, err
}

// reasonsFor lists the reason codes that allow a decision.
func reasonsFor(p policy.ScreeningParams, decision string) []string {
	var out []string
	for _, r := range p.Reasons {
		if slices.Contains(r.Decisions, decision) {
			out = append(out, r.Code)
		}
	}
	return out
}

// officerName is the name a decision is recorded under: the authenticated
// user's (the person or the named token's user), else the party's.
func officerName(who domain.Actor) string {
	if who.UserName != "" {
		return who.UserName
	}
	return who.PartySlug
}

// sameOfficer reports whether who made decision d: the same user, or, for
// actors without a user id, the same name.
func sameOfficer(d domain.HitDecision, who domain.Actor) bool {
	if d.UserID != (domain.ID{}) || who.UserID != (domain.ID{}) {
		return d.UserID == who.UserID
	}
	return d.Officer == officerName(who)
}
