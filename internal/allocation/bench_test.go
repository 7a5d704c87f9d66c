package allocation_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/allocation"
	"github.com/chipgate/chipgate/internal/domain"
)

// bigProblem builds a program-shaped problem: 52 weekly periods, three
// products, the US first, other regions next, CN and MO last under a 0.5
// ratio cap and a 180-day lot age, per-buyer caps, licenses and permits on
// Chinese buyers, and a 10% reserve for sme and research. Buyers grow with
// the orders (one buyer per 200 orders, at least 20) unless nBuyers > 0.
func bigProblem(nOrders, nLots, nBuyers int, seed uint64) allocation.Problem {
	r := rand.New(rand.NewPCG(seed, 1))
	p := allocation.Problem{
		Periods: 52, Start: "2026-01-05", PeriodDays: 7,
		Tiers: [][]string{{"US"}, {"EU", "JP", "KR", "SG"}, {"CN", "MO"}},
		Caps: allocation.Caps{
			RegionRatio:   []allocation.RatioCap{{Region: allocation.Regions{"CN", "MO"}, Of: allocation.Regions{"US"}, Max: allocation.NewRatio(1, 2)}},
			Buyer:         map[string]int64{},
			MinLotAgeDays: map[string]int{"CN": 180, "MO": 180},
			Reserve:       &allocation.Reserve{Share: allocation.NewRatio(1, 10)},
		},
	}
	products := []string{"h200", "h20", "h100"}
	start, _ := time.Parse(time.DateOnly, p.Start)
	for i := 0; i < nLots; i++ {
		per := r.IntN(52)
		made := start.AddDate(0, 0, per*7-r.IntN(400))
		p.Lots = append(p.Lots, allocation.Lot{
			ID: fmt.Sprintf("L%06d", i), Product: products[r.IntN(3)],
			Quantity: int64(200 + r.IntN(800)), Period: per, Made: made.Format(time.DateOnly),
		})
	}
	regions := []string{"US", "US", "US", "EU", "JP", "KR", "SG", "CN", "CN", "MO"}
	classes := []domain.BuyerClass{domain.ClassPlatform, domain.ClassCloud, domain.ClassCloud, domain.ClassSME, domain.ClassResearch}
	if nBuyers <= 0 {
		nBuyers = max(20, nOrders/200)
	}
	type buyer struct {
		name, region string
		class        domain.BuyerClass
	}
	buyers := make([]buyer, nBuyers)
	for i := range buyers {
		buyers[i] = buyer{fmt.Sprintf("b%05d", i), regions[r.IntN(len(regions))], classes[r.IntN(len(classes))]}
		if buyers[i].region == "CN" || buyers[i].region == "MO" {
			switch r.IntN(3) {
			case 0:
				p.Caps.Buyer[buyers[i].name] = int64(1000 + r.IntN(20000))
			case 1:
				p.Caps.Licenses = append(p.Caps.Licenses, allocation.License{ID: "LIC-" + buyers[i].name, Buyer: buyers[i].name, Remaining: int64(2000 + r.IntN(30000))})
			default:
				p.Caps.Permits = append(p.Caps.Permits, allocation.Permit{ID: "PER-" + buyers[i].name, Buyer: buyers[i].name, Quota: int64(2000 + r.IntN(30000))})
			}
		}
	}
	for i := 0; i < nOrders; i++ {
		b := buyers[r.IntN(nBuyers)]
		p.Orders = append(p.Orders, allocation.Order{
			ID: fmt.Sprintf("O%07d", i), Buyer: b.name, Region: b.region, Class: b.class,
			Product: products[r.IntN(3)], Quantity: int64(1 + r.IntN(200)), Period: r.IntN(52),
			Weight: float64(1 + r.IntN(3)),
		})
	}
	return p
}

// BenchmarkRun is the target: 100,000 orders × 52 periods × 10,000
// lots. Run with -bench Run/100k -benchmem; docs/BENCHMARKS.md
// has the figures.
func BenchmarkRun(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000, 1_000_000} {
		name := fmt.Sprintf("%dk", n/1000)
		if n >= 1_000_000 {
			name = fmt.Sprintf("%dM", n/1_000_000)
		}
		b.Run(name, func(b *testing.B) {
			p := bigProblem(n, 10_000, 0, 1)
			b.ReportAllocs()
			b.ResetTimer()
			var res allocation.Result
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				var err error
				if res, err = allocation.Run(p); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(res.Metrics.Checks), "flowchecks")
		})
	}
}

// BenchmarkRunFixedBuyers grows the orders with the buyers fixed at 500:
// the engine's flow works on classes (buyer × product × region), so this
// isolates the growth in orders.
func BenchmarkRunFixedBuyers(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("%d", n), func(b *testing.B) {
			p := bigProblem(n, 10_000, 500, 1)
			b.ReportAllocs()
			b.ResetTimer()
			var res allocation.Result
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				var err error
				if res, err = allocation.Run(p); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(res.Metrics.Checks), "flowchecks")
		})
	}
}

// TestBigProblemValid keeps the benchmark's problem valid and its result
// correct at a size the tests can afford.
func TestBigProblemValid(t *testing.T) {
	p := bigProblem(2_000, 300, 0, 2)
	res, err := allocation.Run(p)
	if err != nil {
		t.Fatal(err)
	}
	if msg := checkRules(&p, res); msg != "" {
		t.Fatal(msg)
	}
	if res.Metrics.Allocated == 0 || res.Metrics.Tiers[2].Allocated == 0 {
		t.Errorf("the benchmark problem allocates nothing to some tier: %+v", res.Metrics.Tiers)
	}
}

// BenchmarkOutlook simulates 500 futures of the 100k-order run.
func BenchmarkOutlook(b *testing.B) {
	p := bigProblem(100_000, 10_000, 0, 1)
	res, err := allocation.Run(p)
	if err != nil {
		b.Fatal(err)
	}
	u := allocation.Uncertainty{Seed: 1, Runs: 500, YieldMin: 0.97, LabMin: 800, LabMax: 1200, RouteMin: 3, RouteMode: 5, RouteMax: 10}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := allocation.Outlook(p, res, u); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkDecode reads a program-shaped problem of 100,000 orders and
// 10,000 lots from its JSON, as `chipgate allocate` does before it solves:
// decoding and validation.
func BenchmarkDecode(b *testing.B) {
	raw, err := json.Marshal(bigProblem(100_000, 10_000, 0, 1))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := allocation.Decode(bytes.NewReader(raw)); err != nil {
			b.Fatal(err)
		}
	}
}
