package ledger

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// A note file holds one signed checkpoint note: the log's signer keeps its
// last signed checkpoint in one, outside the database, and a witness its
// latest cosigned checkpoint. Both are what the holder will later refuse to
// contradict, so they are written atomically and durably, and refused when
// others could have rewritten them.

// WriteNoteFile replaces the file at path with note, atomically and durably:
// a temporary file in the same directory is written with mode 0600, synced,
// renamed over path, and the directory synced, so that after a crash the
// file holds the old note or the new one, never a part.
func WriteNoteFile(path string, note []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("ledger: write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("ledger: write %s: %w", path, err)
	}
	if _, err := f.Write(note); err != nil {
		return fmt.Errorf("ledger: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("ledger: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("ledger: write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("ledger: write %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("ledger: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("ledger: sync %s: %w", dir, err)
	}
	return nil
}

// ReadNoteFile returns the note in the file at path, or nil and no error
// when there is no such file. It refuses a file that group or others may
// write, since whoever can rewrite it can make its holder accept a history
// it never saw.
func ReadNoteFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return nil, fmt.Errorf("ledger: %s has mode %04o: group or others may rewrite it (chmod 600 %s)", path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxCheckpointNote+1))
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	if len(b) > maxCheckpointNote {
		return nil, fmt.Errorf("ledger: %s holds more than a checkpoint note (%d bytes)", path, maxCheckpointNote)
	}
	return b, nil
}
