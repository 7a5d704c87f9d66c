package policy_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/policies"
)

func TestLoadDefault(t *testing.T) {
	p := mustDefault(t)
	if p.Name() != "chipgate-default" {
		t.Errorf("name %q", p.Name())
	}
	seen := map[string]bool{}
	for _, r := range p.Versions() {
		if r.ID == "" || r.Source == "" || r.SourceTitle == "" || r.From.IsZero() || r.Line == 0 {
			t.Errorf("rule %+v lacks id, source, title, from or line", r)
		}
		seen[r.ID] = true
	}
	// The rules issue 3 asks for, by id.
	for _, id := range []string{"eccn.3a090", "dest.cn-mo", "customer.approved", "end-use.prohibited", "end-user.listed",
		"end-user.parent-d5", "volume.cn-mo-cap", "shipment.lab-test", "shipment.route", "reexport.denied",
		"duty.section-232", "cn.import-permit", "lot-age.cn", "regions", "country-group.d5", "vetting.red-flags", "allocation.defaults"} {
		if !seen[id] {
			t.Errorf("default policy lacks rule %s", id)
		}
	}
}

func TestRulesAccessors(t *testing.T) {
	r := mustDefault(t).At(day("2026-06-01"))
	if r.Region("MO") != "CN" || r.Region("CN") != "CN" || r.Region("US") != "US" || r.Region("DE") != "other" {
		t.Errorf("regions: MO %s CN %s US %s DE %s", r.Region("MO"), r.Region("CN"), r.Region("US"), r.Region("DE"))
	}
	if !r.InCountryGroup("D:5", "CN") || r.InCountryGroup("D:5", "DE") {
		t.Error("D:5 membership wrong")
	}
	if route, id := r.Route("CN"); strings.Join(route, ">") != "TW>US>CN" || id != "shipment.route" {
		t.Errorf("route %v %s", route, id)
	}
	if route, _ := r.Route("DE"); route != nil {
		t.Errorf("route to DE %v", route)
	}
	if share, id, ok := r.VolumeCap("MO"); !ok || share != 500_000 || id != "volume.cn-mo-cap" {
		t.Errorf("volume cap %v %s %v", share, id, ok)
	}
	// The limit is half the US units, rounded down, exact at any size.
	for us, want := range map[int64]int64{0: 0, 1: 0, 3: 1, 1000: 500, math.MaxInt64: math.MaxInt64 / 2, -5: 0} {
		if limit, _, id, ok := r.VolumeLimit("CN", us); !ok || limit != want || id != "volume.cn-mo-cap" {
			t.Errorf("VolumeLimit(CN, %d) = %d, %v; want %d", us, limit, ok, want)
		}
	}
	if _, _, _, ok := r.VolumeLimit("US", 1000); ok {
		t.Error("a volume limit for the US")
	}
	// BIS's affiliates rule is suspended from 2025-11-10 to 2026-11-09 (S22).
	if th, ok := r.AffiliatesThreshold(); ok {
		t.Errorf("affiliates threshold %v during the suspension", th)
	}
	if rf, ok := r.RedFlags(); !ok || rf.PowerKWPerAccelerator != 1.2 || rf.CustomersRegisteredAfter.String() != "2022-10-01" {
		t.Errorf("red flags %+v", rf)
	}
	if a, ok := r.Allocation(); !ok || strings.Join(a.Tiers, ",") != "US,other,CN" || a.ReserveShare.Rate() != 100_000 {
		t.Errorf("allocation %+v", a)
	}
	if r.LabWeeklyCapacity() <= 0 {
		t.Error("no lab capacity")
	}
	if g, ok := r.Geolocation(); !ok || g.FiberKMPerMSOneWay != 200 {
		t.Errorf("geolocation %+v", g)
	}
	if ip, ok := r.ImportPermit("CN"); !ok || !ip.Admitting {
		t.Errorf("import permit %+v", ip)
	}
	if _, ok := r.Rule("dest.cn-mo"); !ok {
		t.Error("Rule(dest.cn-mo) not found")
	}
	// Before the 2026-01-15 program none of its rules is in force.
	old := mustDefault(t).At(day("2025-12-31"))
	if _, ok := old.Rule("customer.approved"); ok {
		t.Error("customer.approved in force in 2025")
	}
	if _, _, ok := old.VolumeCap("CN"); ok {
		t.Error("volume cap in force in 2025")
	}
}

