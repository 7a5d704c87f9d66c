package allocation_test

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"time"

	"github.com/chipgate/chipgate/internal/allocation"
	"github.com/chipgate/chipgate/internal/domain"
)

// genBuyer is a buyer of a random problem: each orders for one region, so
// that caps on it are valid.
type genBuyer struct {
	name   string
	region string
	class  domain.BuyerClass
}

// randomProblem builds a small random problem that passes validation: the
// shape of the real program (US first, CN and MO last under a ratio cap and
// a minimum lot age) with random sizes, dates and caps.
func randomProblem(r *rand.Rand) allocation.Problem { return randomSized(r, 6, 9, 5) }

// randomSized is randomProblem with up to maxLots lots, maxOrders orders
// and 1+maxBuyers buyers.
func randomSized(r *rand.Rand, maxLots, maxOrders, maxBuyers int) allocation.Problem {
	p := allocation.Problem{
		Periods:    1 + r.IntN(5),
		Start:      "2026-01-05",
		PeriodDays: 7 * (1 + r.IntN(4)),
		Caps:       allocation.Caps{Buyer: map[string]int64{}, MinLotAgeDays: map[string]int{}},
	}
	switch r.IntN(5) {
	case 0:
		p.Tiers = [][]string{{"US"}, {"EU", "JP"}, {"CN", "MO"}}
	case 1:
		p.Tiers = [][]string{{"US", "EU"}, {"CN"}, {"MO", "JP"}}
	case 2:
		p.Tiers = [][]string{{"US"}, {"*"}, {"CN", "MO"}} // EU and JP by the wildcard
	case 3:
		p.Tiers = [][]string{{"US"}, {"CN"}, {"MO"}, {"EU", "JP"}}
	default:
		p.Tiers = [][]string{{"US"}, {"EU", "JP", "CN", "MO"}}
	}
	products := []string{"h200", "h20"}[:1+r.IntN(2)]
	if r.IntN(2) == 0 {
		p.Products = products
	}
	start, _ := time.Parse(time.DateOnly, p.Start)
	nLots := 1 + r.IntN(maxLots)
	for i := 0; i < nLots; i++ {
		per := r.IntN(p.Periods)
		// Made up to 300 days before the period starts, never after it ends.
		made := start.AddDate(0, 0, per*p.PeriodDays-r.IntN(300))
		p.Lots = append(p.Lots, allocation.Lot{
			ID: fmt.Sprintf("L%d", i), Product: products[r.IntN(len(products))],
			Quantity: int64(1 + r.IntN(40)), Period: per, Made: made.Format(time.DateOnly),
		})
	}
	if p.Products == nil {
		// Without a product list the known products are those of the lots.
		seen := map[string]bool{}
		products = nil
		for _, l := range p.Lots {
			if !seen[l.Product] {
				seen[l.Product] = true
				products = append(products, l.Product)
			}
		}
	}
	classes := []domain.BuyerClass{domain.ClassPlatform, domain.ClassCloud, domain.ClassSME, domain.ClassResearch}
	regions := []string{"US", "EU", "JP", "CN", "MO"}
	var buyers []genBuyer
	for i := 0; i < 2+r.IntN(maxBuyers); i++ {
		buyers = append(buyers, genBuyer{fmt.Sprintf("b%d", i), regions[r.IntN(len(regions))], classes[r.IntN(len(classes))]})
	}
	nOrders := 1 + r.IntN(maxOrders)
	for i := 0; i < nOrders; i++ {
		b := buyers[r.IntN(len(buyers))]
		w := 0.0
		if r.IntN(2) == 0 {
			w = float64(1 + r.IntN(4))
		}
		p.Orders = append(p.Orders, allocation.Order{
			ID: fmt.Sprintf("o%d", i), Buyer: b.name, Region: b.region, Class: b.class,
			Product: products[r.IntN(len(products))], Quantity: int64(1 + r.IntN(30)),
			Period: r.IntN(p.Periods), Weight: w,
		})
	}
	// Caps.
	if r.IntN(3) > 0 {
		maxes := []string{"0", "0.3", "0.5", "1", "1.5"}
		mx, _ := allocation.ParseRatio(maxes[r.IntN(len(maxes))])
		rc := allocation.RatioCap{Max: mx}
		// The capped group is in the last tier; the base is the first tier.
		last := p.Tiers[len(p.Tiers)-1]
		rc.Region = allocation.Regions{last[r.IntN(len(last))]}
		if r.IntN(2) == 0 {
			rc.Region = append(allocation.Regions{}, last...)
		}
		rc.Of = append(allocation.Regions{}, p.Tiers[0]...)
		if len(p.Tiers) == 4 {
			// A chain: CN ≤ max × US, then MO ≤ max' × CN.
			rc.Region = allocation.Regions{"CN"}
			mx2, _ := allocation.ParseRatio(maxes[r.IntN(len(maxes))])
			p.Caps.RegionRatio = append(p.Caps.RegionRatio, allocation.RatioCap{Region: allocation.Regions{"MO"}, Of: allocation.Regions{"CN"}, Max: mx2})
		}
		if r.IntN(3) == 0 {
			// Shipments before the horizon, compliant with the cap.
			rc.PriorBase = int64(r.IntN(50))
			f, _ := new(big.Rat).SetString(rc.Max.String())
			lim := new(big.Int).Quo(new(big.Int).Mul(f.Num(), big.NewInt(rc.PriorBase)), f.Denom()).Int64()
			rc.PriorUnits = r.Int64N(lim + 1)
		}
		p.Caps.RegionRatio = append(p.Caps.RegionRatio, rc)
		if len(rc.Region) > 1 && r.IntN(2) == 0 {
			// A nested group: one region of the group under a tighter cap.
			mx3, _ := allocation.ParseRatio(maxes[r.IntN(len(maxes))])
			p.Caps.RegionRatio = append(p.Caps.RegionRatio, allocation.RatioCap{Region: allocation.Regions{rc.Region[0]}, Of: rc.Of, Max: mx3})
		}
	}
	for _, b := range buyers {
		switch r.IntN(6) {
		case 0:
			p.Caps.Buyer[b.name] = int64(r.IntN(25))
		case 1:
			p.Caps.Licenses = append(p.Caps.Licenses, allocation.License{
				ID: "LIC-" + b.name, Buyer: b.name, Remaining: int64(r.IntN(30)),
			})
		case 2:
			p.Caps.Permits = append(p.Caps.Permits, allocation.Permit{
				ID: "PER-" + b.name, Buyer: b.name, Product: products[r.IntN(len(products))], Quota: int64(r.IntN(30)),
			})
		case 3:
			// Everything at once: a buyer cap, product licenses and a
			// buyer-wide permit.
			p.Caps.Buyer[b.name] = int64(r.IntN(40))
			for j, pr := range products {
				p.Caps.Licenses = append(p.Caps.Licenses, allocation.License{
					ID: fmt.Sprintf("LIC-%s-%d", b.name, j), Buyer: b.name, Product: pr, Remaining: int64(r.IntN(25)),
				})
			}
			p.Caps.Permits = append(p.Caps.Permits, allocation.Permit{ID: "PER-" + b.name, Buyer: b.name, Quota: int64(r.IntN(30))})
		}
	}
	if r.IntN(2) == 0 {
		shares := []string{"0.1", "0.25", "0.5"}
		s, _ := allocation.ParseRatio(shares[r.IntN(len(shares))])
		p.Caps.Reserve = &allocation.Reserve{Share: s}
	}
	if r.IntN(3) > 0 {
		p.Caps.MinLotAgeDays["CN"] = 30 * r.IntN(8)
		p.Caps.MinLotAgeDays["MO"] = 30 * r.IntN(8)
	}
	if r.IntN(4) == 0 {
		p.Caps.MinLotAgeDays["EU"] = 30 * r.IntN(3)
	}
	return p
}
