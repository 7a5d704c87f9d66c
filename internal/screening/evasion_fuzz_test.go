package screening_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chipgate/chipgate/internal/screening"
)

var (
	invisibles = []rune{0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD, 0x034F, 0x180E, 0xFE0F, 0xE0041}
	bidiMarks  = []rune{0x200E, 0x200F, 0x061C, 0x2066, 0x2067, 0x2068, 0x2069}
)

// lookalikes maps each ASCII lower-case letter to the letters of other
// scripts the normalizer reads as it (the inverse of the homoglyph table).
func lookalikes() map[rune][]rune {
	out := map[rune][]rune{}
	for r, l := range screening.Confusables {
		out[l] = append(out[l], r)
	}
	for l := range out {
		slices.Sort(out[l])
	}
	return out
}

// evade disguises name with the operations in ops, two bytes each
// (operation, argument): an invisible character or a bidi mark inserted,
// a Latin letter replaced by a look-alike of another script or by its
// fullwidth form, the whole name reversed under a right-to-left override,
// or wrapped in a left-to-right override. Every operation leaves what a
// screen shows unchanged (or changes only glyphs that look the same), and
// the first Latin letter stays Latin, so the name remains a Latin name.
func evade(name string, ops []byte, alike map[rune][]rune) string {
	runes := []rune(name)
	isLatin := func(r rune) bool { return r < utf8.RuneSelf && (r|0x20) >= 'a' && (r|0x20) <= 'z' }
	var rloWrap, lroWrap bool
	for i := 0; i+1 < len(ops) && i < 32; i += 2 {
		op, arg := ops[i]%6, int(ops[i+1])
		pos := arg % (len(runes) + 1)
		switch op {
		case 0:
			runes = slices.Insert(runes, pos, invisibles[arg%len(invisibles)])
		case 1:
			runes = slices.Insert(runes, pos, bidiMarks[arg%len(bidiMarks)])
		case 2, 3:
			if pos >= len(runes) || pos == slices.IndexFunc(runes, isLatin) {
				continue
			}
			r := runes[pos]
			if !isLatin(r) {
				continue
			}
			if op == 2 {
				if l := alike[r|0x20]; len(l) > 0 {
					runes[pos] = l[arg%len(l)]
				}
			} else {
				runes[pos] = r - 0x21 + 0xFF01 // fullwidth form
			}
		case 4:
			rloWrap = true
		case 5:
			lroWrap = true
		}
	}
	if rloWrap {
		slices.Reverse(runes)
		runes = append(append([]rune{0x202E}, runes...), 0x202C)
	}
	if lroWrap {
		runes = append(append([]rune{0x202D}, runes...), 0x202C)
	}
	return string(runes)
}

// checkEvasion asserts that a disguised listed name reads as the name
// itself (one of its readings has the same tokens) and screens exactly as
// the name does: the entity the plain name hits is hit with the same score.
func checkEvasion(t *testing.T, ix *screening.Index, e *screening.Entity, variant string) {
	t.Helper()
	n := ix.Normalizer()
	all := func(string) bool { return false }
	want, _ := n.QueryTokens(e.Name, all)
	same := false
	for _, r := range screening.Readings(variant) {
		if got, _ := n.QueryTokens(r, all); slices.Equal(got, want) {
			same = true
		}
	}
	if !same {
		t.Fatalf("%q (from %q) reads %q, want %q", variant, e.Name, screening.Readings(variant), want)
	}
	plain, err := ix.Search(screening.Query{Name: e.Name})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(plain, func(h screening.Hit) bool { return h.Entity.Key == e.Key })
	if i < 0 {
		return // the plain name's own recall is the evaluation's business
	}
	hits, err := ix.Search(screening.Query{Name: variant})
	if err != nil {
		t.Fatalf("%q: %v", variant, err)
	}
	j := slices.IndexFunc(hits, func(h screening.Hit) bool { return h.Entity.Key == e.Key })
	if j < 0 || hits[j].Score < plain[i].Score-1e-6 {
		t.Fatalf("%q (from %q, score %.3f) does not hit %s as the plain name does: %d hits", variant, e.Name, plain[i].Score, e.Key, len(hits))
	}
}

// FuzzEvasion: any disguise of a listed name made of the folds the
// normalizer undoes (invisible and bidi characters, homoglyphs, fullwidth
// letters, overrides) still hits the listed entity.
func FuzzEvasion(f *testing.F) {
	_, ix := mustLoadFixture(f)
	ents := ix.Entities()
	alike := lookalikes()
	f.Add(uint16(0), []byte{0, 3, 2, 5, 1, 7})
	f.Add(uint16(17), []byte{4, 0, 2, 1, 2, 2, 2, 3})
	f.Add(uint16(400), []byte{3, 1, 3, 2, 5, 0, 0, 9})
	f.Fuzz(func(t *testing.T, pick uint16, ops []byte) {
		e := &ents[int(pick)%len(ents)]
		checkEvasion(t, ix, e, evade(e.Name, ops, alike))
	})
}

// TestEvasionEveryListedName disguises every name of the fixture lists
// with seeded random operations: the fuzz property over the whole fixture
// on every run.
func TestEvasionEveryListedName(t *testing.T) {
	_, ix := mustLoadFixture(t)
	alike := lookalikes()
	r := rand.New(rand.NewPCG(17, 17))
	ents := ix.Entities()
	for i := range ents {
		ops := make([]byte, 2*(1+r.IntN(8)))
		for k := range ops {
			ops[k] = byte(r.IntN(256))
		}
		v := evade(ents[i].Name, ops, alike)
		if strings.ContainsFunc(ents[i].Name, func(r rune) bool { return r >= utf8.RuneSelf }) {
			continue // names in other scripts: homoglyph reading differs by design
		}
		checkEvasion(t, ix, &ents[i], v)
	}
}
