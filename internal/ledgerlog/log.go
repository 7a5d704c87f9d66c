// Package ledgerlog runs chipgate's tamper-evident log on top of the pure
// ledger package: it integrates the sequenced audit records into the tiled
// Merkle tree, signs checkpoints, gathers witnesses' cosignatures, publishes
// the cosigned checkpoint, and serves proofs, tiles and entry bundles of the
// published tree (tree.go).
//
// The signer never signs a history it did not write. Besides the database,
// which whoever can write it can rewrite, it remembers the last checkpoint
// it signed in State, kept outside the database (FileState, beside the
// key), and signs a new tree only after checking a consistency proof from
// that checkpoint (and from the database's latest) to the new one. A tree
// that fails is refused loudly: an error in the log, a metric, no signature.
//
// Everything it runs on is an interface, so that a new backend is a new
// driver, not a rewrite: the tree behind ledger.TileStore (SQL today, object
// storage tomorrow), the records behind Entries, published checkpoints
// behind Checkpoints, the key behind Signer (a note key in memory today, a
// PKCS#11 or KMS key tomorrow), witnesses behind Witness (package witness's
// HTTP client, or a witness in process).
package ledgerlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/ledger"
)

// Entries is the sequenced log: records with gapless indices in commit
// order, which never change once committed.
type Entries interface {
	// Size returns the number of records committed.
	Size(ctx context.Context) (uint64, error)
	// Records returns the records with from <= index < to, in order.
	Records(ctx context.Context, from, to uint64) ([]domain.AuditRecord, error)
}

// Checkpoints is where the log publishes its checkpoints for readers (the
// API, exports). It is not trusted: the signer checks what it reads there.
type Checkpoints interface {
	// Latest returns the note of the largest published checkpoint, or nil
	// when there is none.
	Latest(ctx context.Context) ([]byte, error)
	// Publish stores the note of a checkpoint: the log's signature and
	// the cosignatures gathered. Publishing a checkpoint again (the same
	// size and root) replaces its note, with more cosignatures.
	Publish(ctx context.Context, c ledger.Checkpoint, note []byte) error
}

// Signer signs checkpoints with the log's key. It is the seam for a key the
// process never holds (PKCS#11, a cloud KMS): Sign receives the checkpoint
// only after the log checked it, and returns the signed note.
type Signer interface {
	// Sign returns c as a signed note (C2SP tlog-checkpoint), signed by
	// the key VerifierKey names.
	Sign(ctx context.Context, c ledger.Checkpoint) ([]byte, error)
	// VerifierKey is the log's public key in note format; its name is the
	// log's origin.
	VerifierKey() string
}

// Witness cosigns checkpoints consistent with the latest it cosigned
// (C2SP tlog-witness add-checkpoint). *witness.Client calls one over HTTP;
// *witness.Witness is one in process.
type Witness interface {
	// Verifier checks the witness's cosignatures.
	Verifier() note.Verifier
	// AddCheckpoint submits signed with the consistency proof from
	// oldSize and returns the witness's signature lines, or a
	// *witness.ConflictError with the size it has.
	AddCheckpoint(ctx context.Context, oldSize uint64, proof []ledger.Hash, signed []byte) ([]byte, error)
}

// Config is what a Log runs on.
type Config struct {
	Tiles       ledger.TileStore
	Entries     Entries
	Checkpoints Checkpoints
	Signer      Signer
	// State keeps the last checkpoint the signer signed, outside the
	// database. Nil keeps it in memory, which protects a running process
	// only: for tests.
	State State
	// Witnesses are asked to cosign every new checkpoint; Quorum is how
	// many cosignatures the policy requires of one.
	Witnesses []Witness
	Quorum    int
	// WitnessTimeout bounds the wait for cosignatures (5 s if zero).
	WitnessTimeout time.Duration
	Metrics        *Metrics
	Log            *slog.Logger
}

// Log integrates, signs, cosigns and publishes. Its methods are safe for
// concurrent use; they run one at a time.
type Log struct {
	cfg      Config
	verifier note.Verifier
	vkey     string

	mu    sync.Mutex
	known []uint64 // per witness, the size it last cosigned as far as the log knows
	// warned remembers the last warnings given, so that a loop calling
	// Checkpoint every few seconds does not repeat them.
	warned map[string]bool
}

