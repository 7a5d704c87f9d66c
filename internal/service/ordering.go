package service

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/internal/store"
)

// OrderRequest is a buyer's order.
type OrderRequest struct {
	Product  string `json:"product"`
	Quantity int64  `json:"quantity"`
	// Period is the first day the buyer wants the units (YYYY-MM-DD).
	Period string `json:"requested_period"`
	// Site is the index of the deployment site in the buyer's application.
	Site   int    `json:"site"`
	EndUse string `json:"end_use"`
}

// OrderedRegions are the destination regions whose accepted units the
// volume cap compares.
var orderedRegions = []string{"US", "CN", "other"}

// EarliestPeriod is the first day an order placed at now may be wanted
// from: the day it still is somewhere on Earth (UTC−12), so that no buyer
// is refused today's date in its own zone, and a day that has passed
// everywhere is refused (an order "wanted from 2019-01-01" was accepted).
func EarliestPeriod(now time.Time) time.Time {
	y, m, d := now.UTC().Add(-12 * time.Hour).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// PlaceOrder decides and records one order with the policy in force at this
// instant: the buyer's approval and screening, its license and remaining
// quantity, its import permit and remaining quota, the red flags and the
// volume cap. An accepted order depletes the grants the decision drew on
// and counts toward the volume cap in the same transaction. One command
// reads one policy snapshot. Callers: buyers, for themselves. Returns
// EINVALID naming the field for a bad request; a rejection is not an error
// but a decision.
func (s *Service) PlaceOrder(ctx context.Context, who domain.Actor, in OrderRequest) (domain.Order, error) {
	if err := authorizeWork(who, ActOrderPlace, routineWork); err != nil {
		return domain.Order{}, err
	}
	var pr domain.Problems
	if in.Quantity <= 0 || in.Quantity > 10_000_000 {
		pr.Add("quantity", "must be between 1 and 10,000,000")
	}
	if day, err := time.Parse(time.DateOnly, in.Period); err != nil {
		pr.Add("requested_period", "must be a date YYYY-MM-DD")
	} else if day.Before(EarliestPeriod(s.Now())) {
		pr.Add("requested_period", "must not be in the past")
	}
	in.EndUse = strings.TrimSpace(in.EndUse)
	if in.EndUse == "" || len(in.EndUse) > 100 {
		pr.Add("end_use", "required, at most 100 bytes")
	}
	if in.Site < 0 {
		pr.Add("site", "must not be negative")
	}
	if err := pr.Err(); err != nil {
		return domain.Order{}, err
	}
	pol := s.policy.Load()
	if pol == nil {
		return domain.Order{}, domain.Errorf(domain.EUNAVAILABLE, "no policy loaded")
	}
	// The buyer and the product never change once added: they are read
	// before the order queues for the writer, from committed data.
	buyer, err := s.committedParty(ctx, who.PartyID)
	if err != nil {
		return domain.Order{}, err
	}
	product, err := s.committedProduct(ctx, in.Product)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return domain.Order{}, domain.Invalid("product", "no product %q", in.Product)
	} else if err != nil {
		return domain.Order{}, err
	}
	now := s.Now()
	rules := pol.At(now)
	o := domain.Order{ID: newID(), BuyerID: who.PartyID, Buyer: who.PartySlug, Product: in.Product, Quantity: in.Quantity,
		Period: in.Period, Site: in.Site, EndUse: in.EndUse, PlacedAt: now, UpdatedAt: now}
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		facts, g, err := s.orderFacts(ctx, tx, pol, buyer, product, orderTerms{in.Quantity, in.Site, in.EndUse}, now)
		if err != nil {
			return err
		}
		if err := s.settle(ctx, tx, &o, rules.DecideOrder(facts), g, now); err != nil {
			return err
		}
		// One encoding serves as the order's document and its record.
		body, err := domain.CanonicalJSON(o)
		if err != nil {
			return err
		}
		doc := orderDoc(o)
		doc.Body = body
		if err := tx.PutDoc(ctx, store.KindOrder, doc, true); err != nil {
			return err
		}
		return s.record(ctx, tx, who, now, "order."+string(o.Status), "order", o.ID.String(), canonicalJSON(body))
	})
	return o, err
}

