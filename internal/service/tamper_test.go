package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/ledger"
	"github.com/chipgate/chipgate/internal/ledgerlog"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// world is a program with a signer that keeps its last checkpoint in a
// file outside the database: a US customer with an order and a shipment,
// bytedance with a 90,000-unit license, a permit and an order, a signed
// checkpoint over all of it, and a snapshot of every table taken halfway.
type world struct {
	*program
	raw    *storetest.Raw
	signer *service.LedgerSigner
	state  string // the signer's state file
	lic    domain.License
}

func newWorld(t *testing.T, b storetest.Backend) *world {
	t.Helper()
	p, raw := newTamperProgram(t, b)
	w := &world{program: p, raw: raw, state: filepath.Join(t.TempDir(), "ledger.key.checkpoint")}
	k, err := ledgerlog.NewKeySigner(chipgatetest.LedgerKey(t, chipgatetest.LedgerOrigin))
	must(t, err)
	w.signer, err = service.NewLedgerSignerWith(k, service.LedgerOptions{State: ledgerlog.FileState(w.state)})
	must(t, err)

	p.approve("us-cloud-a", "US Cloud A, Inc.", "US", 0)
	us := p.order("us-cloud-a", 100_000)
	p.approve("bytedance", "Beijing ByteDance Technology Co., Ltd.", "CN", 90_000)
	p.permit("bytedance", 90_000)
	w.sign(t)
	snapshotAll(t, raw) // the older copy a rollback restores
	vendor := p.actor("nvidia")
	lots, err := p.svc.Lots(p.ctx, vendor, "h200")
	must(t, err)
	_, err = p.svc.CreateShipment(p.ctx, vendor, service.ShipmentRequest{Order: us.ID.String(), Lot: lots[0].Number,
		Serials: []string{"SN-W-1", "SN-W-2", "SN-W-3"}, UnitValue: domain.Money{Minor: 3_000_000, Currency: "USD"}, Carriers: []string{"carrier"}, Lab: "us-testlab"})
	must(t, err)
	if o := p.order("bytedance", 1_000); o.Status != domain.OrderAccepted {
		t.Fatalf("bytedance's order: %s %+v", o.Status, o.Decision.Blocking())
	}
	w.sign(t)
	w.lic = w.license(t)
	return w
}

func (w *world) sign(t *testing.T) {
	t.Helper()
	if _, err := w.svc.SignCheckpoint(w.ctx, w.signer); err != nil {
		t.Fatal(err)
	}
}

func (w *world) license(t *testing.T) domain.License {
	t.Helper()
	var lic domain.License
	must(t, w.st.View(w.ctx, func(tx store.Tx) error {
		ls, err := store.List[domain.License](w.ctx, tx, store.KindLicense, store.DocFilter{})
		for _, l := range ls {
			if l.Buyer == "bytedance" {
				lic = l
			}
		}
		return err
	}))
	return lic
}

// The three places a tamper can be caught.

// commandPath places bytedance's next order: caught when it fails with
// EStateTampered.
func (w *world) commandPath(t *testing.T) (bool, string) {
	_, err := w.svc.PlaceOrder(w.ctx, w.actor("bytedance"), service.OrderRequest{Product: "h200", Quantity: 10, Period: "2026-03-01", EndUse: "commercial_ai"})
	if domain.ErrorCode(err) == domain.EStateTampered {
		var st *service.StateTamper
		errors.As(err, &st)
		return true, st.Error()
	}
	if err != nil {
		t.Fatalf("the order failed otherwise: %v", err)
	}
	return false, "order decided"
}

// verifyState runs what `ledger verify --state --checkpoint <the signer's
// state file>` runs: caught on a verification error or a row named.
func (w *world) verifyState(t *testing.T) (bool, string) {
	note, err := ledger.ReadNoteFile(w.state)
	must(t, err)
	_, rep, err := w.svc.VerifyState(w.ctx, service.VerifyOptions{Checkpoints: []ledger.SourcedNote{{Source: w.state, Note: note}}})
	switch {
	case err != nil:
		return true, err.Error()
	case len(rep.Diffs) > 0:
		return true, fmt.Sprintf("%d rows, first %s", len(rep.Diffs), rep.Diffs[0])
	}
	return false, "OK"
}

