package service

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/ledger"
	"github.com/chipgate/chipgate/internal/store"
)

// tiles adapts a store transaction to the ledger's TileStore.
type tiles struct {
	ctx context.Context
	tx  store.Tx
}

var (
	_ ledger.TileStore = tiles{}
	_ ledger.TileStore = storeTiles{}
)

func (t tiles) ReadTiles(ctx context.Context, ids []ledger.TileID) ([][]ledger.Hash, error) {
	keys := make([]store.TileKey, len(ids))
	for i, id := range ids {
		keys[i] = store.TileKey{Level: id.Level, Index: id.Index}
	}
	blobs, err := t.tx.ReadTiles(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make([][]ledger.Hash, len(blobs))
	for i, b := range blobs {
		if b == nil {
			continue
		}
		if out[i], err = ledger.UnmarshalTileHashes(b); err != nil {
			return nil, fmt.Errorf("service: tile %v: %w", ids[i], err)
		}
	}
	return out, nil
}

func (t tiles) WriteTiles(ctx context.Context, ts []ledger.Tile) error {
	blobs := make([]store.TileBlob, len(ts))
	for i, tl := range ts {
		blobs[i] = store.TileBlob{Key: store.TileKey{Level: tl.ID.Level, Index: tl.ID.Index}, Hashes: ledger.MarshalTileHashes(tl.Hashes)}
	}
	return t.tx.WriteTiles(ctx, blobs)
}

// integrateBatch is how many records one integration step reads at a time.
const integrateBatch = 10000

// integratedSize returns how many records the stored tree holds.
func integratedSize(ctx context.Context, tx store.Tx) (int64, error) {
	v, err := tx.LedgerMeta(ctx, "integrated_size")
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var n int64
	if _, err := fmt.Sscan(v, &n); err != nil {
		return 0, fmt.Errorf("service: ledger integrated_size %q: %w", v, err)
	}
	return n, nil
}

// integrate adds the records committed since the last integration to the
// stored tree, in index order, and returns the new tree size. Like
// Certificate Transparency logs, chipgate sequences synchronously (a record
// has its index when its command commits) and integrates in batches: a
// command pays for one row, not for rewriting tiles, and the tree grows by
// thousands of leaves per step. Only the leader integrates.
func integrate(ctx context.Context, tx store.Tx) (int64, error) {
	done, err := integratedSize(ctx, tx)
	if err != nil {
		return 0, err
	}
	size, err := tx.AuditSize(ctx)
	if err != nil {
		return 0, err
	}
	var lh ledger.LeafHasher
	t := tiles{ctx, tx}
	for done < size {
		recs, err := tx.AuditRecords(ctx, done, min(done+integrateBatch, size))
		if err != nil {
			return 0, err
		}
		if len(recs) == 0 {
			return 0, fmt.Errorf("service: audit records from %d are missing", done)
		}
		hashes := make([]ledger.Hash, len(recs))
		for i := range recs {
			if recs[i].Index != done+int64(i) {
				return 0, fmt.Errorf("service: audit record %d has index %d", done+int64(i), recs[i].Index)
			}
			if hashes[i], err = lh.Hash(&recs[i]); err != nil {
				return 0, err
			}
		}
		if err := ledger.AppendLeaves(ctx, t, uint64(done), hashes); err != nil {
			return 0, err
		}
		done += int64(len(recs))
	}
	return done, tx.SetLedgerMeta(ctx, "integrated_size", fmt.Sprint(done))
}

// LedgerSigner signs the ledger's checkpoints.
type LedgerSigner struct {
	signer   note.Signer
	verifier note.Verifier
	vkey     string
}

// NewLedgerSigner reads a signing key (note format, from ledger.GenerateKey)
// and its verifier key.
func NewLedgerSigner(skey, vkey string) (*LedgerSigner, error) {
	s, err := ledger.ParseSignerKey(skey)
	if err != nil {
		return nil, err
	}
	v, err := ledger.ParseVerifierKey(vkey)
	if err != nil {
		return nil, err
	}
	if v.Name() != s.Name() || v.KeyHash() != s.KeyHash() {
		return nil, errors.New("ledger: the verifier key does not belong to the signing key")
	}
	return &LedgerSigner{signer: s, verifier: v, vkey: vkey}, nil
}

// VerifierKey is the public key that checks the checkpoints.
func (l *LedgerSigner) VerifierKey() string { return l.vkey }

// SignCheckpoint integrates the records committed since the last
// checkpoint into the tree and signs a checkpoint of it, if it grew. It refuses to sign a tree inconsistent with the last
// signed checkpoint, and a key other than the one the log was first signed
// with (ECONFLICT). It reports the new checkpoint, or nil when there was
// nothing new. Callers: the leader's checkpoint loop and operator commands;
// it takes no actor.
func (s *Service) SignCheckpoint(ctx context.Context, signer *LedgerSigner) (*ledger.Checkpoint, error) {
	var out *ledger.Checkpoint
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		switch vkey, err := tx.LedgerMeta(ctx, "verifier_key"); {
		case domain.ErrorCode(err) == domain.ENOTFOUND:
			if err := tx.SetLedgerMeta(ctx, "verifier_key", signer.vkey); err != nil {
				return err
			}
		case err != nil:
			return err
		case vkey != signer.vkey:
			return domain.Errorf(domain.ECONFLICT, "the ledger was signed with key %s; refusing to sign with another", vkey)
		}
		size, err := integrate(ctx, tx)
		if err != nil {
			return err
		}
		var last *ledger.Checkpoint
		stored, err := tx.LatestCheckpoint(ctx)
		switch {
		case err == nil:
			cp, err := ledger.OpenCheckpoint(stored.Signed, signer.verifier)
			if err != nil {
				return fmt.Errorf("service: the last checkpoint does not verify: %w", err)
			}
			if int64(cp.Size) >= size {
				return nil
			}
			last = &cp
		case domain.ErrorCode(err) != domain.ENOTFOUND:
			return err
		}
		cp, signed, err := ledger.SignTree(ctx, tiles{ctx, tx}, signer.signer, last, uint64(size))
		if err != nil {
			return err
		}
		if err := tx.AddCheckpoint(ctx, store.StoredCheckpoint{Size: int64(cp.Size), Root: cp.Root[:], Signed: signed, CreatedAt: s.Now()}); err != nil {
			return err
		}
		out = &cp
		return nil
	})
	return out, err
}

