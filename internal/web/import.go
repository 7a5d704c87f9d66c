package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// importData is the import authority's home page.
type importData struct {
	Hearings, Filings, ByBuyer, Permits *table
	// The permit form's choices.
	Buyers        []domain.Party
	Products      []domain.Product
	Today, YearOn string
	// Open are the hearings still taking filings, for the form that closes
	// one; Form is the form as sent when it failed.
	Open []service.HearingView
	Form url.Values
}

// importView gathers the hearings with their demand per buyer, and the
// permits.
func (h *handler) importView(ctx context.Context, who domain.Actor, _ *http.Request) (*view, error) {
	const path = "/import"
	l := localeIn(ctx)
	d := &importData{
		Hearings: l.table(path, "hearings", "Demand hearings", "Title", "Product", "Period start", "Period end", "Status", "Filings", "Total units").numeric(5, 6),
		Filings:  l.table(path, "filings", "Filings", "Hearing", "Buyer", "Forecast units", "Uses", "Justification", "Filed").numeric(2),
		ByBuyer:  l.table(path, "demand", "Demand per buyer, all hearings", "Buyer", "Forecast units", "Hearings").numeric(1, 2),
		Permits:  l.table(path, "permits", "Import permits", "Number", "Buyer", "Products", "Quantity", "Remaining", "Valid until", "Status", "Restrictions").numeric(3, 4),
	}
	hs, err := h.svc.Hearings(ctx, who)
	if err != nil {
		return nil, err
	}
	units, count := map[string]int64{}, map[string]int64{}
	for _, hv := range hs {
		d.Hearings.add(hv.Title, hv.Product, l.Day(hv.PeriodStart), l.Day(hv.PeriodEnd), l.Code(hv.Status),
			l.Num(len(hv.Filings)), l.Num(hv.TotalUnits))
		if hv.Status == hearingOpen {
			d.Open = append(d.Open, hv)
		}
		for _, f := range hv.Filings {
			d.Filings.add(hv.Title, f.Buyer, l.Num(f.Units), codes(l, f.Uses), f.Justification, l.Time(f.FiledAt))
			units[f.Buyer] += f.Units
			count[f.Buyer]++
		}
	}
	buyers := make([]string, 0, len(units))
	for b := range units {
		buyers = append(buyers, b)
	}
	// Largest demand first: what the regulator weighs a quota against.
	slices.SortFunc(buyers, func(a, b string) int {
		if units[a] != units[b] {
			return int(units[b] - units[a])
		}
		return strings.Compare(a, b)
	})
	for _, b := range buyers {
		d.ByBuyer.add(b, l.Num(units[b]), l.Num(count[b]))
	}
	permits, err := h.svc.Permits(ctx, who)
	if err != nil {
		return nil, err
	}
	for _, p := range permits {
		d.Permits.add(p.Number, p.Buyer, strings.Join(p.Products, " "), l.Num(p.Quantity), l.Num(p.Remaining),
			l.Day(p.ValidUntil), l.Code(string(p.Status)), permitRestrictions(l, p))
	}
	parties, err := h.svc.Parties(ctx, who)
	if err != nil {
		return nil, err
	}
	for _, p := range parties {
		if p.Role == domain.RoleBuyer {
			d.Buyers = append(d.Buyers, p)
		}
	}
	if d.Products, err = h.svc.Products(ctx, who); err != nil {
		return nil, err
	}
	now := h.svc.Now()
	d.Today, d.YearOn = now.Format(time.DateOnly), now.AddDate(1, 0, 0).Format(time.DateOnly)
	return &view{Title: l.T("Import authority: permits and demand hearings"), Data: d, Tables: []*table{d.Hearings, d.ByBuyer, d.Filings, d.Permits}}, nil
}

// decidePermit grants an import permit with its restrictions, or records a
// denial.
func (h *handler) decidePermit(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string) {
	f := r.PostForm
	l := localeIn(r.Context())
	in := service.PermitRequest{Buyer: f.Get("buyer"), Decision: f.Get("decision"), Reason: strings.TrimSpace(f.Get("reason"))}
	if in.Decision == "deny" {
		if err := confirmed(f, "Tick “Yes, deny this permit” to deny it."); err != nil {
			h.importRender(w, r, who, csrf, http.StatusUnprocessableEntity, err, "")
			return
		}
	}
	if in.Decision == "grant" {
		qty, err := parseUnits(f, "quantity", "Quota (units)")
		if err != nil {
			h.importRender(w, r, who, csrf, http.StatusUnprocessableEntity, err, "")
			return
		}
		in.Products, in.Quantity, in.ValidFrom, in.ValidUntil = f["products"], qty, f.Get("valid_from"), f.Get("valid_until")
		in.AllowedUses, in.ExcludedSectors = words(f.Get("allowed_uses")), words(f.Get("excluded_sectors"))
		in.CloudOnly = f.Get("cloud_only") == "on"
	}
	p, err := h.svc.DecidePermit(r.Context(), who, in)
	if err != nil {
		h.formFailed(w, r, err, "buyer", func(status int, err error) { h.importRender(w, r, who, csrf, status, err, "") })
		return
	}
	msg := l.T("Permit %[1]s for %[2]s: %[3]s", p.Number, p.Buyer, l.Code(string(p.Status)))
	if p.Status == domain.GrantActive {
		msg += l.T(", %s units", l.Num(p.Quantity))
	}
	h.importRender(w, r, who, csrf, http.StatusOK, nil, msg)
}

// words splits a comma- or space-separated list.
func words(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
}

func (h *handler) importRender(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string, status int, refused error, notice string) {
	h.again(w, r, who, csrf, status, refused, notice, "/import", "import", h.importView)
}

func (d *importData) keepForm(f url.Values) { d.Form = f }
