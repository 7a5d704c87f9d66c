package allocation

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
)

// model is a validated problem compiled into the shape the engine works on:
// supply pools per product and age level, order classes, and the tree of
// caps above the classes.
//
// Two facts make the horizon problem a network flow. First, lots are never
// tied to a period once available: a unit can be delivered in any period at
// or after max(lot available, lot old enough for the region, order
// requested), so for the totals only "is this lot usable for this region
// within the horizon" matters. Lot ages are monotone, so the lots usable
// for a region with a longer minimum age are a subset of those usable with
// a shorter one: the supply sets form a chain per product (the age
// levels). Second, the caps over orders are laminar (a buyer-and-product
// cap inside a buyer cap inside a capped region group inside a tier), which
// the validation enforces. Two laminar families on either side of the
// order classes are a network: source → age pools → classes → cap tree →
// tier → sink.
type model struct {
	p      *Problem
	start  time.Time
	nTiers int
	// tierOfRegion maps named regions; wildcard is the tier of "*" or -1.
	tierOfRegion map[string]int
	wildcard     int
	ages         []int // distinct minimum ages in days, ascending, ages[0] == 0
	prods        []string
	prodIdx      map[string]int
	lotProd      []int
	lotLevel     []int     // highest age level the lot reaches within the horizon, -1 if none
	lotElig      [][]int32 // [lot][level]: first period the lot may go to a region of that level
	supply       [][]int64 // [product][level]: units of lots whose level is exactly that
	classes      []class
	orderClass   []int
	orderWeight  []float64
	orderTier    []int
	nodes        []capNode
	ratios       []ratioCap
	reserved     map[domain.BuyerClass]bool
	share        Ratio
}

// class is the orders of one buyer for one product to one region: for the
// totals they are interchangeable, so the flow works on classes and the
// orders share their class's units by water-filling.
type class struct {
	buyer, region string
	tier, prod    int
	level         int
	reserved      bool
	parent        int   // cap node, or -1 for the tier itself
	orders        []int // sorted by saturation level quantity/weight
	demand        int64
}

// capNode is one node of the cap tree: a limit on the units of the classes
// below it.
type capNode struct {
	parent int // -1 for the tier
	tier   int
	cap    int64
	name   string // the cap named in unmet reasons, e.g. "buyer:acme"
}

// ratioCap is a compiled caps.region_ratio entry.
type ratioCap struct {
	index   int
	node    int // cap node holding the horizon total
	tier    int
	regions map[string]bool
	of      map[string]bool
	ofTiers []int
	max     Ratio
	// Units shipped before period 0 to the capped group and to the base.
	priorUnits, priorBase int64
}

// limit is what the capped group may receive in total when the base
// has received base units since period 0: ⌊max × (prior base + base)⌋ less
// what the group already had, never below zero.
func (rc *ratioCap) limit(base int64) int64 {
	return max(0, rc.max.Floor(rc.priorBase+base)-rc.priorUnits)
}

const maxAgeDays = 36500

func (m *model) tierOf(region string) int {
	if k, ok := m.tierOfRegion[region]; ok {
		return k
	}
	return m.wildcard
}

func (m *model) levelOf(region string) int {
	a := m.p.Caps.MinLotAgeDays[region]
	return sort.SearchInts(m.ages, a)
}

// orderPath returns a function that names order i's path, so that the
// name is formatted only for an order with a problem.
func orderPath(i int) func() string {
	return func() string { return fmt.Sprintf("orders[%d]", i) }
}

