package screening

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mozillazg/go-pinyin"
	"golang.org/x/text/unicode/norm"
)

// Normalizer turns a name as a list or a user writes it into comparable
// tokens. It holds only immutable tables, so one value is safe for concurrent
// use; NewNormalizer builds it once per index rather than as a package global.
type Normalizer struct {
	legal     legalForms
	stop      map[string]bool
	hanTerms  map[string][]string // Chinese business words and places → Latin tokens
	hanMaxLen int                 // longest key in hanTerms, in runes
	pinyin    pinyin.Args
	ts        map[rune]rune       // traditional → simplified Chinese characters
	variant   map[string][]string // a spelling of a given name → every spelling of its group
	noise     map[string]bool     // one-word legal forms and stop words, for rejoinNoise
	noiseList []string            // the same, sorted, so that splitting is deterministic
}

// NewNormalizer returns a Normalizer with the built-in tables (legal forms,
// stop words, Chinese business vocabulary).
func NewNormalizer() *Normalizer {
	n := &Normalizer{
		legal:    newLegalForms(legalFormData),
		stop:     map[string]bool{},
		hanTerms: map[string][]string{},
		pinyin:   pinyin.NewArgs(),
		ts:       parseTS(tsCharacters),
		variant:  map[string][]string{},
		noise:    map[string]bool{},
	}
	for _, g := range nameVariants {
		ws := strings.Fields(g)
		for _, w := range ws {
			n.variant[w] = ws
		}
	}
	for _, p := range n.legal.anywhere {
		if len(p) == 1 && len(p[0]) >= 3 {
			n.noise[p[0]] = true
		}
	}
	for _, w := range stopWords {
		if len(w) >= 3 {
			n.noise[w] = true
		}
	}
	for w := range n.noise {
		n.noiseList = append(n.noiseList, w)
	}
	slices.Sort(n.noiseList)
	for _, w := range stopWords {
		n.stop[w] = true
	}
	for _, line := range hanTermData {
		k, v, _ := strings.Cut(line, "=")
		n.hanTerms[k] = strings.Fields(v)
		if l := utf8.RuneCountInString(k); l > n.hanMaxLen {
			n.hanMaxLen = l
		}
	}
	return n
}

// nameVariants are groups of Latin spellings of one given name that lists
// and people use interchangeably (transliterations of Arabic and Russian
// names); a query word of a group also looks up the group's other
// spellings (see Index.expand).
var nameVariants = []string{
	"muhammad mohammad mohammed mohamed muhammed mohamad mohamud muhamad mehmet",
	"ahmad ahmed ahmet",
	"husayn hussein hussain husain hosein hossein",
	"hasan hassan",
	"yusuf yousef youssef yousif yusif yousuf",
	"abd abdul abdel abdal",
	"mahmud mahmoud mahmood",
	"usama osama",
	"mustafa mostafa moustafa mustapha",
	"ibrahim ebrahim ibraheem",
	"khalid khaled",
	"abdullah abdallah abdulla",
	"umar omar",
	"uthman othman osman usman",
	"sergey sergei",
	"aleksandr alexander aleksander alexandr",
	"yuriy yuri yury iouri",
	"dmitriy dmitri dmitry",
	"andrey andrei",
	"nikolay nikolai",
	"aleksey aleksei alexey alexei",
	"yevgeniy evgeniy evgeny yevgeny evgeni",
	"vyacheslav viacheslav",
	"mikhail michail",
}

// stopWords carry no identity in a party name; dropping them keeps "Bank of
// Kunlun" and "Kunlun Bank" equal.
var stopWords = []string{"the", "of", "and", "for", "und", "et", "de", "del", "des", "du", "da"}

// Tokens returns the normalized tokens of name: folded to lower-case ASCII
// where a decomposition exists, Chinese script turned into English business
// words or pinyin, person names with "SURNAME, Given" read in either order
// (the scorer is order-free), legal-form words and stop words removed unless
// nothing else would remain. legal reports whether a legal form was removed.
func (n *Normalizer) Tokens(name string, person bool) (tokens []string, legal bool) {
	return n.tokens(name, person, nil)
}

// QueryTokens is Tokens for what a user typed: a legal form misspelled by
// one letter ("Limted",
// "Compny") is still recognized, since a query's legal form says nothing
// about identity either way. unknown reports whether a token is absent from
// the index: only such tokens may be misspelled legal forms, so that a
// listed word such as "corporacion" is never taken for "corporation".
//
// The query is not reordered: the scorer ignores word order, and reading
// "X Holding AG, Zurich" or "Y, S.A. de C.V." as "SURNAME, Given" would
// move legal forms away from the edge and merge initials across the comma,
// so that an exact listed name scored below its own alias.
func (n *Normalizer) QueryTokens(name string, unknown func(string) bool) (tokens []string, legal bool) {
	return n.tokens(name, false, unknown)
}

