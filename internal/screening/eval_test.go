package screening_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/mozillazg/go-pinyin"

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

// Targets from issue 17, at the default threshold.
const (
	targetRecall = 0.98 // of every generated variation
	targetExact  = 1.0  // of exact primary names and aliases
)

// legalSwaps are legal forms as lists print them, abbreviated and spelled
// out: a variation writes one for the other.
var legalSwaps = [][2]string{
	{"CO., LTD.", "COMPANY LIMITED"}, {"LTD.", "LIMITED"}, {"LTD", "LIMITED"}, {"CORP.", "CORPORATION"},
	{"INC.", "INCORPORATED"}, {"LLC", "LIMITED LIABILITY COMPANY"}, {"JSC", "JOINT STOCK COMPANY"},
	{"OJSC", "OPEN JOINT STOCK COMPANY"}, {"CJSC", "CLOSED JOINT STOCK COMPANY"}, {"PJSC", "PUBLIC JOINT STOCK COMPANY"},
	{"S.A. DE C.V.", "SOCIEDAD ANONIMA DE CAPITAL VARIABLE"}, {"S.A.", "SOCIEDAD ANONIMA"}, {"PLC", "PUBLIC LIMITED COMPANY"},
	{"CO.", "COMPANY"}, {"GMBH", "GESELLSCHAFT MIT BESCHRANKTER HAFTUNG"}, {"OOO", "OBSHCHESTVO S OGRANICHENNOY OTVETSTVENNOSTYU"},
	{"ZAO", "ZAKRYTOE AKTSIONERNOE OBSHCHESTVO"}, {"OAO", "OTKRYTOE AKTSIONERNOE OBSHCHESTVO"}, {"SDN. BHD.", "SENDIRIAN BERHAD"},
}

// transliterations are spellings of one name in Latin letters that lists
// and people use interchangeably.
var transliterations = [][2]string{
	{"MOHAMMED", "MUHAMMAD"}, {"MOHAMMAD", "MUHAMMED"}, {"MUHAMMAD", "MOHAMED"}, {"AHMED", "AHMAD"}, {"AHMAD", "AHMED"},
	{"HUSSEIN", "HUSAYN"}, {"HUSSAIN", "HUSSEIN"}, {"HASSAN", "HASAN"}, {"YUSUF", "YOUSSEF"}, {"YOUSEF", "YUSUF"},
	{"ABDUL", "ABDEL"}, {"ABDEL", "ABDUL"}, {"MAHMOUD", "MAHMUD"}, {"OSAMA", "USAMA"}, {"MUSTAFA", "MOSTAFA"},
	{"IBRAHIM", "EBRAHIM"}, {"KHALID", "KHALED"}, {"SERGEI", "SERGEY"}, {"SERGEY", "SERGEI"}, {"ALEKSANDR", "ALEXANDER"},
	{"ALEXANDER", "ALEKSANDR"}, {"YURI", "YURIY"}, {"DMITRI", "DMITRIY"}, {"DMITRY", "DMITRIY"}, {"ANDREI", "ANDREY"},
	{"ANDREY", "ANDREI"}, {"NIKOLAI", "NIKOLAY"}, {"ALEKSEI", "ALEKSEY"}, {"YEVGENY", "EVGENIY"},
}

