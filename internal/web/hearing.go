package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// Demand hearings: the import authority opens and closes them, buyers file
// their forecast in an open one. The service decides who may, and whether
// a hearing still takes filings.

// hearingOpen is the one state a hearing takes filings in; the service
// sets and checks it.
const hearingOpen = "open"

// openHearing opens a demand hearing for a product and period.
func (h *handler) openHearing(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string) {
	f := r.PostForm
	l := localeIn(r.Context())
	hv, err := h.svc.OpenHearing(r.Context(), who, service.HearingRequest{Title: strings.TrimSpace(f.Get("title")),
		Product: strings.TrimSpace(f.Get("product")), PeriodStart: strings.TrimSpace(f.Get("period_start")), PeriodEnd: strings.TrimSpace(f.Get("period_end"))})
	if err != nil {
		h.formFailed(w, r, err, "product", func(status int, err error) { h.importRender(w, r, who, csrf, status, err, "") })
		return
	}
	h.importRender(w, r, who, csrf, http.StatusOK, nil, l.T("Hearing “%[1]s” opened for %[2]s, %[3]s to %[4]s: buyers may file their demand.",
		hv.Title, hv.Product, l.Day(hv.PeriodStart), l.Day(hv.PeriodEnd)))
}

// closeHearing closes a hearing to filings.
func (h *handler) closeHearing(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string) {
	id, err := domain.ParseID(strings.TrimSpace(r.PostForm.Get("hearing")))
	if err != nil {
		h.importRender(w, r, who, csrf, http.StatusUnprocessableEntity, formErr("hearing", "Hearing: choose a hearing to close."), "")
		return
	}
	hv, err := h.svc.CloseHearing(r.Context(), who, id)
	if err != nil {
		h.formFailed(w, r, err, "hearing", func(status int, err error) { h.importRender(w, r, who, csrf, status, err, "") })
		return
	}
	l := localeIn(r.Context())
	h.importRender(w, r, who, csrf, http.StatusOK, nil, l.T("Hearing “%[1]s” closed with %[2]s filing(s).", hv.Title, l.Num(len(hv.Filings))))
}

// filingForm is the buyer's filing form, decoded.
type filingForm struct {
	Hearing domain.ID
	Filing  service.FilingRequest
}

// parseFiling decodes the buyer's filing form: the hearing, the forecast
// units, the uses (comma- or space-separated) and the justification. The
// service checks the values.
func parseFiling(f url.Values) (filingForm, error) {
	var out filingForm
	id, err := domain.ParseID(strings.TrimSpace(f.Get("hearing")))
	if err != nil {
		return out, formErr("hearing", "Hearing: choose an open hearing.")
	}
	out.Hearing = id
	units, err := parseUnits(f, "forecast_units", "Forecast units")
	if err != nil {
		return out, err
	}
	out.Filing = service.FilingRequest{Units: units, Uses: words(f.Get("uses")), Justification: strings.TrimSpace(f.Get("justification"))}
	return out, nil
}

// fileDemand files the buyer's forecast in an open hearing, replacing its
// earlier filing there.
func (h *handler) fileDemand(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string) {
	in, err := parseFiling(r.PostForm)
	if err != nil {
		h.buyerRender(w, r, who, csrf, http.StatusUnprocessableEntity, err, "")
		return
	}
	fl, err := h.svc.FileDemand(r.Context(), who, in.Hearing, in.Filing)
	if err != nil {
		h.formFailed(w, r, err, "hearing", func(status int, err error) { h.buyerRender(w, r, who, csrf, status, err, "") })
		return
	}
	l := localeIn(r.Context())
	title := in.Hearing.String()
	if hv, err := h.svc.Hearing(r.Context(), who, in.Hearing); err == nil {
		title = hv.Title
	}
	h.buyerRender(w, r, who, csrf, http.StatusOK, nil, l.T("Demand filed in “%[1]s”: %[2]s units for %[3]s.",
		title, l.Num(fl.Units), codes(l, fl.Uses)))
}
