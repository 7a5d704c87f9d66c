package sim

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/chipgate/chipgate/internal/allocation"
	"github.com/chipgate/chipgate/internal/catalog"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/policies"
)

// Options tune a run without changing its figures.
type Options struct {
	// Seed, when set, replaces the scenario's seed.
	Seed *uint64
	// Parallel bounds how many variants run at once (0: GOMAXPROCS).
	// Variants are independent, so the result does not depend on it.
	Parallel int
}

// Run simulates every variant of the scenario over its horizon. The same
// scenario and seed give the same Result. Errors name the scenario field
// or the policy problem behind them.
func Run(s *Scenario, opt Options) (*Result, error) {
	seed := s.Seed
	if opt.Seed != nil {
		seed = *opt.Seed
	}
	name, src := "default.yaml", policies.Default
	if s.Policy != "" {
		path := s.Policy
		if !filepath.IsAbs(path) {
			path = filepath.Join(s.dir, path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, domain.Invalid("policy", "%v", err)
		}
		name, src = path, b
	}
	prod, err := catalog.Product(s.Product)
	if err != nil {
		return nil, domain.Invalid("product", "%s", domain.ErrorMessage(err))
	}
	price, _ := parseMoney(s.UnitPrice)
	start, _ := time.Parse(time.DateOnly, s.Start)

	pols := make([]*policy.Policy, len(s.Variants))
	for i, v := range s.Variants {
		p, _, err := patchPolicy(name, src, v.patches(s.Lab.WeeklyCapacity))
		if err != nil {
			return nil, fmt.Errorf("variants[%d] (%s): %w", i, v.Name, err)
		}
		pols[i] = p
	}
	base := pols[0].At(start)
	w := newWorld(s, seed, base.Region)

	res := &Result{
		Scenario: s.Name, Seed: seed, Start: s.Start, Weeks: s.Weeks, Product: prod.Slug, UnitPrice: price,
		Buyers: len(w.buyers), Orders: len(w.orders), OrderedUnits: map[string]int64{}, buyers: w.buyers,
	}
	for _, o := range w.orders {
		res.OrderedUnits[w.buyers[o.buyer].Region] += o.qty
	}
	for wk := 0; wk < s.Weeks; wk++ {
		res.dates = append(res.dates, start.AddDate(0, 0, 7*wk).Format(time.DateOnly))
	}

	res.Variants = make([]VariantResult, len(s.Variants))
	errs := make([]error, len(s.Variants))
	par := opt.Parallel
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i := range s.Variants {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			sim := &variantSim{s: s, w: &w, pol: pols[i], prod: prod, price: price, start: start}
			res.Variants[i], errs[i] = sim.run(s.Variants[i].Name)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("variant %s: %w", s.Variants[i].Name, err)
		}
	}
	return res, nil
}

// Order states in a variant.
const (
	stNew = iota
	stHeld
	stAccepted
	stRejected
)

type orderState struct {
	state     int
	remaining int64
	dutiable  bool
	// rules are the blocking rules of the last decision; firstHeld those
	// of the first hold, for orders accepted later.
	rules, firstHeld []string
}

type lotState struct {
	id   string
	made string
	week int
	left int64
}

// labEntry is units waiting at (or on the way to) the lab, in arrival
// order.
type labEntry struct {
	order   int
	arrives int // week
	units   int64
}

// variantSim is one variant's year in progress.
type variantSim struct {
	s     *Scenario
	w     *world
	pol   *policy.Policy
	prod  domain.Product
	price domain.Money
	start time.Time

	orders     []orderState
	lots       []lotState
	licLeft    []int64
	permitLeft []int64
	// accepted units per region, the volume cap's counters (the service
	// counts accepted orders toward the cap in the order's transaction).
	acceptedCN, acceptedUS int64
	shipped                map[string]int64
	shippedBy              []int64 // per buyer
	lab                    []labEntry
	delays                 map[string][]delay
	out                    VariantResult
	dutyLines              int
	license                [1]policy.License
	permit                 [1]policy.ImportPermit
}

type delay struct {
	days  int
	units int64
}

