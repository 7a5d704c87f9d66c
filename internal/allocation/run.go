package allocation

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
)

// Result is an allocation run's output; its JSON form is the CLI's output.
type Result struct {
	// Allocations lists units of a lot given to an order in a period,
	// ordered by period, then order, then lot as they appear in the input.
	Allocations []Allocation `json:"allocations"`
	// Unmet lists, per order not served in full, the units it did not get
	// and why.
	Unmet   []Unmet `json:"unmet"`
	Metrics Metrics `json:"metrics"`
}

// Allocation is Quantity units of Lot for Order, delivered in Period.
type Allocation struct {
	Order    string `json:"order"`
	Lot      string `json:"lot"`
	Period   int    `json:"period"`
	Date     string `json:"date"` // first day of the period
	Quantity int64  `json:"quantity"`
}

// Unmet reasons. A cap reason is "cap:" followed by the cap's name, such as
// "cap:buyer:acme", "cap:license:L-7", "cap:permit:P-2" or
// "cap:region_ratio[0]".
const (
	// ReasonTier: the lots the order could use went to a tier served before
	// its own.
	ReasonTier = "tier"
	// ReasonSupply: not enough usable lots within the horizon, after the
	// order's fair share inside its tier.
	ReasonSupply = "supply"
	// ReasonLotAge: the product has lots, but none old enough for the
	// order's region within the horizon.
	ReasonLotAge = "lot_age"
)

// Unmet is the part of an order that was not allocated, with its reason.
type Unmet struct {
	Order    string `json:"order"`
	Quantity int64  `json:"quantity"`
	Reason   string `json:"reason"`
}

// Metrics summarize a run: totals per tier, fairness and concentration.
type Metrics struct {
	Supply    int64         `json:"supply"`    // units in all lots
	Usable    int64         `json:"usable"`    // units usable by some region within the horizon
	Demand    int64         `json:"demand"`    // units ordered
	Allocated int64         `json:"allocated"` // units allocated
	Tiers     []TierMetrics `json:"tiers"`
	// HHI is the Herfindahl–Hirschman index (0–10,000) of units among the
	// buyers of HHIRegions.
	HHI        float64  `json:"hhi"`
	HHIRegions []string `json:"hhi_regions"`
	// ReserveShare is the share of all allocated units that went to the
	// reserve classes (sme and research by default).
	ReserveShare float64 `json:"reserve_share"`
	// RegionRatio reports each ratio cap over the horizon.
	RegionRatio []RatioMetrics `json:"region_ratio,omitempty"`
	// Checks is the number of flow feasibility checks the run made.
	Checks int `json:"checks"`
}

// TierMetrics describe one tier.
type TierMetrics struct {
	Regions   []string `json:"regions"`
	Demand    int64    `json:"demand"`
	Allocated int64    `json:"allocated"`
	// Jain is Jain's fairness index of the orders' served fractions
	// (allocated/quantity): 1 when all are served alike, 1/n at worst.
	Jain float64 `json:"jain"`
	// Reserved is the units to the reserve classes in this tier.
	Reserved int64 `json:"reserved"`
}

// RatioMetrics report one ratio cap over the horizon: the capped units, the
// base units and the limit, with the units shipped before the horizon.
type RatioMetrics struct {
	Region []string `json:"region"`
	Of     []string `json:"of"`
	Max    Ratio    `json:"max"`
	Units  int64    `json:"units"`
	Base   int64    `json:"base"`
	// Limit is ⌊max × (prior base + base)⌋ − prior units, at least 0.
	Limit      int64 `json:"limit"`
	PriorUnits int64 `json:"prior_units,omitempty"`
	PriorBase  int64 `json:"prior_base,omitempty"`
}

