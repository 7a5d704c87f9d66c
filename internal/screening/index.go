package screening

import (
	"cmp"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/chipgate/chipgate/internal/domain"
)

// DefaultMinScore is the score at or above which a hit is reported when the
// caller does not say otherwise. It was chosen with the evaluation harness
// (see docs/SCREENING.md): misspelled listed names stay above it and
// realistic names that are on no list stay below it.
const DefaultMinScore = 0.86

// DefaultLimit is the number of hits returned when the caller does not say.
const DefaultLimit = 10

// Limits on queries, so that a pasted document or an empty form field gets a
// clear error instead of a slow or meaningless search.
const (
	MaxQueryBytes  = 1000 // the longest listed names are about 370 bytes
	MaxQueryTokens = 60   // the alignment holds 64 words
	MaxLimit       = 1000
)

// tokenMatchMin is the token similarity below which two tokens are not
// aligned at all.
const tokenMatchMin = 0.80

// candidatesPerQuery bounds how many names the full scorer looks at.
const candidatesPerQuery = 64

// maxExpansions bounds the dictionary tokens one query token may stand for.
const maxExpansions = 48

// Index is an immutable search structure over a set of entities. Build one
// with NewIndex off to the side and publish it with an atomic pointer swap:
// Search only reads, so any number of goroutines may search one Index while
// another is being built.
type Index struct {
	entities []Entity
	norm     *Normalizer

	tokID     map[string]int32
	toks      []string
	tokWeight []float32
	tokNames  [][]int32          // token → names containing it
	grams     map[uint32][]int32 // trigram → tokens of trigramMinLen-2 or more characters containing it
	dels      []delEntry         // one-deletion neighbourhood of every token, sorted by hash
	delBucket []int32            // delBucket[h>>48] is where hashes with those top bits start in dels

	nameEnt    []int32
	nameText   []string
	nameStart  []int32 // nameToks[nameStart[i]:nameStart[i+1]]
	nameToks   []int32
	nameWeight []float32

	entCountries [][]string
	entAddrToks  [][]string
	maxWeight    float32

	scratch sync.Pool

	versions  func() []ListVersion // computed once, on first use
	addresses func() *addressIndex // built once, on the first address search
}

// Query is one screening question.
type Query struct {
	Name    string // required: a party's name in any script
	Country string // optional: ISO code or English name; agreement raises the score, disagreement lowers it
	Address string // optional: free text; shared address words raise the score
	// Limit is the number of hits to return: 0 means DefaultLimit.
	Limit int
	// MinScore is the lowest score reported: 0 means DefaultMinScore.
	MinScore float64
}

// TokenMatch is one aligned pair of tokens behind a hit.
type TokenMatch struct {
	Query      string  `json:"query"`
	Listed     string  `json:"listed"`
	Similarity float64 `json:"similarity"`
}

// Evidence is a fact beyond the name that moved a hit's score.
type Evidence struct {
	Kind   string  `json:"kind"` // "country" or "address"
	Detail string  `json:"detail"`
	Delta  float64 `json:"delta"`
}

// Hit is one listed entity that matches a query.
type Hit struct {
	Entity    *Entity      // read-only; owned by the Index
	Score     float64      // final score in [0, 1]
	NameScore float64      // the name alone, before evidence
	Matched   string       // the entity's name or alias that matched best
	Tokens    []TokenMatch // the aligned tokens, query order
	Evidence  []Evidence
}

type scratch struct {
	memo      map[uint64]float32 // direct comparisons of one query: query word × listed word
	tokQ      []uint64           // per dictionary token: the query words whose expansions hold it
	gramCount []uint8
	gramTouch []int32
	acc       []float32
	mark      []int32
	accTouch  []int32
}

