package policy_test

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestCountryGroups asks group membership on both sides of the UAE's move
// to A:5 (2026-07-10, S23) and for the countries the destination rules
// turn on: China and its territories (Hong Kong in China's entries, S14),
// D:4 countries also in A:5/A:6 (S15).
func TestCountryGroups(t *testing.T) {
	p := mustDefault(t)
	ae := day("2026-07-10")
	tests := []struct {
		group, country string
		at             time.Time
		want           bool
		rule, from     string // the country_group version in force
	}{
		{"A:5", "AE", ae.Add(-time.Nanosecond), false, "country-group.a5", "2023-11-17"},
		{"A:5", "AE", ae, true, "country-group.a5", "2026-07-10"},
		{"A:5", "DE", ae.Add(-time.Nanosecond), true, "country-group.a5", "2023-11-17"},
		{"A:5", "DE", ae, true, "country-group.a5", "2026-07-10"},
		{"A:5", "CN", ae, false, "country-group.a5", "2026-07-10"},
		{"D:4", "AE", ae, true, "country-group.d4", "2023-11-17"},
		{"D:4", "IL", day("2026-02-01"), true, "country-group.d4", "2023-11-17"},
		{"A:6", "IL", day("2026-02-01"), true, "country-group.a6", "2023-11-17"},
		{"A:6", "HK", day("2026-02-01"), false, "country-group.a6", "2023-11-17"},
		{"D:1", "CN", day("2026-02-01"), true, "country-group.d1", "2023-11-17"},
		{"D:1", "HK", day("2026-02-01"), true, "country-group.d1", "2023-11-17"},
		{"D:1", "MO", day("2026-02-01"), true, "country-group.d1", "2023-11-17"},
		{"D:1", "US", day("2026-02-01"), false, "country-group.d1", "2023-11-17"},
		{"D:5", "HK", day("2026-02-01"), true, "country-group.d5", "2023-11-17"},
		{"D:5", "CN", day("2023-11-17"), true, "country-group.d5", "2023-11-17"},
		{"D:5", "CN", day("2023-11-17").Add(-time.Nanosecond), false, "", ""},
		{"D:9", "CN", day("2026-02-01"), false, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.group+" "+tc.country+" "+tc.at.Format(time.RFC3339Nano), func(t *testing.T) {
			r := p.At(tc.at)
			if got := r.InCountryGroup(tc.group, tc.country); got != tc.want {
				t.Errorf("InCountryGroup(%s, %s) = %v, want %v", tc.group, tc.country, got, tc.want)
			}
			if got := slices.Contains(r.CountryGroupsOf(tc.country), tc.group); got != tc.want {
				t.Errorf("CountryGroupsOf(%s) = %v", tc.country, r.CountryGroupsOf(tc.country))
			}
			v, ok := r.CountryGroupRule(tc.group)
			if ok != (tc.rule != "") || v.ID != tc.rule || (ok && v.From.String() != tc.from) {
				t.Errorf("CountryGroupRule(%s) = %s from %s, %v; want %s from %s", tc.group, v.ID, v.From, ok, tc.rule, tc.from)
			}
		})
	}
	// S15's exception, as the destination rules will ask it: the UAE is in
	// D:4 throughout, and in A:5 only from 2026-07-10.
	for at, want := range map[time.Time]string{ae.Add(-time.Nanosecond): "D:4", ae: "A:5,D:4"} {
		if got := strings.Join(p.At(at).CountryGroupsOf("AE"), ","); got != want {
			t.Errorf("AE at %v: groups %s, want %s", at, got, want)
		}
	}
	if got := strings.Join(p.At(day("2026-02-01")).CountryGroupsOf("CN"), ","); got != "D:1,D:4,D:5" {
		t.Errorf("CN groups %s", got)
	}
}

// TestSourcesS14ToS24: the file declares the corrections' sources, and the
// rules this change added cite them.
func TestSourcesS14ToS24(t *testing.T) {
	p := mustDefault(t)
	have := map[string]bool{}
	for _, s := range p.Sources() {
		have[s.ID] = s.Title != ""
	}
	for _, id := range []string{"S14", "S15", "S16", "S17", "S18", "S19", "S20", "S21", "S22", "S23", "S24"} {
		if !have[id] {
			t.Errorf("source %s missing or untitled", id)
		}
	}
	cites := map[string]string{"duty.section-232": "S18", "eccn.3a090": "S19", "end-user.affiliates": "S22", "country-group.d1": "S15", "country-group.d4": "S15", "country-group.a6": "S15"}
	for _, v := range p.Versions() {
		if want, ok := cites[v.ID]; ok && v.Source != want {
			t.Errorf("%s (from %s) cites %s, want %s", v.ID, v.From, v.Source, want)
		}
		if v.ID == "country-group.a5" && v.From.String() == "2026-07-10" && v.Source != "S23" {
			t.Errorf("the A:5 version with the UAE cites %s, want S23", v.Source)
		}
	}
}
