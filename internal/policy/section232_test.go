package policy_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/policies"
)

// TestSection232OpenWindows puts chips on both sides of every bound of both
// windows: CBP wrote "greater than" and "less than" (S18), so a bound itself
// is outside. TPPs are multiples of 8 (exact as 8-bit TOPS).
func TestSection232OpenWindows(t *testing.T) {
	rules := mustDefault(t).At(day("2026-02-01"))
	tests := []struct {
		name    string
		tpp     float64
		bw      int
		covered bool
		msg     string
	}{
		{"H200", 15832, 4800, true, "TPP 14,000 < 15,832 < 17,500 and bandwidth 4,500 < 4,800 < 5,000 GB/s: 25% ad valorem"},
		{"TPP at 14,000", 14000, 4800, false, "TPP 14,000, bandwidth 4,800 GB/s: outside every window"},
		{"TPP 14,008", 14008, 4800, true, "TPP 14,000 < 14,008 < 17,500"},
		{"TPP 17,496", 17496, 4800, true, "< 17,496 < 17,500"},
		{"TPP at 17,500", 17500, 4800, false, "outside every window"},
		{"bandwidth at 4,500", 15832, 4500, false, "bandwidth 4,500 GB/s: outside every window"},
		{"bandwidth 4,501", 15832, 4501, true, "bandwidth 4,500 < 4,501 < 5,000 GB/s"},
		{"bandwidth 4,999", 15832, 4999, true, "bandwidth 4,500 < 4,999 < 5,000 GB/s"},
		{"bandwidth at 5,000", 15832, 5000, false, "outside every window"},
		// The second window (MI325X class): TPP per S18; bandwidth bounds
		// kept as data, unverified.
		{"MI325X", 20920, 6000, true, "TPP 20,800 < 20,920 < 21,100 and bandwidth 5,800 < 6,000 < 6,200 GB/s"},
		{"TPP at 20,800", 20800, 6000, false, "outside every window"},
		{"TPP 20,808", 20808, 6000, true, "TPP 20,800 < 20,808 < 21,100"},
		{"TPP 21,096", 21096, 6000, true, "< 21,096 < 21,100"},
		{"TPP at 21,100", 21100, 6000, false, "outside every window"},
		{"bandwidth at 5,800", 20920, 5800, false, "outside every window"},
		{"bandwidth 5,801", 20920, 5801, true, "5,800 < 5,801 < 6,200"},
		{"bandwidth 6,199", 20920, 6199, true, "5,800 < 6,199 < 6,200"},
		{"bandwidth at 6,200", 20920, 6200, false, "outside every window"},
		{"between the windows", 19000, 5500, false, "outside every window"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := rules.DutyFor(spec(tc.tpp, 1000, tc.bw), "commercial_ai")
			if d.Covered != tc.covered || d.Rule != "duty.section-232" || d.Source != "S18" {
				t.Fatalf("duty %+v, want covered %v under duty.section-232 (S18)", d, tc.covered)
			}
			if want := domain.Rate(0); tc.covered {
				want = 250_000
				if d.Rate != want {
					t.Errorf("rate %v, want 25%%", d.Rate)
				}
			} else if d.Rate != want {
				t.Errorf("rate %v outside the windows", d.Rate)
			}
			if !strings.Contains(d.Message, tc.msg) {
				t.Errorf("message %q lacks %q", d.Message, tc.msg)
			}
		})
	}
}

// TestSection232ExemptEndUses: every exemption of 9903.79.02–.09 is a use
// in the US (S18); the words of the old file, which did not say so, exempt
// nothing any more.
func TestSection232ExemptEndUses(t *testing.T) {
	rules := mustDefault(t).At(day("2026-02-01"))
	h200 := product(t, "h200").Spec
	for _, use := range []string{"us_datacenter", "us_repair", "us_research", "us_startup", "us_consumer_industrial", "us_public_sector", "secretary_determined"} {
		d := rules.DutyFor(h200, use)
		if !d.Covered || !d.Exempt || d.Rate != 0 || d.Rule != "duty.section-232" || !strings.Contains(d.Message, "end use "+use+" is exempt") {
			t.Errorf("%s: %+v, want covered and exempt under duty.section-232", use, d)
		}
	}
	for _, use := range []string{"research", "startup", "repair", "public_sector", "commercial_ai", ""} {
		if d := rules.DutyFor(h200, use); !d.Covered || d.Exempt || d.Rate != 250_000 || d.Rule != "duty.section-232" {
			t.Errorf("%q: %+v, want 25%% under duty.section-232", use, d)
		}
	}
}

// TestWindowOldNamesRefused: a file written for closed windows is refused
// with what to write, the line and the rule; the file's other problems are
// still reported.
func TestWindowOldNamesRefused(t *testing.T) {
	tests := []struct {
		old, new string
		want     []string
	}{
		{"{tpp_above: 14000, tpp_below: 17500, bandwidth_above_gbps: 4500, bandwidth_below_gbps: 5000, note: H200 class}",
			"{tpp_min: 14000, tpp_max: 17500, bandwidth_min_gbps: 4500, bandwidth_max_gbps: 5000, note: H200 class}",
			[]string{"rule duty.section-232: tpp_min is no longer read: duty windows are open intervals", "write tpp_above",
				"rule duty.section-232: tpp_max is no longer read", "write tpp_below",
				"write bandwidth_above_gbps", "write bandwidth_below_gbps"}},
		{"{tpp_above: 14000, tpp_below: 17500,", "{tpp_above: 17500, tpp_below: 14000,",
			[]string{"rule duty.section-232: windows[0]: each window needs 0 ≤ tpp_above < tpp_below"}},
		{"bandwidth_above_gbps: 4500, bandwidth_below_gbps: 5000,", "bandwidth_above_gbps: 5000, bandwidth_below_gbps: 5000,",
			[]string{"rule duty.section-232: windows[0]: each window needs", "0 ≤ bandwidth_above_gbps < bandwidth_below_gbps"}},
		{"{tpp_above: 14000, tpp_below: 17500,", "{tpp_above: 14000, tpp_below: 17500, colour: red,",
			[]string{"rule duty.section-232", `unknown field "colour"`}},
	}
	for _, tc := range tests {
		t.Run(tc.want[0], func(t *testing.T) {
			src := string(policies.Default)
			if !strings.Contains(src, tc.old) {
				t.Fatalf("default.yaml has no %q", tc.old)
			}
			bad := strings.Replace(src, tc.old, tc.new, 1)
			bad = strings.Replace(bad, "    source: S6\n", "    source: S99\n", 1)
			_, err := policy.Load("bad.yaml", []byte(bad))
			var le *policy.LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error %v", err)
			}
			line := strings.Count(bad[:strings.Index(bad, tc.new)], "\n") + 1
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\nlacks %q", err, w)
				}
			}
			for _, pr := range le.Problems {
				if pr.Rule == "duty.section-232" && pr.Line != line {
					t.Errorf("problem at line %d, want %d: %s", pr.Line, line, pr)
				}
			}
			if !strings.Contains(err.Error(), `rule reexport.denied: source: unknown source id "S99"`) {
				t.Errorf("the other problem is not reported:\n%v", err)
			}
		})
	}
}