// NewIndex builds an index over entities, which it keeps (callers must not
// change them afterwards). It normalizes every name and alias, builds the
// token dictionary with inverse-document-frequency weights, the token
// postings and a character-trigram index over the dictionary for fuzzy
// token lookup.
func NewIndex(entities []Entity) *Index {
	ix := &Index{
		entities: entities,
		norm:     NewNormalizer(),
		tokID:    map[string]int32{},
		grams:    map[uint32][]int32{},
	}
	ix.versions = sync.OnceValue(func() []ListVersion { return listVersions(ix.entities) })
	ix.addresses = sync.OnceValue(ix.buildAddresses)
	ix.entCountries = make([][]string, len(entities))
	ix.entAddrToks = make([][]string, len(entities))
	prep := ix.prepare(entities)
	nNames, nToks := 0, 0
	for _, p := range prep {
		nNames += len(p.names)
		for _, pn := range p.names {
			nToks += len(pn.toks)
		}
	}
	ix.nameEnt = make([]int32, 0, nNames)
	ix.nameText = make([]string, 0, nNames)
	ix.nameStart = make([]int32, 1, nNames+1)
	ix.nameToks = make([]int32, 0, nToks)
	ix.tokID = make(map[string]int32, nToks/3)
	for ei := range entities {
		ix.entCountries[ei] = entities[ei].Countries
		ix.entAddrToks[ei] = prep[ei].addr
		for _, pn := range prep[ei].names {
			nid := int32(len(ix.nameEnt))
			ix.nameEnt = append(ix.nameEnt, int32(ei))
			ix.nameText = append(ix.nameText, pn.text)
			for ti, t := range pn.toks {
				id, ok := ix.tokID[t]
				if !ok {
					id = int32(len(ix.toks))
					ix.tokID[t] = id
					ix.toks = append(ix.toks, t)
					ix.tokNames = append(ix.tokNames, nil)
				}
				if !slices.Contains(pn.toks[:ti], t) {
					ix.tokNames[id] = append(ix.tokNames[id], nid)
				}
				ix.nameToks = append(ix.nameToks, id)
			}
			ix.nameStart = append(ix.nameStart, int32(len(ix.nameToks)))
		}
	}
	n := float64(len(ix.nameEnt)) + 1
	ix.tokWeight = make([]float32, len(ix.toks))
	nDels := 0
	for _, t := range ix.toks {
		if len(t) >= 4 {
			nDels += len(t) + 1
		}
	}
	ix.dels = make([]delEntry, 0, nDels)
	// The trigram index and the deletion neighbourhood are independent:
	// build them side by side.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for id, t := range ix.toks {
			if len(t) >= trigramMinLen-2 {
				forGrams(t, func(g uint32) {
					p := ix.grams[g]
					if len(p) == 0 || p[len(p)-1] != int32(id) {
						ix.grams[g] = append(p, int32(id))
					}
				})
			}
		}
	}()
	for id, t := range ix.toks {
		ix.tokWeight[id] = float32(math.Log(1 + n/float64(len(ix.tokNames[id]))))
		if len(t) >= 4 {
			forDeletes(t, func(h uint64) { ix.dels = append(ix.dels, delEntry{h, int32(id)}) })
		}
	}
	ix.bucketDeletes()
	wg.Wait()
	ix.maxWeight = float32(math.Log(1 + n))
	ix.nameWeight = make([]float32, len(ix.nameEnt))
	for nid := range ix.nameEnt {
		var w float32
		for _, t := range ix.nameToks[ix.nameStart[nid]:ix.nameStart[nid+1]] {
			w += ix.tokWeight[t]
		}
		ix.nameWeight[nid] = w
	}
	ix.scratch.New = func() any {
		return &scratch{
			memo:      map[uint64]float32{},
			tokQ:      make([]uint64, len(ix.toks)),
			gramCount: make([]uint8, len(ix.toks)),
			acc:       make([]float32, len(ix.nameEnt)),
			mark:      make([]int32, len(ix.nameEnt)),
		}
	}
	return ix
}

// trigramMinLen is the shortest query token looked up by trigrams, for
// typos of two edits. Shorter tokens share too few trigrams with their
// misspellings for the lookup to be selective; their one-edit typos are
// found through the deletion neighbourhood, and two-edit typos in short
// words through the other words of the name (see scoreName).
const trigramMinLen = 6

// bucketDeletes groups the deletion neighbourhood by the top 16 bits of
// the hash (a counting sort): lookups scan one small bucket, and building
// costs two passes instead of a sort.
func (ix *Index) bucketDeletes() {
	ix.delBucket = make([]int32, 1<<16+1)
	for _, d := range ix.dels {
		ix.delBucket[d.hash>>48+1]++
	}
	for b := 1; b <= 1<<16; b++ {
		ix.delBucket[b] += ix.delBucket[b-1]
	}
	sorted := make([]delEntry, len(ix.dels))
	fill := append([]int32(nil), ix.delBucket[:1<<16]...)
	for _, d := range ix.dels {
		b := d.hash >> 48
		sorted[fill[b]] = d
		fill[b]++
	}
	ix.dels = sorted
}

