package policy

import (
	"slices"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
)

// Classification is what the rules in force say about a chip: its TPP and
// performance density, its ECCN, and per destination what an export needs.
type Classification struct {
	Product string `json:"product,omitempty"`
	// Accelerators is, for a system, how many ICs it contains; TPP and PD
	// are then each IC's.
	Accelerators int     `json:"accelerators,omitempty"`
	TPP          float64 `json:"tpp"`
	PD           float64 `json:"pd"`
	ECCN         string  `json:"eccn"`
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

// accelerators is how many ICs an order ships: its units, or for systems
// its units times the ICs each contains.
func accelerators(f *OrderFacts) int64 {
	if f.Spec.Accelerators <= 0 {
		return f.Quantity
	}
	return satMul(f.Quantity, int64(f.Spec.Accelerators))
}

// unitsText says what accelerators counted: "100 units", or "800
// accelerators (100 systems of 8)".
func unitsText(f *OrderFacts) string {
	if f.Spec.Accelerators <= 0 {
		return inum(f.Quantity) + " units"
	}
	return inum(accelerators(f)) + " accelerators (" + inum(f.Quantity) + " systems of " + inum(int64(f.Spec.Accelerators)) + ")"
}

// satMul is a×b for a ≥ 0, b > 0, saturating at the largest int64.
func satMul(a, b int64) int64 {
	if a > 0 && a > (1<<63-1)/b {
		return 1<<63 - 1
	}
	return a * b
}

// Metrics returns a chip's TPP — the highest, over its bit lengths, of dense
// TOPS × bit length (2 × MacTOPS × bits, a MAC counting as two operations) —
// and its performance density, TPP per mm² of die. For a system
// (spec.Accelerators > 0) they are the figures of each IC it contains,
// which is what 3A090, 4A090, the review bounds and the duty windows read.
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
	c := r.classify(p.Slug, p.Spec, p.LaunchDate)
	c.Product = p.Slug
	return c
}

// Classify classifies a chip and gives its status for each of
// ClassifiedDestinations. availableInUS is the day the chip became
// commercially available in the US; the zero time means unknown, which
// fails any rule that asks (the conservative reading).
func (r Rules) Classify(spec domain.Spec, availableInUS time.Time) Classification {
	return r.classify("", spec, availableInUS)
}

