package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// buyerData is the buyer's home page.
type buyerData struct {
	Applications, Licenses, Permits, Orders, Outlook *table
	// Shipments are the buyer's shipments; Events their custody events.
	Shipments, Events *table
	// Application is the buyer's latest application, nil before it files one.
	Application *domain.Application
	// Placed is the order just placed, shown with its decision.
	Placed *orderDecision
	Chart  string // the outlook chart's data, JSON
	// The order form's choices.
	Products []domain.Product
	Sites    []siteChoice
	EndUses  []string
	Period   string
	Form     url.Values // the form as sent, when it failed
	// Cancellable are the orders the buyer may still cancel.
	Cancellable []domain.Order
	// Hearings are the demand hearings open to a filing, Filings the
	// buyer's own filings in every hearing.
	Hearings []openHearing
	Filings  *table
}

// openHearing is a hearing the buyer may file in, with its filing there
// if it made one (a new filing replaces it).
type openHearing struct {
	Hearing service.HearingView
	Mine    *domain.Filing
}

// siteChoice is a deployment site in the order form.
type siteChoice struct {
	Index int
	Label string
}

// orderDecision is an order with its decision spelled out.
type orderDecision struct {
	Order       domain.Order
	Decision    domain.Decision
	Blocking    []domain.Reason
	Passed      []domain.Reason
	Obligations []domain.Reason
}

func explain(o domain.Order) *orderDecision {
	d := o.Decision
	od := &orderDecision{Order: o, Decision: d, Obligations: d.Obligations}
	for _, r := range d.Reasons {
		if r.Outcome != domain.Accepted {
			od.Blocking = append(od.Blocking, r)
		} else {
			od.Passed = append(od.Passed, r)
		}
	}
	return od
}

