package ledger

import (
	"context"
	"errors"
	"fmt"
	"math/bits"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"

	"github.com/chipgate/chipgate/internal/domain"
)

// maxTileLevels is the number of tile levels a tree with up to 2^64-1 leaves
// can need: tree levels 0 to 63, eight per tile level.
const maxTileLevels = 64 / TileHeight

// ErrTilesBehind is returned (wrapped) when the stored tiles hold fewer
// hashes than a tree of the requested size needs: they were not written yet,
// or were deleted.
var ErrTilesBehind = errors.New("the tiles are behind the log")

// The tree functions below are stateless: every call reads what it needs from
// the tiles of one snapshot. Nothing is cached between calls because a cache
// keyed by size could outlive a rolled-back transaction or be overtaken by
// another replica, and then describe a tree that no longer exists.

// Append adds leaf hashes at positions size, size+1, ... to the tree whose
// first size leaves are in s, writes every tile that changed (one WriteTiles
// call) and returns the root of the new tree of size+len(leaves).
//
// Callers: the store, inside the transaction that writes the records with
// indices size to size+len(leaves)-1. It reads at most one partial tile per
// tile level, hashes about once per leaf, and writes 32 bytes per leaf
// amortized. The root costs up to 255 more hashes per tile level; a caller
// that does not need it per command calls AppendLeaves. Returns an error, and
// writes nothing, if the stored tiles do not describe a tree of exactly size
// leaves (the store is behind or ahead of its records).
func Append(ctx context.Context, s TileStore, size uint64, leaves []Hash) (Hash, error) {
	rows, err := appendRows(ctx, s, size, leaves, true)
	if err != nil {
		return Hash{}, err
	}
	cr := rangeFromEdge(size+uint64(len(leaves)), rows)
	return cr.root(), nil
}

// AppendLeaves is Append without computing the new root: the cheapest way to
// add one command's leaf, since a root is only needed when a checkpoint is
// signed (SignTree computes it then).
func AppendLeaves(ctx context.Context, s TileStore, size uint64, leaves []Hash) error {
	_, err := appendRows(ctx, s, size, leaves, true)
	return err
}

// ExtendLeaves is AppendLeaves for a writer whose earlier call may have been
// cut short: the tiles may already hold hashes past size, written before a
// crash and before any checkpoint covered them. Those are recomputed and
// written again (the same hashes, since sequenced entries do not change), so
// that writing tiles before the checkpoint that covers them is idempotent, as
// a tile store without transactions (object storage) needs. The entries
// must not be fewer than those of the interrupted call: a tile is never
// written shorter than the hashes it held for sizes up to the new size.
func ExtendLeaves(ctx context.Context, s TileStore, size uint64, leaves []Hash) error {
	_, err := appendRows(ctx, s, size, leaves, false)
	return err
}

// appendRows appends leaves to the rightmost tile row of each level: a row
// that fills up is written as a full tile and its root, a node at the next
// tile level, is pushed on that level's row. It returns the new partial rows.
func appendRows(ctx context.Context, s TileStore, size uint64, leaves []Hash, exact bool) ([maxTileLevels][]Hash, error) {
	if size+uint64(len(leaves)) < size {
		return [maxTileLevels][]Hash{}, domain.Errorf(domain.EINVALID, "ledger: tree size overflows")
	}
	rows, err := readRightEdge(ctx, s, size, exact)
	if err != nil {
		return rows, err
	}
	var (
		index   [maxTileLevels]uint64
		owned   [maxTileLevels]bool // rows[L] is ours to append to, not the reader's
		dirty   [maxTileLevels]bool
		out     []Tile
		scratch [TileWidth / 2]Hash
	)
	for lvl := range maxTileLevels {
		index[lvl] = (size >> (TileHeight * lvl)) / TileWidth
	}
	for i, h := range leaves {
		for lvl := 0; ; lvl++ {
			if !owned[lvl] {
				// Only as much room as this batch can use: a one-leaf
				// append should not allocate and clear a full 8 KB tile.
				room := min(TileWidth, len(rows[lvl])+len(leaves)-i)
				rows[lvl] = append(make([]Hash, 0, room), rows[lvl]...)
				owned[lvl] = true
			}
			rows[lvl] = append(rows[lvl], h)
			dirty[lvl] = true
			if len(rows[lvl]) < TileWidth {
				break
			}
			out = append(out, Tile{ID: TileID{Level: uint8(lvl), Index: index[lvl]}, Hashes: rows[lvl]})
			h = perfectRoot(rows[lvl], scratch[:])
			rows[lvl], owned[lvl], dirty[lvl] = nil, false, false
			index[lvl]++
		}
	}
	for lvl := range maxTileLevels {
		if dirty[lvl] {
			out = append(out, Tile{ID: TileID{Level: uint8(lvl), Index: index[lvl]}, Hashes: rows[lvl]})
		}
	}
	if len(out) > 0 {
		if err := s.WriteTiles(ctx, out); err != nil {
			return rows, fmt.Errorf("ledger: write tiles: %w", err)
		}
	}
	return rows, nil
}

