package sim

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"slices"
	"strconv"
	"strings"
)

// palette colours variants in scenario order; it repeats past eight.
var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"}

func colour(i int) string { return palette[i%len(palette)] }

// Report returns report.html: one self-contained page with the key figures
// side by side and charts drawn as inline SVG, so that it reads offline
// and can be mailed as one file. It depends only on r.
func Report(r *Result) []byte {
	var b bytes.Buffer
	esc := html.EscapeString
	fmt.Fprintf(&b, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>chipgate simulate: %s</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:1em 0}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:right}
th:first-child,td:first-child,.l{text-align:left}th{background:#f6f6f6}
.legend span{display:inline-block;margin-right:1.2em}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}
svg{display:block;margin:0.5em 0}.note{color:#666}
</style></head><body>
`, esc(r.Scenario))
	fmt.Fprintf(&b, "<h1>chipgate simulate: %s</h1>\n", esc(r.Scenario))
	fmt.Fprintf(&b, "<p>%d weeks from %s; %d buyers, %d orders; product %s at %s a unit; seed %d. Units ordered: US %s, other %s, CN %s.</p>\n",
		r.Weeks, esc(r.Start), r.Buyers, r.Orders, esc(r.Product), esc(r.UnitPrice.String()), r.Seed,
		thousands(r.OrderedUnits["US"]), thousands(r.OrderedUnits["other"]), thousands(r.OrderedUnits["CN"]))

	b.WriteString(legend(r))
	b.WriteString("<h2>Key figures</h2>\n<table><tr><th>figure</th>")
	for _, v := range r.Variants {
		fmt.Fprintf(&b, "<th>%s</th>", esc(v.Name))
	}
	b.WriteString("</tr>\n")
	for _, k := range keyFigures(r) {
		fmt.Fprintf(&b, "<tr><td>%s</td>", esc(k.name))
		for i := range r.Variants {
			fmt.Fprintf(&b, "<td>%s</td>", esc(k.value(&r.Variants[i])))
		}
		b.WriteString("</tr>\n")
	}
	fmt.Fprintf(&b, "</table>\n<p class=note>Money in millions of %s, rounded down for display; money.csv and summary.json hold exact minor units.</p>\n", esc(r.UnitPrice.Currency))

	series := func(f func(w WeekFigures) float64) [][]float64 {
		out := make([][]float64, len(r.Variants))
		for i, v := range r.Variants {
			for _, w := range v.Weekly {
				out[i] = append(out[i], f(w))
			}
		}
		return out
	}
	var caps []float64
	for _, v := range r.Variants {
		if v.Totals.CNCapPPM >= 0 {
			caps = append(caps, float64(v.Totals.CNCapPPM)/1e6)
		}
	}
	b.WriteString("<h2>China's share of US shipments, cumulative</h2>\n<p>The certification: China+Macau shipments at most a share of shipments to US end users. Dashed: the caps.</p>\n")
	b.WriteString(lineChart(r, series(func(w WeekFigures) float64 { return w.CNShareOfUS }), caps, func(f float64) string { return strconv.FormatFloat(100*f, 'f', 0, 64) + "%" }))
	b.WriteString("<h2>Units shipped to China, cumulative</h2>\n")
	b.WriteString(lineChart(r, series(func(w WeekFigures) float64 { return float64(w.CumCN) }), nil, compact))
	b.WriteString("<h2>Units shipped to the US, cumulative</h2>\n")
	b.WriteString(lineChart(r, series(func(w WeekFigures) float64 { return float64(w.CumUS) }), nil, compact))
	b.WriteString("<h2>US lab queue</h2>\n<p>Units for China that reached the lab and wait for their test at the end of each week.</p>\n")
	b.WriteString(lineChart(r, series(func(w WeekFigures) float64 { return float64(w.LabQueue) }), nil, compact))
	b.WriteString("<h2>Concentration among Chinese buyers (HHI, cumulative)</h2>\n<p>0–10,000; above 2,500 is highly concentrated.</p>\n")
	b.WriteString(lineChart(r, series(func(w WeekFigures) float64 { return w.HHICN }), nil, compact))

	bars := func(f func(v *VariantResult) float64) []float64 {
		var out []float64
		for i := range r.Variants {
			out = append(out, f(&r.Variants[i]))
		}
		return out
	}
	fmt.Fprintf(&b, "<h2>Duty collected (millions of %s)</h2>\n", esc(r.UnitPrice.Currency))
	b.WriteString(barChart(r, bars(func(v *VariantResult) float64 { return float64(v.Totals.Duty.Minor) / 1e8 }), func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }))
	fmt.Fprintf(&b, "<h2>Vendor revenue after duty (millions of %s)</h2>\n", esc(r.UnitPrice.Currency))
	b.WriteString(barChart(r, bars(func(v *VariantResult) float64 { return float64(v.Totals.VendorRevenue.Minor) / 1e8 }), func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }))
	b.WriteString("<h2>Share of China's units to sme, research and university buyers</h2>\n")
	b.WriteString(barChart(r, bars(func(v *VariantResult) float64 { return 100 * v.Totals.ReserveShareCN }), func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) + "%" }))

	b.WriteString("<h2>Orders held and rejected, by rule</h2>\n<p>Final outcome of every order at the horizon's end; an order blocked by several rules counts under each. <em>accepted_after_hold</em> counts accepted orders by the rule that first held them.</p>\n<table><tr><th>outcome</th><th class=l>rule</th>")
	for _, v := range r.Variants {
		fmt.Fprintf(&b, "<th>%s</th>", esc(v.Name))
	}
	b.WriteString("</tr>\n")
	for _, k := range decisionKeys(r) {
		fmt.Fprintf(&b, "<tr><td>%s</td><td class=l>%s</td>", esc(k.Outcome), esc(k.Rule))
		for _, v := range r.Variants {
			c := findDecision(v.Decisions, k.Outcome, k.Rule)
			fmt.Fprintf(&b, "<td>%d orders<br>%s units</td>", c.Orders, thousands(c.Units))
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</table>\n")
	b.WriteString(`<h2>What the figures mean</h2>
<ul>
<li><b>Shipped</b>: units the allocation gave out, the week they left the vendor; <b>delivered</b>: units that reached the buyer within the horizon (China's go through the US lab first).</li>
<li><b>Delay</b>: days from the week an order was placed to the week its units reached the buyer, weighted by units; held orders wait in the export authority's queue and their delay includes the wait.</li>
<li><b>Duty</b>: assessed per shipment line (one order's units in one week) on the declared value, rounded half away from zero to the cent; exempt end uses (all in the US: data centres, research, start-ups, …) pay none.</li>
<li><b>Vendor revenue</b>: declared value shipped less the duty.</li>
</ul>
<p class=note>Generated by chipgate simulate. docs/SIMULATE.md describes the scenario format and every output.</p>
</body></html>
`)
	return b.Bytes()
}

func legend(r *Result) string {
	var b bytes.Buffer
	b.WriteString(`<p class=legend>`)
	for i, v := range r.Variants {
		fmt.Fprintf(&b, `<span><i style="background:%s"></i>%s</span>`, colour(i), html.EscapeString(v.Name))
	}
	b.WriteString("</p>\n")
	return b.String()
}

// Chart geometry, in SVG user units.
const (
	chartW, chartH   = 1000, 300
	padL, padR       = 70, 20
	padT, padB       = 15, 35
	plotW, plotH     = chartW - padL - padR, chartH - padT - padB
	gridLines        = 4
	barGap, barWidth = 0.25, 0.75
)

// lineChart draws one line per variant over the weeks, and a dashed
// horizontal line per value in marks.
func lineChart(r *Result, ys [][]float64, marks []float64, label func(float64) string) string {
	top := 0.0
	for _, s := range ys {
		for _, y := range s {
			top = math.Max(top, y)
		}
	}
	for _, m := range marks {
		top = math.Max(top, m)
	}
	top = niceTop(top)
	n := r.Weeks
	x := func(i int) float64 {
		if n <= 1 {
			return padL
		}
		return padL + float64(i)*plotW/float64(n-1)
	}
	y := func(v float64) float64 { return padT + plotH - v/top*plotH }
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" width="100%%" role="img" xmlns="http://www.w3.org/2000/svg">`, chartW, chartH)
	axes(&b, top, label)
	for i := 0; i < n; i += max(1, n/13) {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle" fill="#555">%s</text>`, x(i), chartH-padB+16, html.EscapeString(r.dates[i][5:]))
	}
	for _, m := range marks {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#000" stroke-dasharray="6 4" stroke-width="1"/>`, padL, padL+plotW, y(m), y(m))
	}
	for i, s := range ys {
		var pts bytes.Buffer
		for j, v := range s {
			fmt.Fprintf(&pts, "%.1f,%.1f ", x(j), y(v))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"><title>%s</title></polyline>`,
			colour(i), bytes.TrimSpace(pts.Bytes()), html.EscapeString(r.Variants[i].Name))
	}
	b.WriteString("</svg>\n")
	b.WriteString(sameLines(r, ys))
	return b.String()
}

// sameLines names the variants whose lines coincide: a line drawn over
// another hides it, and the reader should know the hidden one is there.
func sameLines(r *Result, ys [][]float64) string {
	var groups []string
	done := make([]bool, len(ys))
	for i := range ys {
		if done[i] {
			continue
		}
		names := []string{html.EscapeString(r.Variants[i].Name)}
		for j := i + 1; j < len(ys); j++ {
			if !done[j] && slices.Equal(ys[i], ys[j]) {
				done[j] = true
				names = append(names, html.EscapeString(r.Variants[j].Name))
			}
		}
		if len(names) > 1 {
			groups = append(groups, strings.Join(names, " = "))
		}
	}
	if len(groups) == 0 {
		return ""
	}
	return "<p class=note>Same line (drawn over one another): " + strings.Join(groups, "; ") + ".</p>\n"
}

// barChart draws one bar per variant with its value above it.
func barChart(r *Result, vals []float64, label func(float64) string) string {
	top := 0.0
	for _, v := range vals {
		top = math.Max(top, v)
	}
	top = niceTop(top)
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" width="100%%" role="img" xmlns="http://www.w3.org/2000/svg">`, chartW, chartH)
	axes(&b, top, label)
	n := len(vals)
	slot := float64(plotW) / float64(max(n, 1))
	for i, v := range vals {
		h := v / top * plotH
		x0 := padL + float64(i)*slot + slot*barGap/2
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %s</title></rect>`,
			x0, padT+plotH-h, slot*barWidth, h, colour(i), html.EscapeString(r.Variants[i].Name), html.EscapeString(label(v)))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="12" text-anchor="middle">%s</text>`, x0+slot*barWidth/2, padT+plotH-h-4, html.EscapeString(label(v)))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle">%s</text>`, x0+slot*barWidth/2, chartH-padB+16, html.EscapeString(r.Variants[i].Name))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// axes draws the plot frame and horizontal grid lines labelled from 0 to
// top.
func axes(b *bytes.Buffer, top float64, label func(float64) string) {
	for k := 0; k <= gridLines; k++ {
		v := top * float64(k) / gridLines
		yy := padT + plotH - float64(k)*plotH/gridLines
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e5e5e5"/>`, padL, padL+plotW, yy, yy)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" font-size="11" text-anchor="end" fill="#555">%s</text>`, padL-6, yy+4, html.EscapeString(label(v)))
	}
	fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#999"/>`, padL, padL+plotW, padT+plotH, padT+plotH)
}

// niceTop rounds a maximum up to 1, 2 or 5 times a power of ten, so that
// grid lines fall on round numbers.
func niceTop(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// compact writes 1234567 as 1.23M and 12345 as 12.3k.
func compact(f float64) string {
	switch a := math.Abs(f); {
	case a >= 1e6:
		return strconv.FormatFloat(f/1e6, 'f', 2, 64) + "M"
	case a >= 1e3:
		return strconv.FormatFloat(f/1e3, 'f', 1, 64) + "k"
	}
	return strconv.FormatFloat(f, 'f', 0, 64)
}