func (v *variantSim) run(name string) (VariantResult, error) {
	s, w := v.s, v.w
	n := len(w.orders)
	v.orders = make([]orderState, n)
	v.licLeft = make([]int64, len(w.buyers))
	v.permitLeft = make([]int64, len(w.buyers))
	for i, b := range w.buyers {
		v.licLeft[i], v.permitLeft[i] = b.license, b.permit
	}
	// The program's running totals carry into the horizon: the volume
	// cap's counters and the allocation's ratio cap both start from them.
	cn := cnRegion(v.pol.At(v.start))
	v.shipped = map[string]int64{"US": s.Prior.US, cn: s.Prior.CN}
	v.acceptedUS, v.acceptedCN = s.Prior.US, s.Prior.CN
	v.shippedBy = make([]int64, len(w.buyers))
	v.delays = map[string][]delay{}
	v.out = VariantResult{Name: name, delivered: make([][]int64, len(w.buyers))}
	for i := range v.out.delivered {
		v.out.delivered[i] = make([]int64, s.Weeks)
	}
	v.out.Params = v.params()
	v.initLots()

	var zero domain.Money
	zero.Currency = v.price.Currency
	tot := &v.out.Totals
	tot.GrossValue, tot.DutiableValue, tot.Duty, tot.VendorRevenue = zero, zero, zero, zero

	var held []int // orders held, in id order
	next := 0
	for wk := 0; wk < s.Weeks; wk++ {
		t := v.start.AddDate(0, 0, 7*wk)
		rules := v.pol.At(t)
		// Held orders are decided again each week (the export authority's
		// queue), before the week's new orders: they were first in line.
		stillHeld := held[:0]
		for _, oi := range held {
			if v.decide(rules, t, oi) == stHeld {
				stillHeld = append(stillHeld, oi)
			}
		}
		held = stillHeld
		for ; next < n && w.orders[next].week == wk; next++ {
			if v.decide(rules, t, next) == stHeld {
				held = append(held, next)
			}
		}
		fig := WeekFigures{Week: wk, Date: t.Format(time.DateOnly)}
		if err := v.allocate(rules, t, wk, &fig); err != nil {
			return VariantResult{}, fmt.Errorf("week %d: %w", wk, err)
		}
		v.runLab(rules, wk, &fig)
		fig.CumUS, fig.CumCN = v.shipped["US"], v.shipped[cnRegion(rules)]
		fig.CNShareOfUS = share(fig.CumCN, fig.CumUS)
		fig.HHICN, fig.ReserveShareCN = v.concentration(rules)
		v.out.Weekly = append(v.out.Weekly, fig)
	}
	v.finish()
	return v.out, nil
}

// cnRegion is the region of China under the rules (the regions rule groups
// CN with MO).
func cnRegion(r policy.Rules) string { return r.Region("CN") }

// params reads the variant's parameters back from its policy at the start.
func (v *variantSim) params() Params {
	r := v.pol.At(v.start)
	var p Params
	p.Duty = r.DutyFor(v.prod.Spec, "commercial_ai").Rate.String()
	p.CNCap = "none"
	if c, _, ok := r.VolumeCap("CN"); ok {
		p.CNCap = c.String()
	}
	p.MinLotAgeDays = r.MinLotAgeDays("CN")
	p.Reserve = "0%"
	if a, ok := r.Allocation(); ok {
		p.Reserve = a.ReserveShare.Rate().String()
		p.ReserveClasses = append([]string{}, a.ReserveClasses...)
	}
	p.LabWeeklyCapacity = r.LabWeeklyCapacity()
	return p
}

// initLots lays out the inventory (equal weekly lots made before the
// start, available at once) and one lot per week of the horizon.
func (v *variantSim) initLots() {
	p := v.s.Production
	if p.InitialInventory > 0 {
		k := int64(p.InventoryWeeks)
		q, rem := p.InitialInventory/k, p.InitialInventory%k
		for i := 0; i < p.InventoryWeeks; i++ {
			qty := q
			if int64(i) < rem {
				qty++
			}
			if qty == 0 {
				continue
			}
			made := v.start.AddDate(0, 0, -7*(p.InventoryWeeks-i))
			v.lots = append(v.lots, lotState{id: "inv-" + made.Format(time.DateOnly), made: made.Format(time.DateOnly), left: qty})
		}
	}
	if p.WeeklyUnits > 0 {
		for wk := 0; wk < v.s.Weeks; wk++ {
			made := v.start.AddDate(0, 0, 7*wk).Format(time.DateOnly)
			v.lots = append(v.lots, lotState{id: "lot-" + made, made: made, week: wk, left: p.WeeklyUnits})
		}
	}
}

