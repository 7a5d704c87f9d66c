package web

import (
	"context"
	"encoding/json"
	"errors"
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
	// Today is the earliest day an order may be wanted from.
	Today string
	// sources are the policy's sources by id, for the decision's reasons.
	sources map[string]string
	Form    url.Values // the form as sent, when it failed
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

// reasonText is the reasons that decided an order, in one line. The
// reasons' messages are the policy's, in its language.
func reasonText(l *locale, o domain.Order) string {
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
		parts = append(parts, n.By+" "+l.Code(n.Kind)+": "+n.Text)
	}
	return strings.Join(parts, "; ")
}

// buyerView gathers the buyer's applications, licenses, permits, orders and
// supply outlook, and the order form's choices.
func (h *handler) buyerView(ctx context.Context, who domain.Actor, r *http.Request) (*view, error) {
	const path = "/buyer"
	l := localeIn(ctx)
	d := &buyerData{
		Applications: l.table(path, "applications", "Applications", "Submitted", "Legal name", "Status", "Screening", "Red flags", "Note from the export authority"),
		Licenses:     l.table(path, "licenses", "Export licenses", "Number", "Products", "Quantity", "Remaining", "Valid from", "Valid until", "Status", "Conditions").numeric(2, 3),
		Permits:      l.table(path, "permits", "Import permits", "Number", "Products", "Quantity", "Remaining", "Valid from", "Valid until", "Status", "Restrictions").numeric(2, 3),
		Orders:       l.table(path, "orders", "Orders", "Placed", "Order", "Product", "Quantity", "Wanted from", "Status", "Reasons").numeric(3),
		Outlook:      l.table(path, "outlook", "Supply outlook", "Order", "Quantity", "Promised", "Last planned period", "P50 arrival", "P90 arrival").numeric(1, 2),
		Shipments: l.table(path, "shipments", "Shipments", "Shipment", "Order", "Product", "Units", "Route", "Where",
			"Lab test", "Lab test by (ETA)", "Invoice").numeric(3),
		Events: l.table(path, "events", "Custody events", "At", "Shipment", "Event", "Country", "Place"),
		Filings: l.table(path, "filings", "Your demand filings", "Hearing", "Product", "Period start", "Period end", "Hearing status",
			"Forecast units", "Uses", "Justification", "Filed").numeric(5),
		Period: h.svc.Now().AddDate(0, 1, 0).Format(time.DateOnly),
		Today:  service.EarliestPeriod(h.svc.Now()).Format(time.DateOnly),
	}
	d.Shipments.Empty, d.Events.Empty, d.Filings.Empty = l.T("No shipment yet."), l.T("No custody event yet."), l.T("No filing yet.")
	if pol := h.svc.Policy(); pol != nil {
		d.sources = map[string]string{}
		for _, s := range pol.Sources() {
			d.sources[s.ID] = s.Title
		}
	}
	apps, err := h.svc.Applications(ctx, who, nil)
	if err != nil {
		return nil, err
	}
	for _, a := range apps {
		word := ""
		if n := authorityNote(who, a); n != nil {
			word = l.T("%[1]s (%[2]s): %[3]s", l.Code(n.Kind), l.Date(n.At), n.Text)
		}
		d.Applications.add(l.Date(a.SubmittedAt), a.LegalName, l.Code(string(a.Status)), l.Code(a.Screening.Status), l.Num(len(a.Flags)), word)
		d.Application = &apps[len(apps)-1]
		// The latest application in force gives the order form its sites
		// and end uses.
		if a.Status == domain.AppApproved || len(d.Sites) == 0 {
			d.Sites = d.Sites[:0]
			for i, s := range a.Sites {
				d.Sites = append(d.Sites, siteChoice{i, l.T("Site %[1]d: %[2]s (%[3]s)", i+1, s.Address, s.Country)})
			}
			d.EndUses = slices.Clone(a.EndUses)
		}
	}
	lics, err := h.svc.Licenses(ctx, who)
	if err != nil {
		return nil, err
	}
	for _, lic := range lics {
		d.Licenses.add(lic.Number, strings.Join(lic.Products, " "), l.Num(lic.Quantity), l.Num(lic.Remaining),
			l.Day(lic.ValidFrom), l.Day(lic.ValidUntil), l.Code(string(lic.Status)), strings.Join(lic.Conditions, "; "))
	}
	permits, err := h.svc.Permits(ctx, who)
	if err != nil {
		return nil, err
	}
	for _, p := range permits {
		d.Permits.add(p.Number, strings.Join(p.Products, " "), l.Num(p.Quantity), l.Num(p.Remaining),
			l.Day(p.ValidFrom), l.Day(p.ValidUntil), l.Code(string(p.Status)), permitRestrictions(l, p))
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
		d.Orders.add(l.Time(o.PlacedAt), shortID(o.ID.String()), o.Product, l.Num(o.Quantity),
			l.DayOf(o.Period), l.Code(string(o.Status)), reasonText(l, o))
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
		d.Shipments.add(sv.Number, shortID(sv.OrderID.String()), sv.Product, l.Num(sv.Quantity), routeText(sv.Shipment),
			whereText(l, sv.Shipment), labText(l, sv), labETA(l, sv), money(sv.Invoice.Total))
	}
	for _, ev := range eventsOf(svs) {
		d.Events.add(l.Time(ev.Event.At), ev.Shipment, eventLabel(l, ev.Event.Kind), ev.Event.Country, ev.Event.Place)
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
			d.Filings.add(hv.Title, hv.Product, l.Day(hv.PeriodStart), l.Day(hv.PeriodEnd), l.Code(hv.Status),
				l.Num(f.Units), strings.Join(f.Uses, ", "), f.Justification, l.Time(f.FiledAt))
		}
		if hv.Status == hearingOpen {
			d.Hearings = append(d.Hearings, openHearing{hv, mine})
		}
	}
	out, err := h.svc.Outlook(ctx, who)
	switch {
	case domain.ErrorCode(err) == domain.ENOTFOUND:
		d.Outlook.Empty = l.T("No allocation run yet: the vendor has not allocated supply.")
	case err != nil:
		return nil, err
	default:
		for _, o := range out.Orders {
			d.Outlook.add(shortID(o.Order), l.Num(o.Quantity), l.Num(o.Promised), l.DayOf(o.PromisedBy), l.DayOf(o.P50), l.DayOf(o.P90))
		}
		d.Chart = outlookChart(l, out)
	}
	return &view{Title: l.T("Buyer: orders, outlook and filings"), Data: d, Tables: []*table{d.Applications, d.Licenses, d.Permits, d.Orders, d.Outlook, d.Shipments, d.Events, d.Filings}}, nil
}