// integrateBatch is how many records one integration step reads at a time.
const integrateBatch = 10000

// New returns a Log. It checks that the signer's key parses.
func New(cfg Config) (*Log, error) {
	if cfg.Tiles == nil || cfg.Entries == nil || cfg.Checkpoints == nil || cfg.Signer == nil {
		return nil, errors.New("ledgerlog: tiles, entries, checkpoints and a signer are required")
	}
	v, err := ledger.ParseVerifierKey(cfg.Signer.VerifierKey())
	if err != nil {
		return nil, err
	}
	if cfg.State == nil {
		cfg.State = &MemoryState{}
	}
	if cfg.WitnessTimeout <= 0 {
		cfg.WitnessTimeout = 5 * time.Second
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Quorum > len(cfg.Witnesses) {
		return nil, fmt.Errorf("ledgerlog: %d cosignatures are required but %d witnesses are configured", cfg.Quorum, len(cfg.Witnesses))
	}
	return &Log{cfg: cfg, verifier: v, vkey: strings.TrimSpace(cfg.Signer.VerifierKey()), known: make([]uint64, len(cfg.Witnesses)), warned: map[string]bool{}}, nil
}

// RefusedError is the signer's refusal to sign a tree that does not extend
// a checkpoint it signed before: the stored records or tree were changed,
// or entries deleted, behind the log's back.
type RefusedError struct {
	Next Checkpoint
	// Last is the earlier checkpoint and where it was read.
	Last   Checkpoint
	Source string
	Err    error
}

// Checkpoint is ledger.Checkpoint, named here for RefusedError's fields.
type Checkpoint = ledger.Checkpoint

// Error says what was refused and why.
func (e *RefusedError) Error() string {
	return fmt.Sprintf("ledgerlog: refusing to sign the tree of size %d (root %s): it does not extend the checkpoint of size %d (root %s) in %s: %v",
		e.Next.Size, e.Next.Root, e.Last.Size, e.Last.Root, e.Source, e.Err)
}

// Unwrap returns the cause.
func (e *RefusedError) Unwrap() error { return e.Err }

// Checkpoint integrates the records committed since the published
// checkpoint into the tree (tiles first, idempotently), and if the tree grew
// signs a checkpoint of it, after checking that it extends the last one the
// signer signed and the latest published one; then it remembers the
// signature in State, gathers the witnesses' cosignatures and publishes the
// note. It returns the new checkpoint, or nil when there was nothing new
// (it then asks witnesses missing from the latest published checkpoint to
// cosign it, if the quorum is not met). A refusal is a *RefusedError.
func (l *Log) Checkpoint(ctx context.Context) (*ledger.Checkpoint, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	pubNote, err := l.cfg.Checkpoints.Latest(ctx)
	if err != nil {
		return nil, err
	}
	var published *ledger.Checkpoint
	if pubNote != nil {
		c, err := ledger.OpenCheckpoint(pubNote, l.verifier)
		if err != nil {
			l.cfg.Metrics.Refused.Inc()
			l.cfg.Log.Error("LEDGER: the latest published checkpoint does not verify with the log's key: it was forged or damaged; refusing to sign", "err", err)
			return nil, fmt.Errorf("ledgerlog: the latest published checkpoint does not verify with the log's key: %w", err)
		}
		published = &c
	}
	last, err := l.lastSigned(ctx, published, pubNote)
	if err != nil {
		return nil, err
	}
	size, err := l.cfg.Entries.Size(ctx)
	if err != nil {
		return nil, err
	}
	// The tree grows from the larger of the checkpoints signed and
	// published: the tiles hold what either covers (they are written before
	// a checkpoint is signed), and what a signature covered is never written
	// again, so that a changed record stays visible against its leaf.
	from, fromWhat, fromSource := uint64(0), (*ledger.Checkpoint)(nil), ""
	if published != nil {
		from, fromWhat, fromSource = published.Size, published, "the published checkpoint"
	}
	if last != nil && last.Size > from {
		from, fromWhat, fromSource = last.Size, last, l.cfg.State.String()
	}
	if size < from {
		return nil, l.refuse(Checkpoint{Origin: l.verifier.Name(), Size: size}, *fromWhat, fromSource,
			fmt.Errorf("the log holds %d entries but a checkpoint of %d was signed: entries were deleted, or the database restored from an older backup", size, from))
	}
	root, err := l.integrate(ctx, from, size)
	if err != nil {
		return nil, err
	}
	if published != nil && published.Size == size && (last == nil || last.Size <= size) {
		if root != published.Root {
			// Nothing to sign, but the stored tree is not the one
			// published: it was rewritten.
			return nil, l.refuse(ledger.Checkpoint{Origin: published.Origin, Size: size, Root: root}, *published, "the published checkpoint",
				&ledger.ForkError{Origin: published.Origin, Size: size, Root1: published.Root, Root2: root})
		}
		if last != nil && *last != *published {
			// Another replica signed a newer checkpoint (or this one's
			// state was lost after it published): it must extend what
			// this signer signed, and becomes its last.
			if err := l.check(ctx, *last, *published, l.cfg.State.String()); err != nil {
				return nil, err
			}
			if err := l.cfg.State.Store(ctx, pubNote); err != nil {
				return nil, fmt.Errorf("ledgerlog: remember the checkpoint in %s: %w", l.cfg.State, err)
			}
		}
		return nil, l.recosign(ctx, *published, pubNote)
	}
	next := ledger.Checkpoint{Origin: l.verifier.Name(), Size: size, Root: root}
	if last != nil {
		if err := l.check(ctx, *last, next, l.cfg.State.String()); err != nil {
			return nil, err
		}
	}
	if published != nil && (last == nil || *published != *last) {
		if err := l.check(ctx, *published, next, "the published checkpoint"); err != nil {
			return nil, err
		}
	}
	signed, err := l.cfg.Signer.Sign(ctx, next)
	if err != nil {
		return nil, fmt.Errorf("ledgerlog: sign: %w", err)
	}
	if c, err := ledger.OpenCheckpoint(signed, l.verifier); err != nil || c != next {
		return nil, fmt.Errorf("ledgerlog: the signer returned a note that is not the checkpoint asked for (%v)", err)
	}
	// Remember before publishing: a checkpoint readers could see but the
	// signer forgot would let a rewritten database be signed again. The
	// witnesses are asked meanwhile (they keep their own record, so a
	// cosignature of a checkpoint the signer then fails to remember is
	// harmless): the cosignatures cost a checkpoint only what they take
	// beyond the signer's own write.
	cosigned := make(chan []byte, 1)
	go func() { cosigned <- l.cosign(ctx, next, signed) }()
	serr := l.cfg.State.Store(ctx, signed)
	withCosigs := <-cosigned
	if serr != nil {
		return nil, fmt.Errorf("ledgerlog: remember the checkpoint in %s: %w", l.cfg.State, serr)
	}
	l.cfg.Metrics.Signed.Inc()
	l.cfg.Metrics.Size.Set(float64(size))
	if err := l.cfg.Checkpoints.Publish(ctx, next, withCosigs); err != nil {
		return nil, err
	}
	return &next, nil
}

// lastSigned returns the last checkpoint the signer signed: from State; on
// a first start without one, the database's latest if it verified (the
// caller checked), which is then remembered.
func (l *Log) lastSigned(ctx context.Context, published *ledger.Checkpoint, pubNote []byte) (*ledger.Checkpoint, error) {
	b, err := l.cfg.State.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("ledgerlog: the signer's last checkpoint: %w", err)
	}
	if b == nil {
		if published == nil {
			l.sayOnce("first", slog.LevelInfo, "ledger: no checkpoint was signed before, neither in the signer's state nor in the database: the next one is this log's first", "state", l.cfg.State.String())
			return nil, nil
		}
		l.cfg.Log.Warn("ledger: adopting the database's latest checkpoint, which verifies with the log's key, as the last one signed: the signer's state did not exist yet; from now on it refuses any tree that does not extend it",
			"state", l.cfg.State.String(), "size", published.Size, "root", published.Root.String())
		if err := l.cfg.State.Store(ctx, pubNote); err != nil {
			return nil, fmt.Errorf("ledgerlog: remember the checkpoint in %s: %w", l.cfg.State, err)
		}
		return published, nil
	}
	c, err := ledger.OpenCheckpoint(b, l.verifier)
	if err != nil {
		l.cfg.Metrics.Refused.Inc()
		l.cfg.Log.Error("LEDGER: the signer's last checkpoint does not verify with the log's key; refusing to sign", "state", l.cfg.State.String(), "err", err)
		return nil, fmt.Errorf("ledgerlog: the signer's last checkpoint in %s does not verify with the log's key: %w", l.cfg.State, err)
	}
	if published == nil || published.Size < c.Size {
		pub := uint64(0)
		if published != nil {
			pub = published.Size
		}
		l.sayOnce(fmt.Sprintf("behind %d %d", pub, c.Size), slog.LevelWarn, "ledger: the signer signed a checkpoint the database does not hold: the server stopped between signing and publishing it, or checkpoints were deleted from the database, or it was restored from an older backup; the signer signs on only a tree that extends it",
			"database_size", pub, "signed_size", c.Size, "state", l.cfg.State.String())
	}
	return &c, nil
}

