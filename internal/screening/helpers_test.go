package screening_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/chipgate/chipgate/internal/screening"
)

// listsDir returns ../shared/data/lists relative to the repository root
// (the directory holding go.mod), or skips the test when it is absent: the
// real lists are never copied into the project.
func listsDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Skip("repository root (go.mod) not found; cannot locate ../shared/data/lists")
		}
		dir = parent
	}
	lists := filepath.Join(dir, "..", "shared", "data", "lists")
	if _, err := os.Stat(lists); err != nil {
		tb.Skipf("real list files not available at %s (they live beside the repository, never in it): %v", lists, err)
	}
	return lists
}

// loadOnce caches loads across tests in one run: parsing the lists is the
// slow part and every test only reads the result.
var (
	loadMu    sync.Mutex
	loadCache = map[string]*screening.Dataset{}
	indexes   = map[string]*screening.Index{}
)

func mustLoad(tb testing.TB, sub ...string) (*screening.Dataset, *screening.Index) {
	tb.Helper()
	root := listsDir(tb)
	key := filepath.Join(sub...)
	loadMu.Lock()
	defer loadMu.Unlock()
	if ds, ok := loadCache[key]; ok {
		return ds, indexes[key]
	}
	var ents []screening.Entity
	var last *screening.Dataset
	if len(sub) == 0 {
		sub = []string{"."}
	}
	for _, s := range sub {
		ds, err := screening.LoadDir(filepath.Join(root, s))
		if err != nil {
			tb.Fatalf("LoadDir(%s): %v", s, err)
		}
		ents = append(ents, ds.Entities...)
		last = ds
	}
	ds := &screening.Dataset{Entities: screening.Fold(ents), Report: last.Report}
	ix := screening.NewIndex(ds.Entities)
	loadCache[key] = ds
	indexes[key] = ix
	return ds, ix
}
