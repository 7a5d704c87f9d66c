package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
)

// Kind names a table of documents.
type Kind string

// The document kinds. Only these reach SQL as table names: any other is
// EINTERNAL.
const (
	KindApplication Kind = "applications"
	KindLicense     Kind = "licenses"
	KindPermit      Kind = "permits"
	KindHearing     Kind = "hearings"
	KindOrder       Kind = "orders"
	KindAllocation  Kind = "allocation_runs"
	KindShipment    Kind = "shipments"
	KindAlert       Kind = "alerts"
	// KindPartyScreening is the screening of a registered party apart from
	// applications (carriers and labs), one per party.
	KindPartyScreening Kind = "party_screenings"
)

func (k Kind) valid() bool {
	switch k {
	case KindApplication, KindLicense, KindPermit, KindHearing, KindOrder, KindAllocation, KindShipment, KindAlert, KindPartyScreening:
		return true
	}
	return false
}

// Doc is one stored record of a kind: its JSON body and the columns it is
// looked up by.
type Doc struct {
	ID        domain.ID
	PartyID   domain.ID // the party it belongs to (the buyer, mostly)
	Ref       string    // a secondary key: the license of an order, …
	Status    string
	CreatedAt time.Time
	UpdatedAt time.Time
	Body      []byte
	// LedgerIndex and LedgerHash name the audit record that last changed
	// the row: its index and leaf hash (0 and nil for none). See StampState.
	LedgerIndex int64
	LedgerHash  []byte
}

// DocFilter selects documents; zero fields select all.
type DocFilter struct {
	PartyID domain.ID
	// Within, when set, keeps only documents of these parties (none for
	// an empty, non-nil slice): a reader's visibility, ANDed with PartyID.
	Within []domain.ID
	Status []string
	Ref    string
	// CreatedFrom and CreatedBefore bound the creation instant: from
	// inclusive, before exclusive; zero bounds none.
	CreatedFrom, CreatedBefore time.Time
	// Desc lists newest first; results are oldest first otherwise. Ties
	// in the creation instant are broken by id, in the same direction.
	Desc bool
	// After, when set, starts the list strictly after that position in
	// the list's order (keyset paging: the position of the last document
	// of the previous page, see PositionOf). Documents created meanwhile
	// are neither skipped nor repeated: the position is a key, not an
	// offset.
	After *Position
	// Limit is the most documents listed; 0 or less lists every one (no
	// read is cut short silently: a caller that pages asks for one more
	// than it shows, see PageOf).
	Limit int
	// ForUpdate locks the documents listed until the transaction ends
	// (PostgreSQL's FOR UPDATE; SQLite's one writer excludes the others
	// already), so that a command may change what it read without reading it
	// again. Only in InTx: in a View it is EINTERNAL.
	ForUpdate bool
}

// Position is a document's place in a list: its creation instant, then
// its id. It is the key that keyset paging resumes after.
type Position struct {
	CreatedAt time.Time
	ID        domain.ID
}

// PositionOf returns the document's position.
func PositionOf(d Doc) Position { return Position{CreatedAt: d.CreatedAt, ID: d.ID} }

const docCols = "id, party_id, ref, status, created_at, updated_at, doc"

// docReadCols are the columns a document is read with: its own and the
// record that last changed it.
const docReadCols = docCols + ", ledger_idx, ledger_hash"

func scanDoc(sc interface{ Scan(...any) error }) (Doc, error) {
	var d Doc
	var c, u dbTime
	var idx sql.NullInt64
	err := sc.Scan(&d.ID, &d.PartyID, &d.Ref, &d.Status, &c, &u, &d.Body, &idx, &d.LedgerHash)
	d.CreatedAt, d.UpdatedAt, d.LedgerIndex = c.T, u.T, idx.Int64
	return d, err
}

func (t *tx) PutDoc(ctx context.Context, kind Kind, d Doc, create bool) error {
	if !kind.valid() {
		return fmt.Errorf("store: unknown kind %q", kind)
	}
	if create {
		_, err := t.exec(ctx, "create "+string(kind), "INSERT INTO "+string(kind)+" ("+docCols+") VALUES (?, ?, ?, ?, ?, ?, ?)",
			d.ID, d.PartyID, d.Ref, d.Status, t.time(d.CreatedAt), t.time(d.UpdatedAt), d.Body)
		return err
	}
	res, err := t.exec(ctx, "update "+string(kind), "UPDATE "+string(kind)+" SET ref = ?, status = ?, updated_at = ?, doc = ? WHERE id = ?",
		d.Ref, d.Status, t.time(d.UpdatedAt), d.Body, d.ID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return t.s.wrap("update "+string(kind), err)
	} else if n != 1 {
		return domain.Errorf(domain.ENOTFOUND, "%s %s not found", strings.TrimSuffix(string(kind), "s"), d.ID)
	}
	return nil
}

