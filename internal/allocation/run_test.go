package allocation_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/allocation"
	"github.com/chipgate/chipgate/internal/domain"
)

// base is a small valid problem that tests change.
func base() allocation.Problem {
	return allocation.Problem{
		Periods: 4, Start: "2026-01-05", PeriodDays: 7,
		Tiers: [][]string{{"US"}, {"CN"}},
		Lots: []allocation.Lot{
			{ID: "old", Product: "h200", Quantity: 10, Period: 0, Made: "2025-01-01"},
			{ID: "young", Product: "h200", Quantity: 10, Period: 0, Made: "2026-01-01"},
		},
		Orders: []allocation.Order{
			{ID: "us", Buyer: "usco", Region: "US", Class: domain.ClassCloud, Product: "h200", Quantity: 10, Period: 0},
			{ID: "cn", Buyer: "cnco", Region: "CN", Class: domain.ClassPlatform, Product: "h200", Quantity: 10, Period: 0},
		},
		Caps: allocation.Caps{MinLotAgeDays: map[string]int{"CN": 180}},
	}
}

func units(res allocation.Result) map[string]int64 {
	got := map[string]int64{}
	for _, a := range res.Allocations {
		got[a.Order] += a.Quantity
	}
	return got
}

func reasons(res allocation.Result) map[string]string {
	r := map[string]string{}
	for _, u := range res.Unmet {
		r[u.Order] = u.Reason
	}
	return r
}

