package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Files are the names WriteFiles writes, in the order it writes them.
var Files = []string{
	"summary.json",
	"delivered_by_buyer_week.csv",
	"cn_share.csv",
	"money.csv",
	"delivery_delay.csv",
	"concentration.csv",
	"decisions.csv",
	"lab_queue.csv",
	"report.html",
}

// WriteFiles writes the summary, the CSVs and the report into dir,
// creating it. Every CSV has one column per variant, in scenario order, so
// variants compare side by side; the files depend only on r.
func WriteFiles(dir string, r *Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	outs := map[string][]byte{}
	sum, err := Summary(r)
	if err != nil {
		return err
	}
	outs["summary.json"] = sum
	outs["delivered_by_buyer_week.csv"] = deliveredCSV(r)
	outs["cn_share.csv"] = weeklyCSV(r, []weekMetric{
		{"cum_us_units", func(v *VariantResult, w WeekFigures) string { return itoa(w.CumUS) }},
		{"cum_cn_units", func(v *VariantResult, w WeekFigures) string { return itoa(w.CumCN) }},
		{"cn_share_of_us", func(v *VariantResult, w WeekFigures) string { return ratio(w.CNShareOfUS) }},
		{"cn_cap", func(v *VariantResult, w WeekFigures) string { return capText(v.Totals.CNCapPPM) }},
	})
	outs["money.csv"] = moneyCSV(r)
	outs["delivery_delay.csv"] = delayCSV(r)
	outs["concentration.csv"] = weeklyCSV(r, []weekMetric{
		{"hhi_cn", func(v *VariantResult, w WeekFigures) string { return strconv.FormatFloat(w.HHICN, 'f', 2, 64) }},
		{"reserve_share_cn", func(v *VariantResult, w WeekFigures) string { return ratio(w.ReserveShareCN) }},
	})
	outs["decisions.csv"] = decisionsCSV(r)
	outs["lab_queue.csv"] = weeklyCSV(r, []weekMetric{
		{"capacity", func(v *VariantResult, w WeekFigures) string { return itoa(w.LabCapacity) }},
		{"arrived", func(v *VariantResult, w WeekFigures) string { return itoa(w.LabArrived) }},
		{"tested", func(v *VariantResult, w WeekFigures) string { return itoa(w.LabTested) }},
		{"queue", func(v *VariantResult, w WeekFigures) string { return itoa(w.LabQueue) }},
	})
	outs["report.html"] = Report(r)
	for _, name := range Files {
		if err := os.WriteFile(filepath.Join(dir, name), outs[name], 0o644); err != nil {
			return fmt.Errorf("simulate: %w", err)
		}
	}
	return nil
}

// Summary returns summary.json: the scenario, and per variant its
// parameters, totals, delays and decisions (the weekly series are in the
// CSVs).
func Summary(r *Result) ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("simulate: summary: %w", err)
	}
	return append(b, '\n'), nil
}

// csvRow writes one CSV line. Fields come from names the scenario
// validated (no commas, quotes or line breaks in variant names) and from
// buyer names, which are quoted when they need it.
func csvRow(b *bytes.Buffer, fields ...string) {
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		if strings.ContainsAny(f, ",\"\n\r") {
			f = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
		}
		b.WriteString(f)
	}
	b.WriteByte('\n')
}

func header(r *Result, first ...string) []string {
	h := slices.Clone(first)
	for _, v := range r.Variants {
		h = append(h, v.Name)
	}
	return h
}

type weekMetric struct {
	name  string
	value func(v *VariantResult, w WeekFigures) string
}

// weeklyCSV writes week, date, metric, then a column per variant.
func weeklyCSV(r *Result, ms []weekMetric) []byte {
	var b bytes.Buffer
	csvRow(&b, header(r, "week", "date", "metric")...)
	for wk := 0; wk < r.Weeks; wk++ {
		for _, m := range ms {
			row := []string{strconv.Itoa(wk), r.dates[wk], m.name}
			for i := range r.Variants {
				v := &r.Variants[i]
				row = append(row, m.value(v, v.Weekly[wk]))
			}
			csvRow(&b, row...)
		}
	}
	return b.Bytes()
}

// deliveredCSV writes the units each buyer received each week, one row per
// buyer and week in which some variant delivered something.
func deliveredCSV(r *Result) []byte {
	var b bytes.Buffer
	csvRow(&b, header(r, "week", "date", "buyer", "region", "class")...)
	for wk := 0; wk < r.Weeks; wk++ {
		for bi, by := range r.buyers {
			any := false
			for i := range r.Variants {
				if r.Variants[i].delivered[bi][wk] != 0 {
					any = true
					break
				}
			}
			if !any {
				continue
			}
			row := []string{strconv.Itoa(wk), r.dates[wk], by.Name, by.Region, by.Class}
			for i := range r.Variants {
				row = append(row, itoa(r.Variants[i].delivered[bi][wk]))
			}
			csvRow(&b, row...)
		}
	}
	return b.Bytes()
}