// settle applies a decision to an order: its status, and for an accepted
// order the units drawn from every grant the decision names and counted
// toward the volume cap. It writes the grants, not the order.
func (s *Service) settle(ctx context.Context, tx store.Tx, o *domain.Order, d domain.Decision, g orderGrants, now time.Time) error {
	o.Decision = d
	switch d.Outcome {
	case domain.Accepted:
		o.Status = domain.OrderAccepted
		o.AcceptedAt = &now
		o.Drawn, o.LicenseID, o.PermitID = nil, nil, nil
	case domain.HeldForReview:
		o.Status = domain.OrderHeld
		return nil
	default:
		o.Status = domain.OrderRejected
		return nil
	}
	units := o.Quantity - o.Shipped
	for _, use := range d.Grants() {
		switch use.Kind {
		case domain.GrantLicense:
			l := g.license(use.Ref)
			if l == nil {
				return fmt.Errorf("service: the decision drew on license %s, which the facts did not hold", use.Ref)
			}
			if l.Remaining < units {
				return domain.Errorf(domain.ECONFLICT, "license %s has %d units left, fewer than the %d ordered", l.Number, l.Remaining, units)
			}
			l.Remaining -= units
			l.UpdatedAt = now
			if err := put(ctx, tx, store.KindLicense, false, licenseDoc(*l), *l); err != nil {
				return err
			}
			o.Drawn = append(o.Drawn, domain.DrawnGrant{Kind: domain.GrantLicense, Jurisdiction: l.Jurisdiction, ID: l.ID, Number: l.Number, Units: units})
			if o.LicenseID == nil {
				o.LicenseID = &l.ID
			}
		case domain.GrantPermit:
			p := g.permit(use.Ref)
			if p == nil {
				return fmt.Errorf("service: the decision drew on permit %s, which the facts did not hold", use.Ref)
			}
			if p.Remaining < units {
				return domain.Errorf(domain.ECONFLICT, "permit %s has %d units left, fewer than the %d ordered", p.Number, p.Remaining, units)
			}
			p.Remaining -= units
			p.UpdatedAt = now
			if err := put(ctx, tx, store.KindPermit, false, permitDoc(*p), *p); err != nil {
				return err
			}
			o.Drawn = append(o.Drawn, domain.DrawnGrant{Kind: domain.GrantPermit, Jurisdiction: p.Jurisdiction, ID: p.ID, Number: p.Number, Units: units})
			if o.PermitID == nil {
				o.PermitID = &p.ID
			}
		}
	}
	if _, err := tx.Volumes(ctx, store.Ordered, o.Product, orderedRegions); err != nil {
		return err
	}
	return tx.AddVolume(ctx, store.Ordered, o.Product, d.Region, units)
}

// giveBack returns an accepted order's unshipped units to the grants it
// drew on and to the volume count (units already shipped stay counted: they
// are on their way and must not be ordered a second time).
func (s *Service) giveBack(ctx context.Context, tx store.Tx, o domain.Order, now time.Time) error {
	unshipped := o.Quantity - o.Shipped
	if o.Status != domain.OrderAccepted || unshipped <= 0 {
		return nil
	}
	for _, g := range drawnBy(o) {
		switch g.Kind {
		case domain.GrantLicense:
			l, err := store.Get[domain.License](ctx, tx, store.KindLicense, g.ID, true)
			if err != nil {
				return err
			}
			l.Remaining, l.UpdatedAt = l.Remaining+unshipped, now
			if err := put(ctx, tx, store.KindLicense, false, licenseDoc(l), l); err != nil {
				return err
			}
		case domain.GrantPermit:
			p, err := store.Get[domain.ImportPermit](ctx, tx, store.KindPermit, g.ID, true)
			if err != nil {
				return err
			}
			p.Remaining, p.UpdatedAt = p.Remaining+unshipped, now
			if err := put(ctx, tx, store.KindPermit, false, permitDoc(p), p); err != nil {
				return err
			}
		}
	}
	if _, err := tx.Volumes(ctx, store.Ordered, o.Product, orderedRegions); err != nil {
		return err
	}
	return tx.AddVolume(ctx, store.Ordered, o.Product, o.Decision.Region, -unshipped)
}

// drawnBy is what an accepted order drew on: its Drawn grants, or for an
// order accepted before they were kept, its license and permit.
func drawnBy(o domain.Order) []domain.DrawnGrant {
	if len(o.Drawn) > 0 {
		return o.Drawn
	}
	var out []domain.DrawnGrant
	if o.LicenseID != nil {
		out = append(out, domain.DrawnGrant{Kind: domain.GrantLicense, ID: *o.LicenseID})
	}
	if o.PermitID != nil {
		out = append(out, domain.DrawnGrant{Kind: domain.GrantPermit, ID: *o.PermitID})
	}
	return out
}

func orderDoc(o domain.Order) store.Doc {
	ref := ""
	if o.LicenseID != nil {
		ref = o.LicenseID.String()
	}
	return store.Doc{ID: o.ID, PartyID: o.BuyerID, Ref: ref, Status: string(o.Status), CreatedAt: o.PlacedAt, UpdatedAt: o.UpdatedAt}
}

