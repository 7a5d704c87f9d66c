// Package fallback embeds one real restricted-party list, the US
// Consolidated Screening List of April 2022, so that chipgate screens for
// real on a fresh clone with no list directory configured. It is a
// fallback, not a source of truth: production loads current lists.
// README.md beside this file says where the data came from.
package fallback

import (
	"bytes"
	_ "embed"

	"github.com/chipgate/chipgate/internal/screening"
)

//go:embed consolidated.csv.gz
var consolidatedCSL []byte

// Name is how reports and sources name the embedded file.
const Name = "embedded:us_csl_2022-04/consolidated.csv.gz"

// Load parses the embedded list and folds it into entities, with a report
// like screening.LoadDir's.
func Load() (*screening.Dataset, error) {
	ents, skips, err := screening.ParseCSL(bytes.NewReader(consolidatedCSL), Name)
	if err != nil {
		return nil, err
	}
	ds := &screening.Dataset{Entities: screening.Fold(ents)}
	ds.Report = screening.Report{
		Files:    []screening.FileReport{{Path: Name, Format: screening.FormatCSL, Records: len(ents), Skipped: skips}},
		Records:  len(ents),
		Entities: len(ds.Entities),
	}
	return ds, nil
}
