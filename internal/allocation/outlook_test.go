package allocation_test

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/allocation"
	"github.com/chipgate/chipgate/internal/domain"
)

func TestOutlook(t *testing.T) {
	p := randomProblemWithUnits(t)
	res, err := allocation.Run(p)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		u     allocation.Uncertainty
		exact bool // no uncertainty: P50 and P90 are the promised dates
	}{
		{"Certain", allocation.Uncertainty{Seed: 1, Runs: 10}, true},
		{"Route", allocation.Uncertainty{Seed: 1, Runs: 200, RouteMin: 2, RouteMode: 5, RouteMax: 30}, false},
		{"YieldLabRoute", allocation.Uncertainty{Seed: 9, Runs: 300, YieldMin: 0.8, LabMin: 1, LabMax: 5, LabRegions: []string{"CN", "MO", "US", "EU", "JP"}, RouteMin: 1, RouteMode: 3, RouteMax: 9}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := allocation.Outlook(p, res, tt.u)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := allocation.Outlook(p, res, tt.u)
			if !reflect.DeepEqual(o, again) {
				t.Fatal("the same seed gave two outlooks")
			}
			got := units(res)
			for _, oo := range o.Orders {
				if oo.Promised != got[oo.Order] {
					t.Errorf("%s promised %d, allocated %d", oo.Order, oo.Promised, got[oo.Order])
				}
				if oo.Promised == 0 {
					if oo.P50 != "" || oo.P90 != "" || oo.PromisedBy != "" {
						t.Errorf("%s: dates without units: %+v", oo.Order, oo)
					}
					continue
				}
				if !(oo.PromisedBy <= oo.P50 && oo.P50 <= oo.P90) {
					t.Errorf("%s: want promised %s ≤ P50 %s ≤ P90 %s", oo.Order, oo.PromisedBy, oo.P50, oo.P90)
				}
				if tt.exact && (oo.P50 != oo.PromisedBy || oo.P90 != oo.PromisedBy) {
					t.Errorf("%s: without uncertainty P50 %s and P90 %s should be the promised %s", oo.Order, oo.P50, oo.P90, oo.PromisedBy)
				}
			}
			var sum int64
			for _, b := range o.Buyers {
				sum += b.Promised
			}
			if sum != res.Metrics.Allocated {
				t.Errorf("buyers promised %d, allocated %d", sum, res.Metrics.Allocated)
			}
		})
	}
	// A buyer sees its own orders only.
	full, _ := allocation.Outlook(p, res, allocation.Uncertainty{Seed: 1, Runs: 5})
	b := p.Orders[0].Buyer
	mine := full.ForBuyer(b)
	if len(mine.Buyers) != 1 || mine.Buyers[0].Buyer != b || len(mine.Orders) == 0 {
		t.Errorf("ForBuyer(%s) = %+v", b, mine)
	}
	for _, oo := range mine.Orders {
		if oo.Buyer != b {
			t.Errorf("ForBuyer(%s) shows %s's order %s", b, oo.Buyer, oo.Order)
		}
	}
	// Route delays must move some date later than the plan.
	o, _ := allocation.Outlook(p, res, allocation.Uncertainty{Seed: 2, Runs: 100, RouteMin: 20, RouteMode: 30, RouteMax: 40})
	later := false
	for _, oo := range o.Orders {
		later = later || (oo.Promised > 0 && oo.P50 > oo.PromisedBy)
	}
	if !later {
		t.Error("route delays of 20–40 days moved no P50 past the promised date")
	}
}

func TestOutlookInvalid(t *testing.T) {
	p := base()
	res, err := allocation.Run(p)
	if err != nil {
		t.Fatal(err)
	}
	for field, u := range map[string]allocation.Uncertainty{
		"yield_min":  {YieldMin: 1.5},
		"lab_min":    {LabMin: 5, LabMax: 1},
		"route_mode": {RouteMin: 5, RouteMode: 1, RouteMax: 9},
		"runs":       {Runs: -1},
	} {
		_, err := allocation.Outlook(p, res, u)
		if domain.ErrorCode(err) != domain.EINVALID || !strings.HasPrefix(domain.ErrorMessage(err), field) {
			t.Errorf("%s: err = %v", field, err)
		}
	}
	res.Allocations = append(res.Allocations, allocation.Allocation{Order: "nope", Lot: "old", Quantity: 1})
	if _, err := allocation.Outlook(p, res, allocation.Uncertainty{}); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("an allocation of an unknown order: err = %v", err)
	}
}

// randomProblemWithUnits returns a random problem whose result allocates
// something, so the outlook has dates to check.
func randomProblemWithUnits(t *testing.T) allocation.Problem {
	for seed := uint64(0); seed < 100; seed++ {
		p := randomProblem(rand.New(rand.NewPCG(seed, 3)))
		if len(p.Orders) < 4 {
			continue
		}
		res, err := allocation.Run(p)
		if err == nil && res.Metrics.Allocated > 0 {
			return p
		}
	}
	t.Fatal("no random problem allocates anything")
	return allocation.Problem{}
}

func TestSelectKth(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for n := 1; n < 60; n++ {
		for _, q := range []float64{0, 0.5, 0.9, 1} {
			s := make([]float32, n)
			for i := range s {
				s[i] = float32(r.IntN(7)) // many ties
			}
			want := append([]float32(nil), s...)
			slices.Sort(want)
			k := allocation.Rank(n, q)
			allocation.SelectKth(s, k)
			if s[k] != want[k] {
				t.Fatalf("n=%d q=%v: s[%d] = %v, want %v", n, q, k, s[k], want[k])
			}
		}
	}
}