// delEntry is one member of a token's deletion neighbourhood.
type delEntry struct {
	hash uint64
	tok  int32
}

// forDeletes calls fn with the hash of t and of every string made by
// deleting one byte of t. Two tokens within one edit (substitution,
// insertion, deletion, adjacent transposition) share at least one such
// string (symmetric-deletion lookup, as in SymSpell), and first letters get
// no special treatment, so a wrong first letter is found like any other.
func forDeletes(t string, fn func(uint64)) {
	fn(fnv(t, "", 0))
	for i := 0; i < len(t); i++ {
		if i > 0 && t[i] == t[i-1] {
			continue // deleting either of a double letter gives the same string
		}
		fn(fnv(t[:i], t[i+1:], 0))
	}
}

// fnv hashes a+b with 64-bit FNV-1a without building the string.
func fnv(a, b string, _ int) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(a); i++ {
		h ^= uint64(a[i])
		h *= 1099511628211
	}
	for i := 0; i < len(b); i++ {
		h ^= uint64(b[i])
		h *= 1099511628211
	}
	return h
}

type preparedName struct {
	text string
	toks []string
}

type preparedEntity struct {
	names []preparedName
	addr  []string
}

// prepare normalizes every name and address, in parallel: normalization is
// most of the cost of building an index, and entities are independent.
// Names that normalize to nothing, aliases made only of legal forms
// ("(LIMITED)" names no one) and repeated names are dropped.
func (ix *Index) prepare(entities []Entity) []preparedEntity {
	out := make([]preparedEntity, len(entities))
	workers := max(1, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	chunk := (len(entities) + workers - 1) / workers
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min(len(entities), (w+1)*chunk)
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var seen []string
			for ei := lo; ei < hi; ei++ {
				e := &entities[ei]
				person := e.Type == TypeIndividual
				seen = seen[:0]
				for ni, name := range e.Names() {
					for _, order := range [2]bool{person, false} {
						// A person's name is indexed as "Given SURNAME" and,
						// when that reads differently (a legal-looking word
						// such as "ag" moves off the edge), also as written,
						// which is how a query copied from the list reads.
						toks, _ := ix.norm.Tokens(name, order)
						if len(toks) == 0 || (ni > 0 && len(ix.norm.legal.strip(toks, nil)) == 0) {
							continue
						}
						sig := strings.Join(toks, " ")
						if slices.Contains(seen, sig) {
							continue
						}
						seen = append(seen, sig)
						out[ei].names = append(out[ei].names, preparedName{name, toks})
					}
				}
				for _, a := range e.Addresses {
					t, _ := ix.norm.Tokens(a.Street+" "+a.City+" "+a.State+" "+a.Postal, false)
					out[ei].addr = append(out[ei].addr, t...)
				}
			}
		}()
	}
	wg.Wait()
	return out
}

// forGrams calls fn with each byte trigram of "^t$".
func forGrams(t string, fn func(uint32)) {
	p := make([]byte, 0, len(t)+2)
	p = append(p, '^')
	p = append(p, t...)
	p = append(p, '$')
	for i := 0; i+3 <= len(p); i++ {
		fn(uint32(p[i])<<16 | uint32(p[i+1])<<8 | uint32(p[i+2]))
	}
}

// Len returns the number of entities in the index.
func (ix *Index) Len() int { return len(ix.entities) }

// Names returns the number of indexed names (primary names and aliases).
func (ix *Index) Names() int { return len(ix.nameEnt) }

// Entities returns the indexed entities; callers must not modify them.
func (ix *Index) Entities() []Entity { return ix.entities }

// Normalizer returns the normalizer the index uses, so that callers can show
// how a name was read.
func (ix *Index) Normalizer() *Normalizer { return ix.norm }

type expansion struct {
	tok int32
	sim float32
}

type qtoken struct {
	text   string
	weight float32
	exp    []expansion
	post   int  // total postings over expansions
	known  bool // the token itself is in the dictionary
}

