package allocation

import (
	"container/heap"
	"math"
	"sort"
)

// engine decides the units per class: first the tiers' totals, then the
// fair split inside each tier.
type engine struct {
	m *model
	// Network layout.
	nl          int // age levels
	nNodes      int
	tierBase    int
	capBase     int
	eu, ev      []int32 // edge endpoints
	ehi         []int64 // edge upper bounds
	classEdge   []int
	nodeEdge    []int
	tierEdge    []int
	tierTotal   []int64 // the lexicographic optimum per tier
	x           []int64 // units per class
	scratch     *flowNet
	checks      int // feasibility checks run, for tests and benchmarks
	baseExcess  []int64
	tierClasses [][]int
}

func (e *engine) acc(p, j int) int { return 2 + p*e.nl + j }

func (e *engine) parentNode(parent, tier int) int {
	if parent < 0 {
		return e.tierBase + tier
	}
	return e.capBase + parent
}

func (e *engine) addSpec(u, v int, hi int64) int {
	e.eu = append(e.eu, int32(u))
	e.ev = append(e.ev, int32(v))
	e.ehi = append(e.ehi, hi)
	return len(e.eu) - 1
}

func newEngine(m *model) *engine {
	e := &engine{m: m, nl: len(m.ages)}
	np := len(m.prods)
	e.tierBase = 2 + np*e.nl
	e.capBase = e.tierBase + m.nTiers
	e.nNodes = e.capBase + len(m.nodes)
	for p := 0; p < np; p++ {
		for j := 0; j < e.nl; j++ {
			e.addSpec(0, e.acc(p, j), m.supply[p][j])
			if j+1 < e.nl {
				e.addSpec(e.acc(p, j+1), e.acc(p, j), inf)
			}
		}
	}
	e.classEdge = make([]int, len(m.classes))
	e.tierClasses = make([][]int, m.nTiers)
	for ci, c := range m.classes {
		e.classEdge[ci] = e.addSpec(e.acc(c.prod, c.level), e.parentNode(c.parent, c.tier), c.demand)
		e.tierClasses[c.tier] = append(e.tierClasses[c.tier], ci)
	}
	e.nodeEdge = make([]int, len(m.nodes))
	for i, n := range m.nodes {
		e.nodeEdge[i] = e.addSpec(e.capBase+i, e.parentNode(n.parent, n.tier), n.cap)
	}
	e.tierEdge = make([]int, m.nTiers)
	for k := 0; k < m.nTiers; k++ {
		e.tierEdge[k] = e.addSpec(e.tierBase+k, 1, 0)
	}
	e.x = make([]int64, len(m.classes))
	return e
}

// totals computes the lexicographically optimal tier totals: tier 0 as
// many units as any feasible allocation gives it, then tier 1 as many as
// possible given that, and so on. Each tier's sink edge is opened in turn
// and Dinic's algorithm augments from the previous flow; augmenting paths
// end at the sink and never run backwards through a sink edge, so an
// earlier tier's total never drops, while the paths may reroute earlier
// tiers' units through other lots, classes and caps (a US order moved from
// an old lot to a young one so that the old lot can go to CN).
func (e *engine) totals() {
	m := e.m
	g := newFlowNet(e.nNodes, len(e.eu))
	for i := range e.eu {
		g.addEdge(int(e.eu[i]), int(e.ev[i]), e.ehi[i])
	}
	e.tierTotal = make([]int64, m.nTiers)
	for k := 0; k < m.nTiers; k++ {
		for _, rc := range m.ratios {
			if rc.tier != k {
				continue
			}
			var base int64
			for _, j := range rc.ofTiers {
				base += e.tierTotal[j]
			}
			lim := rc.max.Floor(base)
			m.nodes[rc.node].cap = lim
			e.ehi[e.nodeEdge[rc.node]] = lim
			g.cap[2*e.nodeEdge[rc.node]] = lim
		}
		te := 2 * e.tierEdge[k]
		g.cap[te] = inf
		e.tierTotal[k] = g.maxFlow(0, 1, inf)
		g.cap[te] = 0
		e.ehi[e.tierEdge[k]] = e.tierTotal[k]
	}
}

