package service

import (
	"context"
	"slices"

	"github.com/chipgate/chipgate/internal/allocation"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
)

// Reads bounded by jurisdiction. An import authority reads the records of
// the buyers located in the countries of the jurisdiction it speaks for
// (China's import regime: buyers in CN), and no other buyer's: a US or EU
// buyer's applications, licenses, orders and shipments, with their duty,
// are no business of China's regulator. Everyone else reads as the
// authorization matrix says (grants). The bound applies on top of it, to
// lists (a store filter, so that pages stay exact) and to single reads
// (ENOTFOUND, as for another buyer's record).

// bounded reports whether who's reads are bounded by jurisdiction.
func bounded(who domain.Actor) bool { return who.Role == domain.RoleImportAuthority }

// inJurisdiction reports whether party lies in the countries of the
// jurisdiction who speaks for.
func (s *Service) inJurisdiction(ctx context.Context, who domain.Actor, party domain.Party) (bool, error) {
	if party.ID == who.PartyID {
		return true, nil
	}
	pol := s.policy.Load()
	if pol == nil {
		return false, domain.Errorf(domain.EUNAVAILABLE, "no policy loaded")
	}
	self, err := s.committedParty(ctx, who.PartyID)
	if err != nil {
		return false, err
	}
	j, ok := pol.JurisdictionOf(who.Role, self.Country)
	return ok && slices.Contains(j.Authority.Countries, party.Country), nil
}

// jurisdictionParties returns the parties whose records who may read
// when its reads are bounded (ok true), and ok false when they are not.
func (s *Service) jurisdictionParties(ctx context.Context, who domain.Actor) (out []domain.Party, ok bool, err error) {
	if !bounded(who) {
		return nil, false, nil
	}
	parties, err := viewOf(ctx, s.store, func(tx store.Tx) ([]domain.Party, error) { return tx.Parties(ctx) })
	if err != nil {
		return nil, true, err
	}
	for _, p := range parties {
		in, err := s.inJurisdiction(ctx, who, p)
		if err != nil {
			return nil, true, err
		}
		if in {
			out = append(out, p)
		}
	}
	return out, true, nil
}

// within narrows a document filter to the parties who may read, when its
// reads are bounded; it leaves f alone otherwise.
func (s *Service) within(ctx context.Context, who domain.Actor, f *store.DocFilter) error {
	parties, ok, err := s.jurisdictionParties(ctx, who)
	if err != nil || !ok {
		return err
	}
	f.Within = make([]domain.ID, len(parties))
	for i, p := range parties {
		f.Within[i] = p.ID
	}
	return nil
}

// boundRun is an allocation run as who may read it: for a reader bounded
// by jurisdiction, only the orders, allocations, caps and outlook of its
// jurisdiction's buyers (the metrics and the inputs' hash stay those of
// the whole run); the run itself for anyone else.
func (s *Service) boundRun(ctx context.Context, who domain.Actor, r AllocationRun) (AllocationRun, error) {
	parties, ok, err := s.jurisdictionParties(ctx, who)
	if err != nil || !ok {
		return r, err
	}
	keep := map[string]bool{}
	for _, p := range parties {
		keep[p.Slug] = true
	}
	orders := map[string]bool{}
	r.Problem.Orders = slices.DeleteFunc(slices.Clone(r.Problem.Orders), func(o allocation.Order) bool {
		orders[o.ID] = keep[o.Buyer]
		return !keep[o.Buyer]
	})
	r.Problem.Caps.Licenses = slices.DeleteFunc(slices.Clone(r.Problem.Caps.Licenses), func(l allocation.License) bool { return !keep[l.Buyer] })
	r.Problem.Caps.Permits = slices.DeleteFunc(slices.Clone(r.Problem.Caps.Permits), func(p allocation.Permit) bool { return !keep[p.Buyer] })
	if r.Problem.Caps.Buyer != nil {
		caps := map[string]int64{}
		for b, n := range r.Problem.Caps.Buyer {
			if keep[b] {
				caps[b] = n
			}
		}
		r.Problem.Caps.Buyer = caps
	}
	r.Result.Allocations = slices.DeleteFunc(slices.Clone(r.Result.Allocations), func(a allocation.Allocation) bool { return !orders[a.Order] })
	r.Result.Unmet = slices.DeleteFunc(slices.Clone(r.Result.Unmet), func(u allocation.Unmet) bool { return !orders[u.Order] })
	r.Outlook.Orders = slices.DeleteFunc(slices.Clone(r.Outlook.Orders), func(o allocation.OrderOutlook) bool { return !keep[o.Buyer] })
	r.Outlook.Buyers = slices.DeleteFunc(slices.Clone(r.Outlook.Buyers), func(b allocation.BuyerOutlook) bool { return !keep[b.Buyer] })
	return r, nil
}

// visible returns nil when who may read a record of owner as far as
// jurisdiction goes, and ENOTFOUND naming what otherwise.
func (s *Service) visible(ctx context.Context, who domain.Actor, owner domain.ID, what string) error {
	if !bounded(who) {
		return nil
	}
	p, err := s.committedParty(ctx, owner)
	if err != nil {
		return err
	}
	if ok, err := s.inJurisdiction(ctx, who, p); err != nil || !ok {
		return cmpErr(err, domain.Errorf(domain.ENOTFOUND, "%s not found", what))
	}
	return nil
}

// visibleIn is visible for a caller inside a transaction: it reads the
// owner in tx (the actor's own party was read before the transaction, by
// whatever decided its jurisdiction, and is cached).
func (s *Service) visibleIn(ctx context.Context, tx store.Tx, who domain.Actor, owner domain.ID, what string) error {
	if !bounded(who) {
		return nil
	}
	p, err := tx.Party(ctx, owner)
	if err != nil {
		return err
	}
	if ok, err := s.inJurisdiction(ctx, who, p); err != nil || !ok {
		return cmpErr(err, domain.Errorf(domain.ENOTFOUND, "%s not found", what))
	}
	return nil
}

// cmpErr is err when there is one, else fallback.
func cmpErr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}
