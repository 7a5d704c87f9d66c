package service

import (
	"context"
	"fmt"
	"strings"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
)

// PermitRequest is the importing authority's decision on a buyer's imports:
// a permit (a quota for a period, with its use restrictions) or a denial.
type PermitRequest struct {
	Buyer           string   `json:"buyer"`
	Decision        string   `json:"decision"` // grant or deny
	Products        []string `json:"products"`
	Quantity        int64    `json:"quantity"`
	ValidFrom       string   `json:"valid_from"`
	ValidUntil      string   `json:"valid_until"`
	AllowedUses     []string `json:"allowed_uses,omitempty"`
	CloudOnly       bool     `json:"cloud_only"`
	ExcludedSectors []string `json:"excluded_sectors,omitempty"`
	Conditions      []string `json:"conditions,omitempty"`
	Reason          string   `json:"reason,omitempty"`
}

// DecidePermit grants an import permit or records a denial. Callers: the
// importing authority; EFORBIDDEN for anyone else. Returns EINVALID naming
// the field (buyer for a party that is not a registered buyer).
func (s *Service) DecidePermit(ctx context.Context, who domain.Actor, in PermitRequest) (domain.ImportPermit, error) {
	if err := authorizeWork(who, ActPermitManage, decisiveWork); err != nil {
		return domain.ImportPermit{}, err
	}
	if in.Decision != "grant" && in.Decision != "deny" {
		return domain.ImportPermit{}, domain.Invalid("decision", "must be grant or deny")
	}
	if in.Decision == "deny" && strings.TrimSpace(in.Reason) == "" {
		return domain.ImportPermit{}, domain.Invalid("reason", "required to deny")
	}
	if len(in.Reason) > 4000 {
		return domain.ImportPermit{}, domain.Invalid("reason", "at most 4000 bytes")
	}
	pol := s.policy.Load()
	if pol == nil {
		return domain.ImportPermit{}, domain.Errorf(domain.EUNAVAILABLE, "no policy loaded")
	}
	// The permit answers the requirement of the regime the authority
	// speaks for, and no other's.
	jur, err := s.authorityJurisdiction(ctx, pol, who, domain.RoleImportAuthority)
	if err != nil {
		return domain.ImportPermit{}, err
	}
	now := s.Now()
	var p domain.ImportPermit
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		buyer, err := requireParty(ctx, tx, in.Buyer, domain.RoleBuyer)
		if err != nil {
			return domain.Invalid("buyer", "%s", domain.ErrorMessage(err))
		}
		id := newID()
		p = domain.ImportPermit{ID: id, Number: fmt.Sprintf("IP-%d-%s", now.Year(), strings.ToUpper(id.String()[24:])),
			AuthorityID: who.PartyID, Jurisdiction: jur, BuyerID: buyer.ID, Buyer: buyer.Slug, Reason: strings.TrimSpace(in.Reason), IssuedAt: now, UpdatedAt: now}
		if in.Decision == "deny" {
			p.Status = domain.GrantDenied
		} else {
			if err := s.fillPermit(ctx, tx, &p, in); err != nil {
				return err
			}
			p.Status = domain.GrantActive
		}
		if err := put(ctx, tx, store.KindPermit, true, permitDoc(p), p); err != nil {
			return err
		}
		return s.record(ctx, tx, who, now, "permit."+string(p.Status), "permit", p.ID.String(), p)
	})
	return p, err
}

func (s *Service) fillPermit(ctx context.Context, tx store.Tx, p *domain.ImportPermit, in PermitRequest) error {
	if len(in.Products) == 0 {
		return domain.Invalid("products", "at least one product")
	}
	for i, slug := range in.Products {
		if _, err := productByRef(ctx, tx, slug); err != nil {
			return domain.Invalid(fmt.Sprintf("products[%d]", i), "no product %q", slug)
		}
	}
	if in.Quantity <= 0 || in.Quantity > 100_000_000 {
		return domain.Invalid("quantity", "must be between 1 and 100,000,000")
	}
	from, err := parseDate("valid_from", in.ValidFrom)
	if err != nil {
		return err
	}
	until, err := parseDate("valid_until", in.ValidUntil)
	if err != nil {
		return err
	}
	if !until.After(from) {
		return domain.Invalid("valid_until", "must be after valid_from")
	}
	for i, c := range in.Conditions {
		if _, err := s.policy.Load().CompileCondition(c); err != nil {
			return domain.Invalid(fmt.Sprintf("conditions[%d]", i), "%v", err)
		}
	}
	p.Products, p.Quantity, p.Remaining, p.ValidFrom, p.ValidUntil = in.Products, in.Quantity, in.Quantity, from, until
	p.AllowedUses, p.CloudOnly, p.ExcludedSectors, p.Conditions = domain.CleanList(in.AllowedUses), in.CloudOnly, domain.CleanList(in.ExcludedSectors), in.Conditions
	return nil
}

