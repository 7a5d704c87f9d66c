package ledger

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
)

// Checkpoint is what the log commits to at one moment: its origin (the
// log's name), the number of entries and the root hash of the tree over
// them. Signed, it is a C2SP tlog-checkpoint: a Go note whose text is
//
//	<origin>\n<size>\n<base64 root>\n
//
// followed by an Ed25519 note signature line by the key named <origin>.
type Checkpoint struct {
	Origin string `json:"origin"`
	Size   uint64 `json:"size"`
	Root   Hash   `json:"root"`
}

// Text returns the checkpoint body, the text that is signed.
func (c Checkpoint) Text() string {
	return string(log.Checkpoint{Origin: c.Origin, Size: c.Size, Hash: c.Root[:]}.Marshal())
}

// GenerateKey returns a new Ed25519 signing key and its verifier key in the
// note formats ("PRIVATE+KEY+<origin>+<hash>+<key>" and
// "<origin>+<hash>+<key>"). The key is named after the log's origin, so a
// verifier key says which log it checks. The store keeps skey in the data
// directory with mode 0600; vkey is public.
func GenerateKey(origin string) (skey, vkey string, err error) {
	if err := checkOrigin(origin); err != nil {
		return "", "", err
	}
	skey, vkey, err = note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return "", "", fmt.Errorf("ledger: generate key: %w", err)
	}
	return skey, vkey, nil
}

// ParseSignerKey parses a signing key from GenerateKey.
func ParseSignerKey(skey string) (note.Signer, error) {
	s, err := note.NewSigner(strings.TrimSpace(skey))
	if err != nil {
		return nil, fmt.Errorf("ledger: signing key: %w", err)
	}
	return s, nil
}

// ParseVerifierKey parses a verifier key from GenerateKey (the text served
// at GET /api/v1/ledger/key and written to an export's key file).
func ParseVerifierKey(vkey string) (note.Verifier, error) {
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return nil, fmt.Errorf("ledger: verifier key: %w", err)
	}
	return v, nil
}

// checkOrigin accepts what a note key name and a checkpoint's first line can
// both carry: non-empty, no whitespace, no '+'.
func checkOrigin(origin string) error {
	if origin == "" || strings.ContainsAny(origin, "+ \t\r\n") || !isPrint(origin) {
		return fmt.Errorf("ledger: origin %q must be non-empty printable text without spaces or '+'", origin)
	}
	return nil
}

func isPrint(s string) bool {
	for _, r := range s {
		if r < 0x21 || r == 0x7f {
			return false
		}
	}
	return true
}

// SignCheckpoint signs c with signer and returns the note. It checks only the
// shape of c; SignNext is what the log calls, because it also refuses to
// sign a checkpoint inconsistent with the last one.
func SignCheckpoint(signer note.Signer, c Checkpoint) ([]byte, error) {
	if err := checkOrigin(c.Origin); err != nil {
		return nil, err
	}
	if signer.Name() != c.Origin {
		return nil, fmt.Errorf("ledger: key %q cannot sign for origin %q", signer.Name(), c.Origin)
	}
	if c.Size == 0 && c.Root != EmptyRoot() {
		return nil, errors.New("ledger: the empty tree's root must be SHA-256 of nothing")
	}
	msg, err := note.Sign(&note.Note{Text: c.Text()}, signer)
	if err != nil {
		return nil, fmt.Errorf("ledger: sign checkpoint: %w", err)
	}
	return msg, nil
}

// maxCheckpointNote bounds a signed checkpoint: three short lines and a few
// signatures fit in far less.
const maxCheckpointNote = 16 << 10

// OpenCheckpoint verifies the log's signature on a signed checkpoint and
// parses it. The origin must be the verifier's name. Extension lines after
// the root (C2SP allows them) are ignored; cosignatures by other keys are
// allowed and not checked. A note without a valid signature by v gives an
// error wrapping note's *UnverifiedNoteError or *InvalidSignatureError.
func OpenCheckpoint(signed []byte, v note.Verifier) (Checkpoint, error) {
	if len(signed) > maxCheckpointNote {
		return Checkpoint{}, fmt.Errorf("ledger: checkpoint of %d bytes, at most %d", len(signed), maxCheckpointNote)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("ledger: checkpoint: %w", err)
	}
	return checkpointOf(n, v)
}

// checkpointOf parses the text of a note that v signed (note.Open checked).
func checkpointOf(n *note.Note, v note.Verifier) (Checkpoint, error) {
	var cp log.Checkpoint
	if _, err := cp.Unmarshal([]byte(n.Text)); err != nil {
		return Checkpoint{}, fmt.Errorf("ledger: checkpoint: %w", err)
	}
	if cp.Origin != v.Name() {
		return Checkpoint{}, fmt.Errorf("ledger: checkpoint: origin %q, but the key is %q's", cp.Origin, v.Name())
	}
	root, err := HashFromBytes(cp.Hash)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("ledger: checkpoint root: %w", err)
	}
	c := Checkpoint{Origin: cp.Origin, Size: cp.Size, Root: root}
	if c.Size == 0 && c.Root != EmptyRoot() {
		return Checkpoint{}, errors.New("ledger: checkpoint of the empty tree with a root other than SHA-256 of nothing")
	}
	return c, nil
}

// ForkError reports two checkpoints of one log and one size with different
// roots: proof that the log showed different histories to different people.
type ForkError struct {
	Origin       string
	Size         uint64
	Root1, Root2 Hash
}

// Error names the size and both roots: the evidence of the fork.
func (e *ForkError) Error() string {
	return fmt.Sprintf("ledger: fork: two checkpoints of %s at size %d have roots %s and %s", e.Origin, e.Size, e.Root1, e.Root2)
}