// expand finds the dictionary tokens similar to q: q itself when listed,
// and for tokens of four or more characters every token within one edit
// (through the deletion neighbourhood) and, for long tokens, within two
// edits (through shared character trigrams), whose similarity reaches
// tokenMatchMin. Neither lookup depends on the first letter, so a wrong
// first letter does not hide a match.
func (ix *Index) expand(q string, s *scratch) []expansion {
	var out []expansion
	if id, ok := ix.tokID[q]; ok {
		out = append(out, expansion{id, 1})
	}
	// Other spellings of the same given name ("Mohamed" for "Muhammad")
	// are the same word.
	for _, v := range ix.norm.variant[q] {
		if id, ok := ix.tokID[v]; ok && v != q {
			out = append(out, expansion{id, 1})
		}
	}
	if len(q) < 4 {
		return out
	}
	lq := len(q)
	bag := newBagFilter(q)
	consider := func(id int32) {
		t := ix.toks[id]
		if t == q || len(t) < 4 || len(t) > lq+2 || len(t)+2 < lq || !bag.mayMatch(t) {
			return
		}
		if sim := fuzzySim(q, t); sim >= tokenMatchMin {
			out = append(out, expansion{id, float32(sim)})
		}
	}
	touched := s.gramTouch[:0]
	forDeletes(q, func(h uint64) {
		lo, hi := ix.delBucket[h>>48], ix.delBucket[h>>48+1]
		for i := lo; i < hi; i++ {
			if ix.dels[i].hash != h {
				continue
			}
			if id := ix.dels[i].tok; s.gramCount[id] == 0 {
				s.gramCount[id] = 255
				touched = append(touched, id)
			}
		}
	})
	close1 := false
	for _, id := range touched {
		n := len(out)
		consider(id)
		close1 = close1 || (len(out) > n && out[n].sim >= 0.85)
	}
	// Two-edit neighbours through trigrams: only for a word that is not
	// listed (a listed word's two-edit neighbours are other words) and has
	// no close one-edit neighbour (then that is the likely intent).
	if _, known := ix.tokID[q]; lq >= trigramMinLen && !known && !close1 {
		ngrams := 0
		first := len(touched)
		forGrams(q, func(g uint32) {
			ngrams++
			for _, id := range ix.grams[g] {
				switch c := s.gramCount[id]; c {
				case 255: // already considered through the deletion index
				case 0:
					touched = append(touched, id)
					s.gramCount[id] = 1
				default:
					s.gramCount[id] = c + 1
				}
			}
		})
		// Two edits destroy at most six trigrams.
		minShared := uint8(max(1, ngrams-6))
		for _, id := range touched[first:] {
			if s.gramCount[id] >= minShared {
				consider(id)
			}
		}
	}
	for _, id := range touched {
		s.gramCount[id] = 0
	}
	s.gramTouch = touched[:0]
	slices.SortFunc(out, func(a, b expansion) int { return cmp.Compare(b.sim, a.sim) })
	if len(out) > maxExpansions {
		out = out[:maxExpansions]
	}
	return out
}

// validate checks a query and fills in defaults.
func (q *Query) validate() error {
	name := strings.TrimSpace(q.Name)
	switch {
	case name == "":
		return domain.Invalid("name", "is empty: give the name of a person or organization")
	case len(name) > MaxQueryBytes:
		return domain.Invalid("name", "is %d bytes long; a name has at most %d", len(name), MaxQueryBytes)
	case !utf8.ValidString(name):
		return domain.Invalid("name", "is not valid UTF-8 text")
	case q.Limit < 0 || q.Limit > MaxLimit:
		return domain.Invalid("limit", "must be between 1 and %d", MaxLimit)
	case q.MinScore < 0 || q.MinScore > 1 || math.IsNaN(q.MinScore):
		return domain.Invalid("min_score", "must be between 0 and 1")
	}
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	if q.MinScore == 0 {
		q.MinScore = DefaultMinScore
	}
	return nil
}

