package policy

import (
	"fmt"
	"sync"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"slices"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
)

// Rules is the set of rule versions in force at one instant. It is a cheap
// value (the sets are precomputed at load) and serializes to JSON as the
// rules in force with their sources, for `GET /api/v1/policy`.
type Rules struct {
	Policy  string    `json:"policy"`
	At      time.Time `json:"at"`
	Rules   []Rule    `json:"rules"`
	Sources []Source  `json:"sources"`
	set     *ruleSet
}

// ruleSet is the typed index of the versions in force in one segment.
type ruleSet struct {
	views   []Rule
	sources []Source

	classification *entry
	regions        *entry
	regionOf       map[string]string
	defaultRegion  string
	groups         map[string]map[string]bool

	// dests are the destination rules (with the parent-HQ rule, letters
	// and license exceptions) of each jurisdiction that has any, in file
	// order: one index per regime, each decided on its own.
	dests []*destIndex

	parentHQ, approved, endUse, endUser, volumeCap, labTest, route *entry
	reexport, kyc                                                  *entry
	affiliates, blockedOwnership                                   *entry
	duty, importPermit, lotAge, redFlags, geolocation, allocation  *entry
	screening                                                      *entry

	checks []*entry

	watch *entry
	// attestation is the attested check-ins' rule.
	attestation *entry

	// values are CEL strings boxed once per segment (region names, ECCNs),
	// so resolving them in a decision allocates nothing.
	values map[string]ref.Val

	// pool recycles deciders' scratch space between decisions under this
	// rule set. It is the only mutable thing in a Policy and holds nothing
	// a decision can observe.
	pool sync.Pool

	// destTexts and duties remember the texts a decision would otherwise
	// format again for every order of the same chip (see memo).
	destTexts memo[destKey, destText]
	duties    memo[dutyKey, *Duty]
	// obligations are the lab-test and route obligations per destination.
	obligations memo[string, []Reason]
}

// rs returns the rule set, or an empty one for the zero Rules, so that a
// Rules{} (no policy loaded yet) answers "nothing in force" rather than
// panicking.
func (r Rules) rs() *ruleSet {
	if r.set == nil {
		return &ruleSet{}
	}
	return r.set
}

// boxed returns the CEL value of s, from the segment's boxed values when s
// is one of them.
func (r Rules) boxed(s string) ref.Val {
	if v, ok := r.rs().values[s]; ok {
		return v
	}
	return types.String(s)
}

