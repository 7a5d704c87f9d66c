package ledger_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/ledger"
)

// newExport writes an export of n records with checkpoints signed at the
// given sizes, and returns its directory and key.
func newExport(t *testing.T, n int, cpSizes ...uint64) (string, testKey) {
	t.Helper()
	k := newTestKey(t, testOrigin)
	l := newStoredLog(t, n, cpSizes...)
	var signed [][]byte
	for _, c := range l.cps {
		signed = append(signed, mustSign(t, k.signer, c))
	}
	dir := filepath.Join(t.TempDir(), "export")
	if err := ledger.ExportDir(dir, k.vkey, seq(l.recs), signed); err != nil {
		t.Fatal(err)
	}
	return dir, k
}

func entriesFile(dir string) string { return filepath.Join(dir, ledger.ExportEntriesFile) }

func readLines(t *testing.T, dir string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(entriesFile(dir))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.SplitAfter(b, []byte("\n"))
}

func writeLines(t *testing.T, dir string, lines [][]byte) {
	t.Helper()
	if err := os.WriteFile(entriesFile(dir), bytes.Join(lines, nil), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestAuditOK(t *testing.T) {
	dir, _ := newExport(t, 600, 1, 256, 600)
	rep, err := ledger.Audit(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Size != 600 || rep.Checkpoints != 3 || rep.Latest == nil || rep.Latest.Size != 600 || rep.Latest.Root != rep.Root || rep.Origin != testOrigin {
		t.Errorf("report %+v", rep)
	}
}

func TestAuditEmptyLog(t *testing.T) {
	dir, _ := newExport(t, 0, 0)
	rep, err := ledger.Audit(dir)
	if err != nil || rep.Size != 0 || rep.Root != ledger.EmptyRoot() {
		t.Fatalf("%+v %v", rep, err)
	}
}

// TestAuditEveryByte changes each byte of one exported entry in turn; every
// change must be caught and blamed on that entry.
func TestAuditEveryByte(t *testing.T) {
	if testing.Short() {
		t.Skip("audits one export per byte of an entry")
	}
	const bad = 30
	dir, _ := newExport(t, 34, 16, 34)
	lines := readLines(t, dir)
	orig := lines[bad]
	for off := 0; off < len(orig)-1; off++ { // the newline is tested as a truncation below
		line := bytes.Clone(orig)
		line[off] ^= 0x01
		lines[bad] = line
		writeLines(t, dir, lines)
		_, err := ledger.Audit(dir)
		var ve *ledger.VerifyError
		if !errors.As(err, &ve) || ve.Index != bad {
			t.Fatalf("byte %d (%q→%q) of entry %d: error %v, want a *VerifyError at %d", off, orig[off], line[off], bad, err, bad)
		}
	}
}

// TestAuditTamper is the tamper suite over an export's files.
func TestAuditTamper(t *testing.T) {
	const n = 600
	tests := []struct {
		name   string
		tamper func(t *testing.T, dir string, k testKey)
		index  uint64 // the first bad index when a *VerifyError is wanted
		fork   bool
		other  bool // an error of another kind: bad file or signature
	}{
		{"DeletedTail", func(t *testing.T, dir string, _ testKey) {
			writeLines(t, dir, readLines(t, dir)[:550])
		}, 550, false, false},
		{"TruncatedLastLine", func(t *testing.T, dir string, _ testKey) {
			b, _ := os.ReadFile(entriesFile(dir))
			_ = os.WriteFile(entriesFile(dir), b[:len(b)-5], 0o644)
		}, n - 1, false, false},
		{"DeletedLine", func(t *testing.T, dir string, _ testKey) {
			lines := readLines(t, dir)
			writeLines(t, dir, append(lines[:123:123], lines[124:]...))
		}, 123, false, false},
		{"SwappedLines", func(t *testing.T, dir string, _ testKey) {
			lines := readLines(t, dir)
			lines[40], lines[41] = lines[41], lines[40]
			writeLines(t, dir, lines)
		}, 40, false, false},
		{"RecordAndLeafHashRewritten", func(t *testing.T, dir string, _ testKey) {
			// Someone who re-derives the leaf hash too is caught by the
			// checkpoint at 600: the bad entry lies after 256.
			l := newStoredLog(t, n)
			l.recs[400].Payload = []byte(`{"quantity":1000000}`)
			var signed [][]byte
			for _, name := range []string{"00000001.txt", "00000002.txt"} {
				b, _ := os.ReadFile(filepath.Join(dir, ledger.ExportCheckpointsDir, name))
				signed = append(signed, b)
			}
			key, _ := os.ReadFile(filepath.Join(dir, ledger.ExportKeyFile))
			_ = os.RemoveAll(dir)
			if err := ledger.ExportDir(dir, string(key), seq(l.recs), signed); err != nil {
				t.Fatal(err)
			}
		}, 256, false, false},
		{"Fork", func(t *testing.T, dir string, k testKey) {
			c := ledger.Checkpoint{Origin: testOrigin, Size: 256, Root: ledger.HashLeafData([]byte("other history"))}
			_ = os.WriteFile(filepath.Join(dir, ledger.ExportCheckpointsDir, "00000003.txt"), mustSign(t, k.signer, c), 0o644)
		}, 0, true, false},
		{"CheckpointBeyondLog", func(t *testing.T, dir string, k testKey) {
			// A published checkpoint the export cannot reach: entries
			// from 600 on were withheld.
			c := ledger.Checkpoint{Origin: testOrigin, Size: 700, Root: ledger.HashLeafData([]byte("x"))}
			_ = os.WriteFile(filepath.Join(dir, ledger.ExportCheckpointsDir, "00000003.txt"), mustSign(t, k.signer, c), 0o644)
		}, 600, false, false},
		{"ForgedCheckpoint", func(t *testing.T, dir string, _ testKey) {
			forger := newTestKey(t, testOrigin)
			c := ledger.Checkpoint{Origin: testOrigin, Size: 600, Root: ledger.EmptyRoot()}
			_ = os.WriteFile(filepath.Join(dir, ledger.ExportCheckpointsDir, "00000001.txt"), mustSign(t, forger.signer, c), 0o644)
		}, 0, false, true},
		{"KeyReplaced", func(t *testing.T, dir string, _ testKey) {
			other := newTestKey(t, testOrigin)
			_ = os.WriteFile(filepath.Join(dir, ledger.ExportKeyFile), []byte(other.vkey+"\n"), 0o644)
		}, 0, false, true},
		{"KeyMissing", func(t *testing.T, dir string, _ testKey) {
			_ = os.Remove(filepath.Join(dir, ledger.ExportKeyFile))
		}, 0, false, true},
		{"EntriesMissing", func(t *testing.T, dir string, _ testKey) {
			_ = os.Remove(entriesFile(dir))
		}, 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, k := newExport(t, n, 256, 600)
			tt.tamper(t, dir, k)
			_, err := ledger.Audit(dir)
			var ve *ledger.VerifyError
			var fe *ledger.ForkError
			switch {
			case tt.fork:
				if !errors.As(err, &fe) || fe.Size != 256 {
					t.Fatalf("error %v, want a fork at 256", err)
				}
			case tt.other:
				if err == nil || errors.As(err, &ve) || errors.As(err, &fe) {
					t.Fatalf("error %v, want a file or signature error", err)
				}
			default:
				if !errors.As(err, &ve) || ve.Index != tt.index {
					t.Fatalf("error %v, want a *VerifyError at %d", err, tt.index)
				}
			}
		})
	}
}

func TestExportRefuses(t *testing.T) {
	k := newTestKey(t, testOrigin)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.CreateExport(dir, k.vkey); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("export into a non-empty directory: %v", err)
	}
	e, err := ledger.CreateExport(filepath.Join(dir, "new"), k.vkey)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	r := record(1)
	if err := e.AddRecord(&r); err == nil {
		t.Error("a record out of order was exported")
	}
	other := newTestKey(t, testOrigin)
	if err := e.AddCheckpoint(mustSign(t, other.signer, ledger.Checkpoint{Origin: testOrigin, Size: 0, Root: ledger.EmptyRoot()})); err == nil {
		t.Error("a checkpoint under another key was exported")
	}
}
