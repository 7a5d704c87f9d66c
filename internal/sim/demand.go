package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
)

// buyer is a buyer as the simulation needs it: who it is, the vetting
// facts its orders carry, and its license and permit.
type buyer struct {
	Name    string `json:"name"`
	Country string `json:"country"`
	Region  string `json:"region"`
	Class   string `json:"class"`
	Sector  string `json:"sector,omitempty"`
	EndUse  string `json:"end_use"`
	Demand  int64  `json:"demand"`

	approval   policy.Approval
	screening  policy.Screening
	kyc        bool
	powerShort bool
	cloud      bool
	// license and permit are the units granted; -1 means none on file.
	license, permit int64
	// licenseDoc and permitDoc are the grants as the policy reads them,
	// built once (Remaining is set per decision).
	licenseDoc policy.License
	permitDoc  policy.ImportPermit
}

// order is one order as placed: a buyer's units in a week.
type order struct {
	id    string
	buyer int
	week  int
	qty   int64
}

// world is what every variant shares: the buyers, their orders and the
// lab's weekly throughput factors, drawn once from the seed so that
// variants differ only by the policy (common random numbers).
type world struct {
	buyers []buyer
	orders []order // by week, then id
	// labFactor[w] scales the lab's capacity in week w, in parts per
	// million.
	labFactor []domain.Rate
	// forecast[w] is the units the US and other-region buyers will order
	// in week w, by region: the vendor's forecast for plan: forecast.
	forecast []map[string]int64
}

// newWorld draws the buyers, the orders and the lab's weeks from the seed.
// regionOf names the region of a country under the base policy.
func newWorld(s *Scenario, seed uint64, regionOf func(string) string) world {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	var w world
	add := func(b buyer, orders int, from, to int, random bool) {
		bi := len(w.buyers)
		w.buyers = append(w.buyers, b)
		weeks := make([]int, orders)
		for i := range weeks {
			switch {
			case random:
				weeks[i] = from + rng.IntN(to-from+1)
			case orders > 1:
				weeks[i] = from + (to-from)*i/(orders-1)
			default:
				weeks[i] = from
			}
		}
		slices.Sort(weeks)
		q, rem := b.Demand/int64(orders), b.Demand%int64(orders)
		for i, wk := range weeks {
			qty := q
			if int64(i) < rem {
				qty++
			}
			w.orders = append(w.orders, order{buyer: bi, week: wk, qty: qty})
		}
	}
	last := s.Weeks - 1
	for _, bs := range s.Buyers {
		to := last
		if bs.ToWeek != nil {
			to = *bs.ToWeek
		}
		b := buyer{
			Name: bs.Name, Country: bs.Country, Region: regionOf(bs.Country), Class: bs.Class, Sector: bs.Sector,
			EndUse: bs.EndUse, Demand: bs.Units, approval: policy.ApprovalApproved, screening: policy.Screening(bs.Screening),
			kyc: true, powerShort: bs.PowerShort, cloud: bs.Cloud, license: bs.Units, permit: bs.Units,
		}
		if bs.Screening == "pending" {
			b.screening = policy.ScreeningPending
		}
		if bs.Approved != nil && !*bs.Approved {
			b.approval = policy.ApprovalPending
		}
		if bs.KYC != nil {
			b.kyc = *bs.KYC
		}
		if bs.LicenseUnits != nil {
			b.license = noneIfZero(*bs.LicenseUnits)
		}
		if bs.PermitUnits != nil {
			b.permit = noneIfZero(*bs.PermitUnits)
		}
		add(b, bs.Orders, bs.FromWeek, to, false)
	}
	for _, g := range s.Groups {
		to := last
		if g.ToWeek != nil {
			to = *g.ToWeek
		}
		share := func(s string) domain.Rate { r, _ := domain.ParseRate(s); return r }
		approved, potential, noKYC, short, licensed := share(g.Approved), share(g.PotentialMatch), share(g.NoKYC), share(g.PowerShort), share(g.Licensed)
		draw := func(r domain.Rate) bool { return domain.Rate(rng.IntN(domain.RateScale)) < r }
		for i := 1; i <= g.Count; i++ {
			units := g.Units.Min + rng.Int64N(g.Units.Max-g.Units.Min+1)
			n := int(g.Orders.Min + rng.Int64N(g.Orders.Max-g.Orders.Min+1))
			lic := units * int64(licensed) / domain.RateScale
			b := buyer{
				Name: fmt.Sprintf("%s-%03d", g.Prefix, i), Country: g.Country, Region: regionOf(g.Country), Class: g.Class,
				Sector: g.Sector, EndUse: g.EndUse, Demand: units, approval: policy.ApprovalApproved,
				screening: policy.ScreeningClear, kyc: true, cloud: g.Cloud, license: noneIfZero(lic), permit: noneIfZero(lic),
			}
			if !draw(approved) {
				b.approval = policy.ApprovalPending
			}
			if draw(potential) {
				b.screening = policy.ScreeningPotentialMatch
			}
			b.kyc = !draw(noKYC)
			b.powerShort = draw(short)
			add(b, n, g.FromWeek, to, true)
		}
	}
	for i := range w.buyers {
		b := &w.buyers[i]
		b.licenseDoc = policy.License{ID: "L-" + b.Name, Status: policy.GrantActive, Products: []string{s.Product}, Destinations: []string{b.Country}}
		b.permitDoc = policy.ImportPermit{ID: "P-" + b.Name, Status: policy.GrantActive}
	}
	slices.SortStableFunc(w.orders, func(a, b order) int { return a.week - b.week })
	for i := range w.orders {
		w.orders[i].id = fmt.Sprintf("o%06d", i+1)
	}
	w.forecast = make([]map[string]int64, s.Weeks)
	for _, o := range w.orders {
		if r := w.buyers[o.buyer].Region; r == "US" || r == "other" {
			if w.forecast[o.week] == nil {
				w.forecast[o.week] = map[string]int64{}
			}
			w.forecast[o.week][r] += o.qty
		}
	}
	jitter := domain.Rate(0)
	if s.Lab.CapacityJitter != "" {
		jitter, _ = domain.ParseRate(s.Lab.CapacityJitter)
	}
	w.labFactor = make([]domain.Rate, s.Weeks)
	for i := range w.labFactor {
		w.labFactor[i] = domain.RateScale
		if jitter > 0 {
			w.labFactor[i] -= domain.Rate(rng.Int64N(int64(jitter) + 1))
		}
	}
	return w
}

func noneIfZero(n int64) int64 {
	if n == 0 {
		return -1
	}
	return n
}
