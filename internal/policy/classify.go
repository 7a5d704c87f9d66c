package policy

import (
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
)

// Classification is what the rules in force say about a chip: its TPP and
// performance density, its ECCN, and per destination what an export needs.
type Classification struct {
	Product string  `json:"product,omitempty"`
	TPP     float64 `json:"tpp"`
	PD      float64 `json:"pd"`
	ECCN    string  `json:"eccn"`
	// Rule is the classification rule's id; Basis shows the comparison
	// that decided the ECCN ("TPP 15,832 ≥ 4,800").
	Rule  string `json:"rule,omitempty"`
	Basis string `json:"basis"`
	// Destinations is keyed by "US", "CN", "MO" and "default" (any country
	// no destination rule names).
	Destinations map[string]DestinationStatus `json:"destinations"`
}

// DestinationStatus is what exporting the chip to one destination needs, with
// the ids of the rules behind it and their reasons.
type DestinationStatus struct {
	Status  Status   `json:"status"`
	Rules   []string `json:"rules"`
	Reasons []Reason `json:"reasons"`
}

// ClassifiedDestinations are the destinations Classify reports; "default"
// stands for a country that no destination rule names.
var ClassifiedDestinations = []string{"US", "CN", "MO", "default"}

// Metrics returns a chip's TPP — the highest, over its bit lengths, of dense
// TOPS × bit length (2 × MacTOPS × bits, a MAC counting as two operations) —
// and its performance density, TPP per mm² of die.
func Metrics(spec domain.Spec) (tpp, pd float64) {
	for _, t := range spec.Throughput {
		if v := t.DenseTOPS * float64(t.Bits); v > tpp {
			tpp = v
		}
	}
	if spec.DieAreaMM2 > 0 {
		pd = tpp / spec.DieAreaMM2
	}
	return tpp, pd
}

// ClassifyProduct classifies a catalog product; its launch date stands for
// the day it was commercially available in the US.
func (r Rules) ClassifyProduct(p domain.Product) Classification {
	c := r.Classify(p.Spec, p.LaunchDate)
	c.Product = p.Slug
	return c
}

// Classify classifies a chip and gives its status for each of
// ClassifiedDestinations. availableInUS is the day the chip became
// commercially available in the US; the zero time means unknown, which
// fails any rule that asks (the conservative reading).
func (r Rules) Classify(spec domain.Spec, availableInUS time.Time) Classification {
	tpp, pd := Metrics(spec)
	eccn, basis := r.eccn(tpp, pd)
	c := Classification{TPP: tpp, PD: pd, ECCN: eccn, Basis: basis, Destinations: map[string]DestinationStatus{}}
	if e := r.rs().classification; e != nil {
		c.Rule = e.ID
	}
	for _, d := range ClassifiedDestinations {
		country := d
		if d == "default" {
			country = ""
		}
		var sk sink
		st, ids, _ := r.destinationStatus(&sk, true, eccn, tpp, spec.BandwidthGBps, availableInUS, country, "", "")
		sk.finish()
		reasons := sk.reasons
		if c.Rule != "" {
			ids = append([]string{c.Rule}, ids...)
		}
		for i := range reasons {
			reasons[i].Outcome = ""
		}
		c.Destinations[d] = DestinationStatus{Status: st, Rules: ids, Reasons: reasons}
	}
	return c
}

// eccn returns the first category the metrics meet, with the comparison
// that placed it there.
func (r Rules) eccn(tpp, pd float64) (eccn, basis string) {
	e := r.rs().classification
	if e == nil {
		return "", "no classification rule in force"
	}
	cp := e.doc.Classification
	for _, cat := range cp.Categories {
		if cat.AppliesTo == "memory" {
			continue
		}
		for _, cr := range cat.Any {
			if ok, why := cr.meets(tpp, pd); ok {
				return cat.ECCN, why
			}
		}
	}
	return cp.Otherwise, "TPP " + num(tpp) + ", PD " + num(pd) + ": below every " + strings.Join(categoryNames(cp), "/") + " threshold"
}

func categoryNames(cp *ClassificationParams) []string {
	var out []string
	for _, c := range cp.Categories {
		if c.AppliesTo != "memory" {
			out = append(out, c.ECCN)
		}
	}
	return out
}

