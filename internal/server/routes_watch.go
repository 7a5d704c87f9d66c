package server

import (
	"net/http"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// CheckInResult is a recorded check-in and the alerts it raised.
type CheckInResult struct {
	CheckIn domain.CheckIn `json:"checkin"`
	Alerts  []domain.Alert `json:"alerts"`
}

// AlertChange marks an alert explained or escalated.
type AlertChange struct {
	State domain.AlertState `json:"state"`
	Note  string            `json:"note"`
}

func (s *Server) watchRoutes() []Route {
	svc := s.svc
	return []Route{
		{Method: "POST", Path: "/api/v1/checkins", Summary: "A device checks in: serial, site, round-trip times to landmarks (buyer, vendor telemetry)",
			Status: 201, Request: service.CheckInRequest{}, Response: CheckInResult{},
			handle: withBody(201, func(r *http.Request, who domain.Actor, in service.CheckInRequest) (any, error) {
				c, alerts, err := svc.CheckIn(r.Context(), who, in)
				return CheckInResult{CheckIn: c, Alerts: nonNil(alerts)}, err
			})},
		{Method: "POST", Path: "/api/v1/checkins/challenges", Summary: "A fresh single-use nonce for a serial's attested check-in (buyer that owns it, vendor telemetry)",
			Status: 201, Request: service.ChallengeRequest{}, Response: service.Challenge{},
			handle: withBody(201, func(r *http.Request, who domain.Actor, in service.ChallengeRequest) (any, error) {
				return svc.IssueChallenge(r.Context(), who, in)
			})},
		{Method: "POST", Path: "/api/v1/checkins/attested", Summary: "A device checks in with signed evidence: its signature over the challenge and the landmarks' signed round trips (buyer that owns it, vendor telemetry)",
			Status: 201, Request: service.AttestedCheckInRequest{}, Response: CheckInResult{},
			handle: withBody(201, func(r *http.Request, who domain.Actor, in service.AttestedCheckInRequest) (any, error) {
				c, alerts, err := svc.AttestedCheckIn(r.Context(), who, in)
				return CheckInResult{CheckIn: c, Alerts: nonNil(alerts)}, err
			})},
		{Method: "GET", Path: "/api/v1/alerts", Summary: "Diversion alerts with their evidence (?status=open) (export authority)", Response: List[domain.Alert]{},
			Query: listParams("alerts", true),
			handle: page(func(r *http.Request, who domain.Actor, q domain.ListQuery) (domain.Page[domain.Alert], error) {
				return svc.AlertsPage(r.Context(), who, q)
			})},
		{Method: "POST", Path: "/api/v1/alerts/{id}/state", Summary: "Mark an alert explained or escalated, with a note (export authority)",
			Request: AlertChange{}, Response: domain.Alert{},
			handle: withBody(200, func(r *http.Request, who domain.Actor, in AlertChange) (any, error) {
				id, err := pathID(r, "id")
				if err != nil {
					return nil, err
				}
				return svc.ChangeAlert(r.Context(), who, id, in.State, in.Note)
			})},
		{Method: "POST", Path: "/api/v1/alerts/sweep", Summary: "Raise alerts for delivered serials silent past the watch's period (export authority)", Response: []domain.Alert{},
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				out, err := svc.SweepSilence(r.Context(), who)
				if err != nil {
					return err
				}
				return writeJSON(w, http.StatusOK, nonNil(out))
			}},
	}
}