// decide runs the policy engine on order oi with the facts of week t and
// applies an acceptance: the license and permit are drawn down and the
// units count toward the volume cap, as the ordering service does.
func (v *variantSim) decide(rules policy.Rules, t time.Time, oi int) int {
	o := &v.w.orders[oi]
	b := &v.w.buyers[o.buyer]
	st := &v.orders[oi]
	power := 0.0
	if rf, ok := rules.RedFlags(); ok {
		power = rf.PowerKWPerAccelerator * float64(o.qty) * 2
		if b.powerShort {
			power /= 4
		}
	}
	f := policy.OrderFacts{
		At: t, Product: v.prod.Slug, Spec: v.prod.Spec, Quantity: o.qty, LaunchDate: v.prod.LaunchDate,
		Destination: b.Country, Buyer: b.Name, BuyerClass: b.Class, Sector: b.Sector,
		BuyerHQ: b.Country, ParentHQ: b.Country, Approval: b.approval, Screening: b.screening,
		EndUse: b.EndUse, SiteCountry: b.Country, CloudService: b.cloud, SitePowerKW: power,
		KYCRemoteAccess: b.kyc, ShippedCNMO: v.acceptedCN, ShippedUS: v.acceptedUS,
	}
	// The decision reads the license and permit and keeps neither, so one
	// scratch copy each serves every decision (held orders are decided
	// again every week: this is the simulation's hottest loop).
	if b.license >= 0 {
		v.license[0] = b.licenseDoc
		v.license[0].Remaining = v.licLeft[o.buyer]
		f.Licenses = v.license[:]
	}
	_, permitApplies := rules.ImportPermit(b.Country)
	if b.permit >= 0 {
		v.permit[0] = b.permitDoc
		v.permit[0].Remaining = v.permitLeft[o.buyer]
		f.Permits = v.permit[:]
	}
	d := rules.DecideOrder(f)
	switch d.Outcome {
	case policy.Accepted:
		st.state = stAccepted
		st.remaining = o.qty
		st.dutiable = d.Duty != nil
		st.rules = nil
		if d.Status == policy.LicenseRequired && len(f.Licenses) > 0 {
			v.licLeft[o.buyer] -= o.qty
		}
		if permitApplies && len(f.Permits) > 0 {
			v.permitLeft[o.buyer] -= o.qty
		}
		switch b.Region {
		case cnRegion(rules):
			v.acceptedCN += o.qty
		case "US":
			v.acceptedUS += o.qty
		}
	case policy.HeldForReview:
		st.state = stHeld
		st.rules = d.Rules()
		if st.firstHeld == nil {
			st.firstHeld = st.rules
		}
	default:
		st.state = stRejected
		st.rules = d.Rules()
	}
	return st.state
}

