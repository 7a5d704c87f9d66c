package service

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/internal/screening"
	"github.com/chipgate/chipgate/internal/store"
)

// Policy returns the policy in force for new commands.
func (s *Service) Policy() *policy.Policy { return s.policy.Load() }

// SetPolicy swaps in a new policy; commands already running keep the one
// they started with.
func (s *Service) SetPolicy(p *policy.Policy) { s.policy.Store(p) }

// Screening returns the restricted-party index in use, or nil.
func (s *Service) Screening() *screening.Index { return s.screen.Load() }

// SetScreening swaps in a new restricted-party index, built off to the side
// (its address index too, so that no transaction waits for it).
func (s *Service) SetScreening(ix *screening.Index) {
	ix.PrepareAddresses()
	s.screen.Store(ix)
}

// rules returns the rules in force at the service's current instant.
func (s *Service) rulesNow() (policy.Rules, error) {
	p := s.policy.Load()
	if p == nil {
		return policy.Rules{}, domain.Errorf(domain.EUNAVAILABLE, "no policy loaded")
	}
	return p.At(s.Now()), nil
}

// put writes a document of kind for v: the JSON body plus its lookup columns.
func put(ctx context.Context, tx store.Tx, kind store.Kind, create bool, d store.Doc, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("service: encode %s: %w", kind, err)
	}
	d.Body = body
	return tx.PutDoc(ctx, kind, d, create)
}

// requireParty returns the party with the slug (or id), EINVALID when it
// is not a party of role, ENOTFOUND when there is none.
func requireParty(ctx context.Context, tx store.Tx, slug string, role domain.Role) (domain.Party, error) {
	p, err := partyByRef(ctx, tx, slug)
	if err != nil {
		return p, err
	}
	if p.Role != role {
		return p, domain.Errorf(domain.EINVALID, "party %s is a %s, not a %s", p.Slug, p.Role, role)
	}
	return p, nil
}

// atOrNow parses an optional ?at= instant (YYYY-MM-DD or RFC 3339); empty
// means now.
func (s *Service) atOrNow(at string) (time.Time, error) {
	if at == "" {
		return s.Now(), nil
	}
	if t, err := time.Parse(time.DateOnly, at); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, at)
	if err != nil {
		return time.Time{}, domain.Invalid("at", "must be a date YYYY-MM-DD or an RFC 3339 instant")
	}
	return t.UTC(), nil
}

// Classification classifies a catalog product under the rules in force at
// an instant (at "" for now): TPP, PD, ECCN and the status per destination
// with the rule ids behind it. Callers: every role. Returns ENOTFOUND for an
// unknown product, EINVALID for a bad instant.
func (s *Service) Classification(ctx context.Context, who domain.Actor, productRef, at string) (policy.Classification, error) {
	p, err := s.Product(ctx, who, productRef)
	if err != nil {
		return policy.Classification{}, err
	}
	t, err := s.atOrNow(at)
	if err != nil {
		return policy.Classification{}, err
	}
	pol := s.policy.Load()
	if pol == nil {
		return policy.Classification{}, domain.Errorf(domain.EUNAVAILABLE, "no policy loaded")
	}
	return pol.At(t).ClassifyProduct(p), nil
}

// RulesAt returns the rules in force at an instant, with their sources.
// Callers: every role: the program's rules are public. Returns EINVALID for
// a bad instant.
func (s *Service) RulesAt(ctx context.Context, who domain.Actor, at string) (policy.Rules, error) {
	if err := authorize(who, ActProductRead); err != nil {
		return policy.Rules{}, err
	}
	t, err := s.atOrNow(at)
	if err != nil {
		return policy.Rules{}, err
	}
	pol := s.policy.Load()
	if pol == nil {
		return policy.Rules{}, domain.Errorf(domain.EUNAVAILABLE, "no policy loaded")
	}
	return pol.At(t), nil
}
