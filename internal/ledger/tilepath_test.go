package ledger_test

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/chipgate/chipgate/internal/ledger"
)

func TestTilePathMatchesTheChecksumDatabase(t *testing.T) {
	// tlog-tiles paths are the Go checksum database's without the height,
	// and with "entries" for "data".
	for _, tc := range []struct {
		level int
		index int64
		width int
	}{{0, 0, 256}, {0, 0, 1}, {0, 1234067, 256}, {1, 999, 17}, {2, 1000, 255}, {-1, 5, 3}, {-1, 1001, 256}} {
		gt := tlog.Tile{H: 8, L: tc.level, N: tc.index, W: tc.width}
		want := strings.Replace(strings.Replace(gt.Path(), "tile/8/", "tile/", 1), "tile/data/", "tile/entries/", 1)
		ref := ledger.TileRef{Level: uint8(max(tc.level, 0)), Index: uint64(tc.index), Width: tc.width, Entries: tc.level < 0}
		if got := ref.Path(); got != want {
			t.Errorf("%+v: path %q, want %q", ref, got, want)
		}
		back, err := ledger.ParseTilePath(want)
		if err != nil || back != ref {
			t.Errorf("parse %q = %+v, %v; want %+v", want, back, err, ref)
		}
	}
}

func TestParseTilePathRejects(t *testing.T) {
	for _, p := range []string{
		"", "tile/", "tile/0", "tile/0/", "tile/00/001", "tile/8/001", "tile/-1/001", "tile/0/1", "tile/0/0001",
		"tile/0/001.p/0", "tile/0/001.p/256", "tile/0/001.p/01", "tile/0/001.p/", "tile/0/x001", "tile/0/001/002",
		"tile/0/x000/001", "tile/0/y001/002", "tile/entries/", "tile/entries/1", "tile/data/001", "checkpoint",
		"tile/0/x999/x999/x999/x999/x999/x999/999", "tile/7/001", "tile/0/+01",
		"tile/7/000",                                        // a full level-7 tile needs 2^64 entries
		"tile/6/255", "tile/0/x072/x057/x594/x037/x927/935", // end past 2^64-1 entries
	} {
		if ref, err := ledger.ParseTilePath(p); err == nil {
			t.Errorf("parsed %q as %+v", p, ref)
		}
	}
}

func TestTileRefStartEnd(t *testing.T) {
	for _, tc := range []struct {
		ref        ledger.TileRef
		start, end uint64
	}{
		{ledger.TileRef{Level: 0, Index: 0, Width: 256}, 0, 256},
		{ledger.TileRef{Level: 0, Index: 3, Width: 5}, 768, 773},
		{ledger.TileRef{Level: 1, Index: 0, Width: 1}, 0, 256},
		{ledger.TileRef{Level: 1, Index: 2, Width: 3}, 2 << 16, 2<<16 + 3<<8},
	} {
		if s, e := tc.ref.Start(), tc.ref.End(); s != tc.start || e != tc.end {
			t.Errorf("%+v: [%d, %d), want [%d, %d)", tc.ref, s, e, tc.start, tc.end)
		}
	}
}

func TestEntryBundle(t *testing.T) {
	var b []byte
	entries := [][]byte{{}, []byte("one"), bytes.Repeat([]byte{7}, ledger.MaxBundleEntry)}
	for _, e := range entries {
		var err error
		if b, err = ledger.AppendBundleEntry(b, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ledger.ParseEntryBundle(b)
	if err != nil || len(got) != 3 || !bytes.Equal(got[1], entries[1]) || !bytes.Equal(got[2], entries[2]) || len(got[0]) != 0 {
		t.Fatalf("parse: %d entries, %v", len(got), err)
	}
	if _, err := ledger.AppendBundleEntry(nil, make([]byte, ledger.MaxBundleEntry+1)); err == nil {
		t.Fatal("an entry of 65,536 bytes fit a bundle")
	}
	for _, bad := range [][]byte{{0}, {0, 2, 'a'}} {
		if _, err := ledger.ParseEntryBundle(bad); err == nil {
			t.Errorf("parsed %v", bad)
		}
	}
}

func FuzzParseTilePath(f *testing.F) {
	for _, p := range []string{"tile/0/001", "tile/entries/x001/234.p/7", "tile/3/x001/x002/003.p/255"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		ref, err := ledger.ParseTilePath(p)
		if err != nil {
			return
		}
		if ref.Path() != p {
			t.Fatalf("%q parsed as %+v, which writes as %q", p, ref, ref.Path())
		}
		if ref.End() <= ref.Start() && ref.Width > 0 {
			t.Fatalf("%q: empty range [%d, %d)", p, ref.Start(), ref.End())
		}
	})
}

func FuzzParseEntryBundle(f *testing.F) {
	f.Add([]byte{0, 3, 'o', 'n', 'e', 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := ledger.ParseEntryBundle(b)
		if err != nil {
			return
		}
		var again []byte
		for _, e := range entries {
			if again, err = ledger.AppendBundleEntry(again, e); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("%x parsed into %d entries, which write as %x", b, len(entries), again)
		}
	})
}

func TestParseTilePathAcceptsTheLastTiles(t *testing.T) {
	// The last tiles a tree of up to 2^64-1 entries can have parse, and
	// their range is not empty.
	for _, p := range []string{"tile/7/000.p/255", "tile/6/255.p/255", "tile/6/254", "tile/0/x072/x057/x594/x037/x927/934"} {
		ref, err := ledger.ParseTilePath(p)
		if err != nil {
			t.Errorf("%q: %v", p, err)
			continue
		}
		if ref.End() <= ref.Start() {
			t.Errorf("%q: empty range [%d, %d)", p, ref.Start(), ref.End())
		}
	}
}
