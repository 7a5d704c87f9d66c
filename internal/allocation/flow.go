package allocation

// flowNet is a residual network for Dinic's maximum-flow algorithm. Edges
// come in pairs: edge e and its reverse e^1.
type flowNet struct {
	head  []int32
	next  []int32
	to    []int32
	cap   []int64 // residual capacity
	level []int32
	iter  []int32
	queue []int32
}

const inf = int64(1) << 60

func newFlowNet(nodes, edgeHint int) *flowNet {
	g := &flowNet{
		head:  make([]int32, nodes),
		next:  make([]int32, 0, 2*edgeHint),
		to:    make([]int32, 0, 2*edgeHint),
		cap:   make([]int64, 0, 2*edgeHint),
		level: make([]int32, nodes),
		iter:  make([]int32, nodes),
		queue: make([]int32, 0, nodes),
	}
	for i := range g.head {
		g.head[i] = -1
	}
	return g
}

// addEdge adds u→v with capacity c and returns its index.
func (g *flowNet) addEdge(u, v int, c int64) int {
	e := len(g.to)
	g.to = append(g.to, int32(v), int32(u))
	g.cap = append(g.cap, c, 0)
	g.next = append(g.next, g.head[u], g.head[v])
	g.head[u] = int32(e)
	g.head[v] = int32(e + 1)
	return e
}

func (g *flowNet) bfs(s, t int) bool {
	for i := range g.level {
		g.level[i] = -1
	}
	g.level[s] = 0
	q := append(g.queue[:0], int32(s))
	for i := 0; i < len(q); i++ {
		u := q[i]
		for e := g.head[u]; e >= 0; e = g.next[e] {
			v := g.to[e]
			if g.cap[e] > 0 && g.level[v] < 0 {
				g.level[v] = g.level[u] + 1
				q = append(q, v)
			}
		}
	}
	g.queue = q
	return g.level[t] >= 0
}

func (g *flowNet) dfs(u, t int32, f int64) int64 {
	if u == t {
		return f
	}
	for ; g.iter[u] >= 0; g.iter[u] = g.next[g.iter[u]] {
		e := g.iter[u]
		v := g.to[e]
		if g.cap[e] > 0 && g.level[v] == g.level[u]+1 {
			if d := g.dfs(v, t, min(f, g.cap[e])); d > 0 {
				g.cap[e] -= d
				g.cap[e^1] += d
				return d
			}
		}
	}
	return 0
}

// maxFlow pushes up to limit more units from s to t and returns how many.
func (g *flowNet) maxFlow(s, t int, limit int64) int64 {
	var total int64
	for total < limit && g.bfs(s, t) {
		copy(g.iter, g.head)
		for total < limit {
			f := g.dfs(int32(s), int32(t), limit-total)
			if f == 0 {
				break
			}
			total += f
		}
	}
	return total
}