func (t *tx) GetDoc(ctx context.Context, kind Kind, id domain.ID, forUpdate bool) (Doc, error) {
	if !kind.valid() {
		return Doc{}, fmt.Errorf("store: unknown kind %q", kind)
	}
	if forUpdate {
		if err := t.refuseInView("read " + string(kind) + " for update"); err != nil {
			return Doc{}, err
		}
	}
	q := "SELECT " + docReadCols + " FROM " + string(kind) + " WHERE id = ?"
	if forUpdate && t.s.dialect == "postgres" {
		q += " FOR UPDATE" // SQLite has one writer at a time already
	}
	d, err := scanDoc(t.queryRow(ctx, q, id))
	return d, t.notFound(err, "%s %s not found", strings.TrimSuffix(string(kind), "s"), id)
}

func (t *tx) ListDocs(ctx context.Context, kind Kind, f DocFilter) ([]Doc, error) {
	if !kind.valid() {
		return nil, fmt.Errorf("store: unknown kind %q", kind)
	}
	if f.ForUpdate {
		if err := t.refuseInView("list " + string(kind) + " for update"); err != nil {
			return nil, err
		}
	}
	var where []string
	var args []any
	if f.PartyID != (domain.ID{}) {
		where = append(where, "party_id = ?")
		args = append(args, f.PartyID)
	}
	if f.Within != nil {
		if len(f.Within) == 0 {
			where = append(where, "1 = 0")
		} else {
			where = append(where, "party_id IN (?"+strings.Repeat(", ?", len(f.Within)-1)+")")
			for _, id := range f.Within {
				args = append(args, id)
			}
		}
	}
	if f.Ref != "" {
		where = append(where, "ref = ?")
		args = append(args, f.Ref)
	}
	if len(f.Status) > 0 {
		where = append(where, "status IN (?"+strings.Repeat(", ?", len(f.Status)-1)+")")
		for _, s := range f.Status {
			args = append(args, s)
		}
	}
	if !f.CreatedFrom.IsZero() {
		where = append(where, "created_at >= ?")
		args = append(args, t.time(f.CreatedFrom))
	}
	if !f.CreatedBefore.IsZero() {
		where = append(where, "created_at < ?")
		args = append(args, t.time(f.CreatedBefore))
	}
	dir := ""
	if f.Desc {
		dir = " DESC"
	}
	if f.After != nil {
		// A row value, which both databases compare in one index range
		// over (…, created_at, id) (migration 0012).
		cmp := ">"
		if f.Desc {
			cmp = "<"
		}
		where = append(where, "(created_at, id) "+cmp+" (?, ?)")
		args = append(args, t.time(f.After.CreatedAt), f.After.ID)
	}
	q := "SELECT " + docReadCols + " FROM " + string(kind)
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at" + dir + ", id" + dir
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	if f.ForUpdate && t.s.dialect == "postgres" {
		q += " FOR UPDATE"
	}
	var out []Doc
	err := t.queryRows(ctx, "list "+string(kind), q, func(r *sql.Rows) error {
		d, err := scanDoc(r)
		out = append(out, d)
		return err
	}, args...)
	return out, err
}

// Get reads the document of kind with id into a T.
func Get[T any](ctx context.Context, tx Tx, kind Kind, id domain.ID, forUpdate bool) (T, error) {
	var v T
	d, err := tx.GetDoc(ctx, kind, id, forUpdate)
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(d.Body, &v); err != nil {
		return v, fmt.Errorf("store: decode %s %s: %w", kind, id, err)
	}
	return v, nil
}

// List reads the documents of kind selected by f into Ts.
func List[T any](ctx context.Context, tx Tx, kind Kind, f DocFilter) ([]T, error) {
	ds, err := tx.ListDocs(ctx, kind, f)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(ds))
	for i, d := range ds {
		if err := json.Unmarshal(d.Body, &out[i]); err != nil {
			return nil, fmt.Errorf("store: decode %s %s: %w", kind, d.ID, err)
		}
	}
	return out, nil
}

