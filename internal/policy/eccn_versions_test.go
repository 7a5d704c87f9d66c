package policy_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/policies"
)

// categoriesAt lists the ECCNs of the classification rule in force at t.
func categoriesAt(t *testing.T, p *policy.Policy, at time.Time) (policy.Rule, []string) {
	t.Helper()
	r, ok := p.At(at).Rule("eccn.3a090")
	if !ok {
		t.Fatalf("no eccn.3a090 at %v", at)
	}
	var out []string
	for _, c := range r.Params.(*policy.ClassificationParams).Categories {
		out = append(out, c.ECCN)
	}
	return r, out
}

// Test3A090cFrom20241202: high-bandwidth memory joined 3A090 with the
// 2024-12 rule (FR 2024-28270, effective 2024-12-02), as "greater than 2"
// GB/s per mm².
func Test3A090cFrom20241202(t *testing.T) {
	p := mustDefault(t)
	dec2 := day("2024-12-02")
	tests := []struct {
		at    time.Time
		withC bool
		from  string
	}{
		{day("2023-11-17"), false, "2023-11-17"},
		{dec2.Add(-time.Nanosecond), false, "2023-11-17"},
		{dec2, true, "2024-12-02"},
		{day("2026-02-01"), true, "2024-12-02"},
	}
	for _, tc := range tests {
		r, cats := categoriesAt(t, p, tc.at)
		if slices.Contains(cats, "3A090.c") != tc.withC || r.From.String() != tc.from || r.Source != "S19" {
			t.Errorf("%v: eccn.3a090 from %s (%s) has %v, want 3A090.c %v from %s", tc.at, r.From, r.Source, cats, tc.withC, tc.from)
		}
		for _, want := range []string{"3A090.a", "3A090.b", "4A090.a", "4A090.b"} {
			if !slices.Contains(cats, want) {
				t.Errorf("%v: no %s in %v", tc.at, want, cats)
			}
		}
		if tc.withC {
			c := r.Params.(*policy.ClassificationParams).Categories[slices.Index(cats, "3A090.c")]
			if c.AppliesTo != "memory" || len(c.Any) != 1 || c.Any[0].BandwidthDensityAbove == nil || *c.Any[0].BandwidthDensityAbove != 2 {
				t.Errorf("3A090.c %+v, want memory with bandwidth_density_above 2", c)
			}
		}
		// Accelerators classify the same under both versions.
		if c := p.At(tc.at).ClassifyProduct(product(t, "h200")); c.ECCN != "3A090.a" || c.Rule != "eccn.3a090" {
			t.Errorf("%v: H200 %s (%s)", tc.at, c.ECCN, c.Rule)
		}
	}
}

