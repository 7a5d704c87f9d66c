package screening

import "slices"

// Exported for the external tests only.
var (
	CleanListName = cleanListName
	OSADistance   = osaDistance
	FuzzySim      = fuzzySim
)

// Confusables is the homoglyph table, for the evasion fuzz test.
var Confusables = confusables

// Simplified maps traditional Chinese characters to simplified ones.
var Simplified = parseTS(tsCharacters)

// OnlyLegalForms reports whether name is made only of legal forms and stop
// words ("LLC", "CJSC"): an alias that names no one.
func OnlyLegalForms(n *Normalizer, name string) bool {
	toks, _ := n.Tokens(name, false)
	return len(n.legal.strip(toks, nil)) == 0 || !slices.ContainsFunc(toks, func(t string) bool { return !n.stop[t] && len(n.legal.strip([]string{t}, nil)) > 0 })
}
