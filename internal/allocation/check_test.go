package allocation_test

import (
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/allocation"
)

// The checks below are written from the problem's rules, independently of
// the engine's model, so that a bug in the engine's compilation of a rule
// does not hide itself.

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func periodStart(p *allocation.Problem, t int) time.Time {
	return date(p.Start).AddDate(0, 0, t*p.PeriodDays)
}

// oldEnough reports whether lot l may go to region r in period t.
func oldEnough(p *allocation.Problem, l allocation.Lot, r string, t int) bool {
	return !periodStart(p, t).Before(date(l.Made).AddDate(0, 0, p.Caps.MinLotAgeDays[r]))
}

// usable reports whether lot l can reach an order for region r in some
// period of the horizon at or after both the lot's and the order's period.
func usable(p *allocation.Problem, l allocation.Lot, o allocation.Order) bool {
	if l.Product != o.Product {
		return false
	}
	for t := max(l.Period, o.Period); t < p.Periods; t++ {
		if oldEnough(p, l, o.Region, t) {
			return true
		}
	}
	return false
}

func tierOf(p *allocation.Problem, region string) int {
	wild := -1
	for k, t := range p.Tiers {
		for _, r := range t {
			if r == region {
				return k
			}
			if r == "*" {
				wild = k
			}
		}
	}
	return wild
}

func ratioFloor(max allocation.Ratio, n int64) int64 {
	r, _ := new(big.Rat).SetString(max.String())
	v := new(big.Int).Mul(r.Num(), big.NewInt(n))
	return v.Quo(v, r.Denom()).Int64()
}

// ratioLimit is what a ratio cap allows the capped group when its base got
// h units in the horizon, counting the units shipped before it.
func ratioLimit(rc allocation.RatioCap, h int64) int64 {
	return max(0, ratioFloor(rc.Max, rc.PriorBase+h)-rc.PriorUnits)
}

// capViolation returns a description of the first cap that the per-order
// amounts y break, or "".
func capViolation(p *allocation.Problem, y []int64) string {
	byBuyer := map[string]int64{}
	byBuyerProd := map[[2]string]int64{}
	for i, o := range p.Orders {
		byBuyer[o.Buyer] += y[i]
		byBuyerProd[[2]string{o.Buyer, o.Product}] += y[i]
	}
	for b, c := range p.Caps.Buyer {
		if byBuyer[b] > c {
			return fmt.Sprintf("buyer %s got %d > cap %d", b, byBuyer[b], c)
		}
	}
	type scope struct {
		wide  map[string]int64
		prod  map[[2]string]int64
		prodB map[string]bool
	}
	check := func(kind string, sc scope) string {
		for b, c := range sc.wide {
			if byBuyer[b] > c {
				return fmt.Sprintf("%s: buyer %s got %d > %d", kind, b, byBuyer[b], c)
			}
		}
		for k, v := range byBuyerProd {
			if sc.prodB[k[0]] && v > sc.prod[k] {
				return fmt.Sprintf("%s: buyer %s product %s got %d > %d", kind, k[0], k[1], v, sc.prod[k])
			}
		}
		return ""
	}
	lic := scope{map[string]int64{}, map[[2]string]int64{}, map[string]bool{}}
	for _, l := range p.Caps.Licenses {
		if l.Product == "" {
			lic.wide[l.Buyer] += l.Remaining
		} else {
			lic.prod[[2]string{l.Buyer, l.Product}] += l.Remaining
			lic.prodB[l.Buyer] = true
		}
	}
	per := scope{map[string]int64{}, map[[2]string]int64{}, map[string]bool{}}
	for _, q := range p.Caps.Permits {
		if q.Product == "" {
			per.wide[q.Buyer] += q.Quota
		} else {
			per.prod[[2]string{q.Buyer, q.Product}] += q.Quota
			per.prodB[q.Buyer] = true
		}
	}
	if s := check("license", lic); s != "" {
		return s
	}
	if s := check("permit", per); s != "" {
		return s
	}
	for i, rc := range p.Caps.RegionRatio {
		var g, h int64
		for j, o := range p.Orders {
			for _, r := range rc.Region {
				if o.Region == r {
					g += y[j]
				}
			}
			for _, r := range rc.Of {
				if o.Region == r {
					h += y[j]
				}
			}
		}
		if g > ratioLimit(rc, h) {
			return fmt.Sprintf("region_ratio[%d]: %d > limit %d (base %d)", i, g, ratioLimit(rc, h), h)
		}
	}
	return ""
}