// newRuleSet indexes the versions in force; conflicts lists pairs of rules
// that claim the same thing at the same time.
func newRuleSet(p *Policy, in []*entry) (*ruleSet, []conflict) {
	s := &ruleSet{
		regionOf: map[string]string{},
		groups:   map[string]map[string]bool{},
	}
	var conflicts []conflict
	cited := map[string]bool{}
	for _, e := range in {
		s.views = append(s.views, e.Rule)
		cited[e.Source] = true
		d := e.doc
		switch e.Kind {
		case KindClassification:
			s.classification = e
		case KindRegions:
			s.regions = e
			for _, g := range d.Regions.Groups {
				for _, c := range g.Countries {
					s.regionOf[c] = g.Name
				}
			}
			s.defaultRegion = d.Regions.Default
		case KindCountryGroup:
			if _, dup := s.groups[d.CountryGroup.Name]; dup {
				conflicts = append(conflicts, conflict{e, "country group " + d.CountryGroup.Name + " defined twice"})
			}
			set := map[string]bool{}
			for _, c := range d.CountryGroup.Countries {
				set[c] = true
			}
			s.groups[d.CountryGroup.Name] = set
		case KindDestination:
			ix := s.destIndex(e.Jurisdiction)
			switch {
			case len(d.Destination.Countries) > 0:
				for _, c := range d.Destination.Countries {
					if other, dup := ix.byCountry[c]; dup {
						conflicts = append(conflicts, conflict{e, fmt.Sprintf("destination %s also governed by rule %s (line %d)", c, other.ID, other.Line)})
					}
					ix.byCountry[c] = e
				}
			case len(d.Destination.CountryGroups) > 0:
				ix.byGroup = append(ix.byGroup, e)
			case d.Destination.Default:
				if ix.def != nil {
					conflicts = append(conflicts, conflict{e, fmt.Sprintf("a second default destination besides rule %s (line %d)", ix.def.ID, ix.def.Line)})
				}
				ix.def = e
			}
		case KindParentHQ:
			s.parentHQ = e
			s.destIndex(e.Jurisdiction).parent = e
		case KindLetter:
			ix := s.destIndex(e.Jurisdiction)
			ix.letters = append(ix.letters, e)
		case KindException:
			ix := s.destIndex(e.Jurisdiction)
			ix.exceptions = append(ix.exceptions, e)
		case KindApprovedCustomer:
			s.approved = e
		case KindEndUse:
			s.endUse = e
		case KindEndUser:
			s.endUser = e
		case KindAffiliates:
			s.affiliates = e
		case KindBlockedOwnership:
			s.blockedOwnership = e
		case KindVolumeCap:
			s.volumeCap = e
		case KindLabTest:
			s.labTest = e
		case KindRoute:
			s.route = e
		case KindReExport:
			s.reexport = e
		case KindConsigneeKYC:
			s.kyc = e
		case KindCheck:
			s.checks = append(s.checks, e)
		case KindDuty:
			s.duty = e
		case KindImportPermit:
			s.importPermit = e
		case KindLotAge:
			s.lotAge = e
		case KindRedFlags:
			s.redFlags = e
		case KindGeolocation:
			s.geolocation = e
		case KindScreening:
			s.screening = e
		case KindWatch:
			s.watch = e
		case KindAttestation:
			s.attestation = e
		case KindAllocation:
			s.allocation = e
		}
	}
	s.values = map[string]ref.Val{"": types.String("")}
	if s.regions != nil {
		s.values[s.defaultRegion] = types.String(s.defaultRegion)
		for _, g := range s.regions.doc.Regions.Groups {
			s.values[g.Name] = types.String(g.Name)
		}
	}
	if s.classification != nil {
		c := s.classification.doc.Classification
		s.values[c.Otherwise] = types.String(c.Otherwise)
		for _, cat := range c.Categories {
			s.values[cat.ECCN] = types.String(cat.ECCN)
		}
	}
	for _, src := range p.sources {
		if cited[src.ID] {
			s.sources = append(s.sources, src)
		}
	}
	// A rule that names a group not in force at this instant can never
	// match; say so at load rather than let it silently lapse.
	for _, ix := range s.dests {
		var named []*entry
		named = append(append(append(named, ix.byGroup...), ix.letters...), ix.exceptions...)
		if ix.parent != nil {
			named = append(named, ix.parent)
		}
		for _, e := range named {
			for _, g := range e.groupsNamed() {
				if _, ok := s.groups[g]; !ok {
					conflicts = append(conflicts, conflict{e, "country group " + g + " is not in force while this rule is"})
				}
			}
		}
	}
	return s, conflicts
}

// destIndex is one jurisdiction's destination rules.
type destIndex struct {
	jurisdiction string
	byCountry    map[string]*entry
	byGroup      []*entry
	def          *entry
	parent       *entry
	letters      []*entry
	exceptions   []*entry
}

// destIndex returns the index of jurisdiction j, adding it.
func (s *ruleSet) destIndex(j string) *destIndex {
	for _, ix := range s.dests {
		if ix.jurisdiction == j {
			return ix
		}
	}
	ix := &destIndex{jurisdiction: j, byCountry: map[string]*entry{}}
	s.dests = append(s.dests, ix)
	return ix
}

// groupsNamed lists the country groups a destination-side rule names.
func (e *entry) groupsNamed() []string {
	d := e.doc
	switch {
	case d.Destination != nil:
		return append(slices.Clone(d.Destination.CountryGroups), d.Destination.ExceptGroups...)
	case d.ParentHQ != nil:
		return d.ParentHQ.CountryGroups
	case d.Letter != nil:
		return d.Letter.CountryGroups
	case d.Exception != nil:
		return append(slices.Clone(d.Exception.CountryGroups), d.Exception.ExceptGroups...)
	}
	return nil
}

