package service

import (
	"context"
	"slices"
	"strings"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
)

// HearingRequest opens a demand hearing for one product and period.
type HearingRequest struct {
	Title       string `json:"title"`
	Product     string `json:"product"`
	PeriodStart string `json:"period_start"`
	PeriodEnd   string `json:"period_end"`
}

// OpenHearing opens a demand hearing. Callers: the importing authority;
// EFORBIDDEN for anyone else. Returns EINVALID naming the field (product for
// an unknown product).
func (s *Service) OpenHearing(ctx context.Context, who domain.Actor, in HearingRequest) (domain.Hearing, error) {
	if err := authorizeWork(who, ActHearingManage, routineWork); err != nil {
		return domain.Hearing{}, err
	}
	in.Title = strings.TrimSpace(in.Title)
	if in.Title == "" || len(in.Title) > 300 {
		return domain.Hearing{}, domain.Invalid("title", "required, at most 300 bytes")
	}
	from, err := parseDate("period_start", in.PeriodStart)
	if err != nil {
		return domain.Hearing{}, err
	}
	until, err := parseDate("period_end", in.PeriodEnd)
	if err != nil {
		return domain.Hearing{}, err
	}
	if !until.After(from) {
		return domain.Hearing{}, domain.Invalid("period_end", "must be after period_start")
	}
	now := s.Now()
	h := domain.Hearing{ID: newID(), AuthorityID: who.PartyID, Title: in.Title, Product: in.Product, PeriodStart: from, PeriodEnd: until,
		Status: "open", CreatedAt: now, UpdatedAt: now}
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		if _, err := productByRef(ctx, tx, in.Product); err != nil {
			return domain.Invalid("product", "no product %q", in.Product)
		}
		if err := put(ctx, tx, store.KindHearing, true, hearingDoc(h), h); err != nil {
			return err
		}
		return s.record(ctx, tx, who, now, "hearing.opened", "hearing", h.ID.String(), h)
	})
	return h, err
}

func hearingDoc(h domain.Hearing) store.Doc {
	return store.Doc{ID: h.ID, PartyID: h.AuthorityID, Status: h.Status, CreatedAt: h.CreatedAt, UpdatedAt: h.UpdatedAt}
}

// FilingRequest is a buyer's answer to a hearing.
type FilingRequest struct {
	Units         int64    `json:"forecast_units"`
	Uses          []string `json:"uses"`
	Justification string   `json:"justification,omitempty"`
}

// FileDemand records a buyer's forecast in an open hearing, replacing its
// earlier filing. Callers: buyers; EFORBIDDEN for other roles. Returns
// EINVALID naming the field, ENOTFOUND for an unknown hearing, ECONFLICT
// once the hearing closed.
func (s *Service) FileDemand(ctx context.Context, who domain.Actor, id domain.ID, in FilingRequest) (domain.Filing, error) {
	if err := authorizeWork(who, ActHearingFile, routineWork); err != nil {
		return domain.Filing{}, err
	}
	if in.Units < 0 || in.Units > 100_000_000 {
		return domain.Filing{}, domain.Invalid("forecast_units", "must be between 0 and 100,000,000")
	}
	in.Uses = domain.CleanList(in.Uses)
	if len(in.Uses) == 0 || len(in.Uses) > 20 {
		return domain.Filing{}, domain.Invalid("uses", "between 1 and 20 required")
	}
	if len(in.Justification) > 8000 {
		return domain.Filing{}, domain.Invalid("justification", "at most 8000 bytes")
	}
	f := domain.Filing{BuyerID: who.PartyID, Buyer: who.PartySlug, Units: in.Units, Uses: in.Uses, Justification: strings.TrimSpace(in.Justification), FiledAt: s.Now()}
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		h, err := store.Get[domain.Hearing](ctx, tx, store.KindHearing, id, true)
		if err != nil {
			return err
		}
		if h.Status != "open" {
			return domain.Errorf(domain.ECONFLICT, "hearing is %s; filings are closed", h.Status)
		}
		h.Filings = slices.DeleteFunc(h.Filings, func(x domain.Filing) bool { return x.BuyerID == who.PartyID })
		h.Filings = append(h.Filings, f)
		h.UpdatedAt = f.FiledAt
		if err := put(ctx, tx, store.KindHearing, false, hearingDoc(h), h); err != nil {
			return err
		}
		return s.record(ctx, tx, who, f.FiledAt, "hearing.filed", "hearing", h.ID.String(), f)
	})
	return f, err
}

