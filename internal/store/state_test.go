package store_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// TestStateStamps checks the methods that bind state rows to the ledger: a
// row reads back with no record until StampState names one (index and leaf
// hash), on documents, counters and serials; PutDocRow's update returns the
// party and creation time the row kept; LockVolumeRows creates the regions
// asked for at zero and reports their stamps; AddVolumeUnits returns the
// units after the change; StampState on a missing row is ENOTFOUND; the
// Scan methods list every row with its stamp.
func TestStateStamps(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		st, _ := b.Open(t)
		p := seedParty(t, st, "bytedance")
		d := newDoc(p.ID, "r", "open", t0)
		hash := bytes.Repeat([]byte{7}, 32)
		mustTx(t, st, func(tx store.Tx) error {
			if err := tx.PutDoc(ctx, store.KindLicense, d, true); err != nil {
				return err
			}
			got, err := tx.GetDoc(ctx, store.KindLicense, d.ID, true)
			if err != nil || got.LedgerHash != nil || got.LedgerIndex != 0 {
				t.Fatalf("an unstamped row: %+v %v", got, err)
			}
			// An update with another party and creation time keeps the stored ones.
			upd := store.Doc{ID: d.ID, PartyID: domain.ID{1}, Ref: "r2", Status: "closed", CreatedAt: t0.Add(time.Hour), UpdatedAt: t0.Add(2 * time.Hour), Body: []byte(`{"n":1}`)}
			row, err := tx.PutDocRow(ctx, store.KindLicense, upd, false)
			if err != nil {
				return err
			}
			if row.PartyID != p.ID || !row.CreatedAt.Equal(t0) || row.Status != "closed" || string(row.Body) != `{"n":1}` {
				t.Fatalf("PutDocRow = %+v", row)
			}
			if err := tx.StampState(ctx, 41, hash, []store.StateRef{{Table: "licenses", Key: d.ID.String()}}); err != nil {
				return err
			}
			if got, err = tx.GetDoc(ctx, store.KindLicense, d.ID, false); err != nil || got.LedgerIndex != 41 || !bytes.Equal(got.LedgerHash, hash) {
				t.Fatalf("a stamped row: %+v %v", got, err)
			}
			vs, err := tx.LockVolumeRows(ctx, store.Ordered, "h200", []string{"CN", "US"})
			if err != nil || len(vs) != 2 || vs[0].Units != 0 || vs[0].LedgerHash != nil {
				t.Fatalf("LockVolumeRows = %+v %v", vs, err)
			}
			if n, err := tx.AddVolumeUnits(ctx, store.Ordered, "h200", "CN", 5); err != nil || n != 5 {
				t.Fatalf("AddVolumeUnits = %d %v", n, err)
			}
			if n, err := tx.AddVolumeUnits(ctx, store.Ordered, "h200", "CN", 7); err != nil || n != 12 {
				t.Fatalf("AddVolumeUnits = %d %v", n, err)
			}
			if err := tx.ClaimSerials(ctx, d.ID, []string{"SN-1"}); err != nil {
				return err
			}
			if err := tx.StampState(ctx, 42, hash, []store.StateRef{{Table: "order_volumes", Key: "h200/CN"}, {Table: "serials", Key: "SN-1"}}); err != nil {
				return err
			}
			wantCodeStore(t, tx.StampState(ctx, 43, hash, []store.StateRef{{Table: "serials", Key: "SN-2"}}), domain.ENOTFOUND)
			return nil
		})
		var docs []store.Doc
		var vols []store.VolumeRow
		var sers []store.SerialRow
		mustTx(t, st, func(tx store.Tx) error {
			if err := tx.ScanDocs(ctx, store.KindLicense, func(d store.Doc) error { docs = append(docs, d); return nil }); err != nil {
				return err
			}
			if err := tx.ScanVolumes(ctx, store.Ordered, func(v store.VolumeRow) error { vols = append(vols, v); return nil }); err != nil {
				return err
			}
			return tx.ScanSerials(ctx, func(s store.SerialRow) error { sers = append(sers, s); return nil })
		})
		if len(docs) != 1 || docs[0].LedgerIndex != 41 || docs[0].Status != "closed" {
			t.Fatalf("ScanDocs: %+v", docs)
		}
		stamped := 0
		for _, v := range vols {
			if v.LedgerHash != nil {
				stamped++
				if v.Key() != "h200/CN" || v.Units != 12 || v.LedgerIndex != 42 {
					t.Fatalf("ScanVolumes: %+v", v)
				}
			}
		}
		if len(vols) != 2 || stamped != 1 {
			t.Fatalf("ScanVolumes: %+v", vols)
		}
		if len(sers) != 1 || sers[0].Serial != "SN-1" || sers[0].Shipment != d.ID || sers[0].LedgerIndex != 42 {
			t.Fatalf("ScanSerials: %+v", sers)
		}
	})
}

func wantCodeStore(t *testing.T, err error, code string) {
	t.Helper()
	if domain.ErrorCode(err) != code {
		t.Fatalf("error %v, want %s", err, code)
	}
}