// compile validates p and builds the model. Errors are EINVALID and name
// the field by its path in the JSON problem.
func compile(p *Problem) (*model, error) {
	var pr domain.Problems
	m := &model{p: p, tierOfRegion: map[string]int{}, wildcard: -1, prodIdx: map[string]int{}}
	if p.Periods < 1 || p.Periods > maxPeriods {
		pr.Add("periods", "must be between 1 and %d", maxPeriods)
	}
	if p.PeriodDays < 1 || p.PeriodDays > maxDays {
		pr.Add("period_days", "must be between 1 and %d", maxDays)
	} else if p.Periods > 0 && p.Periods*p.PeriodDays > maxAgeDays {
		pr.Add("period_days", "the horizon (periods × period_days) must be at most %d days", maxAgeDays)
	}
	start, err := parseDate(p.Start)
	if err != nil {
		pr.Add("start", "must be a date YYYY-MM-DD")
	}
	m.start = start
	if len(p.Tiers) == 0 {
		pr.Add("tiers", "at least one tier required")
	}
	m.nTiers = len(p.Tiers)
	where := map[string]string{}
	for k, tier := range p.Tiers {
		if len(tier) == 0 {
			pr.Add(fmt.Sprintf("tiers[%d]", k), "a tier needs at least one region")
		}
		for j, r := range tier {
			path := fmt.Sprintf("tiers[%d][%d]", k, j)
			switch {
			case strings.TrimSpace(r) == "":
				pr.Add(path, "region required")
			case where[r] != "":
				pr.Add(path, "region %s is already in %s; a region belongs to one tier", r, where[r])
			default:
				where[r] = fmt.Sprintf("tiers[%d]", k)
				if r == "*" {
					m.wildcard = k
				} else {
					m.tierOfRegion[r] = k
				}
			}
		}
	}
	if len(p.Lots)+len(p.Orders) > maxItems {
		pr.Add("orders", "at most %d lots and orders together", maxItems)
	}
	// Products.
	known := map[string]bool{}
	for i, s := range p.Products {
		if strings.TrimSpace(s) == "" {
			pr.Add(fmt.Sprintf("products[%d]", i), "required")
		} else if known[s] {
			pr.Add(fmt.Sprintf("products[%d]", i), "product %s listed twice", s)
		}
		known[s] = true
	}
	explicitProducts := len(p.Products) > 0
	// Minimum ages.
	ageSet := map[int]bool{0: true}
	for _, r := range sortedKeys(p.Caps.MinLotAgeDays) {
		d := p.Caps.MinLotAgeDays[r]
		if d < 0 || d > maxAgeDays {
			pr.Add("caps.min_lot_age_days."+r, "must be between 0 and %d days", maxAgeDays)
			continue
		}
		ageSet[d] = true
	}
	for a := range ageSet {
		m.ages = append(m.ages, a)
	}
	sort.Ints(m.ages)
	// Lots.
	ids := make(map[string]int, max(len(p.Lots), len(p.Orders)))
	for i, l := range p.Lots {
		path := fmt.Sprintf("lots[%d]", i)
		if strings.TrimSpace(l.ID) == "" {
			pr.Add(path+".id", "required")
		} else if j, dup := ids[l.ID]; dup {
			pr.Add(path+".id", "lot %s already in lots[%d]", l.ID, j)
		} else {
			ids[l.ID] = i
		}
		if strings.TrimSpace(l.Product) == "" {
			pr.Add(path+".product", "required")
		} else if explicitProducts && !known[l.Product] {
			pr.Add(path+".product", "unknown product %s", l.Product)
		}
		if l.Quantity <= 0 || l.Quantity > maxQuantity {
			pr.Add(path+".quantity", "must be between 1 and %d", maxQuantity)
		}
		if l.Period < 0 || l.Period >= p.Periods {
			pr.Add(path+".period", "must be between 0 and periods-1 (%d)", p.Periods-1)
		}
		made, err := parseDate(l.Made)
		if err != nil {
			pr.Add(path+".made", "must be a date YYYY-MM-DD")
		} else if !start.IsZero() && p.PeriodDays > 0 {
			end := start.AddDate(0, 0, (l.Period+1)*p.PeriodDays)
			if !made.Before(end) {
				pr.Add(path+".period", "lot available in period %d (until %s) before it was made (%s)",
					l.Period, end.AddDate(0, 0, -1).Format(time.DateOnly), l.Made)
			}
		}
	}
	if !explicitProducts {
		for _, l := range p.Lots {
			known[l.Product] = true
		}
	}
	// Orders.
	clear(ids)
	buyerClass := map[string]domain.BuyerClass{}
	buyerFirst := map[string]int{}
	for i, o := range p.Orders {
		path := orderPath(i) // built only when a field is bad
		if strings.TrimSpace(o.ID) == "" {
			pr.Add(path()+".id", "required")
		} else if j, dup := ids[o.ID]; dup {
			pr.Add(path()+".id", "order %s already in orders[%d]", o.ID, j)
		} else {
			ids[o.ID] = i
		}
		if strings.TrimSpace(o.Buyer) == "" {
			pr.Add(path()+".buyer", "required")
		}
		if strings.TrimSpace(o.Region) == "" {
			pr.Add(path()+".region", "required")
		} else if m.tierOf(o.Region) < 0 && len(p.Tiers) > 0 {
			pr.Add(path()+".region", "region %s is in no tier", o.Region)
		}
		if !o.Class.Valid() {
			pr.Add(path()+".class", "must be one of platform, cloud, sme, research, university, government")
		} else if c, seen := buyerClass[o.Buyer]; seen && c != o.Class {
			pr.Add(path()+".class", "buyer %s is %s in orders[%d]; a buyer has one class", o.Buyer, c, buyerFirst[o.Buyer])
		} else if !seen {
			buyerClass[o.Buyer] = o.Class
			buyerFirst[o.Buyer] = i
		}
		if !known[o.Product] {
			pr.Add(path()+".product", "unknown product %q", o.Product)
		}
		if o.Quantity <= 0 || o.Quantity > maxQuantity {
			pr.Add(path()+".quantity", "must be between 1 and %d", maxQuantity)
		}
		if o.Period < 0 || o.Period >= p.Periods {
			pr.Add(path()+".period", "must be between 0 and periods-1 (%d)", p.Periods-1)
		}
		if math.IsNaN(o.Weight) || o.Weight < 0 || o.Weight > 1e9 || (o.Weight > 0 && o.Weight < 1e-6) {
			pr.Add(path()+".weight", "must be 0 (meaning 1) or between 0.000001 and 1e9")
		}
	}
	// Caps on buyers.
	for _, b := range sortedKeys(p.Caps.Buyer) {
		if p.Caps.Buyer[b] < 0 {
			pr.Add("caps.buyer."+b, "must not be negative")
		}
	}
	checkScoped := func(kind string, i int, id, buyer, product string, units int64, unitsField string, seen map[string]bool) {
		path := fmt.Sprintf("caps.%s[%d]", kind, i)
		if strings.TrimSpace(id) == "" {
			pr.Add(path+".id", "required")
		} else if seen[id] {
			pr.Add(path+".id", "%s listed twice", id)
		}
		seen[id] = true
		if strings.TrimSpace(buyer) == "" {
			pr.Add(path+".buyer", "required")
		}
		if product != "" && !known[product] {
			pr.Add(path+".product", "unknown product %q", product)
		}
		if units < 0 {
			pr.Add(path+"."+unitsField, "must not be negative")
		}
	}
	seenL, seenP := map[string]bool{}, map[string]bool{}
	for i, l := range p.Caps.Licenses {
		checkScoped("licenses", i, l.ID, l.Buyer, l.Product, l.Remaining, "remaining", seenL)
	}
	for i, q := range p.Caps.Permits {
		checkScoped("permits", i, q.ID, q.Buyer, q.Product, q.Quota, "quota", seenP)
	}
	// Reserve.
	m.reserved = map[domain.BuyerClass]bool{}
	if rs := p.Caps.Reserve; rs != nil {
		if rs.Share.Sign() < 0 || rs.Share.cmp(1, 1) > 0 {
			pr.Add("caps.reserve.share", "must be between 0 and 1")
		}
		for i, c := range rs.Classes {
			if !c.Valid() {
				pr.Add(fmt.Sprintf("caps.reserve.classes[%d]", i), "must be one of platform, cloud, sme, research, university, government")
			}
			m.reserved[c] = true
		}
		if len(rs.Classes) == 0 {
			m.reserved[domain.ClassSME] = true
			m.reserved[domain.ClassResearch] = true
		}
		m.share = rs.Share
	} else {
		// No reserve: the classes still name the share the metrics report.
		m.reserved[domain.ClassSME] = true
		m.reserved[domain.ClassResearch] = true
	}
	if len(pr) > 0 {
		return nil, pr.Err()
	}
	m.compileRatios(&pr)
	if len(pr) > 0 {
		return nil, pr.Err()
	}
	m.compileSupply()
	m.compileClasses(&pr)
	if len(pr) > 0 {
		return nil, pr.Err()
	}
	return m, nil
}

