package screening

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// countryTable maps folded English country names (and the lists' own
// spellings) to ISO 3166-1 alpha-2 codes. It is derived data, computed once
// on first use and never changed, so sharing it is safe; it is not state.
var countryTable = sync.OnceValue(func() map[string]string {
	t := map[string]string{}
	names := display.English.Regions()
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			code := string([]rune{a, b})
			r, err := language.ParseRegion(code)
			if err != nil || !r.IsCountry() || r.String() != code {
				continue
			}
			if n := names.Name(r); n != "" {
				t[foldKey(n)] = code
			}
		}
	}
	for _, line := range countryAliases {
		name, code, _ := strings.Cut(line, "=")
		t[foldKey(name)] = code
	}
	return t
})

// countryAliases are spellings the lists use that CLDR does not.
var countryAliases = []string{
	"Korea, North=KP", "North Korea=KP", "Democratic People's Republic of Korea=KP", "DPRK=KP",
	"Korea, South=KR", "South Korea=KR", "Republic of Korea=KR", "Korea=KR",
	"Burma=MM", "Russia=RU", "Russian Federation=RU", "Iran=IR", "Iran, Islamic Republic of=IR",
	"Syria=SY", "Syrian Arab Republic=SY", "Palestinian=PS", "West Bank=PS", "Gaza=PS",
	"Palestinian Territories=PS", "State of Palestine=PS", "Congo, Democratic Republic of the=CD",
	"Democratic Republic of the Congo=CD", "Congo, Republic of the=CG", "Republic of the Congo=CG",
	"Hong Kong=HK", "Macau=MO", "Macao=MO", "Taiwan=TW", "United Kingdom=GB", "UK=GB",
	"Great Britain=GB", "United States=US", "USA=US", "United States of America=US",
	"Vietnam=VN", "Viet Nam=VN", "Cote d'Ivoire=CI", "Ivory Coast=CI", "Czech Republic=CZ",
	"Czechia=CZ", "Turkey=TR", "Turkiye=TR", "Kosovo=XK", "Laos=LA", "Lao People's Democratic Republic=LA",
	"Bolivia=BO", "Venezuela=VE", "Tanzania=TZ", "Moldova=MD", "Brunei=BN", "Cabo Verde=CV",
	"Cape Verde=CV", "Eswatini=SZ", "Swaziland=SZ", "Micronesia=FM", "The Bahamas=BS", "Bahamas=BS",
	"The Gambia=GM", "Gambia=GM", "Netherlands=NL", "The Netherlands=NL", "Crimea=UA",
	"China=CN", "People's Republic of China=CN", "PRC=CN", "Mainland China=CN", "UAE=AE",
	"United Arab Emirates=AE", "Sudan=SD", "South Sudan=SS", "Yemen=YE", "Libya=LY",
}

// foldKey lower-cases s and keeps only letters, digits and single spaces,
// for looking names up in tables and for telling names apart when folding
// ("Branch 1" and "Branch 2" stay two parties; Arabic or Chinese aliases
// keep their letters).
func foldKey(s string) string {
	// Fast path: most names are ASCII.
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		buf := make([]byte, 0, len(s))
		space := false
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
				if space && len(buf) > 0 {
					buf = append(buf, ' ')
				}
				space = false
				buf = append(buf, c)
			case c == '\'':
			default:
				space = true
			}
		}
		return string(buf)
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		} else if r >= utf8.RuneSelf {
			r = unicode.ToLower(r)
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		case r == '\'' || r == '\u2019':
		default:
			space = true
		}
	}
	return b.String()
}

// CountryCode returns the ISO 3166-1 alpha-2 code for a country name or code
// as lists and users write it ("Iran", "Korea, North", "cn"), or "" when it
// is not recognized.
func CountryCode(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if len(s) == 2 {
		up := strings.ToUpper(s)
		if r, err := language.ParseRegion(up); err == nil && r.IsCountry() && r.String() == up {
			return up
		}
	}
	return countryTable()[foldKey(s)]
}

// isCountryName reports whether s is a country name, so that "(Pakistan)" in
// "Broad Engineering (Pakistan)" is not mistaken for a short name.
func isCountryName(s string) bool {
	return len(s) > 2 && countryTable()[foldKey(s)] != ""
}