// signerRefuses asks the signer for its next checkpoint: caught when it
// refuses a tree that does not extend the one in its state file.
func (w *world) signerRefuses(t *testing.T) (bool, string) {
	_, err := w.svc.SignCheckpoint(w.ctx, w.signer)
	var re *ledgerlog.RefusedError
	if errors.As(err, &re) {
		return true, "refused: " + re.Error()
	}
	if err != nil {
		return true, err.Error()
	}
	return false, "signed"
}

// forgeLicense rewrites bytedance's license as an insider who also
// rewrites the record that last wrote it, so that the row, its stamp and
// the record agree and the record's leaf hash is recomputed, then rebuilds
// the whole tree from the records; it cannot sign.
func (w *world) forgeLicense(t *testing.T) {
	t.Helper()
	idx := w.raw.Bytes(t, "SELECT CAST(ledger_idx AS TEXT) FROM licenses WHERE id = ?", w.lic.ID.String())
	var i int64
	fmt.Sscan(string(idx), &i)
	var rec domain.AuditRecord
	must(t, w.st.View(w.ctx, func(tx store.Tx) error {
		recs, err := tx.AuditRecords(w.ctx, i, i+1)
		rec = recs[0]
		return err
	}))
	rows, subject, err := ledger.SplitState(rec.Payload)
	must(t, err)
	var doc []byte
	for j, r := range rows {
		if r.Table == "licenses" {
			var m map[string]any
			must(t, json.Unmarshal(r.Doc, &m))
			m["remaining"] = 1_000_000
			doc, _ = json.Marshal(m)
			rows[j].Doc = doc
		} else if r.HasDoc && string(r.Doc) == string(subject) {
			rows[j].Doc = subject
		}
	}
	if doc == nil {
		t.Fatalf("record %d does not carry the license", i)
	}
	if rec.Payload, err = ledger.WithState(subject, rows); err != nil {
		t.Fatal(err)
	}
	leaf, err := ledger.LeafHash(&rec)
	must(t, err)
	w.raw.Exec(t, "UPDATE audit_log SET payload = ? WHERE idx = ?", rec.Payload, i)
	w.raw.Exec(t, "UPDATE licenses SET doc = ?, ledger_hash = ? WHERE id = ?", doc, leaf[:], w.lic.ID.String())
	w.rebuildTree(t)
}

// rebuildTree recomputes every tile from the stored records.
func (w *world) rebuildTree(t *testing.T) {
	t.Helper()
	w.raw.Exec(t, "DELETE FROM ledger_tiles")
	var hashes []ledger.Hash
	must(t, w.st.View(w.ctx, func(tx store.Tx) error {
		n, err := tx.AuditSize(w.ctx)
		if err != nil {
			return err
		}
		recs, err := tx.AuditRecords(w.ctx, 0, n)
		for i := range recs {
			h, err := ledger.LeafHash(&recs[i])
			if err != nil {
				return err
			}
			hashes = append(hashes, h)
		}
		return err
	}))
	must(t, ledger.AppendLeaves(w.ctx, service.StoreTiles(w.st), 0, hashes))
}

// snapshotAll copies every table (snap_<table>), for a rollback.
func snapshotAll(t *testing.T, raw *storetest.Raw) {
	t.Helper()
	for _, table := range append(tables(t, raw), "ledger_head") {
		snapshot(t, raw, table)
	}
}

// rollBack restores every table to its snapshot: the whole database as an
// older copy.
func rollBack(t *testing.T, raw *storetest.Raw, postgres bool) {
	t.Helper()
	ctx := context.Background()
	conn, err := raw.DB.Conn(ctx)
	must(t, err)
	defer conn.Close()
	if postgres {
		_, err := conn.ExecContext(ctx, "SET session_replication_role = replica") // no foreign keys, no triggers
		must(t, err)
		defer conn.ExecContext(ctx, "SET session_replication_role = DEFAULT") //nolint:errcheck
	}
	for _, table := range append(tables(t, raw), "ledger_head") { // the head after the log (SQLite's trigger moves it)
		if _, err := conn.ExecContext(ctx, "DELETE FROM "+table); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, "INSERT INTO "+table+" SELECT * FROM snap_"+table); err != nil {
			t.Fatal(err)
		}
	}
}

func tables(t *testing.T, raw *storetest.Raw) []string {
	t.Helper()
	q := "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
	if raw.Q("?") != "?" {
		q = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
	}
	rows, err := raw.DB.Query(q)
	must(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		must(t, rows.Scan(&n))
		if !strings.HasPrefix(n, "snap_") && n != "schema_migrations" && n != "ledger_head" {
			out = append(out, n)
		}
	}
	return out
}

