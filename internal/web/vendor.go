package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// vendorData is the vendor's home page.
type vendorData struct {
	Runs, Periods, Buyers, Tiers *table
	// Shipments are all the vendor's shipments.
	Shipments *table
	Latest    *service.AllocationRun
	Chart     string
	Start     string
	// The shipment form's choices: accepted orders and lots with units
	// left; Form is the form as sent when it failed, Shipped the shipment
	// it just created.
	Orders  []shippableOrder
	Lots    []lotChoice
	Form    url.Values
	Shipped *domain.Shipment
}

// vendorView gathers the allocation runs and, for the latest, supply and
// demand per period and the allocation by buyer and tier.
func (h *handler) vendorView(ctx context.Context, who domain.Actor, req *http.Request) (*view, error) {
	const path = "/vendor"
	now := h.svc.Now()
	l := localeIn(ctx)
	d := &vendorData{
		Runs:    l.table(path, "runs", "Allocation runs", "At", "Run", "Inputs SHA-256", "Supply", "Demand", "Allocated", "HHI (CN)").numeric(3, 4, 5, 6),
		Periods: l.table(path, "periods", "Supply and demand per period (latest run)", "Period", "Supply (lots)", "Demand (orders from)", "Allocated").numeric(1, 2, 3),
		Buyers:  l.table(path, "buyers", "Allocation by buyer (latest run)", "Buyer", "Region", "Tier", "Ordered", "Allocated", "Unmet").numeric(2, 3, 4, 5),
		Tiers:   l.table(path, "tiers", "Allocation by tier (latest run)", "Tier", "Regions", "Demand", "Allocated", "Reserved", "Jain fairness").numeric(0, 2, 3, 4, 5),
		Start:   now.Truncate(24*time.Hour).AddDate(0, 0, -int((now.Weekday()+6)%7)).Format(time.DateOnly),
	}
	d.Periods.Empty, d.Buyers.Empty, d.Tiers.Empty = l.T("No run yet."), l.T("No run yet."), l.T("No run yet.")
	d.Shipments = l.table(path, "shipments", "Shipments", "Created", "Shipment", "Buyer", "Product", "Lot", "Units", "Route", "Status",
		"Where", "Lab test", "Lab test by (ETA)", "Invoice").numeric(5)
	d.Shipments.Empty = l.T("No shipment yet.")
	ships, err := h.svc.ShipmentsPage(ctx, who, d.Shipments.pageOf(req, domain.ListQuery{}))
	if err != nil {
		return nil, err
	}
	d.Shipments.more(req, ships.NextCursor)
	for _, sv := range ships.Items {
		d.Shipments.add(l.Time(sv.CreatedAt), sv.Number, sv.Buyer, sv.Product, sv.Lot, l.Num(sv.Quantity), routeText(sv.Shipment),
			l.Code(string(sv.Status)), whereText(l, sv.Shipment), labText(l, sv), labETA(l, sv), money(sv.Invoice.Total))
	}
	if d.Orders, d.Lots, err = h.shipmentChoices(ctx, who); err != nil {
		return nil, err
	}
	tables := []*table{d.Runs, d.Periods, d.Buyers, d.Tiers, d.Shipments}
	runs, err := h.svc.AllocationRunsPage(ctx, who, d.Runs.pageOf(req, domain.ListQuery{}))
	if err != nil {
		return nil, err
	}
	d.Runs.more(req, runs.NextCursor)
	for _, r := range runs.Items {
		d.Runs.add(l.Time(r.At), shortID(r.ID.String()), r.InputsHash, l.Num(r.Metrics.Supply),
			l.Num(r.Metrics.Demand), l.Num(r.Metrics.Allocated), strconv.FormatFloat(r.Metrics.HHI, 'f', 0, 64))
	}
	// The latest run is a query of its own (the first of the newest
	// first), whichever page of the runs the table shows.
	latest, err := h.svc.AllocationRunsPage(ctx, who, domain.ListQuery{Limit: 1})
	if err != nil {
		return nil, err
	}
	title := l.T("Vendor: shipments and allocation")
	if len(latest.Items) == 0 {
		return &view{Title: title, Data: d, Tables: tables}, nil
	}
	run, err := h.svc.AllocationRunByID(ctx, who, latest.Items[0].ID)
	if err != nil {
		return nil, err
	}
	d.Latest = &run
	p := run.Problem
	supply, demand, alloc := make([]int64, p.Periods), make([]int64, p.Periods), make([]int64, p.Periods)
	clamp := func(i int) int { return min(max(i, 0), p.Periods-1) }
	for _, l := range p.Lots {
		supply[clamp(l.Period)] += l.Quantity
	}
	type buyerKey struct {
		buyer, region string
	}
	ordered, got, unmet := map[buyerKey]int64{}, map[buyerKey]int64{}, map[buyerKey]int64{}
	keyOf := map[string]buyerKey{}
	for _, o := range p.Orders {
		demand[clamp(o.Period)] += o.Quantity
		k := buyerKey{o.Buyer, o.Region}
		keyOf[o.ID] = k
		ordered[k] += o.Quantity
	}
	for _, a := range run.Result.Allocations {
		alloc[clamp(a.Period)] += a.Quantity
		got[keyOf[a.Order]] += a.Quantity
	}
	for _, u := range run.Result.Unmet {
		unmet[keyOf[u.Order]] += u.Quantity
	}
	start, err := time.Parse(time.DateOnly, p.Start)
	if err != nil {
		return nil, fmt.Errorf("web: run %s has start %q: %w", run.ID, p.Start, err)
	}
	// Cumulative lines: per-period supply and demand are spiky (one large
	// first lot, orders wanted from one date), and what a vendor weighs is
	// how far supply to date trails demand to date.
	c := chartData{Title: l.T("Units to date, and allocated per period"), Series: []chartSeries{
		{Label: l.T("Supply to date")}, {Label: l.T("Demand to date")}, {Label: l.T("Allocated to date")}, {Label: l.T("Allocated in period"), Bars: true}}}
	var cumSupply, cumDemand, cumAlloc int64
	for i := range p.Periods {
		t := start.AddDate(0, 0, i*p.PeriodDays)
		cumSupply, cumDemand, cumAlloc = cumSupply+supply[i], cumDemand+demand[i], cumAlloc+alloc[i]
		c.X = append(c.X, t.Unix())
		c.Series[0].Values = append(c.Series[0].Values, cumSupply)
		c.Series[1].Values = append(c.Series[1].Values, cumDemand)
		c.Series[2].Values = append(c.Series[2].Values, cumAlloc)
		c.Series[3].Values = append(c.Series[3].Values, alloc[i])
		if supply[i] != 0 || demand[i] != 0 || alloc[i] != 0 {
			d.Periods.add(l.Day(t), l.Num(supply[i]), l.Num(demand[i]), l.Num(alloc[i]))
		}
	}
	if raw, err := json.Marshal(c); err == nil {
		d.Chart = string(raw)
	}
	tierOf := func(region string) int {
		for i, t := range p.Tiers {
			if slices.Contains(t, region) {
				return i + 1
			}
		}
		for i, t := range p.Tiers {
			if slices.Contains(t, "*") {
				return i + 1
			}
		}
		return len(p.Tiers) + 1
	}
	keys := make([]buyerKey, 0, len(ordered))
	for k := range ordered {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b buyerKey) int {
		if ta, tb := tierOf(a.region), tierOf(b.region); ta != tb {
			return ta - tb
		}
		return strings.Compare(a.buyer, b.buyer)
	})
	for _, k := range keys {
		d.Buyers.add(k.buyer, k.region, strconv.Itoa(tierOf(k.region)), l.Num(ordered[k]), l.Num(got[k]), l.Num(unmet[k]))
	}
	for i, t := range run.Result.Metrics.Tiers {
		d.Tiers.add(strconv.Itoa(i+1), strings.Join(t.Regions, " "), l.Num(t.Demand), l.Num(t.Allocated), l.Num(t.Reserved),
			strconv.FormatFloat(t.Jain, 'f', 3, 64))
	}
	return &view{Title: title, Data: d, Tables: tables}, nil
}