func TestRunBehavior(t *testing.T) {
	tests := []struct {
		name    string
		change  func(p *allocation.Problem)
		units   map[string]int64
		reasons map[string]string
		check   func(t *testing.T, res allocation.Result)
	}{
		{
			name:   "OldLotsKeptForCN",
			change: func(p *allocation.Problem) {},
			units:  map[string]int64{"us": 10, "cn": 10},
			check: func(t *testing.T, res allocation.Result) {
				for _, a := range res.Allocations {
					if a.Order == "us" && a.Lot != "young" {
						t.Errorf("the US got lot %s; the young lot serves it as well", a.Lot)
					}
				}
			},
		},
		{
			// Period-by-period filling would give the old lot to CN in
			// period 0, before the US order exists.
			name: "LaterHigherTierNotStarved",
			change: func(p *allocation.Problem) {
				p.Lots = p.Lots[:1]
				p.Orders[0].Period = 2
			},
			units:   map[string]int64{"us": 10},
			reasons: map[string]string{"cn": allocation.ReasonTier},
		},
		{
			name: "RatioCapCumulative",
			change: func(p *allocation.Problem) {
				p.Orders[0].Period = 2
				p.Caps.RegionRatio = []allocation.RatioCap{{Region: allocation.Regions{"CN"}, Of: allocation.Regions{"US"}, Max: allocation.NewRatio(1, 2)}}
			},
			units:   map[string]int64{"us": 10, "cn": 5},
			reasons: map[string]string{"cn": "cap:region_ratio[0]"},
			check: func(t *testing.T, res allocation.Result) {
				for _, a := range res.Allocations {
					if a.Order == "cn" && a.Period < 2 {
						t.Errorf("CN served in period %d before any US unit", a.Period)
					}
				}
			},
		},
		{
			// 20 units shipped to the US and 8 to CN before the horizon:
			// ⌊0.5 × (20 + 10)⌋ − 8 = 7 more for CN.
			name: "RatioCapPriorShipments",
			change: func(p *allocation.Problem) {
				p.Caps.RegionRatio = []allocation.RatioCap{{Region: allocation.Regions{"CN"}, Of: allocation.Regions{"US"},
					Max: allocation.NewRatio(1, 2), PriorBase: 20, PriorUnits: 8}}
			},
			units:   map[string]int64{"us": 10, "cn": 7},
			reasons: map[string]string{"cn": "cap:region_ratio[0]"},
		},
		{
			name: "RatioCapAlreadyOver",
			change: func(p *allocation.Problem) {
				p.Caps.RegionRatio = []allocation.RatioCap{{Region: allocation.Regions{"CN"}, Of: allocation.Regions{"US"},
					Max: allocation.NewRatio(1, 2), PriorBase: 20, PriorUnits: 30}}
			},
			units:   map[string]int64{"us": 10},
			reasons: map[string]string{"cn": "cap:region_ratio[0]"},
		},
		{
			name: "LotAge",
			change: func(p *allocation.Problem) {
				p.Lots = p.Lots[1:]
				p.Orders = p.Orders[1:]
			},
			units:   map[string]int64{},
			reasons: map[string]string{"cn": allocation.ReasonLotAge},
		},
		{
			name: "WeightedWaterFilling",
			change: func(p *allocation.Problem) {
				p.Lots = p.Lots[1:2]
				p.Lots[0].Quantity = 8
				p.Orders = []allocation.Order{
					{ID: "a", Buyer: "a", Region: "US", Class: domain.ClassCloud, Product: "h200", Quantity: 10, Weight: 1},
					{ID: "b", Buyer: "b", Region: "US", Class: domain.ClassCloud, Product: "h200", Quantity: 10, Weight: 3},
				}
			},
			units:   map[string]int64{"a": 2, "b": 6},
			reasons: map[string]string{"a": allocation.ReasonSupply, "b": allocation.ReasonSupply},
		},
		{
			name: "SmallOrderFilledFirst",
			change: func(p *allocation.Problem) {
				p.Lots = p.Lots[1:2]
				p.Orders = []allocation.Order{
					{ID: "big", Buyer: "a", Region: "US", Class: domain.ClassPlatform, Product: "h200", Quantity: 100},
					{ID: "small", Buyer: "b", Region: "US", Class: domain.ClassCloud, Product: "h200", Quantity: 2},
				}
			},
			units: map[string]int64{"big": 8, "small": 2},
		},
		{
			name: "LargestRemainderStableTies",
			change: func(p *allocation.Problem) {
				p.Lots = p.Lots[1:2]
				p.Orders = []allocation.Order{
					{ID: "a", Buyer: "x", Region: "US", Class: domain.ClassCloud, Product: "h200", Quantity: 9},
					{ID: "b", Buyer: "x", Region: "US", Class: domain.ClassCloud, Product: "h200", Quantity: 9},
					{ID: "c", Buyer: "x", Region: "US", Class: domain.ClassCloud, Product: "h200", Quantity: 9},
				}
			},
			units: map[string]int64{"a": 4, "b": 3, "c": 3},
		},
		{
			name: "BuyerCap",
			change: func(p *allocation.Problem) {
				p.Caps.Buyer = map[string]int64{"cnco": 4}
			},
			units:   map[string]int64{"us": 10, "cn": 4},
			reasons: map[string]string{"cn": "cap:buyer:cnco"},
		},
		{
			name: "LicenseForAnotherProduct",
			change: func(p *allocation.Problem) {
				p.Caps.Licenses = []allocation.License{{ID: "L1", Buyer: "cnco", Product: "h20", Remaining: 100}}
				p.Products = []string{"h200", "h20"}
			},
			units:   map[string]int64{"us": 10},
			reasons: map[string]string{"cn": "cap:license:none for cnco/h200"},
		},
		{
			name: "PermitQuota",
			change: func(p *allocation.Problem) {
				p.Caps.Permits = []allocation.Permit{{ID: "P1", Buyer: "cnco", Quota: 3}, {ID: "P2", Buyer: "cnco", Quota: 2}}
			},
			units:   map[string]int64{"us": 10, "cn": 5},
			reasons: map[string]string{"cn": "cap:permit:P1+P2"},
		},
		{
			// Weights 9:1 would give the sme 10 of 100; the reserve keeps
			// 30% of the tier for it.
			name: "Reserve",
			change: func(p *allocation.Problem) {
				p.Lots = []allocation.Lot{{ID: "y", Product: "h200", Quantity: 100, Period: 0, Made: "2026-01-01"}}
				p.Orders = []allocation.Order{
					{ID: "giant", Buyer: "g", Region: "US", Class: domain.ClassPlatform, Product: "h200", Quantity: 100, Weight: 9},
					{ID: "small", Buyer: "s", Region: "US", Class: domain.ClassSME, Product: "h200", Quantity: 100, Weight: 1},
				}
				p.Caps.Reserve = &allocation.Reserve{Share: allocation.NewRatio(3, 10)}
			},
			units: map[string]int64{"giant": 70, "small": 30},
		},
		{
			// Lots serve the US first: a CN order that asked earlier does
			// not push the US order to a later lot.
			name: "NoDelayToUS",
			change: func(p *allocation.Problem) {
				p.Lots[1] = allocation.Lot{ID: "later", Product: "h200", Quantity: 10, Period: 3, Made: "2025-01-01"}
				p.Orders[0].Period = 1
			},
			units: map[string]int64{"us": 10, "cn": 10},
			check: func(t *testing.T, res allocation.Result) {
				for _, a := range res.Allocations {
					if a.Order == "us" && a.Period != 1 {
						t.Errorf("%+v: the US order asked for period 1", a)
					}
				}
			},
		},
		{
			// Best fit: the US order wanted late takes the late lot, and
			// the early lot serves the CN order on time.
			name: "BestFitKeepsEarlyLots",
			change: func(p *allocation.Problem) {
				p.Lots[1] = allocation.Lot{ID: "later", Product: "h200", Quantity: 10, Period: 2, Made: "2025-01-01"}
				p.Orders[0].Period = 3
			},
			units: map[string]int64{"us": 10, "cn": 10},
			check: func(t *testing.T, res allocation.Result) {
				for _, a := range res.Allocations {
					if want := map[string]int{"us": 3, "cn": 0}[a.Order]; a.Period != want {
						t.Errorf("%+v: want period %d", a, want)
					}
				}
			},
		},
		{
			name: "NotBeforeRequestedOrAvailable",
			change: func(p *allocation.Problem) {
				p.Lots[1].Period = 2
				p.Lots[1].Made = "2026-01-19"
				p.Orders[0].Period = 1
			},
			units: map[string]int64{"us": 10, "cn": 10},
			check: func(t *testing.T, res allocation.Result) {
				for _, a := range res.Allocations {
					if a.Order == "us" && a.Period < 1 || a.Lot == "young" && a.Period < 2 {
						t.Errorf("%+v: too early", a)
					}
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := base()
			tt.change(&p)
			res, err := allocation.Run(p)
			if err != nil {
				t.Fatal(err)
			}
			if msg := checkResult(&p, res); msg != "" {
				t.Fatal(msg)
			}
			got := units(res)
			for _, o := range p.Orders {
				if got[o.ID] != tt.units[o.ID] {
					t.Errorf("order %s got %d units, want %d (all: %v)", o.ID, got[o.ID], tt.units[o.ID], got)
				}
			}
			rs := reasons(res)
			for o, want := range tt.reasons {
				if rs[o] != want {
					t.Errorf("order %s unmet reason %q, want %q", o, rs[o], want)
				}
			}
			if tt.check != nil {
				tt.check(t, res)
			}
		})
	}
}

func TestRunInvalid(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *allocation.Problem)
		field  string
	}{
		{"ErrZeroLotQuantity", func(p *allocation.Problem) { p.Lots[0].Quantity = 0 }, "lots[0].quantity"},
		{"ErrNegativeOrderQuantity", func(p *allocation.Problem) { p.Orders[1].Quantity = -5 }, "orders[1].quantity"},
		{"ErrUnknownProduct", func(p *allocation.Problem) { p.Orders[0].Product = "b300" }, "orders[0].product"},
		{"ErrUnknownLotProduct", func(p *allocation.Problem) { p.Products = []string{"h20"} }, "lots[0].product"},
		{"ErrLotBeforeMade", func(p *allocation.Problem) { p.Lots[1].Made = "2026-03-01" }, "lots[1].period"},
		{"ErrNegativeRatio", func(p *allocation.Problem) {
			p.Caps.RegionRatio = []allocation.RatioCap{{Region: allocation.Regions{"CN"}, Of: allocation.Regions{"US"}, Max: allocation.NewRatio(-1, 2)}}
		}, "caps.region_ratio[0].max"},
		{"ErrRegionInTwoTiers", func(p *allocation.Problem) { p.Tiers = [][]string{{"US", "CN"}, {"CN"}} }, "tiers[1][0]"},
		{"ErrRegionInNoTier", func(p *allocation.Problem) { p.Orders[0].Region = "FR" }, "orders[0].region"},
		{"ErrRatioBaseNotEarlierTier", func(p *allocation.Problem) {
			p.Caps.RegionRatio = []allocation.RatioCap{{Region: allocation.Regions{"US"}, Of: allocation.Regions{"CN"}, Max: allocation.NewRatio(1, 2)}}
		}, "caps.region_ratio[0].of"},
		{"ErrCappedBuyerInTwoTiers", func(p *allocation.Problem) {
			p.Orders[1].Buyer = "usco"
			p.Orders[1].Class = domain.ClassCloud
			p.Caps.Buyer = map[string]int64{"usco": 5}
		}, "orders[1].region"},
		{"ErrBuyerTwoClasses", func(p *allocation.Problem) { p.Orders[1].Buyer = "usco" }, "orders[1].class"},
		{"ErrOrderAfterHorizon", func(p *allocation.Problem) { p.Orders[0].Period = 4 }, "orders[0].period"},
		{"ErrNegativeBuyerCap", func(p *allocation.Problem) { p.Caps.Buyer = map[string]int64{"cnco": -1} }, "caps.buyer.cnco"},
		{"ErrReserveShare", func(p *allocation.Problem) { p.Caps.Reserve = &allocation.Reserve{Share: allocation.NewRatio(3, 2)} }, "caps.reserve.share"},
		{"ErrDuplicateLot", func(p *allocation.Problem) { p.Lots[1].ID = "old" }, "lots[1].id"},
		{"ErrBadStart", func(p *allocation.Problem) { p.Start = "05/01/2026" }, "start"},
		{"ErrNegativeWeight", func(p *allocation.Problem) { p.Orders[0].Weight = -1 }, "orders[0].weight"},
		{"ErrNegativeAge", func(p *allocation.Problem) { p.Caps.MinLotAgeDays["CN"] = -3 }, "caps.min_lot_age_days.CN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := base()
			tt.change(&p)
			_, err := allocation.Run(p)
			if domain.ErrorCode(err) != domain.EINVALID {
				t.Fatalf("err = %v, want EINVALID", err)
			}
			if msg := domain.ErrorMessage(err); !strings.HasPrefix(msg, tt.field+":") || strings.Contains(msg, "\n") {
				t.Errorf("message %q does not start with the field %s or spans lines", msg, tt.field)
			}
		})
	}
}

