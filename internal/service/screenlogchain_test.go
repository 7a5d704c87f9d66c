package service_test

import (
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/ledger"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// TestScreeningLogTamper: the screening log is a hash chain whose head the
// leader seals into the ledger at each checkpoint; `ledger verify --state`
// names the first entry an insider edited, deleted, reordered or inserted,
// and a chain rewritten consistently (every hash recomputed) by the seal it
// breaks.
func TestScreeningLogTamper(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		w := newWorld(t, b)
		vendor := w.actor("nvidia")
		_, _, err := w.svc.Screen(w.ctx, vendor, []service.ScreenQuery{{Name: listedName}, {Name: "Nobody Such Trading"}, {Name: similarName}}, 0, 0)
		must(t, err)
		must(t, w.svc.FlushScreeningLog(w.ctx))
		must(t, w.svc.SealScreeningLog(w.ctx)) // as the leader does before it signs
		w.sign(t)
		report := func() service.ScreeningLogReport {
			t.Helper()
			note, err := ledger.ReadNoteFile(w.state)
			must(t, err)
			_, rep, err := w.svc.VerifyState(w.ctx, service.VerifyOptions{Checkpoints: []ledger.SourcedNote{{Source: w.state, Note: note}}})
			must(t, err)
			return rep.ScreeningLog
		}
		ok := report()
		if len(ok.Diffs) != 0 || ok.Seals == 0 || ok.Entries < 5 {
			t.Fatalf("the untouched log: %+v", ok)
		}
		n := ok.Entries
		raw := w.raw
		caught := func(t *testing.T, want string) {
			t.Helper()
			rep := report()
			if len(rep.Diffs) == 0 || !strings.Contains(rep.Diffs[0], want) {
				t.Fatalf("first difference %q, want one containing %q (all: %q)", rep.Diffs, want, rep.Diffs)
			}
		}
		row := func(seq int64) (id string, doc []byte) {
			return string(raw.Bytes(t, "SELECT CAST(id AS TEXT) FROM screening_log WHERE seq = ?", seq)), raw.Bytes(t, "SELECT doc FROM screening_log WHERE seq = ?", seq)
		}
		t.Run("Edit", func(t *testing.T) {
			_, doc := row(3)
			raw.Exec(t, "UPDATE screening_log SET doc = ? WHERE seq = 3", []byte(strings.Replace(string(doc), `"hits":`, `"hits":1`, 1)))
			caught(t, "entry seq 3")
			raw.Exec(t, "UPDATE screening_log SET doc = ? WHERE seq = 3", doc)
		})
		t.Run("Delete", func(t *testing.T) {
			id, doc := row(4)
			at := raw.Bytes(t, "SELECT CAST(at AS TEXT) FROM screening_log WHERE seq = 4")
			hash := raw.Bytes(t, "SELECT hash FROM screening_log WHERE seq = 4")
			kind := raw.Bytes(t, "SELECT kind FROM screening_log WHERE seq = 4")
			raw.Exec(t, "DELETE FROM screening_log WHERE seq = 4")
			caught(t, "entries seq 4 to 4 are missing")
			raw.Exec(t, "INSERT INTO screening_log (id, at, kind, doc, seq, hash) VALUES (?, CAST(? AS "+timeType(b)+"), ?, ?, 4, ?)", id, string(at), string(kind), doc, hash)
		})
		t.Run("DeleteTail", func(t *testing.T) {
			id, doc := row(n)
			at := raw.Bytes(t, "SELECT CAST(at AS TEXT) FROM screening_log WHERE seq = ?", n)
			hash := raw.Bytes(t, "SELECT hash FROM screening_log WHERE seq = ?", n)
			kind := raw.Bytes(t, "SELECT kind FROM screening_log WHERE seq = ?", n)
			raw.Exec(t, "DELETE FROM screening_log WHERE seq = ?", n)
			caught(t, "entries after it were deleted")
			raw.Exec(t, "INSERT INTO screening_log (id, at, kind, doc, seq, hash) VALUES (?, CAST(? AS "+timeType(b)+"), ?, ?, ?, ?)", id, string(at), string(kind), doc, n, hash)
		})
		t.Run("Reorder", func(t *testing.T) {
			raw.Exec(t, "UPDATE screening_log SET seq = -1 WHERE seq = 2")
			raw.Exec(t, "UPDATE screening_log SET seq = 2 WHERE seq = 3")
			raw.Exec(t, "UPDATE screening_log SET seq = 3 WHERE seq = -1")
			caught(t, "entry seq 2")
			raw.Exec(t, "UPDATE screening_log SET seq = -1 WHERE seq = 3")
			raw.Exec(t, "UPDATE screening_log SET seq = 3 WHERE seq = 2")
			raw.Exec(t, "UPDATE screening_log SET seq = 2 WHERE seq = -1")
		})
		t.Run("RewrittenChain", func(t *testing.T) {
			// Edit entry 2 and recompute every hash after it, head
			// included: the chain is consistent; the seal is not.
			_, doc := row(2)
			edited := []byte(strings.Replace(string(doc), `"hits":`, `"hits":1`, 1))
			raw.Exec(t, "UPDATE screening_log SET doc = ? WHERE seq = 2", edited)
			prev := raw.Bytes(t, "SELECT hash FROM screening_log WHERE seq = 1")
			for seq := int64(2); seq <= n; seq++ {
				_, d := row(seq)
				kind := raw.Bytes(t, "SELECT kind FROM screening_log WHERE seq = ?", seq)
				prev = service.ChainLink(prev, &store.ScreeningLogRow{Seq: seq, Kind: string(kind), Doc: d})
				raw.Exec(t, "UPDATE screening_log SET hash = ? WHERE seq = ?", prev, seq)
			}
			raw.Exec(t, "UPDATE screening_log_head SET hash = ?", prev)
			caught(t, "an entry from seq 1 to")
		})
	})
}

// timeType is the SQL type of an instant column on the backend.
func timeType(b storetest.Backend) string {
	if b.Name == "postgres" {
		return "TIMESTAMPTZ"
	}
	return "TEXT"
}