// allocate runs the allocation engine on the week's open orders and lots
// and ships what it allocates: one period, the current week, so that each
// week's plan sees only the orders placed so far. The China cap carries
// the units shipped before the week as its prior totals.
func (v *variantSim) allocate(rules policy.Rules, t time.Time, wk int, fig *WeekFigures) error {
	cn := cnRegion(rules)
	p := allocation.Problem{Periods: 1, Start: t.Format(time.DateOnly), PeriodDays: 7, HHIRegions: []string{cn}}
	ap, hasAlloc := rules.Allocation()
	if hasAlloc && len(ap.Tiers) > 0 {
		for _, r := range ap.Tiers {
			p.Tiers = append(p.Tiers, []string{r})
		}
	} else {
		p.Tiers = [][]string{{"*"}}
	}
	forecast := v.s.Allocation.Plan == "forecast"
	if forecast {
		p.Periods = v.s.Weeks - wk
	}
	var lotIdx []int
	for i := range v.lots {
		l := &v.lots[i]
		if l.left > 0 && (l.week <= wk || forecast) {
			p.Lots = append(p.Lots, allocation.Lot{ID: l.id, Product: v.prod.Slug, Quantity: l.left, Period: max(l.week-wk, 0), Made: l.made})
			lotIdx = append(lotIdx, i)
		}
	}
	var ordIdx []int
	for oi := range v.orders {
		st := &v.orders[oi]
		if st.state != stAccepted || st.remaining == 0 {
			continue
		}
		o := &v.w.orders[oi]
		b := &v.w.buyers[o.buyer]
		ord := allocation.Order{ID: o.id, Buyer: b.Name, Region: b.Region, Class: domain.BuyerClass(b.Class),
			Product: v.prod.Slug, Quantity: st.remaining}
		if v.s.Allocation.Weight == "quantity" {
			ord.Weight = float64(o.qty)
		}
		p.Orders = append(p.Orders, ord)
		ordIdx = append(ordIdx, oi)
	}
	if len(p.Lots) == 0 || len(p.Orders) == 0 {
		return nil
	}
	if forecast {
		// One stand-in order per region and future week holds back what
		// the tiers served first will ask for; it ships nothing.
		for fw := wk + 1; fw < v.s.Weeks; fw++ {
			for _, region := range []string{"US", "other"} {
				if q := v.w.forecast[fw][region]; q > 0 {
					p.Orders = append(p.Orders, allocation.Order{ID: fmt.Sprintf("forecast-%s-%d", region, fw), Buyer: "forecast-" + region,
						Region: region, Class: domain.ClassPlatform, Product: v.prod.Slug, Quantity: q, Period: fw - wk})
				}
			}
		}
	}
	if c, _, ok := rules.VolumeCap("CN"); ok {
		p.Caps.RegionRatio = []allocation.RatioCap{{Region: allocation.Regions{cn}, Of: allocation.Regions{"US"},
			Max: allocation.NewRatio(int64(c), domain.RateScale), PriorUnits: v.shipped[cn], PriorBase: v.shipped["US"]}}
	}
	if hasAlloc && ap.ReserveShare.Rate() > 0 {
		res := &allocation.Reserve{Share: allocation.NewRatio(int64(ap.ReserveShare.Rate()), domain.RateScale)}
		for _, c := range ap.ReserveClasses {
			res.Classes = append(res.Classes, domain.BuyerClass(c))
		}
		p.Caps.Reserve = res
	}
	if d := rules.MinLotAgeDays("CN"); d > 0 {
		p.Caps.MinLotAgeDays = map[string]int{cn: d}
	}
	r, err := allocation.Run(p)
	if err != nil {
		return err
	}
	// Allocations come ordered by period, then order, then lot as in the
	// input, so one order's units this week are adjacent: one shipment
	// line each, on which duty is assessed and rounded.
	lotPos := make(map[string]int, len(p.Lots))
	for i, l := range p.Lots {
		lotPos[l.ID] = lotIdx[i]
	}
	ordPos := make(map[string]int, len(ordIdx))
	for i, oi := range ordIdx {
		ordPos[p.Orders[i].ID] = oi // the forecast stand-ins come after
	}
	lineOrder, lineQty := -1, int64(0)
	flush := func() error {
		if lineOrder < 0 || lineQty == 0 {
			return nil
		}
		err := v.ship(rules, wk, lineOrder, lineQty, fig)
		lineOrder, lineQty = -1, 0
		return err
	}
	for _, a := range r.Allocations {
		if a.Period != 0 {
			break // allocations come by period; later weeks are only a plan
		}
		oi, real := ordPos[a.Order]
		if !real {
			continue // a forecast stand-in
		}
		if oi != lineOrder {
			if err := flush(); err != nil {
				return err
			}
			lineOrder = oi
		}
		lineQty += a.Quantity
		v.lots[lotPos[a.Lot]].left -= a.Quantity
	}
	return flush()
}