func (n *Normalizer) tokens(name string, person bool, fuzzyLegal func(string) bool) (tokens []string, legal bool) {
	if person {
		name = personOrder(name)
	}
	raw := n.rawTokens(name)
	if len(raw) == 0 {
		return nil, false
	}
	if fuzzyLegal != nil {
		raw = n.rejoinNoise(raw, fuzzyLegal)
	}
	kept := n.legal.strip(raw, fuzzyLegal)
	legal = len(kept) < len(raw)
	out := kept[:0:0]
	for _, t := range kept {
		if !n.stop[t] {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		// A name made only of legal forms or stop words ("The Company") keeps
		// its words: an empty name could match nothing and nothing could match it.
		out = raw
		legal = false
	}
	return out, legal
}

// rejoinNoise undoes splits and joins of a query that involve a legal form
// or a stop word, which the lists' names never keep as words: two unlisted
// halves of one ("Corpo ration", "CORP ORATION") become that word, and an
// unlisted word that is a listed word with a legal form or stop word
// glued on ("PlantJSC", "THEWORKERS") is split.
func (n *Normalizer) rejoinNoise(toks []string, unknown func(string) bool) []string {
	out := make([]string, 0, len(toks)+2)
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if i+1 < len(toks) && len(t) >= 2 && len(toks[i+1]) >= 2 && (unknown(t) || unknown(toks[i+1])) && n.noise[t+toks[i+1]] {
			out = append(out, t+toks[i+1])
			i++
			continue
		}
		if len(t) >= 6 && unknown(t) {
			split := false
			for _, w := range n.noiseList {
				if len(t)-len(w) < 3 {
					continue
				}
				if rest, ok := strings.CutSuffix(t, w); ok && !unknown(rest) {
					out, split = append(out, rest, w), true
					break
				}
				if rest, ok := strings.CutPrefix(t, w); ok && !unknown(rest) {
					out, split = append(out, w, rest), true
					break
				}
			}
			if split {
				continue
			}
		}
		out = append(out, t)
	}
	return out
}

// personOrder turns "SURNAME, Given Names" into "Given Names SURNAME" so that
// displayed and compared forms agree; names with more than one comma are left
// alone because the comma then separates other things (titles, places).
func personOrder(name string) string {
	if strings.Count(name, ",") != 1 {
		return name
	}
	sur, given, _ := strings.Cut(name, ",")
	sur, given = strings.TrimSpace(sur), strings.TrimSpace(given)
	if sur == "" || given == "" {
		return name
	}
	return given + " " + sur
}

// rawTokens folds and splits name without removing anything.
func (n *Normalizer) rawTokens(name string) []string {
	var b strings.Builder
	b.Grow(len(name) + 8)
	ascii := true
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		for i := 0; i < len(name); i++ {
			n.writeFolded(&b, rune(name[i]))
		}
	} else {
		n.foldUnicode(&b, name)
	}
	toks := mergeInitials(strings.Fields(b.String()))
	out := toks[:0]
	for _, t := range toks {
		if t != separator {
			out = append(out, t)
		}
	}
	return out
}

// separator stands, among the raw tokens, for punctuation that separates
// parts of a name (comma, semicolon, parentheses, slash), so that initials
// are not merged across it: "B.I., S.T.R." is "bi str", not "bistr".
const separator = "|"

// writeFolded writes one rune already free of combining marks.
func (n *Normalizer) writeFolded(b *strings.Builder, r rune) {
	switch {
	case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		b.WriteRune(r)
	case r >= 'A' && r <= 'Z':
		b.WriteRune(r + 'a' - 'A')
	case r == '\'' || r == '`' || r == '\u2019' || r == '\u2018' || r == '\u02bc' || r == '\u02bb':
		// Apostrophes join: O'Brien = OBrien, 'ABBAS = ABBAS.
	case r == '&':
		b.WriteString(" and ")
	case r == ',' || r == ';' || r == '(' || r == ')' || r == '/':
		b.WriteString(" " + separator + " ")
	case r < utf8.RuneSelf:
		b.WriteByte(' ')
	default:
		if s, ok := specialFold[r]; ok {
			b.WriteString(s)
			return
		}
		if s, ok := cyrillic[unicode.ToLower(r)]; ok {
			b.WriteString(s)
			return
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
			return
		}
		b.WriteByte(' ')
	}
}