// Search returns the entities whose names match q.Name at or above
// q.MinScore, best first, at most q.Limit of them. Returns EINVALID for an
// empty name, a name without letters or digits, an overlong name, or limits
// out of range. Search is safe for concurrent use.
//
// A name is compared as a reader sees it: invisible and bidi characters are
// dropped, and a name under a right-to-left override is searched in its
// displayed order as well (see Readings); the better score counts.
func (ix *Index) Search(q Query) ([]Hit, error) {
	if err := q.validate(); err != nil {
		return nil, err
	}
	readings := Readings(q.Name)
	hits, err := ix.search(q, readings[0])
	if err != nil {
		return nil, err
	}
	for _, name := range readings[1:] {
		more, err := ix.search(q, name)
		if err != nil {
			continue // the first reading had words; this one is only a second look
		}
		for _, h := range more {
			i := slices.IndexFunc(hits, func(o Hit) bool { return o.Entity == h.Entity })
			switch {
			case i < 0:
				hits = append(hits, h)
			case h.Score > hits[i].Score:
				hits[i] = h
			}
		}
	}
	sort.Slice(hits, func(a, b int) bool {
		if hits[a].Score != hits[b].Score {
			return hits[a].Score > hits[b].Score
		}
		ra, rb := listRank(hits[a].Entity.PrimarySource().List), listRank(hits[b].Entity.PrimarySource().List)
		if ra != rb {
			return ra < rb
		}
		return hits[a].Entity.Key < hits[b].Entity.Key
	})
	if len(hits) > q.Limit {
		hits = hits[:q.Limit]
	}
	return hits, nil
}

// search screens one reading of a validated query and returns its hits at
// or above q.MinScore, in no particular order.
func (ix *Index) search(q Query, name string) ([]Hit, error) {
	qtoks, _ := ix.norm.QueryTokens(name, func(t string) bool { _, ok := ix.tokID[t]; return !ok })
	if len(qtoks) == 0 {
		return nil, domain.Invalid("name", "has no letters or digits")
	}
	if len(qtoks) > MaxQueryTokens {
		return nil, domain.Invalid("name", "has %d words; a name has at most %d", len(qtoks), MaxQueryTokens)
	}
	s := ix.scratch.Get().(*scratch)
	defer ix.scratch.Put(s)

	qs := make([]qtoken, 0, len(qtoks))
	var wq float32
	for _, t := range qtoks {
		qt := qtoken{text: t, exp: ix.expand(t, s)}
		qt.known = len(qt.exp) > 0 && qt.exp[0].sim == 1
		switch {
		case len(qt.exp) > 0 && qt.exp[0].sim == 1:
			qt.weight = ix.tokWeight[qt.exp[0].tok]
		case len(qt.exp) > 0:
			// A misspelling weighs what the word it stands for weighs.
			qt.weight = ix.tokWeight[qt.exp[0].tok]
		default:
			qt.weight = ix.maxWeight
		}
		for _, e := range qt.exp {
			qt.post += len(ix.tokNames[e.tok])
		}
		wq += qt.weight
		qs = append(qs, qt)
	}
	cands := ix.candidates(append(qs, ix.rebound(qs)...), wq, s)
	clear(s.memo)
	for qi := range qs {
		for _, e := range qs[qi].exp {
			s.tokQ[e.tok] |= 1 << qi
		}
	}
	defer func() {
		for qi := range qs {
			for _, e := range qs[qi].exp {
				s.tokQ[e.tok] = 0
			}
		}
	}()

	type entBest struct {
		score float64
		name  int32
		align []TokenMatch
	}
	best := map[int32]*entBest{}
	for _, nid := range cands {
		score, align := ix.scoreName(qs, wq, nid, s, float32(q.MinScore))
		if score <= 0 {
			continue
		}
		ei := ix.nameEnt[nid]
		if b, ok := best[ei]; !ok || score > b.score {
			best[ei] = &entBest{score, nid, align}
		}
	}
	qCountry := CountryCode(q.Country)
	var qAddr []string
	if strings.TrimSpace(q.Address) != "" {
		qAddr, _ = ix.norm.Tokens(q.Address, false)
	}
	hits := make([]Hit, 0, len(best))
	for ei, b := range best {
		h := Hit{Entity: &ix.entities[ei], NameScore: b.score, Score: b.score, Matched: ix.nameText[b.name], Tokens: b.align}
		ix.applyEvidence(&h, ei, q.Country, qCountry, qAddr)
		if h.Score+1e-9 < q.MinScore {
			continue
		}
		hits = append(hits, h)
	}
	return hits, nil
}

