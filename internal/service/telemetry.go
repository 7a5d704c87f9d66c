package service

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/telemetry"
)

// CheckInRequest is a device's report.
type CheckInRequest struct {
	Serial  string             `json:"serial"`
	Site    int                `json:"site"`    // index of the site in the buyer's application
	Country string             `json:"country"` // where the device says it is
	RTTs    map[string]float64 `json:"rtt_ms,omitempty"`
}

// CheckIn records a device check-in and raises alerts for the export
// authority when the serial was never shipped, checks in from a site other
// than its licensed one, reports round-trip times that make its claimed
// site impossible, or appears at two places; the check-in and its alerts
// commit together. Callers: the buyer whose devices report (for any serial:
// an unknown serial is itself a signal), and the vendor's telemetry;
// EFORBIDDEN for other roles. Returns EINVALID naming serial, country, site,
// rtt_ms (more than 50) or rtt_ms.<landmark> (unknown, or not a round-trip
// time).
func (s *Service) CheckIn(ctx context.Context, who domain.Actor, in CheckInRequest) (domain.CheckIn, []domain.Alert, error) {
	if err := authorize(who, ActCheckIn); err != nil {
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
	watch, err := telemetry.Load()
	if err != nil {
		return domain.CheckIn{}, nil, err
	}
	for name, ms := range in.RTTs {
		if _, ok := watch.Landmark(name); !ok {
			return domain.CheckIn{}, nil, domain.Invalid("rtt_ms."+name, "no landmark %q", name)
		}
		if !(ms > 0 && ms < 10000) {
			return domain.CheckIn{}, nil, domain.Invalid("rtt_ms."+name, "must be between 0 and 10,000 ms")
		}
	}
	rules, err := s.rulesNow()
	if err != nil {
		return domain.CheckIn{}, nil, err
	}
	now := s.Now()
	c := domain.CheckIn{ID: newID(), At: now, By: who.PartySlug, Serial: in.Serial, Site: in.Site, Country: in.Country, RTTs: in.RTTs}
	var alerts []domain.Alert
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		raise := func(kind string, sh *domain.Shipment, evidence ...string) {
			a := domain.Alert{ID: newID(), Kind: kind, Serial: in.Serial, Evidence: evidence, State: domain.AlertOpen, CreatedAt: now, UpdatedAt: now}
			if sh != nil {
				a.ShipmentID, a.Buyer = &sh.ID, sh.Buyer
			}
			alerts = append(alerts, a)
		}
		shipID, err := tx.SerialShipment(ctx, in.Serial)
		switch {
		case domain.ErrorCode(err) == domain.ENOTFOUND:
			raise("unshipped_serial", nil, fmt.Sprintf("serial %s was never shipped, yet checked in from %s (site %d) as reported by %s", in.Serial, in.Country, in.Site, who.PartySlug))
		case err != nil:
			return err
		default:
			sh, err := store.Get[domain.Shipment](ctx, tx, store.KindShipment, shipID, false)
			if err != nil {
				return err
			}
			if sh.Status != domain.ShipDelivered {
				raise("undelivered_serial", &sh, fmt.Sprintf("serial %s of shipment %s checked in from %s while the shipment is %s in %s", in.Serial, sh.Number, in.Country, sh.Status, sh.Route[sh.Leg]))
			}
			if in.Site != sh.Site || in.Country != sh.Destination {
				raise("site_mismatch", &sh, fmt.Sprintf("serial %s is licensed to %s site %d in %s; it checked in from site %d in %s", in.Serial, sh.Buyer, sh.Site, sh.Destination, in.Site, in.Country))
			}
			if len(in.RTTs) > 0 {
				geo, ok := rules.Geolocation()
				app, found, err := customerApplication(ctx, tx, sh.BuyerID)
				if err != nil {
					return err
				}
				if ok && found && in.Site < len(app.Sites) && app.Sites[in.Site].Lat != nil {
					site := app.Sites[in.Site]
					bad, err := telemetry.CheckSite(*site.Lat, *site.Lon, in.RTTs, watch, geo.FiberKMPerMSOneWay)
					if err != nil {
						return domain.Invalid("rtt_ms", "%v", err)
					}
					for _, b := range bad {
						raise("impossible_location", &sh, fmt.Sprintf("an RTT of %.1f ms to %s puts the device within %.0f km of it (fiber, %g km/ms one way); the claimed site %q is %.0f km away",
							b.RTTMS, b.Landmark, b.MaxKM, geo.FiberKMPerMSOneWay, site.Address, b.DistanceKM))
					}
				}
			}
			if prev, err := tx.LastCheckIn(ctx, in.Serial); err == nil {
				var p domain.CheckIn
				if json.Unmarshal(prev, &p) == nil && (p.Site != in.Site || p.Country != in.Country) {
					raise("two_places", &sh, fmt.Sprintf("serial %s checked in from site %d in %s on %s and from site %d in %s on %s",
						in.Serial, p.Site, p.Country, p.At.Format(time.RFC3339), in.Site, in.Country, now.Format(time.RFC3339)))
				}
			} else if domain.ErrorCode(err) != domain.ENOTFOUND {
				return err
			}
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
// checked in for the watch's silence period (from its delivery or its last
// check-in), once per serial while the alert is open or escalated. Callers:
// the export authority and the operator; EFORBIDDEN for anyone else. Returns
// the alerts raised.
func (s *Service) SweepSilence(ctx context.Context, who domain.Actor) ([]domain.Alert, error) {
	if err := authorize(who, ActAlertManage); err != nil {
		return nil, err
	}
	watch, err := telemetry.Load()
	if err != nil {
		return nil, err
	}
	now := s.Now()
	limit := time.Duration(watch.SilenceDays) * 24 * time.Hour
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
				if now.Sub(last) <= limit {
					continue
				}
				open, err := tx.ListDocs(ctx, store.KindAlert, store.DocFilter{Ref: "silent_serial:" + sn, Status: []string{string(domain.AlertOpen), string(domain.AlertEscalated)}, Limit: 1})
				if err != nil {
					return err
				}
				if len(open) > 0 {
					continue
				}
				raised = append(raised, domain.Alert{ID: newID(), Kind: "silent_serial", Serial: sn, ShipmentID: &sh.ID, Buyer: sh.Buyer, State: domain.AlertOpen,
					Evidence:  []string{fmt.Sprintf("serial %s of shipment %s has been silent since its %s on %s (%d days; the watch allows %d)", sn, sh.Number, lastWhat, last.Format(time.DateOnly), int(now.Sub(last).Hours()/24), watch.SilenceDays)},
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
	if err := authorize(who, ActAlertManage); err != nil {
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
