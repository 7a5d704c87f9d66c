package service

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/internal/store"
)

// CheckInRequest is a device's report.
type CheckInRequest struct {
	Serial  string             `json:"serial"`
	Site    int                `json:"site"`    // index of the site in the buyer's application
	Country string             `json:"country"` // where the device says it is
	RTTs    map[string]float64 `json:"rtt_ms,omitempty"`
}

// CheckIn records a device check-in, has the policy assess it
// (policy.Rules.AssessCheckIn) and raises an alert for the export
// authority when the serial was never shipped, checks in from a site other
// than its licensed one, reports round-trip times that make its claimed
// site impossible, or appears at two places; each alert names who reported
// it and the check-in it rests on; the check-in and its alerts commit
// together. Callers: the buyer that owns the device (the serial shipped to
// it), and the vendor's telemetry service acting for any device (an
// unknown serial is itself a signal); EFORBIDDEN for other roles, ENOTFOUND
// for a buyer's check-in of a serial never shipped to it, before anything
// about the serial is said or written; EFORBIDDEN citing the attestation
// rule when the policy no longer accepts self-reported check-ins
// (policy.Rules.SelfReportedCheckIns). Returns EINVALID naming serial,
// country, site, rtt_ms (more than 50) or rtt_ms.<landmark> (unknown, or
// not a round-trip time).
func (s *Service) CheckIn(ctx context.Context, who domain.Actor, in CheckInRequest) (domain.CheckIn, []domain.Alert, error) {
	if err := authorizeWork(who, ActCheckIn, routineWork); err != nil {
		return domain.CheckIn{}, nil, err
	}
	if !serialRe.MatchString(in.Serial) {
		return domain.CheckIn{}, nil, domain.Invalid("serial", "must be 1-64 letters, digits or dashes")
	}
	if !domain.ValidCountry(in.Country) {
		return domain.CheckIn{}, nil, domain.Invalid("country", "must be an ISO 3166-1 alpha-2 code")
	}
	if in.Site < 0 {
		return domain.CheckIn{}, nil, domain.Invalid("site", "must not be negative")
	}
	if len(in.RTTs) > 50 {
		return domain.CheckIn{}, nil, domain.Invalid("rtt_ms", "at most 50 round-trip times")
	}
	rules, err := s.rulesNow()
	if err != nil {
		return domain.CheckIn{}, nil, err
	}
	if ok, why := rules.SelfReportedCheckIns(); !ok {
		return domain.CheckIn{}, nil, domain.Errorf(domain.EFORBIDDEN, "%s (rule %s, source %s)", why.Message, why.Rule, why.Source)
	}
	for name, ms := range in.RTTs {
		if _, ok := rules.Landmark(name); !ok {
			return domain.CheckIn{}, nil, domain.Invalid("rtt_ms."+name, "no landmark %q", name)
		}
		if !(ms > 0 && ms < 10000) {
			return domain.CheckIn{}, nil, domain.Invalid("rtt_ms."+name, "must be between 0 and 10,000 ms")
		}
	}
	now := s.Now()
	c := domain.CheckIn{ID: newID(), At: now, By: who.PartySlug, Role: who.Role, Serial: in.Serial, Site: in.Site, Country: in.Country, RTTs: in.RTTs}
	var alerts []domain.Alert
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		shipID, err := tx.SerialShipment(ctx, in.Serial)
		if err != nil && domain.ErrorCode(err) != domain.ENOTFOUND {
			return err
		}
		f := policy.CheckInFacts{At: now, Serial: in.Serial, Reporter: who.PartySlug, Country: in.Country, Site: in.Site, RTTs: in.RTTs, Shipped: err == nil}
		var sh *domain.Shipment
		if f.Shipped {
			got, err := store.Get[domain.Shipment](ctx, tx, store.KindShipment, shipID, false)
			if err != nil {
				return err
			}
			sh = &got
		}
		if who.Role == domain.RoleBuyer && (sh == nil || sh.BuyerID != who.PartyID) {
			// A buyer speaks for its own devices only: another's serial,
			// or one never shipped, is not found, and nothing is written.
			return domain.Errorf(domain.ENOTFOUND, "serial not found")
		}
		if sh != nil {
			f.ShipmentNumber, f.Buyer, f.Status, f.Where = sh.Number, sh.Buyer, sh.Status, sh.Route[sh.Leg]
			f.Destination, f.LicensedSite = sh.Destination, sh.Site
			if len(in.RTTs) > 0 {
				app, found, err := customerApplication(ctx, tx, sh.BuyerID)
				if err != nil {
					return err
				}
				if found && in.Site < len(app.Sites) && app.Sites[in.Site].Lat != nil {
					site := app.Sites[in.Site]
					f.SiteLat, f.SiteLon, f.SiteAddress = site.Lat, site.Lon, site.Address
				}
			}
			if prev, err := tx.LastCheckIn(ctx, in.Serial); err == nil {
				var p domain.CheckIn
				if json.Unmarshal(prev, &p) == nil {
					f.Previous = &policy.PreviousCheckIn{At: p.At, Site: p.Site, Country: p.Country}
				}
			} else if domain.ErrorCode(err) != domain.ENOTFOUND {
				return err
			}
		}
		findings, err := rules.AssessCheckIn(f)
		if err != nil {
			return domain.Invalid("rtt_ms", "%v", err)
		}
		for _, fd := range findings {
			a := domain.Alert{ID: newID(), Kind: fd.Kind, Serial: in.Serial, ReportedBy: who.PartySlug, ReporterRole: who.Role, CheckInID: &c.ID,
				Evidence: []string{fd.Reason.Message}, Reasons: []domain.Reason{fd.Reason}, State: domain.AlertOpen, CreatedAt: now, UpdatedAt: now}
			if sh != nil {
				a.ShipmentID, a.Buyer = &sh.ID, sh.Buyer
			}
			alerts = append(alerts, a)
		}
		body, err := json.Marshal(c)
		if err != nil {
			return err
		}
		if err := tx.AddCheckIn(ctx, c.ID, c.Serial, now, body); err != nil {
			return err
		}
		if err := s.record(ctx, tx, who, now, "checkin.received", "serial", c.Serial, c); err != nil {
			return err
		}
		return s.saveAlerts(ctx, tx, who, alerts)
	})
	return c, alerts, err
}

