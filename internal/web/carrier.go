package web

import (
	"context"
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
	l := localeIn(ctx)
	d := &carrierData{
		Custody: l.table(path, "custody", "Shipments in custody or transit", "Shipment", "Buyer", "Product", "Units", "Route",
			"Where", "Next event", "Lab test", "Lab test by (ETA)").numeric(3),
		Events: l.table(path, "events", "Custody events recorded", "At", "Shipment", "Event", "Country", "Place", "Recorded by"),
		Kinds:  eventKinds,
	}
	d.Custody.Empty, d.Events.Empty = l.T("No shipment is in custody or transit."), l.T("No event recorded yet.")
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
		d.Custody.add(sv.Number, sv.Buyer, sv.Product, l.Num(sv.Quantity), routeText(sv.Shipment), whereText(l, sv.Shipment),
			nextEvent(l, sv.Shipment), labText(l, sv), labETA(l, sv))
	}
	for _, ev := range eventsOf(svs) {
		d.Events.add(l.Time(ev.Event.At), ev.Shipment, eventLabel(l, ev.Event.Kind), ev.Event.Country, ev.Event.Place, ev.Event.By)
	}
	return &view{Title: l.T("Carrier and customs: custody events"), Data: d, Tables: []*table{d.Custody, d.Events}}, nil
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
		return out, formErr("shipment", "Choose a shipment.")
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
		h.carrierRender(w, r, who, csrf, http.StatusUnprocessableEntity, err, "")
		return
	}
	sh, err := h.svc.RecordEvent(r.Context(), who, in.Shipment, in.Event)
	if err != nil {
		h.formFailed(w, r, err, "shipment", func(status int, err error) { h.carrierRender(w, r, who, csrf, status, err, "") })
		return
	}
	l := localeIn(r.Context())
	msg := l.T("Shipment %[1]s: %[2]s in %[3]s recorded; now %[4]s.", sh.Number, eventLabel(l, in.Event.Kind), in.Event.Country, whereText(l, sh))
	if sh.Duty != nil && sh.Duty.AssessedAt.Equal(sh.UpdatedAt) {
		msg += l.T(" Duty assessed: %[1]s (%[2]s, %[3]s).", money(sh.Duty.Amount), sh.Duty.Rate, sh.Duty.Rule)
	}
	h.carrierRender(w, r, who, csrf, http.StatusOK, nil, msg)
}

func (h *handler) carrierRender(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string, status int, refused error, notice string) {
	h.again(w, r, who, csrf, status, refused, notice, "/carrier", "carrier", h.carrierView)
}

func (d *carrierData) keepForm(f url.Values) { d.Form = f }
