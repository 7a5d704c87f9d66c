package ledgerlog

import (
	"context"
	"fmt"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/ledger"
)

// Tree is the published tree, what readers may ask about: its tiles, its
// records and the size of the latest published checkpoint. Proofs are for
// trees up to that size (newer entries join with the next checkpoint), and
// tiles and entry bundles are served only when that checkpoint covers them,
// so that a tile, once served, never changes. Errors carry domain codes.
type Tree struct {
	Tiles   ledger.TileReader
	Entries Entries
	Size    uint64
}

// MaxLeafHashes bounds one LeafHashes call.
const MaxLeafHashes = 10000

// treeSize returns size, or the tree's size when size is 0, after checking
// it against the published tree.
// treeSize returns size, or the published tree's size when size is 0; a
// bad size is EINVALID naming field, the parameter it came in.
func (t Tree) treeSize(size int64, field string) (uint64, error) {
	if size == 0 {
		size = int64(t.Size)
	}
	if size < 1 || uint64(size) > t.Size {
		return 0, domain.Invalid(field, "must be between 1 and the tree's size %d (newer entries join the tree with the next checkpoint)", t.Size)
	}
	return uint64(size), nil
}

// InclusionProof proves that the entry at index is in the tree of size
// (the published tree when size is 0), with the entry's leaf hash.
func (t Tree) InclusionProof(ctx context.Context, index, size int64) (ledger.InclusionProofJSON, error) {
	if t.Size == 0 {
		return ledger.InclusionProofJSON{}, domain.Invalid("index", "the tree is empty: entries join it with the first checkpoint")
	}
	n, err := t.treeSize(size, "tree_size")
	if err != nil {
		return ledger.InclusionProofJSON{}, err
	}
	if index < 0 || uint64(index) >= n {
		return ledger.InclusionProofJSON{}, domain.Invalid("index", "must be between 0 and %d", n-1)
	}
	path, err := ledger.InclusionProof(ctx, t.Tiles, uint64(index), n)
	if err != nil {
		return ledger.InclusionProofJSON{}, err
	}
	leaves, err := ledger.LeafHashes(ctx, t.Tiles, uint64(index), uint64(index)+1)
	if err != nil {
		return ledger.InclusionProofJSON{}, err
	}
	return ledger.InclusionProofJSON{Index: uint64(index), TreeSize: n, LeafHash: &leaves[0], Hashes: path}, nil
}

// ConsistencyProof proves that the tree of size1 is a prefix of the tree of
// size2 (the published tree when 0). There is no proof from size 0.
func (t Tree) ConsistencyProof(ctx context.Context, size1, size2 int64) (ledger.ConsistencyProofJSON, error) {
	n, err := t.treeSize(size2, "to")
	if err != nil {
		return ledger.ConsistencyProofJSON{}, err
	}
	if size1 < 1 || uint64(size1) > n {
		return ledger.ConsistencyProofJSON{}, domain.Invalid("from", "must be between 1 and %d (there is no proof from the empty tree)", n)
	}
	path, err := ledger.ConsistencyProof(ctx, t.Tiles, uint64(size1), n)
	return ledger.ConsistencyProofJSON{Size1: uint64(size1), Size2: n, Hashes: path}, err
}

// LeafHashes returns the leaf hashes of entries [start, end), at most
// MaxLeafHashes of them.
func (t Tree) LeafHashes(ctx context.Context, start, end int64) ([]ledger.Hash, error) {
	if start < 0 {
		return nil, domain.Invalid("start", "must not be negative")
	}
	if end-start > MaxLeafHashes || end < start {
		return nil, domain.Invalid("end", "the range must hold 0 to 10,000 entries")
	}
	if uint64(end) > t.Size {
		return nil, domain.Invalid("end", "must be at most the tree's size %d", t.Size)
	}
	return ledger.LeafHashes(ctx, t.Tiles, uint64(start), uint64(end))
}

// Tile returns a hash tile (C2SP tlog-tiles): the first ref.Width hashes of
// tile (ref.Level, ref.Index), concatenated. ENOTFOUND when the published
// tree does not cover it.
func (t Tree) Tile(ctx context.Context, ref ledger.TileRef) ([]byte, error) {
	if ref.Entries {
		return nil, domain.Errorf(domain.EINVALID, "%s is an entry bundle, not a hash tile", ref.Path())
	}
	if err := t.covers(ref); err != nil {
		return nil, err
	}
	tiles, err := t.Tiles.ReadTiles(ctx, []ledger.TileID{{Level: ref.Level, Index: ref.Index}})
	if err != nil {
		return nil, err
	}
	if len(tiles) != 1 || len(tiles[0]) < ref.Width {
		return nil, fmt.Errorf("ledgerlog: tile %s: the stored tree lacks hashes the published checkpoint covers", ref.Path())
	}
	return ledger.MarshalTileHashes(tiles[0][:ref.Width]), nil
}

// EntryBundle returns an entry bundle (C2SP tlog-tiles): the leaf data of
// entries ref.Start() to ref.End(), each with its 16-bit length. An entry
// larger than ledger.MaxBundleEntry makes its bundle unservable (ECONFLICT,
// naming the entry); readers take it from the API's entries instead.
func (t Tree) EntryBundle(ctx context.Context, ref ledger.TileRef) ([]byte, error) {
	if !ref.Entries {
		return nil, domain.Errorf(domain.EINVALID, "%s is a hash tile, not an entry bundle", ref.Path())
	}
	if err := t.covers(ref); err != nil {
		return nil, err
	}
	recs, err := t.Entries.Records(ctx, ref.Start(), ref.End())
	if err != nil {
		return nil, err
	}
	if len(recs) != ref.Width {
		return nil, fmt.Errorf("ledgerlog: entry bundle %s: %d records, want %d", ref.Path(), len(recs), ref.Width)
	}
	var bundle, leaf []byte
	for i := range recs {
		if leaf, err = ledger.AppendLeafData(leaf[:0], &recs[i]); err != nil {
			return nil, err
		}
		if len(leaf) > ledger.MaxBundleEntry {
			return nil, domain.Errorf(domain.ECONFLICT, "entry %d is %d bytes, more than an entry bundle carries (%d): read it at /api/v1/ledger/entries/%d",
				recs[i].Index, len(leaf), ledger.MaxBundleEntry, recs[i].Index)
		}
		if bundle, err = ledger.AppendBundleEntry(bundle, leaf); err != nil {
			return nil, err
		}
	}
	return bundle, nil
}

func (t Tree) covers(ref ledger.TileRef) error {
	if ref.End() > t.Size {
		return domain.Errorf(domain.ENOTFOUND, "%s is not in the published tree of size %d", ref.Path(), t.Size)
	}
	return nil
}
