package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// The export authority's view of shipments: the duty assessed at US
// customs, for remittance, and the diversion watch's alerts.

// alertCard is an alert the export authority may still act on, with the
// states the alert lifecycle allows next.
type alertCard struct {
	Alert    domain.Alert
	Shipment string
	Moves    []domain.AlertState
}

// dutyAndAlerts fills the export page's duty and alert tables. month is
// YYYY-MM; the service refuses anything else.
func (h *handler) dutyAndAlerts(ctx context.Context, who domain.Actor, r *http.Request, month string, d *exportData) error {
	const path = "/export"
	l := localeIn(ctx)
	d.Month = month
	d.Duty = l.table(path, "duty", "Duty assessed", "Assessed", "Shipment", "Buyer", "Rule", "Country", "Rate", "Exempt",
		"Dutiable value", "Duty").numeric(7, 8)
	d.DutyTotals = l.table(path, "duty-totals", "Duty to remit", "Currency", "Entries", "Dutiable value", "Duty").numeric(1, 2, 3)
	d.Duty.Title, d.DutyTotals.Title = l.T("Duty assessed in %s", month), l.T("Duty to remit for %s", month)
	d.Alerts = l.table(path, "alerts", "All diversion alerts", "Raised", "Kind", "Serial", "Shipment", "Buyer", "State", "Evidence", "Notes")
	d.Duty.Empty, d.DutyTotals.Empty, d.Alerts.Empty = l.T("No duty assessed in %s.", month), l.T("Nothing to remit for %s.", month), l.T("No alert raised.")
	if month != h.svc.Now().Format("2006-01") {
		// The download is of the month on the page.
		for _, t := range []*table{d.Duty, d.DutyTotals} {
			t.CSV += "?month=" + month
		}
	}
	rep, err := h.svc.Duty(ctx, who, month)
	if err != nil {
		return err
	}
	svs, err := h.svc.Shipments(ctx, who)
	if err != nil {
		return err
	}
	byID := make(map[domain.ID]service.ShipmentView, len(svs))
	for _, sv := range svs {
		byID[sv.ID] = sv
	}
	for _, e := range rep.Entries {
		sv := byID[e.ShipmentID]
		d.Duty.add(l.Time(e.AssessedAt), sv.Number, sv.Buyer, e.Rule, e.Country, e.Rate, yesNo(l, e.Exempt),
			money(e.DutiableValue), money(e.Amount))
	}
	for _, t := range rep.Totals {
		d.DutyTotals.add(t.Currency, l.Num(t.Entries), money(domain.Money{Minor: t.DutiableMinor, Currency: t.Currency}),
			money(domain.Money{Minor: t.DutyMinor, Currency: t.Currency}))
	}

	// Newest first: the watch's latest signals on top.
	alerts, err := h.svc.AlertsPage(ctx, who, d.Alerts.pageOf(r, domain.ListQuery{}))
	if err != nil {
		return err
	}
	d.Alerts.more(r, alerts.NextCursor)
	for _, a := range alerts.Items {
		ship := ""
		if a.ShipmentID != nil {
			ship = byID[*a.ShipmentID].Number
		}
		notes := make([]string, 0, len(a.Notes))
		for _, n := range a.Notes {
			notes = append(notes, n.By+" "+l.Code(n.Kind)+": "+n.Text)
		}
		d.Alerts.add(l.Time(a.CreatedAt), l.Code(a.Kind), a.Serial, ship, a.Buyer, l.Code(string(a.State)),
			strings.Join(a.Evidence, "; "), strings.Join(notes, "; "))
		if moves := domain.AlertMoves[a.State]; len(moves) > 0 {
			d.Actionable = append(d.Actionable, alertCard{Alert: a, Shipment: ship, Moves: moves})
		}
	}
	return nil
}

func yesNo(l *locale, b bool) string {
	if b {
		return l.T("yes")
	}
	return l.T("no")
}

// changeAlert marks an alert explained or escalated, with a note.
func (h *handler) changeAlert(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string) {
	id, state, note, err := parseAlertChange(r.PathValue("id"), r.PostForm.Get("state"), r.PostForm.Get("note"))
	if err != nil {
		h.exportRender(w, r, who, csrf, http.StatusUnprocessableEntity, err, "")
		return
	}
	a, err := h.svc.ChangeAlert(r.Context(), who, id, state, note)
	if err != nil {
		h.formFailed(w, r, err, "state", func(status int, err error) { h.exportRender(w, r, who, csrf, status, err, "") })
		return
	}
	l := localeIn(r.Context())
	h.exportNotice(w, r, who, csrf, l.T("Alert on %[1]s (%[2]s): %[3]s", alertSubject(l, a), l.Code(a.Kind), l.Code(string(a.State))))
}

// parseAlertChange decodes the alert form; the service checks the state
// against the lifecycle and the note.
func parseAlertChange(id, state, note string) (domain.ID, domain.AlertState, string, error) {
	aid, err := domain.ParseID(strings.TrimSpace(id))
	if err != nil {
		return domain.ID{}, "", "", formErr("", "No such alert.")
	}
	return aid, domain.AlertState(strings.TrimSpace(state)), strings.TrimSpace(note), nil
}

// alertSubject is what an alert is about: its serial, or its buyer.
func alertSubject(l *locale, a domain.Alert) string {
	if a.Serial != "" {
		return l.T("serial %s", a.Serial)
	}
	return a.Buyer
}

// sweepSilence raises alerts for delivered serials silent past the watch's
// period.
func (h *handler) sweepSilence(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string) {
	raised, err := h.svc.SweepSilence(r.Context(), who)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	l := localeIn(r.Context())
	h.exportNotice(w, r, who, csrf, l.T("Silence sweep: %s new alert(s) for serials that stopped checking in.", l.Num(len(raised))))
}
