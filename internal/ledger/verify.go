package ledger

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/chipgate/chipgate/internal/domain"
)

// VerifyError names the first entry at which a log fails to verify. When a
// record disagrees with the leaf hash the log holds for it, Index is that
// record's index exactly. When only a signed checkpoint disagrees (the
// records and the tree were rewritten together), the log cannot say which
// entry changed; Index is then the size of the last checkpoint that still
// matched, the first index that may be bad, and Reason says so.
type VerifyError struct {
	Index  uint64
	Reason string
}

// Error names the first bad index and why.
func (e *VerifyError) Error() string {
	return fmt.Sprintf("ledger: entry %d: %s", e.Index, e.Reason)
}

// VerifySummary describes a log that verified.
type VerifySummary struct {
	Size        uint64 `json:"size"`
	Root        Hash   `json:"root"`
	Checkpoints int    `json:"checkpoints"`
	// Signed is the size of the largest checkpoint that matched: a
	// signature vouches for the entries below it, nothing yet for those
	// from it on (0 when no checkpoint was given).
	Signed uint64 `json:"signed"`
}

// leafTilePrefetch is how many leaf tiles the verifier reads per ReadTiles
// call: 4,096 leaves, so a ten-million-entry log costs 2,500 reads.
const leafTilePrefetch = 16

// Verifier recomputes a log from its entries in index order: every leaf hash,
// every tree node, and the root at every checkpoint size. Optionally it
// checks the tree the log stored (its tiles) along the way, which pins a
// tampered record to its exact index. It holds O(log n) hashes plus a few
// tiles, so it streams logs of any size. Not safe for concurrent use.
type Verifier struct {
	tiles    TileReader
	cps      []Checkpoint // sorted by size, distinct sizes
	next     int          // cps[next] is the next checkpoint to reach
	lastGood uint64       // size of the last checkpoint that matched
	b        *tileBuilder

	window      [][]Hash // stored leaf tiles windowStart, windowStart+1, ...
	windowStart uint64
	growing     bool   // the tiles may hold leaves past the records (GrowingTiles, PartialTiles)
	covered     uint64 // the tiles are compared for entries below this index (PartialTiles)

	// collect makes a checkpoint whose root differs from the records' a
	// finding in mismatched rather than an error, for Audit, which tells a
	// split view from a changed entry once it has seen every checkpoint.
	collect    bool
	mismatched []Checkpoint
}

// GrowingTiles marks a TileReader whose tiles may be read from a later
// snapshot than the records, as when "ledger verify" reads a live log in
// short transactions while the server keeps appending. A tile only grows, so
// every comparison still holds; only the check that the stored tree has no
// leaf past the last record is skipped, because a growing log legitimately
// has one. The caller then detects a deleted tail by comparing
// VerifySummary.Size with the log's size counter, and the signed checkpoints
// catch it once one covers the deleted entries.
func GrowingTiles(r TileReader) TileReader { return growingTiles{r, math.MaxUint64} }

// PartialTiles marks a TileReader whose tiles hold the tree of the first n
// records only, as when the store writes leaves into the tree in batches
// (at checkpoint time) and records beyond n are not yet in it. The verifier
// compares leaves and nodes for entries below n, recomputes the rest from the
// records alone (the signed checkpoints still check them), and, as with
// GrowingTiles, accepts tiles that grew past n while it read them. n is read
// in the same snapshot as the log's size.
func PartialTiles(r TileReader, n uint64) TileReader { return growingTiles{r, n} }

type growingTiles struct {
	TileReader
	covered uint64
}

// NewVerifier starts verifying a log from index 0 against the given
// checkpoints, which the caller has opened (OpenCheckpoint checked their
// signatures). tiles, if not nil, is the tree the log stored; every leaf and
// node is compared with it. The tiles must be read from the records'
// snapshot, unless wrapped in GrowingTiles. Returns a *ForkError if two
// checkpoints share a size but not a root.
func NewVerifier(checkpoints []Checkpoint, tiles TileReader) (*Verifier, error) {
	if err := FindFork(checkpoints); err != nil {
		return nil, err
	}
	cps := slices.Clone(checkpoints)
	slices.SortFunc(cps, func(a, b Checkpoint) int { return cmp.Compare(a.Size, b.Size) })
	cps = slices.CompactFunc(cps, func(a, b Checkpoint) bool { return a.Size == b.Size })
	v := &Verifier{tiles: tiles, cps: cps, b: newTileBuilder(0, [maxTileLevels][]Hash{})}
	v.covered = math.MaxUint64
	if g, ok := tiles.(growingTiles); ok {
		v.growing, v.covered = true, g.covered
	}
	v.b.rangeOnly = tiles == nil
	if err := v.checkpointsAt(0); err != nil {
		return nil, err
	}
	return v, nil
}

// Size returns the number of entries verified so far.
func (v *Verifier) Size() uint64 { return v.b.cr.size }