// compileRatios checks the ratio caps. The engine serves tiers in order, so
// a cap is exact when its base ("of") is whole tiers served before the
// capped regions: their totals are then known when the capped tier is
// served, and the cap is a plain limit on the capped group. The capped
// groups must nest or be disjoint so that they form a tree.
func (m *model) compileRatios(pr *domain.Problems) {
	p := m.p
	for i, rc := range p.Caps.RegionRatio {
		path := fmt.Sprintf("caps.region_ratio[%d]", i)
		if rc.Max.r == nil {
			pr.Add(path+".max", "required")
			continue
		}
		if rc.Max.Sign() < 0 {
			pr.Add(path+".max", "must not be negative")
			continue
		}
		if rc.PriorUnits < 0 || rc.PriorUnits > maxQuantity*maxQuantity {
			pr.Add(path+".prior_units", "must not be negative")
			continue
		}
		if rc.PriorBase < 0 || rc.PriorBase > maxQuantity*maxQuantity {
			pr.Add(path+".prior_base", "must not be negative")
			continue
		}
		c := ratioCap{index: i, tier: -1, regions: map[string]bool{}, of: map[string]bool{}, max: rc.Max,
			priorUnits: rc.PriorUnits, priorBase: rc.PriorBase}
		if len(rc.Region) == 0 {
			pr.Add(path+".region", "at least one region required")
			continue
		}
		if len(rc.Of) == 0 {
			pr.Add(path+".of", "at least one region required")
			continue
		}
		ok := true
		for _, r := range rc.Region {
			k, named := m.tierOfRegion[r]
			switch {
			case !named:
				pr.Add(path+".region", "region %q is in no tier", r)
				ok = false
			case c.tier >= 0 && c.tier != k:
				pr.Add(path+".region", "the capped regions must be in one tier; %s is in tiers[%d], not tiers[%d]", r, k, c.tier)
				ok = false
			default:
				c.tier = k
				c.regions[r] = true
			}
		}
		ofTiers := map[int]bool{}
		for _, r := range rc.Of {
			k, named := m.tierOfRegion[r]
			if !named {
				pr.Add(path+".of", "region %q is in no tier", r)
				ok = false
				continue
			}
			c.of[r] = true
			ofTiers[k] = true
		}
		if !ok {
			continue
		}
		for k := range ofTiers {
			c.ofTiers = append(c.ofTiers, k)
		}
		sort.Ints(c.ofTiers) // so that errors name the same tier every time
		for _, k := range c.ofTiers {
			if k >= c.tier {
				pr.Add(path+".of", "the base regions must be served in a tier before the capped regions (tiers[%d])", c.tier)
				ok = false
				break
			}
			for _, r := range p.Tiers[k] {
				if !c.of[r] {
					pr.Add(path+".of", "the base must be whole tiers: tiers[%d] also has %s", k, r)
					ok = false
					break
				}
			}
		}
		if !ok {
			continue
		}
		m.ratios = append(m.ratios, c)
	}
	// The capped groups must be laminar.
	for i := range m.ratios {
		for j := i + 1; j < len(m.ratios); j++ {
			a, b := m.ratios[i].regions, m.ratios[j].regions
			inter, aInB, bInA := 0, true, true
			for r := range a {
				if b[r] {
					inter++
				} else {
					aInB = false
				}
			}
			for r := range b {
				if !a[r] {
					bInA = false
				}
			}
			if inter > 0 && !aInB && !bInA {
				pr.Add(fmt.Sprintf("caps.region_ratio[%d].region", m.ratios[j].index),
					"overlaps caps.region_ratio[%d].region without containing it or being inside it", m.ratios[i].index)
			}
		}
	}
}