// TestExamples runs every example problem in testdata/allocation and
// checks its result, so that the documented examples stay valid.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob("../../testdata/allocation/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			p, err := allocation.Decode(r)
			if err != nil {
				t.Fatal(err)
			}
			res, err := allocation.Run(*p)
			if err != nil {
				t.Fatal(err)
			}
			if msg := checkResult(p, res); msg != "" {
				t.Fatal(msg)
			}
		})
	}
}

// TestJSONRoundTrip checks that a problem written as JSON reads back the
// same (the service stores problems and results as JSON), including the
// "CN+MO" form of a region set and exact decimal ratios.
func TestJSONRoundTrip(t *testing.T) {
	in := `{"periods":2,"start":"2026-01-05","period_days":7,"tiers":[["US"],["CN","MO"]],
	"lots":[{"id":"l","product":"h200","quantity":5,"period":0,"made":"2025-01-01"}],
	"orders":[{"id":"o","buyer":"b","region":"MO","class":"sme","product":"h200","quantity":3,"period":1}],
	"caps":{"region_ratio":[{"region":"CN+MO","of":["US"],"max":"0.29"}]}}`
	p, err := allocation.Decode(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Caps.RegionRatio[0].Region; len(got) != 2 || got[0] != "CN" || got[1] != "MO" {
		t.Errorf("region = %v", got)
	}
	if got := p.Caps.RegionRatio[0].Max.Floor(100); got != 29 {
		t.Errorf("0.29 × 100 = %d, want 29 exactly", got)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := allocation.Decode(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	b2, _ := json.Marshal(p2)
	if string(b) != string(b2) {
		t.Errorf("round trip changed the problem:\n%s\n%s", b, b2)
	}
	for _, bad := range []string{`{"periods":1} {}`, `{"periods":1,"bogus":2}`, `{"periods":"x"}`} {
		if _, err := allocation.Decode(strings.NewReader(bad)); domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("Decode(%s) = %v, want EINVALID", bad, err)
		}
	}
}

// FuzzDecode feeds arbitrary bytes to the decoder: it must never panic, and
// a problem it accepts must run without error and pass the checks.
func FuzzDecode(f *testing.F) {
	if b, err := os.ReadFile("../../testdata/allocation/basic.json"); err == nil {
		f.Add(b)
	}
	b, _ := json.Marshal(base())
	f.Add(b)
	f.Add([]byte(`{"periods":1,"start":"2026-01-01","period_days":1,"tiers":[["*"]],"lots":[],"orders":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := allocation.Decode(strings.NewReader(string(data)))
		if err != nil {
			if domain.ErrorCode(err) != domain.EINVALID {
				t.Fatalf("decode error %v is not EINVALID", err)
			}
			return
		}
		if len(p.Orders) > 50 || len(p.Lots) > 50 || p.Periods > 60 {
			return // keep each fuzz run small; the property test covers size
		}
		res, err := allocation.Run(*p)
		if err != nil {
			t.Fatalf("a decoded problem fails to run: %v", err)
		}
		// Fairness is checked by the property test on problems of its own;
		// here the rules that must hold for any input.
		if msg := checkRules(p, res); msg != "" {
			t.Fatal(msg)
		}
	})
}

func TestMetrics(t *testing.T) {
	p := allocation.Problem{
		Periods: 1, Start: "2026-01-05", PeriodDays: 7,
		Tiers: [][]string{{"US"}, {"CN"}},
		Lots:  []allocation.Lot{{ID: "l", Product: "h200", Quantity: 60, Period: 0, Made: "2025-01-01"}},
		Orders: []allocation.Order{
			{ID: "us", Buyer: "u", Region: "US", Class: domain.ClassCloud, Product: "h200", Quantity: 20},
			{ID: "big", Buyer: "g", Region: "CN", Class: domain.ClassPlatform, Product: "h200", Quantity: 100, Weight: 3},
			{ID: "uni", Buyer: "r", Region: "CN", Class: domain.ClassResearch, Product: "h200", Quantity: 20, Weight: 1},
		},
	}
	res, err := allocation.Run(p)
	if err != nil {
		t.Fatal(err)
	}
	mt := res.Metrics
	// CN gets 40: the platform 30 (weight 3), the university 10.
	if got := units(res); got["big"] != 30 || got["uni"] != 10 {
		t.Fatalf("units %v", got)
	}
	checks := []struct {
		name      string
		got, want float64
	}{
		{"hhi", mt.HHI, 75*75 + 25*25},
		{"jain US", mt.Tiers[0].Jain, 1},
		// Served fractions 0.3 and 0.5: (0.8)² / (2 × 0.34).
		{"jain CN", mt.Tiers[1].Jain, 0.64 / 0.68},
		{"reserve share", mt.ReserveShare, 10.0 / 60},
		{"allocated", float64(mt.Allocated), 60},
	}
	for _, c := range checks {
		if d := c.got - c.want; d > 1e-9 || d < -1e-9 {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if len(mt.HHIRegions) != 1 || mt.HHIRegions[0] != "CN" {
		t.Errorf("hhi_regions = %v, want the last tier [CN]", mt.HHIRegions)
	}
}