// AddLeaf verifies the next leaf hash, for callers that hold hashes rather
// than records (an auditor, who never sees payloads).
func (v *Verifier) AddLeaf(ctx context.Context, h Hash) error {
	i := v.b.cr.size
	if v.tiles != nil && i < v.covered {
		stored, ok, err := v.storedLeaf(ctx, i)
		if err != nil {
			return err
		}
		if !ok {
			return &VerifyError{Index: i, Reason: "the stored tree has no leaf for this record"}
		}
		if stored != h {
			return &VerifyError{Index: i, Reason: fmt.Sprintf("the record hashes to %s but the tree holds %s: the record was changed", h, stored)}
		}
	}
	v.b.append(h)
	if v.tiles != nil && len(v.b.out) > 0 {
		done := v.b.out
		v.b.out = v.b.out[:0]
		if err := v.compareTiles(ctx, done, false); err != nil {
			return err
		}
	}
	return v.checkpointsAt(v.b.cr.size)
}

// Finish checks what only the end can show: checkpoints larger than the log
// (a deleted tail), and a stored tree with more leaves than records.
func (v *Verifier) Finish(ctx context.Context) (VerifySummary, error) {
	size := v.b.cr.size
	if v.next < len(v.cps) {
		c := v.cps[v.next]
		return VerifySummary{}, &VerifyError{Index: size, Reason: fmt.Sprintf("the log ends after %d entries but a checkpoint of size %d was signed: entries %d to %d are missing", size, c.Size, size, c.Size-1)}
	}
	if v.tiles != nil {
		if err := v.compareTiles(ctx, v.b.flush(), true); err != nil {
			return VerifySummary{}, err
		}
		if v.growing {
			return v.summary(), nil
		}
		// A leaf tile holding hashes past the last record means records
		// were deleted after the tree was written.
		_, ok, err := v.storedLeaf(ctx, size)
		if err != nil {
			return VerifySummary{}, err
		}
		if ok {
			return VerifySummary{}, &VerifyError{Index: size, Reason: "the stored tree has a leaf at this index but there is no record: the log's tail was deleted"}
		}
	}
	return v.summary(), nil
}

func (v *Verifier) summary() VerifySummary {
	s := VerifySummary{Size: v.b.cr.size, Root: v.b.cr.root(), Checkpoints: len(v.cps) - len(v.mismatched)}
	if len(v.cps) > 0 {
		s.Signed = v.lastGood
	}
	return s
}

// checkpointsAt compares the root with the checkpoint of this size, if any.
func (v *Verifier) checkpointsAt(size uint64) error {
	if v.next >= len(v.cps) || v.cps[v.next].Size != size {
		return nil
	}
	c := v.cps[v.next]
	if root := v.b.cr.root(); root != c.Root && v.collect {
		v.mismatched = append(v.mismatched, c)
		v.next++
		return nil
	} else if root != c.Root {
		return &VerifyError{Index: v.lastGood, Reason: fmt.Sprintf("the first %d entries have root %s but the checkpoint signed for that size has %s: an entry from %d to %d was changed", size, root, c.Root, v.lastGood, size-1)}
	}
	v.lastGood = size
	v.next++
	return nil
}

// storedLeaf returns the stored leaf hash at index i, reading leaf tiles a
// window at a time.
func (v *Verifier) storedLeaf(ctx context.Context, i uint64) (Hash, bool, error) {
	t := i / TileWidth
	if v.window == nil || t < v.windowStart || t >= v.windowStart+uint64(len(v.window)) {
		ids := make([]TileID, leafTilePrefetch)
		for k := range ids {
			ids[k] = TileID{Level: 0, Index: t + uint64(k)}
		}
		tiles, err := v.tiles.ReadTiles(ctx, ids)
		if err != nil {
			return Hash{}, false, fmt.Errorf("ledger: read tiles: %w", err)
		}
		if len(tiles) != len(ids) {
			return Hash{}, false, fmt.Errorf("ledger: read %d tiles, got %d", len(ids), len(tiles))
		}
		v.window, v.windowStart = tiles, t
	}
	row := v.window[t-v.windowStart]
	if uint64(len(row)) <= i%TileWidth {
		return Hash{}, false, nil
	}
	return row[i%TileWidth], true, nil
}

