package web

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/internal/service"
)

// exportData is the export authority's home page.
type exportData struct {
	Queue, Hits, Flags, Licenses, Held, Volumes *table
	// Duty, DutyTotals and Alerts are the shipments' duty for Month and the
	// diversion watch's alerts; Actionable the alerts still open to a move.
	Duty, DutyTotals, Alerts *table
	Month                    string
	Actionable               []alertCard
	// Pending are the applications to decide, in full.
	Pending []pendingApp
	Vendors []domain.Party
	// AllLicenses are the choices of the license form.
	AllLicenses []domain.License
	// Customers are the approved and suspended applications, for the form
	// that suspends, reinstates or revokes an approval.
	Customers []customer
	Actions   []customerAction
	Gauge     *volumeGauge
	Today     string
	YearOn    string
	// Reasons are the policy's reasons for a decision on a screening hit.
	Reasons []policy.ScreeningReason
	// Notices are the customers' confirmed license exception
	// notifications; OpenNotices those that may be withdrawn;
	// NoticeExceptions and NoticeProducts the confirmation form's choices.
	Notices          *table
	OpenNotices      []openNotice
	NoticeExceptions []string
	NoticeProducts   []string
}

// pendingApp is an application in the review queue with the approval
// form's defaults.
type pendingApp struct {
	App      domain.Application
	Products []string
	Quantity int64
}

// volumeGauge is China's accepted units against the cap, a share of the
// US units.
type volumeGauge struct {
	Product     string
	Region      string // the capped region
	CN, US, Cap int64
	Share       string // the cap as a percentage of US units
	High        int64  // where the gauge turns to a warning: 90% of the cap
	Rule        string
	Over        bool
}