// foldUnicode drops invisible and bidi characters, decomposes (NFKD: the
// compatibility mappings of NFKC, so fullwidth and mathematical letters
// become ASCII, then combining marks are dropped), reads look-alike letters
// of other scripts mixed into Latin words as the Latin letters they imitate
// (see wordMode), turns traditional Chinese characters into simplified ones
// and transliterates Chinese script.
func (n *Normalizer) foldUnicode(b *strings.Builder, name string) {
	runes := []rune(nfkd(stripFormatting(name)))
	latinName := hasLatinLetter(runes)
	for i := 0; i < len(runes); {
		r := runes[i]
		if unicode.Is(unicode.Han, r) {
			j := i
			for j < len(runes) && unicode.Is(unicode.Han, runes[j]) {
				if s, ok := n.ts[runes[j]]; ok {
					runes[j] = s
				}
				j++
			}
			b.WriteByte(' ')
			n.writeHan(b, runes[i:j])
			b.WriteByte(' ')
			i = j
			continue
		}
		if inWord(r) {
			j := i
			for j < len(runes) && inWord(runes[j]) {
				j++
			}
			conf := wordMode(runes[i:j], latinName) == modeConfusable
			for _, r := range runes[i:j] {
				if unicode.Is(unicode.Mn, r) {
					continue
				}
				if c, ok := confusables[r]; ok && conf {
					b.WriteRune(c)
					continue
				}
				n.writeFolded(b, r)
			}
			i = j
			continue
		}
		n.writeFolded(b, r)
		i++
	}
}

// nfkd is the compatibility decomposition.
func nfkd(s string) string { return norm.NFKD.String(s) }

// writeHan segments a run of Chinese characters by longest match against the
// business vocabulary (技术 → technology, 有限公司 → limited company) and
// writes each remaining stretch as one pinyin word, because trade names such
// as 华为 are written as one romanized word ("Huawei").
func (n *Normalizer) writeHan(b *strings.Builder, run []rune) {
	var pending []rune
	flush := func() {
		if len(pending) == 0 {
			return
		}
		for _, r := range pending {
			if p := pinyin.SinglePinyin(r, n.pinyin); len(p) > 0 {
				b.WriteString(p[0])
			}
		}
		b.WriteByte(' ')
		pending = pending[:0]
	}
	for i := 0; i < len(run); {
		matched := false
		for l := min(n.hanMaxLen, len(run)-i); l >= 1; l-- {
			if words, ok := n.hanTerms[string(run[i:i+l])]; ok {
				flush()
				for _, w := range words {
					b.WriteString(w)
					b.WriteByte(' ')
				}
				i += l
				matched = true
				break
			}
		}
		if !matched {
			pending = append(pending, run[i])
			i++
		}
	}
	flush()
}

// mergeInitials joins runs of two or more one-letter tokens, so "S.A." and
// "SA", "J.S.C." and "JSC" compare equal.
func mergeInitials(toks []string) []string {
	out := toks[:0]
	for i := 0; i < len(toks); {
		if len(toks[i]) == 1 && toks[i] != separator && i+1 < len(toks) && len(toks[i+1]) == 1 && toks[i+1] != separator {
			j := i
			var s strings.Builder
			for j < len(toks) && len(toks[j]) == 1 && toks[j] != separator {
				s.WriteString(toks[j])
				j++
			}
			out = append(out, s.String())
			i = j
			continue
		}
		out = append(out, toks[i])
		i++
	}
	return out
}

// specialFold covers letters that Unicode does not decompose into ASCII.
var specialFold = map[rune]string{
	'ß': "ss", 'æ': "ae", 'Æ': "ae", 'ø': "o", 'Ø': "o", 'đ': "d", 'Đ': "d",
	'ł': "l", 'Ł': "l", 'ı': "i", 'œ': "oe", 'Œ': "oe", 'þ': "th", 'Þ': "th",
	'ð': "d", 'Ð': "d", 'ħ': "h", 'Ħ': "h",
}

// cyrillic is a plain (BGN-like) romanization, enough to compare Cyrillic
// names and legal forms (ООО, АО) with their Latin spellings on the lists.
var cyrillic = map[rune]string{
	'а': "a", 'б': "b", 'в': "v", 'г': "g", 'д': "d", 'е': "e", 'ё': "e", 'ж': "zh",
	'з': "z", 'и': "i", 'й': "y", 'к': "k", 'л': "l", 'м': "m", 'н': "n", 'о': "o",
	'п': "p", 'р': "r", 'с': "s", 'т': "t", 'у': "u", 'ф': "f", 'х': "kh", 'ц': "ts",
	'ч': "ch", 'ш': "sh", 'щ': "shch", 'ъ': "", 'ы': "y", 'ь': "", 'э': "e", 'ю': "yu",
	'я': "ya", 'і': "i", 'ї': "yi", 'є': "ye", 'ґ': "g", 'ў': "u",
}