// RunCheckpoints signs a checkpoint every interval while this process leads
// (on PostgreSQL exactly one replica does; the others wait to take over)
// until ctx is done.
func (s *Service) RunCheckpoints(ctx context.Context, signer *LedgerSigner, interval time.Duration) {
	for ctx.Err() == nil {
		ok, err := s.store.Leader(ctx, "chipgate-checkpoint-signer", func(ctx context.Context) error {
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				if _, err := s.SignCheckpoint(ctx, signer); err != nil && ctx.Err() == nil {
					s.log.Warn("checkpoint not signed", "err", err)
				}
				select {
				case <-ctx.Done():
					return nil
				case <-t.C:
				}
			}
		})
		if err != nil && ctx.Err() == nil {
			s.log.Warn("checkpoint leadership", "err", err)
		}
		if !ok || err != nil {
			select { // another replica leads, or leadership was lost: retry later
			case <-ctx.Done():
			case <-time.After(interval):
			}
		}
	}
}

// CheckpointView is the latest signed checkpoint.
type CheckpointView struct {
	Origin string      `json:"origin"`
	Size   uint64      `json:"size"`
	Root   ledger.Hash `json:"root"`
	// Signed is the checkpoint note, signature included, exactly as signed.
	Signed string `json:"checkpoint"`
}