// orderTerms are what an order asks for: the units still to decide (all of
// a new order's, the unshipped ones of an order decided again), the site
// and the end use.
type orderTerms struct {
	quantity int64
	site     int
	endUse   string
}

// orderGrants are the buyer's grants that could serve an order, read
// locked: at most one license and one permit per jurisdiction.
type orderGrants struct {
	licenses []*domain.License
	permits  []*domain.ImportPermit
}

func (g orderGrants) license(number string) *domain.License {
	for _, l := range g.licenses {
		if l.Number == number {
			return l
		}
	}
	return nil
}

func (g orderGrants) permit(number string) *domain.ImportPermit {
	for _, p := range g.permits {
		if p.Number == number {
			return p
		}
	}
	return nil
}

// listedOwners are the owners screening found on a list, by owner path,
// for the ownership rules the decision applies at the order's instant:
// confirmed hits and unreviewed ones scoring at least the match score. Each
// hit names its primary list only (SDN before EL before the others).
func (s *Service) listedOwners(hits []domain.ScreeningHit) []policy.ListedOwner {
	var out []policy.ListedOwner
	at := map[string]int{}
	for _, h := range hits {
		if h.Share <= 0 || h.Review == "false_positive" || (h.Review != "confirmed" && h.Score < s.matchScore()) {
			continue
		}
		share := domain.Rate(h.Share * domain.RateScale / 100)
		if i, ok := at[h.Via]; ok {
			if !slices.Contains(out[i].Lists, h.List) {
				out[i].Lists = append(out[i].Lists, h.List)
			}
			out[i].Share = max(out[i].Share, share)
			continue
		}
		at[h.Via] = len(out)
		out = append(out, policy.ListedOwner{Lists: []string{h.List}, Share: share})
	}
	return out
}

// orderFacts gathers, in the order's transaction, what the decision looks
// at besides the buyer and the product (which never change): the buyer's
// application, its licenses and permits with what remains of them, and the
// volume counters, locking those it may change.
func (s *Service) orderFacts(ctx context.Context, tx store.Tx, pol *policy.Policy, buyer domain.Party, product domain.Product, in orderTerms, now time.Time) (policy.OrderFacts, orderGrants, error) {
	var g orderGrants
	f := policy.OrderFacts{At: now, Product: product.Slug, Spec: product.Spec, Quantity: in.quantity, LaunchDate: product.LaunchDate,
		Buyer: buyer.Slug, BuyerClass: string(buyer.Class), BuyerHQ: buyer.Country, Destination: buyer.Country,
		SiteCountry: buyer.Country, EndUse: in.endUse}

	app, ok, err := customerApplication(ctx, tx, buyer.ID)
	if err != nil {
		return f, g, err
	}
	if ok {
		if in.site >= len(app.Sites) {
			return f, g, domain.Invalid("site", "the application lists %d site(s); no site %d", len(app.Sites), in.site)
		}
		site := app.Sites[in.site]
		f.Destination, f.SiteCountry, f.CloudService, f.SitePowerKW = site.Country, site.Country, site.CloudService, site.PowerMW*1000
		f.Sector, f.ParentHQ, f.KYCRemoteAccess = app.Sector, app.ParentCountry, app.KYCAttested
		f.Approval = approvalOf(app.Status)
		f.Screening = policy.Screening(app.Screening.Status)
		if app.Screening.Status == "pending" {
			f.Screening = policy.ScreeningPending
		}
		f.ListedOwners = s.listedOwners(app.Screening.Hits)
		for _, n := range app.Notices {
			if n.Serves(product.Slug) {
				f.Notifications = append(f.Notifications, policy.Notification{Exception: n.Exception, Confirmation: n.Confirmation})
			}
		}
	} else if in.site != 0 {
		return f, g, domain.Invalid("site", "the buyer has filed no application with sites")
	}

	if g.licenses, err = pickGrants(ctx, tx, store.KindLicense, store.DocFilter{PartyID: buyer.ID}, licenseTerms, product.Slug, now); err != nil {
		return f, g, err
	}
	for _, l := range g.licenses {
		pl, err := s.policyLicense(pol, l)
		if err != nil {
			return f, g, err
		}
		f.Licenses = append(f.Licenses, *pl)
	}
	if g.permits, err = pickGrants(ctx, tx, store.KindPermit, store.DocFilter{PartyID: buyer.ID, Status: []string{string(domain.GrantActive), string(domain.GrantSuspended), string(domain.GrantRevoked)}},
		permitTerms, product.Slug, now); err != nil {
		return f, g, err
	}
	for _, p := range g.permits {
		pp, err := s.policyPermit(pol, p)
		if err != nil {
			return f, g, err
		}
		f.Permits = append(f.Permits, *pp)
	}
	vols, err := tx.Volumes(ctx, store.Ordered, product.Slug, orderedRegions)
	if err != nil {
		return f, g, err
	}
	f.ShippedCNMO, f.ShippedUS = vols["CN"], vols["US"]
	return f, g, nil
}

