package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/screening"
)

// RedFlagsOf vets an application against the diversion red flags in force
// (the red_flags rule, S9, and the parent-HQ rule): a customer registered
// after the rule's day, residential words in an address, a site in a
// transshipment hub, sites short of power for the requested volumes, a
// forwarder's words in a name, a name disguised with invisible or bidi
// characters or look-alike letters (screening.Evasions), end uses that do not fit the business, an
// ultimate parent headquartered where the parent-HQ rule looks. Every flag
// names its rule and the evidence. The words and the uses that fit each
// business are data of the rule.
func (r Rules) RedFlagsOf(a *domain.Application) []domain.RedFlag {
	var out []domain.RedFlag
	s := r.rs()
	if e := s.redFlags; e != nil {
		rf := e.doc.RedFlags
		flag := func(code, format string, args ...any) {
			out = append(out, domain.RedFlag{Code: code, Rule: e.ID, Evidence: fmt.Sprintf(format, args...)})
		}
		if reg, err := time.Parse(time.DateOnly, a.Registered); err == nil && reg.After(rf.CustomersRegisteredAfter.Time) {
			flag("new_customer", "registered %s, after %s", a.Registered, rf.CustomersRegisteredAfter)
		}
		for i, addr := range a.Addresses {
			if w := findPhrase(addr, rf.ResidentialWords); w != "" {
				flag("residential_address", "addresses[%d] %q has %q", i, addr, w)
			}
		}
		var powerKW float64
		for i, site := range a.Sites {
			if w := findPhrase(site.Address, rf.ResidentialWords); w != "" {
				flag("residential_address", "sites[%d] %q has %q", i, site.Address, w)
			}
			if slices.Contains(rf.TransshipmentHubs, site.Country) {
				flag("transshipment_hub", "sites[%d] is in %s, a known transshipment hub", i, site.Country)
			}
			powerKW += site.PowerMW * 1000
		}
		var units int64
		for _, n := range a.Volumes {
			units = satAdd(units, max(n, 0))
		}
		if need := float64(units) * rf.PowerKWPerAccelerator; units > 0 && rf.PowerKWPerAccelerator > 0 && powerKW < need {
			flag("power_short", "sites have %.0f kW for %d accelerators; %.1f kW each needs %.0f kW", powerKW, units, rf.PowerKWPerAccelerator, need)
		}
		for _, name := range append([]string{a.LegalName}, a.Aliases...) {
			if w := findPhrase(name, rf.ForwarderWords); w != "" {
				flag("freight_forwarder", "name %q has %q", name, w)
				break
			}
		}
		// A name written to slip past screening (invisible or bidi
		// characters, look-alike letters of another script) is a red flag
		// even though screening reads through it.
		names := []struct{ field, name string }{{"legal_name", a.LegalName}, {"chinese_name", a.ChineseName}}
		for i, alias := range a.Aliases {
			names = append(names, struct{ field, name string }{fmt.Sprintf("aliases[%d]", i), alias})
		}
		for _, n := range names {
			if ev := screening.Evasions(n.name); len(ev) > 0 {
				flag("name_evasion", "%s %+q has %s", n.field, n.name, strings.Join(ev, ", "))
			}
		}
		if fits, ok := rf.PlausibleUses[string(a.BusinessType)]; ok {
			for _, use := range a.EndUses {
				if !slices.Contains(fits, use) {
					flag("end_use_mismatch", "end use %q does not fit a %s business", use, a.BusinessType)
				}
			}
		}
	}
	if e := s.parentHQ; e != nil && a.ParentCountry != "" && a.ParentCountry != a.Country {
		ph := e.doc.ParentHQ
		if s.inAny(a.ParentCountry, ph.CountryGroups, ph.Countries) {
			out = append(out, domain.RedFlag{Code: "parent_d5", Rule: e.ID,
				Evidence: fmt.Sprintf("ultimate parent headquartered in %s (%s)", a.ParentCountry, strings.Join(append(slices.Clone(ph.CountryGroups), ph.Countries...), ", "))})
		}
	}
	return out
}

// findPhrase returns the first phrase (one or more words) that occurs in
// text as whole words, case folded; "" for none. Punctuation and spaces
// separate words.
func findPhrase(text string, phrases []string) string {
	words := wordsOf(text)
	for _, p := range phrases {
		pw := wordsOf(p)
		if len(pw) == 0 {
			continue
		}
		for i := 0; i+len(pw) <= len(words); i++ {
			if slices.Equal(words[i:i+len(pw)], pw) {
				return p
			}
		}
	}
	return ""
}

func wordsOf(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r >= 0x80)
	})
}
