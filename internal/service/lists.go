package service

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/screening"
	"github.com/chipgate/chipgate/internal/store"
)

// ListReload is a new restricted-party list version offered for reload,
// with what loading it found and whether an officer overrides the
// integrity checks.
type ListReload struct {
	// Skipped is the number of records that failed to parse.
	Skipped int
	// Force accepts a version the checks refuse; Reason (required with it)
	// is recorded in the ledger.
	Force  bool
	Reason string
}

// ListVersion is the record of one list version the service accepted or
// refused: its size and, when refused, why.
type ListVersion struct {
	ID       domain.ID `json:"id"`
	At       time.Time `json:"at"`
	Status   string    `json:"status"` // "accepted" or "refused"
	Entities int       `json:"entities"`
	Skipped  int       `json:"skipped"`
	Refusal  []string  `json:"refusal,omitempty"`
	Forced   bool      `json:"forced,omitempty"`
	Reason   string    `json:"reason,omitempty"`
}

// lastGoodKey names the settings entry that keeps the last accepted list
// version (a small JSON record), so that a new version is checked against
// it across processes; every accepted, forced or refused version is also
// in the ledger.
const lastGoodKey = "screening.lists.last_good"

// lastGoodVersion returns the last accepted list version, if any.
func lastGoodVersion(ctx context.Context, tx store.Tx) (ListVersion, bool, error) {
	raw, err := tx.LedgerMeta(ctx, lastGoodKey)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return ListVersion{}, false, nil
	}
	if err != nil {
		return ListVersion{}, false, err
	}
	var v ListVersion
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return ListVersion{}, false, fmt.Errorf("service: last good list version: %w", err)
	}
	return v, true, nil
}

// listRefusals checks a new list version against the last good one: no
// record may fail to parse, the version may not shrink by more than the
// policy's max_list_shrink, and every listed entity an open hit (potential
// or confirmed) points to must still be there.
func (s *Service) listRefusals(ctx context.Context, tx store.Tx, ix *screening.Index, opt ListReload, last ListVersion, hasLast bool) ([]string, error) {
	var why []string
	if opt.Skipped > 0 {
		why = append(why, fmt.Sprintf("%d records failed to parse", opt.Skipped))
	}
	if hasLast && last.Entities > 0 {
		rules, err := s.rulesNow()
		if err != nil {
			return nil, err
		}
		if p, id, ok := rules.Screening(); ok && p.MaxListShrink > 0 {
			if lost := float64(last.Entities-ix.Len()) / float64(last.Entities); lost > p.MaxListShrink {
				why = append(why, fmt.Sprintf("shrinks from %d to %d entities (%.0f%%; rule %s allows %.0f%%)",
					last.Entities, ix.Len(), 100*lost, id, 100*p.MaxListShrink))
			}
		}
	}
	listed := map[string]bool{}
	for _, e := range ix.Entities() {
		src := e.PrimarySource()
		listed[src.List+"\x00"+src.ID] = true
	}
	apps, err := store.List[domain.Application](ctx, tx, store.KindApplication, store.DocFilter{Limit: 1 << 30})
	if err != nil {
		return nil, err
	}
	var lost []string
	for _, a := range apps {
		for _, h := range a.Screening.Hits {
			if h.Review == "false_positive" || listed[h.List+"\x00"+h.SourceID] {
				continue
			}
			lost = append(lost, fmt.Sprintf("%s %s (%s, open hit on %s)", h.List, h.SourceID, h.Name, a.Buyer))
		}
	}
	if len(lost) > 0 {
		more := ""
		if len(lost) > 3 {
			more = fmt.Sprintf(" and %d more", len(lost)-3)
			lost = lost[:3]
		}
		why = append(why, "loses listed entities with open hits: "+strings.Join(lost, "; ")+more)
	}
	return why, nil
}

// ReloadListsWith is ReloadLists for a list version with what loading it
// found. A version that fails the integrity checks (records that did not
// parse, shrinking by more than the policy allows, losing entities that
// carry open hits) is refused: the lists in force stay, the refusal is
// recorded and an alert goes to the export authority, and the error
// (ECONFLICT) says why. opt.Force with a Reason accepts it anyway, and the
// override is recorded in the ledger.
func (s *Service) ReloadListsWith(ctx context.Context, who domain.Actor, ix *screening.Index, opt ListReload) (RescreenReport, error) {
	if err := authorizeWork(who, ActListsReload, routineWork); err != nil {
		return RescreenReport{}, err
	}
	opt.Reason = strings.TrimSpace(opt.Reason)
	if opt.Force && opt.Reason == "" {
		return RescreenReport{}, domain.Invalid("reason", "is required with force: say why this list version is accepted despite the checks")
	}
	var refused []string
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		last, hasLast, err := lastGoodVersion(ctx, tx)
		if err != nil {
			return err
		}
		if cur := s.screen.Load(); cur != nil && !hasLast {
			// The lists this process started with are the last good ones.
			last, hasLast = ListVersion{Entities: cur.Len()}, true
		}
		why, err := s.listRefusals(ctx, tx, ix, opt, last, hasLast)
		if err != nil {
			return err
		}
		now := s.Now()
		v := ListVersion{ID: newID(), At: now, Status: "accepted", Entities: ix.Len(), Skipped: opt.Skipped, Refusal: why}
		if len(why) > 0 && !opt.Force {
			v.Status = "refused"
			refused = why
		}
		if len(why) > 0 && opt.Force {
			v.Forced, v.Reason = true, opt.Reason
		}
		if v.Status == "accepted" {
			body, err := json.Marshal(v)
			if err != nil {
				return err
			}
			if err := tx.SetLedgerMeta(ctx, lastGoodKey, string(body)); err != nil {
				return err
			}
		}
		action := "lists.accepted"
		switch {
		case v.Status == "refused":
			action = "lists.refused"
		case v.Forced:
			action = "lists.forced"
		}
		if err := s.record(ctx, tx, who, now, action, "list_version", v.ID.String(), v); err != nil {
			return err
		}
		if v.Status == "refused" && s.authorityOf(ctx, tx) != (domain.ID{}) {
			return s.saveAlerts(ctx, tx, who, []domain.Alert{{ID: newID(), Kind: "list_refused", State: domain.AlertOpen,
				Evidence: why, CreatedAt: now, UpdatedAt: now}})
		}
		return nil
	})
	if err != nil {
		return RescreenReport{}, err
	}
	if len(refused) > 0 {
		return RescreenReport{}, domain.Errorf(domain.ECONFLICT, "new list version refused, the lists in force stay: %s (override with force and a reason)", strings.Join(refused, "; "))
	}
	return s.ReloadLists(ctx, who, ix)
}
