// Package policies holds the default chipgate policy file, embedded in the
// binary so that `chipgate serve` runs the real program with no files around
// it; `--policy FILE` replaces it.
package policies

import _ "embed"

// Default is default.yaml: the export program as data.
//
//go:embed default.yaml
var Default []byte
