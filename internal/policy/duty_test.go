package policy_test

import (
	"testing"

	"github.com/chipgate/chipgate/internal/domain"
)

func TestDutyFor(t *testing.T) {
	p := mustDefault(t)
	tests := []struct {
		name           string
		at             string
		spec           domain.Spec
		endUse         string
		covered, exmpt bool
		rate           domain.Rate
	}{
		{"H200 for CN", "2026-02-01", product(t, "h200").Spec, "commercial_ai", true, false, 250_000},
		{"H200 the day before the duty", "2026-01-14", product(t, "h200").Spec, "commercial_ai", false, false, 0},
		{"H200 at the start of 2026-01-15 UTC, before 12:01 a.m. Eastern", "2026-01-15", product(t, "h200").Spec, "commercial_ai", false, false, 0},
		{"H200 on the duty's first full day", "2026-01-16", product(t, "h200").Spec, "commercial_ai", true, false, 250_000},
		{"H200 for a US data center", "2026-02-01", product(t, "h200").Spec, "us_datacenter", true, true, 0},
		{"H200 for research in the US", "2026-02-01", product(t, "h200").Spec, "us_research", true, true, 0},
		{"H200 for research abroad", "2026-02-01", product(t, "h200").Spec, "research", true, false, 250_000},
		{"TPP at 14,000 (open interval)", "2026-02-01", spec(14000, 814, 4800), "x", false, false, 0},
		{"TPP just above 14,000", "2026-02-01", spec(14008, 814, 4800), "x", true, false, 250_000},
		{"TPP just below 14,000", "2026-02-01", spec(13992, 814, 4800), "x", false, false, 0},
		{"TPP at 17,500 (open interval)", "2026-02-01", spec(17500, 814, 4800), "x", false, false, 0},
		{"TPP just below 17,500", "2026-02-01", spec(17496, 814, 4800), "x", true, false, 250_000},
		{"TPP just above 17,500", "2026-02-01", spec(17504, 814, 4800), "x", false, false, 0},
		{"bandwidth at 4,500 (open interval)", "2026-02-01", spec(15832, 814, 4500), "x", false, false, 0},
		{"bandwidth 4,501", "2026-02-01", spec(15832, 814, 4501), "x", true, false, 250_000},
		{"bandwidth 4,499", "2026-02-01", spec(15832, 814, 4499), "x", false, false, 0},
		{"bandwidth at 5,000 (open interval)", "2026-02-01", spec(15832, 814, 5000), "x", false, false, 0},
		{"bandwidth 4,999", "2026-02-01", spec(15832, 814, 4999), "x", true, false, 250_000},
		{"bandwidth 5,001", "2026-02-01", spec(15832, 814, 5001), "x", false, false, 0},
		{"second window (MI325X class)", "2026-02-01", spec(20920, 1000, 6000), "x", true, false, 250_000},
		{"H20", "2026-02-01", product(t, "h20").Spec, "x", false, false, 0},
		{"B200", "2026-02-01", product(t, "b200").Spec, "x", false, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := p.At(day(tc.at)).DutyFor(tc.spec, tc.endUse)
			if d.Covered != tc.covered || d.Exempt != tc.exmpt || d.Rate != tc.rate {
				t.Fatalf("duty %+v, want covered %v exempt %v rate %v", d, tc.covered, tc.exmpt, tc.rate)
			}
			if tc.covered && d.Rule != "duty.section-232" {
				t.Errorf("rule %q", d.Rule)
			}
		})
	}
}

// TestDutyRounding pins the money rule: half a minor unit rounds away from
// zero, per line.
func TestDutyRounding(t *testing.T) {
	d := mustDefault(t).At(day("2026-02-01")).DutyFor(product(t, "h200").Spec, "commercial_ai")
	tests := []struct {
		value, duty int64
	}{
		{100, 25},
		{2, 1},                     // 0.5 → 1
		{1, 0},                     // 0.25 → 0
		{6, 2},                     // 1.5 → 2
		{-2, -1},                   // -0.5 → -1
		{3_000_000_00, 75_000_000}, // USD 3,000,000.00 → 750,000.00
	}
	for _, tc := range tests {
		got, err := d.Apply(domain.Money{Minor: tc.value, Currency: "USD"})
		if err != nil || got.Minor != tc.duty || got.Currency != "USD" {
			t.Errorf("25%% of %d = %v (%v), want %d", tc.value, got, err, tc.duty)
		}
	}
	exempt := mustDefault(t).At(day("2026-02-01")).DutyFor(product(t, "h200").Spec, "us_datacenter")
	if got, _ := exempt.Apply(domain.Money{Minor: 1000, Currency: "USD"}); got.Minor != 0 {
		t.Errorf("exempt duty %v", got)
	}
}
