package allocation

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
)

// Uncertainty is what can go wrong between an allocation and a delivery,
// for the supply outlook's Monte Carlo simulation. Zero values mean "no
// uncertainty" for that source.
type Uncertainty struct {
	// Seed makes the simulation reproducible: same inputs, same seed, same
	// outlook.
	Seed uint64 `json:"seed"`
	// Runs is the number of simulated futures (default 1000).
	Runs int `json:"runs,omitempty"`
	// YieldMin is the worst production yield: each run draws every lot's
	// yield uniformly in [YieldMin, 1]; the units lost are made again and
	// arrive ReworkDays later (default one period). 0 means yield 1.
	YieldMin   float64 `json:"yield_min,omitempty"`
	ReworkDays float64 `json:"rework_days,omitempty"`
	// LabMin and LabMax bound the US test lab's throughput in units per
	// day, drawn uniformly per run. Units for LabRegions queue at the lab
	// in the order of their planned period. 0 means no lab delay.
	LabMin float64 `json:"lab_min,omitempty"`
	LabMax float64 `json:"lab_max,omitempty"`
	// LabRegions are the destinations whose units the lab tests; by
	// default the capped regions of caps.region_ratio.
	LabRegions []string `json:"lab_regions,omitempty"`
	// RouteMin, RouteMode and RouteMax are the transit days from the
	// planned period's start to the buyer, a triangular distribution drawn
	// per shipment.
	RouteMin  float64 `json:"route_min,omitempty"`
	RouteMode float64 `json:"route_mode,omitempty"`
	RouteMax  float64 `json:"route_max,omitempty"`
}

// OrderOutlook is what an order's buyer is promised: the units allocated,
// the date of the last planned period, and when the last unit arrives at
// the median (P50) and in nine futures out of ten (P90).
type OrderOutlook struct {
	Order    string `json:"order"`
	Buyer    string `json:"buyer"`
	Quantity int64  `json:"quantity"`
	Promised int64  `json:"promised"`
	// Schedule lists the planned units per period date.
	Schedule []Delivery `json:"schedule"`
	// PromisedBy is the first day of the last planned period; empty when
	// nothing is promised.
	PromisedBy string `json:"promised_by,omitempty"`
	P50        string `json:"p50,omitempty"`
	P90        string `json:"p90,omitempty"`
}

// Delivery is Quantity units planned for the period starting Date.
type Delivery struct {
	Date     string `json:"date"`
	Quantity int64  `json:"quantity"`
}

// BuyerOutlook sums a buyer's orders: units asked and promised, and the
// P50/P90 dates by which all its promised units arrive.
type BuyerOutlook struct {
	Buyer      string `json:"buyer"`
	Quantity   int64  `json:"quantity"`
	Promised   int64  `json:"promised"`
	PromisedBy string `json:"promised_by,omitempty"`
	P50        string `json:"p50,omitempty"`
	P90        string `json:"p90,omitempty"`
}

// SupplyOutlook is the outlook of a run, per order and per buyer.
type SupplyOutlook struct {
	Runs   int            `json:"runs"`
	Seed   uint64         `json:"seed"`
	Orders []OrderOutlook `json:"orders"`
	Buyers []BuyerOutlook `json:"buyers"`
}

// Validate returns EINVALID naming the first bad field.
func (u *Uncertainty) Validate() error {
	var pr domain.Problems
	if u.Runs < 0 || u.Runs > 100_000 {
		pr.Add("runs", "must be between 1 and 100000 (0 means 1000)")
	}
	if math.IsNaN(u.YieldMin) || u.YieldMin < 0 || u.YieldMin > 1 {
		pr.Add("yield_min", "must be between 0 and 1")
	}
	if math.IsNaN(u.ReworkDays) || u.ReworkDays < 0 || u.ReworkDays > maxAgeDays {
		pr.Add("rework_days", "must be between 0 and %d", maxAgeDays)
	}
	if math.IsNaN(u.LabMin) || math.IsNaN(u.LabMax) || u.LabMin < 0 || u.LabMax < u.LabMin {
		pr.Add("lab_min", "must satisfy 0 ≤ lab_min ≤ lab_max")
	}
	if math.IsNaN(u.RouteMin+u.RouteMode+u.RouteMax) || u.RouteMin < 0 || u.RouteMode < u.RouteMin || u.RouteMax < u.RouteMode || u.RouteMax > maxAgeDays {
		pr.Add("route_mode", "must satisfy 0 ≤ route_min ≤ route_mode ≤ route_max ≤ %d", maxAgeDays)
	}
	return pr.Err()
}

