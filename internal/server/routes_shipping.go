package server

import (
	"encoding/csv"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

func (s *Server) shippingRoutes() []Route {
	svc := s.svc
	return []Route{
		{Method: "POST", Path: "/api/v1/shipments", Summary: "Put serial-numbered units of an accepted order into a shipment on the policy's route (vendor)",
			Status: 201, Request: service.ShipmentRequest{}, Response: domain.Shipment{},
			handle: withBody(201, func(r *http.Request, who domain.Actor, in service.ShipmentRequest) (any, error) {
				return svc.CreateShipment(r.Context(), who, in)
			})},
		{Method: "GET", Path: "/api/v1/shipments", Summary: "Shipments with custody events, lab tests, duty and the lab queue ETA (a buyer sees its own)",
			Response: List[service.ShipmentView]{}, Query: listParams("shipments", true),
			handle: page(func(r *http.Request, who domain.Actor, q domain.ListQuery) (domain.Page[service.ShipmentView], error) {
				return svc.ShipmentsPage(r.Context(), who, q)
			})},
		{Method: "POST", Path: "/api/v1/shipments/{id}/events", Summary: "Record a custody or border event: picked_up, arrived, customs_cleared, delivered (carrier)",
			Request: service.EventRequest{}, Response: domain.Shipment{},
			handle: withBody(200, func(r *http.Request, who domain.Actor, in service.EventRequest) (any, error) {
				id, err := pathID(r, "id")
				if err != nil {
					return nil, err
				}
				return svc.RecordEvent(r.Context(), who, id, in)
			})},
		{Method: "POST", Path: "/api/v1/shipments/{id}/lab-tests", Summary: "Record the independent lab's test of a shipment (lab)",
			Request: service.LabTestRequest{}, Response: domain.Shipment{},
			handle: withBody(200, func(r *http.Request, who domain.Actor, in service.LabTestRequest) (any, error) {
				id, err := pathID(r, "id")
				if err != nil {
					return nil, err
				}
				return svc.RecordLabTest(r.Context(), who, id, in)
			})},
		{Method: "GET", Path: "/api/v1/duty/remittance", Summary: "Duty assessed in ?month=YYYY-MM, per entry and in total; ?format=csv for the remittance file (vendor, export authority)",
			Response: service.DutyReport{}, Media: []string{"text/csv"},
			Query: []Param{
				{Name: "month", Description: "The month, YYYY-MM.", Required: true, Schema: map[string]any{"type": "string", "pattern": `^[0-9]{4}-[0-9]{2}$`}, Example: "2026-03"},
				{Name: "format", Description: "csv for the remittance file (text/csv); JSON otherwise.", Schema: map[string]any{"type": "string", "enum": []any{"json", "csv"}, "default": "json"}},
			},
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				rep, err := svc.Duty(r.Context(), who, r.URL.Query().Get("month"))
				if err != nil {
					return err
				}
				if r.URL.Query().Get("format") != "csv" {
					return writeJSON(w, http.StatusOK, rep)
				}
				w.Header().Set("Content-Type", "text/csv; charset=utf-8")
				w.Header().Set("Content-Disposition", `attachment; filename="duty-`+rep.Month+`.csv"`)
				// A UTF-8 byte-order mark first, so that Excel reads the
				// file as UTF-8; the columns are unchanged (docs/API.md).
				if _, err := io.WriteString(w, "\uFEFF"); err != nil {
					return err
				}
				cw := csv.NewWriter(w)
				_ = cw.Write([]string{"assessed_at", "shipment_id", "rule", "country", "rate", "exempt", "currency", "dutiable_minor", "duty_minor"})
				for _, e := range rep.Entries {
					_ = cw.Write([]string{e.AssessedAt.Format(time.RFC3339), e.ShipmentID.String(), e.Rule, e.Country, e.Rate,
						strconv.FormatBool(e.Exempt), e.Amount.Currency, strconv.FormatInt(e.DutiableValue.Minor, 10), strconv.FormatInt(e.Amount.Minor, 10)})
				}
				for _, t := range rep.Totals {
					_ = cw.Write([]string{"total", "", "", "", "", "", t.Currency, strconv.FormatInt(t.DutiableMinor, 10), strconv.FormatInt(t.DutyMinor, 10)})
				}
				cw.Flush()
				return cw.Error()
			}},
	}
}