// exportView gathers the review queue, licenses, held orders, the
// CN-vs-US volumes, the duty of a month (?month=YYYY-MM, this month by
// default) and the diversion alerts.
func (h *handler) exportView(ctx context.Context, who domain.Actor, r *http.Request) (*view, error) {
	const path = "/export"
	now := h.svc.Now()
	l := localeIn(ctx)
	d := &exportData{
		Queue:    l.table(path, "queue", "Review queue", "Submitted", "Buyer", "Legal name", "Country", "Status", "Screening", "Unreviewed hits", "Red flags"),
		Hits:     l.table(path, "hits", "Screening hits", "Buyer", "Via", "Name screened", "List", "Listed name", "Matched words", "Score", "Review"),
		Flags:    l.table(path, "flags", "Red flags", "Buyer", "Red flag", "Rule", "Evidence"),
		Licenses: l.table(path, "licenses", "Licenses", "Number", "Buyer", "Vendor", "Products", "Quantity", "Remaining", "Valid until", "Status", "Conditions").numeric(4, 5),
		Held:     l.table(path, "held", "Orders held for review", "Placed", "Order", "Buyer", "Product", "Quantity", "Reasons").numeric(4),
		Volumes:  l.table(path, "volumes", "Units by product and destination region", "Product", "Region", "Accepted units", "Exported units").numeric(2, 3),
		Today:    now.Format(time.DateOnly),
		YearOn:   now.AddDate(1, 0, 0).Format(time.DateOnly),
	}
	if pol := h.svc.Policy(); pol != nil {
		if sc, _, ok := pol.At(now).Screening(); ok {
			d.Reasons = sc.Reasons
		}
	}
	pending, err := h.svc.Applications(ctx, who, []string{string(domain.AppSubmitted), string(domain.AppInfoRequested)})
	if err != nil {
		return nil, err
	}
	// Approved applications whose hits nobody reviewed yet are screening
	// work too.
	queue, err := h.svc.ReviewQueue(ctx, who)
	if err != nil {
		return nil, err
	}
	for _, a := range queue {
		if !slices.ContainsFunc(pending, func(p domain.Application) bool { return p.ID == a.ID }) {
			pending = append(pending, a)
		}
	}
	slices.SortStableFunc(pending, func(a, b domain.Application) int { return a.SubmittedAt.Compare(b.SubmittedAt) })
	for _, a := range pending {
		unreviewed := 0
		for _, hit := range a.Screening.Hits {
			if hit.Review == "" {
				unreviewed++
			}
			review := "—"
			if hit.Review != "" {
				review = l.Code(hit.Review)
			}
			d.Hits.add(a.Buyer, l.Code(hit.Via), hit.Query, hit.List, hit.Name, strings.Join(hit.Words, " "),
				strconv.FormatFloat(hit.Score, 'f', 2, 64), review)
		}
		for _, f := range a.Flags {
			d.Flags.add(a.Buyer, l.Code(f.Code), f.Rule, f.Evidence)
		}
		d.Queue.add(l.Date(a.SubmittedAt), a.Buyer, a.LegalName, a.Country, l.Code(string(a.Status)), l.Code(a.Screening.Status),
			l.Num(unreviewed), l.Num(len(a.Flags)))
		p := pendingApp{App: a}
		for prod, n := range a.Volumes {
			p.Products = append(p.Products, prod)
			p.Quantity += n
		}
		slices.Sort(p.Products)
		d.Pending = append(d.Pending, p)
	}
	d.Queue.Empty, d.Hits.Empty, d.Flags.Empty = l.T("No application waits for a decision."), l.T("No screening hits in the queue."), l.T("No red flags in the queue.")

	approved, err := h.svc.Applications(ctx, who, []string{string(domain.AppApproved), string(domain.AppSuspended)})
	if err != nil {
		return nil, err
	}
	d.Customers, d.Actions = customersOf(approved), customerActions
	if err := h.notices(ctx, who, approved, d); err != nil {
		return nil, err
	}
	lics, err := h.svc.Licenses(ctx, who)
	if err != nil {
		return nil, err
	}
	d.AllLicenses = lics
	for _, lic := range lics {
		d.Licenses.add(lic.Number, lic.Buyer, lic.Vendor, strings.Join(lic.Products, " "), l.Num(lic.Quantity), l.Num(lic.Remaining),
			l.Day(lic.ValidUntil), l.Code(string(lic.Status)), strings.Join(lic.Conditions, "; "))
	}
	// The queue is a paged read of the held orders, newest first: a list
	// of every order cut at 10,000 missed the newest held ones.
	held, err := h.svc.OrdersPage(ctx, who, d.Held.pageOf(r, domain.ListQuery{Status: []string{string(domain.OrderHeld)}}))
	if err != nil {
		return nil, err
	}
	d.Held.more(r, held.NextCursor)
	for _, o := range held.Items {
		d.Held.add(l.Time(o.PlacedAt), o.ID.String(), o.Buyer, o.Product, l.Num(o.Quantity), reasonText(l, o))
	}
	d.Held.Empty = l.T("No order is held.")
	// The gauge reads the counters the decisions read, not a sum of its
	// own: they stay one reading after cancellations and shipments.
	gauges, err := h.svc.VolumeGauges(ctx, who)
	if err != nil {
		return nil, err
	}
	for _, g := range gauges {
		regions := slices.Sorted(maps.Keys(g.Accepted))
		for _, r := range regions {
			if g.Accepted[r] != 0 || g.Exported[r] != 0 {
				d.Volumes.add(g.Product, r, l.Num(g.Accepted[r]), l.Num(g.Exported[r]))
			}
		}
		// The gauge shows the product whose capped region uses the most.
		if g.Rule == "" || g.Accepted[g.Region] == 0 || (d.Gauge != nil && g.Accepted[g.Region] <= d.Gauge.CN) {
			continue
		}
		gv := &volumeGauge{Product: g.Product, Region: g.Region, CN: g.Accepted[g.Region], US: g.Accepted["US"], Cap: g.AcceptedLimit, Rule: g.Rule,
			Share: strconv.FormatFloat(float64(g.Share)/float64(domain.RateScale)*100, 'f', -1, 64)}
		gv.High = gv.Cap * 9 / 10
		gv.Over = gv.CN > gv.Cap
		d.Gauge = gv
	}
	parties, err := h.svc.Parties(ctx, who)
	if err != nil {
		return nil, err
	}
	for _, p := range parties {
		if p.Role == domain.RoleVendor {
			d.Vendors = append(d.Vendors, p)
		}
	}
	month := now.Format("2006-01")
	if m := strings.TrimSpace(r.URL.Query().Get("month")); m != "" {
		month = m
	}
	if err := h.dutyAndAlerts(ctx, who, r, month, d); err != nil {
		return nil, err
	}
	return &view{Title: l.T("Export authority: applications, licenses and alerts"), Data: d, Tables: []*table{d.Queue, d.Hits, d.Flags, d.Licenses, d.Held, d.Volumes, d.Alerts, d.Duty, d.DutyTotals, d.Notices}}, nil
}