// Outlook turns a run's result into the supply outlook: per order and per
// buyer the promised units and dates, and P50/P90 delivery dates from a
// seeded Monte Carlo simulation of yield, lab throughput and transit. It
// reads no clock and no global random source: the same inputs give the
// same outlook. Returns EINVALID for a bad problem or uncertainty.
func Outlook(p Problem, res Result, u Uncertainty) (SupplyOutlook, error) {
	m, err := compile(&p)
	if err != nil {
		return SupplyOutlook{}, err
	}
	if err := u.Validate(); err != nil {
		return SupplyOutlook{}, err
	}
	runs := u.Runs
	if runs == 0 {
		runs = 1000
	}
	rework := u.ReworkDays
	if rework == 0 {
		rework = float64(p.PeriodDays)
	}
	lab := map[string]bool{}
	for _, r := range u.LabRegions {
		lab[r] = true
	}
	if len(u.LabRegions) == 0 {
		for _, rc := range m.ratios {
			for r := range rc.regions {
				lab[r] = true
			}
		}
	}
	orderIdx := make(map[string]int, len(p.Orders))
	for i, o := range p.Orders {
		orderIdx[o.ID] = i
	}
	lotIdx := make(map[string]int, len(p.Lots))
	for i, l := range p.Lots {
		lotIdx[l.ID] = i
	}
	// Batches in planned order: period, then as listed.
	type batch struct {
		order, lot int
		day        float64 // planned day, from start
		qty        int64
		lab        bool
	}
	bs := make([]batch, 0, len(res.Allocations))
	out := SupplyOutlook{Runs: runs, Seed: u.Seed, Orders: make([]OrderOutlook, len(p.Orders))}
	for i, o := range p.Orders {
		out.Orders[i] = OrderOutlook{Order: o.ID, Buyer: o.Buyer, Quantity: o.Quantity, Schedule: []Delivery{}}
	}
	for i, a := range res.Allocations {
		oi, ok := orderIdx[a.Order]
		li, ok2 := lotIdx[a.Lot]
		if !ok || !ok2 || a.Period < 0 || a.Period >= p.Periods || a.Quantity <= 0 {
			return SupplyOutlook{}, domain.Invalid(fmt.Sprintf("allocations[%d]", i), "does not belong to this problem")
		}
		bs = append(bs, batch{oi, li, float64(a.Period * p.PeriodDays), a.Quantity, lab[p.Orders[oi].Region]})
		oo := &out.Orders[oi]
		oo.Promised += a.Quantity
		d := m.periodStart(a.Period).Format(time.DateOnly)
		if n := len(oo.Schedule); n > 0 && oo.Schedule[n-1].Date == d {
			oo.Schedule[n-1].Quantity += a.Quantity
		} else {
			oo.Schedule = append(oo.Schedule, Delivery{Date: d, Quantity: a.Quantity})
		}
		if d > oo.PromisedBy {
			oo.PromisedBy = d
		}
	}
	sort.SliceStable(bs, func(a, b int) bool { return bs[a].day < bs[b].day })
	// Simulate: per run, every order's and buyer's last arrival day. The
	// samples are kept as float32 days (exact to minutes over a century) in
	// one block per order and buyer with units, to keep a large run small.
	buyers := map[string]int{}
	var buyerNames []string
	for _, o := range p.Orders {
		if _, ok := buyers[o.Buyer]; !ok {
			buyers[o.Buyer] = len(buyerNames)
			buyerNames = append(buyerNames, o.Buyer)
		}
	}
	sort.Strings(buyerNames)
	for i, b := range buyerNames {
		buyers[b] = i
	}
	orderBuyer := make([]int, len(p.Orders))
	for i, o := range p.Orders {
		orderBuyer[i] = buyers[o.Buyer]
	}
	slotO := make([]int, len(p.Orders)) // order → sample block, -1 without units
	slotB := make([]int, len(buyerNames))
	for i := range slotO {
		slotO[i] = -1
	}
	for i := range slotB {
		slotB[i] = -1
	}
	var nO, nB int
	for _, b := range bs {
		if slotO[b.order] < 0 {
			slotO[b.order] = nO
			nO++
		}
		if bi := orderBuyer[b.order]; slotB[bi] < 0 {
			slotB[bi] = nB
			nB++
		}
	}
	orderDays := make([]float32, nO*runs)
	buyerDays := make([]float32, nB*runs)
	rng := rand.New(rand.NewPCG(u.Seed, 0x9e3779b97f4a7c15))
	lastO := make([]float64, nO)
	lastB := make([]float64, nB)
	lotLeft := make([]int64, len(p.Lots))
	for run := 0; run < runs; run++ {
		for l := range lotLeft {
			y := 1.0
			if u.YieldMin > 0 && u.YieldMin < 1 {
				y = u.YieldMin + (1-u.YieldMin)*rng.Float64()
			}
			// Good units of the lot: the first ones planned arrive on time.
			lotLeft[l] = int64(math.Floor(float64(p.Lots[l].Quantity) * y))
		}
		rate := 0.0
		if u.LabMax > 0 {
			rate = u.LabMin + (u.LabMax-u.LabMin)*rng.Float64()
		}
		clear(lastO)
		clear(lastB)
		labFree := 0.0
		for _, b := range bs {
			ready := b.day
			good := min(b.qty, lotLeft[b.lot])
			lotLeft[b.lot] -= good
			if good < b.qty {
				ready += rework // some units of the batch are made again
			}
			if b.lab && rate > 0 {
				start := max(ready, labFree)
				labFree = start + float64(b.qty)/rate
				ready = labFree
			}
			arrive := ready + triangular(rng, u.RouteMin, u.RouteMode, u.RouteMax)
			so, sb := slotO[b.order], slotB[orderBuyer[b.order]]
			lastO[so] = max(lastO[so], arrive)
			lastB[sb] = max(lastB[sb], arrive)
		}
		for i, d := range lastO {
			orderDays[i*runs+run] = float32(d)
		}
		for i, d := range lastB {
			buyerDays[i*runs+run] = float32(d)
		}
	}
	pct := func(samples []float32, i int) (p50, p90 float64) {
		s := samples[i*runs : (i+1)*runs]
		k50, k90 := rank(len(s), 0.5), rank(len(s), 0.9)
		selectKth(s, k50)
		selectKth(s[k50:], k90-k50) // everything right of k50 is ≥ it
		return float64(s[k50]), float64(s[k90])
	}
	day := func(d float64) string {
		return m.start.AddDate(0, 0, int(math.Ceil(d))).Format(time.DateOnly)
	}
	for i := range out.Orders {
		if so := slotO[i]; so >= 0 {
			p50, p90 := pct(orderDays, so)
			out.Orders[i].P50, out.Orders[i].P90 = day(p50), day(p90)
		}
	}
	out.Buyers = make([]BuyerOutlook, len(buyerNames))
	for i, b := range buyerNames {
		out.Buyers[i].Buyer = b
	}
	for _, oo := range out.Orders {
		bo := &out.Buyers[buyers[oo.Buyer]]
		bo.Quantity += oo.Quantity
		bo.Promised += oo.Promised
		if oo.PromisedBy > bo.PromisedBy {
			bo.PromisedBy = oo.PromisedBy
		}
	}
	for i := range out.Buyers {
		if sb := slotB[i]; sb >= 0 {
			p50, p90 := pct(buyerDays, sb)
			out.Buyers[i].P50, out.Buyers[i].P90 = day(p50), day(p90)
		}
	}
	return out, nil
}

