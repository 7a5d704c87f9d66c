package sim

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/chipgate/chipgate/internal/domain"
)

// keyFigure is one row of the comparison: a name and its value per
// variant, written for people.
type keyFigure struct {
	name  string
	value func(v *VariantResult) string
}

// keyFigures are the figures policy makers argued over, in the order the
// terminal table and the report show them.
func keyFigures(r *Result) []keyFigure {
	delay := func(region string, p90 bool) func(v *VariantResult) string {
		return func(v *VariantResult) string {
			for _, d := range v.Delays {
				if d.Region == region {
					if d.Units == 0 {
						return "-"
					}
					if p90 {
						return strconv.Itoa(d.P90)
					}
					return strconv.Itoa(d.P50)
				}
			}
			return "-"
		}
	}
	units := func(region string) func(v *VariantResult) string {
		return func(v *VariantResult) string { return thousands(v.Totals.ShippedUnits[region]) }
	}
	return []keyFigure{
		{"duty rate", func(v *VariantResult) string { return v.Params.Duty }},
		{"CN cap (share of US)", func(v *VariantResult) string { return v.Params.CNCap }},
		{"min lot age CN (days)", func(v *VariantResult) string { return strconv.Itoa(v.Params.MinLotAgeDays) }},
		{"reserve sme+research", func(v *VariantResult) string { return v.Params.Reserve }},
		{"units shipped US", units("US")},
		{"units shipped other", units("other")},
		{"units shipped CN", units("CN")},
		{"CN share of US (end)", func(v *VariantResult) string { return percent(v.Totals.CNShareOfUS) }},
		{"duty collected", func(v *VariantResult) string { return millions(v.Totals.Duty) }},
		{"vendor revenue", func(v *VariantResult) string { return millions(v.Totals.VendorRevenue) }},
		{"delay P50/P90 US (days)", func(v *VariantResult) string { return delay("US", false)(v) + "/" + delay("US", true)(v) }},
		{"delay P50/P90 CN (days)", func(v *VariantResult) string { return delay("CN", false)(v) + "/" + delay("CN", true)(v) }},
		{"HHI among CN buyers", func(v *VariantResult) string { return strconv.FormatFloat(v.Totals.HHICN, 'f', 0, 64) }},
		{"sme+research share of CN", func(v *VariantResult) string { return percent(v.Totals.ReserveShareCN) }},
		{"lab queue max (units)", func(v *VariantResult) string { return thousands(v.Totals.LabQueueMax) }},
		{"orders held / rejected", func(v *VariantResult) string {
			return strconv.Itoa(v.Totals.OrdersHeld) + " / " + strconv.Itoa(v.Totals.OrdersRejected)
		}},
	}
}

// WriteCompare writes the key figures of every variant side by side, one
// column per variant, for the terminal.
func WriteCompare(w io.Writer, r *Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "%s: %d buyers, %d orders, %d weeks from %s, seed %d\n\n", r.Scenario, r.Buyers, r.Orders, r.Weeks, r.Start, r.Seed)
	// The columns align right for the numbers; padding the names to one
	// width keeps the first column flush left.
	figs := keyFigures(r)
	width := len("variant")
	for _, k := range figs {
		width = max(width, len([]rune(k.name)))
	}
	pad := func(s string) string { return s + strings.Repeat(" ", width-len([]rune(s))) }
	row := []string{pad("variant")}
	for _, v := range r.Variants {
		row = append(row, v.Name)
	}
	fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	for _, k := range figs {
		row := []string{pad(k.name)}
		for i := range r.Variants {
			row = append(row, k.value(&r.Variants[i]))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nmoney in millions of %s; exact minor units in money.csv and summary.json\n", r.UnitPrice.Currency)
	return err
}

// thousands writes n with thin separators: 1,234,567.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// millions writes money in millions with two decimals, rounded down from
// the exact minor units (for display only).
func millions(m domain.Money) string {
	cents := m.Minor
	whole := cents / 100_000_000
	frac := (cents % 100_000_000) / 1_000_000
	return fmt.Sprintf("%s.%02dM", thousands(whole), frac)
}

func percent(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" }