// lotsCover reports whether the lots can give every order its y units,
// honoring product, availability and lot age: a maximum bipartite flow by
// plain augmenting paths.
func lotsCover(p *allocation.Problem, y []int64) bool {
	nO, nL := len(p.Orders), len(p.Lots)
	// Nodes: 0 source, 1..nO orders, nO+1..nO+nL lots, last sink.
	n := nO + nL + 2
	capm := make([][]int64, n)
	for i := range capm {
		capm[i] = make([]int64, n)
	}
	s, t := 0, n-1
	var need int64
	for i := range p.Orders {
		capm[s][1+i] = y[i]
		need += y[i]
		for l := range p.Lots {
			if usable(p, p.Lots[l], p.Orders[i]) {
				capm[1+i][1+nO+l] = 1 << 40
			}
		}
	}
	for l, lot := range p.Lots {
		capm[1+nO+l][t] = lot.Quantity
	}
	var flow int64
	for {
		prev := make([]int, n)
		for i := range prev {
			prev[i] = -1
		}
		prev[s] = s
		q := []int{s}
		for len(q) > 0 && prev[t] < 0 {
			u := q[0]
			q = q[1:]
			for v := 0; v < n; v++ {
				if prev[v] < 0 && capm[u][v] > 0 {
					prev[v] = u
					q = append(q, v)
				}
			}
		}
		if prev[t] < 0 {
			return flow == need
		}
		f := int64(1 << 50)
		for v := t; v != s; v = prev[v] {
			f = min(f, capm[prev[v]][v])
		}
		for v := t; v != s; v = prev[v] {
			capm[prev[v]][v] -= f
			capm[v][prev[v]] += f
		}
		flow += f
	}
}

func isReserved(p *allocation.Problem, o allocation.Order) bool {
	if p.Caps.Reserve == nil || p.Caps.Reserve.Share.Sign() == 0 {
		return false
	}
	cl := p.Caps.Reserve.Classes
	if len(cl) == 0 {
		return o.Class == "sme" || o.Class == "research"
	}
	for _, c := range cl {
		if c == o.Class {
			return true
		}
	}
	return false
}

func weight(o allocation.Order) float64 {
	if o.Weight == 0 {
		return 1
	}
	return o.Weight
}

// checkResult verifies every rule on a result, max-min fairness included,
// and returns the first violation, or "".
func checkResult(p *allocation.Problem, res allocation.Result) string {
	if msg := checkRules(p, res); msg != "" {
		return msg
	}
	return checkMaxMin(p, res)
}

// served returns the units per order of a result.
func served(p *allocation.Problem, res allocation.Result) []int64 {
	got := make([]int64, len(p.Orders))
	idx := map[string]int{}
	for i, o := range p.Orders {
		idx[o.ID] = i
	}
	for _, a := range res.Allocations {
		got[idx[a.Order]] += a.Quantity
	}
	return got
}