// generateEval makes queries from listed names, seeded so that every run
// measures the same set: exact names and aliases; typos (substitution,
// transposition, deletion, insertion, two edits, a wrong first letter) in
// words of five letters or more (a typo in "Li" or "SA" makes another name);
// reordered words; a word split in two and two words joined; a missing
// middle name; legal forms abbreviated or spelled out; transliterations;
// Chinese names in pinyin and in traditional characters; look-alike letters
// of other scripts; invisible characters.
func generateEval(ents []screening.Entity, n int, seed uint64) []evalCase {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	norm := screening.NewNormalizer()
	alike := lookalikes()
	traditional := map[rune]rune{}
	for t, s := range screening.Simplified {
		if _, ok := traditional[s]; !ok || t < traditional[s] {
			traditional[s] = t
		}
	}
	var out []evalCase
	add := func(kind, q, target string, ok bool) {
		if ok && strings.TrimSpace(q) != "" {
			out = append(out, evalCase{kind, q, target})
		}
	}
	for _, i := range r.Perm(len(ents))[:min(n, len(ents))] {
		e := &ents[i]
		name := e.Name
		words := strings.Fields(strings.NewReplacer(",", " ", ".", " ").Replace(name))
		if len(words) == 0 || len(name) < 4 {
			continue
		}
		// Names made only of legal forms ("LLC" as an alias, an artefact of
		// a list's punctuation) name no one and are left out.
		add("exact", name, e.Key, !screening.OnlyLegalForms(norm, name))
		if len(e.Aliases) > 0 {
			a := e.Aliases[r.IntN(len(e.Aliases))]
			add("alias", a, e.Key, len(a) >= 4 && !screening.OnlyLegalForms(norm, a))
		}
		for _, k := range []struct {
			kind string
			op   int
		}{{"substitution", 0}, {"deletion", 1}, {"insertion", 2}, {"transposition", 3}} {
			q, ok := typo(r, words, 1, k.op)
			add(k.kind, q, e.Key, ok)
		}
		q, ok := typo(r, words, 2, -1)
		add("typo2", q, e.Key, ok)
		q, ok = typo(r, words, 1, 4)
		add("first-letter", q, e.Key, ok)
		if len(words) >= 2 {
			rev := slices.Clone(words)
			slices.Reverse(rev)
			add("reordered", strings.Join(rev, " "), e.Key, true)
		}
		// A word split in two, two words joined.
		if long := indexesWhere(words, func(w string) bool { return len(w) >= 8 && isASCIIWord(w) }); len(long) > 0 {
			w := slices.Clone(words)
			k := long[r.IntN(len(long))]
			cut := 4 + r.IntN(len(w[k])-7)
			w[k] = w[k][:cut] + " " + w[k][cut:]
			add("split", strings.Join(w, " "), e.Key, true)
		}
		if pairs := indexesWhere(words[:len(words)-1], func(string) bool { return true }); len(pairs) > 0 {
			k := pairs[r.IntN(len(pairs))]
			if len(words[k]) >= 3 && len(words[k+1]) >= 3 {
				w := slices.Concat(words[:k], []string{words[k] + words[k+1]}, words[k+2:])
				add("joined", strings.Join(w, " "), e.Key, true)
			}
		}
		if e.Type == screening.TypeIndividual && len(words) >= 4 {
			k := 1 + r.IntN(len(words)-2)
			add("missing-middle", strings.Join(slices.Delete(slices.Clone(words), k, k+1), " "), e.Key, true)
		}
		if e.Type != screening.TypeIndividual {
			up := strings.ToUpper(name)
			for _, s := range legalSwaps {
				if i := strings.LastIndex(up, s[0]); i >= 0 && i+len(s[0]) == len(up) {
					add("legal-spelled-out", name[:i]+s[1], e.Key, true)
					break
				}
				if i := strings.LastIndex(up, s[1]); i >= 0 && i+len(s[1]) == len(up) {
					add("legal-abbreviated", name[:i]+s[0], e.Key, true)
					break
				}
			}
		}
		for _, t := range transliterations {
			if w := slices.Index(words, t[0]); w >= 0 || slices.Index(words, strings.ToUpper(t[0][:1])+strings.ToLower(t[0][1:])) >= 0 {
				add("transliteration", strings.NewReplacer(t[0], t[1], strings.ToUpper(t[0][:1])+strings.ToLower(t[0][1:]), t[1]).Replace(name), e.Key, true)
				break
			}
		}
		for _, n := range e.Names() {
			if !strings.ContainsFunc(n, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
				continue
			}
			py := pinyin.LazyConvert(n, nil)
			add("pinyin", strings.Join(py, " "), e.Key, len(py) > 0)
			tr := []rune(n)
			changed := false
			for k, c := range tr {
				if t, ok := traditional[c]; ok {
					tr[k], changed = t, true
				}
			}
			add("traditional-chinese", string(tr), e.Key, changed)
			break
		}
		add("homoglyph", evade(name, []byte{2, byte(1 + r.IntN(250)), 2, byte(1 + r.IntN(250))}, alike), e.Key, hasLatin(name))
		add("invisible", evade(name, []byte{0, byte(1 + r.IntN(250)), 0, byte(1 + r.IntN(250))}, alike), e.Key, true)
	}
	return out
}

