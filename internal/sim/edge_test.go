package sim_test

import (
	"os"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/sim"
)

// TestEdgeScenarios: small and lopsided scenarios run, and their figures
// stay sensible (nothing shipped that was not made, no share without a
// base).
func TestEdgeScenarios(t *testing.T) {
	head := "name: edge\nstart: 2026-03-02\nproduct: h200\nunit_price: \"USD 25000.00\"\n"
	tests := []struct {
		name, yaml string
	}{
		{"OneWeek", "weeks: 1\nproduction: {initial_inventory: 100}\nbuyers:\n  - {name: a, country: US, class: cloud, end_use: us_datacenter, units: 50}\n"},
		{"OnlyChina", "weeks: 4\nproduction: {weekly_units: 10}\nbuyers:\n  - {name: a, country: CN, class: sme, sector: private, end_use: commercial_ai, units: 40, orders: 4}\n"},
		{"NoSupplyLeft", "weeks: 3\nproduction: {initial_inventory: 5}\nbuyers:\n  - {name: a, country: JP, class: sme, end_use: commercial_ai, units: 500, orders: 3}\n"},
		{"NoLicenseOnFile", "weeks: 2\nproduction: {initial_inventory: 1000}\nbuyers:\n  - {name: u, country: US, class: cloud, end_use: us_datacenter, units: 500}\n  - {name: c, country: CN, class: cloud, sector: private, end_use: commercial_ai, units: 100, license_units: 0}\n"},
		{"Macau", "weeks: 2\nproduction: {initial_inventory: 1000}\nbuyers:\n  - {name: u, country: US, class: cloud, end_use: us_datacenter, units: 500}\n  - {name: m, country: MO, class: sme, sector: private, end_use: commercial_ai, units: 100}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := sim.Parse([]byte(head + tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			r := mustRun(t, s, sim.Options{})
			v := r.Variants[0]
			var shipped int64
			for _, n := range v.Totals.ShippedUnits {
				shipped += n
			}
			made := s.Production.InitialInventory + int64(s.Weeks)*s.Production.WeeklyUnits
			if shipped > made {
				t.Errorf("shipped %d units of %d made", shipped, made)
			}
			if v.Totals.ShippedUnits["US"] == 0 && v.Totals.CNShareOfUS != 0 {
				t.Errorf("CN share of US %.3f with no US shipments", v.Totals.CNShareOfUS)
			}
			if len(v.Weekly) != s.Weeks {
				t.Errorf("%d weekly rows for %d weeks", len(v.Weekly), s.Weeks)
			}
			if err := sim.WriteFiles(t.TempDir(), r); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// FuzzParse: no scenario file makes the parser panic, and what it accepts
// validates again without error.
func FuzzParse(f *testing.F) {
	for _, p := range []string{"../../scenarios/smoke.yaml", "../../scenarios/h200-china-2026.yaml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("name: x\nweeks: [1]\n"))
	f.Add([]byte("buyers: {a: 1}\nvariants: 3\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := sim.Parse(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Errorf("accepted, then invalid: %v", err)
		}
	})
}

// TestParseDuplicateKeyOneLine: the YAML decoder reports a key given twice
// on a line of its own; the scenario error stays one line and says where.
func TestParseDuplicateKeyOneLine(t *testing.T) {
	_, err := sim.Parse([]byte("name: a\nname: b\n"))
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), `"name" already defined`) {
		t.Fatalf("duplicate key: %q", err)
	}
}