// customerApplication returns the application that stands for the buyer as
// a customer: the newest approved (or suspended, revoked) one, else the newest.
func customerApplication(ctx context.Context, tx store.Tx, buyer domain.ID) (domain.Application, bool, error) {
	apps, err := store.List[domain.Application](ctx, tx, store.KindApplication, store.DocFilter{PartyID: buyer})
	if err != nil || len(apps) == 0 {
		return domain.Application{}, false, err
	}
	for i := len(apps) - 1; i >= 0; i-- {
		switch apps[i].Status {
		case domain.AppApproved, domain.AppSuspended, domain.AppRevoked:
			return apps[i], true, nil
		}
	}
	return apps[len(apps)-1], true, nil
}

func approvalOf(st domain.ApplicationStatus) policy.Approval {
	switch st {
	case domain.AppApproved:
		return policy.ApprovalApproved
	case domain.AppDenied:
		return policy.ApprovalDenied
	case domain.AppRevoked, domain.AppSuspended:
		return policy.ApprovalRevoked
	}
	return policy.ApprovalPending
}

// grantTerms is what picking a license or a permit looks at.
type grantTerms struct {
	jurisdiction string
	products     []string
	status       domain.GrantStatus
	from, till   time.Time
	remaining    int64
}

func licenseTerms(l *domain.License) grantTerms {
	return grantTerms{l.Jurisdiction, l.Products, l.Status, l.ValidFrom, l.ValidUntil, l.Remaining}
}

func permitTerms(p *domain.ImportPermit) grantTerms {
	return grantTerms{p.Jurisdiction, p.Products, p.Status, p.ValidFrom, p.ValidUntil, p.Remaining}
}

// pickGrants returns, locked, the grants of kind an order for product
// would draw on, one per jurisdiction: an active one valid now with the
// most units left; failing that, one covering the product (so the decision
// can say why it does not serve). The buyer's grants are read locked, so
// the ones picked are current and stay so until the transaction ends.
func pickGrants[T any](ctx context.Context, tx store.Tx, kind store.Kind, f store.DocFilter, terms func(*T) grantTerms, product string, now time.Time) ([]*T, error) {
	f.ForUpdate = true
	all, err := store.List[T](ctx, tx, kind, f)
	if err != nil {
		return nil, err
	}
	usable := func(g grantTerms) bool {
		return g.status == domain.GrantActive && !now.Before(g.from) && now.Before(g.till)
	}
	var best []*T
	var bestTerms []grantTerms
	for i := range all {
		g := terms(&all[i])
		if !slices.Contains(g.products, product) {
			continue
		}
		j := slices.IndexFunc(bestTerms, func(b grantTerms) bool { return b.jurisdiction == g.jurisdiction })
		switch {
		case j < 0:
			best, bestTerms = append(best, &all[i]), append(bestTerms, g)
		case usable(g) && !usable(bestTerms[j]), usable(g) == usable(bestTerms[j]) && g.remaining > bestTerms[j].remaining:
			best[j], bestTerms[j] = &all[i], g
		}
	}
	return best, nil
}

// condition returns the compiled CEL condition, compiling each expression
// once per policy: cel-go evaluates a compiled program in about 100 ns, but
// compiling costs far more, so it must never happen per order.
func (s *Service) condition(pol *policy.Policy, expr string) (policy.Condition, error) {
	key := condKey{pol, expr}
	if c, ok := s.conds.Load(key); ok {
		return c.(policy.Condition), nil
	}
	c, err := pol.CompileCondition(expr)
	if err != nil {
		return c, fmt.Errorf("service: stored condition %q no longer compiles: %w", expr, err)
	}
	s.conds.Store(key, c)
	return c, nil
}

type condKey struct {
	pol  *policy.Policy
	expr string
}