// checkRules verifies every rule but fairness on a result and returns the
// first violation, or "".
func checkRules(p *allocation.Problem, res allocation.Result) string {
	got := make([]int64, len(p.Orders))
	orderIdx := map[string]int{}
	for i, o := range p.Orders {
		orderIdx[o.ID] = i
	}
	lotIdx := map[string]int{}
	for i, l := range p.Lots {
		lotIdx[l.ID] = i
	}
	lotUsed := make([]int64, len(p.Lots))
	perPeriod := make([][]int64, len(p.Orders))
	for i := range perPeriod {
		perPeriod[i] = make([]int64, p.Periods)
	}
	for _, a := range res.Allocations {
		oi, ok1 := orderIdx[a.Order]
		li, ok2 := lotIdx[a.Lot]
		if !ok1 || !ok2 || a.Quantity <= 0 {
			return fmt.Sprintf("bad allocation %+v", a)
		}
		o, l := p.Orders[oi], p.Lots[li]
		switch {
		case a.Period < 0 || a.Period >= p.Periods:
			return fmt.Sprintf("%+v: period outside the horizon", a)
		case a.Period < o.Period:
			return fmt.Sprintf("%+v: served before the order's period %d", a, o.Period)
		case a.Period < l.Period:
			return fmt.Sprintf("%+v: lot used before available (%d)", a, l.Period)
		case l.Product != o.Product:
			return fmt.Sprintf("%+v: product %s for an order of %s", a, l.Product, o.Product)
		case !oldEnough(p, l, o.Region, a.Period):
			return fmt.Sprintf("%+v: lot made %s too young for %s", a, l.Made, o.Region)
		}
		got[oi] += a.Quantity
		lotUsed[li] += a.Quantity
		perPeriod[oi][a.Period] += a.Quantity
	}
	for i, l := range p.Lots {
		if lotUsed[i] > l.Quantity {
			return fmt.Sprintf("lot %s used %d > %d", l.ID, lotUsed[i], l.Quantity)
		}
	}
	unmet := make([]int64, len(p.Orders))
	for _, u := range res.Unmet {
		i, ok := orderIdx[u.Order]
		if !ok || u.Quantity <= 0 || u.Reason == "" {
			return fmt.Sprintf("bad unmet %+v", u)
		}
		unmet[i] += u.Quantity
	}
	for i, o := range p.Orders {
		if got[i] > o.Quantity {
			return fmt.Sprintf("order %s over-filled: %d > %d", o.ID, got[i], o.Quantity)
		}
		if got[i]+unmet[i] != o.Quantity {
			return fmt.Sprintf("order %s: %d allocated + %d unmet != %d", o.ID, got[i], unmet[i], o.Quantity)
		}
	}
	if s := capViolation(p, got); s != "" {
		return s
	}
	if s := reasonViolation(p, res, got); s != "" {
		return s
	}
	// Ratio caps cumulatively at every period.
	for i, rc := range p.Caps.RegionRatio {
		var g, h int64
		for t := 0; t < p.Periods; t++ {
			for j, o := range p.Orders {
				for _, r := range rc.Region {
					if o.Region == r {
						g += perPeriod[j][t]
					}
				}
				for _, r := range rc.Of {
					if o.Region == r {
						h += perPeriod[j][t]
					}
				}
			}
			if g > ratioLimit(rc, h) {
				return fmt.Sprintf("region_ratio[%d] at period %d: %d > limit %d (base %d)", i, t, g, ratioLimit(rc, h), h)
			}
		}
	}
	return ""
}