// ship records one shipment line: the units leave the vendor, duty is
// assessed on their declared value when the route enters the duty's
// importing country, and the units either go straight to the buyer or
// queue at the lab.
func (v *variantSim) ship(rules policy.Rules, wk, oi int, qty int64, fig *WeekFigures) error {
	o := &v.w.orders[oi]
	b := &v.w.buyers[o.buyer]
	st := &v.orders[oi]
	st.remaining -= qty
	v.shipped[b.Region] += qty
	v.shippedBy[o.buyer] += qty
	switch b.Region {
	case "US":
		fig.ShippedUS += qty
	case cnRegion(rules):
		fig.ShippedCN += qty
	default:
		fig.ShippedOther += qty
	}
	hi, lo := bits.Mul64(uint64(v.price.Minor), uint64(qty))
	if hi != 0 || lo > math.MaxInt64 {
		return fmt.Errorf("order %s: value of %d units overflows", o.id, qty)
	}
	value := domain.Money{Minor: int64(lo), Currency: v.price.Currency}
	tot := &v.out.Totals
	var err error
	if tot.GrossValue, err = tot.GrossValue.Add(value); err != nil {
		return err
	}
	fig.Gross += value.Minor
	if st.dutiable {
		d := rules.DutyFor(v.prod.Spec, b.EndUse)
		if d.Rate > 0 {
			duty, err := d.Apply(value)
			if err != nil {
				return err
			}
			if tot.Duty, err = tot.Duty.Add(duty); err != nil {
				return err
			}
			if tot.DutiableValue, err = tot.DutiableValue.Add(value); err != nil {
				return err
			}
			fig.Duty += duty.Minor
			fig.Dutiable += value.Minor
			v.dutyLines++
		}
	}
	tr := v.s.Transit
	if _, _, lab := rules.LabTest(b.Country); lab {
		v.lab = append(v.lab, labEntry{order: oi, arrives: wk + tr.ToLab/7, units: qty})
		return nil
	}
	v.deliver(oi, 7*wk+tr.Direct, qty)
	return nil
}

// deliver records qty units of order oi reaching its buyer on day (from
// the start).
func (v *variantSim) deliver(oi, day int, qty int64) {
	o := &v.w.orders[oi]
	b := &v.w.buyers[o.buyer]
	wk := day / 7
	if wk >= v.s.Weeks {
		return // after the horizon: in transit at its end
	}
	v.out.delivered[o.buyer][wk] += qty
	v.delays[b.Region] = append(v.delays[b.Region], delay{days: day - 7*o.week, units: qty})
}

// runLab tests, first come first served, up to the week's capacity of the
// units that have reached the lab; tested units reach the buyer
// lab_to_buyer days after the week ends.
func (v *variantSim) runLab(rules policy.Rules, wk int, fig *WeekFigures) {
	capacity := int64(rules.LabWeeklyCapacity()) * int64(v.w.labFactor[wk]) / domain.RateScale
	fig.LabCapacity = capacity
	left := capacity
	var arrived, queue int64
	kept := v.lab[:0]
	for _, e := range v.lab {
		if e.arrives == wk {
			arrived += e.units
		}
		if e.arrives <= wk && left > 0 {
			n := min(left, e.units)
			left -= n
			e.units -= n
			fig.LabTested += n
			v.deliver(e.order, 7*(wk+1)+v.s.Transit.LabToBuyer, n)
		}
		if e.units > 0 {
			kept = append(kept, e)
			if e.arrives <= wk {
				queue += e.units
			}
		}
	}
	v.lab = kept
	fig.LabArrived = arrived
	fig.LabQueue = queue
	v.out.Totals.LabQueueMax = max(v.out.Totals.LabQueueMax, queue)
}

// concentration returns the HHI (0–10,000) of units shipped so far among
// CN buyers, and the share of them that went to the reserve classes.
func (v *variantSim) concentration(rules policy.Rules) (hhi, reserve float64) {
	cn := cnRegion(rules)
	var total, res int64
	var classes []string
	if a, ok := rules.Allocation(); ok {
		classes = a.ReserveClasses
	}
	for i, b := range v.w.buyers {
		if b.Region == cn {
			total += v.shippedBy[i]
			if slices.Contains(classes, b.Class) {
				res += v.shippedBy[i]
			}
		}
	}
	if total == 0 {
		return 0, 0
	}
	for i, b := range v.w.buyers {
		if b.Region == cn && v.shippedBy[i] > 0 {
			s := float64(v.shippedBy[i]) / float64(total) * 100
			// The explicit conversion forbids a fused multiply-add, so that
			// the figure is the same bits on every architecture.
			hhi += float64(s * s)
		}
	}
	return hhi, float64(res) / float64(total)
}