// Run validates the problem and allocates. The result depends on nothing
// but p: the same problem gives the same result, byte for byte. Returns
// EINVALID naming the field for a bad problem.
func Run(p Problem) (res Result, err error) {
	// The engine panics only when one of its own invariants breaks (a
	// bug, which the property tests hunt); a caller gets EINTERNAL rather
	// than a crashed server.
	defer func() {
		if r := recover(); r != nil {
			res, err = Result{}, &domain.Error{Code: domain.EINTERNAL, Message: "allocation failed", Err: fmt.Errorf("%v", r)}
		}
	}()
	m, err := compile(&p)
	if err != nil {
		return Result{}, err
	}
	e := newEngine(m)
	e.totals()
	e.fair()
	n := len(p.Orders)
	got := make([]int64, n)
	for ci := range m.classes {
		e.splitClass(ci, e.x[ci], got)
	}
	allocs, tierUse := e.assignLots(got)
	allocs = e.applyRatioTiming(allocs)
	// Records equal in period, order and lot are merged below, so an
	// unstable sort is deterministic here.
	slices.SortFunc(allocs, func(x, y alloc) int {
		if d := cmp.Compare(x.period, y.period); d != 0 {
			return d
		}
		if d := cmp.Compare(x.order, y.order); d != 0 {
			return d
		}
		return cmp.Compare(x.lot, y.lot)
	})
	res = Result{Allocations: make([]Allocation, 0, len(allocs)), Unmet: []Unmet{}}
	for _, a := range allocs {
		if a.qty == 0 {
			continue
		}
		// Merge units of the same order, lot and period split by timing.
		if l := len(res.Allocations); l > 0 {
			last := &res.Allocations[l-1]
			if last.Order == p.Orders[a.order].ID && last.Lot == p.Lots[a.lot].ID && last.Period == a.period {
				last.Quantity += a.qty
				continue
			}
		}
		res.Allocations = append(res.Allocations, Allocation{
			Order: p.Orders[a.order].ID, Lot: p.Lots[a.lot].ID, Period: a.period,
			Date: m.periodStart(a.period).Format(time.DateOnly), Quantity: a.qty,
		})
	}
	res.Unmet = e.reasons(got, tierUse)
	res.Metrics = e.metrics(got)
	return res, nil
}

func (m *model) periodStart(t int) time.Time { return m.start.AddDate(0, 0, t*m.p.PeriodDays) }

// alloc is an allocation by index.
type alloc struct {
	order, lot, period int
	qty                int64
}

