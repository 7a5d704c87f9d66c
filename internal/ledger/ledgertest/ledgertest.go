// Package ledgertest is the conformance suite for ledger.TileStore
// implementations: the store package runs it against its SQLite and
// PostgreSQL tile tables, and this package runs it against
// ledger.MemoryTiles, so every backend is held to one contract.
package ledgertest

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"testing"

	"github.com/chipgate/chipgate/internal/ledger"
)

// RunTileStoreTests runs the contract of ledger.TileStore against stores
// made by open, which must return a new, empty store for each call (for SQL,
// a fresh database or a transaction that the cleanup rolls back).
func RunTileStoreTests(t *testing.T, open func(t *testing.T) ledger.TileStore) {
	t.Run("ReadMissing", func(t *testing.T) {
		s := open(t)
		got, err := s.ReadTiles(context.Background(), []ledger.TileID{{Level: 0, Index: 0}, {Level: 3, Index: 1 << 40}})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0] != nil || got[1] != nil {
			t.Fatalf("missing tiles read as %v, want two nils", got)
		}
	})
	t.Run("ReadEmptyRequest", func(t *testing.T) {
		s := open(t)
		got, err := s.ReadTiles(context.Background(), nil)
		if err != nil || len(got) != 0 {
			t.Fatalf("ReadTiles(nil) = %v, %v", got, err)
		}
	})
	t.Run("WriteReadOrderAndRepeats", func(t *testing.T) {
		ctx := context.Background()
		s := open(t)
		a, b := hashes(0, 256), hashes(1000, 3)
		idA, idB := ledger.TileID{Level: 0, Index: 0}, ledger.TileID{Level: 2, Index: 7}
		if err := s.WriteTiles(ctx, []ledger.Tile{{ID: idA, Hashes: a}, {ID: idB, Hashes: b}}); err != nil {
			t.Fatal(err)
		}
		got, err := s.ReadTiles(ctx, []ledger.TileID{idB, {Level: 1, Index: 0}, idA, idB})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 4 || !slices.Equal(got[0], b) || got[1] != nil || !slices.Equal(got[2], a) || !slices.Equal(got[3], b) {
			t.Fatalf("read back %d tiles that differ from those written", len(got))
		}
	})
	t.Run("GrowReplaces", func(t *testing.T) {
		ctx := context.Background()
		s := open(t)
		id := ledger.TileID{Level: 1, Index: 4}
		full := hashes(0, 200)
		for _, n := range []int{1, 2, 100, 200} {
			if err := s.WriteTiles(ctx, []ledger.Tile{{ID: id, Hashes: full[:n]}}); err != nil {
				t.Fatal(err)
			}
			got, err := s.ReadTiles(ctx, []ledger.TileID{id})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got[0], full[:n]) {
				t.Fatalf("after writing %d hashes, read %d", n, len(got[0]))
			}
		}
	})
	t.Run("DoesNotKeepCallerSlices", func(t *testing.T) {
		ctx := context.Background()
		s := open(t)
		id := ledger.TileID{}
		in := hashes(0, 5)
		want := slices.Clone(in)
		if err := s.WriteTiles(ctx, []ledger.Tile{{ID: id, Hashes: in}}); err != nil {
			t.Fatal(err)
		}
		in[0][0] ^= 0xff
		got, err := s.ReadTiles(ctx, []ledger.TileID{id})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got[0], want) {
			t.Fatal("the store kept the caller's slice: a later change to it changed the stored tile")
		}
	})
	t.Run("TreeMatchesMemory", func(t *testing.T) {
		ctx := context.Background()
		s := open(t)
		var ref ledger.MemoryTiles
		const n = 70_000 // crosses the third tile level
		leaves := hashes(0, n)
		size := 0
		for i, batch := range []int{1, 1, 254, 1, 300, 5000, 64_443} {
			want, err := ledger.Append(ctx, &ref, uint64(size), leaves[size:size+batch])
			if err != nil {
				t.Fatal(err)
			}
			if i%2 == 1 { // the store sees both ways of appending
				if err := ledger.AppendLeaves(ctx, s, uint64(size), leaves[size:size+batch]); err != nil {
					t.Fatalf("append %d at %d: %v", batch, size, err)
				}
			} else if _, err := ledger.Append(ctx, s, uint64(size), leaves[size:size+batch]); err != nil {
				t.Fatalf("append %d at %d: %v", batch, size, err)
			}
			size += batch
			got, err := ledger.Root(ctx, s, uint64(size))
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("root after %d leaves differs from the in-memory tree", size)
			}
		}
		if size != n {
			t.Fatalf("appended %d leaves, want %d", size, n)
		}
		for _, c := range [][2]uint64{{0, 1}, {255, 256}, {256, 70_000}, {65_535, 65_536}, {69_999, 70_000}, {12_345, 66_000}} {
			got, err := ledger.InclusionProof(ctx, s, c[0], c[1])
			if err != nil {
				t.Fatal(err)
			}
			want, _ := ledger.InclusionProof(ctx, &ref, c[0], c[1])
			if !slices.Equal(got, want) {
				t.Errorf("inclusion proof %v differs from the in-memory tree", c)
			}
			gotC, err := ledger.ConsistencyProof(ctx, s, c[0]+1, c[1])
			if err != nil {
				t.Fatal(err)
			}
			wantC, _ := ledger.ConsistencyProof(ctx, &ref, c[0]+1, c[1])
			if !slices.Equal(gotC, wantC) {
				t.Errorf("consistency proof %v differs from the in-memory tree", c)
			}
		}
		if _, err := ledger.Append(ctx, s, n-1, hashes(0, 1)); err == nil {
			t.Error("an append at a stale size succeeded")
		}
	})
}

// hashes returns n distinct hashes derived from counters start, start+1, ...
func hashes(start, n int) []ledger.Hash {
	out := make([]ledger.Hash, n)
	var buf [8]byte
	for i := range out {
		binary.BigEndian.PutUint64(buf[:], uint64(start+i))
		out[i] = sha256.Sum256(buf[:])
	}
	return out
}
