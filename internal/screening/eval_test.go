package screening_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/screening"
)

// queriesOut, when set, makes TestEval write its queries (the generated
// ones, then the clean names), one per line, for timing the CLI:
//
//	go test -run Eval ./internal/screening/ -args -screening.queries=/tmp/q.txt
var queriesOut = flag.String("screening.queries", "", "write the evaluation queries to this file")

// evalCase is one generated query and the entity it was made from.
type evalCase struct {
	kind   string
	query  string
	target string // entity key
}

// Targets from issue 4.
const (
	targetOverall     = 0.98
	targetFirstLetter = 0.95
)

// generateEval makes queries from listed names: exact names, aliases, one-
// and two-edit typos, first-letter typos, reordered words, and legal forms
// added or dropped. Typos go into words of five letters or more (a typo in
// "Li" or "SA" makes another name, not a misspelling). The generator is
// seeded, so every run measures the same set.
func generateEval(ents []screening.Entity, n int, seed uint64) []evalCase {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var out []evalCase
	legalAdd := []string{"Co., Ltd.", "LLC", "Limited", "GmbH", "JSC", "Corporation"}
	for _, i := range r.Perm(len(ents))[:min(n, len(ents))] {
		e := &ents[i]
		name := e.Name
		words := strings.Fields(strings.NewReplacer(",", " ", ".", " ").Replace(name))
		if len(words) == 0 || len(name) < 4 {
			continue
		}
		out = append(out, evalCase{"exact", name, e.Key})
		if len(e.Aliases) > 0 {
			a := e.Aliases[r.IntN(len(e.Aliases))]
			if len(a) >= 4 {
				out = append(out, evalCase{"alias", a, e.Key})
			}
		}
		if q, ok := typo(r, words, 1, false); ok {
			out = append(out, evalCase{"typo1", q, e.Key})
		}
		if q, ok := typo(r, words, 2, false); ok {
			out = append(out, evalCase{"typo2", q, e.Key})
		}
		if q, ok := typo(r, words, 1, true); ok {
			out = append(out, evalCase{"first-letter", q, e.Key})
		}
		if len(words) >= 2 {
			rev := append([]string(nil), words...)
			for a, b := 0, len(rev)-1; a < b; a, b = a+1, b-1 {
				rev[a], rev[b] = rev[b], rev[a]
			}
			out = append(out, evalCase{"reordered", strings.Join(rev, " "), e.Key})
		}
		if e.Type != screening.TypeIndividual {
			if stripped, ok := dropLegal(name); ok {
				out = append(out, evalCase{"legal-dropped", stripped, e.Key})
			} else {
				out = append(out, evalCase{"legal-added", name + " " + legalAdd[r.IntN(len(legalAdd))], e.Key})
			}
		}
	}
	return out
}

var legalSuffixes = []string{" CO., LTD.", " CO. LTD.", " CO.,LTD.", " LTD.", " LTD", " LLC", " INC.", " INC", " LIMITED", " CORPORATION", " CORP.", " GMBH", " S.A.", " JSC", " COMPANY LIMITED", " CO."}

func dropLegal(name string) (string, bool) {
	up := strings.ToUpper(name)
	for _, s := range legalSuffixes {
		if strings.HasSuffix(up, s) && len(name) > len(s)+3 {
			return strings.TrimRight(strings.TrimSpace(name[:len(name)-len(s)]), ","), true
		}
	}
	return "", false
}

const letters = "abcdefghijklmnopqrstuvwxyz"

// typo applies edits to words of five or more letters; first puts one
// substitution in a word's first letter.
func typo(r *rand.Rand, words []string, edits int, first bool) (string, bool) {
	var long []int
	for i, w := range words {
		if len(w) >= 5 && isASCIIWord(w) {
			long = append(long, i)
		}
	}
	if len(long) == 0 {
		return "", false
	}
	out := append([]string(nil), words...)
	for k := 0; k < edits; k++ {
		wi := long[r.IntN(len(long))]
		w := []byte(out[wi])
		if first {
			c := w[0]
			for c == w[0] || c == w[0]+32 || c+32 == w[0] {
				c = letters[r.IntN(26)]
			}
			w[0] = c
			out[wi] = string(w)
			continue
		}
		pos := 1 + r.IntN(len(w)-1) // leave the first letter: that is the first-letter set
		switch r.IntN(4) {
		case 0: // substitute
			c := letters[r.IntN(26)]
			for c == w[pos] || c+32 == w[pos] || c == w[pos]+32 {
				c = letters[r.IntN(26)]
			}
			w[pos] = c
		case 1: // delete
			w = append(w[:pos], w[pos+1:]...)
		case 2: // insert
			w = append(w[:pos], append([]byte{letters[r.IntN(26)]}, w[pos:]...)...)
		case 3: // transpose
			if pos+1 < len(w) {
				w[pos], w[pos+1] = w[pos+1], w[pos]
			} else {
				w[pos-1], w[pos] = w[pos], w[pos-1]
			}
		}
		out[wi] = string(w)
	}
	q := strings.Join(out, " ")
	return q, q != strings.Join(words, " ")
}

