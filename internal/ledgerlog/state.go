package ledgerlog

import (
	"context"
	"slices"
	"sync"

	"github.com/chipgate/chipgate/internal/ledger"
)

// State is the signer's memory of the last checkpoint it signed, kept
// where whoever can write the database cannot: a file beside the key, an
// HSM's storage. It holds the signed note.
type State interface {
	// Load returns the last note stored, or nil when none was.
	Load(ctx context.Context) ([]byte, error)
	// Store replaces it, durably, before returning.
	Store(ctx context.Context, note []byte) error
	// String names it in messages.
	String() string
}

// FileState keeps the note in a file: written atomically and synced after
// each signature, mode 0600, refused when group or others may write it
// (ledger.WriteNoteFile, ledger.ReadNoteFile). By default it is the key
// file's name with ".checkpoint" added.
type FileState string

var _ State = FileState("")

// Load implements State.
func (f FileState) Load(context.Context) ([]byte, error) { return ledger.ReadNoteFile(string(f)) }

// Store implements State.
func (f FileState) Store(_ context.Context, note []byte) error {
	return ledger.WriteNoteFile(string(f), note)
}

// String implements State.
func (f FileState) String() string { return "the signer's state file " + string(f) }

// MemoryState keeps the note in memory: a restart forgets it. For tests,
// and as the fake of State.
type MemoryState struct {
	mu   sync.Mutex
	note []byte
}

var _ State = (*MemoryState)(nil)

// Load implements State.
func (m *MemoryState) Load(context.Context) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.note), nil
}

// Store implements State.
func (m *MemoryState) Store(_ context.Context, note []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.note = slices.Clone(note)
	return nil
}

// String implements State.
func (m *MemoryState) String() string { return "the signer's memory" }