// rebound returns extra lookups for words split or joined where the lists
// do not split them: two neighbouring query words written together
// ("Hua wei" → "huawei") and a query word that is two listed words written
// together ("HuaweiTechnologies" → "huawei", "technologies"). They only
// find candidates; scoreName aligns such words itself.
func (ix *Index) rebound(qs []qtoken) []qtoken {
	var out []qtoken
	for qi := 0; qi+1 < len(qs); qi++ {
		j := qs[qi].text + qs[qi+1].text
		if id, ok := ix.tokID[j]; ok {
			exp := []expansion{{id, 1}}
			out = append(out, qtoken{text: j, weight: ix.tokWeight[id], exp: exp, post: postings(ix, exp)})
		}
	}
	for _, qt := range qs {
		t := qt.text
		if qt.known || len(t) < 6 {
			continue
		}
		for cut := 3; cut+3 <= len(t); cut++ {
			a, okA := ix.tokID[t[:cut]]
			b, okB := ix.tokID[t[cut:]]
			if !okA || !okB {
				continue
			}
			for _, id := range []int32{a, b} {
				exp := []expansion{{id, 1}}
				out = append(out, qtoken{text: ix.toks[id], weight: ix.tokWeight[id], exp: exp, post: postings(ix, exp)})
			}
		}
	}
	return out
}

func postings(ix *Index, exp []expansion) int {
	n := 0
	for _, e := range exp {
		n += len(ix.tokNames[e.tok])
	}
	return n
}

// candidates accumulates, for every name sharing a (fuzzy) token with the
// query, the query-side weight it could match, and returns the names with
// the best estimated score. Rare tokens are visited first; very common ones
// ("company", "al") only when the rarer ones found nothing, because a name
// that shares only common words with the query cannot score high.
func (ix *Index) candidates(qs []qtoken, wq float32, s *scratch) []int32 {
	order := make([]int, len(qs))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return qs[order[a]].post < qs[order[b]].post })
	touched := s.accTouch[:0]
	for rank, qi := range order {
		qt := qs[qi]
		if rank >= 2 && qt.post > 20000 && len(touched) > 0 {
			continue
		}
		marker := int32(rank + 1) // increases with each visited token, so ">=" means "already counted"
		for _, e := range qt.exp {
			add := qt.weight * e.sim
			for _, nid := range ix.tokNames[e.tok] {
				if s.mark[nid] == 0 {
					touched = append(touched, nid)
					s.mark[nid] = marker
					s.acc[nid] = add
					continue
				}
				if s.mark[nid] >= marker {
					continue // this query token already counted for this name
				}
				s.mark[nid] = marker
				s.acc[nid] += add
			}
		}
	}
	type cand struct {
		nid int32
		est float32
	}
	cs := make([]cand, 0, len(touched))
	for _, nid := range touched {
		est := 2 * s.acc[nid] / (wq + ix.nameWeight[nid])
		cs = append(cs, cand{nid, est})
		s.acc[nid], s.mark[nid] = 0, 0
	}
	s.accTouch = touched[:0]
	if len(cs) > candidatesPerQuery {
		// Keep the best candidatesPerQuery without sorting them all: a
		// common word can touch thousands of names.
		top := cs[:candidatesPerQuery]
		lo := 0
		for i := range top {
			if top[i].est < top[lo].est {
				lo = i
			}
		}
		for _, c := range cs[candidatesPerQuery:] {
			if c.est <= top[lo].est {
				continue
			}
			top[lo] = c
			for i := range top {
				if top[i].est < top[lo].est {
					lo = i
				}
			}
		}
		cs = top
	}
	out := make([]int32, len(cs))
	for i, c := range cs {
		out[i] = c.nid
	}
	return out
}