// feasible reports whether some allocation gives every class at least
// low(c) units, every tier exactly its optimal total, and keeps every
// cap, supply and age rule. It is a flow with lower bounds, checked by the
// standard reduction to a maximum flow from a super source.
func (e *engine) feasible(low func(c int) int64) bool {
	e.checks++
	n := e.nNodes
	if e.scratch == nil {
		e.scratch = newFlowNet(n+2, len(e.eu)+n+1)
		e.baseExcess = make([]int64, n)
	}
	g := e.scratch
	g.to, g.cap, g.next = g.to[:0], g.cap[:0], g.next[:0]
	for i := range g.head {
		g.head[i] = -1
	}
	ex := e.baseExcess
	clear(ex)
	ci := 0
	for i := range e.eu {
		u, v, hi := int(e.eu[i]), int(e.ev[i]), e.ehi[i]
		var lo int64
		switch {
		case ci < len(e.classEdge) && e.classEdge[ci] == i:
			lo = low(ci)
			ci++
			if lo > hi {
				return false
			}
		case v == 1: // tier edges carry exactly the tier's total
			lo = hi
		}
		if hi-lo > 0 {
			g.addEdge(u, v, hi-lo)
		}
		ex[v] += lo
		ex[u] -= lo
	}
	g.addEdge(1, 0, inf)
	var need int64
	for v, x := range ex {
		switch {
		case x > 0:
			g.addEdge(n, v, x)
			need += x
		case x < 0:
			g.addEdge(v, n+1, -x)
		}
	}
	return g.maxFlow(n, n+1, need) == need
}

// Class water-filling: f_c(λ) = Σ min(q_o, λ·w_o) over the class's orders is
// the class's units when every order is at level λ (units per weight).

// amountAt returns ⌊f_c(λ)⌋ capped at the class demand.
func (e *engine) amountAt(ci int, lam float64) int64 {
	m := e.m
	c := &m.classes[ci]
	var sat, w float64
	for _, o := range c.orders {
		q := float64(m.p.Orders[o].Quantity)
		wo := m.orderWeight[o]
		if q <= lam*wo {
			sat += q
		} else {
			w += wo
		}
	}
	v := sat + lam*w
	f := int64(math.Floor(v*(1+1e-12) + 1e-9))
	return min(f, c.demand)
}

// nextLevel returns the level λ at which the class reaches x+1 units.
func (e *engine) nextLevel(ci int, x int64) float64 {
	m := e.m
	c := &m.classes[ci]
	target := float64(x + 1)
	var sat float64
	var w float64
	for _, o := range c.orders {
		w += m.orderWeight[o]
	}
	for _, o := range c.orders {
		q := float64(m.p.Orders[o].Quantity)
		wo := m.orderWeight[o]
		s := q / wo // orders are sorted by s
		if sat+s*w >= target {
			return (target - sat) / w
		}
		sat += q
		w -= wo
	}
	return math.Inf(1)
}

// satLevel is the level at which every order of the class is full.
func (e *engine) satLevel(ci int) float64 {
	m := e.m
	c := &m.classes[ci]
	o := c.orders[len(c.orders)-1]
	return float64(m.p.Orders[o].Quantity) / m.orderWeight[o]
}

type levelItem struct {
	lam float64
	ci  int
}
type levelHeap []levelItem

