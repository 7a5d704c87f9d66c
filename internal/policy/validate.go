package policy

import (
	"strings"

	"fmt"
	"math"
	"slices"
	"strconv"

	"cel.dev/cel-go/cel"
)

// kindValidator checks one rule's parameter block.
type kindValidator struct {
	l       *loader
	id      string
	line    func(key string) int
	regions map[string]bool
	groups  map[string]bool
}

func (v *kindValidator) bad(key, format string, args ...any) {
	v.l.add(v.line(key), v.id, "%s: %s", key, fmt.Sprintf(format, args...))
}

// badItem reports a problem with item i of the list under key, at the
// item's line: "windows[1]: ...".
func (v *kindValidator) badItem(key string, i int, format string, args ...any) {
	v.bad(key+"["+strconv.Itoa(i)+"]", format, args...)
}

func (v *kindValidator) countries(key string, cs []string, required bool) {
	if required && len(cs) == 0 {
		v.bad(key, "at least one country required")
	}
	seen := map[string]bool{}
	for _, c := range cs {
		if !countryRe.MatchString(c) {
			v.bad(key, "%q is not an ISO 3166-1 alpha-2 code", c)
		}
		if seen[c] {
			v.bad(key, "%s listed twice", c)
		}
		seen[c] = true
	}
}

// groupList checks that every name is a country group of the file.
func (v *kindValidator) groupList(key string, gs []string) {
	for _, g := range gs {
		if !v.groups[g] {
			v.bad(key, "unknown country group %q", g)
		}
	}
}

func (v *kindValidator) regionList(key string, rs []string) {
	if len(rs) == 0 {
		v.bad(key, "at least one region required")
	}
	for _, r := range rs {
		if !v.regions[r] {
			v.bad(key, "unknown region %q (regions are defined by the regions rule)", r)
		}
	}
}

func (v *kindValidator) words(key string, ws []string, required bool) {
	if required && len(ws) == 0 {
		v.bad(key, "at least one value required")
	}
	for _, w := range ws {
		if !vocabularyRe.MatchString(w) {
			v.bad(key, "%q: want lower-case words joined by _", w)
		}
	}
}

func (v *kindValidator) outcome(key string, o Outcome) {
	if !o.Valid() {
		v.bad(key, "%q: want accepted, held_for_review or rejected", o)
	}
}

func (v *kindValidator) status(key string, s Status) {
	if !s.Valid() {
		v.bad(key, "%q: want no_license_required, license_required or denied", s)
	}
}

func (v *kindValidator) nonNeg(key string, f *float64) {
	if f != nil && !(*f >= 0 && *f < math.Inf(1)) {
		v.bad(key, "must be a non-negative number")
	}
}

// criterion checks one conjunction of bounds of a classification.
func (v *kindValidator) criterion(key string, i int, what string, cr Criterion) {
	if cr.TPPMin == nil && cr.TPPBelow == nil && cr.PDMin == nil && cr.PDBelow == nil && cr.BandwidthDensityAbove == nil && cr.DataCenter == nil {
		v.badItem(key, i, "%s: an empty criterion would match everything", what)
	}
	for _, f := range []*float64{cr.TPPMin, cr.TPPBelow, cr.PDMin, cr.PDBelow, cr.BandwidthDensityAbove} {
		if f != nil && !(*f >= 0 && *f < math.Inf(1)) {
			v.badItem(key, i, "%s: bounds must be non-negative numbers", what)
		}
	}
}

// lists checks restricted-party list codes as the screening index writes
// them (EL, MEU, SDN, NS-MBS).
func (v *kindValidator) lists(key string, ls []string) {
	if len(ls) == 0 {
		v.bad(key, "at least one list required (EL, MEU, SDN, ...)")
	}
	for _, l := range ls {
		if !listRe.MatchString(l) {
			v.bad(key, "%q: want a list's short code such as EL, MEU or SDN", l)
		}
	}
}