// compareTiles compares recomputed tiles above the leaves with the stored
// ones (leaf tiles are compared hash by hash as records arrive). With final
// set the recomputed tiles are the partial right edge and the stored ones
// must not be longer.
func (v *Verifier) compareTiles(ctx context.Context, tiles []Tile, final bool) error {
	var ids []TileID
	var want []Tile
	for _, t := range tiles {
		if t.ID.Level > 0 {
			ids = append(ids, t.ID)
			want = append(want, t)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	stored, err := v.tiles.ReadTiles(ctx, ids)
	if err != nil {
		return fmt.Errorf("ledger: read tiles: %w", err)
	}
	if len(stored) != len(ids) {
		return fmt.Errorf("ledger: read %d tiles, got %d", len(ids), len(stored))
	}
	for k, t := range want {
		got := stored[k]
		level := uint(t.ID.Level) * TileHeight
		for j := range t.Hashes {
			first := (t.ID.Index*TileWidth + uint64(j)) << level
			if end := first + 1<<level; end > v.covered || end < first {
				break // past what the tiles hold yet (PartialTiles)
			}
			if j >= len(got) || got[j] != t.Hashes[j] {
				return &VerifyError{Index: first, Reason: fmt.Sprintf("the stored tree node at level %d covering entries from %d differs from the one recomputed from the records: proofs served from it would be wrong", level, first)}
			}
		}
		if final && !v.growing && len(got) > len(t.Hashes) {
			first := (t.ID.Index*TileWidth + uint64(len(t.Hashes))) << level
			size := v.b.cr.size
			return &VerifyError{Index: size, Reason: fmt.Sprintf("the stored tree has a node at level %d covering entries %d to %d, but the records end at %d: the log's tail was deleted", level, first, first+1<<level-1, size)}
		}
	}
	return nil
}

// verifyBatch is how many records VerifyRecords hashes in parallel before
// feeding them to the tree in order: large enough to amortize starting the
// workers, small enough to keep memory flat.
const verifyBatch = 4096

// VerifyRecords runs a Verifier over records in index order and returns its
// summary, or the first *VerifyError. The store's "ledger verify" calls it
// with its records, signed checkpoints (opened) and tiles. Leaf hashing, the
// bulk of the work, runs on all CPUs; the tree is built in index order, so
// the first bad index is the same as with one CPU. The records the iterator
// yields must not be modified after they are yielded.
func VerifyRecords(ctx context.Context, records iter.Seq2[domain.AuditRecord, error], checkpoints []Checkpoint, tiles TileReader) (VerifySummary, error) {
	return VerifyRecordsFunc(ctx, records, checkpoints, tiles, nil)
}

// VerifyRecordsFunc is VerifyRecords calling each(rec, leaf hash), unless
// nil, for every record in index order once its leaf is in the tree (what
// `ledger verify --state` replays the state with). An error from each stops
// the verification and is returned.
func VerifyRecordsFunc(ctx context.Context, records iter.Seq2[domain.AuditRecord, error], checkpoints []Checkpoint, tiles TileReader, each func(*domain.AuditRecord, Hash) error) (VerifySummary, error) {
	v, err := NewVerifier(checkpoints, tiles)
	if err != nil {
		return VerifySummary{}, err
	}
	batch := make([]domain.AuditRecord, 0, verifyBatch)
	hashes := make([]Hash, verifyBatch)
	errs := make([]error, verifyBatch)
	flush := func() error {
		hashRecords(batch, hashes, errs)
		for i := range batch {
			rec := &batch[i]
			if want := v.Size(); rec.Index < 0 || uint64(rec.Index) != want {
				return &VerifyError{Index: want, Reason: fmt.Sprintf("the record at this position has index %d: entries are missing, repeated or out of order", rec.Index)}
			}
			if errs[i] != nil {
				return &VerifyError{Index: v.Size(), Reason: errs[i].Error()}
			}
			if err := v.AddLeaf(ctx, hashes[i]); err != nil {
				return err
			}
			if each != nil {
				if err := each(rec, hashes[i]); err != nil {
					return err
				}
			}
		}
		batch = batch[:0]
		return ctx.Err()
	}
	for rec, err := range records {
		if err != nil {
			if ferr := flush(); ferr != nil {
				return VerifySummary{}, ferr
			}
			return VerifySummary{}, fmt.Errorf("ledger: read record %d: %w", v.Size(), err)
		}
		batch = append(batch, rec)
		if len(batch) == verifyBatch {
			if err := flush(); err != nil {
				return VerifySummary{}, err
			}
		}
	}
	if err := flush(); err != nil {
		return VerifySummary{}, err
	}
	return v.Finish(ctx)
}

// hashRecords sets hashes[i], errs[i] to the leaf hash of recs[i], splitting
// the work over GOMAXPROCS goroutines.
func hashRecords(recs []domain.AuditRecord, hashes []Hash, errs []error) {
	workers := min(runtime.GOMAXPROCS(0), len(recs)/256)
	if workers <= 1 {
		var lh LeafHasher
		for i := range recs {
			hashes[i], errs[i] = lh.Hash(&recs[i])
		}
		return
	}
	var wg sync.WaitGroup
	chunk := (len(recs) + workers - 1) / workers
	for lo := 0; lo < len(recs); lo += chunk {
		hi := min(lo+chunk, len(recs))
		wg.Go(func() {
			var lh LeafHasher
			for i := lo; i < hi; i++ {
				hashes[i], errs[i] = lh.Hash(&recs[i])
			}
		})
	}
	wg.Wait()
}
