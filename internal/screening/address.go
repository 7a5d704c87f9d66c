package screening

import (
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/chipgate/chipgate/internal/domain"
)

// AddressQuery asks which listed entities have an address like Address: a
// deployment site at a listed party's premises is that party's, whatever
// name the applicant gives it.
type AddressQuery struct {
	Address string // required: free text, as an applicant writes it
	Country string // optional: ISO code or English name; a listed address in another country is another address
	// Limit is the number of hits to return: 0 means DefaultLimit.
	Limit int
	// MinScore is the lowest score reported: 0 means DefaultMinScore.
	MinScore float64
}

// AddressHit is one listed entity with an address like the query's.
type AddressHit struct {
	Entity  *Entity // read-only; owned by the Index
	Score   float64 // in [0, 1]
	Matched string  // the listed address, on one line
	Shared  []string
}

// addressIndex is the listed addresses that name a street, their words
// and the words' weights. It is built on the first address search, so that
// loading lists and searching names pay nothing for it.
type addressIndex struct {
	addrs  []listedAddress
	tokID  map[string]int32
	weight []float32 // per word: idf over listed addresses
	post   [][]int32 // per word: the addresses holding it
	maxW   float32
}

type listedAddress struct {
	entity  int32
	text    string
	country string
	toks    []int32 // distinct
	street  []int32 // the street line's words, distinct
	weight  float32
}

// minAddressWords is the fewest distinct words a listed address needs to
// be compared, and one more than the fewest it must share with a query: a
// place name or two is a city, not premises.
const minAddressWords = 3

func (ix *Index) buildAddresses() *addressIndex {
	ai := &addressIndex{tokID: map[string]int32{}}
	id := func(t string) int32 {
		i, ok := ai.tokID[t]
		if !ok {
			i = int32(len(ai.post))
			ai.tokID[t] = i
			ai.post = append(ai.post, nil)
		}
		return i
	}
	// Normalizing is most of the cost, and entities are independent:
	// normalize side by side, then number the words in entity order.
	type normalized struct {
		text, country string
		street, place []string
	}
	per := make([][]normalized, len(ix.entities))
	workers := max(1, runtime.GOMAXPROCS(0))
	chunk := (len(ix.entities) + workers - 1) / workers
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min(len(ix.entities), (w+1)*chunk)
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ei := lo; ei < hi; ei++ {
				for _, a := range ix.entities[ei].Addresses {
					if strings.TrimSpace(a.Street) == "" {
						// A city or a country alone says where, not whose.
						continue
					}
					street, _ := ix.norm.Tokens(a.Street, false)
					if len(street) == 0 {
						continue
					}
					place, _ := ix.norm.Tokens(a.City+" "+a.State+" "+a.Postal, false)
					per[ei] = append(per[ei], normalized{a.String(), CountryCode(a.Country), street, place})
				}
			}
		}()
	}
	wg.Wait()
	for ei, addrs := range per {
		for _, a := range addrs {
			la := listedAddress{entity: int32(ei), text: a.text, country: a.country}
			for _, t := range a.street {
				if i := id(t); !slices.Contains(la.street, i) {
					la.street = append(la.street, i)
				}
			}
			la.toks = slices.Clone(la.street)
			for _, t := range a.place {
				if i := id(t); !slices.Contains(la.toks, i) {
					la.toks = append(la.toks, i)
				}
			}
			if len(la.toks) < minAddressWords {
				// "Moscow", "Shenzhen, CN": a city, however the list files it.
				continue
			}
			aid := int32(len(ai.addrs))
			for _, t := range la.toks {
				ai.post[t] = append(ai.post[t], aid)
			}
			ai.addrs = append(ai.addrs, la)
		}
	}
	n := float64(len(ai.addrs)) + 1
	ai.weight = make([]float32, len(ai.post))
	for t, p := range ai.post {
		ai.weight[t] = float32(math.Log(1 + n/float64(len(p))))
	}
	ai.maxW = float32(math.Log(1 + n))
	for i := range ai.addrs {
		for _, t := range ai.addrs[i].toks {
			ai.addrs[i].weight += ai.weight[t]
		}
	}
	return ai
}