// runAllocation starts an allocation run and shows the page with it.
func (h *handler) runAllocation(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string) {
	f := r.PostForm
	in := service.AllocationRunRequest{Start: strings.TrimSpace(f.Get("start"))}
	var err error
	if s := strings.TrimSpace(f.Get("periods")); s != "" {
		if in.Periods, err = strconv.Atoi(s); err != nil {
			h.vendorRender(w, r, who, csrf, http.StatusUnprocessableEntity, formErr("periods", "Periods must be a whole number."), "")
			return
		}
	}
	if s := strings.TrimSpace(f.Get("period_days")); s != "" {
		if in.PeriodDays, err = strconv.Atoi(s); err != nil {
			h.vendorRender(w, r, who, csrf, http.StatusUnprocessableEntity, formErr("period_days", "Period length must be a whole number of days."), "")
			return
		}
	}
	run, err := h.svc.RunAllocation(r.Context(), who, in)
	if err != nil {
		if domain.ErrorCode(err) == domain.EINVALID {
			h.vendorRender(w, r, who, csrf, http.StatusUnprocessableEntity, err, "")
			return
		}
		h.fail(w, r, err)
		return
	}
	m := run.Result.Metrics
	l := localeIn(r.Context())
	h.vendorRender(w, r, who, csrf, http.StatusOK, nil, l.T("Run %[1]s: %[2]s of %[3]s units demanded allocated from a supply of %[4]s.",
		shortID(run.ID.String()), l.Num(m.Allocated), l.Num(m.Demand), l.Num(m.Supply)))
}

func (h *handler) vendorRender(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string, status int, refused error, notice string) {
	h.again(w, r, who, csrf, status, refused, notice, "/vendor", "vendor", h.vendorView)
}

func (d *vendorData) keepForm(f url.Values) { d.Form = f }

// vendorShipped shows the page with the shipment just created.
func (h *handler) vendorShipped(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string, sh domain.Shipment, notice string) {
	v, err := h.vendorView(r.Context(), who, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Data.(*vendorData).Shipped = &sh
	v.Who, v.CSRF, v.Notice = &who, csrf, notice
	w.Header().Set("HX-Push-Url", "/vendor")
	h.render(w, r, http.StatusOK, "vendor", v)
}