func (s *Service) conditions(pol *policy.Policy, exprs []string) ([]policy.Condition, error) {
	var out []policy.Condition
	for _, e := range exprs {
		c, err := s.condition(pol, e)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (s *Service) policyLicense(pol *policy.Policy, l *domain.License) (*policy.License, error) {
	conds, err := s.conditions(pol, l.Conditions)
	if err != nil {
		return nil, err
	}
	return &policy.License{ID: l.Number, Jurisdiction: l.Jurisdiction, Status: policy.GrantStatus(l.Status), Products: l.Products, Destinations: l.Destinations,
		Remaining: l.Remaining, ValidFrom: l.ValidFrom, ValidUntil: l.ValidUntil, Conditions: conds}, nil
}

func (s *Service) policyPermit(pol *policy.Policy, p *domain.ImportPermit) (*policy.ImportPermit, error) {
	conds, err := s.conditions(pol, p.Conditions)
	if err != nil {
		return nil, err
	}
	return &policy.ImportPermit{ID: p.Number, Jurisdiction: p.Jurisdiction, Status: policy.GrantStatus(p.Status), Remaining: p.Remaining, ValidFrom: p.ValidFrom, ValidUntil: p.ValidUntil,
		AllowedUses: p.AllowedUses, CloudOnly: p.CloudOnly, ExcludedSectors: p.ExcludedSectors, Conditions: conds}, nil
}

// authorityPolicy returns the policy in force and the jurisdiction who,
// an authority, speaks for in it: one snapshot for the whole command.
func (s *Service) authorityPolicy(ctx context.Context, who domain.Actor) (*policy.Policy, string, error) {
	pol := s.policy.Load()
	if pol == nil {
		return nil, "", domain.Errorf(domain.EUNAVAILABLE, "no policy loaded")
	}
	jur, err := s.authorityJurisdiction(ctx, pol, who, who.Role)
	return pol, jur, err
}

// authorityJurisdiction returns the jurisdiction of the policy the actor's
// party speaks for; the system (an operator command, the demo loader)
// speaks for the first jurisdiction of the actor's role. Returns
// EUNAUTHORIZED for a party that speaks for none.
func (s *Service) authorityJurisdiction(ctx context.Context, pol *policy.Policy, who domain.Actor, role domain.Role) (string, error) {
	if isSystem(who) {
		for _, j := range pol.Jurisdictions() {
			if j.Authority.Role == string(role) {
				return j.ID, nil
			}
		}
		return "", nil
	}
	party, err := s.committedParty(ctx, who.PartyID)
	if err != nil {
		return "", err
	}
	j, ok := pol.JurisdictionOf(who.Role, party.Country)
	if !ok {
		return "", domain.Errorf(domain.EUNAUTHORIZED, "%s (%s, %s) speaks for no jurisdiction of policy %s", who.PartySlug, who.Role, party.Country, pol.Name())
	}
	return j.ID, nil
}

// ReviewOrder releases or rejects a held order. An authority speaks only
// for its own jurisdiction: a release lifts that jurisdiction's releasable
// holds, then decides the order again under the rules, grants and volumes
// as they are now (with every earlier release), so that another
// jurisdiction's requirement (a missing import permit), the volume cap and
// what changed since the order was placed are checked afresh. The order is
// accepted (drawing its grants) when nothing holds it any more, and stays
// held, with the release recorded, while another jurisdiction's hold
// remains. Callers: the export and import authorities. Returns
// EUNAUTHORIZED for an authority that speaks for no jurisdiction of the
// policy; ECONFLICT for an order that is not held, a release that lifts
// nothing of the authority's (naming the holds that remain), a decision
// that now rejects the order (naming why), or a reject by an authority whose
// jurisdiction has no say in the order; EINVALID for a bad decision or
// reason.
func (s *Service) ReviewOrder(ctx context.Context, who domain.Actor, id domain.ID, decision, reason string) (domain.Order, error) {
	if err := authorizeWork(who, ActOrderReview, routineWork); err != nil {
		return domain.Order{}, err
	}
	if decision != "release" && decision != "reject" {
		return domain.Order{}, domain.Invalid("decision", "must be release or reject")
	}
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 4000 {
		return domain.Order{}, domain.Invalid("reason", "required, at most 4000 bytes")
	}
	pol, jur, err := s.authorityPolicy(ctx, who)
	if err != nil {
		return domain.Order{}, err
	}
	now := s.Now()
	rules := pol.At(now)
	var o domain.Order
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		o, err = store.Get[domain.Order](ctx, tx, store.KindOrder, id, true)
		if err != nil {
			return err
		}
		if err := s.visibleIn(ctx, tx, who, o.BuyerID, "order "+id.String()); err != nil {
			return err
		}
		if o.Status != domain.OrderHeld {
			return domain.Errorf(domain.ECONFLICT, "order is %s; only a held order is released or rejected", o.Status)
		}
		if _, say := o.Decision.ByJurisdiction()[jur]; !say {
			return domain.Errorf(domain.ECONFLICT, "no rule of %s has a say in this order; %s cannot %s it", jur, who.PartySlug, decision)
		}
		o.Notes = append(o.Notes, domain.Note{At: now, By: who.PartySlug, Kind: decision, Text: reason})
		o.UpdatedAt = now
		if decision == "reject" {
			o.Status = domain.OrderRejected
		} else if err := s.release(ctx, tx, rules, pol, &o, domain.Release{Jurisdiction: jur, By: who.PartySlug, At: now, Reason: reason}, now); err != nil {
			return err
		}
		if err := put(ctx, tx, store.KindOrder, false, orderDoc(o), o); err != nil {
			return err
		}
		return s.record(ctx, tx, who, now, "order."+string(o.Status), "order", o.ID.String(), o)
	})
	return o, err
}