// LatestCheckpoint returns the latest signed checkpoint. Callers: every
// role. Returns ENOTFOUND before the first checkpoint.
func (s *Service) LatestCheckpoint(ctx context.Context, who domain.Actor) (CheckpointView, error) {
	if err := authorize(who, ActLedgerRead); err != nil {
		return CheckpointView{}, err
	}
	var c store.StoredCheckpoint
	var vkey string
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		if c, err = tx.LatestCheckpoint(ctx); err != nil {
			return err
		}
		vkey, err = tx.LedgerMeta(ctx, "verifier_key")
		return err
	})
	if err != nil {
		return CheckpointView{}, err
	}
	v, err := ledger.ParseVerifierKey(vkey)
	if err != nil {
		return CheckpointView{}, err
	}
	cp, err := ledger.OpenCheckpoint(c.Signed, v)
	if err != nil {
		return CheckpointView{}, err
	}
	return CheckpointView{Origin: cp.Origin, Size: cp.Size, Root: cp.Root, Signed: string(c.Signed)}, nil
}

// VerifierKey returns the ledger's public verifier key, or ENOTFOUND before
// the first checkpoint. Callers: every role.
func (s *Service) VerifierKey(ctx context.Context, who domain.Actor) (string, error) {
	if err := authorize(who, ActLedgerRead); err != nil {
		return "", err
	}
	return viewOf(ctx, s.store, func(tx store.Tx) (string, error) {
		return tx.LedgerMeta(ctx, "verifier_key")
	})
}

// treeSize returns size, or the tree's size when size is 0, and checks it
// against the records integrated into the tree so far; a bad size is
// EINVALID naming field, the parameter it came in.
func treeSize(ctx context.Context, tx store.Tx, size int64, field string) (uint64, error) {
	n, err := integratedSize(ctx, tx)
	if err != nil {
		return 0, err
	}
	if size == 0 {
		size = n
	}
	if size < 0 || size > n {
		return 0, domain.Invalid(field, "must be between 1 and the tree's size %d (newer entries join the tree with the next checkpoint)", n)
	}
	return uint64(size), nil
}

// InclusionProof proves that the entry at index is in the tree of size
// (the whole log when size is 0). Callers: every role; proofs carry hashes,
// never payloads. Returns EINVALID naming index or tree_size for one outside
// the tree (which holds the entries of the last checkpoint).
func (s *Service) InclusionProof(ctx context.Context, who domain.Actor, index, size int64) (ledger.InclusionProofJSON, error) {
	if err := authorize(who, ActLedgerRead); err != nil {
		return ledger.InclusionProofJSON{}, err
	}
	var out ledger.InclusionProofJSON
	err := s.store.View(ctx, func(tx store.Tx) error {
		n, err := treeSize(ctx, tx, size, "tree_size")
		if err != nil {
			return err
		}
		if n == 0 {
			return domain.Invalid("index", "the tree is empty: entries join it with the first checkpoint")
		}
		if index < 0 || uint64(index) >= n {
			return domain.Invalid("index", "must be between 0 and %d", n-1)
		}
		r := tiles{ctx, tx}
		path, err := ledger.InclusionProof(ctx, r, uint64(index), n)
		if err != nil {
			return err
		}
		leaves, err := ledger.LeafHashes(ctx, r, uint64(index), uint64(index)+1)
		if err != nil {
			return err
		}
		out = ledger.InclusionProofJSON{Index: uint64(index), TreeSize: n, LeafHash: &leaves[0], Hashes: path}
		return nil
	})
	return out, err
}