func (v *kindValidator) validate(r *ruleDoc, e *entry, env *cel.Env) {
	switch {
	case r.Classification != nil:
		c := r.Classification
		if len(c.Categories) == 0 {
			v.bad("categories", "at least one category required")
		}
		ics := map[string]bool{}
		for i := range c.Categories {
			if c.Categories[i].forICs() {
				ics[c.Categories[i].ECCN] = true
			}
		}
		seen := map[string]bool{}
		for i, cat := range c.Categories {
			if cat.ECCN == "" {
				v.badItem("categories", i, "eccn required")
			} else if seen[cat.ECCN] {
				v.badItem("categories", i, "%s listed twice", cat.ECCN)
			}
			seen[cat.ECCN] = true
			switch cat.AppliesTo {
			case "", "accelerator", "memory":
				if cat.Contains != "" {
					v.badItem("categories", i, "%s: contains is for applies_to: system", cat.ECCN)
				}
				if len(cat.Any) == 0 {
					v.badItem("categories", i, "%s: at least one criterion under any", cat.ECCN)
				}
				for _, cr := range cat.Any {
					v.criterion("categories", i, cat.ECCN, cr)
				}
			case "system":
				if len(cat.Any) > 0 {
					v.badItem("categories", i, "%s: a system paragraph classifies by the ICs it contains (contains), not by any", cat.ECCN)
				}
				if !ics[cat.Contains] {
					v.badItem("categories", i, "%s: contains %q: want the eccn of an accelerator category of this rule", cat.ECCN, cat.Contains)
				}
			default:
				v.badItem("categories", i, "%s: applies_to %q: want accelerator, memory or system", cat.ECCN, cat.AppliesTo)
			}
		}
		for i, cr := range c.Excluded {
			v.criterion("excluded", i, "an exclusion", cr)
			if cr.BandwidthDensityAbove != nil {
				v.badItem("excluded", i, "an exclusion applies to ICs; bandwidth_density_above is a memory figure")
			}
		}
		if c.Otherwise == "" {
			v.bad("otherwise", "required (the classification of an item no category catches, e.g. EAR99)")
		} else if seen[c.Otherwise] {
			v.bad("otherwise", "%s is also a category", c.Otherwise)
		}
	case r.Regions != nil:
		seen := map[string]bool{}
		names := map[string]bool{}
		for _, g := range r.Regions.Groups {
			if !vocabularyRe.MatchString(g.Name) && !countryRe.MatchString(g.Name) {
				v.bad("groups", "region name %q", g.Name)
			}
			if names[g.Name] {
				v.bad("groups", "region %s defined twice", g.Name)
			}
			names[g.Name] = true
			v.countries("groups", g.Countries, true)
			for _, c := range g.Countries {
				if seen[c] {
					v.bad("groups", "%s is in two regions", c)
				}
				seen[c] = true
			}
		}
		if r.Regions.Default == "" {
			v.bad("default", "required")
		}
	case r.CountryGroup != nil:
		if r.CountryGroup.Name == "" {
			v.bad("name", "required")
		}
		v.countries("countries", r.CountryGroup.Countries, true)
	case r.Destination != nil:
		d := r.Destination
		if d.CountryGroup != "" {
			d.CountryGroups = append(d.CountryGroups, d.CountryGroup)
			d.CountryGroup = ""
		}
		sel := 0
		if len(d.Countries) > 0 {
			sel++
			v.countries("countries", d.Countries, true)
		}
		if len(d.CountryGroups) > 0 {
			sel++
			v.groupList("country_groups", d.CountryGroups)
		}
		if d.Default {
			sel++
		}
		if sel != 1 {
			v.bad("status", "want exactly one of countries, country_groups and default: true")
		}
		if len(d.ExceptGroups) > 0 {
			if len(d.CountryGroups) == 0 {
				v.bad("except_groups", "only meaningful with country_groups")
			}
			v.groupList("except_groups", d.ExceptGroups)
		}
		v.countries("exports_from", d.ExportsFrom, false)
		v.status("status", d.Status)
		if d.Review != nil {
			e.figures = []string{num(d.Review.TPPBelow), inum(int64(d.Review.BandwidthBelowGBps)) + " GB/s", ""}
			if d.Review.AvailableInUSBy != nil {
				e.figures[2] = d.Review.AvailableInUSBy.String()
			}
			v.status("otherwise", d.Otherwise)
			if d.Review.TPPBelow <= 0 || d.Review.BandwidthBelowGBps <= 0 {
				v.bad("review", "tpp_below and bandwidth_below_gbps must be positive")
			}
		} else if d.Otherwise != "" {
			v.bad("otherwise", "only meaningful with review")
		}
	case r.ParentHQ != nil:
		ph := r.ParentHQ
		if ph.CountryGroup != "" {
			ph.CountryGroups = append(ph.CountryGroups, ph.CountryGroup)
			ph.CountryGroup = ""
		}
		if len(ph.CountryGroups) == 0 && len(ph.Countries) == 0 {
			v.bad("country_groups", "at least one country group or country required")
		}
		v.groupList("country_groups", ph.CountryGroups)
		v.countries("countries", ph.Countries, false)
		v.countries("except_destinations", ph.ExceptDestinations, false)
		v.status("status", ph.Status)
	case r.Letter != nil:
		lp := r.Letter
		v.words("products", lp.Products, true)
		if len(lp.Countries) == 0 && len(lp.CountryGroups) == 0 {
			v.bad("countries", "at least one country or country group required")
		}
		v.countries("countries", lp.Countries, false)
		v.groupList("country_groups", lp.CountryGroups)
		v.status("status", lp.Status)
		if lp.Status == NoLicenseRequired {
			v.bad("status", "a letter imposes a requirement: license_required or denied")
		}
	case r.Exception != nil:
		ex := r.Exception
		if !vocabularyRe.MatchString(strings.ToLower(ex.Code)) {
			v.bad("code", "required, a short code such as NAC")
		}
		if len(ex.ECCNs) == 0 {
			v.bad("eccns", "at least one ECCN required")
		}
		if len(ex.Countries) == 0 && len(ex.CountryGroups) == 0 {
			v.bad("countries", "at least one country or country group required")
		}
		v.countries("countries", ex.Countries, false)
		v.groupList("country_groups", ex.CountryGroups)
		v.groupList("except_groups", ex.ExceptGroups)
	case r.ApprovedCustomer != nil:
		v.regionList("regions", r.ApprovedCustomer.Regions)
	case r.EndUse != nil:
		v.words("prohibited", r.EndUse.Prohibited, true)
	case r.EndUser != nil:
		v.outcome("on_match", r.EndUser.OnMatch)
		v.outcome("on_potential_match", r.EndUser.OnPotentialMatch)
		v.outcome("on_pending", r.EndUser.OnPending)
	case r.Affiliates != nil || r.BlockedOwnership != nil:
		o := r.Affiliates
		if o == nil {
			o = r.BlockedOwnership
		}
		v.lists("lists", o.Lists)
		if o.Threshold <= 0 {
			v.bad("threshold", "must be above 0%%")
		}
		v.outcome("on_owned", o.OnOwned)
	case r.VolumeCap != nil:
		v.regionList("regions", r.VolumeCap.Regions)
		v.outcome("on_exceeded", r.VolumeCap.OnExceeded)
	case r.LabTest != nil:
		v.regionList("regions", r.LabTest.Regions)
		v.countries("lab_country", []string{r.LabTest.LabCountry}, true)
		if r.LabTest.WeeklyCapacityUnits <= 0 {
			v.bad("weekly_capacity_units", "must be positive")
		}
		e.text = "every shipment tested by an independent lab in " + r.LabTest.LabCountry + " before export"
	case r.Route != nil:
		v.regionList("regions", r.Route.Regions)
		v.countries("origin", []string{r.Route.Origin}, true)
		v.countries("via", r.Route.Via, false)
		e.text = "route " + r.Route.Origin + " → "
		for _, c := range r.Route.Via {
			e.text += c + " → "
		}
	case r.Check != nil:
		v.outcome("outcome", r.Check.Outcome)
		if r.Check.Message == "" {
			v.bad("message", "required: it is what the buyer reads")
		}
		prg, err := compileBool(env, r.Check.If)
		if err != nil {
			v.bad("if", "%v", err)
		}
		e.check = prg
	case r.ReExport != nil:
		v.regionList("regions", r.ReExport.Regions)
		v.countries("ship_from", r.ReExport.ShipFrom, true)
		v.outcome("outcome", r.ReExport.Outcome)
	case r.ConsigneeKYC != nil:
		v.regionList("regions", r.ConsigneeKYC.Regions)
		v.outcome("on_missing", r.ConsigneeKYC.OnMissing)
	case r.Duty != nil:
		d := r.Duty
		v.countries("importing_country", []string{d.ImportingCountry}, true)
		if len(d.Windows) == 0 {
			v.bad("windows", "at least one window required")
		}
		for i, w := range d.Windows {
			e.figures = append(e.figures, num(w.TPPAbove), num(w.TPPBelow), inum(int64(w.BandwidthAboveGBps)), inum(int64(w.BandwidthBelowGBps)))
			if !(w.TPPAbove >= 0 && w.TPPAbove < w.TPPBelow && w.TPPBelow < math.Inf(1)) || w.BandwidthAboveGBps < 0 || w.BandwidthAboveGBps >= w.BandwidthBelowGBps {
				v.badItem("windows", i, "each window needs 0 ≤ tpp_above < tpp_below and 0 ≤ bandwidth_above_gbps < bandwidth_below_gbps (open intervals)")
			}
		}
		v.words("exempt_end_uses", d.ExemptEndUses, false)
		e.text = d.Rate.Rate().String()
	case r.ImportPermit != nil:
		ip := r.ImportPermit
		v.regionList("regions", ip.Regions)
		v.countries("countries", ip.Countries, false)
		if len(ip.ECCNs) == 0 {
			v.bad("eccns", "at least one ECCN required")
		}
		v.words("excluded_sectors", ip.ExcludedSectors, false)
	case r.LotAge != nil:
		v.regionList("regions", r.LotAge.Regions)
		if r.LotAge.MinDays < 0 || r.LotAge.MinDays > 36500 {
			v.bad("min_days", "must be between 0 and 36500")
		}
	case r.RedFlags != nil:
		rf := r.RedFlags
		v.regionList("regions", rf.Regions)
		v.nonNeg("power_kw_per_accelerator", &rf.PowerKWPerAccelerator)
		v.outcome("on_power_short", rf.OnPowerShort)
		v.countries("transshipment_hubs", rf.TransshipmentHubs, false)
	case r.Geolocation != nil:
		if !(r.Geolocation.FiberKMPerMSOneWay > 0 && r.Geolocation.FiberKMPerMSOneWay < 300) {
			v.bad("fiber_km_per_ms_one_way", "must be above 0 and below the speed of light (300 km/ms)")
		}
	case r.Screening != nil:
		sc := r.Screening
		if !(sc.MinScore > 0 && sc.MinScore <= 1) {
			v.bad("min_score", "must be above 0 and at most 1")
		}
		if !(sc.MatchScore >= sc.MinScore && sc.MatchScore <= 1) {
			v.bad("match_score", "must be at least min_score and at most 1")
		}
		if !(sc.MaxListShrink > 0 && sc.MaxListShrink < 1) {
			v.bad("max_list_shrink", "must be above 0 and below 1 (a share of the list's entities)")
		}
		if sc.FourEyesScore != 0 && !(sc.FourEyesScore >= sc.MinScore && sc.FourEyesScore <= 1) {
			v.bad("four_eyes_score", "must be at least min_score and at most 1 (or absent: match_score)")
		}
		validateReasons(v, sc.Reasons)
	case r.Watch != nil:
		validateWatch(v, r.Watch)
	case r.Attestation != nil:
		validateAttestation(v, r.Attestation)
	case r.Allocation != nil:
		v.regionList("tiers", r.Allocation.Tiers)
		v.words("reserve_classes", r.Allocation.ReserveClasses, false)
	}
}

// validateReasons wants every decision on a hit to have at least one
// reason, each reason a unique code, known decisions and a summary.
func validateReasons(v *kindValidator, rs []ScreeningReason) {
	seen := map[string]bool{}
	covered := map[string]bool{}
	for i, r := range rs {
		v.words(fmt.Sprintf("reasons[%d].code", i), []string{r.Code}, true)
		if seen[r.Code] {
			v.badItem("reasons", i, "code %q listed twice", r.Code)
		}
		seen[r.Code] = true
		if len(r.Decisions) == 0 {
			v.badItem("reasons", i, "decisions: at least one of %s", strings.Join(HitDecisions, ", "))
		}
		for _, d := range r.Decisions {
			if !slices.Contains(HitDecisions, d) {
				v.badItem("reasons", i, "decision %q: want one of %s", d, strings.Join(HitDecisions, ", "))
			}
			covered[d] = true
		}
		if strings.TrimSpace(r.Summary) == "" {
			v.badItem("reasons", i, "summary required")
		}
	}
	for _, d := range HitDecisions {
		if !covered[d] {
			v.bad("reasons", "no reason for the decision %s", d)
		}
	}
}