// release decides a held order again with rel added to its releases and
// settles it.
func (s *Service) release(ctx context.Context, tx store.Tx, rules policy.Rules, pol *policy.Policy, o *domain.Order, rel domain.Release, now time.Time) error {
	buyer, err := tx.Party(ctx, o.BuyerID)
	if err != nil {
		return err
	}
	product, err := tx.ProductBySlug(ctx, o.Product)
	if err != nil {
		return err
	}
	facts, g, err := s.orderFacts(ctx, tx, pol, buyer, product, orderTerms{o.Quantity - o.Shipped, o.Site, o.EndUse}, now)
	if err != nil {
		return err
	}
	releases := append(slices.Clone(o.Releases), rel)
	facts.Released = releases
	d := rules.DecideOrder(facts)
	switch d.Outcome {
	case domain.Rejected:
		return domain.Errorf(domain.ECONFLICT, "the order cannot be released: decided again now, it is rejected (%s)", reasonsText(d.Blocking()))
	case domain.HeldForReview:
		lifted := slices.ContainsFunc(d.Reasons, func(r domain.Reason) bool { return r.Lifted() && r.Jurisdiction == rel.Jurisdiction })
		if !lifted {
			return domain.Errorf(domain.ECONFLICT, "nothing %s may release holds this order; it stays held by %s", rel.Jurisdiction, reasonsText(d.Blocking()))
		}
	}
	o.Releases = releases
	return s.settle(ctx, tx, o, d, g, now)
}

// reasonsText writes reasons as "rule (jurisdiction): message; …".
func reasonsText(rs []domain.Reason) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.Rule
		if r.Jurisdiction != "" {
			parts[i] += " (" + r.Jurisdiction + ")"
		}
		parts[i] += ": " + r.Message
	}
	return strings.Join(parts, "; ")
}

// orderDestination is the country of the order's site.
func (s *Service) orderDestination(ctx context.Context, tx store.Tx, o domain.Order) (string, error) {
	if app, ok, err := customerApplication(ctx, tx, o.BuyerID); err != nil {
		return "", err
	} else if ok && o.Site < len(app.Sites) {
		return app.Sites[o.Site].Country, nil
	}
	p, err := tx.Party(ctx, o.BuyerID)
	return p.Country, err
}

// CancelOrder cancels a held or accepted order; an accepted one gives the
// units it has not shipped back to its grants and the volume count (units
// already in shipments stay counted: they are on their way and must not be
// ordered a second time). When the cancelled units counted toward the
// volume cap's denominator (US end users), the room of the capped regions
// shrinks: the newest acceptances that no longer fit go back to held (see
// rebalanceCap). Callers: the buyer that placed it. Returns ENOTFOUND for
// another buyer's order; ECONFLICT for an order in a final state or one
// whose every unit is already shipped.
func (s *Service) CancelOrder(ctx context.Context, who domain.Actor, id domain.ID, reason string) (domain.Order, error) {
	if err := authorizeWork(who, ActOrderCancel, routineWork); err != nil {
		return domain.Order{}, err
	}
	rules, err := s.rulesNow()
	if err != nil {
		return domain.Order{}, err
	}
	now := s.Now()
	var o domain.Order
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		o, err = store.Get[domain.Order](ctx, tx, store.KindOrder, id, true)
		if err != nil {
			return err
		}
		if err := authorizeFor(who, ActOrderCancel, o.BuyerID, "order "+id.String()); err != nil {
			return err
		}
		if err := domain.Transition("order", o.Status, domain.OrderCancelled, domain.OrderMoves); err != nil {
			return err
		}
		if o.Status == domain.OrderAccepted && o.Shipped >= o.Quantity {
			return domain.Errorf(domain.ECONFLICT, "every unit of the order is shipped; nothing is left to cancel")
		}
		if err := s.giveBack(ctx, tx, o, now); err != nil {
			return err
		}
		shrinks := o.Status == domain.OrderAccepted && o.Decision.Region == rules.Region("US")
		o.Status, o.UpdatedAt = domain.OrderCancelled, now
		if r := strings.TrimSpace(reason); r != "" {
			o.Notes = append(o.Notes, domain.Note{At: now, By: who.PartySlug, Kind: "cancel", Text: r})
		}
		if err := put(ctx, tx, store.KindOrder, false, orderDoc(o), o); err != nil {
			return err
		}
		if err := s.record(ctx, tx, who, now, "order.cancelled", "order", o.ID.String(), o); err != nil {
			return err
		}
		if shrinks {
			return s.rebalanceCap(ctx, tx, rules, o, now)
		}
		return nil
	})
	return o, err
}