// Root returns the root hash of the tree of the given size, reading at most
// one tile per tile level (three for a ten-million-leaf log).
func Root(ctx context.Context, r TileReader, size uint64) (Hash, error) {
	edge, err := readRightEdge(ctx, r, size, false)
	if err != nil {
		return Hash{}, err
	}
	cr := rangeFromEdge(size, edge)
	return cr.root(), nil
}

// InclusionProof returns the RFC 6962 audit path of the leaf at index in the
// tree of the given size, from the leaf upwards. Returns EINVALID if
// index >= size. The caller checks that size is not beyond the log.
func InclusionProof(ctx context.Context, r TileReader, index, size uint64) ([]Hash, error) {
	if index >= size {
		return nil, domain.Errorf(domain.EINVALID, "ledger: index %d is not in a tree of size %d", index, size)
	}
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, domain.Errorf(domain.EINVALID, "ledger: %v", err)
	}
	return fetchProof(ctx, r, size, nodes)
}

// ConsistencyProof returns the RFC 6962 consistency proof between the trees
// of size1 and size2. Returns EINVALID unless 0 < size1 <= size2: there is no
// proof from the empty tree (see VerifyConsistency), and the proof between
// equal sizes is empty.
func ConsistencyProof(ctx context.Context, r TileReader, size1, size2 uint64) ([]Hash, error) {
	if size1 == 0 {
		return nil, domain.Errorf(domain.EINVALID, "ledger: no consistency proof from the empty tree")
	}
	if size1 > size2 {
		return nil, domain.Errorf(domain.EINVALID, "ledger: size1 %d is larger than size2 %d", size1, size2)
	}
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, domain.Errorf(domain.EINVALID, "ledger: %v", err)
	}
	return fetchProof(ctx, r, size2, nodes)
}

// LeafHashes returns the leaf hashes at indices begin to end-1. Returns
// EINVALID if begin > end. The caller bounds end by the log's size and the
// range by what it is willing to serve in one response.
func LeafHashes(ctx context.Context, r TileReader, begin, end uint64) ([]Hash, error) {
	if begin > end {
		return nil, domain.Errorf(domain.EINVALID, "ledger: begin %d is after end %d", begin, end)
	}
	if begin == end {
		return []Hash{}, nil
	}
	first, last := begin/TileWidth, (end-1)/TileWidth
	ids := make([]TileID, 0, last-first+1)
	for t := first; t <= last; t++ {
		ids = append(ids, TileID{Level: 0, Index: t})
	}
	tiles, err := r.ReadTiles(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("ledger: read tiles: %w", err)
	}
	out := make([]Hash, 0, end-begin)
	for i, t := range tiles {
		lo, hi := (first+uint64(i))*TileWidth, (first+uint64(i)+1)*TileWidth
		lo, hi = max(lo, begin), min(hi, end)
		from, to := lo%TileWidth, (hi-1)%TileWidth+1
		if uint64(len(t)) < to {
			return nil, fmt.Errorf("ledger: tile %+v holds %d hashes, leaves up to %d need %d", ids[i], len(t), end, to)
		}
		out = append(out, t[from:to]...)
	}
	return out, nil
}

// fetchProof reads the hashes of the proof's nodes and folds the nodes that
// make up its ephemeral node, if any.
func fetchProof(ctx context.Context, r TileReader, size uint64, nodes proof.Nodes) ([]Hash, error) {
	hashes, err := nodeHashes(ctx, r, size, nodes.IDs)
	if err != nil {
		return nil, err
	}
	raw := make([][]byte, len(hashes))
	for i := range hashes {
		raw[i] = hashes[i][:]
	}
	raw, err = nodes.Rehash(raw, hashChildrenBytes)
	if err != nil {
		return nil, fmt.Errorf("ledger: rehash proof: %w", err)
	}
	out := make([]Hash, len(raw))
	for i := range raw {
		copy(out[i][:], raw[i])
	}
	return out, nil
}