func (s *Service) saveAlerts(ctx context.Context, tx store.Tx, who domain.Actor, alerts []domain.Alert) error {
	for _, a := range alerts {
		if err := put(ctx, tx, store.KindAlert, true, alertDoc(a, s.authorityOf(ctx, tx)), a); err != nil {
			return err
		}
		if err := s.record(ctx, tx, who, a.CreatedAt, "alert.raised", "alert", a.ID.String(), a); err != nil {
			return err
		}
	}
	return nil
}

// authorityOf returns the export authority's party id, to whom alerts go;
// the zero id when none is registered.
func (s *Service) authorityOf(ctx context.Context, tx store.Tx) domain.ID {
	ps, err := tx.Parties(ctx)
	if err != nil {
		return domain.ID{}
	}
	for _, p := range ps {
		if p.Role == domain.RoleExportAuthority {
			return p.ID
		}
	}
	return domain.ID{}
}

func alertDoc(a domain.Alert, owner domain.ID) store.Doc {
	return store.Doc{ID: a.ID, PartyID: owner, Ref: a.Kind + ":" + a.Serial, Status: string(a.State), CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
}

// patternAlerts raise an enforcement-pattern alert for a new shipment whose
// consignee or route matches the diversion cases (S10): a freight
// forwarder as consignee, a destination or stop in a transshipment hub.
func (s *Service) patternAlerts(ctx context.Context, tx store.Tx, who domain.Actor, sh domain.Shipment, now time.Time) error {
	var evidence []string
	if app, ok, err := customerApplication(ctx, tx, sh.BuyerID); err != nil {
		return err
	} else if ok {
		for _, f := range app.Flags {
			if f.Code == "freight_forwarder" {
				evidence = append(evidence, "consignee looks like a freight forwarder: "+f.Evidence)
			}
		}
	}
	if rf, ok := s.policy.Load().At(now).RedFlags(); ok {
		for _, c := range sh.Route {
			if slices.Contains(rf.TransshipmentHubs, c) {
				evidence = append(evidence, fmt.Sprintf("the route %s passes %s, a known transshipment hub", strings.Join(sh.Route, " → "), c))
			}
		}
	}
	if len(evidence) == 0 {
		return nil
	}
	return s.saveAlerts(ctx, tx, who, []domain.Alert{{ID: newID(), Kind: "enforcement_pattern", ShipmentID: &sh.ID, Buyer: sh.Buyer,
		Evidence: evidence, State: domain.AlertOpen, CreatedAt: now, UpdatedAt: now}})
}

// SweepSilence raises an alert for every delivered serial that has not
// checked in for the watch's silence period (policy.Rules.AssessSilence) (from its delivery or its last
// check-in), once per serial while the alert is open or escalated. Callers:
// the export authority and the operator; EFORBIDDEN for anyone else. Returns
// the alerts raised.
func (s *Service) SweepSilence(ctx context.Context, who domain.Actor) ([]domain.Alert, error) {
	if err := authorizeWork(who, ActAlertManage, routineWork); err != nil {
		return nil, err
	}
	rules, err := s.rulesNow()
	if err != nil {
		return nil, err
	}
	now := s.Now()
	var raised []domain.Alert
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		ships, err := store.List[domain.Shipment](ctx, tx, store.KindShipment, store.DocFilter{Status: []string{string(domain.ShipDelivered)}})
		if err != nil {
			return err
		}
		for _, sh := range ships {
			delivered := sh.UpdatedAt
			for _, ev := range sh.Events {
				if ev.Kind == "delivered" {
					delivered = ev.At
				}
			}
			for _, sn := range sh.Serials {
				last, lastWhat := delivered, "delivery"
				if prev, err := tx.LastCheckIn(ctx, sn); err == nil {
					var p domain.CheckIn
					if json.Unmarshal(prev, &p) == nil && p.At.After(last) {
						last, lastWhat = p.At, "last check-in"
					}
				} else if domain.ErrorCode(err) != domain.ENOTFOUND {
					return err
				}
				fd, silent := rules.AssessSilence(policy.SilenceFacts{At: now, Serial: sn, ShipmentNumber: sh.Number, Last: last, LastWhat: lastWhat})
				if !silent {
					continue
				}
				open, err := tx.ListDocs(ctx, store.KindAlert, store.DocFilter{Ref: "silent_serial:" + sn, Status: []string{string(domain.AlertOpen), string(domain.AlertEscalated)}, Limit: 1})
				if err != nil {
					return err
				}
				if len(open) > 0 {
					continue
				}
				raised = append(raised, domain.Alert{ID: newID(), Kind: fd.Kind, Serial: sn, ShipmentID: &sh.ID, Buyer: sh.Buyer, State: domain.AlertOpen,
					ReportedBy: who.PartySlug, ReporterRole: who.Role, Evidence: []string{fd.Reason.Message}, Reasons: []domain.Reason{fd.Reason},
					CreatedAt: now, UpdatedAt: now})
			}
		}
		return s.saveAlerts(ctx, tx, who, raised)
	})
	return raised, err
}

