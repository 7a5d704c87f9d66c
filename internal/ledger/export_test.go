package ledger_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

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
	if rep.Size != 600 || rep.Checkpoints != 3 || rep.Signed != 600 || rep.Latest == nil || rep.Latest.Size != 600 || rep.Latest.Root != rep.Root || rep.Origin != testOrigin {
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
			var fe *ledger.SplitViewError
			switch {
			case tt.fork:
				if !errors.As(err, &fe) || !strings.Contains(fe.Reason, "size 256") || len(fe.Notes[0]) == 0 || len(fe.Notes[1]) == 0 {
					t.Fatalf("error %v, want a split view at 256 with both notes", err)
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

// TestAuditSplitView: checkpoints from outside the export (a witness's, one
// a party kept) that the export's history does not lead to are a split view,
// reported with both signed notes.
func TestAuditSplitView(t *testing.T) {
	const n = 600
	dir, k := newExport(t, n, 256, 600)
	other := newStoredLog(t, n)
	other.recs[100].Payload = []byte(`{"quantity":1}`)
	forked := newStoredLogFrom(t, other.recs, 300)
	forkedNote := mustSign(t, k.signer, forked.cps[0])

	// The other history's checkpoint at 300 lies between the export's 256
	// and 600, which the entries match: the log signed both.
	_, err := ledger.AuditWith(dir, ledger.AuditOptions{Checkpoints: []ledger.SourcedNote{{Source: "witness.txt", Note: forkedNote}}})
	var sv *ledger.SplitViewError
	if !errors.As(err, &sv) || sv.Sources[0] != "witness.txt" || !bytes.Equal(sv.Notes[0], forkedNote) || !strings.Contains(sv.Sources[1], "00000002.txt") {
		t.Fatalf("error %v, want a split view between witness.txt and the export's checkpoint of 600", err)
	}
	if ev := sv.Evidence(); !strings.Contains(ev, string(forkedNote)) || !strings.Contains(ev, "witness.txt") {
		t.Fatalf("evidence lacks the notes:\n%s", ev)
	}
	// The same size, another root: a split view too.
	same := newStoredLogFrom(t, other.recs, 256)
	_, err = ledger.AuditWith(dir, ledger.AuditOptions{Checkpoints: []ledger.SourcedNote{{Source: "kept.txt", Note: mustSign(t, k.signer, same.cps[0])}}})
	if !errors.As(err, &sv) || sv.Sources[1] != "kept.txt" {
		t.Fatalf("error %v, want a split view at 256", err)
	}
	// A checkpoint outside that agrees is simply one more verified.
	good := newStoredLog(t, n, 400)
	rep, err := ledger.AuditWith(dir, ledger.AuditOptions{Checkpoints: []ledger.SourcedNote{{Source: "ok.txt", Note: mustSign(t, k.signer, good.cps[0])}}})
	if err != nil || rep.Checkpoints != 3 {
		t.Fatalf("an agreeing checkpoint: %+v %v", rep, err)
	}
	// One signed by another key is refused, naming its source.
	forger := newTestKey(t, testOrigin)
	if _, err := ledger.AuditWith(dir, ledger.AuditOptions{Checkpoints: []ledger.SourcedNote{{Source: "forged.txt", Note: mustSign(t, forger.signer, good.cps[0])}}}); err == nil || !strings.Contains(err.Error(), "forged.txt") {
		t.Fatalf("a forged outside checkpoint: %v", err)
	}
}

// TestAuditWitnessQuorum: the latest checkpoint must carry the required
// number of valid cosignatures from the witnesses the auditor trusts.
func TestAuditWitnessQuorum(t *testing.T) {
	const n = 300
	k := newTestKey(t, testOrigin)
	w1, w2 := newTestWitness(t, "w1.test"), newTestWitness(t, "w2.test")
	l := newStoredLog(t, n, 100, 300)
	at := time.Unix(1767225600, 0)
	first := w1.cosign(t, mustSign(t, k.signer, l.cps[0]), at)
	latest := mustSign(t, k.signer, l.cps[1])
	export := func(notes ...[]byte) string {
		dir := filepath.Join(t.TempDir(), "export")
		if err := ledger.ExportDir(dir, k.vkey, seq(l.recs), notes); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	ws := []note.Verifier{w1.verifier, w2.verifier}

	rep, err := ledger.AuditWith(export(first, w2.cosign(t, w1.cosign(t, latest, at), at)), ledger.AuditOptions{Witnesses: ws, Quorum: 2})
	if err != nil || rep.Witnessed != 300 || len(rep.Cosignatures) != 2 {
		t.Fatalf("two cosignatures, two required: %+v %v", rep, err)
	}
	_, err = ledger.AuditWith(export(first, w1.cosign(t, latest, at)), ledger.AuditOptions{Witnesses: ws, Quorum: 2})
	var we *ledger.WitnessError
	if !errors.As(err, &we) || we.Have != 1 || we.Need != 2 || we.Size != 300 {
		t.Fatalf("one of two: %v", err)
	}
	_, err = ledger.AuditWith(export(first, latest), ledger.AuditOptions{Witnesses: ws, Quorum: 1})
	if !errors.As(err, &we) || we.Witnessed != 100 || !strings.Contains(err.Error(), "entries up to 99 are witnessed") {
		t.Fatalf("the latest not cosigned: %v", err)
	}
	// A witness's cosignature the auditor does not trust does not count.
	if _, err := ledger.AuditWith(export(first, w2.cosign(t, latest, at)), ledger.AuditOptions{Witnesses: ws[:1], Quorum: 1}); !errors.As(err, &we) {
		t.Fatalf("an untrusted witness counted: %v", err)
	}
	if _, err := ledger.AuditWith(export(first, latest), ledger.AuditOptions{Witnesses: ws[:1], Quorum: 2}); err == nil {
		t.Fatal("a quorum larger than the witnesses given")
	}
	// Without a quorum, cosignatures are reported but not required.
	if rep, err := ledger.AuditWith(export(first, latest), ledger.AuditOptions{}); err != nil || rep.Witnessed != 0 {
		t.Fatalf("no quorum: %+v %v", rep, err)
	}
}

func TestAuditPinnedKey(t *testing.T) {
	dir, k := newExport(t, 10, 10)
	if _, err := ledger.AuditWith(dir, ledger.AuditOptions{LogKey: k.vkey + "\n"}); err != nil {
		t.Fatal(err)
	}
	other := newTestKey(t, testOrigin)
	if _, err := ledger.AuditWith(dir, ledger.AuditOptions{LogKey: other.vkey}); err == nil || !strings.Contains(err.Error(), "not the log key given") {
		t.Fatalf("another pinned key: %v", err)
	}
}