// eccnOf is eccn without the explanation, for DecideOrder's hot path.
func (r Rules) eccnOf(tpp, pd float64) string {
	e := r.rs().classification
	if e == nil {
		return ""
	}
	cp := e.doc.Classification
	for i := range cp.Categories {
		cat := &cp.Categories[i]
		if cat.AppliesTo == "memory" {
			continue
		}
		for j := range cat.Any {
			if cat.Any[j].holds(tpp, pd) {
				return cat.ECCN
			}
		}
	}
	return cp.Otherwise
}

// holds reports whether the metrics meet every bound.
func (c *Criterion) holds(tpp, pd float64) bool {
	return c.BandwidthDensityMin == nil &&
		(c.TPPMin == nil || tpp >= *c.TPPMin) && (c.TPPBelow == nil || tpp < *c.TPPBelow) &&
		(c.PDMin == nil || pd >= *c.PDMin) && (c.PDBelow == nil || pd < *c.PDBelow)
}

// meets reports whether the metrics meet every bound, and shows them.
func (c Criterion) meets(tpp, pd float64) (bool, string) {
	if c.BandwidthDensityMin != nil {
		return false, "" // a memory criterion; accelerators have no such figure
	}
	var parts []string
	if c.TPPMin != nil {
		if tpp < *c.TPPMin {
			return false, ""
		}
		parts = append(parts, "TPP "+num(tpp)+" ≥ "+num(*c.TPPMin))
	}
	if c.TPPBelow != nil {
		if tpp >= *c.TPPBelow {
			return false, ""
		}
		parts = append(parts, "TPP "+num(tpp)+" < "+num(*c.TPPBelow))
	}
	if c.PDMin != nil {
		if pd < *c.PDMin {
			return false, ""
		}
		parts = append(parts, "PD "+num(pd)+" ≥ "+num(*c.PDMin))
	}
	if c.PDBelow != nil {
		if pd >= *c.PDBelow {
			return false, ""
		}
		parts = append(parts, "PD "+num(pd)+" < "+num(*c.PDBelow))
	}
	return true, strings.Join(parts, " and ")
}

// Controls reports whether the classification in force catches a chip of
// this specification: decisions apply the program's rules beyond the
// destination's status (approved customers, the volume cap, import
// permits, red flags) to such chips only.
func (r Rules) Controls(spec domain.Spec) bool {
	tpp, pd := Metrics(spec)
	return r.controlled(r.eccnOf(tpp, pd))
}

// controlled reports whether an ECCN is caught by the classification rule.
func (r Rules) controlled(eccn string) bool {
	e := r.rs().classification
	return e != nil && eccn != "" && eccn != e.doc.Classification.Otherwise
}

// destination returns the destination rule governing country: an explicit
// country list first, then a country group, then the default.
func (r Rules) destination(country string) *entry {
	if e, ok := r.rs().destByCountry[country]; ok {
		return e
	}
	for _, e := range r.rs().destByGroup {
		if r.rs().groups[e.doc.Destination.CountryGroup][country] {
			return e
		}
	}
	return r.rs().destDefault
}

// destinationStatus decides what exporting an item to country needs,
// appending the reasons. parentHQ is the buyer's ultimate parent's country
// ("" when unknown or not asked); buyerHQ the buyer's own. by is the rule
// that set the status, which a license must then satisfy.
func (r Rules) destinationStatus(sk *sink, wantIDs bool, eccn string, tpp float64, bandwidth int, availableInUS time.Time, country, parentHQ, buyerHQ string) (st Status, ids []string, by *entry) {
	if !r.controlled(eccn) {
		sk.push(r.rs().classification.reason(Accepted, eccnLabel(eccn)+": not controlled under the classification rule; no license required", ""))
		return NoLicenseRequired, nil, nil
	}
	st = LicenseRequired
	e := r.destination(country)
	by = e
	if e == nil {
		sk.push(Reason{Outcome: HeldForReview, Message: "no destination rule in force for " + countryLabel(country) + "; license required"})
	} else {
		if wantIDs {
			ids = append(ids, e.ID)
		}
		var msg string
		st, msg = r.destinationText(e, eccn, tpp, bandwidth, availableInUS, country)
		sk.push(e.reason(statusOutcome(st), msg, ""))
	}
	if p := r.rs().parentHQ; p != nil && st.Rank() < p.doc.ParentHQ.Status.Rank() {
		g := p.doc.ParentHQ.CountryGroup
		for _, hq := range [2]string{parentHQ, buyerHQ} {
			if hq != "" && r.rs().groups[g][hq] {
				st = p.doc.ParentHQ.Status
				if wantIDs {
					ids = append(ids, p.ID)
				}
				by = p
				sk.push(p.reason(statusOutcome(st), "buyer or its parent headquartered in "+hq+" (Country Group "+g+"): "+string(st)+" wherever it operates", ""))
				break
			}
		}
	}
	return st, ids, by
}