// finish computes the totals, delays and decision counts at the horizon's
// end.
func (v *variantSim) finish() {
	tot := &v.out.Totals
	w := v.w
	tot.AcceptedUnits = map[string]int64{}
	tot.ShippedUnits = map[string]int64{}
	tot.DeliveredUnits = map[string]int64{}
	for _, b := range w.buyers {
		tot.ShippedUnits[b.Region] = 0
	}
	for bi, b := range w.buyers {
		tot.ShippedUnits[b.Region] += v.shippedBy[bi]
	}
	for bi, b := range w.buyers {
		for _, n := range v.out.delivered[bi] {
			tot.DeliveredUnits[b.Region] += n
		}
	}
	last := v.out.Weekly[len(v.out.Weekly)-1]
	tot.CNShareOfUS = last.CNShareOfUS
	tot.HHICN, tot.ReserveShareCN = last.HHICN, last.ReserveShareCN
	tot.LabQueueEnd = last.LabQueue
	tot.CNCapPPM = -1
	if c, _, ok := v.pol.At(v.start).VolumeCap("CN"); ok {
		tot.CNCapPPM = int64(c)
	}
	tot.DutyLines = v.dutyLines
	tot.VendorRevenue = domain.Money{Minor: tot.GrossValue.Minor - tot.Duty.Minor, Currency: tot.GrossValue.Currency}

	type key struct{ outcome, rule string }
	counts := map[key]*DecisionCount{}
	count := func(outcome string, rules []string, units int64) {
		if len(rules) == 0 {
			rules = []string{""}
		}
		for _, r := range rules {
			k := key{outcome, r}
			c := counts[k]
			if c == nil {
				c = &DecisionCount{Outcome: outcome, Rule: r}
				counts[k] = c
			}
			c.Orders++
			c.Units += units
		}
	}
	for oi, st := range v.orders {
		o := &w.orders[oi]
		switch st.state {
		case stAccepted:
			tot.OrdersAccepted++
			tot.AcceptedUnits[w.buyers[o.buyer].Region] += o.qty
			count("accepted", nil, o.qty)
			if st.firstHeld != nil {
				count("accepted_after_hold", st.firstHeld, o.qty)
			}
		case stHeld:
			tot.OrdersHeld++
			tot.HeldUnits += o.qty
			count("held_for_review", st.rules, o.qty)
		case stRejected:
			tot.OrdersRejected++
			tot.RejectedUnits += o.qty
			count("rejected", st.rules, o.qty)
		}
	}
	for _, c := range counts {
		v.out.Decisions = append(v.out.Decisions, *c)
	}
	rank := map[string]int{"accepted": 0, "accepted_after_hold": 1, "held_for_review": 2, "rejected": 3}
	slices.SortFunc(v.out.Decisions, func(a, b DecisionCount) int {
		if d := cmp.Compare(rank[a.Outcome], rank[b.Outcome]); d != 0 {
			return d
		}
		return cmp.Compare(a.Rule, b.Rule)
	})

	var all []delay
	for _, r := range []string{"US", "other", "CN"} {
		ds := v.delays[r]
		all = append(all, ds...)
		v.out.Delays = append(v.out.Delays, percentiles(r, ds))
	}
	v.out.Delays = append(v.out.Delays, percentiles("all", all))
}

// percentiles returns the unit-weighted P50 and P90 of the delays: the
// least delay by which half (nine tenths) of the units had arrived.
func percentiles(region string, ds []delay) DelayFigures {
	out := DelayFigures{Region: region}
	if len(ds) == 0 {
		return out
	}
	s := slices.Clone(ds)
	slices.SortStableFunc(s, func(a, b delay) int { return cmp.Compare(a.days, b.days) })
	for _, d := range s {
		out.Units += d.units
	}
	var cum int64
	p50, p90 := -1, -1
	for _, d := range s {
		cum += d.units
		// cum/units ≥ 1/2 and ≥ 9/10 in integers.
		if p50 < 0 && 2*cum >= out.Units {
			p50 = d.days
		}
		if p90 < 0 && 10*cum >= 9*out.Units {
			p90 = d.days
		}
	}
	out.P50, out.P90 = p50, p90
	return out
}

func share(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// itoa is strconv.FormatInt for the writers.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }
