package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/ledger"
	"github.com/chipgate/chipgate/internal/ledgerlog"
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

// storeEntries is the store's audit log as the ledger log's Entries.
type storeEntries struct{ st store.Store }

func (e storeEntries) Size(ctx context.Context) (uint64, error) {
	n, err := viewOf(ctx, e.st, func(tx store.Tx) (int64, error) { return tx.AuditSize(ctx) })
	return uint64(n), err
}

func (e storeEntries) Records(ctx context.Context, from, to uint64) ([]domain.AuditRecord, error) {
	return viewOf(ctx, e.st, func(tx store.Tx) ([]domain.AuditRecord, error) {
		return tx.AuditRecords(ctx, int64(from), int64(to))
	})
}

// storeCheckpoints is the store's checkpoint table as the ledger log's
// published Checkpoints.
type storeCheckpoints struct {
	st  store.Store
	now func() time.Time
}

func (c storeCheckpoints) Latest(ctx context.Context) ([]byte, error) {
	var out []byte
	err := c.st.View(ctx, func(tx store.Tx) error {
		cp, err := tx.LatestCheckpoint(ctx)
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return nil
		}
		out = cp.Signed
		return err
	})
	return out, err
}

func (c storeCheckpoints) Publish(ctx context.Context, cp ledger.Checkpoint, note []byte) error {
	return c.st.InTx(ctx, func(tx store.Tx) error {
		sc := store.StoredCheckpoint{Size: int64(cp.Size), Root: cp.Root[:], Signed: note, CreatedAt: c.now()}
		err := tx.ReplaceCheckpoint(ctx, sc)
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return tx.AddCheckpoint(ctx, sc)
		}
		return err
	})
}

var (
	_ ledgerlog.Entries     = storeEntries{}
	_ ledgerlog.Checkpoints = storeCheckpoints{}
)

// LedgerSigner signs the ledger's checkpoints: the key (behind
// ledgerlog.Signer), the signer's memory of its last checkpoint outside the
// database, and the witnesses that cosign. One signer serves one Service.
type LedgerSigner struct {
	signer ledgerlog.Signer
	opts   LedgerOptions

	mu  sync.Mutex
	log *ledgerlog.Log
}

// LedgerOptions configure a LedgerSigner beyond its key.
type LedgerOptions struct {
	// State keeps the last signed checkpoint outside the database
	// (ledgerlog.FileState beside the key). Nil keeps it in memory, which
	// protects only a running process: for tests.
	State ledgerlog.State
	// Witnesses cosign each checkpoint; Quorum is how many cosignatures
	// the policy requires (ledger.witnesses).
	Witnesses      []ledgerlog.Witness
	Quorum         int
	WitnessTimeout time.Duration
	Metrics        *ledgerlog.Metrics
	Log            *slog.Logger
}

// NewLedgerSigner reads a signing key (note format, from ledger.GenerateKey)
// and its verifier key, with the signer's state in memory and no witnesses.
func NewLedgerSigner(skey, vkey string) (*LedgerSigner, error) {
	k, err := ledgerlog.NewKeySigner(skey, vkey)
	if err != nil {
		return nil, err
	}
	return NewLedgerSignerWith(k, LedgerOptions{})
}

// NewLedgerSignerWith returns a signer over any ledgerlog.Signer (a key in
// memory, an HSM, a KMS).
func NewLedgerSignerWith(signer ledgerlog.Signer, opts LedgerOptions) (*LedgerSigner, error) {
	if _, err := ledger.ParseVerifierKey(signer.VerifierKey()); err != nil {
		return nil, err
	}
	if opts.Quorum > len(opts.Witnesses) {
		return nil, fmt.Errorf("ledger: the policy requires %d cosignatures per checkpoint but %d witnesses are configured", opts.Quorum, len(opts.Witnesses))
	}
	return &LedgerSigner{signer: signer, opts: opts}, nil
}

// VerifierKey is the public key that checks the checkpoints.
func (l *LedgerSigner) VerifierKey() string { return strings.TrimSpace(l.signer.VerifierKey()) }

// logFor returns the ledger log over s's store, built on first use.
func (l *LedgerSigner) logFor(s *Service) (*ledgerlog.Log, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.log != nil {
		return l.log, nil
	}
	log := l.opts.Log
	if log == nil {
		log = s.log
	}
	lg, err := ledgerlog.New(ledgerlog.Config{
		Tiles: StoreTiles(s.store), Entries: storeEntries{s.store}, Checkpoints: storeCheckpoints{s.store, s.Now},
		Signer: l.signer, State: l.opts.State, Witnesses: l.opts.Witnesses, Quorum: l.opts.Quorum,
		WitnessTimeout: l.opts.WitnessTimeout, Metrics: l.opts.Metrics, Log: log,
	})
	if err != nil {
		return nil, err
	}
	l.log = lg
	return lg, nil
}

// checkpointLeader names the leadership of the checkpoint signer.
const checkpointLeader = "chipgate-checkpoint-signer"

// SignCheckpoint integrates the records committed since the last
// checkpoint into the tree and signs a checkpoint of it, if it grew, while
// this process leads (on PostgreSQL one replica signs; the others get nil).
// It refuses a key other than the one the log was first signed with, and a
// tree that does not extend the last checkpoint the signer signed or the
// latest published one (*ledgerlog.RefusedError). It reports the new
// checkpoint, or nil when there was nothing new.
func (s *Service) SignCheckpoint(ctx context.Context, signer *LedgerSigner) (*ledger.Checkpoint, error) {
	var out *ledger.Checkpoint
	_, err := s.store.Leader(ctx, checkpointLeader, func(ctx context.Context) error {
		var err error
		out, err = s.signCheckpoint(ctx, signer)
		return err
	})
	return out, err
}