// CloseHearing closes a hearing to filings. Callers: the importing
// authority; EFORBIDDEN for anyone else. Returns ENOTFOUND for an unknown
// hearing, ECONFLICT for one closed already.
func (s *Service) CloseHearing(ctx context.Context, who domain.Actor, id domain.ID) (domain.Hearing, error) {
	if err := authorizeWork(who, ActHearingManage, routineWork); err != nil {
		return domain.Hearing{}, err
	}
	var h domain.Hearing
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		h, err = store.Get[domain.Hearing](ctx, tx, store.KindHearing, id, true)
		if err != nil {
			return err
		}
		if h.Status != "open" {
			return domain.Errorf(domain.ECONFLICT, "hearing is %s; it cannot be closed", h.Status)
		}
		h.Status, h.UpdatedAt = "closed", s.Now()
		if err := put(ctx, tx, store.KindHearing, false, hearingDoc(h), h); err != nil {
			return err
		}
		return s.record(ctx, tx, who, h.UpdatedAt, "hearing.closed", "hearing", h.ID.String(), h)
	})
	return h, err
}

// HearingView is a hearing as one reader may see it: the authority sees
// every filing and the totals; a buyer only its own filing.
type HearingView struct {
	domain.Hearing
	TotalUnits int64            `json:"total_units,omitempty"`
	ByUse      map[string]int64 `json:"units_by_use,omitempty"`
}

// HearingsPage reads one page of hearings (newest first unless q.Asc) with
// what the reader may see of them, filtered by status and creation. Every
// reader lists every hearing (a buyer files in any): q.Party is refused.
// Callers: the importing authority and buyers; EFORBIDDEN for other roles.
func (s *Service) HearingsPage(ctx context.Context, who domain.Actor, q domain.ListQuery) (domain.Page[HearingView], error) {
	if err := authorize(who, ActHearingRead); err != nil {
		return domain.Page[HearingView]{}, err
	}
	if q.Party != "" {
		return domain.Page[HearingView]{}, domain.Invalid("party", "hearings are not listed by party")
	}
	pq, err := checkQuery(who, q, hearingStates, all)
	if err != nil {
		return domain.Page[HearingView]{}, err
	}
	p, err := viewOf(ctx, s.store, func(tx store.Tx) (domain.Page[domain.Hearing], error) {
		return pageOf[domain.Hearing](ctx, tx, store.KindHearing, pq)
	})
	return mapPage(p, func(h domain.Hearing) HearingView { return s.hearingView(who, h) }), err
}

// Hearings lists the hearings with what the reader may see of them.
// Callers: the importing authority and buyers; EFORBIDDEN for other roles.
func (s *Service) Hearings(ctx context.Context, who domain.Actor) ([]HearingView, error) {
	if err := authorize(who, ActHearingRead); err != nil {
		return nil, err
	}
	var hs []domain.Hearing
	if err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		hs, err = store.List[domain.Hearing](ctx, tx, store.KindHearing, store.DocFilter{})
		return err
	}); err != nil {
		return nil, err
	}
	out := make([]HearingView, len(hs))
	for i, h := range hs {
		out[i] = s.hearingView(who, h)
	}
	return out, nil
}

// Hearing returns one hearing as the reader may see it. Callers: the
// importing authority and buyers; EFORBIDDEN for other roles. Returns
// ENOTFOUND for an unknown hearing.
func (s *Service) Hearing(ctx context.Context, who domain.Actor, id domain.ID) (HearingView, error) {
	if err := authorize(who, ActHearingRead); err != nil {
		return HearingView{}, err
	}
	h, err := viewOf(ctx, s.store, func(tx store.Tx) (domain.Hearing, error) {
		return store.Get[domain.Hearing](ctx, tx, store.KindHearing, id, false)
	})
	return s.hearingView(who, h), err
}

func (s *Service) hearingView(who domain.Actor, h domain.Hearing) HearingView {
	if grants[ActHearingRead][who.Role] != all && !isSystem(who) {
		h.Filings = slices.DeleteFunc(h.Filings, func(f domain.Filing) bool { return f.BuyerID != who.PartyID })
		return HearingView{Hearing: h}
	}
	v := HearingView{Hearing: h, ByUse: map[string]int64{}}
	for _, f := range h.Filings {
		v.TotalUnits += f.Units
		for _, u := range f.Uses {
			v.ByUse[u] += f.Units
		}
	}
	return v
}