// check refuses next unless it extends c, given the consistency proof the
// tiles give.
func (l *Log) check(ctx context.Context, c, next ledger.Checkpoint, source string) error {
	var path []ledger.Hash
	if c.Size > 0 && c.Size <= next.Size {
		var err error
		if path, err = ledger.ConsistencyProof(ctx, l.cfg.Tiles, c.Size, next.Size); err != nil {
			return l.refuse(next, c, source, err)
		}
	}
	if err := ledger.CheckNext(c, next, path); err != nil {
		return l.refuse(next, c, source, err)
	}
	return nil
}

// refuse logs a refusal at error level and counts it.
func (l *Log) refuse(next, last ledger.Checkpoint, source string, cause error) error {
	l.cfg.Metrics.Refused.Inc()
	l.cfg.Log.Error("LEDGER: REFUSING TO SIGN: the tree does not extend a checkpoint this log signed before. The stored records or tree were changed, or entries deleted, behind the server's back; find the first bad entry with: chipgate ledger verify --checkpoint <the signer's state file>",
		"size", next.Size, "root", next.Root.String(), "signed_size", last.Size, "signed_root", last.Root.String(), "signed_in", source, "err", cause)
	return &RefusedError{Next: next, Last: last, Source: source, Err: cause}
}

// sayOnce logs msg the first time key comes up.
func (l *Log) sayOnce(key string, level slog.Level, msg string, args ...any) {
	if l.warned[key] {
		return
	}
	l.warned[key] = true
	l.cfg.Log.Log(context.Background(), level, msg, args...)
}