// destinationText returns the status a destination rule gives a controlled
// chip and the message that shows why, remembered per rule set.
func (r Rules) destinationText(e *entry, eccn string, tpp float64, bandwidth int, availableInUS time.Time, country string) (Status, string) {
	avail := utcDay(availableInUS)
	k := destKey{e: e, tpp: tpp, bw: bandwidth, day: avail.Unix(), country: country, eccn: eccn}
	h := k.hash()
	set := r.rs()
	if t, ok := set.destTexts.get(h, k); ok {
		return t.st, t.msg
	}
	d := e.doc.Destination
	var st Status
	var m []byte
	if d.Review == nil {
		st = d.Status
		m = append(appendBasis(append(append(m, countryLabel(country)...), ": "...), d.Basis, st), " for "...)
		m = append(appendNum(append(append(m, eccn...), " (TPP "...), tpp), ')')
	} else {
		st, m = appendReview(m, e, tpp, bandwidth, avail, country)
	}
	t := destText{st: st, msg: string(m)}
	set.destTexts.put(h, k, t)
	return t.st, t.msg
}

// utcDay is the calendar day of t, as midnight UTC; the zero time stays
// zero. Availability is a matter of days: a chip launched at noon on
// 2026-01-15 was available "on 2026-01-15".
func utcDay(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// appendReview applies case-by-case eligibility bounds, showing each
// comparison: the failed ones when the chip is not eligible, else the
// passed ones.
func appendReview(m []byte, e *entry, tpp float64, bandwidth int, availableInUS time.Time, country string) (Status, []byte) {
	d := e.doc.Destination
	rv := d.Review
	tppOK := tpp < rv.TPPBelow
	bwOK := bandwidth < rv.BandwidthBelowGBps
	availOK := rv.AvailableInUSBy == nil || (!availableInUS.IsZero() && !availableInUS.After(rv.AvailableInUSBy.Time))
	eligible := tppOK && bwOK && availOK
	st := d.Status
	if !eligible {
		st = d.Otherwise
	}
	m = append(append(m, countryLabel(country)...), ": "...)
	if eligible {
		m = appendBasis(m, d.Basis, st)
	} else {
		m = appendBasis(m, "", st)
	}
	sep := ": "
	part := func() { m = append(m, sep...); sep = "; " }
	if tppOK == eligible {
		part()
		m = appendNum(append(m, "TPP "...), tpp)
		if tppOK {
			m = append(m, " < "...)
		} else {
			m = append(m, " ≥ "...)
		}
		m = append(m, e.figures[0]...)
	}
	if bwOK == eligible {
		part()
		m = appendInt(append(m, "bandwidth "...), int64(bandwidth))
		if bwOK {
			m = append(m, " < "...)
		} else {
			m = append(m, " ≥ "...)
		}
		m = append(m, e.figures[1]...)
	}
	if rv.AvailableInUSBy != nil && availOK == eligible {
		part()
		by := e.figures[2]
		switch {
		case availableInUS.IsZero():
			m = append(append(append(m, "US availability unknown (must be by "...), by...), ')')
		case !availOK:
			m = appendDate(append(m, "available in the US from "...), availableInUS)
			m = append(append(m, ", after "...), by...)
		default:
			m = appendDate(append(m, "available in the US since "...), availableInUS)
			m = append(append(m, " ≤ "...), by...)
		}
	}
	return st, m
}

func statusOutcome(s Status) Outcome {
	switch s {
	case Denied:
		return Rejected
	case LicenseRequired:
		return HeldForReview
	}
	return Accepted
}

// appendBasis writes "case-by-case review (license_required)", or the bare
// status when there is no basis.
func appendBasis(m []byte, basis string, st Status) []byte {
	if basis != "" {
		return append(append(append(append(m, basis...), " ("...), st...), ')')
	}
	return append(m, st...)
}

func countryLabel(c string) string {
	if c == "" {
		return "default destination"
	}
	return c
}

func eccnLabel(e string) string {
	if e == "" {
		return "unclassified"
	}
	return e
}