// scoreName aligns the query tokens with one name's tokens, one to one,
// best pairs first, and returns the weighted share of both sides' words
// that found a partner: Σ sim·(w_q + w_n) / (Σ w_q + Σ w_n). Unmatched words
// on either side lower the score in proportion to how rare (telling) they
// are. Word boundaries that differ ("Aero Caribbean" / "AEROCARIBBEAN") are
// bridged by trying adjacent pairs joined.
//
// floor lets the scorer stop early: when even perfect partners for the
// words still unmatched could not lift the name to floor, the name cannot be
// a reported hit and the direct comparisons are skipped.
func (ix *Index) scoreName(qs []qtoken, wq float32, nid int32, s *scratch, floor float32) (float64, []TokenMatch) {
	ntoks := ix.nameToks[ix.nameStart[nid]:ix.nameStart[nid+1]]
	if len(ntoks) > 64 {
		ntoks = ntoks[:64] // the alignment masks hold 64 words; no real name is longer
	}
	type pair struct {
		qi, ni int
		sim    float32
	}
	type link struct {
		query, listed string
		sim           float32
	}
	var pairsBuf [32]pair
	var linksBuf [16]link
	pairs, links := pairsBuf[:0], linksBuf[:0]
	var qUsed, nUsed uint64
	var matched, nMatched float32 // nMatched: weight of the listed words aligned
	take := func(ps []pair) {
		slices.SortFunc(ps, func(a, b pair) int { return cmp.Compare(b.sim, a.sim) })
		for _, p := range ps {
			if qUsed&(1<<p.qi) != 0 || nUsed&(1<<p.ni) != 0 {
				continue
			}
			qUsed |= 1 << p.qi
			nUsed |= 1 << p.ni
			matched += p.sim * (qs[p.qi].weight + ix.tokWeight[ntoks[p.ni]])
			nMatched += ix.tokWeight[ntoks[p.ni]]
			links = append(links, link{qs[p.qi].text, ix.toks[ntoks[p.ni]], p.sim})
		}
	}
	for ni, t := range ntoks {
		mask := s.tokQ[t]
		for mask != 0 {
			qi := bits.TrailingZeros64(mask)
			mask &= mask - 1
			for _, e := range qs[qi].exp {
				if e.tok == t {
					pairs = append(pairs, pair{qi, ni, e.sim})
					break
				}
			}
		}
	}
	take(pairs)
	total := wq + ix.nameWeight[nid]
	finish := func() (float64, []TokenMatch) {
		if matched == 0 {
			return 0, nil
		}
		t := total
		if len(qs) >= 3 && bits.OnesCount64(qUsed) == len(qs) && ix.entities[ix.nameEnt[nid]].Type == TypeIndividual {
			// Every word of a person's name of three or more words found
			// its partner: the listed words left over are most likely
			// middle names the query leaves out, and count half. (A
			// company's extra words name another company: "Beijing
			// SenseTime Technology" is not "… Technology Development".)
			t -= 0.5 * (ix.nameWeight[nid] - nMatched)
		}
		// float32 sums of equal weights can exceed 1 in the last bits.
		score := min(matched/t, 1)
		if score < floor {
			return float64(score), nil // not a hit: no need to explain it
		}
		align := make([]TokenMatch, len(links))
		for i, l := range links {
			align[i] = TokenMatch{Query: l.query, Listed: l.listed, Similarity: float64(l.sim)}
		}
		return float64(score), align
	}
	if bits.OnesCount64(qUsed) == len(qs) || bits.OnesCount64(nUsed) == len(ntoks) {
		return finish()
	}
	// Stop here when even perfect partners for every unmatched query word
	// could not lift the name to floor. A query word may stand for two
	// listed words written together ("HuaweiTechnologies"), so each may
	// take the two heaviest free listed words.
	var free1, free2 float32
	for ni, t := range ntoks {
		if nUsed&(1<<ni) == 0 {
			switch w := ix.tokWeight[t]; {
			case w > free1:
				free1, free2 = w, free1
			case w > free2:
				free2 = w
			}
		}
	}
	bound := matched
	for qi := range qs {
		if qUsed&(1<<qi) == 0 {
			bound += qs[qi].weight + free1 + free2
		}
	}
	if bound/total < floor {
		return finish()
	}
	// Words the neighbourhood lookup did not connect (two edits in a short
	// word) are compared directly; only unlisted query words can be that
	// far off, and results are shared across the candidates of one query.
	late := pairs[:0]
	for qi := range qs {
		if qUsed&(1<<qi) != 0 || len(qs[qi].text) < 5 || qs[qi].known {
			continue
		}
		lq := len(qs[qi].text)
		for ni, t := range ntoks {
			if nUsed&(1<<ni) != 0 {
				continue
			}
			if lt := len(ix.toks[t]); lt > lq+2 || lt+2 < lq {
				continue
			}
			key := uint64(qi)<<32 | uint64(t)
			sim, ok := s.memo[key]
			if !ok {
				sim = float32(tokenSim(qs[qi].text, ix.toks[t]))
				s.memo[key] = sim
			}
			if sim >= tokenMatchMin {
				late = append(late, pair{qi, ni, sim})
			}
		}
	}
	take(late)
	// Joined neighbours: two unmatched query words against one unmatched
	// listed word ("Aero Caribbean" / "AEROCARIBBEAN"), and the other way.
	for qi := 0; qi+1 < len(qs); qi++ {
		if qUsed&(3<<qi) != 0 {
			continue
		}
		joined := qs[qi].text + qs[qi+1].text
		for ni, t := range ntoks {
			lt := len(ix.toks[t])
			if nUsed&(1<<ni) != 0 || lt > len(joined)+2 || lt+2 < len(joined) {
				continue
			}
			if sim := tokenSim(joined, ix.toks[t]); sim >= 0.9 {
				qUsed |= 3 << qi
				nUsed |= 1 << ni
				matched += float32(sim) * (qs[qi].weight + qs[qi+1].weight + ix.tokWeight[t])
				nMatched += ix.tokWeight[t]
				links = append(links, link{qs[qi].text + " " + qs[qi+1].text, ix.toks[t], float32(sim)})
				break
			}
		}
	}
	for ni := 0; ni+1 < len(ntoks); ni++ {
		if nUsed&(3<<ni) != 0 {
			continue
		}
		a, b := ix.toks[ntoks[ni]], ix.toks[ntoks[ni+1]]
		lj := len(a) + len(b)
		for qi := range qs {
			lq := len(qs[qi].text)
			if qUsed&(1<<qi) != 0 || lq > lj+2 || lq+2 < lj {
				continue
			}
			if sim := tokenSim(qs[qi].text, a+b); sim >= 0.9 {
				qUsed |= 1 << qi
				nUsed |= 3 << ni
				matched += float32(sim) * (qs[qi].weight + ix.tokWeight[ntoks[ni]] + ix.tokWeight[ntoks[ni+1]])
				nMatched += ix.tokWeight[ntoks[ni]] + ix.tokWeight[ntoks[ni+1]]
				links = append(links, link{qs[qi].text, a + " " + b, float32(sim)})
				break
			}
		}
	}
	return finish()
}