// PrepareAddresses builds the address index now (it is otherwise built on
// the first SearchAddress): for a caller that swaps an index in and would
// rather not pay for it inside a transaction.
func (ix *Index) PrepareAddresses() { ix.addresses() }

// SearchAddress returns the listed entities with an address like
// q.Address at or above q.MinScore, best first, at most q.Limit of them.
// Only listed addresses that name a street are compared (a city alone says
// where, not whose), words are compared exactly once normalized as names
// are (invisible characters, look-alike letters and scripts folded), and
// the score is the weighted Dice coefficient of the two addresses' words
// (weights: rarity among listed addresses), with at least two words in
// common, one of them from the listed street line; a listed address of
// fewer than three words is a place, not premises, and is left out. A listed address in another country than
// q.Country is not compared. Returns EINVALID for an empty, overlong or
// wordless address, or limits out of range. Safe for concurrent use.
func (ix *Index) SearchAddress(q AddressQuery) ([]AddressHit, error) {
	addr := strings.TrimSpace(q.Address)
	switch {
	case addr == "":
		return nil, domain.Invalid("address", "is empty")
	case len(addr) > MaxQueryBytes:
		return nil, domain.Invalid("address", "is %d bytes long; at most %d", len(addr), MaxQueryBytes)
	case !utf8.ValidString(addr):
		return nil, domain.Invalid("address", "is not valid UTF-8 text")
	case q.Limit < 0 || q.Limit > MaxLimit:
		return nil, domain.Invalid("limit", "must be between 1 and %d", MaxLimit)
	case q.MinScore < 0 || q.MinScore > 1 || math.IsNaN(q.MinScore):
		return nil, domain.Invalid("min_score", "must be between 0 and 1")
	}
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	if q.MinScore == 0 {
		q.MinScore = DefaultMinScore
	}
	words, _ := ix.norm.Tokens(Readings(addr)[0], false)
	if len(words) == 0 {
		return nil, domain.Invalid("address", "has no letters or digits")
	}
	ai := ix.addresses()
	var qtoks []int32
	var wq float32
	for _, w := range words {
		t, ok := ai.tokID[w]
		switch {
		case !ok:
			wq += ai.maxW // a word no listed address has: telling, and unmatched
		case !slices.Contains(qtoks, t):
			qtoks = append(qtoks, t)
			wq += ai.weight[t]
		}
	}
	country := CountryCode(q.Country)
	shared := map[int32]float32{}
	for _, t := range qtoks {
		for _, a := range ai.post[t] {
			shared[a] += ai.weight[t]
		}
	}
	var hits []AddressHit
	for aid, w := range shared {
		la := &ai.addrs[aid]
		if country != "" && la.country != "" && la.country != country {
			continue
		}
		score := float64(2 * w / (wq + la.weight))
		if score+1e-9 < q.MinScore {
			continue
		}
		var common []string
		onStreet := false
		for _, t := range qtoks {
			if slices.Contains(la.toks, t) {
				common = append(common, words[slices.IndexFunc(words, func(w string) bool { return ai.tokID[w] == t })])
				onStreet = onStreet || slices.Contains(la.street, t)
			}
		}
		if !onStreet || len(common) < minAddressWords-1 {
			continue
		}
		h := AddressHit{Entity: &ix.entities[la.entity], Score: math.Min(1, score), Matched: la.text, Shared: common}
		// One hit per entity: its best address.
		if i := slices.IndexFunc(hits, func(o AddressHit) bool { return o.Entity == h.Entity }); i >= 0 {
			if h.Score > hits[i].Score {
				hits[i] = h
			}
			continue
		}
		hits = append(hits, h)
	}
	sort.Slice(hits, func(a, b int) bool {
		if hits[a].Score != hits[b].Score {
			return hits[a].Score > hits[b].Score
		}
		return hits[a].Entity.Key < hits[b].Entity.Key
	})
	if len(hits) > q.Limit {
		hits = hits[:q.Limit]
	}
	return hits, nil
}
