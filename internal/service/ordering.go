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

// PlaceOrder decides and records one order with the policy in force at this
// instant: the buyer's approval and screening, its license and remaining
// quantity, its import permit and remaining quota, the red flags and the
// volume cap. An accepted order depletes the license and the permit in the
// same transaction. Callers: buyers, for themselves. Returns EINVALID naming
// the field for a bad request; a rejection is not an error but a decision.
func (s *Service) PlaceOrder(ctx context.Context, who domain.Actor, in OrderRequest) (domain.Order, error) {
	if err := authorize(who, ActOrderPlace); err != nil {
		return domain.Order{}, err
	}
	var pr domain.Problems
	if in.Quantity <= 0 || in.Quantity > 10_000_000 {
		pr.Add("quantity", "must be between 1 and 10,000,000")
	}
	if _, err := time.Parse(time.DateOnly, in.Period); err != nil {
		pr.Add("requested_period", "must be a date YYYY-MM-DD")
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
		facts, lic, permit, err := s.orderFacts(ctx, tx, pol, buyer, product, in, now)
		if err != nil {
			return err
		}
		d := rules.DecideOrder(facts)
		o.Decision = d
		// An order draws only on the grants the rules required of it: a
		// US customer's export license is no business of a domestic sale.
		if !d.UsesLicense {
			lic = nil
		}
		if !d.UsesPermit {
			permit = nil
		}
		switch d.Outcome {
		case policy.Accepted:
			o.Status = domain.OrderAccepted
			if err := s.commit(ctx, tx, who, &o, lic, permit, facts, now); err != nil {
				return err
			}
		case policy.HeldForReview:
			o.Status = domain.OrderHeld
		default:
			o.Status = domain.OrderRejected
		}
		if lic != nil {
			o.LicenseID = &lic.ID
		}
		if permit != nil {
			o.PermitID = &permit.ID
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

// commit depletes the license and permit and counts the units toward the
// volume cap, for an order that is being accepted.
func (s *Service) commit(ctx context.Context, tx store.Tx, who domain.Actor, o *domain.Order, lic *domain.License, permit *domain.ImportPermit, facts policy.OrderFacts, now time.Time) error {
	if lic != nil {
		if lic.Remaining < o.Quantity {
			return domain.Errorf(domain.ECONFLICT, "license %s has %d units left, fewer than the %d ordered", lic.Number, lic.Remaining, o.Quantity)
		}
		lic.Remaining -= o.Quantity
		lic.UpdatedAt = now
		if err := put(ctx, tx, store.KindLicense, false, licenseDoc(*lic), *lic); err != nil {
			return err
		}
	}
	if permit != nil {
		if permit.Remaining < o.Quantity {
			return domain.Errorf(domain.ECONFLICT, "permit %s has %d units left, fewer than the %d ordered", permit.Number, permit.Remaining, o.Quantity)
		}
		permit.Remaining -= o.Quantity
		permit.UpdatedAt = now
		if err := put(ctx, tx, store.KindPermit, false, permitDoc(*permit), *permit); err != nil {
			return err
		}
	}
	return tx.AddVolume(ctx, store.Ordered, o.Product, s.policy.Load().At(now).Region(facts.Destination), o.Quantity)
}

func orderDoc(o domain.Order) store.Doc {
	ref := ""
	if o.LicenseID != nil {
		ref = o.LicenseID.String()
	}
	return store.Doc{ID: o.ID, PartyID: o.BuyerID, Ref: ref, Status: string(o.Status), CreatedAt: o.PlacedAt, UpdatedAt: o.UpdatedAt}
}

// listedOwners are the owners screening found on a list, by owner path,
// for the ownership rules the decision applies at the order's instant:
// confirmed hits and unreviewed ones scoring at least the match score. Each
// hit names its primary list only (SDN before EL before the others).
func (s *Service) listedOwners(hits []domain.ScreeningHit) []policy.ListedOwner {
	var out []policy.ListedOwner
	at := map[string]int{}
	for _, h := range hits {
		if h.Share <= 0 || h.Review == "false_positive" || (h.Review != "confirmed" && h.Score < s.matchScore) {
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
// application, its license and permit with what remains of them, and the
// volume counters, locking those it may change.
func (s *Service) orderFacts(ctx context.Context, tx store.Tx, pol *policy.Policy, buyer domain.Party, product domain.Product, in OrderRequest, now time.Time) (policy.OrderFacts, *domain.License, *domain.ImportPermit, error) {
	f := policy.OrderFacts{At: now, Product: product.Slug, Spec: product.Spec, Quantity: in.Quantity, LaunchDate: product.LaunchDate,
		Buyer: buyer.Slug, BuyerClass: string(buyer.Class), BuyerHQ: buyer.Country, Destination: buyer.Country,
		SiteCountry: buyer.Country, EndUse: in.EndUse}

	app, ok, err := customerApplication(ctx, tx, buyer.ID)
	if err != nil {
		return f, nil, nil, err
	}
	if ok {
		if in.Site >= len(app.Sites) {
			return f, nil, nil, domain.Invalid("site", "the application lists %d site(s); no site %d", len(app.Sites), in.Site)
		}
		site := app.Sites[in.Site]
		f.Destination, f.SiteCountry, f.CloudService, f.SitePowerKW = site.Country, site.Country, site.CloudService, site.PowerMW*1000
		f.Sector, f.ParentHQ, f.KYCRemoteAccess = app.Sector, app.ParentCountry, app.KYCAttested
		f.Approval = approvalOf(app.Status)
		f.Screening = policy.Screening(app.Screening.Status)
		if app.Screening.Status == "pending" {
			f.Screening = policy.ScreeningPending
		}
		f.ListedOwners = s.listedOwners(app.Screening.Hits)
	} else if in.Site != 0 {
		return f, nil, nil, domain.Invalid("site", "the buyer has filed no application with sites")
	}

	lic, err := s.pickLicense(ctx, tx, buyer.ID, product.Slug, now)
	if err != nil {
		return f, nil, nil, err
	}
	if lic != nil {
		if f.License, err = s.policyLicense(pol, lic); err != nil {
			return f, nil, nil, err
		}
	}
	permit, err := s.pickPermit(ctx, tx, buyer.ID, product.Slug, now)
	if err != nil {
		return f, nil, nil, err
	}
	if permit != nil {
		if f.Permit, err = s.policyPermit(pol, permit); err != nil {
			return f, nil, nil, err
		}
	}
	vols, err := tx.Volumes(ctx, store.Ordered, product.Slug, orderedRegions)
	if err != nil {
		return f, nil, nil, err
	}
	f.ShippedCNMO, f.ShippedUS = vols["CN"], vols["US"]
	return f, lic, permit, nil
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
	products   []string
	status     domain.GrantStatus
	from, till time.Time
	remaining  int64
}

func licenseTerms(l *domain.License) grantTerms {
	return grantTerms{l.Products, l.Status, l.ValidFrom, l.ValidUntil, l.Remaining}
}

func permitTerms(p *domain.ImportPermit) grantTerms {
	return grantTerms{p.Products, p.Status, p.ValidFrom, p.ValidUntil, p.Remaining}
}

// pickGrant returns, locked, the grant of kind an order for product would
// draw on: an active one valid now with the most units left; failing that,
// one covering the product (so the decision can say why it does not
// serve), or nil. The buyer's grants are read locked, so the one picked is
// current and stays so until the transaction ends.
func pickGrant[T any](ctx context.Context, tx store.Tx, kind store.Kind, f store.DocFilter, terms func(*T) grantTerms, product string, now time.Time) (*T, error) {
	f.ForUpdate = true
	all, err := store.List[T](ctx, tx, kind, f)
	if err != nil {
		return nil, err
	}
	usable := func(g grantTerms) bool {
		return g.status == domain.GrantActive && !now.Before(g.from) && now.Before(g.till)
	}
	var best *T
	var bestTerms grantTerms
	for i := range all {
		g := terms(&all[i])
		if !slices.Contains(g.products, product) {
			continue
		}
		switch {
		case best == nil, usable(g) && !usable(bestTerms), usable(g) == usable(bestTerms) && g.remaining > bestTerms.remaining:
			best, bestTerms = &all[i], g
		}
	}
	return best, nil
}

func (s *Service) pickLicense(ctx context.Context, tx store.Tx, buyer domain.ID, product string, now time.Time) (*domain.License, error) {
	return pickGrant(ctx, tx, store.KindLicense, store.DocFilter{PartyID: buyer}, licenseTerms, product, now)
}

func (s *Service) pickPermit(ctx context.Context, tx store.Tx, buyer domain.ID, product string, now time.Time) (*domain.ImportPermit, error) {
	return pickGrant(ctx, tx, store.KindPermit, store.DocFilter{PartyID: buyer, Status: []string{string(domain.GrantActive), string(domain.GrantSuspended), string(domain.GrantRevoked)}},
		permitTerms, product, now)
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
	return &policy.License{ID: l.Number, Status: policy.GrantStatus(l.Status), Products: l.Products, Destinations: l.Destinations,
		Remaining: l.Remaining, ValidFrom: l.ValidFrom, ValidUntil: l.ValidUntil, Conditions: conds}, nil
}

func (s *Service) policyPermit(pol *policy.Policy, p *domain.ImportPermit) (*policy.ImportPermit, error) {
	conds, err := s.conditions(pol, p.Conditions)
	if err != nil {
		return nil, err
	}
	return &policy.ImportPermit{ID: p.Number, Status: policy.GrantStatus(p.Status), Remaining: p.Remaining, ValidFrom: p.ValidFrom, ValidUntil: p.ValidUntil,
		AllowedUses: p.AllowedUses, CloudOnly: p.CloudOnly, ExcludedSectors: p.ExcludedSectors, Conditions: conds}, nil
}

// ReviewOrder releases a held order (accepting it, which depletes the
// license and permit) or rejects it. Callers: the export authority. Returns
// ECONFLICT naming the state for an order that is not held, or when the
// license no longer has room.
func (s *Service) ReviewOrder(ctx context.Context, who domain.Actor, id domain.ID, decision, reason string) (domain.Order, error) {
	if err := authorize(who, ActOrderReview); err != nil {
		return domain.Order{}, err
	}
	to, ok := map[string]domain.OrderStatus{"release": domain.OrderAccepted, "reject": domain.OrderRejected}[decision]
	if !ok {
		return domain.Order{}, domain.Invalid("decision", "must be release or reject")
	}
	if strings.TrimSpace(reason) == "" || len(reason) > 4000 {
		return domain.Order{}, domain.Invalid("reason", "required, at most 4000 bytes")
	}
	var o domain.Order
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		o, err = store.Get[domain.Order](ctx, tx, store.KindOrder, id, true)
		if err != nil {
			return err
		}
		if err := domain.Transition("order", o.Status, to, domain.OrderMoves); err != nil {
			return err
		}
		now := s.Now()
		if to == domain.OrderAccepted {
			var lic *domain.License
			var permit *domain.ImportPermit
			if o.LicenseID != nil {
				l, err := store.Get[domain.License](ctx, tx, store.KindLicense, *o.LicenseID, true)
				if err != nil {
					return err
				}
				if l.Status != domain.GrantActive {
					return domain.Errorf(domain.ECONFLICT, "license %s is %s", l.Number, l.Status)
				}
				lic = &l
			}
			if o.PermitID != nil {
				p, err := store.Get[domain.ImportPermit](ctx, tx, store.KindPermit, *o.PermitID, true)
				if err != nil {
					return err
				}
				if p.Status != domain.GrantActive {
					return domain.Errorf(domain.ECONFLICT, "permit %s is %s", p.Number, p.Status)
				}
				permit = &p
			}
			dest, err := s.orderDestination(ctx, tx, o)
			if err != nil {
				return err
			}
			if _, err := tx.Volumes(ctx, store.Ordered, o.Product, orderedRegions); err != nil {
				return err
			}
			if err := s.commit(ctx, tx, who, &o, lic, permit, policy.OrderFacts{Destination: dest}, now); err != nil {
				return err
			}
		}
		o.Status, o.UpdatedAt = to, now
		o.Notes = append(o.Notes, domain.Note{At: now, By: who.PartySlug, Kind: decision, Text: strings.TrimSpace(reason)})
		if err := put(ctx, tx, store.KindOrder, false, orderDoc(o), o); err != nil {
			return err
		}
		return s.record(ctx, tx, who, now, "order."+string(to), "order", o.ID.String(), o)
	})
	return o, err
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
// units it has not shipped back to the license, the permit and the volume
// counts (units already in shipments stay counted: they are on their way
// and must not be ordered a second time). Callers: the buyer that placed it.
func (s *Service) CancelOrder(ctx context.Context, who domain.Actor, id domain.ID, reason string) (domain.Order, error) {
	if err := authorize(who, ActOrderCancel); err != nil {
		return domain.Order{}, err
	}
	var o domain.Order
	err := s.store.InTx(ctx, func(tx store.Tx) error {
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
		now := s.Now()
		if unshipped := o.Quantity - o.Shipped; o.Status == domain.OrderAccepted && unshipped > 0 {
			if o.LicenseID != nil {
				l, err := store.Get[domain.License](ctx, tx, store.KindLicense, *o.LicenseID, true)
				if err != nil {
					return err
				}
				l.Remaining, l.UpdatedAt = l.Remaining+unshipped, now
				if err := put(ctx, tx, store.KindLicense, false, licenseDoc(l), l); err != nil {
					return err
				}
			}
			if o.PermitID != nil {
				p, err := store.Get[domain.ImportPermit](ctx, tx, store.KindPermit, *o.PermitID, true)
				if err != nil {
					return err
				}
				p.Remaining, p.UpdatedAt = p.Remaining+unshipped, now
				if err := put(ctx, tx, store.KindPermit, false, permitDoc(p), p); err != nil {
					return err
				}
			}
			dest, err := s.orderDestination(ctx, tx, o)
			if err != nil {
				return err
			}
			if _, err := tx.Volumes(ctx, store.Ordered, o.Product, orderedRegions); err != nil {
				return err
			}
			if err := tx.AddVolume(ctx, store.Ordered, o.Product, s.policy.Load().At(now).Region(dest), -unshipped); err != nil {
				return err
			}
		}
		o.Status, o.UpdatedAt = domain.OrderCancelled, now
		if r := strings.TrimSpace(reason); r != "" {
			o.Notes = append(o.Notes, domain.Note{At: now, By: who.PartySlug, Kind: "cancel", Text: r})
		}
		if err := put(ctx, tx, store.KindOrder, false, orderDoc(o), o); err != nil {
			return err
		}
		return s.record(ctx, tx, who, now, "order.cancelled", "order", o.ID.String(), o)
	})
	return o, err
}

// Orders lists orders: a buyer's own; all for the authorities and the
// vendor; optionally only those in the states given (the export authority's
// queue is the held ones).
func (s *Service) Orders(ctx context.Context, who domain.Actor, states []string) ([]domain.Order, error) {
	if err := authorize(who, ActOrderRead); err != nil {
		return nil, err
	}
	f := store.DocFilter{Status: states, Limit: 10000}
	if grants[ActOrderRead][who.Role] == own {
		f.PartyID = who.PartyID
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
	return o, authorizeFor(who, ActOrderRead, o.BuyerID, "order "+id.String())
}
