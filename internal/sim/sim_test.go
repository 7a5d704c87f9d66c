package sim_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/sim"
)

const smokePath = "../../scenarios/smoke.yaml"

// mustLoad loads a scenario file and fails the test on error.
func mustLoad(tb testing.TB, path string) *sim.Scenario {
	tb.Helper()
	s, err := sim.Load(path)
	if err != nil {
		tb.Fatalf("load %s: %v", path, err)
	}
	return s
}

// mustRun runs a scenario and fails the test on error.
func mustRun(tb testing.TB, s *sim.Scenario, opt sim.Options) *sim.Result {
	tb.Helper()
	r, err := sim.Run(s, opt)
	if err != nil {
		tb.Fatalf("run: %v", err)
	}
	return r
}

func variant(tb testing.TB, r *sim.Result, name string) *sim.VariantResult {
	tb.Helper()
	for i := range r.Variants {
		if r.Variants[i].Name == name {
			return &r.Variants[i]
		}
	}
	tb.Fatalf("no variant %q", name)
	return nil
}

func ptr[T any](v T) *T { return &v }

// TestReproducible: the same scenario and seed give the same files byte
// for byte, however many variants run at once; another seed gives other
// figures.
func TestReproducible(t *testing.T) {
	write := func(seed uint64, parallel int) map[string][]byte {
		s := mustLoad(t, smokePath)
		r := mustRun(t, s, sim.Options{Seed: &seed, Parallel: parallel})
		dir := t.TempDir()
		if err := sim.WriteFiles(dir, r); err != nil {
			t.Fatal(err)
		}
		out := map[string][]byte{}
		for _, name := range sim.Files {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if len(b) == 0 {
				t.Errorf("%s is empty", name)
			}
			out[name] = b
		}
		return out
	}
	a, b, c := write(7, 1), write(7, 4), write(8, 2)
	for _, name := range sim.Files {
		if !bytes.Equal(a[name], b[name]) {
			t.Errorf("%s differs between two runs with seed 7", name)
		}
	}
	if bytes.Equal(a["summary.json"], c["summary.json"]) {
		t.Error("seeds 7 and 8 gave the same summary; the seed draws nothing")
	}
}