// applyEvidence moves a hit's score with what the query says beyond the
// name. Agreement closes a quarter of the gap to 1; a country the entity is
// not known in costs 0.05, because lists record only some of a party's
// countries, so disagreement is weaker evidence than agreement.
func (ix *Index) applyEvidence(h *Hit, ei int32, countryText, country string, addr []string) {
	if country != "" && len(ix.entCountries[ei]) > 0 {
		found := false
		for _, c := range ix.entCountries[ei] {
			if c == country {
				found = true
				break
			}
		}
		if found {
			d := (1 - h.Score) * 0.25
			h.Score += d
			h.Evidence = append(h.Evidence, Evidence{Kind: "country", Detail: "listed in " + country, Delta: d})
		} else {
			d := -0.05
			h.Score = math.Max(0, h.Score+d)
			h.Evidence = append(h.Evidence, Evidence{Kind: "country", Detail: "query country " + country + " not among listed " + strings.Join(ix.entCountries[ei], ","), Delta: d})
		}
	} else if countryText != "" && country == "" {
		h.Evidence = append(h.Evidence, Evidence{Kind: "country", Detail: "country " + countryText + " not recognized; ignored"})
	}
	if len(addr) > 0 && len(ix.entAddrToks[ei]) > 0 {
		shared := 0
		for _, a := range addr {
			for _, b := range ix.entAddrToks[ei] {
				if a == b {
					shared++
					break
				}
			}
		}
		if frac := float64(shared) / float64(len(addr)); frac >= 0.5 {
			d := (1 - h.Score) * 0.2 * frac
			h.Score += d
			h.Evidence = append(h.Evidence, Evidence{Kind: "address", Detail: "address shares words with a listed address", Delta: d})
		}
	}
}
