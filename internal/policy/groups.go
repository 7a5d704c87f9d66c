package policy

import "slices"

// CountryGroupsOf lists, sorted, the EAR country groups in force that
// country belongs to ("A:5", "D:4" for the UAE from 2026-07-10). With
// InCountryGroup it answers what the destination rules ask of a country
// group at the rules' instant, e.g. "in D:1, D:4 or D:5 but in neither A:5
// nor A:6" (S15).
func (r Rules) CountryGroupsOf(country string) []string {
	var out []string
	for g, members := range r.rs().groups {
		if members[country] {
			out = append(out, g)
		}
	}
	slices.Sort(out)
	return out
}

// CountryGroupRule returns the version of the country_group rule that
// defines group at the rules' instant, to cite it.
func (r Rules) CountryGroupRule(group string) (Rule, bool) {
	for _, v := range r.Rules {
		if p, ok := v.Params.(*CountryGroupParams); ok && p.Name == group {
			return v, true
		}
	}
	return Rule{}, false
}