// TestNoteTo3A090 crosses the Note to 3A090 (S19): an IC not designed or
// marketed for data centers with TPP below 4,800 is outside 3A090, whatever
// its performance density; at 4,800 or above, or made for data centers, the
// categories apply as before.
func TestNoteTo3A090(t *testing.T) {
	rules := mustDefault(t).At(day("2026-02-01"))
	tests := []struct {
		name       string
		tpp, area  float64
		notDC      bool
		want       string
		basisParts []string
	}{
		{"data center, TPP 4,792, PD 5.99", 4792, 800, false, "3A090.a", []string{"TPP 4,792 ≥ 1,600 and PD 5.99 ≥ 5.92"}},
		{"not data center, TPP 4,792, PD 5.99", 4792, 800, true, "EAR99", []string{"not designed or marketed for data centers and TPP 4,792 < 4,800", "Note to 3A090"}},
		{"not data center, TPP at 4,800", 4800, 10000, true, "3A090.a", []string{"TPP 4,800 ≥ 4,800"}},
		{"data center, TPP 2,400, PD 2.4 (3A090.b)", 2400, 1000, false, "3A090.b", []string{"TPP 2,400 ≥ 2,400"}},
		{"not data center, TPP 2,400, PD 2.4", 2400, 1000, true, "EAR99", []string{"Note to 3A090"}},
		{"not data center, TPP 36,000", 36000, 1600, true, "3A090.a", []string{"TPP 36,000 ≥ 4,800"}},
		{"not data center, below every threshold", 1592, 1000, true, "EAR99", []string{"Note to 3A090"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := spec(tc.tpp, tc.area, 1000)
			s.NotDataCenter = tc.notDC
			c := rules.Classify(s, day("2024-01-01"))
			if c.ECCN != tc.want || c.Rule != "eccn.3a090" {
				t.Fatalf("ECCN %s by %s (%s), want %s by eccn.3a090", c.ECCN, c.Rule, c.Basis, tc.want)
			}
			for _, part := range tc.basisParts {
				if !strings.Contains(c.Basis, part) {
					t.Errorf("basis %q lacks %q", c.Basis, part)
				}
			}
			// The order path agrees with the explained one.
			f := h200CN(t, day("2026-02-01"))
			f.Spec = s
			if d := rules.DecideOrder(f); d.ECCN != tc.want {
				t.Errorf("DecideOrder ECCN %s, want %s", d.ECCN, tc.want)
			}
		})
	}
}

// Test4A090 classifies systems by the ICs they contain (S19): 4A090.a and
// .b mirror 3A090.a and .b, an uncontrolled IC makes an uncontrolled
// system, and the order rules read a system by its ICs.
func Test4A090(t *testing.T) {
	rules := mustDefault(t).At(day("2026-02-01"))
	system := func(s domain.Spec, n int, notDC bool) domain.Spec {
		s.Accelerators, s.NotDataCenter = n, notDC
		return s
	}
	tests := []struct {
		name  string
		spec  domain.Spec
		want  string
		basis string
		cn    policy.Status
	}{
		{"HGX H200 (8 × 3A090.a)", product(t, "hgx-h200").Spec, "4A090.a", "a system of 8 × 3A090.a ICs (TPP 15,832 ≥ 4,800)", policy.LicenseRequired},
		{"a board of one 3A090.a IC", system(spec(15832, 814, 4800), 1, false), "4A090.a", "a system of 1 × 3A090.a ICs", policy.LicenseRequired},
		{"8 × 3A090.b", system(spec(2400, 1000, 1000), 8, false), "4A090.b", "a system of 8 × 3A090.b ICs (TPP 2,400 ≥ 2,400", policy.LicenseRequired},
		{"8 × B200", system(product(t, "b200").Spec, 8, false), "4A090.a", "8 × 3A090.a", policy.Denied},
		{"8 × H20 (EAR99)", system(product(t, "h20").Spec, 8, false), "EAR99", "a system of 8 × EAR99 ICs (TPP 2,368, PD 2.91: below every", policy.NoLicenseRequired},
		{"8 × non-data-center 3A090.b-class ICs", system(spec(2400, 1000, 1000), 8, true), "EAR99", "Note to 3A090", policy.NoLicenseRequired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := rules.Classify(tc.spec, day("2024-06-01"))
			if c.ECCN != tc.want || c.Rule != "eccn.3a090" || !strings.Contains(c.Basis, tc.basis) {
				t.Fatalf("ECCN %s by %s (%s), want %s by eccn.3a090 with %q", c.ECCN, c.Rule, c.Basis, tc.want, tc.basis)
			}
			if c.Accelerators != tc.spec.Accelerators {
				t.Errorf("accelerators %d, want %d", c.Accelerators, tc.spec.Accelerators)
			}
			if st := c.Destinations["CN"]; st.Status != tc.cn {
				t.Errorf("CN: %s, want %s:%s", st.Status, tc.cn, messages(st.Reasons))
			}
		})
	}
}

