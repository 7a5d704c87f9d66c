package screening_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/chipgate/chipgate/internal/screening"
)

// repoRoot returns the directory holding go.mod.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("repository root (go.mod) not found")
		}
		dir = parent
	}
}

// sharedListsDir returns ../shared/data/lists beside the repository, or ""
// when it is absent (a lone clone).
func sharedListsDir(tb testing.TB) string {
	tb.Helper()
	lists := filepath.Join(repoRoot(tb), "..", "shared", "data", "lists")
	if _, err := os.Stat(lists); err != nil {
		return ""
	}
	return lists
}

// fixtureDir is the repository's own cut of the real lists (790 records;
// see testdata/README.md), present in every clone.
func fixtureDir(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(repoRoot(tb), "testdata", "lists")
}

// fullListsDir returns ../shared/data/lists, or skips with one line when it
// is absent: for the long tests and benchmarks that need every list.
func fullListsDir(tb testing.TB) string {
	tb.Helper()
	dir := sharedListsDir(tb)
	if dir == "" {
		tb.Skip("needs every list in ../shared/data/lists (absent on a lone clone)")
	}
	return dir
}

// listsDir returns every list (../shared/data/lists) when present, else the
// repository fixture testdata/lists, so that tests run on a lone clone.
// full reports which one.
func listsDir(tb testing.TB) (dir string, full bool) {
	tb.Helper()
	if d := sharedListsDir(tb); d != "" {
		return d, true
	}
	return fixtureDir(tb), false
}

// loadOnce caches loads across tests in one run: parsing the lists is the
// slow part and every test only reads the result.
var (
	loadMu    sync.Mutex
	loadCache = map[string]*screening.Dataset{}
	indexes   = map[string]*screening.Index{}
)

// mustLoad loads the given subdirectories of ../shared/data/lists (skipping
// when absent), or with no subdirectory every list there, falling back to
// the fixture testdata/lists on a lone clone.
func mustLoad(tb testing.TB, sub ...string) (*screening.Dataset, *screening.Index) {
	tb.Helper()
	var root string
	if len(sub) == 0 {
		root, _ = listsDir(tb)
		sub = []string{"."}
	} else {
		root = fullListsDir(tb)
	}
	return loadDirs(tb, root, sub...)
}

// mustLoadFixture loads the repository fixture testdata/lists.
func mustLoadFixture(tb testing.TB) (*screening.Dataset, *screening.Index) {
	tb.Helper()
	return loadDirs(tb, fixtureDir(tb), ".")
}

func loadDirs(tb testing.TB, root string, sub ...string) (*screening.Dataset, *screening.Index) {
	tb.Helper()
	key := root + "|" + filepath.Join(sub...)
	loadMu.Lock()
	defer loadMu.Unlock()
	if ds, ok := loadCache[key]; ok {
		return ds, indexes[key]
	}
	var ents []screening.Entity
	var last *screening.Dataset
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

// mustLoadFull loads every list in ../shared/data/lists, or skips with one
// line when it is absent: benchmarks measure the full load only.
func mustLoadFull(tb testing.TB) (*screening.Dataset, *screening.Index) {
	tb.Helper()
	return loadDirs(tb, fullListsDir(tb), ".")
}