// classify is Classify for a product of the catalog (whose letters apply)
// or, with product "", for a chip described by its spec.
func (r Rules) classify(product string, spec domain.Spec, availableInUS time.Time) Classification {
	tpp, pd := Metrics(spec)
	eccn, basis := r.eccn(&spec, tpp, pd)
	c := Classification{Accelerators: max(spec.Accelerators, 0), TPP: tpp, PD: pd, ECCN: eccn, Basis: basis, Destinations: map[string]DestinationStatus{}}
	if e := r.rs().classification; e != nil {
		c.Rule = e.ID
	}
	controlled := r.controlled(eccn)
	for _, d := range ClassifiedDestinations {
		country := d
		if d == "default" {
			country = ""
		}
		var sk sink
		st, ids := r.exportStatus(&sk, &destQuery{product: product, eccn: eccn, tpp: tpp, bandwidth: spec.BandwidthGBps, available: availableInUS,
			country: country, path: r.pathTo(country, "")}, controlled)
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

// eccn returns the classification of spec, with the comparison that placed
// it there.
func (r Rules) eccn(spec *domain.Spec, tpp, pd float64) (eccn, basis string) {
	e := r.rs().classification
	if e == nil {
		return "", "no classification rule in force"
	}
	cp := e.doc.Classification
	dc := !spec.NotDataCenter
	chip, why := cp.Otherwise, ""
	excluded := false
	for _, cr := range cp.Excluded {
		if ok, w := cr.meets(tpp, pd, dc); ok {
			excluded, why = true, w+": outside "+strings.Join(categoryNames(cp), "/")
			if cr.Note != "" {
				why += " (" + cr.Note + ")"
			}
			break
		}
	}
	if !excluded {
	cats:
		for _, cat := range cp.Categories {
			if !cat.forICs() {
				continue
			}
			for _, cr := range cat.Any {
				if ok, w := cr.meets(tpp, pd, dc); ok {
					chip, why = cat.ECCN, w
					break cats
				}
			}
		}
		if why == "" {
			why = "TPP " + num(tpp) + ", PD " + num(pd) + ": below every " + strings.Join(categoryNames(cp), "/") + " threshold"
		}
	}
	if spec.Accelerators <= 0 {
		return chip, why
	}
	ics := inum(int64(spec.Accelerators)) + " × " + chip
	if chip == cp.Otherwise {
		return cp.Otherwise, "a system of " + ics + " ICs (" + why + ")"
	}
	if sys := cp.systemFor(chip); sys != "" {
		return sys, "a system of " + ics + " ICs (" + why + ")"
	}
	return chip, "a system of " + ics + " ICs (" + why + "); no system paragraph for " + chip + ", so classified as its ICs"
}

// forICs reports whether a category classifies integrated circuits: an
// accelerator paragraph, not a memory or a system one.
func (c *Category) forICs() bool { return c.AppliesTo == "" || c.AppliesTo == "accelerator" }

// systemFor returns the system paragraph for systems containing ICs of
// eccn ("4A090.a" for "3A090.a"), or "".
func (cp *ClassificationParams) systemFor(eccn string) string {
	for i := range cp.Categories {
		if c := &cp.Categories[i]; c.AppliesTo == "system" && c.Contains == eccn {
			return c.ECCN
		}
	}
	return ""
}

// categoryNames are the IC paragraphs, for "below every 3A090.a/3A090.b
// threshold".
func categoryNames(cp *ClassificationParams) []string {
	var out []string
	for i := range cp.Categories {
		if c := &cp.Categories[i]; c.forICs() {
			out = append(out, c.ECCN)
		}
	}
	return out
}

// eccnOf is eccn without the explanation, for DecideOrder's hot path. A
// system whose ICs are controlled but that no system paragraph names is
// classified as its ICs: wrapping a chip in a board must not decontrol it.
func (r Rules) eccnOf(spec *domain.Spec, tpp, pd float64) string {
	e := r.rs().classification
	if e == nil {
		return ""
	}
	cp := e.doc.Classification
	dc := !spec.NotDataCenter
	chip := cp.Otherwise
	for i := range cp.Excluded {
		if cp.Excluded[i].holds(tpp, pd, dc) {
			return cp.Otherwise
		}
	}
cats:
	for i := range cp.Categories {
		cat := &cp.Categories[i]
		if !cat.forICs() {
			continue
		}
		for j := range cat.Any {
			if cat.Any[j].holds(tpp, pd, dc) {
				chip = cat.ECCN
				break cats
			}
		}
	}
	if spec.Accelerators <= 0 || chip == cp.Otherwise {
		return chip
	}
	if sys := cp.systemFor(chip); sys != "" {
		return sys
	}
	return chip
}

// holds reports whether an IC's metrics meet every bound; dc is whether it
// is designed or marketed for data centers. A memory criterion (bandwidth
// density) never holds for an IC spec, which has no such figure.
func (c *Criterion) holds(tpp, pd float64, dc bool) bool {
	return c.BandwidthDensityAbove == nil && (c.DataCenter == nil || *c.DataCenter == dc) &&
		(c.TPPMin == nil || tpp >= *c.TPPMin) && (c.TPPBelow == nil || tpp < *c.TPPBelow) &&
		(c.PDMin == nil || pd >= *c.PDMin) && (c.PDBelow == nil || pd < *c.PDBelow)
}

// meets reports whether the metrics meet every bound, and shows them.
func (c Criterion) meets(tpp, pd float64, dc bool) (bool, string) {
	if !c.holds(tpp, pd, dc) {
		return false, ""
	}
	var parts []string
	if c.DataCenter != nil {
		if dc {
			parts = append(parts, "designed or marketed for data centers")
		} else {
			parts = append(parts, "not designed or marketed for data centers")
		}
	}
	if c.TPPMin != nil {
		parts = append(parts, "TPP "+num(tpp)+" ≥ "+num(*c.TPPMin))
	}
	if c.TPPBelow != nil {
		parts = append(parts, "TPP "+num(tpp)+" < "+num(*c.TPPBelow))
	}
	if c.PDMin != nil {
		parts = append(parts, "PD "+num(pd)+" ≥ "+num(*c.PDMin))
	}
	if c.PDBelow != nil {
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
	return r.controlled(r.eccnOf(&spec, tpp, pd))
}

// controlled reports whether an ECCN is caught by the classification rule.
func (r Rules) controlled(eccn string) bool {
	e := r.rs().classification
	return e != nil && eccn != "" && eccn != e.doc.Classification.Otherwise
}

// destQuery is what deciding an export's status looks at.
type destQuery struct {
	product   string
	eccn      string
	tpp       float64
	bandwidth int
	available time.Time
	country   string
	parentHQ  string
	buyerHQ   string
	// path is where the goods pass before the destination: the route
	// rule's origin and stops, or the country they ship from.
	path route
}

// route is a path of countries: an origin and the stops after it.
type route struct {
	origin string
	via    []string
}

func (p route) has(country string) bool {
	return p.origin == country || slices.Contains(p.via, country)
}

// pathTo returns the path of an export to country: the route rule's when
// one governs the country's region, else just shipFrom ("" when unknown).
func (r Rules) pathTo(country, shipFrom string) route {
	if e := r.rs().route; e != nil && regionIn(e.doc.Route.Regions, r.Region(country)) {
		return route{e.doc.Route.Origin, e.doc.Route.Via}
	}
	return route{origin: shipFrom}
}

// destination returns the rule of one jurisdiction governing an export to
// country along path: an explicit country list first, then the most
// restrictive country-group rule that holds the country (and not its
// except groups), then the default. A rule limited to exports from some
// countries applies only when the path passes one of them. nil: no rule of
// the jurisdiction applies.
func (ix *destIndex) destination(s *ruleSet, country string, path route) *entry {
	from := func(e *entry) bool {
		ef := e.doc.Destination.ExportsFrom
		if len(ef) == 0 {
			return true
		}
		for _, c := range ef {
			if path.has(c) {
				return true
			}
		}
		return false
	}
	if e, ok := ix.byCountry[country]; ok && from(e) {
		return e
	}
	var best *entry
	for _, e := range ix.byGroup {
		d := e.doc.Destination
		if !from(e) || !s.inAny(country, d.CountryGroups, nil) || s.inAny(country, d.ExceptGroups, nil) {
			continue
		}
		if best == nil || d.Status.Rank() > best.doc.Destination.Status.Rank() {
			best = e
		}
	}
	if best != nil {
		return best
	}
	if ix.def != nil && from(ix.def) {
		return ix.def
	}
	return nil
}

// exportStatus combines every jurisdiction's status for the classification
// report: the most restrictive, with every rule behind it.
func (r Rules) exportStatus(sk *sink, q *destQuery, controlled bool) (Status, []string) {
	st, ids := NoLicenseRequired, []string(nil)
	if !controlled {
		sk.push(r.rs().classification.reason(Accepted, eccnLabel(q.eccn)+": not controlled under the classification rule; no license required", ""))
	}
	if controlled && len(r.rs().dests) == 0 {
		sk.push(Reason{Outcome: HeldForReview, Message: "no destination rule in force for " + countryLabel(q.country) + "; license required"})
		return LicenseRequired, nil
	}
	for _, ix := range r.rs().dests {
		js, jids, _ := r.jurisdictionStatus(sk, true, ix, q, controlled)
		ids = append(ids, jids...)
		if js.Rank() > st.Rank() {
			st = js
		}
	}
	return st, ids
}

// jurisdictionStatus decides what one jurisdiction requires for exporting
// an item (controlled or not under the classification) as q describes,
// appending the reasons: its destination rule for a controlled item,
// raised by its parent-HQ rule (the buyer or its ultimate parent
// headquartered in a listed group, outside the rule's excepted
// destinations) and, for any item, by a letter naming the product. by is
// the rule that set the status, which a license must then satisfy; nil
// when the jurisdiction has nothing to say.
func (r Rules) jurisdictionStatus(sk *sink, wantIDs bool, ix *destIndex, q *destQuery, controlled bool) (st Status, ids []string, by *entry) {
	st = NoLicenseRequired
	s := r.rs()
	if controlled {
		if e := ix.destination(s, q.country, q.path); e != nil {
			if wantIDs {
				ids = append(ids, e.ID)
			}
			var msg string
			st, msg = r.destinationText(e, q.eccn, q.tpp, q.bandwidth, q.available, q.country)
			by = e
			sk.push(e.reason(statusOutcome(st), msg, ""))
		}
		if p := ix.parent; p != nil && st.Rank() < p.doc.ParentHQ.Status.Rank() && !slices.Contains(p.doc.ParentHQ.ExceptDestinations, q.country) {
			ph := p.doc.ParentHQ
			for _, hq := range [2]string{q.parentHQ, q.buyerHQ} {
				if hq != "" && s.inAny(hq, ph.CountryGroups, ph.Countries) {
					st, by = ph.Status, p
					if wantIDs {
						ids = append(ids, p.ID)
					}
					sk.push(p.reason(statusOutcome(st), "buyer or its ultimate parent headquartered in "+hq+": "+basisText(ph.Basis, st)+" wherever it operates (outside "+
						strings.Join(ph.ExceptDestinations, ", ")+")", ""))
					break
				}
			}
		}
	}
	for _, e := range ix.letters {
		lp := e.doc.Letter
		if lp.Status.Rank() <= st.Rank() || !slices.Contains(lp.Products, q.product) || !s.inAny(q.country, lp.CountryGroups, lp.Countries) {
			continue
		}
		st, by = lp.Status, e
		if wantIDs {
			ids = append(ids, e.ID)
		}
		sk.push(e.reason(statusOutcome(st), q.product+" to "+countryLabel(q.country)+": "+basisText(lp.Basis, st), ""))
	}
	return st, ids, by
}

// basisText writes "is-informed letter (license_required)", or the bare status.
func basisText(basis string, st Status) string { return string(appendBasis(nil, basis, st)) }

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