// ConsistencyProof proves that the tree of size1 is a prefix of the tree of
// size2 (the whole log when size2 is 0). There is no proof from size 0.
// Callers: every role. Returns EINVALID naming from or to for a size outside
// the tree.
func (s *Service) ConsistencyProof(ctx context.Context, who domain.Actor, size1, size2 int64) (ledger.ConsistencyProofJSON, error) {
	if err := authorize(who, ActLedgerRead); err != nil {
		return ledger.ConsistencyProofJSON{}, err
	}
	var out ledger.ConsistencyProofJSON
	err := s.store.View(ctx, func(tx store.Tx) error {
		n, err := treeSize(ctx, tx, size2, "to")
		if err != nil {
			return err
		}
		if size1 < 1 || uint64(size1) > n {
			return domain.Invalid("from", "must be between 1 and %d (there is no proof from the empty tree)", n)
		}
		path, err := ledger.ConsistencyProof(ctx, tiles{ctx, tx}, uint64(size1), n)
		out = ledger.ConsistencyProofJSON{Size1: uint64(size1), Size2: n, Hashes: path}
		return err
	})
	return out, err
}

// LeafHashes returns the leaf hashes of entries [start, end). Callers:
// every role; this is what an auditor checks without seeing payloads.
// Returns EINVALID naming start or end for a range outside the tree or of
// more than 10,000 entries.
func (s *Service) LeafHashes(ctx context.Context, who domain.Actor, start, end int64) ([]ledger.Hash, error) {
	if err := authorize(who, ActLedgerRead); err != nil {
		return nil, err
	}
	if start < 0 {
		return nil, domain.Invalid("start", "must not be negative")
	}
	if end-start > 10000 || end < start {
		return nil, domain.Invalid("end", "the range must hold 0 to 10,000 entries")
	}
	var out []ledger.Hash
	err := s.store.View(ctx, func(tx store.Tx) error {
		n, err := integratedSize(ctx, tx)
		if err != nil {
			return err
		}
		if end > n {
			return domain.Invalid("end", "must be at most the tree's size %d", n)
		}
		out, err = ledger.LeafHashes(ctx, tiles{ctx, tx}, uint64(start), uint64(end))
		return err
	})
	return out, err
}

// Entry returns one audit record with its payload to those who may see it:
// the export authority sees every entry; other parties the entries their
// own party wrote (ENOTFOUND for another's); auditors none (EFORBIDDEN).
// Returns ENOTFOUND for an index with no entry.
func (s *Service) Entry(ctx context.Context, who domain.Actor, index int64) (domain.AuditRecord, error) {
	if err := authorize(who, ActLedgerEntries); err != nil {
		return domain.AuditRecord{}, err
	}
	var rec domain.AuditRecord
	err := s.store.View(ctx, func(tx store.Tx) error {
		recs, err := tx.AuditRecords(ctx, index, index+1)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return domain.Errorf(domain.ENOTFOUND, "entry %d not found", index)
		}
		rec = recs[0]
		return nil
	})
	if err != nil {
		return rec, err
	}
	if grants[ActLedgerEntries][who.Role] != all && !isSystem(who) && rec.ActorParty != who.PartySlug {
		return domain.AuditRecord{}, domain.Errorf(domain.ENOTFOUND, "entry %d not found", index)
	}
	return rec, nil
}

// records streams the audit record in index order, in batches.
func (s *Service) records(ctx context.Context, size int64) iter.Seq2[domain.AuditRecord, error] {
	return func(yield func(domain.AuditRecord, error) bool) {
		const batch = 5000
		for from := int64(0); from < size; from += batch {
			recs, err := viewOf(ctx, s.store, func(tx store.Tx) ([]domain.AuditRecord, error) {
				return tx.AuditRecords(ctx, from, min(from+batch, size))
			})
			if err != nil {
				yield(domain.AuditRecord{}, err)
				return
			}
			for _, r := range recs {
				if !yield(r, nil) {
					return
				}
			}
		}
	}
}

