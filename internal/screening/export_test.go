package screening

// Exported for the external tests only.
var (
	CleanListName = cleanListName
	OSADistance   = osaDistance
	FuzzySim      = fuzzySim
)