func permitDoc(p domain.ImportPermit) store.Doc {
	return store.Doc{ID: p.ID, PartyID: p.BuyerID, Status: string(p.Status), CreatedAt: p.IssuedAt, UpdatedAt: p.UpdatedAt}
}

// RevokePermit revokes an active permit. Callers: the importing authority;
// EFORBIDDEN for anyone else. Returns EINVALID for a missing reason,
// ENOTFOUND for an unknown permit, ECONFLICT for a permit revoked or denied.
func (s *Service) RevokePermit(ctx context.Context, who domain.Actor, id domain.ID, reason string) (domain.ImportPermit, error) {
	if err := authorizeWork(who, ActPermitManage, decisiveWork); err != nil {
		return domain.ImportPermit{}, err
	}
	if strings.TrimSpace(reason) == "" || len(reason) > 4000 {
		return domain.ImportPermit{}, domain.Invalid("reason", "required, at most 4000 bytes")
	}
	var p domain.ImportPermit
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		p, err = store.Get[domain.ImportPermit](ctx, tx, store.KindPermit, id, true)
		if err != nil {
			return err
		}
		if err := domain.Transition("permit", p.Status, domain.GrantRevoked, domain.GrantMoves); err != nil {
			return err
		}
		p.Status, p.UpdatedAt, p.Reason = domain.GrantRevoked, s.Now(), strings.TrimSpace(reason)
		if err := put(ctx, tx, store.KindPermit, false, permitDoc(p), p); err != nil {
			return err
		}
		return s.record(ctx, tx, who, p.UpdatedAt, "permit.revoked", "permit", p.ID.String(), p)
	})
	return p, err
}

// PermitsPage reads one page of import permits (newest first unless
// q.Asc): a buyer's own; all for the authorities and the vendor (optionally
// one party's); filtered by q. Returns EINVALID naming limit, cursor, status
// or party; EFORBIDDEN for the lab, carriers and auditors.
func (s *Service) PermitsPage(ctx context.Context, who domain.Actor, q domain.ListQuery) (domain.Page[domain.ImportPermit], error) {
	if err := authorize(who, ActPermitRead); err != nil {
		return domain.Page[domain.ImportPermit]{}, err
	}
	pq, err := checkQuery(who, q, grantStates, grants[ActPermitRead][who.Role])
	if err != nil {
		return domain.Page[domain.ImportPermit]{}, err
	}
	if err := s.within(ctx, who, &pq.f); err != nil {
		return domain.Page[domain.ImportPermit]{}, err
	}
	return viewOf(ctx, s.store, func(tx store.Tx) (domain.Page[domain.ImportPermit], error) {
		return pageOf[domain.ImportPermit](ctx, tx, store.KindPermit, pq)
	})
}

// Permits lists import permits: a buyer's own; all for the authorities and
// the vendor. Callers: those; EFORBIDDEN for the lab, carriers and auditors.
func (s *Service) Permits(ctx context.Context, who domain.Actor) ([]domain.ImportPermit, error) {
	if err := authorize(who, ActPermitRead); err != nil {
		return nil, err
	}
	f := store.DocFilter{}
	if grants[ActPermitRead][who.Role] == own {
		f.PartyID = who.PartyID
	}
	if err := s.within(ctx, who, &f); err != nil {
		return nil, err
	}
	return viewOf(ctx, s.store, func(tx store.Tx) ([]domain.ImportPermit, error) {
		return store.List[domain.ImportPermit](ctx, tx, store.KindPermit, f)
	})
}