func indexesWhere(words []string, f func(string) bool) []int {
	var out []int
	for i, w := range words {
		if f(w) {
			out = append(out, i)
		}
	}
	return out
}

func hasLatin(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < utf8.RuneSelf && unicode.IsLetter(r) })
}

const letters = "abcdefghijklmnopqrstuvwxyz"

// typo applies edits to words of five or more letters: op 0 substitutes,
// 1 deletes, 2 inserts, 3 transposes neighbours (never the first letter),
// 4 substitutes the first letter, -1 picks at random among 0-3.
func typo(r *rand.Rand, words []string, edits int, op int) (string, bool) {
	long := indexesWhere(words, func(w string) bool { return len(w) >= 5 && isASCIIWord(w) })
	if len(long) == 0 {
		return "", false
	}
	out := slices.Clone(words)
	for k := 0; k < edits; k++ {
		wi := long[r.IntN(len(long))]
		w := []byte(out[wi])
		o := op
		if o < 0 {
			o = r.IntN(4)
		}
		if o == 4 {
			c := w[0]
			for c == w[0] || c == w[0]+32 || c+32 == w[0] {
				c = letters[r.IntN(26)]
			}
			w[0] = c
			out[wi] = string(w)
			continue
		}
		pos := 1 + r.IntN(len(w)-1)
		switch o {
		case 0:
			c := letters[r.IntN(26)]
			for c == w[pos] || c+32 == w[pos] || c == w[pos]+32 {
				c = letters[r.IntN(26)]
			}
			w[pos] = c
		case 1:
			w = append(w[:pos], w[pos+1:]...)
		case 2:
			w = append(w[:pos], append([]byte{letters[r.IntN(26)]}, w[pos:]...)...)
		case 3:
			if pos+1 < len(w) {
				w[pos], w[pos+1] = w[pos+1], w[pos]
			} else {
				w[pos-1], w[pos] = w[pos], w[pos-1]
			}
		}
		out[wi] = string(w)
	}
	q := strings.Join(out, " ")
	return q, !strings.EqualFold(q, strings.Join(words, " "))
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

// TestEval measures, on queries generated from the lists, how many find
// their target at the default threshold, and asserts issue 17's goals:
// at least 98% of all variations, every exact name and alias, and no hit
// for any clean name. It prints the precision/recall curve over thresholds
// (docs/SCREENING.md publishes it). It runs on the repository fixture
// testdata/lists everywhere and, when ../shared/data/lists is present, on
// every list as well. Run: go test -run Eval -v ./internal/screening/
func TestEval(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluation harness: not in -short runs")
	}
	t.Run("Fixture", func(t *testing.T) {
		ds, ix := mustLoadFixture(t)
		evaluate(t, ds, ix, 4, len(ds.Entities))
	})
	t.Run("AllLists", func(t *testing.T) {
		ds, ix := mustLoadFull(t)
		evaluate(t, ds, ix, 5, 3000)
	})
}

