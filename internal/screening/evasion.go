package screening

import (
	_ "embed"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Evasion kinds: what Evasions reports about a name written to slip past
// screening. Each is a red flag on its own, because no one types these into
// a company's name by accident.
const (
	// EvasionInvisible: characters that show nothing (zero-width space,
	// joiner and non-joiner, word joiner, byte order mark, soft hyphen,
	// invisible operators, fillers, variation selectors, tag characters).
	EvasionInvisible = "invisible_characters"
	// EvasionBidi: bidirectional controls (LRE, RLE, PDF, LRO, RLO, LRI,
	// RLI, FSI, PDI, LRM, RLM, ALM), which reorder what a screen shows.
	EvasionBidi = "bidi_controls"
	// EvasionHomoglyph: letters of another script that look like Latin
	// letters, mixed into Latin words ("Ηuawei" with a Greek capital eta).
	EvasionHomoglyph = "homoglyphs"
)

// isInvisible reports characters that render as nothing and are dropped
// before comparison. Joiners and the soft hyphen join what they stand
// between, as a reader sees it: "Hua\u200bwei" is "Huawei".
func isInvisible(r rune) bool {
	switch {
	case r == 0x00AD, // soft hyphen
		r == 0x034F,              // combining grapheme joiner
		r == 0x115F, r == 0x1160, // Hangul choseong and jungseong fillers
		r == 0x17B4, r == 0x17B5, // Khmer inherent vowels
		r == 0x180E,                // Mongolian vowel separator
		r >= 0x200B && r <= 0x200D, // zero-width space, non-joiner, joiner
		r >= 0x2060 && r <= 0x2064, // word joiner, invisible operators
		r == 0x3164, r == 0xFFA0,   // Hangul fillers
		r >= 0xFE00 && r <= 0xFE0F,   // variation selectors
		r == 0xFEFF,                  // zero-width no-break space (BOM)
		r >= 0xE0000 && r <= 0xE007F, // tag characters
		r >= 0xE0100 && r <= 0xE01EF: // variation selectors supplement
		return true
	}
	return false
}

// isBidi reports the bidirectional formatting characters (Unicode UAX #9):
// embeddings, overrides, isolates and the implicit marks.
func isBidi(r rune) bool {
	return r == 0x200E || r == 0x200F || r == 0x061C || // LRM, RLM, ALM
		(r >= 0x202A && r <= 0x202E) || // LRE, RLE, PDF, LRO, RLO
		(r >= 0x2066 && r <= 0x2069) // LRI, RLI, FSI, PDI
}

const (
	rlo = 0x202E // right-to-left override
	pdf = 0x202C // pop directional formatting
)

// hasFormatting reports whether s holds any invisible or bidi character;
// ASCII text never does.
func hasFormatting(s string) bool {
	for _, r := range s {
		if r >= 0x80 && (isInvisible(r) || isBidi(r)) {
			return true
		}
	}
	return false
}

// stripFormatting removes invisible and bidi characters from s.
func stripFormatting(s string) string {
	if !hasFormatting(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if !isInvisible(r) && !isBidi(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// displayed returns s as a screen shows it when s holds a right-to-left
// override: the characters from RLO to the matching PDF (or the end) are
// shown in reverse order, so "\u202Eseigolonhcet iewauH\u202C" reads
// "Huawei technologies". Nested embeddings inside the override are ignored
// (their characters are overridden too). ok is false when s has no RLO.
func displayed(s string) (string, bool) {
	if !strings.ContainsRune(s, rlo) {
		return "", false
	}
	runes := []rune(s)
	out := make([]rune, 0, len(runes))
	for i := 0; i < len(runes); {
		if runes[i] != rlo {
			out = append(out, runes[i])
			i++
			continue
		}
		depth, j := 1, i+1
		for ; j < len(runes) && depth > 0; j++ {
			switch r := runes[j]; {
			case r >= 0x202A && r <= 0x202E && r != pdf:
				depth++
			case r == pdf:
				depth--
			}
		}
		if depth == 0 {
			j-- // j is the matching PDF
		}
		span := slices.Clone(runes[i+1 : j])
		slices.Reverse(span)
		out = append(out, span...)
		i = j + 1
	}
	return string(out), true
}

// Readings returns the forms of name that are compared with the lists:
// the text without invisible and bidi characters, and, when a
// right-to-left override makes a screen show the characters in another
// order, that displayed order as well. A plain name has one reading, itself.
func Readings(name string) []string {
	out := []string{stripFormatting(name)}
	if d, ok := displayed(name); ok {
		if d = stripFormatting(d); d != out[0] {
			out = append(out, d)
		}
	}
	return out
}

// Evasions reports the evasion kinds (EvasionInvisible, EvasionBidi,
// EvasionHomoglyph) found in name, in that order; nil for an honest name.
func Evasions(name string) []string {
	var inv, bidi, homo bool
	ascii := true
	for _, r := range name {
		if r < utf8.RuneSelf {
			continue
		}
		ascii = false
		inv = inv || isInvisible(r)
		bidi = bidi || isBidi(r)
	}
	if ascii {
		return nil
	}
	homo = hasHomoglyphs(stripFormatting(name))
	var out []string
	if inv {
		out = append(out, EvasionInvisible)
	}
	if bidi {
		out = append(out, EvasionBidi)
	}
	if homo {
		out = append(out, EvasionHomoglyph)
	}
	return out
}

// hasHomoglyphs reports whether a word of name mixes Latin letters with
// look-alike letters of another script, or a name with Latin words has a
// word made only of look-alikes.
func hasHomoglyphs(name string) bool {
	found := false
	forWords([]rune(nfkd(name)), func(w []rune, latinName bool) {
		if !found && wordMode(w, latinName) == modeConfusable {
			for _, r := range w {
				if _, ok := confusables[r]; ok {
					found = true
				}
			}
		}
	})
	return found
}

type foldMode int

const (
	modeTransliterate foldMode = iota // read the word in its own script (Cyrillic romanized)
	modeConfusable                    // read look-alike letters as the Latin letters they imitate
)

// wordMode decides how to read one word (a run of letters, digits and
// marks): as homoglyphs of Latin letters when it mixes Latin letters with
// look-alikes, or when it is made only of look-alikes in a name that has
// Latin letters elsewhere; otherwise in its own script, so that
// "ООО Ромашка" stays a Russian name romanized.
func wordMode(w []rune, latinName bool) foldMode {
	var latin, conf, other bool
	for _, r := range w {
		switch {
		case r < utf8.RuneSelf:
			if unicode.IsLetter(r) {
				latin = true
			}
		case unicode.Is(unicode.Mn, r):
		default:
			if _, ok := confusables[r]; ok {
				conf = true
			} else if unicode.IsLetter(r) {
				other = true
			}
		}
	}
	if conf && (latin || (!other && latinName)) {
		return modeConfusable
	}
	return modeTransliterate
}

// forWords calls fn with each run of letters, digits and combining marks in
// runes (Chinese characters excluded), and whether runes hold any ASCII
// letter outside Chinese.
func forWords(runes []rune, fn func(word []rune, latinName bool)) {
	latinName := hasLatinLetter(runes)
	for i := 0; i < len(runes); {
		if !inWord(runes[i]) {
			i++
			continue
		}
		j := i
		for j < len(runes) && inWord(runes[j]) {
			j++
		}
		fn(runes[i:j], latinName)
		i = j
	}
}

// hasLatinLetter reports whether runes hold an ASCII letter.
func hasLatinLetter(runes []rune) bool {
	for _, r := range runes {
		if r < utf8.RuneSelf && unicode.IsLetter(r) {
			return true
		}
	}
	return false
}

func inWord(r rune) bool {
	return (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)) && !unicode.Is(unicode.Han, r)
}

// confusables maps letters of other scripts that look like Latin letters to
// those letters (lower-case, since the normalizer folds case anyway). It is
// the subset of Unicode's confusables.txt (UTS #39, "Unicode Security
// Mechanisms", section 4) for Greek, Cyrillic, Armenian and Cherokee
// letters and Latin small capitals whose skeleton is one ASCII letter,
// checked character by character against the Unicode character names.
// Fullwidth and mathematical letters need no entry: the compatibility
// decomposition (NFKD, as in NFKC) already turns them into ASCII.
var confusables = map[rune]rune{
	// Greek
	'Α': 'a', 'Β': 'b', 'Ε': 'e', 'Ζ': 'z', 'Η': 'h', 'Ι': 'i', 'Κ': 'k', 'Μ': 'm', 'Ν': 'n', 'Ο': 'o',
	'Ρ': 'p', 'Τ': 't', 'Υ': 'y', 'Χ': 'x', 'α': 'a', 'γ': 'y', 'ι': 'i', 'ν': 'v', 'ο': 'o', 'ρ': 'p',
	'υ': 'u', 'χ': 'x', 'ϲ': 'c', 'ς': 'c', 'ϳ': 'j', // ς: what NFKD makes of the lunate sigma ϲ
	// Cyrillic
	'А': 'a', 'В': 'b', 'Е': 'e', 'К': 'k', 'М': 'm', 'Н': 'h', 'О': 'o', 'Р': 'p', 'С': 'c', 'Т': 't',
	'Х': 'x', 'Ѕ': 's', 'І': 'i', 'Ј': 'j', 'Ү': 'y', 'Һ': 'h', 'Ӏ': 'i', 'Ԍ': 'g', 'Ԛ': 'q', 'Ԝ': 'w',
	'а': 'a', 'е': 'e', 'о': 'o', 'р': 'p', 'с': 'c', 'у': 'y', 'х': 'x', 'ѕ': 's', 'і': 'i', 'ј': 'j',
	'һ': 'h', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'ӏ': 'l',
	// Armenian
	'օ': 'o', 'ս': 'u', 'ո': 'n', 'հ': 'h',
	// Cherokee
	'Ꭰ': 'd', 'Ꭱ': 'r', 'Ꭲ': 't', 'Ꭹ': 'y', 'Ꭺ': 'a', 'Ꭻ': 'j', 'Ꭼ': 'e', 'Ꮃ': 'w', 'Ꮇ': 'm', 'Ꮋ': 'h',
	'Ꮐ': 'g', 'Ꮒ': 'h', 'Ꮓ': 'z', 'Ꮟ': 'b', 'Ꮢ': 'r', 'Ꮪ': 's', 'Ꮮ': 'l', 'Ꮯ': 'c', 'Ꮲ': 'p', 'Ꮶ': 'k',
	'Ᏼ': 'b',
	// Latin letters that look like other Latin letters
	'ɑ': 'a', 'ɡ': 'g', 'ɩ': 'i', 'ᴀ': 'a', 'ʙ': 'b', 'ᴄ': 'c', 'ᴅ': 'd', 'ᴇ': 'e', 'ɢ': 'g', 'ʜ': 'h',
	'ɪ': 'i', 'ᴊ': 'j', 'ᴋ': 'k', 'ʟ': 'l', 'ᴍ': 'm', 'ɴ': 'n', 'ᴏ': 'o', 'ᴘ': 'p', 'ʀ': 'r', 'ᴛ': 't',
	'ᴜ': 'u', 'ᴠ': 'v', 'ᴡ': 'w', 'ʏ': 'y', 'ᴢ': 'z',
}

// tsCharacters is OpenCC's traditional-to-simplified character table
// (dictionary/TSCharacters.txt, Apache License 2.0), as shipped in the Go
// module github.com/longbridgeapp/opencc v0.3.13: one line per traditional
// character, a tab, then its simplified forms, the usual one first. See
// data/README.md.
//
//go:embed data/TSCharacters.txt
var tsCharacters string

// parseTS reads tsCharacters into a map from each traditional character to
// its usual simplified form; multi-character keys (none today) are skipped.
func parseTS(data string) map[rune]rune {
	out := make(map[rune]rune, 4200)
	for line := range strings.Lines(data) {
		k, v, ok := strings.Cut(strings.TrimRight(line, "\r\n"), "\t")
		if !ok || utf8.RuneCountInString(k) != 1 {
			continue
		}
		v, _, _ = strings.Cut(v, " ")
		if utf8.RuneCountInString(v) != 1 {
			continue
		}
		tr, _ := utf8.DecodeRuneInString(k)
		sr, _ := utf8.DecodeRuneInString(v)
		if tr != sr {
			out[tr] = sr
		}
	}
	return out
}