// nodeHashes returns the hashes of perfect-subtree nodes of the tree of the
// given size, reading each tile once. A node at tree level 8L+r is the root
// of 2^r consecutive hashes of a level-L tile, so it costs at most 127 hashes.
func nodeHashes(ctx context.Context, r TileReader, size uint64, ids []compact.NodeID) ([]Hash, error) {
	type place struct {
		tile       int
		off, count uint64
	}
	places := make([]place, len(ids))
	var tileIDs []TileID
	index := make(map[TileID]int, 4)
	for i, id := range ids {
		if id.Level >= 64 || (id.Index+1)<<id.Level > size || (id.Index+1)<<id.Level == 0 {
			return nil, fmt.Errorf("ledger: node %+v is not in a tree of size %d", id, size)
		}
		lvl, rr := id.Level/TileHeight, id.Level%TileHeight
		first := id.Index << rr // index of the node's leftmost descendant in the tile row
		tid := TileID{Level: uint8(lvl), Index: first / TileWidth}
		ti, ok := index[tid]
		if !ok {
			ti = len(tileIDs)
			index[tid] = ti
			tileIDs = append(tileIDs, tid)
		}
		places[i] = place{tile: ti, off: first % TileWidth, count: 1 << rr}
	}
	tiles, err := r.ReadTiles(ctx, tileIDs)
	if err != nil {
		return nil, fmt.Errorf("ledger: read tiles: %w", err)
	}
	if len(tiles) != len(tileIDs) {
		return nil, fmt.Errorf("ledger: read %d tiles, got %d", len(tileIDs), len(tiles))
	}
	var scratch [TileWidth / 2]Hash
	out := make([]Hash, len(ids))
	for i, p := range places {
		t := tiles[p.tile]
		if uint64(len(t)) < p.off+p.count {
			return nil, fmt.Errorf("ledger: tile %+v holds %d hashes, a tree of size %d needs %d", tileIDs[p.tile], len(t), size, p.off+p.count)
		}
		out[i] = perfectRoot(t[p.off:p.off+p.count], scratch[:])
	}
	return out, nil
}

// readRightEdge returns, for each tile level, the hashes of the rightmost
// partial tile of the tree of the given size: (size >> 8L) mod 256 of them.
// Full tiles to their left are never needed, because the roots of the
// perfect subtrees they hold are in the partial tile one level up. With
// exact set, it also insists that the store holds no more than that, which
// Append needs before it writes after those hashes.
func readRightEdge(ctx context.Context, r TileReader, size uint64, exact bool) ([maxTileLevels][]Hash, error) {
	var edge [maxTileLevels][]Hash
	var ids []TileID
	var want []uint64
	for lvl := 0; lvl < maxTileLevels && size>>(TileHeight*lvl) > 0; lvl++ {
		n := size >> (TileHeight * lvl)
		w := n % TileWidth
		if w == 0 && !(exact && lvl == 0) {
			continue
		}
		ids = append(ids, TileID{Level: uint8(lvl), Index: n / TileWidth})
		want = append(want, w)
	}
	if exact && size == 0 {
		ids = append(ids, TileID{})
		want = append(want, 0)
	}
	if len(ids) == 0 {
		return edge, nil
	}
	tiles, err := r.ReadTiles(ctx, ids)
	if err != nil {
		return edge, fmt.Errorf("ledger: read tiles: %w", err)
	}
	if len(tiles) != len(ids) {
		return edge, fmt.Errorf("ledger: read %d tiles, got %d", len(ids), len(tiles))
	}
	for i, t := range tiles {
		got, w := uint64(len(t)), want[i]
		switch {
		case got < w:
			return edge, fmt.Errorf("ledger: tile %+v holds %d hashes, a tree of size %d needs %d: %w", ids[i], got, size, w, ErrTilesBehind)
		case exact && got > w:
			return edge, fmt.Errorf("ledger: tile %+v holds %d hashes, a tree of size %d has %d: the tiles are ahead of the log", ids[i], got, size, w)
		}
		edge[ids[i].Level] = t[:w]
	}
	return edge, nil
}

// compactRange holds the roots of the perfect subtrees that cover leaves
// [0, size): one per set bit of size, the largest (leftmost) first. It is
// all a streaming builder needs to keep, O(log size) hashes.
type compactRange struct {
	size   uint64
	hashes []Hash
}