// TestVariantsMoveFigures: each knob moves its figure the way the policy
// debate expects, on the smoke scenario or a variation of it that makes
// the knob bite.
func TestVariantsMoveFigures(t *testing.T) {
	tests := []struct {
		name string
		// edit adjusts the smoke scenario; nil keeps it.
		edit  func(s *sim.Scenario)
		check func(t *testing.T, r *sim.Result)
	}{
		{
			name: "DutyZeroCollectsNothing",
			check: func(t *testing.T, r *sim.Result) {
				base, zero := variant(t, r, "baseline"), variant(t, r, "duty-0")
				if base.Totals.Duty.Minor <= 0 {
					t.Fatalf("baseline collected %v, want some duty", base.Totals.Duty)
				}
				if zero.Totals.Duty.Minor != 0 || zero.Totals.DutiableValue.Minor != 0 {
					t.Errorf("duty-0 collected %v on %v, want nothing", zero.Totals.Duty, zero.Totals.DutiableValue)
				}
				if zero.Totals.VendorRevenue != zero.Totals.GrossValue {
					t.Errorf("duty-0 vendor revenue %v, want the gross value %v", zero.Totals.VendorRevenue, zero.Totals.GrossValue)
				}
				if zero.Params.Duty != "0%" || base.Params.Duty != "25%" {
					t.Errorf("params read back %s and %s, want 25%% and 0%%", base.Params.Duty, zero.Params.Duty)
				}
			},
		},
		{
			name: "CapHoldsEveryWeekAndNoneLetsChinaPast",
			check: func(t *testing.T, r *sim.Result) {
				base, none := variant(t, r, "baseline"), variant(t, r, "cap-none")
				for _, w := range base.Weekly {
					if 2*w.CumCN > w.CumUS {
						t.Errorf("baseline week %d: CN %d > 50%% of US %d", w.Week, w.CumCN, w.CumUS)
					}
				}
				if none.Totals.CNShareOfUS <= 0.5 {
					t.Errorf("cap-none: CN share of US %.3f, want above 0.5 when demand allows", none.Totals.CNShareOfUS)
				}
				if none.Params.CNCap != "none" || none.Totals.CNCapPPM != -1 {
					t.Errorf("cap-none params %q / %d, want none / -1", none.Params.CNCap, none.Totals.CNCapPPM)
				}
			},
		},
		{
			// Without the cap China's tier is short of units, so the
			// reserve decides how much the small buyers get.
			name: "ReserveRaisesSmallBuyersShare",
			edit: func(s *sim.Scenario) {
				s.Variants = []sim.VariantSpec{
					{Name: "reserve-0", CNCap: ptr("none"), Reserve: ptr("0%")},
					{Name: "reserve-10", CNCap: ptr("none"), Reserve: ptr("10%")},
				}
				for i := range s.Groups {
					s.Groups[i].Units = sim.Range{Min: 20, Max: 60}
				}
			},
			check: func(t *testing.T, r *sim.Result) {
				lo, hi := variant(t, r, "reserve-0"), variant(t, r, "reserve-10")
				if hi.Totals.ReserveShareCN <= lo.Totals.ReserveShareCN {
					t.Errorf("sme+research share of CN: %.4f with 10%% reserve, %.4f without; want higher with it",
						hi.Totals.ReserveShareCN, lo.Totals.ReserveShareCN)
				}
			},
		},
		{
			// Inventory younger than 180 days cannot go to China until it
			// ages, so China gets less early on.
			name: "LotAgeDelaysChina",
			edit: func(s *sim.Scenario) {
				s.Production.InventoryWeeks = 8
				s.Variants = []sim.VariantSpec{
					{Name: "age-0", CNCap: ptr("none"), MinLotAgeDays: ptr(0)},
					{Name: "age-180", CNCap: ptr("none"), MinLotAgeDays: ptr(180)},
				}
			},
			check: func(t *testing.T, r *sim.Result) {
				young, old := variant(t, r, "age-0"), variant(t, r, "age-180")
				if old.Weekly[3].CumCN >= young.Weekly[3].CumCN {
					t.Errorf("CN units by week 3: %d with a 180-day minimum, %d without; want fewer with it",
						old.Weekly[3].CumCN, young.Weekly[3].CumCN)
				}
				if old.Params.MinLotAgeDays != 180 {
					t.Errorf("params read back %d days, want 180", old.Params.MinLotAgeDays)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustLoad(t, smokePath)
			if tt.edit != nil {
				tt.edit(s)
			}
			tt.check(t, mustRun(t, s, sim.Options{}))
		})
	}
}

// TestDutyReconciles: the duty is assessed per shipment line with
// domain.Money.Apply (half away from zero), so the total is within half a
// cent per line of rate × dutiable value, and exactly that when every
// line's duty is whole cents; the weekly figures add up to the totals.
func TestDutyReconciles(t *testing.T) {
	tests := []struct {
		name, price, duty string
		exact             bool
	}{
		{"WholeDollars25", "USD 30000.00", "25%", true},
		{"WholeDollars15", "USD 30000.00", "15%", true},
		{"OddCents15", "USD 29999.99", "15%", false},
		{"OddCents12.5", "USD 31234.57", "12.5%", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustLoad(t, smokePath)
			s.UnitPrice = tt.price
			s.Variants = []sim.VariantSpec{{Name: "v", Duty: ptr(tt.duty), CNCap: ptr("none")}}
			r := mustRun(t, s, sim.Options{})
			v := &r.Variants[0]
			rate, err := domain.ParseRate(tt.duty)
			if err != nil {
				t.Fatal(err)
			}
			var duty, dutiable, gross int64
			for _, w := range v.Weekly {
				duty += w.Duty
				dutiable += w.Dutiable
				gross += w.Gross
			}
			if duty != v.Totals.Duty.Minor || dutiable != v.Totals.DutiableValue.Minor || gross != v.Totals.GrossValue.Minor {
				t.Errorf("weeks add up to duty %d, dutiable %d, gross %d; totals say %d, %d, %d",
					duty, dutiable, gross, v.Totals.Duty.Minor, v.Totals.DutiableValue.Minor, v.Totals.GrossValue.Minor)
			}
			if v.Totals.VendorRevenue.Minor != gross-duty {
				t.Errorf("vendor revenue %d, want gross − duty = %d", v.Totals.VendorRevenue.Minor, gross-duty)
			}
			if dutiable == 0 || v.Totals.DutyLines == 0 {
				t.Fatal("nothing dutiable; the test proves nothing")
			}
			whole, err := v.Totals.DutiableValue.Apply(rate)
			if err != nil {
				t.Fatal(err)
			}
			diff := duty - whole.Minor
			if tt.exact && diff != 0 {
				t.Errorf("duty %d, want rate × dutiable value = %d exactly", duty, whole.Minor)
			}
			// Each line's rounding moves it at most half a cent.
			if 2*abs(diff) > int64(v.Totals.DutyLines)+1 {
				t.Errorf("duty %d differs from rate × dutiable value %d by %d cents over %d lines", duty, whole.Minor, diff, v.Totals.DutyLines)
			}
		})
	}
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// TestBadScenario: a bad scenario gives one error, on one line, that
// names the field.
func TestBadScenario(t *testing.T) {
	good, err := os.ReadFile(smokePath)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		from, to  string // replace from with to in the smoke scenario
		wantField string
	}{
		{"ErrUnknownField", "weeks: 12", "weeks: 12\nwekks: 3", "wekks"},
		{"ErrPlan", "weeks: 12", "weeks: 12\nallocation: {plan: monthly}", "allocation.plan"},
		{"ErrWeeksNotANumber", "weeks: 12", "weeks: twelve", "weeks"},
		{"ErrWeeksZeroOrLess", "weeks: 12", "weeks: -1", "weeks"},
		{"ErrStart", "start: 2026-02-02", "start: 2026-02-30", "start"},
		{"ErrPrice", `unit_price: "USD 30000.00"`, `unit_price: "30000"`, "unit_price"},
		{"ErrCountry", "{name: jp-lab, country: JP", "{name: jp-lab, country: Japan", "buyers[1].country"},
		{"ErrClass", "{name: us-cloud, country: US, class: cloud", "{name: us-cloud, country: US, class: hyperscaler", "buyers[0].class"},
		{"ErrBuyerField", "{name: us-cloud,", "{name: us-cloud, colour: red,", "buyers[0].colour"},
		{"ErrGroupUnits", "units: {min: 200, max: 800}", "units: {min: 900, max: 800}", "generate[0].units"},
		{"ErrGroupShare", "approved: 80%", "approved: 180%", "generate[1].approved"},
		{"ErrDuty", `duty: "0%"`, `duty: "125%"`, "variants[1].duty"},
		{"ErrCap", "cn_cap: none", "cn_cap: half", "variants[2].cn_cap"},
		{"ErrReserve", `reserve: "0%"`, `reserve: lots`, "variants[4].reserve"},
		{"ErrVariantNamedTwice", "{name: duty-0,", "{name: baseline,", "variants[1].name"},
		{"ErrLotAgeType", "min_lot_age_days: 180", "min_lot_age_days: old", "variants[3].min_lot_age_days"},
		{"ErrToWeek", "max: 1500}\n    orders: {min: 1, max: 3}", "max: 1500}\n    orders: {min: 1, max: 3}\n    to_week: 40", "generate[1].to_week"},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !bytes.Contains(good, []byte(tt.from)) {
				t.Fatalf("smoke.yaml no longer contains %q", tt.from)
			}
			path := filepath.Join(dir, tt.name+".yaml")
			if err := os.WriteFile(path, bytes.Replace(good, []byte(tt.from), []byte(tt.to), 1), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := sim.Load(path)
			if err == nil {
				t.Fatal("loaded a bad scenario")
			}
			if domain.ErrorCode(err) != domain.EINVALID {
				t.Errorf("code %q, want %q (%v)", domain.ErrorCode(err), domain.EINVALID, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.wantField+":") && !strings.Contains(msg, tt.wantField+" ") {
				t.Errorf("error %q does not name %s", msg, tt.wantField)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
		})
	}
}

// TestScenariosLoad: the scenarios shipped with chipgate are valid and
// the reported one matches the reporting it follows.
func TestScenariosLoad(t *testing.T) {
	s := mustLoad(t, "../../scenarios/h200-china-2026.yaml")
	var cnOrdered, giantsLicensed int64
	buyers := len(s.Buyers)
	for _, b := range s.Buyers {
		if b.Country == "CN" {
			cnOrdered += b.Units
		}
		switch b.Name {
		case "bytedance", "alibaba", "tencent":
			giantsLicensed += *b.LicenseUnits
		}
	}
	for _, g := range s.Groups {
		buyers += g.Count
	}
	if cnOrdered <= 2_000_000 || giantsLicensed <= 400_000 {
		t.Errorf("CN named buyers order %d units with %d licensed for the three giants; the reporting says > 2M and > 400k", cnOrdered, giantsLicensed)
	}
	if s.Production.InitialInventory != 700_000 || buyers != 500 {
		t.Errorf("inventory %d, %d buyers; want 700,000 and 500", s.Production.InitialInventory, buyers)
	}
}

// TestReportIsSelfContained: the report loads nothing from elsewhere.
func TestReportIsSelfContained(t *testing.T) {
	r := mustRun(t, mustLoad(t, smokePath), sim.Options{})
	html := string(sim.Report(r))
	for _, bad := range []string{"<script", "src=", "href=", "@import", "url("} {
		if strings.Contains(html, bad) {
			t.Errorf("report contains %q", bad)
		}
	}
	if n := strings.Count(html, "<svg"); n < 5 {
		t.Errorf("report has %d charts, want at least 5", n)
	}
	for _, v := range r.Variants {
		if !strings.Contains(html, ">"+v.Name+"<") {
			t.Errorf("report does not name variant %s", v.Name)
		}
	}
}

// TestForecastPlanKeepsUSOnTime: allocating week by week gives China's
// accepted orders the inventory on hand and later US orders wait for new
// production; planning with the forecast keeps back what the US will
// order, so no US unit is late, and China gets what is left.
func TestForecastPlanKeepsUSOnTime(t *testing.T) {
	tests := []struct {
		plan       string
		wantOnTime bool
	}{
		{"week", false},
		{"forecast", true},
	}
	for _, tt := range tests {
		t.Run(tt.plan, func(t *testing.T) {
			s := mustLoad(t, smokePath)
			s.Allocation.Plan = tt.plan
			s.Production.WeeklyUnits = 500
			s.Variants = []sim.VariantSpec{{Name: "cap-none", CNCap: ptr("none")}}
			v := mustRun(t, s, sim.Options{}).Variants[0]
			var us sim.DelayFigures
			for _, d := range v.Delays {
				if d.Region == "US" {
					us = d
				}
			}
			onTime := us.P90 == s.Transit.Direct && v.Totals.ShippedUnits["US"] == 24000
			if onTime != tt.wantOnTime {
				t.Errorf("plan %s: US shipped %d of 24000, P90 %d days (direct transit %d); want on time = %v",
					tt.plan, v.Totals.ShippedUnits["US"], us.P90, s.Transit.Direct, tt.wantOnTime)
			}
			if v.Totals.ShippedUnits["CN"] == 0 {
				t.Error("China got nothing; the test proves nothing")
			}
		})
	}
}