// TestLoadRefuses feeds the loader broken variants of the default file and
// checks each problem is reported with the file, the line and the rule id.
func TestLoadRefuses(t *testing.T) {
	def := string(policies.Default) + celCheck
	tests := []struct {
		name     string
		old, new string
		want     []string // fragments of the error
	}{
		{"unknown field in a rule", "    summary: The regions", "    colour: red\n    summary: The regions", []string{"bad.yaml:", "rule regions", `unknown field "colour"`}},
		{"unknown field in params", "      prohibited: [", "      forbidden: [x]\n      prohibited: [", []string{"rule end-use.prohibited", `unknown field "forbidden"`}},
		{"unknown source", "    source: S6\n", "    source: S99\n", []string{"rule reexport.denied", `unknown source id "S99"`}},
		{"CEL that does not type-check", `if: 'quantity > 10000 && region == "CN"'`, `if: 'region == 1'`, []string{"rule check.large-order", "if: CEL"}},
		{"CEL with an unknown name", `region == "CN"'`, `regoin == "CN"'`, []string{"rule check.large-order", "undeclared reference to 'regoin'"}},
		{"CEL that is not a bool", `if: 'quantity > 10000 && region == "CN"'`, `if: 'quantity + 1'`, []string{"rule check.large-order", "want bool"}},
		{"overlapping versions", "    from: 2026-01-15\n    summary: From 2026-01-15, case-by-case", "    from: 2026-01-14\n    summary: From 2026-01-15, case-by-case", []string{"rule dest.cn-mo", "overlapping effective dates"}},
		{"gap between versions", "    from: 2026-01-15\n    summary: From 2026-01-15, case-by-case", "    from: 2026-01-16\n    summary: From 2026-01-15, case-by-case", []string{"rule dest.cn-mo", "gap in effective dates"}},
		{"until before from", "    until: 2026-01-28", "    until: 2026-01-12", []string{"rule cn.import-permit", "not after from"}},
		{"bad date", "    from: 2026-01-28\n", "    from: 2026-13-28\n", []string{"want YYYY-MM-DD"}},
		{"bad rate", `share_of_us: "50%"`, `share_of_us: "150%"`, []string{"between 0 and 100%"}},
		{"unknown region", "      regions: [CN]\n      share_of_us", "      regions: [XX]\n      share_of_us", []string{"rule volume.cn-mo-cap", `unknown region "XX"`}},
		{"bad status", "      status: no_license_required\n", "      status: maybe\n", []string{"rule dest.us", `"maybe"`}},
		{"bad outcome", "      outcome: rejected", "      outcome: frowned_upon", []string{"rule reexport.denied", "frowned_upon"}},
		{"check without message", "      message: an unusually large order to China\n", "\n", []string{"rule check.large-order", "message: required"}},
		{"two parameter blocks", "    end_use:\n", "    lot_age: {regions: [CN], min_days: 1}\n    end_use:\n", []string{"rule end-use.prohibited", "more than one parameter block"}},
		{"second id for a single-instance kind", "  - id: lot-age.cn", "  - id: lot-age.china", []string{}},
		{"a country in two destination rules", "      countries: [US]\n      status: no_license_required", "      countries: [US, CN]\n      status: no_license_required", []string{"rule dest", "also governed by rule"}},
		{"unknown country group", `      country_groups: ["D:5"]
      status: denied
      basis`, `      country_groups: ["D:9"]
      status: denied
      basis`, []string{"rule dest.d5", `unknown country group "D:9"`}},
		{"not a country code", "[SG, MY, TH, HK]", "[SG, Malaysia]", []string{"rule vetting.red-flags", `"Malaysia" is not an ISO`}},
		{"missing source", "    source: S9\n", "", []string{"rule vetting.red-flags", "source: required"}},
		{"source listed twice", "  - id: S2\n", "  - id: S1\n", []string{"bad.yaml:21: source S1 listed twice"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(def, tc.old) {
				t.Fatalf("default.yaml has no %q", tc.old)
			}
			src := strings.Replace(def, tc.old, tc.new, 1)
			_, err := policy.Load("bad.yaml", []byte(src))
			if tc.name == "second id for a single-instance kind" {
				// Renaming the only lot-age rule is fine; adding a second is not.
				if err != nil {
					t.Fatalf("rename refused: %v", err)
				}
				src = strings.Replace(def, "  - id: lot-age.cn", "  - id: lot-age.china\n    source: S1\n    from: 2026-01-15\n    lot_age: {regions: [CN], min_days: 1}\n  - id: lot-age.cn", 1)
				_, err = policy.Load("bad.yaml", []byte(src))
				tc.want = []string{"rule lot-age.cn", "a second lot_age rule"}
			}
			if err == nil {
				t.Fatal("loaded")
			}
			var le *policy.LoadError
			if !errors.As(err, &le) || domain.ErrorCode(err) != domain.EINVALID {
				t.Fatalf("error %T %v is not an EINVALID *LoadError", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			for _, p := range le.Problems {
				if p.Line == 0 && p.Rule != "" {
					t.Errorf("problem without a line: %s", p)
				}
			}
		})
	}
}

func TestLoadRefusesLineOfProblem(t *testing.T) {
	src := strings.Replace(string(policies.Default), "    source: S6\n", "    source: S99\n", 1)
	want := 0
	for i, l := range strings.Split(src, "\n") {
		if l == "    source: S99" {
			want = i + 1
		}
	}
	_, err := policy.Load("bad.yaml", []byte(src))
	var le *policy.LoadError
	if !errors.As(err, &le) || len(le.Problems) != 1 || le.Problems[0].Line != want {
		t.Fatalf("want one problem at line %d, got %v", want, err)
	}
}

func TestLoadRefusesGarbage(t *testing.T) {
	for _, src := range []string{"", "[1, 2", "policy: x\nrules: []\n", "- a\n- b\n", "policy: x\n---\npolicy: y\n", strings.Repeat("#", policy.MaxFileSize+1)} {
		if _, err := policy.Load("x.yaml", []byte(src)); err == nil {
			t.Errorf("loaded %.40q", src)
		}
	}
}

// TestEffectiveDates checks every version of every rule in the default file
// on both sides of its from and until: in force from the first instant of
// its from-day, out of force from the first instant of its until-day.
func TestEffectiveDates(t *testing.T) {
	p := mustDefault(t)
	inForce := func(at time.Time, v policy.Rule) bool {
		r, ok := p.At(at).Rule(v.ID)
		return ok && r.From == v.From
	}
	for _, v := range p.Versions() {
		if inForce(v.From.Add(-time.Nanosecond), v) {
			t.Errorf("%s (from %s) in force the instant before", v.ID, v.From)
		}
		if !inForce(v.From.Time, v) {
			t.Errorf("%s (from %s) not in force on its first day", v.ID, v.From)
		}
		if v.Until != nil {
			if !inForce(v.Until.Add(-time.Nanosecond), v) {
				t.Errorf("%s (until %s) not in force the instant before until", v.ID, v.Until)
			}
			if inForce(v.Until.Time, v) {
				t.Errorf("%s (until %s) still in force on its until-day", v.ID, v.Until)
			}
		}
	}
}

// TestLoadReportsEveryProblem: an unknown field does not hide the other
// problems of the file.
func TestLoadReportsEveryProblem(t *testing.T) {
	src := string(policies.Default)
	for _, r := range [][2]string{
		{"    summary: The regions", "    colour: red\n    summary: The regions"},
		{"    source: S6\n", "    source: S99\n"},
		{"    from: 2026-01-15\n    summary: From 2026-01-15, case-by-case", "    from: 2026-01-14\n    summary: From 2026-01-15, case-by-case"},
	} {
		src = strings.Replace(src, r[0], r[1], 1)
	}
	_, err := policy.Load("bad.yaml", []byte(src))
	var le *policy.LoadError
	if !errors.As(err, &le) {
		t.Fatalf("error %v", err)
	}
	for _, want := range []string{`rule regions: unknown field "colour"`, `rule reexport.denied: source: unknown source id "S99"`, "rule dest.cn-mo: overlapping effective dates"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if len(le.Problems) != 3 {
		t.Errorf("%d problems, want 3:\n%v", len(le.Problems), err)
	}
}
