package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/chipgate/chipgate/internal/domain"
)

// State rows bound to the ledger (migration 0013): every row of the document
// tables, the volume counters and the serials names the audit record that
// last changed it (ledger_idx, ledger_hash). The service writes a row, then
// its record, then stamps the row with the record (StampState).

// StateTables are the tables whose rows are bound to the ledger: the
// document kinds, the counters and the serials.
var StateTables = []string{
	string(KindApplication), string(KindLicense), string(KindPermit), string(KindHearing), string(KindOrder),
	string(KindAllocation), string(KindShipment), string(KindAlert), string(KindPartyScreening), string(Ordered), string(Shipped), SerialsTable,
}

// SerialsTable is the table of serials shipped.
const SerialsTable = "serials"

// StateRef names one state row: its table and key (a document's id, a
// counter's product/region, a serial).
type StateRef struct{ Table, Key string }

// VolumeRow is one region's counter row with the record that last changed
// it (LedgerHash nil for none: a row created at zero).
type VolumeRow struct {
	Product, Region string
	Units           int64
	LedgerIndex     int64
	LedgerHash      []byte
}

// Key is the counter row's key in the ledger: product/region.
func (v VolumeRow) Key() string { return v.Product + "/" + v.Region }

// SerialRow is one serial's row.
type SerialRow struct {
	Serial      string
	Shipment    domain.ID
	LedgerIndex int64
	LedgerHash  []byte
}

// StateTx is what binding the state to the ledger needs of a transaction
// beyond Tx. The SQL stores' transactions implement it.
type StateTx interface {
	// PutDocRow is PutDoc returning the row as stored: on an update, the
	// party and the creation time it kept.
	PutDocRow(ctx context.Context, kind Kind, d Doc, create bool) (Doc, error)
	// LockVolumeRows is Volumes with each row's record.
	LockVolumeRows(ctx context.Context, c Counter, product string, regions []string) ([]VolumeRow, error)
	// AddVolumeUnits is AddVolume returning the region's units after it.
	AddVolumeUnits(ctx context.Context, c Counter, product, region string, delta int64) (int64, error)
	// StampState names the record (index, leaf hash) as the last to change
	// each row; ENOTFOUND naming a row that does not exist.
	StampState(ctx context.Context, index int64, hash []byte, rows []StateRef) error
	// ScanDocs calls fn for every document of kind, in id order.
	ScanDocs(ctx context.Context, kind Kind, fn func(Doc) error) error
	// ScanVolumes calls fn for every row of the counter.
	ScanVolumes(ctx context.Context, c Counter, fn func(VolumeRow) error) error
	// ScanSerials calls fn for every serial.
	ScanSerials(ctx context.Context, fn func(SerialRow) error) error
}

var _ StateTx = (*tx)(nil)

func (t *tx) PutDocRow(ctx context.Context, kind Kind, d Doc, create bool) (Doc, error) {
	if !kind.valid() {
		return d, fmt.Errorf("store: unknown kind %q", kind)
	}
	if create {
		return d, t.PutDoc(ctx, kind, d, true)
	}
	if err := t.refuseInView("update " + string(kind)); err != nil {
		return d, err
	}
	var c dbTime
	err := t.queryRow(ctx, "UPDATE "+string(kind)+" SET ref = ?, status = ?, updated_at = ?, doc = ? WHERE id = ? RETURNING party_id, created_at",
		d.Ref, d.Status, t.time(d.UpdatedAt), d.Body, d.ID).Scan(&d.PartyID, &c)
	d.CreatedAt = c.T
	return d, t.notFound(err, "%s %s not found", strings.TrimSuffix(string(kind), "s"), d.ID)
}

func scanVolume(r interface{ Scan(...any) error }, v *VolumeRow) error {
	var idx sql.NullInt64
	err := r.Scan(&v.Product, &v.Region, &v.Units, &idx, &v.LedgerHash)
	v.LedgerIndex = idx.Int64
	return err
}