// ageDays is the number of whole days from a to b.
func ageDays(a, b time.Time) int { return int(b.Sub(a).Hours() / 24) }

// compileSupply finds, for each lot and age level, the first period the lot
// may be sent to a region of that level, and pools the supply per product
// and highest level reached within the horizon.
func (m *model) compileSupply() {
	p := m.p
	for _, l := range p.Lots {
		if _, ok := m.prodIdx[l.Product]; !ok {
			m.prodIdx[l.Product] = len(m.prods)
			m.prods = append(m.prods, l.Product)
		}
	}
	for _, o := range p.Orders {
		if _, ok := m.prodIdx[o.Product]; !ok {
			m.prodIdx[o.Product] = len(m.prods)
			m.prods = append(m.prods, o.Product)
		}
	}
	nl := len(m.ages)
	m.supply = make([][]int64, len(m.prods))
	for i := range m.supply {
		m.supply[i] = make([]int64, nl)
	}
	m.lotProd = make([]int, len(p.Lots))
	m.lotLevel = make([]int, len(p.Lots))
	m.lotElig = make([][]int32, len(p.Lots))
	flat := make([]int32, len(p.Lots)*nl)
	pd := p.PeriodDays
	for i, l := range p.Lots {
		made, _ := parseDate(l.Made)
		off := ageDays(m.start, made) // days from start to made, may be negative
		el := flat[i*nl : (i+1)*nl : (i+1)*nl]
		level := -1
		for j, a := range m.ages {
			// First period t whose first day start+t·pd is at least made+a.
			need := off + a
			t := 0
			if need > 0 {
				t = (need + pd - 1) / pd
			}
			t = max(t, l.Period)
			if t > p.Periods {
				t = p.Periods
			}
			el[j] = int32(t)
			if t < p.Periods {
				level = j
			}
		}
		m.lotElig[i] = el
		m.lotProd[i] = m.prodIdx[l.Product]
		m.lotLevel[i] = level
		if level >= 0 {
			m.supply[m.lotProd[i]][level] += l.Quantity
		}
	}
}