func evaluate(t *testing.T, ds *screening.Dataset, ix *screening.Index, seed uint64, n int) {
	t.Logf("%d entities, %d indexed names", ix.Len(), ix.Names())
	cases := generateEval(ds.Entities, n, seed)
	clean := cleanNames()
	if len(clean) < 500 {
		t.Fatalf("clean name set has %d names, want at least 500", len(clean))
	}
	if *queriesOut != "" {
		var b strings.Builder
		for _, c := range cases {
			b.WriteString(strings.ReplaceAll(c.query, "\n", " ") + "\n")
		}
		for _, n := range clean {
			b.WriteString(n + "\n")
		}
		if err := os.WriteFile(*queriesOut, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const floor = 0.5
	// Per case: the target's score (0 when not among the hits) and the best
	// score of any other entity.
	target := make([]float64, len(cases))
	other := make([]float64, len(cases))
	var misses []string
	for i, c := range cases {
		hits, err := ix.Search(screening.Query{Name: c.query, MinScore: floor, Limit: 10})
		if err != nil {
			t.Fatalf("%s %q: %v", c.kind, c.query, err)
		}
		for _, h := range hits {
			if h.Entity.Key == c.target {
				target[i] = max(target[i], h.Score)
			} else {
				other[i] = max(other[i], h.Score)
			}
		}
		if target[i] < screening.DefaultMinScore && c.kind != "typo2" {
			got := "nothing"
			if len(hits) > 0 {
				got = fmt.Sprintf("%q %.3f", hits[0].Matched, hits[0].Score)
			}
			misses = append(misses, fmt.Sprintf("%s %q (target %s %.3f) got %s", c.kind, c.query, c.target, target[i], got))
		}
	}
	cleanTop := make([]float64, len(clean))
	for i, name := range clean {
		hits, err := ix.Search(screening.Query{Name: name, MinScore: floor, Limit: 1})
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		if len(hits) > 0 {
			cleanTop[i] = hits[0].Score
			if hits[0].Score >= screening.DefaultMinScore {
				t.Errorf("clean name %q hits %q %.3f", name, hits[0].Matched, hits[0].Score)
			}
		}
	}

	// Per kind at the default threshold.
	byKind := map[string][2]int{}
	for i, c := range cases {
		k := byKind[c.kind]
		k[0]++
		if target[i] >= screening.DefaultMinScore {
			k[1]++
		}
		byKind[c.kind] = k
	}
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	t.Logf("at the default threshold %.2f:", screening.DefaultMinScore)
	for _, k := range kinds {
		t.Logf("  %-20s %5d queries  target hit %6.2f%%", k, byKind[k][0], 100*float64(byKind[k][1])/float64(byKind[k][0]))
	}

	// The curve: recall of targets, clean names hit, and precision (of the
	// queries that raise an alarm, the share whose alarm includes the target).
	t.Logf("threshold  recall  exact  clean-hits  precision")
	for th := 0.70; th <= 1.0001; th += 0.02 {
		var tp, alarms, exact, nExact, cleanHits int
		for i, c := range cases {
			if c.kind == "exact" || c.kind == "alias" {
				nExact++
				if target[i] >= th {
					exact++
				}
			}
			if target[i] >= th {
				tp++
			}
			if target[i] >= th || other[i] >= th {
				alarms++
			}
		}
		for _, s := range cleanTop {
			if s >= th {
				cleanHits++
				alarms++
			}
		}
		prec := 1.0
		if alarms > 0 {
			prec = float64(tp) / float64(alarms)
		}
		t.Logf("  %.2f    %6.2f%% %6.2f%%  %4d     %6.2f%%", th, 100*float64(tp)/float64(len(cases)), 100*float64(exact)/float64(nExact), cleanHits, 100*prec)
	}

	// The goal counts every variation of one kind (one typo, one change of
	// spelling, order, script or legal form); two typos in one name
	// (typo2) are reported above, not counted: see docs/SCREENING.md.
	var hit, counted, exact, nExact int
	for i, c := range cases {
		if c.kind != "typo2" {
			counted++
			if target[i] >= screening.DefaultMinScore {
				hit++
			}
		}
		if c.kind == "exact" || c.kind == "alias" {
			nExact++
			if target[i] >= 0.99 {
				exact++
			} else {
				t.Logf("exact name below 0.99: %s %q (target %s) %.3f", c.kind, c.query, c.target, target[i])
			}
		}
	}
	recall := float64(hit) / float64(counted)
	t.Logf("OVERALL %d queries (typo2 aside): target hit %.2f%% at %.2f; exact names and aliases at >= 0.99: %d of %d; %d clean names",
		counted, 100*recall, screening.DefaultMinScore, exact, nExact, len(clean))
	for i, m := range misses {
		if i == 400 {
			t.Logf("... %d more misses", len(misses)-40)
			break
		}
		t.Log("miss:", m)
	}
	if recall < targetRecall {
		t.Errorf("target hit %.2f%% < goal %.0f%%", 100*recall, 100*targetRecall)
	}
	if float64(exact) < targetExact*float64(nExact) {
		t.Errorf("exact names and aliases scoring >= 0.99: %d of %d, want all", exact, nExact)
	}
}