func (s *Service) signCheckpoint(ctx context.Context, signer *LedgerSigner) (*ledger.Checkpoint, error) {
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		switch vkey, err := tx.LedgerMeta(ctx, "verifier_key"); {
		case domain.ErrorCode(err) == domain.ENOTFOUND:
			return tx.SetLedgerMeta(ctx, "verifier_key", signer.VerifierKey())
		case err != nil:
			return err
		case vkey != signer.VerifierKey():
			return domain.Errorf(domain.ECONFLICT, "the ledger was signed with key %s; refusing to sign with another", vkey)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	lg, err := signer.logFor(s)
	if err != nil {
		return nil, err
	}
	return lg.Checkpoint(ctx)
}

// RunCheckpoints seals the screening log and signs a checkpoint every
// interval while this process leads
// (on PostgreSQL exactly one replica does; the others wait to take over)
// until ctx is done.
func (s *Service) RunCheckpoints(ctx context.Context, signer *LedgerSigner, interval time.Duration) {
	for ctx.Err() == nil {
		ok, err := s.store.Leader(ctx, checkpointLeader, func(ctx context.Context) error {
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				// The screening log's head goes into the tree the
				// checkpoint signs.
				if err := s.SealScreeningLog(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("screening log not sealed", "err", err)
				}
				if _, err := s.signCheckpoint(ctx, signer); err != nil && ctx.Err() == nil {
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

// publishedTree returns the published tree: the tiles and the size of the
// latest checkpoint (0 before the first).
func (s *Service) publishedTree(ctx context.Context) (ledgerlog.Tree, error) {
	n, err := viewOf(ctx, s.store, func(tx store.Tx) (int64, error) {
		c, err := tx.LatestCheckpoint(ctx)
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return 0, nil
		}
		return c.Size, err
	})
	return ledgerlog.Tree{Tiles: StoreTiles(s.store), Entries: storeEntries{s.store}, Size: uint64(n)}, err
}

// InclusionProof proves that the entry at index is in the tree of size
// (the whole log when size is 0). Callers: every role; proofs carry hashes,
// never payloads. Returns EINVALID naming index or tree_size for one outside
// the tree (which holds the entries of the last checkpoint).
func (s *Service) InclusionProof(ctx context.Context, who domain.Actor, index, size int64) (ledger.InclusionProofJSON, error) {
	if err := authorize(who, ActLedgerRead); err != nil {
		return ledger.InclusionProofJSON{}, err
	}
	t, err := s.publishedTree(ctx)
	if err != nil {
		return ledger.InclusionProofJSON{}, err
	}
	return t.InclusionProof(ctx, index, size)
}

// ConsistencyProof proves that the tree of size1 is a prefix of the tree of
// size2 (the whole log when size2 is 0). There is no proof from size 0.
// Callers: every role. Returns EINVALID naming from or to for a size outside
// the tree.
func (s *Service) ConsistencyProof(ctx context.Context, who domain.Actor, size1, size2 int64) (ledger.ConsistencyProofJSON, error) {
	if err := authorize(who, ActLedgerRead); err != nil {
		return ledger.ConsistencyProofJSON{}, err
	}
	t, err := s.publishedTree(ctx)
	if err != nil {
		return ledger.ConsistencyProofJSON{}, err
	}
	return t.ConsistencyProof(ctx, size1, size2)
}

// LeafHashes returns the leaf hashes of entries [start, end). Callers:
// every role; this is what an auditor checks without seeing payloads.
// Returns EINVALID naming start or end for a range outside the tree or of
// more than 10,000 entries.
func (s *Service) LeafHashes(ctx context.Context, who domain.Actor, start, end int64) ([]ledger.Hash, error) {
	if err := authorize(who, ActLedgerRead); err != nil {
		return nil, err
	}
	t, err := s.publishedTree(ctx)
	if err != nil {
		return nil, err
	}
	return t.LeafHashes(ctx, start, end)
}

// CheckpointNote returns the latest published checkpoint as its note, the
// log's signature and the witnesses' cosignatures included (C2SP
// tlog-checkpoint), or ENOTFOUND before the first. Callers: anyone, without
// a token: it reveals a size and a root, no entry.
func (s *Service) CheckpointNote(ctx context.Context) ([]byte, error) {
	note, err := storeCheckpoints{st: s.store}.Latest(ctx)
	if err == nil && note == nil {
		err = domain.Errorf(domain.ENOTFOUND, "no checkpoint signed yet")
	}
	return note, err
}

// LedgerTile returns a hash tile of the published tree (C2SP tlog-tiles),
// ENOTFOUND when the latest checkpoint does not cover it. Callers: anyone,
// without a token: tiles hold hashes, never payloads.
func (s *Service) LedgerTile(ctx context.Context, ref ledger.TileRef) ([]byte, error) {
	t, err := s.publishedTree(ctx)
	if err != nil {
		return nil, err
	}
	return t.Tile(ctx, ref)
}

// EntryBundle returns an entry bundle of the published tree (C2SP
// tlog-tiles): the leaf data, payloads included, of up to 256 entries of
// every party. Callers: roles that may read every entry (the export
// authority); others, who may read only some entries or none, get
// EFORBIDDEN and use Entry. ENOTFOUND when the latest checkpoint does not
// cover the bundle.
func (s *Service) EntryBundle(ctx context.Context, who domain.Actor, ref ledger.TileRef) ([]byte, error) {
	if err := authorize(who, ActLedgerEntries); err != nil {
		return nil, err
	}
	if grants[ActLedgerEntries][who.Role] != all && !isSystem(who) {
		return nil, domain.Errorf(domain.EFORBIDDEN, "entry bundles mix every party's entries: role %s may read only its own, one at a time (/api/v1/ledger/entries/{index})", who.Role)
	}
	t, err := s.publishedTree(ctx)
	if err != nil {
		return nil, err
	}
	return t.EntryBundle(ctx, ref)
}

// Entry returns one audit record with its payload to those who may see it:
// the export authority sees every entry; other parties the entries their
// own party wrote and, whoever wrote them, those about their own
// applications, licenses and permits (ENOTFOUND for another's); auditors
// none (EFORBIDDEN: they read PublicEntry). Returns ENOTFOUND for an index
// with no entry.
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
		if grants[ActLedgerEntries][who.Role] == all || isSystem(who) || rec.ActorParty == who.PartySlug {
			return nil
		}
		if mine, err := aboutOwn(ctx, tx, rec, who.PartyID); err != nil || !mine {
			if err == nil {
				err = domain.Errorf(domain.ENOTFOUND, "entry %d not found", index)
			}
			return err
		}
		return nil
	})
	if err != nil {
		return domain.AuditRecord{}, err
	}
	if who.Role == domain.RoleBuyer && rec.SubjectType == "application" {
		// A buyer never sees its screening hits, here as anywhere: its
		// copy of an application's record leaves them out, and so no
		// longer hashes to the leaf (whose inclusion it can still prove).
		if rec.Payload, err = withoutHits(rec.Payload); err != nil {
			return domain.AuditRecord{}, err
		}
	}
	return rec, nil
}

// withoutHits removes every screening's hits from a record's payload: the
// "hits" of any object that also has a "status" and an "at" (a
// domain.ScreeningResult), wherever it sits.
func withoutHits(payload []byte) ([]byte, error) {
	var v any
	if err := json.Unmarshal(payload, &v); err != nil {
		return nil, fmt.Errorf("ledger: read a record's payload: %w", err)
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			_, status := x["status"]
			_, at := x["at"]
			if _, hits := x["hits"]; hits && status && at {
				delete(x, "hits")
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(v)
	return domain.CanonicalJSON(v)
}

// ownedSubjects are the subjects whose records their owner reads whoever
// wrote them: a party's own applications, licenses and permits.
var ownedSubjects = map[string]store.Kind{"application": store.KindApplication, "license": store.KindLicense, "permit": store.KindPermit}

// aboutOwn reports whether rec is about one of party's applications,
// licenses or permits.
func aboutOwn(ctx context.Context, tx store.Tx, rec domain.AuditRecord, party domain.ID) (bool, error) {
	kind, ok := ownedSubjects[rec.SubjectType]
	if !ok {
		return false, nil
	}
	id, err := domain.ParseID(rec.SubjectID)
	if err != nil {
		return false, nil
	}
	d, err := tx.GetDoc(ctx, kind, id, false)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return false, nil
	}
	return err == nil && d.PartyID == party, err
}

// ObjectRef names an object an entry is about: its type and id.
type ObjectRef struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// PublicEntry is the part of a ledger entry that auditors read: what kind
// of change, when, by which role, to which objects, with the entry's leaf
// hash and its inclusion proof in the published tree (nil until a
// checkpoint covers it). Never the payload, nor the user or party who acted.
type PublicEntry struct {
	Index     int64     `json:"index"`
	LeafHash  string    `json:"leaf_hash"`
	Kind      string    `json:"kind"`
	At        time.Time `json:"at"`
	ActorRole string    `json:"actor_role"`
	Subject   ObjectRef `json:"subject"`
	// Objects are the state rows the entry changed (table and key).
	Objects []ObjectRef                `json:"objects"`
	Proof   *ledger.InclusionProofJSON `json:"proof"`
}

// PublicEntry returns the public part of entry index. Callers: auditors and
// the authorities. Returns ENOTFOUND for an index with no entry, and
// EStateTampered when the stored record no longer hashes to the leaf the
// published tree holds.
func (s *Service) PublicEntry(ctx context.Context, who domain.Actor, index int64) (PublicEntry, error) {
	if err := authorize(who, ActLedgerPublic); err != nil {
		return PublicEntry{}, err
	}
	rec, err := s.Entry(ctx, domain.SystemActor, index)
	if err != nil {
		return PublicEntry{}, err
	}
	leaf, err := ledger.LeafHash(&rec)
	if err != nil {
		return PublicEntry{}, err
	}
	out := PublicEntry{Index: rec.Index, LeafHash: leaf.String(), Kind: rec.Action, At: rec.At, ActorRole: rec.ActorRole,
		Subject: ObjectRef{rec.SubjectType, rec.SubjectID}, Objects: []ObjectRef{}}
	if rows, _, err := ledger.SplitState(rec.Payload); err == nil {
		for _, r := range rows {
			out.Objects = append(out.Objects, ObjectRef{r.Table, r.Key})
		}
	}
	t, err := s.publishedTree(ctx)
	if err != nil {
		return out, err
	}
	if uint64(index) < t.Size {
		p, err := t.InclusionProof(ctx, index, 0)
		if err != nil {
			return out, err
		}
		if *p.LeafHash != leaf {
			return out, tampered(ledger.StateKey{Table: "audit_log", Key: strconv.FormatInt(index, 10)}, index, "the stored record hashes to %s, the published tree holds %s", leaf, p.LeafHash)
		}
		out.Proof = &p
	}
	return out, nil
}

// recordBatch is how many records one read transaction of records takes.
const recordBatch = 8192

// records streams the audit records below size in index order. The next
// batch is read, in its own short transaction, while the caller works on
// this one, so that reading and hashing (`ledger verify`) overlap on two
// cores.
func (s *Service) records(ctx context.Context, size int64) iter.Seq2[domain.AuditRecord, error] {
	return func(yield func(domain.AuditRecord, error) bool) {
		type batch struct {
			recs []domain.AuditRecord
			err  error
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		next := make(chan batch, 1)
		go func() {
			defer close(next)
			for from := int64(0); from < size; from += recordBatch {
				recs, err := viewOf(ctx, s.store, func(tx store.Tx) ([]domain.AuditRecord, error) {
					return tx.AuditRecords(ctx, from, min(from+recordBatch, size))
				})
				select {
				case next <- batch{recs, err}:
				case <-ctx.Done():
					return
				}
				if err != nil {
					return
				}
			}
		}()
		for b := range next {
			if b.err != nil {
				yield(domain.AuditRecord{}, b.err)
				return
			}
			for _, r := range b.recs {
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

// VerifyOptions is what "ledger verify" brings from outside the database.
type VerifyOptions struct {
	// LogKey pins the log's verifier key; empty trusts the database's.
	LogKey string
	// Checkpoints are signed checkpoints kept outside the database: the
	// signer's state file, a witness's state. They must verify with the
	// log's key and agree with the records, like the stored ones.
	Checkpoints []ledger.SourcedNote
}

// VerifyLog is VerifyLogWith with nothing from outside the database.
func (s *Service) VerifyLog(ctx context.Context) (ledger.VerifySummary, error) {
	return s.VerifyLogWith(ctx, VerifyOptions{})
}

// VerifyLogWith recomputes every leaf and node of the ledger from the
// stored records and checks the stored tree and every checkpoint (stored
// and given) against them. It returns a *ledger.VerifyError naming the
// first bad index, or a *ledger.ForkError.
func (s *Service) VerifyLogWith(ctx context.Context, opts VerifyOptions) (ledger.VerifySummary, error) {
	return s.verifyLog(ctx, opts, nil)
}

// verifyLog is VerifyLogWith; with st, it verifies the records up to
// st.size and replays each into st.replay.
func (s *Service) verifyLog(ctx context.Context, opts VerifyOptions, st *stateScan) (ledger.VerifySummary, error) {
	cps, _, vkey, err := s.checkpoints(ctx)
	if err != nil {
		return ledger.VerifySummary{}, err
	}
	if opts.LogKey != "" {
		if vkey != "" && vkey != strings.TrimSpace(opts.LogKey) {
			return ledger.VerifySummary{}, fmt.Errorf("the database names the log's key %s, not the one given (%s): the key was replaced", vkey, strings.TrimSpace(opts.LogKey))
		}
		vkey = strings.TrimSpace(opts.LogKey)
	}
	var outside uint64 // the largest checkpoint from outside
	if len(opts.Checkpoints) > 0 {
		if vkey == "" {
			return ledger.VerifySummary{}, errors.New("the database holds no verifier key: give the log's key to check the checkpoints against")
		}
		v, err := ledger.ParseVerifierKey(vkey)
		if err != nil {
			return ledger.VerifySummary{}, err
		}
		for _, n := range opts.Checkpoints {
			c, err := ledger.OpenCheckpoint(n.Note, v)
			if err != nil {
				return ledger.VerifySummary{}, fmt.Errorf("%s: %w", n.Source, err)
			}
			cps = append(cps, c)
			outside = max(outside, c.Size)
		}
	}
	// The log's size and the tree's are read in one snapshot. Records past
	// the published tree are recomputed from the records alone; the tiles
	// vouch for the rest, and the checkpoints for what they cover.
	var size, published int64
	if err := s.store.View(ctx, func(tx store.Tx) error {
		if size, err = tx.AuditSize(ctx); err != nil {
			return err
		}
		c, err := tx.LatestCheckpoint(ctx)
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return nil
		}
		published = c.Size
		return err
	}); err != nil {
		return ledger.VerifySummary{}, err
	}
	var each func(*domain.AuditRecord, ledger.Hash) error
	if st != nil {
		size = st.size
		each = func(rec *domain.AuditRecord, leaf ledger.Hash) error {
			st.seals.add(rec)
			return st.replay.Apply(rec, leaf)
		}
	}
	// The tree holds every leaf a checkpoint covers (the log writes tiles
	// before it signs), also one from outside that the database lost.
	covered := max(uint64(published), outside)
	sum, err := ledger.VerifyRecordsFunc(ctx, s.records(ctx, size), cps, ledger.PartialTiles(StoreTiles(s.store), covered), each)
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