// assignLots gives each order's units from actual lots. Per product,
// orders go by tier, then requested period, then input order, so that a
// lower tier never delays a higher one (the exporter certifies "no delay
// to US orders"). Each order takes, if it can, the latest lot usable by its
// requested period (best fit: it is served on time and the earlier lots
// stay for orders that want them earlier), else the lot usable soonest;
// among levels the youngest, keeping older lots for regions that need
// them. An order may take a lot older than its region needs only while the
// lots left still cover, for every age level, the units still to place at
// that level or above (Hall's condition on the chain of levels); the flow
// guaranteed these units fit, and the check keeps them fitting, so no
// order runs short. tierUse[p][L][k] counts units of lots of level ≥ L
// given to tier k, for the unmet reasons.
func (e *engine) assignLots(got []int64) ([]alloc, [][][]int64) {
	m := e.m
	p := m.p
	nl := e.nl
	ordersOf := make([][]int, len(m.prods))
	for o, g := range got {
		if g > 0 {
			pi := m.classes[m.orderClass[o]].prod
			ordersOf[pi] = append(ordersOf[pi], o)
		}
	}
	lotsOf := make([][]int, len(m.prods))
	for l := range p.Lots {
		if m.lotLevel[l] >= 0 {
			lotsOf[m.lotProd[l]] = append(lotsOf[m.lotProd[l]], l)
		}
	}
	left := make([]int64, len(p.Lots))
	for l, lot := range p.Lots {
		left[l] = lot.Quantity
	}
	tierUse := make([][][]int64, len(m.prods))
	var out []alloc
	for pi := range m.prods {
		tierUse[pi] = make([][]int64, nl)
		for L := range tierUse[pi] {
			tierUse[pi][L] = make([]int64, m.nTiers)
		}
		orders := ordersOf[pi]
		if len(orders) == 0 {
			continue
		}
		// slack[L]: units of lots of level ≥ L left, less units still to
		// place for orders of level ≥ L.
		slack := make([]int64, nl)
		for _, l := range lotsOf[pi] {
			for L := 0; L <= m.lotLevel[l]; L++ {
				slack[L] += left[l]
			}
		}
		for _, o := range orders {
			for L := 0; L <= m.classes[m.orderClass[o]].level; L++ {
				slack[L] -= got[o]
			}
		}
		// queue[ℓ][j]: lots of level j in the order they become usable for
		// level ℓ, with two disjoint-set forests that skip used-up lots to
		// the left and to the right.
		queue := make([][]lotQueue, nl)
		for lv := 0; lv < nl; lv++ {
			queue[lv] = make([]lotQueue, nl)
		}
		for _, l := range lotsOf[pi] {
			for lv := 0; lv <= m.lotLevel[l]; lv++ {
				q := &queue[lv][m.lotLevel[l]]
				q.lots = append(q.lots, l)
			}
		}
		for lv := 0; lv < nl; lv++ {
			for j := lv; j < nl; j++ {
				q := &queue[lv][j]
				slices.SortFunc(q.lots, func(a, b int) int {
					if d := cmp.Compare(m.lotElig[a][lv], m.lotElig[b][lv]); d != 0 {
						return d
					}
					return cmp.Compare(a, b)
				})
				q.init()
			}
		}
		slices.SortFunc(orders, func(x, y int) int {
			if d := cmp.Compare(m.orderTier[x], m.orderTier[y]); d != 0 {
				return d
			}
			if d := cmp.Compare(p.Orders[x].Period, p.Orders[y].Period); d != 0 {
				return d
			}
			return cmp.Compare(x, y)
		})
		for _, o := range orders {
			lv := m.classes[m.orderClass[o]].level
			s := int32(p.Orders[o].Period)
			need := got[o]
			for need > 0 {
				onTime, early := -1, -1
				var onTimeJ, earlyJ int
				var allow, onTimeAllow, earlyAllow int64 = math.MaxInt64, 0, 0
				for j := lv; j < nl; j++ {
					if j > lv {
						allow = min(allow, slack[j])
					}
					if allow <= 0 {
						break
					}
					q := &queue[lv][j]
					pos := sort.Search(len(q.lots), func(i int) bool { return m.lotElig[q.lots[i]][lv] > s }) - 1
					if c := q.findLeft(pos, left); c >= 0 {
						onTime, onTimeJ, onTimeAllow = q.lots[c], j, allow
						break // the youngest level with a lot on time
					}
					if c := q.findRight(pos+1, left); c < len(q.lots) {
						if l := q.lots[c]; early < 0 || m.lotElig[l][lv] < m.lotElig[early][lv] {
							early, earlyJ, earlyAllow = l, j, allow
						}
					}
				}
				best, bestJ, bestAllow := onTime, onTimeJ, onTimeAllow
				if best < 0 {
					best, bestJ, bestAllow = early, earlyJ, earlyAllow
				}
				if best < 0 {
					panic("allocation: lots do not cover the flow's units") // Hall's condition holds
				}
				take := min(need, left[best], bestAllow)
				left[best] -= take
				need -= take
				for L := lv + 1; L <= bestJ; L++ {
					slack[L] -= take
				}
				per := max(int(m.lotElig[best][lv]), p.Orders[o].Period)
				out = append(out, alloc{order: o, lot: best, period: per, qty: take})
				for L := 0; L <= bestJ; L++ {
					tierUse[pi][L][m.orderTier[o]] += take
				}
			}
		}
	}
	return out, tierUse
}