// SplitViewError is evidence that a log signed two checkpoints that cannot
// both describe its history: two of one size with different roots, or a
// smaller one that is not a prefix of a larger one. Notes holds both signed
// notes exactly as found, so that anyone with the log's key can check the
// evidence on their own; Sources says where each came from.
type SplitViewError struct {
	Origin  string
	Reason  string
	Sources [2]string
	Notes   [2][]byte
}

// Error names the log and why the two checkpoints disagree.
func (e *SplitViewError) Error() string {
	return fmt.Sprintf("ledger: split view of %s: %s", e.Origin, e.Reason)
}

// Evidence returns both signed notes with their sources, as a text to keep
// or to send to whoever else relies on the log.
func (e *SplitViewError) Evidence() string {
	var b strings.Builder
	fmt.Fprintf(&b, "split view of %s: %s\n", e.Origin, e.Reason)
	for i := range e.Notes {
		fmt.Fprintf(&b, "\n--- signed checkpoint %d (%s) ---\n%s", i+1, e.Sources[i], e.Notes[i])
	}
	return b.String()
}

// CheckConsistency checks that checkpoint next extends checkpoint prev
// (both already opened), given the consistency proof between their sizes.
// Returns a *ForkError for two sizes equal with different roots, and an error
// for a different origin, a smaller next, or a proof that does not verify.
// Like VerifyConsistency it refuses prev.Size == 0: there is nothing to
// prove from the empty tree.
func CheckConsistency(prev, next Checkpoint, path []Hash) error {
	if prev.Origin != next.Origin {
		return fmt.Errorf("ledger: checkpoints of different logs %q and %q", prev.Origin, next.Origin)
	}
	switch {
	case next.Size < prev.Size:
		return fmt.Errorf("ledger: checkpoint of size %d is older than the one of size %d", next.Size, prev.Size)
	case next.Size == prev.Size && next.Root != prev.Root:
		return &ForkError{Origin: prev.Origin, Size: prev.Size, Root1: prev.Root, Root2: next.Root}
	}
	return VerifyConsistency(prev.Size, next.Size, path, prev.Root, next.Root)
}

// SignNext is the guard that keeps the log from ever signing two
// inconsistent checkpoints. Given the last checkpoint the log signed (nil if
// none) and the consistency proof from its size to next's, it signs next only
// if next extends last: same origin, no smaller size, the same root at the
// same size, and a proof that verifies. The caller passes the proof computed
// from the current tiles (ConsistencyProof), so a log whose stored tree was
// rewritten below the last signed size cannot get a new signature.
//
// From an empty last checkpoint no proof exists or is needed: every tree
// extends the empty tree, whose root SignCheckpoint and OpenCheckpoint pin to
// SHA-256 of nothing.
func SignNext(signer note.Signer, last *Checkpoint, next Checkpoint, path []Hash) ([]byte, error) {
	if last != nil {
		if err := CheckNext(*last, next, path); err != nil {
			return nil, err
		}
	}
	return SignCheckpoint(signer, next)
}

// CheckNext is SignNext's guard on its own, for a signer that is not a
// note.Signer (a key in an HSM or a KMS): it returns nil only if next
// extends last, given the consistency proof between their sizes.
func CheckNext(last, next Checkpoint, path []Hash) error {
	if err := extends(last, next, path); err != nil {
		return fmt.Errorf("ledger: refusing to sign checkpoint of size %d: %w", next.Size, err)
	}
	return nil
}

// SignTree is what the log's signer calls: it computes the root of the tree
// of the given size from the stored tiles, the consistency proof from the
// last signed checkpoint (nil if none) to it, and signs through SignNext.
// Returns the new checkpoint and its note; the caller stores the note as the
// new last checkpoint. The tiles must be read in the transaction (or
// snapshot) in which size entries are committed.
func SignTree(ctx context.Context, r TileReader, signer note.Signer, last *Checkpoint, size uint64) (Checkpoint, []byte, error) {
	root, err := Root(ctx, r, size)
	if err != nil {
		return Checkpoint{}, nil, err
	}
	next := Checkpoint{Origin: signer.Name(), Size: size, Root: root}
	var path []Hash
	if last != nil && last.Size > 0 && last.Size < size {
		if path, err = ConsistencyProof(ctx, r, last.Size, size); err != nil {
			return Checkpoint{}, nil, err
		}
	}
	signed, err := SignNext(signer, last, next, path)
	if err != nil {
		return Checkpoint{}, nil, err
	}
	return next, signed, nil
}

// extends is SignNext's check.
func extends(last, next Checkpoint, path []Hash) error {
	if last.Origin != next.Origin {
		return fmt.Errorf("ledger: checkpoint of %q after one of %q", next.Origin, last.Origin)
	}
	if last.Size == 0 {
		if last.Root != EmptyRoot() {
			return errors.New("ledger: the last checkpoint is of the empty tree with a wrong root")
		}
		return nil
	}
	return CheckConsistency(last, next, path)
}

// FindFork returns a *ForkError for the first two checkpoints in cps that
// share origin and size but not root, or nil.
func FindFork(cps []Checkpoint) error {
	type key struct {
		origin string
		size   uint64
	}
	seen := make(map[key]Hash, len(cps))
	for _, c := range cps {
		k := key{c.Origin, c.Size}
		if r, ok := seen[k]; ok && r != c.Root {
			return &ForkError{Origin: c.Origin, Size: c.Size, Root1: r, Root2: c.Root}
		}
		seen[k] = c.Root
	}
	return nil
}