// rebalanceCap restores the volume cap after units left its denominator
// (a US order of a controlled chip cancelled): while a capped region's
// accepted units exceed its share of the US units, its newest acceptance
// with unshipped units goes back to held, giving those units back, with
// the cap rule as the reason and a note telling the buyer why. Units
// already shipped stay counted; they cannot be called back. Rule
// volume.cn-mo-cap, docs/POLICY.md.
func (s *Service) rebalanceCap(ctx context.Context, tx store.Tx, rules policy.Rules, cause domain.Order, now time.Time) error {
	vc, rule, ok := rules.VolumeCapRule()
	if !ok {
		return nil
	}
	// Decisions cap only the chips the classification controls: an EAR99
	// chip's Chinese acceptances never passed the cap and owe it nothing.
	product, err := tx.ProductBySlug(ctx, cause.Product)
	if err != nil {
		return err
	}
	if !rules.Controls(product.Spec) {
		return nil
	}
	vols, err := tx.Volumes(ctx, store.Ordered, cause.Product, orderedRegions)
	if err != nil {
		return err
	}
	us := vols[rules.Region("US")]
	var accepted []domain.Order
	for _, region := range vc.Regions {
		limit := policy.ShareOf(vc.ShareOfUS.Rate(), us)
		if vols[region] <= limit {
			continue
		}
		if accepted == nil {
			// Rare (a US cancellation after the capped regions filled
			// their room): read the accepted orders once, newest first.
			if accepted, err = store.List[domain.Order](ctx, tx, store.KindOrder, store.DocFilter{Status: []string{string(domain.OrderAccepted)}, ForUpdate: true}); err != nil {
				return err
			}
			// Newest acceptance first; among equal instants, the one
			// placed later.
			slices.Reverse(accepted)
			slices.SortStableFunc(accepted, func(a, b domain.Order) int { return acceptedAt(b).Compare(acceptedAt(a)) })
		}
		for i := range accepted {
			if vols[region] <= limit {
				break
			}
			o := &accepted[i]
			unshipped := o.Quantity - o.Shipped
			if o.Status != domain.OrderAccepted || o.Product != cause.Product || o.Decision.Region != region || unshipped <= 0 {
				continue
			}
			if err := s.giveBack(ctx, tx, *o, now); err != nil {
				return err
			}
			vols[region] -= unshipped
			msg := fmt.Sprintf("held again: order %s cancelled %d US units; %s units %d (after giving back this order's %d unshipped) against %s of %d US units = %d",
				cause.ID, cause.Quantity-cause.Shipped, region, vols[region]+unshipped, unshipped, vc.ShareOfUS.Rate(), us, limit)
			o.Decision.Reasons = append(o.Decision.Reasons, domain.Reason{Rule: rule.ID, Source: rule.Source, Jurisdiction: rule.Jurisdiction,
				Outcome: domain.HeldForReview, Message: msg})
			o.Decision.Outcome = domain.HeldForReview // its grants are drawn no more
			o.Status, o.UpdatedAt, o.LicenseID, o.PermitID, o.Drawn = domain.OrderHeld, now, nil, nil, nil
			o.Notes = append(o.Notes, domain.Note{At: now, By: "system", Kind: "held", Text: msg})
			if err := put(ctx, tx, store.KindOrder, false, orderDoc(*o), *o); err != nil {
				return err
			}
			if err := s.record(ctx, tx, domain.SystemActor, now, "order.held_for_review", "order", o.ID.String(), *o); err != nil {
				return err
			}
		}
	}
	return nil
}

// acceptedAt is when an order was accepted (its placing, for orders from
// before the time was kept).
func acceptedAt(o domain.Order) time.Time {
	if o.AcceptedAt != nil {
		return *o.AcceptedAt
	}
	return o.PlacedAt
}

