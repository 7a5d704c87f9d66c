package screening_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// cleanNames returns the names of invented parties on no list, from
// testdata/clean_names.txt: people and companies from many cultures, fixed
// in a file so that a change in the false-positive count is a change in the
// engine, not in the data.
func cleanNames() []string {
	_, file, _, _ := runtime.Caller(0)
	data, err := os.ReadFile(filepath.Join(filepath.Dir(file), "testdata", "clean_names.txt"))
	if err != nil {
		panic(err)
	}
	var out []string
	for line := range strings.Lines(string(data)) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}