// applyRatioTiming delays units to capped regions so that each ratio cap
// holds cumulatively at every period, not only over the horizon. Units to
// the base regions are never delayed, so delaying capped units can only
// help; over the horizon the caps hold by construction, so all delayed
// units still fit by the last period. Caps are applied until none changes
// anything, since a capped group can be the base of another cap. Delayed
// units keep their order: earlier planned periods first, then higher
// tiers, then input order.
func (e *engine) applyRatioTiming(allocs []alloc) []alloc {
	m := e.m
	P := m.p.Periods
	for round := 0; round < 2*len(m.ratios)+2; round++ {
		changed := false
		for _, rc := range m.ratios {
			base := make([]int64, P)
			var capped []alloc
			var rest []alloc
			for _, a := range allocs {
				r := m.p.Orders[a.order].Region
				if rc.of[r] {
					base[a.period] += a.qty
				}
				if rc.regions[r] {
					capped = append(capped, a)
				} else {
					rest = append(rest, a)
				}
			}
			if len(capped) == 0 {
				continue
			}
			sort.SliceStable(capped, func(x, y int) bool {
				a, b := capped[x], capped[y]
				if a.period != b.period {
					return a.period < b.period
				}
				if m.orderTier[a.order] != m.orderTier[b.order] {
					return m.orderTier[a.order] < m.orderTier[b.order]
				}
				if a.order != b.order {
					return a.order < b.order
				}
				return a.lot < b.lot
			})
			var cumBase, delivered int64
			next := 0 // first capped allocation not yet released
			var queue []alloc
			for t := 0; t < P; t++ {
				cumBase += base[t]
				for next < len(capped) && capped[next].period <= t {
					queue = append(queue, capped[next])
					next++
				}
				allow := rc.limit(cumBase) - delivered
				if t == P-1 {
					allow = math.MaxInt64 // the horizon total holds by construction
				}
				for len(queue) > 0 && allow > 0 {
					a := &queue[0]
					d := min(a.qty, allow)
					allow -= d
					delivered += d
					if a.period != t {
						changed = true
					}
					rest = append(rest, alloc{order: a.order, lot: a.lot, period: t, qty: d})
					a.qty -= d
					if a.qty == 0 {
						queue = queue[1:]
					}
				}
			}
			allocs = rest
		}
		if !changed {
			break
		}
	}
	return allocs
}

// reasons explains, per order not served in full, why.
func (e *engine) reasons(got []int64, tierUse [][][]int64) []Unmet {
	m := e.m
	nodeUse := make([]int64, len(m.nodes))
	for ci, c := range m.classes {
		for n := c.parent; n >= 0; n = m.nodes[n].parent {
			nodeUse[n] += e.x[ci]
		}
	}
	var out []Unmet
	for o, ord := range m.p.Orders {
		short := ord.Quantity - got[o]
		if short <= 0 {
			continue
		}
		c := &m.classes[m.orderClass[o]]
		reason := ""
		for n := c.parent; n >= 0 && reason == ""; n = m.nodes[n].parent {
			if nodeUse[n] >= m.nodes[n].cap {
				reason = "cap:" + m.nodes[n].name
			}
		}
		if reason == "" {
			var usable, any int64
			for j := 0; j < e.nl; j++ {
				any += m.supply[c.prod][j]
				if j >= c.level {
					usable += m.supply[c.prod][j]
				}
			}
			switch {
			case usable == 0 && any > 0:
				reason = ReasonLotAge
			case usable == 0:
				reason = ReasonSupply
			default:
				reason = ReasonSupply
				for k := 0; k < c.tier; k++ {
					if tierUse[c.prod][c.level][k] > 0 {
						reason = ReasonTier
						break
					}
				}
			}
		}
		out = append(out, Unmet{Order: ord.ID, Quantity: short, Reason: reason})
	}
	if out == nil {
		out = []Unmet{}
	}
	return out
}