// TestTamperSuite plays an insider with write access to the database but
// not the signing key, on each store: every tamper must be caught by the
// command path, by `ledger verify --state` against the signer's kept
// checkpoint, or by the signer refusing to sign. It prints the table of
// tampers tried and where each was caught (go test -v -run TestTamperSuite).
func TestTamperSuite(t *testing.T) {
	t.Parallel()
	tampers := []struct {
		name string
		do   func(t *testing.T, w *world, postgres bool)
	}{
		{"nothing (the control: nothing may be caught)", nil},
		{"edit a state row (license remaining, US counter)", func(t *testing.T, w *world, _ bool) {
			setJSON(t, w.raw, "licenses", w.lic.ID, "remaining", 1_000_000)
			w.raw.Exec(t, "UPDATE order_volumes SET units = 10000000 WHERE product = 'h200' AND region = 'US'")
		}},
		{"move a license to another buyer (its party column)", func(t *testing.T, w *world, _ bool) {
			w.raw.Exec(t, "UPDATE licenses SET party_id = (SELECT id FROM parties WHERE slug = 'alibaba') WHERE id = ?", w.lic.ID.String())
		}},
		{"delete a record", func(t *testing.T, w *world, _ bool) {
			w.raw.Exec(t, "DELETE FROM audit_log WHERE idx = 40")
		}},
		{"truncate the log", func(t *testing.T, w *world, _ bool) {
			n := chipgatetest.AuditSize(t, w.st)
			w.raw.Exec(t, "DELETE FROM audit_log WHERE idx >= ?", n-3)
			w.raw.Exec(t, "UPDATE ledger_head SET size = ?", n-3)
		}},
		{"reorder two records", func(t *testing.T, w *world, _ bool) {
			w.raw.Exec(t, "UPDATE audit_log SET idx = -1 WHERE idx = 30")
			w.raw.Exec(t, "UPDATE audit_log SET idx = 30 WHERE idx = 31")
			w.raw.Exec(t, "UPDATE audit_log SET idx = 31 WHERE idx = -1")
		}},
		{"rewrite a record with recomputed hashes (row, stamp, tree)", func(t *testing.T, w *world, _ bool) {
			w.forgeLicense(t)
		}},
		{"delete the checkpoints and rebuild", func(t *testing.T, w *world, _ bool) {
			w.forgeLicense(t)
			w.raw.Exec(t, "DELETE FROM ledger_checkpoints")
		}},
		{"roll back the whole database to an older copy", func(t *testing.T, w *world, postgres bool) {
			rollBack(t, w.raw, postgres)
		}},
	}
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		var report strings.Builder
		fmt.Fprintf(&report, "\n%-62s | %-12s | %-15s | %-15s | %s\n", "tamper ("+b.Name+")", "command path", "verify --state", "signer's kept", "detected")
		caught := 0
		for i, tc := range tampers {
			t.Run(fmt.Sprint(i+1), func(t *testing.T) {
				w := newWorld(t, b)
				if tc.do != nil {
					tc.do(t, w, b.Name == "postgres")
				}
				cmd, cmdWhy := w.commandPath(t)
				ver, verWhy := w.verifyState(t)
				sig, sigWhy := w.signerRefuses(t)
				yes := func(b bool) string {
					if b {
						return "CAUGHT"
					}
					return "-"
				}
				detected := cmd || ver || sig
				if tc.do == nil {
					if detected {
						t.Errorf("an untouched program was caught: %s / %s / %s", cmdWhy, verWhy, sigWhy)
					}
					fmt.Fprintf(&report, "%-62s | %-12s | %-15s | %-15s | %v\n", tc.name, yes(cmd), yes(ver), yes(sig), detected)
					return
				}
				if detected {
					caught++
				}
				fmt.Fprintf(&report, "%-62s | %-12s | %-15s | %-15s | %v\n", tc.name, yes(cmd), yes(ver), yes(sig), detected)
				t.Logf("command path: %s\nverify --state: %s\nsigner: %s", cmdWhy, verWhy, sigWhy)
				if !detected {
					t.Errorf("%s: not detected", tc.name)
				}
			})
		}
		fmt.Fprintf(&report, "tampers tried %d, detected %d\n", len(tampers)-1, caught)
		t.Log(report.String())
	})
}