// OrdersPage reads one page of orders (newest first unless q.Asc): a
// buyer's own; all for the authorities and the vendor, optionally one
// party's; optionally only those in the states given (the export
// authority's queue is the held ones) and created in q's range. Returns
// EINVALID naming limit, cursor, status or party.
func (s *Service) OrdersPage(ctx context.Context, who domain.Actor, q domain.ListQuery) (domain.Page[domain.Order], error) {
	if err := authorize(who, ActOrderRead); err != nil {
		return domain.Page[domain.Order]{}, err
	}
	pq, err := checkQuery(who, q, orderStates, grants[ActOrderRead][who.Role])
	if err != nil {
		return domain.Page[domain.Order]{}, err
	}
	if err := s.within(ctx, who, &pq.f); err != nil {
		return domain.Page[domain.Order]{}, err
	}
	return viewOf(ctx, s.store, func(tx store.Tx) (domain.Page[domain.Order], error) {
		return pageOf[domain.Order](ctx, tx, store.KindOrder, pq)
	})
}

// Orders lists every order the reader may see (as OrdersPage), oldest
// first, optionally only those in the states given. It is not cut short:
// readers of a program of any size page with OrdersPage.
func (s *Service) Orders(ctx context.Context, who domain.Actor, states []string) ([]domain.Order, error) {
	if err := authorize(who, ActOrderRead); err != nil {
		return nil, err
	}
	f := store.DocFilter{Status: states}
	if grants[ActOrderRead][who.Role] == own {
		f.PartyID = who.PartyID
	}
	if err := s.within(ctx, who, &f); err != nil {
		return nil, err
	}
	return viewOf(ctx, s.store, func(tx store.Tx) ([]domain.Order, error) {
		return store.List[domain.Order](ctx, tx, store.KindOrder, f)
	})
}

// Order returns one order to those who may see it (ENOTFOUND otherwise).
func (s *Service) Order(ctx context.Context, who domain.Actor, id domain.ID) (domain.Order, error) {
	if err := authorize(who, ActOrderRead); err != nil {
		return domain.Order{}, err
	}
	o, err := viewOf(ctx, s.store, func(tx store.Tx) (domain.Order, error) {
		return store.Get[domain.Order](ctx, tx, store.KindOrder, id, false)
	})
	if err != nil {
		return o, err
	}
	if err := authorizeFor(who, ActOrderRead, o.BuyerID, "order "+id.String()); err != nil {
		return domain.Order{}, err
	}
	return o, s.visible(ctx, who, o.BuyerID, "order "+id.String())
}

// VolumeGauge is one product's standing under the volume cap, read from
// the very counters the decisions read: units accepted (ordered) and units
// exported per region, and for the capped region the most each may reach.
type VolumeGauge struct {
	Product  string           `json:"product"`
	Accepted map[string]int64 `json:"accepted"`
	Exported map[string]int64 `json:"exported"`
	// Rule, Region and Share name the cap, when one is in force.
	Rule   string      `json:"rule,omitempty"`
	Region string      `json:"region,omitempty"`
	Share  domain.Rate `json:"share_ppm,omitempty"`
	// AcceptedLimit and ExportedLimit are Share of the US units of each
	// counter, rounded down.
	AcceptedLimit int64 `json:"accepted_limit,omitempty"`
	ExportedLimit int64 `json:"exported_limit,omitempty"`
}

// VolumeGauges reads every product's volume counters under the rules in
// force. Callers: those who read every order (the authorities, the vendor).
func (s *Service) VolumeGauges(ctx context.Context, who domain.Actor) ([]VolumeGauge, error) {
	if err := authorize(who, ActOrderRead); err != nil {
		return nil, err
	}
	if grants[ActOrderRead][who.Role] != all && !isSystem(who) {
		return nil, domain.Errorf(domain.EFORBIDDEN, "%s may not read the program's volumes", who.Role)
	}
	rules, err := s.rulesNow()
	if err != nil {
		return nil, err
	}
	products, err := s.Products(ctx, who)
	if err != nil {
		return nil, err
	}
	vc, rule, capped := rules.VolumeCapRule()
	us := rules.Region("US")
	return viewOf(ctx, s.store, func(tx store.Tx) ([]VolumeGauge, error) {
		var out []VolumeGauge
		for _, p := range products {
			g := VolumeGauge{Product: p.Slug}
			var err error
			if g.Accepted, err = tx.ReadVolumes(ctx, store.Ordered, p.Slug); err != nil {
				return nil, err
			}
			if g.Exported, err = tx.ReadVolumes(ctx, store.Shipped, p.Slug); err != nil {
				return nil, err
			}
			if capped && len(vc.Regions) > 0 {
				g.Rule, g.Region, g.Share = rule.ID, vc.Regions[0], vc.ShareOfUS.Rate()
				g.AcceptedLimit, g.ExportedLimit = policy.ShareOf(g.Share, g.Accepted[us]), policy.ShareOf(g.Share, g.Exported[us])
			}
			out = append(out, g)
		}
		return out, nil
	})
}