// PageOf reads at most limit documents of kind selected by f (f.Limit is
// ignored) into Ts, with the position to resume after when more follow
// (nil at the end). It reads one document more than it returns, to know.
func PageOf[T any](ctx context.Context, tx Tx, kind Kind, f DocFilter, limit int) ([]T, *Position, error) {
	if limit < 1 {
		return nil, nil, fmt.Errorf("store: page of %s: limit %d", kind, limit)
	}
	f.Limit = limit + 1
	ds, err := tx.ListDocs(ctx, kind, f)
	if err != nil {
		return nil, nil, err
	}
	var next *Position
	if len(ds) > limit {
		ds = ds[:limit]
		p := PositionOf(ds[limit-1])
		next = &p
	}
	out := make([]T, len(ds))
	for i, d := range ds {
		if err := json.Unmarshal(d.Body, &out[i]); err != nil {
			return nil, nil, fmt.Errorf("store: decode %s %s: %w", kind, d.ID, err)
		}
	}
	return out, next, nil
}

// Counter names a table of units per product and region. Only these reach
// SQL as table names: any other is EINTERNAL.
type Counter string

// The unit counters: accepted orders, and units actually exported.
const (
	Ordered Counter = "order_volumes"
	Shipped Counter = "shipped_volumes"
)

func (c Counter) valid() bool { return c == Ordered || c == Shipped }

func (t *tx) Volumes(ctx context.Context, c Counter, product string, regions []string) (map[string]int64, error) {
	if !c.valid() {
		return nil, fmt.Errorf("store: unknown counter %q", c)
	}
	if err := t.refuseInView("volumes"); err != nil { // they lock
		return nil, err
	}
	q := "SELECT region, units FROM " + string(c) + " WHERE product = ?"
	if t.s.dialect == "postgres" {
		q += " ORDER BY region FOR UPDATE"
	}
	read := func() (map[string]int64, error) {
		out := map[string]int64{}
		err := t.queryRows(ctx, "volumes", q, func(r *sql.Rows) error {
			var region string
			var units int64
			err := r.Scan(&region, &units)
			out[region] = units
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
		if _, ok := out[r]; !ok {
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

func (t *tx) ReadVolumes(ctx context.Context, c Counter, product string) (map[string]int64, error) {
	if !c.valid() {
		return nil, fmt.Errorf("store: unknown counter %q", c)
	}
	out := map[string]int64{}
	err := t.queryRows(ctx, "volumes", "SELECT region, units FROM "+string(c)+" WHERE product = ?", func(r *sql.Rows) error {
		var region string
		var units int64
		err := r.Scan(&region, &units)
		out[region] = units
		return err
	}, product)
	return out, err
}

// AddVolume upserts: an UPDATE alone silently dropped the units of a region
// that Volumes had not created (one a policy names but the caller did not
// ask for), and the cap's counter would then be short.
func (t *tx) AddVolume(ctx context.Context, c Counter, product, region string, delta int64) error {
	if !c.valid() {
		return fmt.Errorf("store: unknown counter %q", c)
	}
	_, err := t.exec(ctx, "volumes", "INSERT INTO "+string(c)+" (product, region, units) VALUES (?, ?, ?) ON CONFLICT (product, region) DO UPDATE SET units = "+string(c)+".units + excluded.units",
		product, region, delta)
	return err
}

func (t *tx) ClaimSerials(ctx context.Context, shipment domain.ID, serials []string) error {
	for _, sn := range serials {
		_, err := t.exec(ctx, "claim serial", "INSERT INTO serials (serial, shipment_id) VALUES (?, ?)", sn, shipment)
		if domain.ErrorCode(err) == domain.ECONFLICT {
			return domain.Errorf(domain.ECONFLICT, "serial %q is already in a shipment", sn)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) SerialShipment(ctx context.Context, serial string) (domain.ID, error) {
	var id domain.ID
	err := t.queryRow(ctx, "SELECT shipment_id FROM serials WHERE serial = ?", serial).Scan(&id)
	return id, t.notFound(err, "serial %q was never shipped", serial)
}

func (t *tx) AddCheckIn(ctx context.Context, id domain.ID, serial string, at time.Time, doc []byte) error {
	_, err := t.exec(ctx, "add checkin", "INSERT INTO checkins (id, serial, at, doc) VALUES (?, ?, ?, ?)", id, serial, t.time(at), doc)
	return err
}

func (t *tx) LastCheckIn(ctx context.Context, serial string) ([]byte, error) {
	var doc []byte
	err := t.queryRow(ctx, "SELECT doc FROM checkins WHERE serial = ? ORDER BY at DESC, id DESC LIMIT 1", serial).Scan(&doc)
	return doc, t.notFound(err, "serial %q never checked in", serial)
}