// inAny reports whether country is in one of the named groups or countries.
func (s *ruleSet) inAny(country string, groups, countries []string) bool {
	if slices.Contains(countries, country) {
		return true
	}
	for _, g := range groups {
		if s.groups[g][country] {
			return true
		}
	}
	return false
}

type conflict struct {
	e   *entry
	msg string
}

// Region returns the region of an ISO country code: a group name from the
// regions rule ("US", "CN" for China and Macau) or its default ("other").
func (r Rules) Region(country string) string {
	if g, ok := r.rs().regionOf[country]; ok {
		return g
	}
	return r.rs().defaultRegion
}

// InCountryGroup reports whether country belongs to the named EAR country
// group ("D:5") in force.
func (r Rules) InCountryGroup(group, country string) bool { return r.rs().groups[group][country] }

// CountryGroup lists the countries of an EAR country group in force, sorted.
func (r Rules) CountryGroup(group string) []string {
	var out []string
	for c := range r.rs().groups[group] {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// Rule returns the version of rule id in force.
func (r Rules) Rule(id string) (Rule, bool) {
	for _, v := range r.Rules {
		if v.ID == id {
			return v, true
		}
	}
	return Rule{}, false
}

func regionIn(regions []string, region string) bool { return slices.Contains(regions, region) }

// LabTest returns the lab-test rule in force for shipments to country: the
// lab's country and default weekly capacity. ok is false when no test is
// required.
func (r Rules) LabTest(country string) (p LabTestParams, rule string, ok bool) {
	e := r.rs().labTest
	if e == nil || !regionIn(e.doc.LabTest.Regions, r.Region(country)) {
		return LabTestParams{}, "", false
	}
	return *e.doc.LabTest, e.ID, true
}

// LabWeeklyCapacity returns the lab's default weekly capacity in units, or 0
// when no lab-test rule is in force.
func (r Rules) LabWeeklyCapacity() int {
	if e := r.rs().labTest; e != nil {
		return e.doc.LabTest.WeeklyCapacityUnits
	}
	return 0
}

// Route returns the countries a controlled shipment to country must pass,
// ending with country itself ([TW US CN]), or nil when no route is imposed.
func (r Rules) Route(country string) (route []string, rule string) {
	e := r.rs().route
	if e == nil || !regionIn(e.doc.Route.Regions, r.Region(country)) {
		return nil, ""
	}
	out := append([]string{e.doc.Route.Origin}, e.doc.Route.Via...)
	return append(out, country), e.ID
}

// MinLotAgeDays is the least age in days (since the lot became available)
// of a lot exported to country; 0 when no minimum applies.
func (r Rules) MinLotAgeDays(country string) int {
	e := r.rs().lotAge
	if e == nil || !regionIn(e.doc.LotAge.Regions, r.Region(country)) {
		return 0
	}
	return e.doc.LotAge.MinDays
}

// VolumeCap returns the cap on cumulative shipments to country's region as a
// share of cumulative shipments to US end users, and whether one applies.
func (r Rules) VolumeCap(country string) (share domain.Rate, rule string, ok bool) {
	e := r.rs().volumeCap
	if e == nil || !regionIn(e.doc.VolumeCap.Regions, r.Region(country)) {
		return 0, "", false
	}
	return e.doc.VolumeCap.ShareOfUS.Rate(), e.ID, true
}

// VolumeCapRule returns the volume cap in force and its rule; ok is false
// when no cap is in force.
func (r Rules) VolumeCapRule() (p VolumeCapParams, rule Rule, ok bool) {
	e := r.rs().volumeCap
	if e == nil {
		return VolumeCapParams{}, Rule{}, false
	}
	return *e.doc.VolumeCap, e.Rule, true
}

// ShareOf returns share × units rounded down, exact in 128 bits: the most
// units a cap of that share lets through when units went to its
// denominator.
func ShareOf(share domain.Rate, units int64) int64 {
	return int64(mulDiv(uint64(max(units, 0)), uint64(max(share, 0)), domain.RateScale))
}

// VolumeLimit is the most units the volume cap lets country's region reach
// when us units have gone to US end users: share × us, rounded down (exact
// in 128 bits). ok is false when no cap applies to the region.
func (r Rules) VolumeLimit(country string, us int64) (limit int64, share domain.Rate, rule string, ok bool) {
	share, rule, ok = r.VolumeCap(country)
	if !ok {
		return 0, 0, "", false
	}
	return ShareOf(share, us), share, rule, true
}

// RedFlags returns the diversion red-flag parameters in force.
func (r Rules) RedFlags() (RedFlagParams, bool) {
	if e := r.rs().redFlags; e != nil {
		return *e.doc.RedFlags, true
	}
	return RedFlagParams{}, false
}

// Screening returns the screening thresholds in force and the id of the
// rule that sets them; ok is false when no screening rule is in force.
func (r Rules) Screening() (p ScreeningParams, ruleID string, ok bool) {
	if e := r.rs().screening; e != nil {
		return *e.doc.Screening, e.ID, true
	}
	return ScreeningParams{}, "", false
}

// EndUser returns the listed-end-user rule in force (its id, source and
// jurisdiction): the rule a screening match holds orders and stops
// shipments under.
func (r Rules) EndUser() (Rule, bool) {
	if e := r.rs().endUser; e != nil {
		return e.Rule, true
	}
	return Rule{}, false
}

// ScreeningSource returns the source id of the screening rule in force
// (what a decision on a hit cites with the rule id), "" if none is.
func (r Rules) ScreeningSource() string {
	if e := r.rs().screening; e != nil {
		return e.Source
	}
	return ""
}

// Geolocation returns the latency-geolocation parameters in force.
func (r Rules) Geolocation() (GeolocationParams, bool) {
	if e := r.rs().geolocation; e != nil {
		return *e.doc.Geolocation, true
	}
	return GeolocationParams{}, false
}

// Allocation returns the allocation defaults in force: the order in which
// regions are served and the reserve kept for smaller buyers.
func (r Rules) Allocation() (AllocationParams, bool) {
	if e := r.rs().allocation; e != nil {
		return *e.doc.Allocation, true
	}
	return AllocationParams{}, false
}

// ImportPermit returns the importing side's regime in force for country.
func (r Rules) ImportPermit(country string) (ImportPermitParams, bool) {
	e := r.rs().importPermit
	if e == nil || !e.doc.ImportPermit.covers(country, r.Region(country)) {
		return ImportPermitParams{}, false
	}
	return *e.doc.ImportPermit, true
}

// Exception returns the license exception of jurisdiction j with the code
// given (NAC, ACA) and the rule that carries it, as in force.
func (r Rules) Exception(j, code string) (ExceptionParams, Rule, bool) {
	for _, ix := range r.rs().dests {
		if ix.jurisdiction != j {
			continue
		}
		for _, e := range ix.exceptions {
			if e.doc.Exception.Code == code {
				return *e.doc.Exception, e.Rule, true
			}
		}
	}
	return ExceptionParams{}, Rule{}, false
}

// Covers reports whether the exception can serve a chip of the ECCN and
// spec given (its ECCNs, less data-center items of those it excludes).
func (p ExceptionParams) Covers(eccn string, spec domain.Spec) bool {
	return slices.Contains(p.ECCNs, eccn) && (!slices.Contains(p.ExcludeDataCenter, eccn) || spec.NotDataCenter)
}

// NotifiedExceptions lists the codes of the license exceptions in force
// that serve only after a confirmed notification (NAC), in file order.
func (r Rules) NotifiedExceptions() []string {
	var out []string
	for _, ix := range r.rs().dests {
		for _, e := range ix.exceptions {
			if e.doc.Exception.Notification && !slices.Contains(out, e.doc.Exception.Code) {
				out = append(out, e.doc.Exception.Code)
			}
		}
	}
	return out
}