func (t *tx) LockVolumeRows(ctx context.Context, c Counter, product string, regions []string) ([]VolumeRow, error) {
	if !c.valid() {
		return nil, fmt.Errorf("store: unknown counter %q", c)
	}
	if err := t.refuseInView("volumes"); err != nil { // they lock
		return nil, err
	}
	q := "SELECT product, region, units, ledger_idx, ledger_hash FROM " + string(c) + " WHERE product = ?"
	if t.s.dialect == "postgres" {
		q += " ORDER BY region FOR UPDATE"
	}
	read := func() ([]VolumeRow, error) {
		var out []VolumeRow
		err := t.queryRows(ctx, "volumes", q, func(r *sql.Rows) error {
			var v VolumeRow
			err := scanVolume(r, &v)
			out = append(out, v)
			return err
		}, product)
		return out, err
	}
	out, err := read()
	if err != nil {
		return nil, err
	}
	missing := false
	for _, r := range regions {
		found := false
		for _, v := range out {
			found = found || v.Region == r
		}
		if !found {
			missing = true
			// The row must exist for FOR UPDATE to lock it.
			if _, err := t.exec(ctx, "volumes", "INSERT INTO "+string(c)+" (product, region, units) VALUES (?, ?, 0) ON CONFLICT DO NOTHING", product, r); err != nil {
				return nil, err
			}
		}
	}
	if missing {
		return read()
	}
	return out, nil
}

func (t *tx) AddVolumeUnits(ctx context.Context, c Counter, product, region string, delta int64) (int64, error) {
	if !c.valid() {
		return 0, fmt.Errorf("store: unknown counter %q", c)
	}
	if err := t.refuseInView("volumes"); err != nil {
		return 0, err
	}
	var units int64
	err := t.queryRow(ctx, "INSERT INTO "+string(c)+" (product, region, units) VALUES (?, ?, ?) ON CONFLICT (product, region) DO UPDATE SET units = "+string(c)+".units + excluded.units RETURNING units",
		product, region, delta).Scan(&units)
	return units, t.s.wrap("volumes", err)
}

func (t *tx) StampState(ctx context.Context, index int64, hash []byte, rows []StateRef) error {
	for _, r := range rows {
		var q string
		var args []any
		switch r.Table {
		case string(Ordered), string(Shipped):
			i := strings.LastIndexByte(r.Key, '/')
			if i < 0 {
				return fmt.Errorf("store: stamp %s: bad key %q", r.Table, r.Key)
			}
			q, args = "UPDATE "+r.Table+" SET ledger_idx = ?, ledger_hash = ? WHERE product = ? AND region = ?", []any{index, hash, r.Key[:i], r.Key[i+1:]}
		case SerialsTable:
			q, args = "UPDATE serials SET ledger_idx = ?, ledger_hash = ? WHERE serial = ?", []any{index, hash, r.Key}
		default:
			if !Kind(r.Table).valid() {
				return fmt.Errorf("store: stamp: unknown table %q", r.Table)
			}
			q, args = "UPDATE "+r.Table+" SET ledger_idx = ?, ledger_hash = ? WHERE id = ?", []any{index, hash, r.Key}
		}
		res, err := t.exec(ctx, "stamp "+r.Table, q, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return t.s.wrap("stamp "+r.Table, err)
		} else if n != 1 {
			return domain.Errorf(domain.ENOTFOUND, "%s %s not found", r.Table, r.Key)
		}
	}
	return nil
}

func (t *tx) ScanDocs(ctx context.Context, kind Kind, fn func(Doc) error) error {
	if !kind.valid() {
		return fmt.Errorf("store: unknown kind %q", kind)
	}
	return t.queryRows(ctx, "scan "+string(kind), "SELECT "+docReadCols+" FROM "+string(kind)+" ORDER BY id", func(r *sql.Rows) error {
		d, err := scanDoc(r)
		if err != nil {
			return err
		}
		return fn(d)
	})
}

func (t *tx) ScanVolumes(ctx context.Context, c Counter, fn func(VolumeRow) error) error {
	if !c.valid() {
		return fmt.Errorf("store: unknown counter %q", c)
	}
	return t.queryRows(ctx, "scan "+string(c), "SELECT product, region, units, ledger_idx, ledger_hash FROM "+string(c), func(r *sql.Rows) error {
		var v VolumeRow
		if err := scanVolume(r, &v); err != nil {
			return err
		}
		return fn(v)
	})
}

func (t *tx) ScanSerials(ctx context.Context, fn func(SerialRow) error) error {
	return t.queryRows(ctx, "scan serials", "SELECT serial, shipment_id, ledger_idx, ledger_hash FROM serials", func(r *sql.Rows) error {
		var s SerialRow
		var idx sql.NullInt64
		if err := r.Scan(&s.Serial, &s.Shipment, &idx, &s.LedgerHash); err != nil {
			return err
		}
		s.LedgerIndex = idx.Int64
		return fn(s)
	})
}
