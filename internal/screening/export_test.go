package screening

// Exported for the external tests only.
var (
	CleanListName = cleanListName
	OSADistance   = osaDistance
	FuzzySim      = fuzzySim
)

// Confusables is the homoglyph table, for the evasion fuzz test.
var Confusables = confusables
