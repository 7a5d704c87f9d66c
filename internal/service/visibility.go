package service

import (
	"context"
	"slices"

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

// within narrows a document filter to the parties who may read, when its
// reads are bounded; it leaves f alone otherwise.
func (s *Service) within(ctx context.Context, who domain.Actor, f *store.DocFilter) error {
	if !bounded(who) {
		return nil
	}
	parties, err := viewOf(ctx, s.store, func(tx store.Tx) ([]domain.Party, error) { return tx.Parties(ctx) })
	if err != nil {
		return err
	}
	f.Within = []domain.ID{}
	for _, p := range parties {
		ok, err := s.inJurisdiction(ctx, who, p)
		if err != nil {
			return err
		}
		if ok {
			f.Within = append(f.Within, p.ID)
		}
	}
	return nil
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

// cmpErr is err when there is one, else fallback.
func cmpErr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}