// checkMaxMin checks weighted max-min fairness directly: moving one unit
// from an order to an order of the same tier that has clearly less per
// weight must be infeasible (the rest fixed). The slack of one unit on each
// side is the integer rounding; the reserve may keep units with its
// classes. It returns the first violation, or "".
func checkMaxMin(p *allocation.Problem, res allocation.Result) string {
	got := served(p, res)
	// The reserve: while a tier's reserve classes hold less than their
	// share, no reserve order may be able to take a unit from another.
	tierTotal := map[int]int64{}
	tierRes := map[int]int64{}
	for i, o := range p.Orders {
		tierTotal[tierOf(p, o.Region)] += got[i]
		if isReserved(p, o) {
			tierRes[tierOf(p, o.Region)] += got[i]
		}
	}
	for a, oa := range p.Orders {
		k := tierOf(p, oa.Region)
		if !isReserved(p, oa) || got[a] >= oa.Quantity || tierRes[k] >= ratioFloor(p.Caps.Reserve.Share, tierTotal[k]) {
			continue
		}
		for b, ob := range p.Orders {
			if isReserved(p, ob) || got[b] == 0 || tierOf(p, ob.Region) != k {
				continue
			}
			y := append([]int64(nil), got...)
			y[a]++
			y[b]--
			if capViolation(p, y) == "" && lotsCover(p, y) {
				return fmt.Sprintf("reserve: tier %d holds %d for the reserve classes, below its share, yet %s could take a unit from %s",
					k, tierRes[k], oa.ID, ob.ID)
			}
		}
	}
	for a := range p.Orders {
		oa := p.Orders[a]
		if got[a] >= oa.Quantity {
			continue
		}
		for b := range p.Orders {
			ob := p.Orders[b]
			if a == b || got[b] == 0 || tierOf(p, oa.Region) != tierOf(p, ob.Region) {
				continue
			}
			if isReserved(p, ob) && !isReserved(p, oa) {
				continue
			}
			if float64(got[a]+1)/weight(oa)+1e-9 >= float64(got[b]-1)/weight(ob) {
				continue
			}
			y := append([]int64(nil), got...)
			y[a]++
			y[b]--
			if capViolation(p, y) == "" && lotsCover(p, y) {
				return fmt.Sprintf("max-min: order %s (%d of %d, weight %g) could take a unit from %s (%d, weight %g)",
					oa.ID, got[a], oa.Quantity, weight(oa), ob.ID, got[b], weight(ob))
			}
		}
	}
	return ""
}

// reasonViolation checks the unmet reasons that can be checked from the
// rules alone: a buyer cap or ratio cap named as the reason is full, and
// "lot_age" means no lot of the product is old enough in the horizon.
func reasonViolation(p *allocation.Problem, res allocation.Result, got []int64) string {
	byBuyer := map[string]int64{}
	for i, o := range p.Orders {
		byBuyer[o.Buyer] += got[i]
	}
	for _, u := range res.Unmet {
		var o allocation.Order
		for _, x := range p.Orders {
			if x.ID == u.Order {
				o = x
			}
		}
		switch {
		case u.Reason == "cap:buyer:"+o.Buyer:
			if byBuyer[o.Buyer] != p.Caps.Buyer[o.Buyer] {
				return fmt.Sprintf("%s: reason %s but the buyer has %d of %d", u.Order, u.Reason, byBuyer[o.Buyer], p.Caps.Buyer[o.Buyer])
			}
		case strings.HasPrefix(u.Reason, "cap:region_ratio["):
			var i int
			fmt.Sscanf(u.Reason, "cap:region_ratio[%d]", &i)
			rc := p.Caps.RegionRatio[i]
			var g, h int64
			for j, x := range p.Orders {
				if slices.Contains(rc.Region, x.Region) {
					g += got[j]
				}
				if slices.Contains(rc.Of, x.Region) {
					h += got[j]
				}
			}
			if !slices.Contains(rc.Region, o.Region) || g != ratioLimit(rc, h) {
				return fmt.Sprintf("%s: reason %s but the group has %d of %d", u.Order, u.Reason, g, ratioLimit(rc, h))
			}
		case u.Reason == "lot_age":
			for _, l := range p.Lots {
				if l.Product == o.Product && l.Period < p.Periods && oldEnough(p, l, o.Region, p.Periods-1) {
					return fmt.Sprintf("%s: reason lot_age but lot %s is old enough by the last period", u.Order, l.ID)
				}
			}
		case u.Reason == "tier" || u.Reason == "supply" || strings.HasPrefix(u.Reason, "cap:"):
		default:
			return fmt.Sprintf("%s: unknown reason %q", u.Order, u.Reason)
		}
	}
	return ""
}
