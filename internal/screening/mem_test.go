package screening_test

import (
	"runtime"
	"testing"

	"github.com/chipgate/chipgate/internal/screening"
)

// TestMemoryFootprint reports the live heap of every list loaded and
// indexed (go test -run Footprint -v). It asserts only that an index was
// built: the figure goes into docs/BENCHMARKS.md, and timing or
// size limits in unit tests would fail on a busy machine for no fault.
func TestMemoryFootprint(t *testing.T) {
	if testing.Short() {
		t.Skip("loads every list")
	}
	dir := fullListsDir(t)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ds, err := screening.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ix := screening.NewIndex(ds.Entities)
	ds = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	if ix.Len() == 0 {
		t.Fatal("empty index")
	}
	t.Logf("%d entities, %d names: live heap %.1f MB after load and index", ix.Len(), ix.Names(), float64(after.HeapAlloc-before.HeapAlloc)/(1<<20))
	runtime.KeepAlive(ix)
}