// compileClasses groups orders into classes and builds the cap tree.
func (m *model) compileClasses(pr *domain.Problems) {
	p := m.p
	n := len(p.Orders)
	m.orderClass = make([]int, n)
	m.orderWeight = make([]float64, n)
	m.orderTier = make([]int, n)
	// Ratio groups become cap nodes, larger groups first, so that the
	// innermost group holding a region is the last one created (the groups
	// are laminar: the groups holding a region form a chain).
	order := make([]int, len(m.ratios))
	for i := range order {
		order[i] = i
		m.ratios[i].node = -1
	}
	sort.SliceStable(order, func(a, b int) bool { return len(m.ratios[order[a]].regions) > len(m.ratios[order[b]].regions) })
	for _, i := range order {
		rc := &m.ratios[i]
		parent := -1
		for _, j := range order {
			o := &m.ratios[j]
			if o.node < 0 {
				continue
			}
			inside := true
			for r := range rc.regions {
				if !o.regions[r] {
					inside = false
					break
				}
			}
			if inside && o.node > parent {
				parent = o.node
			}
		}
		rc.node = len(m.nodes)
		m.nodes = append(m.nodes, capNode{parent: parent, tier: rc.tier, name: fmt.Sprintf("region_ratio[%d]", rc.index)})
	}
	groupOf := func(region string) int { // innermost group node holding region, or -1
		best := -1
		for _, rc := range m.ratios {
			if rc.regions[region] && rc.node > best {
				best = rc.node
			}
		}
		return best
	}
	// Buyer-level and buyer-product caps.
	type scoped struct {
		sum   int64
		names []string
	}
	lic := map[[2]string]*scoped{}
	per := map[[2]string]*scoped{}
	licWide, licProd := map[string]bool{}, map[string]bool{}
	perWide, perProd := map[string]bool{}, map[string]bool{}
	for i, l := range p.Caps.Licenses {
		k := [2]string{l.Buyer, l.Product}
		if lic[k] == nil {
			lic[k] = &scoped{}
		}
		lic[k].sum += l.Remaining
		lic[k].names = append(lic[k].names, l.ID)
		if l.Product == "" {
			licWide[l.Buyer] = true
		} else {
			licProd[l.Buyer] = true
		}
		if licWide[l.Buyer] && licProd[l.Buyer] {
			pr.Add(fmt.Sprintf("caps.licenses[%d].product", i), "buyer %s has licenses with and without a product; give every license of a buyer a product, or none", l.Buyer)
		}
	}
	for i, q := range p.Caps.Permits {
		k := [2]string{q.Buyer, q.Product}
		if per[k] == nil {
			per[k] = &scoped{}
		}
		per[k].sum += q.Quota
		per[k].names = append(per[k].names, q.ID)
		if q.Product == "" {
			perWide[q.Buyer] = true
		} else {
			perProd[q.Buyer] = true
		}
		if perWide[q.Buyer] && perProd[q.Buyer] {
			pr.Add(fmt.Sprintf("caps.permits[%d].product", i), "buyer %s has permits with and without a product; give every permit of a buyer a product, or none", q.Buyer)
		}
	}
	capped := func(b string) bool {
		_, bc := p.Caps.Buyer[b]
		return bc || licWide[b] || licProd[b] || perWide[b] || perProd[b]
	}
	// A capped buyer's orders must lie in one tier and one ratio group, so
	// that its cap node has one place in the tree.
	buyerTier := map[string]int{}
	buyerGroup := map[string]int{}
	buyerFirst := map[string]int{}
	for i, o := range p.Orders {
		k := m.tierOf(o.Region)
		g := groupOf(o.Region)
		m.orderTier[i] = k
		if !capped(o.Buyer) {
			continue
		}
		if j, seen := buyerFirst[o.Buyer]; seen {
			if buyerTier[o.Buyer] != k {
				pr.Add(fmt.Sprintf("orders[%d].region", i), "buyer %s has caps and orders for regions in two tiers (see orders[%d]); a capped buyer orders within one tier", o.Buyer, j)
			} else if buyerGroup[o.Buyer] != g {
				pr.Add(fmt.Sprintf("orders[%d].region", i), "buyer %s has caps and orders for regions inside and outside one capped region group (see orders[%d])", o.Buyer, j)
			}
			continue
		}
		buyerFirst[o.Buyer], buyerTier[o.Buyer], buyerGroup[o.Buyer] = i, k, g
	}
	if len(*pr) > 0 {
		return
	}
	buyerNode := map[string]int{}
	bpNode := map[[2]string]int{}
	classIdx := map[[3]string]int{}
	for i, o := range p.Orders {
		w := o.Weight
		if w == 0 {
			w = 1
		}
		m.orderWeight[i] = w
		key := [3]string{o.Buyer, o.Product, o.Region}
		ci, ok := classIdx[key]
		if !ok {
			ci = len(m.classes)
			classIdx[key] = ci
			parent := groupOf(o.Region)
			if capped(o.Buyer) {
				// Buyer-wide node: buyer cap, buyer-wide licenses and permits.
				bn, ok := buyerNode[o.Buyer]
				if !ok {
					bn = -1
					cap, name := int64(math.MaxInt64), ""
					if v, ok := p.Caps.Buyer[o.Buyer]; ok && v < cap {
						cap, name = v, "buyer:"+o.Buyer
					}
					if s := lic[[2]string{o.Buyer, ""}]; s != nil && s.sum < cap {
						cap, name = s.sum, "license:"+strings.Join(s.names, "+")
					}
					if s := per[[2]string{o.Buyer, ""}]; s != nil && s.sum < cap {
						cap, name = s.sum, "permit:"+strings.Join(s.names, "+")
					}
					if name != "" {
						bn = len(m.nodes)
						m.nodes = append(m.nodes, capNode{parent: parent, tier: m.orderTier[i], cap: cap, name: name})
					}
					buyerNode[o.Buyer] = bn
				}
				if bn >= 0 {
					parent = bn
				}
				// Buyer-product node: product-scoped licenses and permits. A
				// buyer whose licenses name products has none for others.
				bk := [2]string{o.Buyer, o.Product}
				pn, ok := bpNode[bk]
				if !ok {
					pn = -1
					cap, name := int64(math.MaxInt64), ""
					if licProd[o.Buyer] {
						cap, name = 0, "license:none for "+o.Buyer+"/"+o.Product
						if s := lic[bk]; s != nil {
							cap, name = s.sum, "license:"+strings.Join(s.names, "+")
						}
					}
					if perProd[o.Buyer] {
						c2, n2 := int64(0), "permit:none for "+o.Buyer+"/"+o.Product
						if s := per[bk]; s != nil {
							c2, n2 = s.sum, "permit:"+strings.Join(s.names, "+")
						}
						if c2 < cap {
							cap, name = c2, n2
						}
					}
					if name != "" {
						pn = len(m.nodes)
						m.nodes = append(m.nodes, capNode{parent: parent, tier: m.orderTier[i], cap: cap, name: name})
					}
					bpNode[bk] = pn
				}
				if pn >= 0 {
					parent = pn
				}
			}
			m.classes = append(m.classes, class{
				buyer: o.Buyer, region: o.Region, tier: m.orderTier[i], prod: m.prodIdx[o.Product],
				level: m.levelOf(o.Region), reserved: m.reserved[o.Class], parent: parent,
			})
		}
		m.orderClass[i] = ci
		c := &m.classes[ci]
		c.orders = append(c.orders, i)
		c.demand += o.Quantity
	}
	sat := make([]float64, n)
	for i, o := range p.Orders {
		sat[i] = float64(o.Quantity) / m.orderWeight[i]
	}
	for ci := range m.classes {
		c := &m.classes[ci]
		slices.SortFunc(c.orders, func(x, y int) int {
			if d := cmp.Compare(sat[x], sat[y]); d != 0 {
				return d
			}
			return cmp.Compare(x, y)
		})
	}
}