// metrics computes the run's summary figures.
func (e *engine) metrics(got []int64) Metrics {
	m := e.m
	p := m.p
	var mt Metrics
	mt.Checks = e.checks
	for l, lot := range p.Lots {
		mt.Supply += lot.Quantity
		if m.lotLevel[l] >= 0 {
			mt.Usable += lot.Quantity
		}
	}
	mt.Tiers = make([]TierMetrics, m.nTiers)
	sum := make([]float64, m.nTiers)
	sq := make([]float64, m.nTiers)
	cnt := make([]int, m.nTiers)
	var reserved int64
	for o, ord := range p.Orders {
		k := m.orderTier[o]
		mt.Demand += ord.Quantity
		mt.Allocated += got[o]
		t := &mt.Tiers[k]
		t.Demand += ord.Quantity
		t.Allocated += got[o]
		r := float64(got[o]) / float64(ord.Quantity)
		sum[k] += r
		sq[k] += r * r
		cnt[k]++
		if m.reserved[ord.Class] {
			t.Reserved += got[o]
			reserved += got[o]
		}
	}
	for k := range mt.Tiers {
		mt.Tiers[k].Regions = append([]string{}, p.Tiers[k]...)
		mt.Tiers[k].Jain = 1
		if sq[k] > 0 {
			mt.Tiers[k].Jain = sum[k] * sum[k] / (float64(cnt[k]) * sq[k])
		}
	}
	if mt.Allocated > 0 {
		mt.ReserveShare = float64(reserved) / float64(mt.Allocated)
	}
	// Concentration among the buyers of the HHI regions.
	hr := map[string]bool{}
	mt.HHIRegions = append([]string{}, p.HHIRegions...)
	if len(mt.HHIRegions) == 0 {
		for _, rc := range m.ratios {
			for r := range rc.regions {
				if !hr[r] {
					mt.HHIRegions = append(mt.HHIRegions, r)
				}
				hr[r] = true
			}
		}
		if len(mt.HHIRegions) == 0 && m.nTiers > 0 {
			// No capped group: the last tier, the one served last.
			for _, r := range p.Tiers[m.nTiers-1] {
				if r != "*" {
					mt.HHIRegions = append(mt.HHIRegions, r)
				}
			}
		}
		sort.Strings(mt.HHIRegions)
	}
	for _, r := range mt.HHIRegions {
		hr[r] = true
	}
	byBuyer := map[string]int64{}
	var total int64
	for o, ord := range p.Orders {
		if hr[ord.Region] && got[o] > 0 {
			byBuyer[ord.Buyer] += got[o]
			total += got[o]
		}
	}
	if total > 0 {
		for _, b := range sortedKeys(byBuyer) {
			s := float64(byBuyer[b]) / float64(total) * 100
			mt.HHI += s * s
		}
	}
	for _, rc := range m.ratios {
		rm := RatioMetrics{Region: p.Caps.RegionRatio[rc.index].Region, Of: p.Caps.RegionRatio[rc.index].Of, Max: rc.max}
		for o, ord := range p.Orders {
			if rc.regions[ord.Region] {
				rm.Units += got[o]
			}
			if rc.of[ord.Region] {
				rm.Base += got[o]
			}
		}
		rm.Limit = rc.limit(rm.Base)
		rm.PriorUnits, rm.PriorBase = rc.priorUnits, rc.priorBase
		mt.RegionRatio = append(mt.RegionRatio, rm)
	}
	return mt
}

// lotQueue is lots sorted by the period they become usable, with
// disjoint-set forests to find the nearest lot with units left at or left
// of a position, and at or right of it, skipping used-up lots in
// amortized near-constant time. left is shifted by one so that 0 is the
// "none" sentinel; right has len(lots) as its sentinel.
type lotQueue struct {
	lots        []int
	left, right []int32
}

func (q *lotQueue) init() {
	n := len(q.lots)
	q.left = make([]int32, n+1)
	q.right = make([]int32, n+1)
	for i := range q.left {
		q.left[i] = int32(i)
		q.right[i] = int32(i)
	}
}

// root finds i's root in a forest and compresses the path.
func root(f []int32, i int) int {
	r := i
	for int(f[r]) != r {
		r = int(f[r])
	}
	for int(f[i]) != r && i != r {
		next := int(f[i])
		f[i] = int32(r)
		i = next
	}
	return r
}

// findLeft returns the largest index ≤ i whose lot has units, or -1.
func (q *lotQueue) findLeft(i int, units []int64) int {
	for p := i + 1; ; {
		r := root(q.left, p)
		if r == 0 {
			return -1
		}
		if units[q.lots[r-1]] > 0 {
			return r - 1
		}
		q.left[r] = int32(r - 1)
		p = r - 1
	}
}

// findRight returns the smallest index ≥ i whose lot has units, or len.
func (q *lotQueue) findRight(i int, units []int64) int {
	n := len(q.lots)
	for p := i; ; {
		r := root(q.right, p)
		if r == n || units[q.lots[r]] > 0 {
			return r
		}
		q.right[r] = int32(r + 1)
		p = r + 1
	}
}