func isASCIIWord(w string) bool {
	for i := 0; i < len(w); i++ {
		c := w[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

type evalStats struct{ n, ok int }

// TestEval measures right-entity-first on queries generated from the SDN
// 2021-07 and CSL 2022-04 files (the reference set) and false
// positives on 500 realistic names that are on no list, and fails below the
// issue's targets. "Right entity first" counts a tie: when the first hit has
// exactly the target's score (two listings with the same name), the target
// is first among equals. Run: go test -run Eval -v ./internal/screening/
func TestEval(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluation harness: not in -short runs")
	}
	t.Run("Reference", func(t *testing.T) {
		// The reference files: SDN 2021-07 and CSL 2022-04.
		evaluate(t, 4, "ofac_sdn_2021-07", "us_csl_2022-04")
	})
	t.Run("AllLists", func(t *testing.T) {
		// Every file in ../shared/data/lists, with a different sample.
		evaluate(t, 5)
	})
}

func evaluate(t *testing.T, seed uint64, dirs ...string) {
	ds, ix := mustLoad(t, dirs...)
	t.Logf("%d entities, %d indexed names", ix.Len(), ix.Names())
	cases := generateEval(ds.Entities, 2500, seed)
	if *queriesOut != "" && len(dirs) > 0 {
		var b strings.Builder
		for _, c := range cases {
			b.WriteString(strings.ReplaceAll(c.query, "\n", " ") + "\n")
		}
		for _, n := range cleanNames() {
			b.WriteString(n + "\n")
		}
		if err := os.WriteFile(*queriesOut, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stats := map[string]*evalStats{}
	var misses []string
	total := evalStats{}
	for _, c := range cases {
		st := stats[c.kind]
		if st == nil {
			st = &evalStats{}
			stats[c.kind] = st
		}
		st.n++
		total.n++
		hits, err := ix.Search(screening.Query{Name: c.query, MinScore: 0.01, Limit: 20})
		if err != nil {
			misses = append(misses, fmt.Sprintf("%s %q: %v", c.kind, c.query, err))
			continue
		}
		ok := false
		if len(hits) > 0 {
			top := hits[0].Score
			for _, h := range hits {
				if h.Score < top-1e-4 { // float32 sums: equal names may differ in the last bits
					break
				}
				if h.Entity.Key == c.target {
					ok = true
				}
			}
		}
		if ok {
			st.ok++
			total.ok++
		} else if len(misses) < 60 {
			got := "nothing"
			if len(hits) > 0 {
				got = fmt.Sprintf("%q %.3f", hits[0].Matched, hits[0].Score)
			}
			misses = append(misses, fmt.Sprintf("%s %q (target %s) got %s", c.kind, c.query, c.target, got))
		}
	}
	kinds := make([]string, 0, len(stats))
	for k := range stats {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		st := stats[k]
		t.Logf("%-14s %5d queries  right entity first %6.2f%%", k, st.n, 100*float64(st.ok)/float64(st.n))
	}
	overall := float64(total.ok) / float64(total.n)
	t.Logf("%-14s %5d queries  right entity first %6.2f%%", "OVERALL", total.n, 100*overall)
	for _, m := range misses {
		t.Log("miss:", m)
	}
	if overall < targetOverall {
		t.Errorf("right entity first %.2f%% < target %.0f%%", 100*overall, 100*targetOverall)
	}
	if fl := stats["first-letter"]; fl != nil && float64(fl.ok)/float64(fl.n) < targetFirstLetter {
		t.Errorf("first-letter typos: right entity first %.2f%% < target %.0f%%", 100*float64(fl.ok)/float64(fl.n), 100*targetFirstLetter)
	}

	clean := cleanNames()
	if len(clean) != 500 {
		t.Fatalf("clean name set has %d names, want 500", len(clean))
	}
	fp := 0
	for _, name := range clean {
		hits, err := ix.Search(screening.Query{Name: name})
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		if len(hits) > 0 {
			fp++
			t.Logf("false positive: %q → %q %.3f", name, hits[0].Matched, hits[0].Score)
		}
	}
	t.Logf("clean names: %d of %d with a hit at or above the default threshold %.2f", fp, len(clean), screening.DefaultMinScore)
	if fp > 0 {
		t.Errorf("%d clean names hit at or above the default threshold", fp)
	}
}