// TestSystemOrder decides orders of HGX H200 boards to China: the review
// bounds, the import permit and the duty read the ICs, and the site must
// show power for every accelerator, not every board.
func TestSystemOrder(t *testing.T) {
	p := mustDefault(t)
	hgx := product(t, "hgx-h200")
	order := func(power float64) policy.OrderFacts {
		f := h200CN(t, day("2026-02-01"))
		f.Product, f.Spec, f.Quantity, f.SitePowerKW = "hgx-h200", hgx.Spec, 10, power
		f.Licenses[0].Products = []string{"hgx-h200"}
		return f
	}
	d := p.DecideOrder(order(96))
	if d.Outcome != policy.Accepted || d.ECCN != "4A090.a" || d.TPP != 15832 || d.Status != policy.LicenseRequired || !d.UsesLicense || !d.UsesPermit {
		t.Fatalf("10 boards, 96 kW: %+v:%s", d, messages(d.Reasons))
	}
	if d.Duty == nil || d.Duty.Rule != "duty.section-232" || d.Duty.Rate != 250_000 {
		t.Errorf("duty %+v", d.Duty)
	}
	d = p.DecideOrder(order(95.9))
	if d.Outcome != policy.HeldForReview || !blockedBy(d, "vetting.red-flags") ||
		!strings.Contains(messages(d.Blocking()), "site power 95.9 kW < 1.2 kW × 80 accelerators (10 systems of 8) = 96 kW") {
		t.Fatalf("10 boards, 95.9 kW: %s:%s", d.Outcome, messages(d.Reasons))
	}
	// Without a permit a board is held by China's import side like a chip.
	f := order(96)
	f.Permits = nil
	if d := p.DecideOrder(f); d.Outcome != policy.HeldForReview || !blockedBy(d, "cn.import-permit") {
		t.Fatalf("no permit: %s:%s", d.Outcome, messages(d.Reasons))
	}
}