// checkpoints opens every stored checkpoint with the log's verifier key.
func (s *Service) checkpoints(ctx context.Context) ([]ledger.Checkpoint, [][]byte, string, error) {
	var stored []store.StoredCheckpoint
	var vkey string
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		if stored, err = tx.Checkpoints(ctx); err != nil {
			return err
		}
		vkey, err = tx.LedgerMeta(ctx, "verifier_key")
		if domain.ErrorCode(err) == domain.ENOTFOUND && len(stored) == 0 {
			return nil
		}
		return err
	})
	if err != nil || vkey == "" {
		return nil, nil, vkey, err
	}
	v, err := ledger.ParseVerifierKey(vkey)
	if err != nil {
		return nil, nil, vkey, err
	}
	var cps []ledger.Checkpoint
	var notes [][]byte
	for _, c := range stored {
		cp, err := ledger.OpenCheckpoint(c.Signed, v)
		if err != nil {
			return nil, nil, vkey, &ledger.VerifyError{Index: uint64(c.Size), Reason: "the checkpoint of this size does not verify: " + err.Error()}
		}
		cps = append(cps, cp)
		notes = append(notes, c.Signed)
	}
	return cps, notes, vkey, nil
}

// VerifyLog recomputes every leaf and node of the ledger from the stored
// records and checks the stored tree and every checkpoint against them. It
// returns a *ledger.VerifyError naming the first bad index. Callers:
// operator commands (`chipgate ledger verify`); it takes no actor.
func (s *Service) VerifyLog(ctx context.Context) (ledger.VerifySummary, error) {
	cps, _, _, err := s.checkpoints(ctx)
	if err != nil {
		return ledger.VerifySummary{}, err
	}
	// The log's size and the tree's are read in one snapshot. Records past
	// the tree (not yet integrated) are recomputed from the records alone;
	// the tiles vouch for the rest, and the checkpoints for what they cover.
	var size, integrated int64
	if err := s.store.View(ctx, func(tx store.Tx) error {
		if size, err = tx.AuditSize(ctx); err != nil {
			return err
		}
		integrated, err = integratedSize(ctx, tx)
		return err
	}); err != nil {
		return ledger.VerifySummary{}, err
	}
	sum, err := ledger.VerifyRecords(ctx, s.records(ctx, size), cps, ledger.PartialTiles(StoreTiles(s.store), uint64(integrated)))
	if err != nil {
		return sum, err
	}
	if int64(sum.Size) != size {
		// Fewer records than the log's counter: the tail was deleted.
		return sum, &ledger.VerifyError{Index: sum.Size, Reason: fmt.Sprintf("the log counts %d entries but only %d records are stored: entries were deleted", size, sum.Size)}
	}
	return sum, nil
}

// ExportLog writes the whole ledger (records, checkpoints, verifier key) to
// dir for offline audit with `chipgate ledger audit`. Callers: operator
// commands; it takes no actor. Returns ECONFLICT before the first
// checkpoint, when there is no verifier key to export.
func (s *Service) ExportLog(ctx context.Context, dir string) (int64, error) {
	_, notes, vkey, err := s.checkpoints(ctx)
	if err != nil {
		return 0, err
	}
	if vkey == "" {
		return 0, domain.Errorf(domain.ECONFLICT, "the ledger has no signed checkpoint yet; start the server once to sign one")
	}
	var size int64
	if err := s.store.View(ctx, func(tx store.Tx) error {
		size, err = tx.AuditSize(ctx)
		return err
	}); err != nil {
		return 0, err
	}
	return size, ledger.ExportDir(dir, vkey, s.records(ctx, size), notes)
}

// StoreTiles returns the ledger's tile store over st, each call in its own
// transaction: for tools and tests. Commands use the tiles of their own
// transaction.
func StoreTiles(st store.Store) ledger.TileStore { return storeTiles{st} }

type storeTiles struct{ st store.Store }

func (s storeTiles) ReadTiles(ctx context.Context, ids []ledger.TileID) ([][]ledger.Hash, error) {
	var out [][]ledger.Hash
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = tiles{ctx, tx}.ReadTiles(ctx, ids)
		return err
	})
	return out, err
}

func (s storeTiles) WriteTiles(ctx context.Context, ts []ledger.Tile) error {
	return s.st.InTx(ctx, func(tx store.Tx) error { return tiles{ctx, tx}.WriteTiles(ctx, ts) })
}
