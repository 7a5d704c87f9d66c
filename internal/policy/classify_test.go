package policy_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
)

func TestClassifyCatalog(t *testing.T) {
	p := mustDefault(t)
	rules := p.At(day("2026-02-01"))
	tests := []struct {
		slug           string
		tpp            float64
		eccn           string
		us, cn, mo, df policy.Status
		cnRule         string
	}{
		// EAR99 by its TPP, but licensed by letter to China and Macau (S21).
		{"h20", 2368, "EAR99", policy.NoLicenseRequired, policy.LicenseRequired, policy.LicenseRequired, policy.NoLicenseRequired, "letter.h20"},
		{"h200", 15832, "3A090.a", policy.NoLicenseRequired, policy.LicenseRequired, policy.LicenseRequired, policy.NoLicenseRequired, "dest.cn-mo"},
		{"b200", 36000, "3A090.a", policy.NoLicenseRequired, policy.Denied, policy.Denied, policy.NoLicenseRequired, "dest.cn-mo"},
		{"rubin", 140000, "3A090.a", policy.NoLicenseRequired, policy.Denied, policy.Denied, policy.NoLicenseRequired, "dest.cn-mo"},
	}
	for _, tc := range tests {
		t.Run(tc.slug, func(t *testing.T) {
			c := rules.ClassifyProduct(product(t, tc.slug))
			if c.Product != tc.slug || c.TPP != tc.tpp || c.ECCN != tc.eccn {
				t.Fatalf("got %s TPP %v ECCN %s, want %s TPP %v ECCN %s", c.Product, c.TPP, c.ECCN, tc.slug, tc.tpp, tc.eccn)
			}
			if got := rules.Controls(product(t, tc.slug).Spec); got != (tc.eccn != "EAR99") {
				t.Errorf("Controls = %v for %s", got, tc.eccn)
			}
			for dest, want := range map[string]policy.Status{"US": tc.us, "CN": tc.cn, "MO": tc.mo, "default": tc.df} {
				if got := c.Destinations[dest].Status; got != want {
					t.Errorf("%s: status %s, want %s (%s)", dest, got, want, messages(c.Destinations[dest].Reasons))
				}
			}
			cn := c.Destinations["CN"]
			if cn.Rules[len(cn.Rules)-1] != tc.cnRule {
				t.Errorf("CN rules %v, want last %s", cn.Rules, tc.cnRule)
			}
		})
	}
}

func TestH200IsAbout6Point7TimesH20(t *testing.T) {
	h20, _ := policy.Metrics(product(t, "h20").Spec)
	h200, _ := policy.Metrics(product(t, "h200").Spec)
	if ratio := math.Round(h200/h20*10) / 10; ratio != 6.7 {
		t.Fatalf("H200/H20 TPP ratio %.3f, want 6.7", h200/h20)
	}
}

func TestB200DeniedForCNShowsComparison(t *testing.T) {
	c := mustDefault(t).At(day("2026-02-01")).ClassifyProduct(product(t, "b200"))
	msg := messages(c.Destinations["CN"].Reasons)
	for _, want := range []string{"TPP 36,000 ≥ 21,000", "bandwidth 8,000 ≥ 6,500 GB/s"} {
		if !strings.Contains(msg, want) {
			t.Errorf("reasons %s lack %q", msg, want)
		}
	}
}

// TestECCNThresholds puts chips on both sides of every 3A090 bound. The
// figures are chosen so that TPP and PD are exact in binary floating point.
func TestECCNThresholds(t *testing.T) {
	rules := mustDefault(t).At(day("2026-02-01"))
	tests := []struct {
		name      string
		tpp, area float64
		want      string
	}{
		{"a: TPP at 4800", 4800, 10000, "3A090.a"},
		{"TPP just below 4800, PD below 1.6", 4792, 10000, "EAR99"},
		{"b: TPP below 4800, PD 2.4", 4792, 2000, "3A090.b"},
		{"a: TPP 1776, PD at 5.92", 1776, 300, "3A090.a"},
		{"b: TPP 1776, PD just below 5.92", 1776, 300.1, "3A090.b"},
		{"b: TPP at 2400, PD at 1.6", 2400, 1500, "3A090.b"},
		{"TPP below 2400 and PD 1.6", 2392, 1495, "EAR99"},
		{"b: TPP at 1600, PD at 3.2", 1600, 500, "3A090.b"},
		{"TPP below 1600, PD 3.2", 1592, 497.5, "EAR99"},
		{"TPP below 1600, PD 6", 1592, 265.3, "EAR99"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := rules.Classify(spec(tc.tpp, tc.area, 1000), day("2024-01-01"))
			if c.ECCN != tc.want {
				t.Fatalf("TPP %v PD %v: ECCN %s (%s), want %s", c.TPP, c.PD, c.ECCN, c.Basis, tc.want)
			}
			if c.Rule != "eccn.3a090" {
				t.Errorf("rule %q, want eccn.3a090", c.Rule)
			}
		})
	}
}