// rank is the index of the q-quantile among n sorted values (nearest rank).
func rank(n int, q float64) int {
	i := int(math.Ceil(q*float64(n))) - 1
	return max(0, min(i, n-1))
}

// selectKth reorders s so that s[k] is the value a sort would put there,
// with nothing smaller after it and nothing larger before it (quickselect,
// linear on average; a sort per order was the outlook's main cost).
func selectKth(s []float32, k int) {
	lo, hi := 0, len(s)-1
	for lo < hi {
		// Median of three as the pivot, for sorted and reversed inputs.
		mid := lo + (hi-lo)/2
		if s[mid] < s[lo] {
			s[mid], s[lo] = s[lo], s[mid]
		}
		if s[hi] < s[lo] {
			s[hi], s[lo] = s[lo], s[hi]
		}
		if s[hi] < s[mid] {
			s[hi], s[mid] = s[mid], s[hi]
		}
		pivot := s[mid]
		i, j := lo, hi
		for i <= j {
			for s[i] < pivot {
				i++
			}
			for s[j] > pivot {
				j--
			}
			if i <= j {
				s[i], s[j] = s[j], s[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return
		}
	}
}

// triangular draws from the triangular distribution on [a, b] with mode c
// by inverting its distribution function.
func triangular(r *rand.Rand, a, c, b float64) float64 {
	if b <= a {
		return a
	}
	u := r.Float64()
	f := (c - a) / (b - a)
	if u < f {
		return a + math.Sqrt(u*(b-a)*(c-a))
	}
	return b - math.Sqrt((1-u)*(b-a)*(b-c))
}

// ForBuyer returns the part of the outlook a buyer may see: its own orders
// and its own summary, nothing of other buyers.
func (o SupplyOutlook) ForBuyer(buyer string) SupplyOutlook {
	out := SupplyOutlook{Runs: o.Runs, Seed: o.Seed, Orders: []OrderOutlook{}, Buyers: []BuyerOutlook{}}
	for _, oo := range o.Orders {
		if oo.Buyer == buyer {
			out.Orders = append(out.Orders, oo)
		}
	}
	for _, b := range o.Buyers {
		if b.Buyer == buyer {
			out.Buyers = append(out.Buyers, b)
		}
	}
	return out
}
