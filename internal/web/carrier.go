package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// carrierData is the carrier's home page.
type carrierData struct {
	Custody, Events *table
	// Open are the shipments not yet delivered: the event form's choices.
	Open  []domain.Shipment
	Kinds []struct{ Kind, Label string }
	Form  url.Values // the form as sent, when it failed
}

// carrierView gathers the shipments in custody or transit and the custody
// events recorded.
func (h *handler) carrierView(ctx context.Context, who domain.Actor, _ *http.Request) (*view, error) {
	const path = "/carrier"
	d := &carrierData{
		Custody: newTable(path, "custody", "Shipments in custody or transit", "Shipment", "Buyer", "Product", "Units", "Route",
			"Where", "Next event", "Lab test", "Lab test by (ETA)").numeric(3),
		Events: newTable(path, "events", "Custody events recorded", "At", "Shipment", "Event", "Country", "Place", "Recorded by"),
		Kinds:  eventKinds,
	}
	d.Custody.Empty, d.Events.Empty = "No shipment is in custody or transit.", "No event recorded yet."
	svs, err := h.svc.Shipments(ctx, who)
	if err != nil {
		return nil, err
	}
	newestFirst(svs)
	for _, sv := range svs {
		if sv.Status == domain.ShipDelivered {
			continue
		}
		d.Open = append(d.Open, sv.Shipment)
		d.Custody.add(sv.Number, sv.Buyer, sv.Product, itoa64(sv.Quantity), routeText(sv.Shipment), whereText(sv.Shipment),
			nextEvent(sv.Shipment), labText(sv), labETA(sv))
	}
	for _, ev := range eventsOf(svs) {
		d.Events.add(fmtTime(ev.Event.At), ev.Shipment, eventLabel(ev.Event.Kind), ev.Event.Country, ev.Event.Place, ev.Event.By)
	}
	return &view{Title: "Carrier and customs", Data: d, Tables: []*table{d.Custody, d.Events}}, nil
}

// eventForm is the carrier's form, decoded.
type eventForm struct {
	Shipment domain.ID
	Event    service.EventRequest
}

// parseEvent decodes the carrier's form: the shipment, the event's kind,
// the country (ISO code, any case), the place and, for a hand-over, the
// carrier taking custody. The service checks the
// kind against the shipment's state.
func parseEvent(f url.Values) (eventForm, error) {
	var out eventForm
	id, err := domain.ParseID(strings.TrimSpace(f.Get("shipment")))
	if err != nil {
		return out, formErr("Choose a shipment.")
	}
	out.Shipment = id
	out.Event = service.EventRequest{Kind: f.Get("kind"), Country: strings.ToUpper(strings.TrimSpace(f.Get("country"))),
		Place: strings.TrimSpace(f.Get("place")), To: strings.TrimSpace(f.Get("to"))}
	return out, nil
}

// recordEvent records a custody event on a shipment and shows where it is.
func (h *handler) recordEvent(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string) {
	in, err := parseEvent(r.PostForm)
	if err != nil {
		h.carrierRender(w, r, who, csrf, http.StatusUnprocessableEntity, errorText(err), "")
		return
	}
	sh, err := h.svc.RecordEvent(r.Context(), who, in.Shipment, in.Event)
	if err != nil {
		h.formFailed(w, r, err, "shipment", func(status int, msg string) { h.carrierRender(w, r, who, csrf, status, msg, "") })
		return
	}
	msg := fmt.Sprintf("Shipment %s: %s in %s recorded; now %s.", sh.Number, strings.ToLower(eventLabel(in.Event.Kind)), in.Event.Country, whereText(sh))
	if sh.Duty != nil && sh.Duty.AssessedAt.Equal(sh.UpdatedAt) {
		msg += fmt.Sprintf(" Duty assessed: %s (%s, %s).", money(sh.Duty.Amount), sh.Duty.Rate, sh.Duty.Rule)
	}
	h.carrierRender(w, r, who, csrf, http.StatusOK, "", msg)
}

func (h *handler) carrierRender(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string, status int, errMsg, notice string) {
	h.again(w, r, who, csrf, status, errMsg, notice, "/carrier", "carrier", h.carrierView)
}

func (d *carrierData) keepForm(f url.Values) { d.Form = f }
