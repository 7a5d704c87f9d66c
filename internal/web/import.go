package web

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/chipgate/chipgate/internal/domain"
)

// importData is the import authority's home page.
type importData struct {
	Hearings, Filings, ByBuyer, Permits *table
}

// importView gathers the hearings with their demand per buyer, and the
// permits.
func (h *handler) importView(ctx context.Context, who domain.Actor, _ *http.Request) (*view, error) {
	const path = "/import"
	d := &importData{
		Hearings: newTable(path, "hearings", "Demand hearings", "Title", "Product", "Period start", "Period end", "Status", "Filings", "Total units").numeric(5, 6),
		Filings:  newTable(path, "filings", "Filings", "Hearing", "Buyer", "Forecast units", "Uses", "Justification", "Filed").numeric(2),
		ByBuyer:  newTable(path, "demand", "Demand per buyer, all hearings", "Buyer", "Forecast units", "Hearings").numeric(1, 2),
		Permits:  newTable(path, "permits", "Import permits", "Number", "Buyer", "Products", "Quantity", "Remaining", "Valid until", "Status", "Restrictions").numeric(3, 4),
	}
	hs, err := h.svc.Hearings(ctx, who)
	if err != nil {
		return nil, err
	}
	units, count := map[string]int64{}, map[string]int64{}
	for _, hv := range hs {
		d.Hearings.add(hv.Title, hv.Product, fmtDate(hv.PeriodStart), fmtDate(hv.PeriodEnd), hv.Status,
			itoa64(int64(len(hv.Filings))), itoa64(hv.TotalUnits))
		for _, f := range hv.Filings {
			d.Filings.add(hv.Title, f.Buyer, itoa64(f.Units), strings.Join(f.Uses, ", "), f.Justification, fmtDate(f.FiledAt))
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
		d.ByBuyer.add(b, itoa64(units[b]), itoa64(count[b]))
	}
	permits, err := h.svc.Permits(ctx, who)
	if err != nil {
		return nil, err
	}
	for _, p := range permits {
		d.Permits.add(p.Number, p.Buyer, strings.Join(p.Products, " "), itoa64(p.Quantity), itoa64(p.Remaining),
			fmtDate(p.ValidUntil), string(p.Status), permitRestrictions(p))
	}
	return &view{Title: "Import authority", Data: d, Tables: []*table{d.Hearings, d.ByBuyer, d.Filings, d.Permits}}, nil
}

// placeholderView is the page of a role whose work arrives with shipments.
func (h *handler) placeholderView(title, what string) func(context.Context, domain.Actor, *http.Request) (*view, error) {
	return func(context.Context, domain.Actor, *http.Request) (*view, error) {
		return &view{Title: title, Data: what}, nil
	}
}