// shortID is the last 8 hex digits of a UUID: its random part. The first
// digits of a UUIDv7 are a timestamp, alike for everything made together.
func shortID(s string) string {
	if len(s) > 8 {
		return s[len(s)-8:]
	}
	return s
}

// permitRestrictions is what a permit restricts, in one line.
func permitRestrictions(l *locale, p domain.ImportPermit) string {
	var parts []string
	if p.CloudOnly {
		parts = append(parts, l.T("cloud only"))
	}
	if len(p.AllowedUses) > 0 {
		parts = append(parts, l.T("uses: %s", codes(l, p.AllowedUses)))
	}
	if len(p.ExcludedSectors) > 0 {
		parts = append(parts, l.T("excluded sectors: %s", codes(l, p.ExcludedSectors)))
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
func outlookChart(l *locale, out service.OutlookView) string {
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
	c := chartData{Title: l.T("Promised units per period"), Series: []chartSeries{{Label: l.T("Promised in period"), Bars: true}, {Label: l.T("Promised, cumulative")}}}
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
			c.Band = &chartBand{Label: l.T("Shaded: the last unit arrives between %[1]s (P50) and %[2]s (P90)", l.Day(t50), l.Day(t90)), From: t50.Unix(), To: t90.Unix()}
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
	qty, err := parseUnits(f, "quantity", "Quantity")
	if err != nil {
		h.buyerRender(w, r, who, csrf, http.StatusUnprocessableEntity, err, "")
		return
	}
	site, _ := strconv.Atoi(f.Get("site"))
	o, err := h.svc.PlaceOrder(r.Context(), who, service.OrderRequest{Product: f.Get("product"), Quantity: qty,
		Period: f.Get("requested_period"), Site: site, EndUse: strings.TrimSpace(f.Get("end_use"))})
	if err != nil {
		h.formFailed(w, r, err, "product", func(status int, err error) { h.buyerRender(w, r, who, csrf, status, err, "") })
		return
	}
	// Post/redirect/get: a reload does not order twice.
	http.Redirect(w, r, "/buyer?order="+o.ID.String()+"#placed", http.StatusSeeOther)
}

// cancelOrder cancels one of the buyer's orders and shows it.
func (h *handler) cancelOrder(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string) {
	id, err := uuid.Parse(r.PostForm.Get("order"))
	if err != nil {
		h.buyerRender(w, r, who, csrf, http.StatusUnprocessableEntity, formErr("order", "Choose an order to cancel."), "")
		return
	}
	if err := confirmed(r.PostForm, "Tick “Yes, cancel this order” to cancel it."); err != nil {
		h.buyerRender(w, r, who, csrf, http.StatusUnprocessableEntity, err, "")
		return
	}
	o, err := h.svc.CancelOrder(r.Context(), who, id, strings.TrimSpace(r.PostForm.Get("reason")))
	if err != nil {
		h.formFailed(w, r, err, "order", func(status int, err error) { h.buyerRender(w, r, who, csrf, status, err, "") })
		return
	}
	http.Redirect(w, r, "/buyer?order="+o.ID.String()+"#placed", http.StatusSeeOther)
}

// buyerRender shows the buyer's page with a form's error (and the form as
// sent) or its notice.
func (h *handler) buyerRender(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string, status int, refused error, notice string) {
	h.again(w, r, who, csrf, status, refused, notice, "/buyer", "buyer", h.buyerView)
}

// parseUnits reads a form's count of units: a whole number, and one that
// fits, so that a too-large number is called too large rather than "not a
// whole number".
func parseUnits(f url.Values, field string, name label) (int64, error) {
	s := strings.TrimSpace(f.Get(field))
	n, err := strconv.ParseInt(s, 10, 64)
	if errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(s, "-") {
		return 0, formErr(field, "%[1]s: too large; at most %[2]s units.", name, maxUnitsText)
	}
	if err != nil {
		return 0, formErr(field, "%s: a whole number of units.", name)
	}
	return n, nil
}

// maxUnitsText is the largest count a form reads, written out.
const maxUnitsText = "9,223,372,036,854,775,807"

// confirmed checks the confirmation box of a destructive form: without
// JavaScript, a ticked box is the second look.
func confirmed(f url.Values, msg string) error {
	if f.Get("confirm") != "yes" {
		return formErr("confirm", msg)
	}
	return nil
}

// codes is a list of codes by their labels, comma-separated.
func codes(l *locale, cs []string) string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = l.Code(c)
	}
	return strings.Join(out, ", ")
}

func (d *buyerData) keepForm(f url.Values) { d.Form = f }

// Source is a policy source by its title, which names the rule, notice or
// article; its id ("S4") is the policy file's, no word for a buyer.
func (d *buyerData) Source(id string) string {
	if t, ok := d.sources[id]; ok {
		return t
	}
	return id
}