// decideApplication approves (with one license), denies or asks for
// information on an application.
func (h *handler) decideApplication(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		h.renderError(w, r, http.StatusNotFound, "No such application.")
		return
	}
	f := r.PostForm
	l := localeIn(r.Context())
	in := service.ApplicationDecision{Decision: f.Get("decision"), Reason: strings.TrimSpace(f.Get("reason"))}
	if in.Decision == "deny" {
		if err := confirmed(f, "Tick “Yes, deny this application” to deny it."); err != nil {
			h.exportRender(w, r, who, csrf, http.StatusUnprocessableEntity, err, "")
			return
		}
	}
	if in.Decision == "approve" {
		qty, err := parseUnits(f, "quantity", "Quantity")
		if err != nil {
			h.exportRender(w, r, who, csrf, http.StatusUnprocessableEntity, err, "")
			return
		}
		var conds []string
		for _, line := range strings.Split(f.Get("conditions"), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				conds = append(conds, line)
			}
		}
		in.Licenses = []service.LicenseGrant{{Vendor: f.Get("vendor"), Products: f["products"], Quantity: qty,
			ValidFrom: f.Get("valid_from"), ValidUntil: f.Get("valid_until"), Conditions: conds}}
	}
	a, lics, err := h.svc.DecideApplication(r.Context(), who, id, in)
	if err != nil {
		h.exportFailed(w, r, who, csrf, err)
		return
	}
	msg := l.T("%[1]s: %[2]s", a.LegalName, l.Code(string(a.Status)))
	for _, lic := range lics {
		msg += l.T("; license %[1]s issued for %[2]s units", lic.Number, l.Num(lic.Quantity))
	}
	h.exportNotice(w, r, who, csrf, msg)
}

// reviewHit records the export authority's call on one screening hit.
func (h *handler) reviewHit(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string) {
	id, err := uuid.Parse(r.PathValue("id"))
	hit, err2 := strconv.Atoi(r.PathValue("hit"))
	if err != nil || err2 != nil {
		h.renderError(w, r, http.StatusNotFound, "No such screening hit.")
		return
	}
	a, err := h.svc.ReviewHits(r.Context(), who, id, []service.HitReview{{Hit: hit, Decision: r.PostForm.Get("decision"),
		Reason: r.PostForm.Get("reason"), Note: r.PostForm.Get("note")}})
	if err != nil {
		h.exportFailed(w, r, who, csrf, err)
		return
	}
	l := localeIn(r.Context())
	h.exportNotice(w, r, who, csrf, l.T("%[1]s: hit %[2]d marked %[3]s; screening now %[4]s, application %[5]s",
		a.LegalName, hit+1, l.Code(a.Screening.Hits[hit].Review), l.Code(a.Screening.Status), l.Code(string(a.Status))))
}

// changeLicense suspends, reinstates or revokes a license.
func (h *handler) changeLicense(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string) {
	id, err := uuid.Parse(r.PostForm.Get("license"))
	if err != nil {
		h.exportRender(w, r, who, csrf, http.StatusUnprocessableEntity, formErr("license", "Choose a license."), "")
		return
	}
	action := r.PostForm.Get("action")
	if action == "" {
		h.exportRender(w, r, who, csrf, http.StatusUnprocessableEntity, formErr("action", "Action: choose suspend, reinstate or revoke."), "")
		return
	}
	if action == "suspend" || action == "revoke" {
		if err := confirmed(r.PostForm, "Tick “Yes, suspend or revoke” to do so."); err != nil {
			h.exportRender(w, r, who, csrf, http.StatusUnprocessableEntity, err, "")
			return
		}
	}
	lic, err := h.svc.ChangeLicense(r.Context(), who, id, action, strings.TrimSpace(r.PostForm.Get("reason")))
	if err != nil {
		h.exportFailed(w, r, who, csrf, err)
		return
	}
	l := localeIn(r.Context())
	h.exportNotice(w, r, who, csrf, l.T("License %[1]s of %[2]s: %[3]s", lic.Number, lic.Buyer, l.Code(string(lic.Status))))
}

// reviewOrder releases or rejects a held order.
func (h *handler) reviewOrder(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		h.renderError(w, r, http.StatusNotFound, "No such order.")
		return
	}
	o, err := h.svc.ReviewOrder(r.Context(), who, id, r.PostForm.Get("decision"), strings.TrimSpace(r.PostForm.Get("reason")))
	if err != nil {
		h.exportFailed(w, r, who, csrf, err)
		return
	}
	l := localeIn(r.Context())
	h.exportNotice(w, r, who, csrf, l.T("Order %[1]s of %[2]s: %[3]s", shortID(o.ID.String()), o.Buyer, l.Code(string(o.Status))))
}

// exportNotice shows the page after a successful action. It renders rather
// than redirects so that the notice needs no session state; the form's
// effect is already committed, and a reload would only repeat a decision
// the lifecycle then refuses.
func (h *handler) exportNotice(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf, msg string) {
	h.exportRender(w, r, who, csrf, http.StatusOK, nil, msg)
}

// exportFailed shows the page again with the service's refusal of a form;
// any other failure is the service's.
func (h *handler) exportFailed(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string, err error) {
	if c := domain.ErrorCode(err); c == domain.EINVALID || c == domain.ECONFLICT {
		h.exportRender(w, r, who, csrf, statusOf(err), err, "")
		return
	}
	h.fail(w, r, err)
}

func (h *handler) exportRender(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string, status int, refused error, notice string) {
	h.again(w, r, who, csrf, status, refused, notice, "/export", "export", h.exportView)
}