// root folds the range from the right into the tree's root hash.
func (c *compactRange) root() Hash {
	if len(c.hashes) == 0 {
		return EmptyRoot()
	}
	h := c.hashes[len(c.hashes)-1]
	for i := len(c.hashes) - 2; i >= 0; i-- {
		h = hashChildren(&c.hashes[i], &h)
	}
	return h
}

// rangeFromEdge rebuilds the compact range of [0, size) from the partial
// tiles readRightEdge returns: the set bits of each tile's width name the
// perfect subtrees inside it.
func rangeFromEdge(size uint64, edge [maxTileLevels][]Hash) compactRange {
	cr := compactRange{size: size, hashes: make([]Hash, 0, bits.OnesCount64(size)+1)}
	var scratch [TileWidth / 2]Hash
	for lvl := maxTileLevels - 1; lvl >= 0; lvl-- {
		row := edge[lvl]
		w := uint64(len(row))
		for r := TileHeight - 1; r >= 0; r-- {
			if w&(1<<r) == 0 {
				continue
			}
			start := (w >> (r + 1)) << (r + 1)
			cr.hashes = append(cr.hashes, perfectRoot(row[start:start+1<<r], scratch[:]))
		}
	}
	return cr
}

// tileBuilder appends leaves to a compact range and collects, as a
// by-product, the tile rows: every node the range completes at a level that
// is a multiple of TileHeight is the next hash of that level's tile row.
type tileBuilder struct {
	cr    compactRange
	rows  [maxTileLevels][]Hash
	index [maxTileLevels]uint64 // tile index of rows[L]
	dirty [maxTileLevels]bool   // rows[L] gained hashes since the last flush
	out   []Tile                // tiles completed or changed, in order
	// rangeOnly skips the rows, for callers that want only roots.
	rangeOnly bool
}

// newTileBuilder starts from the tree of the given size whose right edge is
// edge (see readRightEdge). The rows are copied, so the builder never
// writes into a reader's memory.
func newTileBuilder(size uint64, edge [maxTileLevels][]Hash) *tileBuilder {
	b := &tileBuilder{cr: rangeFromEdge(size, edge)}
	for lvl := range maxTileLevels {
		// Rows grow on demand: a one-leaf append should not allocate
		// eight full tiles.
		b.rows[lvl] = append([]Hash(nil), edge[lvl]...)
		b.index[lvl] = (size >> (TileHeight * lvl)) / TileWidth
	}
	return b
}

// append adds one leaf hash at position cr.size.
func (b *tileBuilder) append(h Hash) {
	b.push(0, h)
	size := b.cr.size
	for lvl := 0; size>>lvl&1 == 1; lvl++ {
		top := &b.cr.hashes[len(b.cr.hashes)-1]
		h = hashChildren(top, &h)
		b.cr.hashes = b.cr.hashes[:len(b.cr.hashes)-1]
		if (lvl+1)%TileHeight == 0 {
			b.push((lvl+1)/TileHeight, h)
		}
	}
	b.cr.hashes = append(b.cr.hashes, h)
	b.cr.size++
}

// push adds h to the tile row of level lvl, emitting the tile when full.
func (b *tileBuilder) push(lvl int, h Hash) {
	if b.rangeOnly {
		return
	}
	if b.rows[lvl] == nil {
		b.rows[lvl] = make([]Hash, 0, TileWidth)
	}
	b.rows[lvl] = append(b.rows[lvl], h)
	b.dirty[lvl] = true
	if len(b.rows[lvl]) == TileWidth {
		b.out = append(b.out, Tile{ID: TileID{Level: uint8(lvl), Index: b.index[lvl]}, Hashes: b.rows[lvl]})
		b.rows[lvl] = nil
		b.index[lvl]++
		b.dirty[lvl] = false
	}
}

// flush returns the tiles completed since the last flush and the partial
// tiles that gained hashes, and forgets them.
func (b *tileBuilder) flush() []Tile {
	for lvl := range maxTileLevels {
		if b.dirty[lvl] && len(b.rows[lvl]) > 0 {
			b.out = append(b.out, Tile{ID: TileID{Level: uint8(lvl), Index: b.index[lvl]}, Hashes: b.rows[lvl]})
			b.dirty[lvl] = false
		}
	}
	out := b.out
	b.out = nil
	return out
}