func (h levelHeap) Len() int { return len(h) }
func (h levelHeap) Less(i, j int) bool {
	if h[i].lam != h[j].lam {
		return h[i].lam < h[j].lam
	}
	return h[i].ci < h[j].ci
}
func (h levelHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *levelHeap) Push(x any)   { *h = append(*h, x.(levelItem)) }
func (h *levelHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

// fill raises the classes in act by weighted water-filling (progressive
// filling): all of them rise to a common level λ of units per weight until
// one cannot rise further without lowering another, which then stays where
// it is, and the rest go on. Feasibility is exact (a flow check), so a
// class stops only when it is truly blocked. limit, when ≥ 0, caps the
// units the classes in act may hold together (the reserve).
//
// To keep the number of flow checks small, λ is found by bisection over
// the points where the integer amounts change; at the last step units are
// handed out one at a time in the order of the level they bring their
// class to (ties: class order, which is input order), which is the integer
// water-filling exactly.
func (e *engine) fill(k int, act []int, limit int64) {
	x := e.x
	tier := e.tierClasses[k]
	sumTier := func() int64 {
		var s int64
		for _, c := range tier {
			s += x[c]
		}
		return s
	}
	sumAct := func(v map[int]int64) int64 {
		var s int64
		for _, c := range act {
			s += v[c]
		}
		return s
	}
	inAct := map[int]bool{}
	for _, c := range act {
		inAct[c] = true
	}
	check := func(v map[int]int64) bool {
		var s, sa int64
		for _, c := range tier {
			if y, ok := v[c]; ok {
				s += y
				sa += y
			} else {
				s += x[c]
			}
		}
		if s > e.tierTotal[k] || (limit >= 0 && sa > limit) {
			return false
		}
		return e.feasible(func(c int) int64 {
			if y, ok := v[c]; ok {
				return y
			}
			return x[c]
		})
	}
	vec := func(lam float64) map[int]int64 {
		v := make(map[int]int64, len(act))
		for _, c := range act {
			v[c] = max(x[c], e.amountAt(c, lam))
		}
		return v
	}
	same := func(a, b map[int]int64) bool {
		for _, c := range act {
			if a[c] != b[c] {
				return false
			}
		}
		return true
	}
	commit := func(v map[int]int64) {
		for c, y := range v {
			x[c] = y
		}
	}
	cur := 0.0
	for {
		// Drop full classes; stop when nothing can rise.
		j := 0
		for _, c := range act {
			if x[c] < e.m.classes[c].demand {
				act[j] = c
				j++
			}
		}
		act = act[:j]
		if len(act) == 0 || sumTier() >= e.tierTotal[k] {
			return
		}
		cx := map[int]int64{}
		for _, c := range act {
			cx[c] = x[c]
		}
		if limit >= 0 && sumAct(cx) >= limit {
			return
		}
		hi := cur
		for _, c := range act {
			hi = max(hi, e.satLevel(c))
		}
		vhi := vec(hi)
		if check(vhi) {
			commit(vhi)
			return
		}
		lo := cur
		for it := 0; it < 200; it++ {
			mid := lo + (hi-lo)/2
			if mid <= lo || mid >= hi {
				break
			}
			v := vec(mid)
			switch {
			case same(v, cx):
				lo = mid
			case same(v, vhi):
				hi = mid
			case check(v):
				commit(v)
				cx = v
				lo = mid
			default:
				hi, vhi = mid, v
			}
		}
		cur = lo
		// Hand out single units in level order until one class is blocked.
		h := &levelHeap{}
		for _, c := range act {
			heap.Push(h, levelItem{e.nextLevel(c, x[c]), c})
		}
		blocked := -1
		for h.Len() > 0 && blocked < 0 {
			it := heap.Pop(h).(levelItem)
			c := it.ci
			if limit >= 0 {
				var s int64
				for _, a := range act {
					s += x[a]
				}
				if s >= limit {
					return
				}
			}
			if sumTier() >= e.tierTotal[k] {
				return
			}
			if check(map[int]int64{c: x[c] + 1}) {
				x[c]++
				cur = max(cur, it.lam)
				if x[c] < e.m.classes[c].demand {
					heap.Push(h, levelItem{e.nextLevel(c, x[c]), c})
				}
			} else {
				blocked = c
			}
		}
		if blocked >= 0 {
			j := 0
			for _, c := range act {
				if c != blocked {
					act[j] = c
					j++
				}
			}
			act = act[:j]
		}
	}
}

// fair splits each tier's total among its classes, tier by tier: first the
// reserve classes by water-filling up to their share of the tier, then all
// classes by water-filling from there. Each tier's split is fixed before
// the next tier is split, and every check keeps all tiers' totals.
func (e *engine) fair() {
	m := e.m
	for k := 0; k < m.nTiers; k++ {
		if e.tierTotal[k] == 0 {
			continue
		}
		if m.share.Sign() > 0 {
			var res []int
			for _, c := range e.tierClasses[k] {
				if m.classes[c].reserved {
					res = append(res, c)
				}
			}
			if len(res) > 0 {
				e.fill(k, res, m.share.Floor(e.tierTotal[k]))
			}
		}
		all := append([]int(nil), e.tierClasses[k]...)
		e.fill(k, all, -1)
	}
}

// splitClass shares a class's units among its orders by weighted
// water-filling: each order gets min(quantity, λ·weight) for the λ that
// uses the units up, rounded down, and the units left by rounding go to
// the orders with the largest remainders (ties: input order).
func (e *engine) splitClass(ci int, units int64, out []int64) {
	m := e.m
	c := &m.classes[ci]
	if units <= 0 {
		return
	}
	if units >= c.demand {
		for _, o := range c.orders {
			out[o] = m.p.Orders[o].Quantity
		}
		return
	}
	lam := e.nextLevel(ci, units-1) // level at which the class holds units
	var sum int64
	type rem struct {
		o int
		r float64
	}
	rs := make([]rem, 0, len(c.orders))
	for _, o := range c.orders {
		q := m.p.Orders[o].Quantity
		v := lam * m.orderWeight[o]
		if float64(q) <= v {
			out[o] = q
		} else {
			f := math.Floor(v)
			out[o] = min(int64(f), q-1)
			rs = append(rs, rem{o, v - f})
		}
		sum += out[o]
	}
	// Float rounding can overshoot by a unit; take it back from the
	// smallest remainders.
	sort.SliceStable(rs, func(a, b int) bool {
		if rs[a].r != rs[b].r {
			return rs[a].r > rs[b].r
		}
		return rs[a].o < rs[b].o
	})
	for i := len(rs) - 1; sum > units && i >= 0; i-- {
		if out[rs[i].o] > 0 {
			out[rs[i].o]--
			sum--
		}
	}
	for pass := 0; pass < 3 && sum < units; pass++ {
		for _, r := range rs {
			if sum < units && out[r.o] < m.p.Orders[r.o].Quantity {
				out[r.o]++
				sum++
			}
		}
	}
}