// integrate adds the records [from, size) to the tree, batch by batch. The
// tiles may already hold some of them (a run cut short before it
// published): ExtendLeaves writes them again. If the tiles lack what a
// checkpoint covered (deleted), the tree is rebuilt from the records; the
// consistency checks then tell whether they changed.
// It returns the root of the tree of size.
func (l *Log) integrate(ctx context.Context, from, size uint64) (ledger.Hash, error) {
	grow := func(from uint64) (ledger.Hash, error) {
		if err := l.integrateFrom(ctx, from, size); err != nil {
			return ledger.Hash{}, err
		}
		return ledger.Root(ctx, l.cfg.Tiles, size)
	}
	root, err := grow(from)
	if errors.Is(err, ledger.ErrTilesBehind) && from > 0 {
		l.cfg.Log.Warn("ledger: the stored tree lacks entries a checkpoint covered (tiles were deleted): rebuilding it from the records", "signed_size", from, "err", err)
		root, err = grow(0)
	}
	return root, err
}

func (l *Log) integrateFrom(ctx context.Context, from, size uint64) error {
	var lh ledger.LeafHasher
	for done := from; done < size; {
		recs, err := l.cfg.Entries.Records(ctx, done, min(done+integrateBatch, size))
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return fmt.Errorf("ledgerlog: the records from %d are missing", done)
		}
		hashes := make([]ledger.Hash, len(recs))
		for i := range recs {
			if recs[i].Index < 0 || uint64(recs[i].Index) != done+uint64(i) {
				return fmt.Errorf("ledgerlog: the record at %d has index %d", done+uint64(i), recs[i].Index)
			}
			if hashes[i], err = lh.Hash(&recs[i]); err != nil {
				return err
			}
		}
		if err := ledger.ExtendLeaves(ctx, l.cfg.Tiles, done, hashes); err != nil {
			return err
		}
		done += uint64(len(recs))
	}
	return nil
}