// reasonText is the reasons that decided an order, in one line.
func reasonText(o domain.Order) string {
	od := explain(o)
	rs := od.Blocking
	if len(rs) == 0 {
		rs = od.Passed
	}
	parts := make([]string, 0, len(rs))
	for _, r := range rs {
		s := r.Rule + ": " + r.Message
		if r.Ref != "" {
			s += " (" + r.Ref + ")"
		}
		parts = append(parts, s)
	}
	for _, n := range o.Notes {
		parts = append(parts, n.By+" "+n.Kind+": "+n.Text)
	}
	return strings.Join(parts, "; ")
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// buyerView gathers the buyer's applications, licenses, permits, orders and
// supply outlook, and the order form's choices.
func (h *handler) buyerView(ctx context.Context, who domain.Actor, r *http.Request) (*view, error) {
	const path = "/buyer"
	d := &buyerData{
		Applications: newTable(path, "applications", "Applications", "Submitted", "Legal name", "Status", "Screening", "Red flags", "Note from the export authority"),
		Licenses:     newTable(path, "licenses", "Export licenses", "Number", "Products", "Quantity", "Remaining", "Valid from", "Valid until", "Status", "Conditions").numeric(2, 3),
		Permits:      newTable(path, "permits", "Import permits", "Number", "Products", "Quantity", "Remaining", "Valid from", "Valid until", "Status", "Restrictions").numeric(2, 3),
		Orders:       newTable(path, "orders", "Orders", "Placed", "Order", "Product", "Quantity", "Wanted from", "Status", "Reasons").numeric(3),
		Outlook:      newTable(path, "outlook", "Supply outlook", "Order", "Quantity", "Promised", "Last planned period", "P50 arrival", "P90 arrival").numeric(1, 2),
		Shipments: newTable(path, "shipments", "Shipments", "Shipment", "Order", "Product", "Units", "Route", "Where",
			"Lab test", "Lab test by (ETA)", "Invoice").numeric(3),
		Events: newTable(path, "events", "Custody events", "At", "Shipment", "Event", "Country", "Place"),
		Filings: newTable(path, "filings", "Your demand filings", "Hearing", "Product", "Period start", "Period end", "Hearing status",
			"Forecast units", "Uses", "Justification", "Filed").numeric(5),
		Period: h.svc.Now().AddDate(0, 1, 0).Format(time.DateOnly),
	}
	d.Shipments.Empty, d.Events.Empty, d.Filings.Empty = "No shipment yet.", "No custody event yet.", "No filing yet."
	apps, err := h.svc.Applications(ctx, who, nil)
	if err != nil {
		return nil, err
	}
	for _, a := range apps {
		word := ""
		for i := len(a.Notes) - 1; i >= 0; i-- {
			if n := a.Notes[i]; n.By != who.PartySlug && n.Kind != "hits_reviewed" {
				word = wordsOr(noteKindNames, n.Kind) + " (" + fmtDate(n.At) + "): " + n.Text
				break
			}
		}
		d.Applications.add(fmtDate(a.SubmittedAt), a.LegalName, wordsOr(appStatusNames, a.Status), a.Screening.Status, strconv.Itoa(len(a.Flags)), word)
		d.Application = &apps[len(apps)-1]
		// The latest application in force gives the order form its sites
		// and end uses.
		if a.Status == domain.AppApproved || len(d.Sites) == 0 {
			d.Sites = d.Sites[:0]
			for i, s := range a.Sites {
				d.Sites = append(d.Sites, siteChoice{i, s.Address + " (" + s.Country + ")"})
			}
			d.EndUses = slices.Clone(a.EndUses)
		}
	}
	lics, err := h.svc.Licenses(ctx, who)
	if err != nil {
		return nil, err
	}
	for _, l := range lics {
		d.Licenses.add(l.Number, strings.Join(l.Products, " "), itoa64(l.Quantity), itoa64(l.Remaining),
			fmtDate(l.ValidFrom), fmtDate(l.ValidUntil), string(l.Status), strings.Join(l.Conditions, "; "))
	}
	permits, err := h.svc.Permits(ctx, who)
	if err != nil {
		return nil, err
	}
	for _, p := range permits {
		d.Permits.add(p.Number, strings.Join(p.Products, " "), itoa64(p.Quantity), itoa64(p.Remaining),
			fmtDate(p.ValidFrom), fmtDate(p.ValidUntil), string(p.Status), permitRestrictions(p))
	}
	// Newest first: the buyer looks for what just happened.
	orders, err := h.svc.OrdersPage(ctx, who, d.Orders.pageOf(r, domain.ListQuery{}))
	if err != nil {
		return nil, err
	}
	d.Orders.more(r, orders.NextCursor)
	for _, o := range orders.Items {
		if o.Status == domain.OrderAccepted || o.Status == domain.OrderHeld {
			d.Cancellable = append(d.Cancellable, o)
		}
		d.Orders.add(o.PlacedAt.UTC().Format("2006-01-02 15:04"), shortID(o.ID.String()), o.Product, itoa64(o.Quantity),
			o.Period, string(o.Status), reasonText(o))
	}
	if id := r.URL.Query().Get("order"); id != "" {
		if oid, err := uuid.Parse(id); err == nil {
			if o, err := h.svc.Order(ctx, who, oid); err == nil {
				d.Placed = explain(o)
			}
		}
	}
	page, err := h.svc.ShipmentsPage(ctx, who, d.Shipments.pageOf(r, domain.ListQuery{}))
	if err != nil {
		return nil, err
	}
	d.Shipments.more(r, page.NextCursor)
	svs := page.Items
	for _, sv := range svs {
		d.Shipments.add(sv.Number, shortID(sv.OrderID.String()), sv.Product, itoa64(sv.Quantity), routeText(sv.Shipment),
			whereText(sv.Shipment), labText(sv), labETA(sv), money(sv.Invoice.Total))
	}
	for _, ev := range eventsOf(svs) {
		d.Events.add(fmtTime(ev.Event.At), ev.Shipment, eventLabel(ev.Event.Kind), ev.Event.Country, ev.Event.Place)
	}
	if d.Products, err = h.svc.Products(ctx, who); err != nil {
		return nil, err
	}
	hs, err := h.svc.Hearings(ctx, who)
	if err != nil {
		return nil, err
	}
	for _, hv := range hs {
		var mine *domain.Filing
		for i, f := range hv.Filings {
			if f.BuyerID != who.PartyID {
				continue
			}
			mine = &hv.Filings[i]
			d.Filings.add(hv.Title, hv.Product, fmtDate(hv.PeriodStart), fmtDate(hv.PeriodEnd), hv.Status,
				itoa64(f.Units), strings.Join(f.Uses, ", "), f.Justification, fmtTime(f.FiledAt))
		}
		if hv.Status == hearingOpen {
			d.Hearings = append(d.Hearings, openHearing{hv, mine})
		}
	}
	out, err := h.svc.Outlook(ctx, who)
	switch {
	case domain.ErrorCode(err) == domain.ENOTFOUND:
		d.Outlook.Empty = "No allocation run yet: the vendor has not allocated supply."
	case err != nil:
		return nil, err
	default:
		for _, o := range out.Orders {
			d.Outlook.add(shortID(o.Order), itoa64(o.Quantity), itoa64(o.Promised), o.PromisedBy, o.P50, o.P90)
		}
		d.Chart = outlookChart(out)
	}
	return &view{Title: "Buyer", Data: d, Tables: []*table{d.Applications, d.Licenses, d.Permits, d.Orders, d.Outlook, d.Shipments, d.Events, d.Filings}}, nil
}

// shortID is the last 8 hex digits of a UUID: its random part. The first
// digits of a UUIDv7 are a timestamp, alike for everything made together.
func shortID(s string) string {
	if len(s) > 8 {
		return s[len(s)-8:]
	}
	return s
}

func permitRestrictions(p domain.ImportPermit) string {
	var parts []string
	if p.CloudOnly {
		parts = append(parts, "cloud only")
	}
	if len(p.AllowedUses) > 0 {
		parts = append(parts, "uses: "+strings.Join(p.AllowedUses, ", "))
	}
	if len(p.ExcludedSectors) > 0 {
		parts = append(parts, "excluded sectors: "+strings.Join(p.ExcludedSectors, ", "))
	}
	parts = append(parts, p.Conditions...)
	return strings.Join(parts, "; ")
}

// chartData is what static/app.js draws with uPlot: x in Unix seconds, one
// or more series, and optionally a shaded band between two x values.
type chartData struct {
	Title  string        `json:"title"`
	X      []int64       `json:"x"`
	Series []chartSeries `json:"series"`
	Band   *chartBand    `json:"band,omitempty"`
}

type chartSeries struct {
	Label  string  `json:"label"`
	Values []int64 `json:"values"`
	Bars   bool    `json:"bars,omitempty"`
}

type chartBand struct {
	Label string `json:"label"`
	From  int64  `json:"from"`
	To    int64  `json:"to"`
}

// outlookChart is the buyer's promised units per period, cumulative, with
// the band between the P50 and P90 dates by which the last unit arrives.
func outlookChart(out service.OutlookView) string {
	per := map[string]int64{}
	for _, o := range out.Orders {
		for _, s := range o.Schedule {
			per[s.Date] += s.Quantity
		}
	}
	if len(per) == 0 {
		return ""
	}
	dates := make([]string, 0, len(per))
	for d := range per {
		dates = append(dates, d)
	}
	slices.Sort(dates)
	c := chartData{Title: "Promised units per period", Series: []chartSeries{{Label: "Promised in period", Bars: true}, {Label: "Promised, cumulative"}}}
	var cum int64
	for _, d := range dates {
		t, err := time.Parse(time.DateOnly, d)
		if err != nil {
			continue
		}
		cum += per[d]
		c.X = append(c.X, t.Unix())
		c.Series[0].Values = append(c.Series[0].Values, per[d])
		c.Series[1].Values = append(c.Series[1].Values, cum)
	}
	var p50, p90 string
	for _, b := range out.Buyers {
		p50, p90 = max(p50, b.P50), max(p90, b.P90)
	}
	if t50, err := time.Parse(time.DateOnly, p50); err == nil {
		if t90, err := time.Parse(time.DateOnly, p90); err == nil {
			c.Band = &chartBand{Label: "last unit arrives: P50 " + p50 + " – P90 " + p90, From: t50.Unix(), To: t90.Unix()}
		}
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return ""
	}
	return string(raw)
}

// placeOrder places an order for the signed-in buyer and shows its decision.
func (h *handler) placeOrder(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string) {
	f := r.PostForm
	qty, err := strconv.ParseInt(strings.TrimSpace(f.Get("quantity")), 10, 64)
	if err != nil {
		h.formError(w, r, who, csrf, "Quantity must be a whole number.")
		return
	}
	site, _ := strconv.Atoi(f.Get("site"))
	o, err := h.svc.PlaceOrder(r.Context(), who, service.OrderRequest{Product: f.Get("product"), Quantity: qty,
		Period: f.Get("requested_period"), Site: site, EndUse: strings.TrimSpace(f.Get("end_use"))})
	if err != nil {
		h.formFailed(w, r, err, "product", func(status int, msg string) { h.buyerRender(w, r, who, csrf, status, msg, "") })
		return
	}
	// Post/redirect/get: a reload does not order twice.
	http.Redirect(w, r, "/buyer?order="+o.ID.String()+"#placed", http.StatusSeeOther)
}

// cancelOrder cancels one of the buyer's orders and shows it.
func (h *handler) cancelOrder(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string) {
	id, err := uuid.Parse(r.PostForm.Get("order"))
	if err != nil {
		h.formError(w, r, who, csrf, "Choose an order to cancel.")
		return
	}
	o, err := h.svc.CancelOrder(r.Context(), who, id, strings.TrimSpace(r.PostForm.Get("reason")))
	if err != nil {
		h.formFailed(w, r, err, "order", func(status int, msg string) { h.buyerRender(w, r, who, csrf, status, msg, "") })
		return
	}
	http.Redirect(w, r, "/buyer?order="+o.ID.String()+"#placed", http.StatusSeeOther)
}

// formError shows the buyer's page again with the error and the form as sent.
func (h *handler) formError(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf, msg string) {
	h.buyerRender(w, r, who, csrf, http.StatusUnprocessableEntity, msg, "")
}

// buyerRender shows the buyer's page with a form's error (and the form as
// sent) or its notice.
func (h *handler) buyerRender(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string, status int, errMsg, notice string) {
	h.again(w, r, who, csrf, status, errMsg, notice, "/buyer", "buyer", h.buyerView)
}

func (d *buyerData) keepForm(f url.Values) { d.Form = f }
