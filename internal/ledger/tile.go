package ledger

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// TileHeight is the number of tree levels one tile spans, and TileWidth the
// number of hashes in a full tile. These are the values of the Go checksum
// database and C2SP tlog-tiles: 8 levels, 256 hashes, 8 KiB.
const (
	TileHeight = 8
	TileWidth  = 1 << TileHeight
)

// TileID names a tile. Level is the tile level: the tile stores node hashes
// of tree level Level*TileHeight (level 0 holds leaf hashes). Index counts
// tiles from the left at that level, so tile (L, N) holds the hashes of tree
// nodes (L*8, N*256) to (L*8, N*256+255).
type TileID struct {
	Level uint8  `json:"level"`
	Index uint64 `json:"index"`
}

// Tile is one tile's content: the hashes of its bottom row, from the left.
// A full tile has TileWidth hashes; the rightmost tile of each level is
// partial while the log grows. Every hash in a tile commits to a perfect
// subtree, so once written it never changes: a tile only grows.
type Tile struct {
	ID     TileID
	Hashes []Hash
}

// TileReader reads tiles. The store implements it over SQL; its contract:
//
//   - ReadTiles returns one slice per requested ID, in the order of ids, each
//     holding the hashes last written for that tile (nil if it was never
//     written). Requests may repeat an ID.
//   - All hashes come from one consistent snapshot of the log: within one
//     transaction, or from tiles that commit together with their records.
//   - The ledger never modifies the returned slices, so an implementation may
//     return shared memory.
//   - A tile may hold more hashes than a request for an older tree size
//     needs; the ledger uses the prefix it needs, because a tile only grows.
type TileReader interface {
	ReadTiles(ctx context.Context, ids []TileID) ([][]Hash, error)
}

// TileStore reads and writes tiles. WriteTiles stores each tile's complete
// content, replacing what was stored under its ID (an upsert): the new hashes
// always extend the old ones. It must write in the same transaction as the
// audit records whose leaves the tiles hold, so that the tree and the records
// never disagree. It must not keep the slices it is given after returning.
// In SQL one table is enough:
//
//	ledger_tiles(level SMALLINT, idx BIGINT, hashes BLOB/BYTEA, PRIMARY KEY(level, idx))
//
// with hashes the concatenation of the 32-byte hashes (MarshalTileHashes).
type TileStore interface {
	TileReader
	WriteTiles(ctx context.Context, tiles []Tile) error
}

// MarshalTileHashes returns the concatenation of hashes, the form the SQL
// store keeps a tile in.
func MarshalTileHashes(hashes []Hash) []byte {
	out := make([]byte, 0, len(hashes)*HashSize)
	for i := range hashes {
		out = append(out, hashes[i][:]...)
	}
	return out
}

// UnmarshalTileHashes splits a stored tile back into hashes. It rejects a
// length that is not a whole number of hashes or more than a full tile.
func UnmarshalTileHashes(b []byte) ([]Hash, error) {
	if len(b)%HashSize != 0 || len(b) > TileWidth*HashSize {
		return nil, fmt.Errorf("ledger: a stored tile has %d bytes, not 1 to %d hashes of %d bytes", len(b), TileWidth, HashSize)
	}
	out := make([]Hash, len(b)/HashSize)
	for i := range out {
		copy(out[i][:], b[i*HashSize:])
	}
	return out, nil
}

// MemoryTiles is the in-memory TileStore: the reference for the SQL stores,
// the fake for tests, and what Audit builds while checking an export. It is
// safe for concurrent use. The zero value is ready to use.
type MemoryTiles struct {
	mu    sync.RWMutex
	tiles map[TileID][]Hash
}

var _ TileStore = (*MemoryTiles)(nil)

// ReadTiles implements TileReader. The returned slices are shared with the
// store and must not be modified.
func (m *MemoryTiles) ReadTiles(_ context.Context, ids []TileID) ([][]Hash, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([][]Hash, len(ids))
	for i, id := range ids {
		out[i] = m.tiles[id]
	}
	return out, nil
}

// WriteTiles implements TileStore. It rejects a write that would change a
// hash already stored, the invariant every implementation relies on.
func (m *MemoryTiles) WriteTiles(_ context.Context, tiles []Tile) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tiles == nil {
		m.tiles = make(map[TileID][]Hash)
	}
	for _, t := range tiles {
		if len(t.Hashes) == 0 || len(t.Hashes) > TileWidth {
			return fmt.Errorf("ledger: tile %+v has %d hashes", t.ID, len(t.Hashes))
		}
		old := m.tiles[t.ID]
		if len(old) > len(t.Hashes) || !slices.Equal(old, t.Hashes[:len(old)]) {
			return fmt.Errorf("ledger: tile %+v: a write would change stored hashes", t.ID)
		}
	}
	for _, t := range tiles {
		m.tiles[t.ID] = slices.Clone(t.Hashes)
	}
	return nil
}

// Len returns the number of tiles stored.
func (m *MemoryTiles) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.tiles)
}