// TestSystemWithoutSystemParagraph: a file with no 4A090 paragraph still
// controls a system of controlled ICs, as its ICs.
func TestSystemWithoutSystemParagraph(t *testing.T) {
	src := strings.ReplaceAll(string(policies.Default), "        - {eccn: 4A090.a, applies_to: system, contains: 3A090.a}\n", "")
	p, err := policy.Load("no4a090.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	c := p.At(day("2026-02-01")).ClassifyProduct(product(t, "hgx-h200"))
	if c.ECCN != "3A090.a" || !strings.Contains(c.Basis, "no system paragraph for 3A090.a") || c.Destinations["CN"].Status != policy.LicenseRequired {
		t.Fatalf("%s (%s), CN %s", c.ECCN, c.Basis, c.Destinations["CN"].Status)
	}
	f := h200CN(t, day("2026-02-01"))
	f.Spec = product(t, "hgx-h200").Spec
	if d := p.DecideOrder(f); d.ECCN != "3A090.a" {
		t.Errorf("DecideOrder ECCN %s", d.ECCN)
	}
}

// TestClassificationRefuses: bad classification blocks name the file, the
// item's line and the rule.
func TestClassificationRefuses(t *testing.T) {
	tests := []struct {
		name, old, new string
		want           string
	}{
		{"old memory bound", "{bandwidth_density_above: 2}", "{bandwidth_density_min: 2}",
			"rule eccn.3a090: bandwidth_density_min is no longer read: 3A090.c reads \"greater than\" 2 GB/s/mm² (S19): write bandwidth_density_above"},
		{"system paragraph with criteria", "{eccn: 4A090.b, applies_to: system, contains: 3A090.b}", "{eccn: 4A090.b, applies_to: system, contains: 3A090.b, any: [{tpp_min: 1}]}",
			"rule eccn.3a090: categories[3]: 4A090.b: a system paragraph classifies by the ICs it contains (contains), not by any"},
		{"system paragraph of an unknown ECCN", "{eccn: 4A090.b, applies_to: system, contains: 3A090.b}", "{eccn: 4A090.b, applies_to: system, contains: 3A090.z}",
			"rule eccn.3a090: categories[3]: 4A090.b: contains \"3A090.z\": want the eccn of an accelerator category"},
		{"contains on an accelerator paragraph", "        - eccn: 3A090.b\n", "        - eccn: 3A090.b\n          contains: 3A090.a\n",
			"rule eccn.3a090: categories[1]: 3A090.b: contains is for applies_to: system"},
		{"unknown applies_to", "{eccn: 4A090.a, applies_to: system,", "{eccn: 4A090.a, applies_to: rack,",
			"rule eccn.3a090: categories[2]: 4A090.a: applies_to \"rack\": want accelerator, memory or system"},
		{"empty exclusion", `{data_center: false, tpp_below: 4800, note: "Note to 3A090: not designed or marketed for data centers"}`, "{note: nothing}",
			"rule eccn.3a090: excluded[0]: an exclusion: an empty criterion would match everything"},
		{"memory exclusion", "{data_center: false, tpp_below: 4800,", "{data_center: false, bandwidth_density_above: 1,",
			"rule eccn.3a090: excluded[0]: an exclusion applies to ICs"},
		{"ECCN listed twice", "{eccn: 4A090.b, applies_to: system, contains: 3A090.b}", "{eccn: 4A090.a, applies_to: system, contains: 3A090.b}",
			"rule eccn.3a090: categories[3]: 4A090.a listed twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := string(policies.Default)
			if !strings.Contains(src, tc.old) {
				t.Fatalf("default.yaml has no %q", tc.old)
			}
			bad := strings.Replace(src, tc.old, tc.new, 1)
			_, err := policy.Load("bad.yaml", []byte(bad))
			var le *policy.LoadError
			if !errors.As(err, &le) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error\n%v\nlacks %q", err, tc.want)
			}
			line := strings.Count(bad[:strings.Index(bad, tc.new)], "\n") + 1
			for _, pr := range le.Problems {
				if pr.Rule == "eccn.3a090" && pr.Line != line && !strings.Contains(tc.new, "\n") {
					t.Errorf("problem at line %d, want %d: %s", pr.Line, line, pr)
				}
			}
		})
	}
}

// TestSpecFieldsDefaultToADataCenterIC: a spec stored before the fields
// existed reads as a data-center IC, and the new fields round-trip.
func TestSpecFieldsDefaultToADataCenterIC(t *testing.T) {
	var old domain.Spec
	if err := json.Unmarshal([]byte(`{"throughput":[{"bits":8,"dense_tops":1979}],"die_area_mm2":814,"memory_gb":141,"bandwidth_gbps":4800}`), &old); err != nil {
		t.Fatal(err)
	}
	if old.NotDataCenter || old.Accelerators != 0 {
		t.Fatalf("old spec reads as %+v", old)
	}
	if c := mustDefault(t).At(day("2026-02-01")).Classify(old, day("2024-06-01")); c.ECCN != "3A090.a" {
		t.Errorf("old spec: %s", c.ECCN)
	}
	b, err := json.Marshal(old)
	if err != nil || strings.Contains(string(b), "not_data_center") || strings.Contains(string(b), "accelerators") {
		t.Errorf("an IC for data centers writes the new fields: %s", b)
	}
	sys := old
	sys.Accelerators, sys.NotDataCenter = 8, true
	var back domain.Spec
	if b, err := json.Marshal(sys); err != nil || json.Unmarshal(b, &back) != nil || back.Accelerators != 8 || !back.NotDataCenter {
		t.Errorf("round trip %s → %+v", b, back)
	}
	for _, n := range []int{-1, domain.MaxAccelerators + 1} {
		bad := old
		bad.Accelerators = n
		if err := bad.Validate(); domain.ErrorCode(err) != domain.EINVALID || !strings.Contains(err.Error(), "accelerators") {
			t.Errorf("accelerators %d: %v", n, err)
		}
	}
}