// moneyCSV writes each week's declared value shipped, dutiable value, duty
// and vendor revenue in exact minor units, then the totals.
func moneyCSV(r *Result) []byte {
	var b bytes.Buffer
	csvRow(&b, header(r, "week", "date", "currency", "metric")...)
	cur := r.UnitPrice.Currency
	metrics := []struct {
		name string
		week func(w WeekFigures) int64
		tot  func(t Totals) int64
	}{
		{"gross_value_minor", func(w WeekFigures) int64 { return w.Gross }, func(t Totals) int64 { return t.GrossValue.Minor }},
		{"dutiable_value_minor", func(w WeekFigures) int64 { return w.Dutiable }, func(t Totals) int64 { return t.DutiableValue.Minor }},
		{"duty_minor", func(w WeekFigures) int64 { return w.Duty }, func(t Totals) int64 { return t.Duty.Minor }},
		{"vendor_revenue_minor", func(w WeekFigures) int64 { return w.Gross - w.Duty }, func(t Totals) int64 { return t.VendorRevenue.Minor }},
	}
	for wk := 0; wk < r.Weeks; wk++ {
		for _, m := range metrics {
			row := []string{strconv.Itoa(wk), r.dates[wk], cur, m.name}
			for i := range r.Variants {
				row = append(row, itoa(m.week(r.Variants[i].Weekly[wk])))
			}
			csvRow(&b, row...)
		}
	}
	for _, m := range metrics {
		row := []string{"total", "", cur, m.name}
		for i := range r.Variants {
			row = append(row, itoa(m.tot(r.Variants[i].Totals)))
		}
		csvRow(&b, row...)
	}
	return b.Bytes()
}

// delayCSV writes the P50/P90 delivery delays per region.
func delayCSV(r *Result) []byte {
	var b bytes.Buffer
	csvRow(&b, header(r, "region", "metric")...)
	if len(r.Variants) == 0 {
		return b.Bytes()
	}
	for k, d := range r.Variants[0].Delays {
		for _, m := range []struct {
			name string
			f    func(DelayFigures) string
		}{
			{"units_delivered", func(d DelayFigures) string { return itoa(d.Units) }},
			{"p50_days", func(d DelayFigures) string { return strconv.Itoa(d.P50) }},
			{"p90_days", func(d DelayFigures) string { return strconv.Itoa(d.P90) }},
		} {
			row := []string{d.Region, m.name}
			for i := range r.Variants {
				row = append(row, m.f(r.Variants[i].Delays[k]))
			}
			csvRow(&b, row...)
		}
	}
	return b.Bytes()
}

// decisionsCSV writes orders and units by final outcome and rule, for the
// union of (outcome, rule) pairs over the variants.
func decisionsCSV(r *Result) []byte {
	var b bytes.Buffer
	csvRow(&b, header(r, "outcome", "rule", "metric")...)
	for _, k := range decisionKeys(r) {
		for _, metric := range []string{"orders", "units"} {
			row := []string{k.Outcome, k.Rule, metric}
			for i := range r.Variants {
				c := findDecision(r.Variants[i].Decisions, k.Outcome, k.Rule)
				if metric == "orders" {
					row = append(row, strconv.Itoa(c.Orders))
				} else {
					row = append(row, itoa(c.Units))
				}
			}
			csvRow(&b, row...)
		}
	}
	return b.Bytes()
}

// decisionKeys lists every (outcome, rule) pair of any variant, in the
// order outcomes rank, then by rule.
func decisionKeys(r *Result) []DecisionCount {
	var keys []DecisionCount
	for _, v := range r.Variants {
		for _, d := range v.Decisions {
			if findDecision(keys, d.Outcome, d.Rule).Outcome == "" {
				keys = append(keys, DecisionCount{Outcome: d.Outcome, Rule: d.Rule})
			}
		}
	}
	rank := map[string]int{"accepted": 0, "accepted_after_hold": 1, "held_for_review": 2, "rejected": 3}
	slices.SortFunc(keys, func(a, b DecisionCount) int {
		if d := rank[a.Outcome] - rank[b.Outcome]; d != 0 {
			return d
		}
		return strings.Compare(a.Rule, b.Rule)
	})
	return keys
}

func findDecision(ds []DecisionCount, outcome, rule string) DecisionCount {
	for _, d := range ds {
		if d.Outcome == outcome && d.Rule == rule {
			return d
		}
	}
	return DecisionCount{}
}

// ratio writes a share with six decimals: enough to compare with a cap in
// parts per million.
func ratio(f float64) string { return strconv.FormatFloat(f, 'f', 6, 64) }

// capText writes a cap in parts per million as a decimal, or "none".
func capText(ppm int64) string {
	if ppm < 0 {
		return "none"
	}
	return strconv.FormatFloat(float64(ppm)/1e6, 'f', 6, 64)
}
