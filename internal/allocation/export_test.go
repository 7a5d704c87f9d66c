package allocation

// Exported for the external tests.
var (
	Rank      = rank
	SelectKth = selectKth
)