// TestCNProgramBounds crosses each bound of the 2026-01-15 case-by-case
// program and its effective date.
func TestCNProgramBounds(t *testing.T) {
	p := mustDefault(t)
	h200 := product(t, "h200")
	tests := []struct {
		name   string
		at     time.Time
		spec   domain.Spec
		launch time.Time
		want   policy.Status
		msg    string
	}{
		{"H200 the instant before 2026-01-15", day("2026-01-15").Add(-time.Nanosecond), h200.Spec, h200.LaunchDate, policy.Denied, "presumption of denial"},
		{"H200 on 2026-01-15", day("2026-01-15"), h200.Spec, h200.LaunchDate, policy.LicenseRequired, "TPP 15,832 < 21,000"},
		{"TPP just below 21,000", day("2026-02-01"), spec(20992, 1000, 4800), h200.LaunchDate, policy.LicenseRequired, "TPP 20,992 < 21,000"},
		{"TPP at 21,000", day("2026-02-01"), spec(21000, 1000, 4800), h200.LaunchDate, policy.Denied, "TPP 21,000 ≥ 21,000"},
		{"bandwidth 6,499", day("2026-02-01"), spec(15832, 814, 6499), h200.LaunchDate, policy.LicenseRequired, "bandwidth 6,499 < 6,500 GB/s"},
		{"bandwidth at 6,500", day("2026-02-01"), spec(15832, 814, 6500), h200.LaunchDate, policy.Denied, "bandwidth 6,500 ≥ 6,500 GB/s"},
		{"available in US on 2026-01-15", day("2026-02-01"), h200.Spec, day("2026-01-15"), policy.LicenseRequired, "≤ 2026-01-15"},
		{"available at noon on 2026-01-15", day("2026-02-01"), h200.Spec, day("2026-01-15").Add(12 * time.Hour), policy.LicenseRequired, "since 2026-01-15 ≤ 2026-01-15"},
		{"available in US from 2026-01-16", day("2026-02-01"), h200.Spec, day("2026-01-16"), policy.Denied, "after 2026-01-15"},
		{"US availability unknown", day("2026-02-01"), h200.Spec, time.Time{}, policy.Denied, "unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := p.At(tc.at).Classify(tc.spec, tc.launch).Destinations["CN"]
			if d.Status != tc.want {
				t.Fatalf("status %s, want %s:%s", d.Status, tc.want, messages(d.Reasons))
			}
			if got := d.Rules[len(d.Rules)-1]; got != "dest.cn-mo" {
				t.Errorf("rule %s, want dest.cn-mo", got)
			}
			if !strings.Contains(messages(d.Reasons), tc.msg) {
				t.Errorf("reasons %s lack %q", messages(d.Reasons), tc.msg)
			}
		})
	}
}

func TestClassificationJSON(t *testing.T) {
	c := mustDefault(t).At(day("2026-02-01")).ClassifyProduct(product(t, "b200"))
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Product      string  `json:"product"`
		TPP          float64 `json:"tpp"`
		PD           float64 `json:"pd"`
		ECCN         string  `json:"eccn"`
		Destinations map[string]struct {
			Status string   `json:"status"`
			Rules  []string `json:"rules"`
		} `json:"destinations"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Product != "b200" || got.TPP != 36000 || got.PD != 22.5 || got.ECCN != "3A090.a" ||
		got.Destinations["CN"].Status != "denied" || len(got.Destinations["CN"].Rules) == 0 {
		t.Fatalf("JSON %s", b)
	}
}

func TestNothingInForceBeforeFirstRule(t *testing.T) {
	r := mustDefault(t).At(day("2020-01-01"))
	if len(r.Rules) != 0 {
		t.Fatalf("rules in force in 2020: %d", len(r.Rules))
	}
	if d := r.DecideOrder(h200CN(t, day("2020-01-01"))); d.Outcome != policy.HeldForReview {
		t.Errorf("an order before any rule: %s", d.Outcome)
	}
	if c := r.ClassifyProduct(product(t, "b200")); c.ECCN != "" || c.Destinations["CN"].Status != policy.NoLicenseRequired {
		t.Fatalf("got %s %s", c.ECCN, c.Destinations["CN"].Status)
	}
}

func TestZeroRulesAnswerNothingInForce(t *testing.T) {
	var r policy.Rules
	if c := r.Classify(product(t, "b200").Spec, day("2025-03-01")); c.Destinations["CN"].Status != policy.NoLicenseRequired {
		t.Errorf("zero Rules classify: %+v", c)
	}
	f := h200CN(t, day("2026-02-01"))
	if d := r.DecideOrder(f); d.Outcome != policy.HeldForReview || d.Region != "" {
		t.Errorf("zero Rules decide: %+v", d)
	}
	if r.Region("CN") != "" || r.MinLotAgeDays("CN") != 0 || r.DutyFor(f.Spec, "").Covered {
		t.Error("zero Rules accessors")
	}
}
