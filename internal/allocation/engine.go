package allocation

import (
	"cmp"
	"container/heap"
	"math"
	"slices"
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
	curves      []classCurve
	nodeClasses [][]int  // classes below each cap node
	held        *flowNet // the current flow, as a residual network with lower bounds
	specTE      []int    // per spec edge, its edge in the scratch network
	specLo      []int64  // per spec edge, its lower bound in the last check
	via         []int32  // residual search: the edge each node was reached by
	baseExcess  []int64  // lower-bound reduction: per node, inflow less outflow of the bounds
	tierClasses [][]int  // classes per tier
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
	e.buildCurves()
	e.nodeClasses = make([][]int, len(m.nodes))
	for ci, c := range m.classes {
		for n := c.parent; n >= 0; n = m.nodes[n].parent {
			e.nodeClasses[n] = append(e.nodeClasses[n], ci)
		}
	}
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
			lim := rc.limit(base)
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
// low[c] units, every tier exactly its optimal total, and keeps every cap,
// supply and age rule. It is a flow with lower bounds, checked by the
// standard reduction to a maximum flow from a super source.
//
// On success the flow it found becomes the current flow (see held), with
// low as the classes' lower bounds.
func (e *engine) feasible(low []int64) bool {
	e.checks++
	n := e.nNodes
	if e.scratch == nil {
		e.scratch = newFlowNet(n+2, len(e.eu)+n+1)
		e.baseExcess = make([]int64, n)
		e.specTE = make([]int, len(e.eu))
		e.specLo = make([]int64, len(e.eu))
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
			lo = low[ci]
			ci++
			if lo > hi {
				return false
			}
		case v == 1: // tier edges carry exactly the tier's total
			lo = hi
		}
		e.specLo[i] = lo
		e.specTE[i] = -1
		if hi-lo > 0 {
			e.specTE[i] = g.addEdge(u, v, hi-lo)
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
	if g.maxFlow(n, n+1, need) != need {
		return false
	}
	// Keep the flow as the current one: edge i of the spec is edge 2i of
	// held, with residual hi−f forward and f−lo backward.
	if e.held == nil {
		e.held = newFlowNet(n, len(e.eu))
		for i := range e.eu {
			e.held.addEdge(int(e.eu[i]), int(e.ev[i]), 0)
		}
	}
	for i := range e.eu {
		f := e.specLo[i]
		if te := e.specTE[i]; te >= 0 {
			f += g.cap[te^1]
		}
		e.held.cap[2*i] = e.ehi[i] - f
		e.held.cap[2*i+1] = f - e.specLo[i]
	}
	return true
}

// slack returns how many units above its lower bound class c has in the
// current flow.
func (e *engine) slack(c int) int64 { return e.held.cap[2*e.classEdge[c]+1] }

// raise adds one unit to class c's lower bound if the current flow can be
// rerouted to give it: either the flow already has a unit above the bound,
// or a residual path leads from the class's cap node back to its supply
// pool, which with the class's edge is a cycle that keeps every tier's
// total and every other lower bound. One search instead of a new flow.
func (e *engine) raise(c int) bool {
	g := e.held
	ce := 2 * e.classEdge[c]
	if g.cap[ce+1] > 0 {
		g.cap[ce+1]--
		return true
	}
	if g.cap[ce] <= 0 {
		return false
	}
	e.checks++
	from, to := e.ev[e.classEdge[c]], e.eu[e.classEdge[c]]
	if e.via == nil {
		e.via = make([]int32, len(g.head))
	}
	for i := range e.via {
		e.via[i] = -1
	}
	e.via[from] = -2
	q := append(g.queue[:0], from)
	for i := 0; i < len(q) && e.via[to] == -1; i++ {
		u := q[i]
		for ed := g.head[u]; ed >= 0; ed = g.next[ed] {
			v := g.to[ed]
			if g.cap[ed] > 0 && e.via[v] == -1 {
				e.via[v] = ed
				q = append(q, v)
			}
		}
	}
	g.queue = q
	if e.via[to] == -1 {
		return false
	}
	for v := to; v != from; v = g.to[e.via[v]^1] {
		ed := e.via[v]
		g.cap[ed]--
		g.cap[ed^1]++
	}
	g.cap[ce]-- // one more unit on the class edge, taken as its new bound
	return true
}

// blockedClasses returns the classes of act (those still active) that can
// get no unit more in the current flow without another losing one: no
// slack above their bound, and no residual path from their cap node back
// to their supply pool. It searches backwards from each pool once.
func (e *engine) blockedClasses(act []int, active []bool) []int {
	g := e.held
	reach := map[int32][]bool{}
	var out []int
	for _, c := range act {
		if !active[c] {
			continue
		}
		ce := e.classEdge[c]
		if g.cap[2*ce+1] > 0 {
			continue // slack: it can rise without any search
		}
		head, tail := e.ev[ce], e.eu[ce]
		r, ok := reach[tail]
		if !ok {
			r = make([]bool, len(g.head))
			r[tail] = true
			q := []int32{tail}
			for i := 0; i < len(q); i++ {
				v := q[i]
				for ed := g.head[v]; ed >= 0; ed = g.next[ed] {
					u := g.to[ed] // the residual edge u→v is ed^1
					if g.cap[ed^1] > 0 && !r[u] {
						r[u] = true
						q = append(q, u)
					}
				}
			}
			reach[tail] = r
		}
		if g.cap[2*ce] <= 0 || !r[head] {
			out = append(out, c)
		}
	}
	return out
}

// fits reports whether the current flow already gives every class at
// least w[c] (x is the current bound); commit moves the bounds to w.
func (e *engine) fits(w, x []int64) bool {
	for c := range w {
		if w[c] > x[c]+e.slack(c) {
			return false
		}
	}
	return true
}

func (e *engine) commitBounds(w, x []int64) {
	for c := range w {
		e.held.cap[2*e.classEdge[c]+1] -= w[c] - x[c]
	}
}

// Class water-filling: f_c(λ) = Σ min(q_o, λ·w_o) over the class's orders is
// the class's units when every order is at level λ (units per weight).

// classCurve holds a class's water-filling curve: its orders' saturation
// levels (quantity/weight) in ascending order, the quantities of the
// orders saturated before each, and the weights of those not yet.
type classCurve struct {
	sat  []float64
	cumQ []float64 // cumQ[i]: quantities of orders 0..i-1
	sufW []float64 // sufW[i]: weights of orders i..n-1
}

func (e *engine) buildCurves() {
	m := e.m
	e.curves = make([]classCurve, len(m.classes))
	for ci := range m.classes {
		c := &m.classes[ci]
		n := len(c.orders)
		cv := classCurve{sat: make([]float64, n), cumQ: make([]float64, n+1), sufW: make([]float64, n+1)}
		for i, o := range c.orders {
			q := float64(m.p.Orders[o].Quantity)
			cv.sat[i] = q / m.orderWeight[o]
			cv.cumQ[i+1] = cv.cumQ[i] + q
		}
		for i := n - 1; i >= 0; i-- {
			cv.sufW[i] = cv.sufW[i+1] + m.orderWeight[c.orders[i]]
		}
		e.curves[ci] = cv
	}
}

// amountAt returns ⌊f_c(λ)⌋ capped at the class demand.
func (e *engine) amountAt(ci int, lam float64) int64 {
	cv := &e.curves[ci]
	i := sort.Search(len(cv.sat), func(j int) bool { return cv.sat[j] > lam })
	if i == len(cv.sat) {
		return e.m.classes[ci].demand // every order full; also avoids ∞·0
	}
	v := cv.cumQ[i] + lam*cv.sufW[i]
	f := int64(math.Floor(v*(1+1e-12) + 1e-9))
	return min(f, e.m.classes[ci].demand)
}

// nextLevel returns the level λ at which the class reaches x+1 units.
func (e *engine) nextLevel(ci int, x int64) float64 {
	cv := &e.curves[ci]
	target := float64(x + 1)
	n := len(cv.sat)
	i := sort.Search(n, func(j int) bool { return cv.cumQ[j]+cv.sat[j]*cv.sufW[j] >= target })
	if i == n {
		return math.Inf(1)
	}
	return (target - cv.cumQ[i]) / cv.sufW[i]
}

// satLevel is the level at which every order of the class is full.
func (e *engine) satLevel(ci int) float64 {
	cv := &e.curves[ci]
	return cv.sat[len(cv.sat)-1]
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
	m := e.m
	x := e.x
	tier := e.tierClasses[k]
	active := make([]bool, len(x))
	for _, c := range act {
		active[c] = true
	}
	// v is a candidate: x outside act.
	v := append([]int64(nil), x...)
	sumOver := func(w []int64, cs []int) int64 {
		var s int64
		for _, c := range cs {
			s += w[c]
		}
		return s
	}
	// check reports whether the candidate w is feasible and, if so, makes
	// it the classes' bounds (the caller then sets x to w).
	check := func(w []int64) bool {
		if sumOver(w, tier) > e.tierTotal[k] || (limit >= 0 && sumOver(w, act) > limit) {
			return false
		}
		if e.held != nil && e.fits(w, x) {
			e.commitBounds(w, x)
			return true
		}
		return e.feasible(w)
	}
	if e.held == nil && !e.feasible(x) {
		panic("allocation: the tier totals are infeasible") // they come from a flow
	}
	// clip[c] is the level at which a cap node above c fills, found
	// directly rather than by flow checks: a node's classes stop there.
	// The node's last units (its cap less the rounded-down shares at that
	// level) go one each, as extra[c], to its classes in the order of the
	// level their next unit brings them to, which is where the integer
	// water-filling hands them out.
	clip := make([]float64, len(x))
	extra := make([]int64, len(x))
	amt := func(c int, lam float64) int64 {
		if lam >= clip[c] {
			return max(x[c], e.amountAt(c, clip[c])) + extra[c]
		}
		return max(x[c], e.amountAt(c, lam))
	}
	computeClips := func() {
		for _, c := range act {
			clip[c] = math.Inf(1)
			extra[c] = 0
		}
		for n := len(m.nodes) - 1; n >= 0; n-- { // children are created after parents
			if m.nodes[n].tier != k {
				continue
			}
			sub := e.nodeClasses[n]
			g := func(lam float64) int64 {
				var s int64
				for _, c := range sub {
					if active[c] {
						s += amt(c, lam)
					} else {
						s += x[c]
					}
				}
				return s
			}
			cap := m.nodes[n].cap
			if g(math.Inf(1)) <= cap {
				continue
			}
			lo, hi := 0.0, 1.0
			for g(hi) <= cap {
				hi *= 2
			}
			for it := 0; it < 100; it++ {
				mid := lo + (hi-lo)/2
				if mid <= lo || mid >= hi {
					break
				}
				if g(mid) <= cap {
					lo = mid
				} else {
					hi = mid
				}
			}
			left := cap - g(lo)
			var free []levelItem
			for _, c := range sub {
				if active[c] && clip[c] > lo {
					base := max(x[c], e.amountAt(c, lo))
					clip[c], extra[c] = lo, 0
					if base < m.classes[c].demand {
						free = append(free, levelItem{e.nextLevel(c, base), c})
					}
				}
			}
			slices.SortFunc(free, func(a, b levelItem) int {
				if d := cmp.Compare(a.lam, b.lam); d != 0 {
					return d
				}
				return cmp.Compare(a.ci, b.ci)
			})
			for i := 0; left > 0 && i < len(free); i++ {
				extra[free[i].ci]++
				left--
			}
		}
	}
	vec := func(lam float64) {
		for _, c := range act {
			v[c] = amt(c, lam)
		}
	}
	sameAs := func(w []int64) bool {
		for _, c := range act {
			if v[c] != w[c] {
				return false
			}
		}
		return true
	}
	nodeUse := make([]int64, len(m.nodes))
	cur := 0.0
	for {
		// Drop full classes; stop when nothing can rise.
		j := 0
		for _, c := range act {
			if x[c] < m.classes[c].demand {
				act[j] = c
				j++
			} else {
				active[c] = false
			}
		}
		act = act[:j]
		if len(act) == 0 || sumOver(x, tier) >= e.tierTotal[k] || (limit >= 0 && sumOver(x, act) >= limit) {
			return
		}
		copy(v, x) // v must equal x outside act; classes leave act when full
		computeClips()
		hi := cur
		for _, c := range act {
			hi = max(hi, min(e.satLevel(c), clip[c]))
		}
		vec(math.Inf(1))
		if check(v) {
			// Everyone to the level of its cap node or its full demand. A
			// node's last units (its cap less the rounded-down shares) are
			// handed out below.
			copy(x, v)
			clipped := false
			for _, c := range act {
				clipped = clipped || !math.IsInf(clip[c], 1)
			}
			if !clipped {
				return
			}
		} else {
			vhi := append([]int64(nil), v...)
			lo := cur
			for it := 0; it < 200; it++ {
				mid := lo + (hi-lo)/2
				if mid <= lo || mid >= hi {
					break
				}
				vec(mid)
				switch {
				case sameAs(x):
					lo = mid
				case sameAs(vhi):
					hi = mid
				case check(v):
					copy(x, v)
					lo = mid
				default:
					hi = mid
					copy(vhi, v)
				}
			}
			cur = lo
		}
		copy(v, x)
		// Hand out single units in level order. A class whose unit does
		// not fit is blocked and stays; after the first block, go on up to
		// the level that failed, then bisect again for the rest.
		clear(nodeUse)
		for _, c := range tier {
			for n := m.classes[c].parent; n >= 0; n = m.nodes[n].parent {
				nodeUse[n] += x[c]
			}
		}
		nodeFull := func(c int) bool {
			for n := m.classes[c].parent; n >= 0; n = m.nodes[n].parent {
				if nodeUse[n] >= m.nodes[n].cap {
					return true
				}
			}
			return false
		}
		h := &levelHeap{}
		for _, c := range act {
			heap.Push(h, levelItem{e.nextLevel(c, x[c]), c})
		}
		failAt := math.Inf(1)
		tierSum, actSum := sumOver(x, tier), sumOver(x, act)
		for h.Len() > 0 {
			it := heap.Pop(h).(levelItem)
			c := it.ci
			if it.lam > failAt {
				break
			}
			if tierSum >= e.tierTotal[k] || (limit >= 0 && actSum >= limit) {
				return
			}
			if !nodeFull(c) && e.raise(c) {
				x[c]++
				tierSum++
				actSum++
				cur = max(cur, it.lam)
				for n := m.classes[c].parent; n >= 0; n = m.nodes[n].parent {
					nodeUse[n]++
				}
				if x[c] < m.classes[c].demand {
					heap.Push(h, levelItem{e.nextLevel(c, x[c]), c})
				}
				continue
			}
			active[c] = false
			if math.IsInf(failAt, 1) {
				failAt = max(it.lam, hi)
			}
			// What blocks c often blocks many (a product's lots ran out):
			// find them all now with one search per supply pool rather than
			// one bisection each.
			for _, b := range e.blockedClasses(act, active) {
				active[b] = false
			}
		}
		j = 0
		for _, c := range act {
			if active[c] {
				act[j] = c
				j++
			}
		}
		act = act[:j]
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