// AlertsPage reads one page of alerts (newest first unless q.Asc),
// filtered by q. Callers: the export authority; EFORBIDDEN for anyone
// else. Returns EINVALID naming limit, cursor, status or party.
func (s *Service) AlertsPage(ctx context.Context, who domain.Actor, q domain.ListQuery) (domain.Page[domain.Alert], error) {
	if err := authorize(who, ActAlertManage); err != nil {
		return domain.Page[domain.Alert]{}, err
	}
	pq, err := checkQuery(who, q, alertStates, all)
	if err != nil {
		return domain.Page[domain.Alert]{}, err
	}
	return viewOf(ctx, s.store, func(tx store.Tx) (domain.Page[domain.Alert], error) {
		return pageOf[domain.Alert](ctx, tx, store.KindAlert, pq)
	})
}

// Alerts lists every alert, oldest first, optionally in the given states.
// Callers: the export authority; EFORBIDDEN for anyone else.
func (s *Service) Alerts(ctx context.Context, who domain.Actor, states []string) ([]domain.Alert, error) {
	if err := authorize(who, ActAlertManage); err != nil {
		return nil, err
	}
	return viewOf(ctx, s.store, func(tx store.Tx) ([]domain.Alert, error) {
		return store.List[domain.Alert](ctx, tx, store.KindAlert, store.DocFilter{Status: states})
	})
}

// ChangeAlert marks an alert explained or escalated, with a note. Callers:
// the export authority; EFORBIDDEN for anyone else. Returns EINVALID naming
// state or note, ENOTFOUND for an unknown alert, ECONFLICT naming the state
// for a move the lifecycle does not allow.
func (s *Service) ChangeAlert(ctx context.Context, who domain.Actor, id domain.ID, state domain.AlertState, note string) (domain.Alert, error) {
	if err := authorizeWork(who, ActAlertManage, routineWork); err != nil {
		return domain.Alert{}, err
	}
	if state != domain.AlertExplained && state != domain.AlertEscalated {
		return domain.Alert{}, domain.Invalid("state", "must be explained or escalated")
	}
	if strings.TrimSpace(note) == "" || len(note) > 4000 {
		return domain.Alert{}, domain.Invalid("note", "required, at most 4000 bytes")
	}
	var a domain.Alert
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		a, err = store.Get[domain.Alert](ctx, tx, store.KindAlert, id, true)
		if err != nil {
			return err
		}
		if err := domain.Transition("alert", a.State, state, domain.AlertMoves); err != nil {
			return err
		}
		a.State, a.UpdatedAt = state, s.Now()
		a.Notes = append(a.Notes, domain.Note{At: a.UpdatedAt, By: who.PartySlug, Kind: string(state), Text: strings.TrimSpace(note)})
		if err := put(ctx, tx, store.KindAlert, false, alertDoc(a, s.authorityOf(ctx, tx)), a); err != nil {
			return err
		}
		return s.record(ctx, tx, who, a.UpdatedAt, "alert."+string(state), "alert", a.ID.String(), a)
	})
	return a, err
}
