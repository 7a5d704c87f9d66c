package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
)

// ScreeningLogRow is one screening log entry: when, what kind (adhoc,
// application, shipment, party) and the entry as a JSON document; Seq and
// Hash are its place in the chain and its chained hash (0 and nil for an
// entry logged before the chain, migration 0023).
type ScreeningLogRow struct {
	ID   domain.ID
	At   time.Time
	Kind string
	Doc  []byte
	Seq  int64
	Hash []byte
}

// ChainLink computes an entry's chained hash from the previous entry's
// hash (empty for the first) and the entry, whose Seq is set.
type ChainLink func(prev []byte, r *ScreeningLogRow) []byte

// ScreeningLogHead is the chain's head: the last entry's seq and hash
// (0 and empty before the first) and the seq last sealed into the ledger.
type ScreeningLogHead struct {
	Seq    int64
	Hash   []byte
	Sealed int64
}

// AddScreeningLog appends the entries to the chain: it locks the head (on
// PostgreSQL until the transaction ends, so that chains never fork), gives
// each entry the next seq and the hash link computes, inserts them and
// advances the head. One statement per entry, two for the head.
func (t *tx) AddScreeningLog(ctx context.Context, entries []ScreeningLogRow, link ChainLink) error {
	if len(entries) == 0 {
		return nil
	}
	head, err := t.ScreeningLogHead(ctx, true)
	if err != nil {
		return err
	}
	prev := head.Hash
	for i := range entries {
		e := &entries[i]
		e.Seq = head.Seq + int64(i) + 1
		e.Hash = link(prev, e)
		prev = e.Hash
		if _, err := t.exec(ctx, "add screening log", "INSERT INTO screening_log (id, at, kind, doc, seq, hash) VALUES (?, ?, ?, ?, ?, ?)",
			e.ID, t.time(e.At), e.Kind, e.Doc, e.Seq, e.Hash); err != nil {
			return err
		}
	}
	_, err = t.exec(ctx, "advance screening log head", "UPDATE screening_log_head SET seq = ?, hash = ? WHERE one = 1", head.Seq+int64(len(entries)), prev)
	return err
}

// ScreeningLogHead reads the chain's head, locking it when forUpdate (on
// PostgreSQL; SQLite's one writer excludes the others already).
func (t *tx) ScreeningLogHead(ctx context.Context, forUpdate bool) (ScreeningLogHead, error) {
	q := "SELECT seq, hash, sealed FROM screening_log_head WHERE one = 1"
	if forUpdate && t.s.dialect == "postgres" {
		q += " FOR UPDATE"
	}
	var h ScreeningLogHead
	err := t.queryRow(ctx, q).Scan(&h.Seq, &h.Hash, &h.Sealed)
	return h, t.s.wrap("screening log head", err)
}

// SealScreeningLog records that the chain up to seq is sealed into the
// ledger.
func (t *tx) SealScreeningLog(ctx context.Context, seq int64) error {
	_, err := t.exec(ctx, "seal screening log", "UPDATE screening_log_head SET sealed = ? WHERE one = 1", seq)
	return err
}

// ScanScreeningLog calls fn with every entry: those outside the chain
// first (by instant), then the chain in seq order.
func (t *tx) ScanScreeningLog(ctx context.Context, fn func(ScreeningLogRow) error) error {
	q := "SELECT id, at, kind, doc, seq, hash FROM screening_log ORDER BY seq IS NOT NULL, seq, at, id"
	return t.queryRows(ctx, "scan screening log", q, func(rows *sql.Rows) error {
		var r ScreeningLogRow
		var at dbTime
		var seq sql.NullInt64
		if err := rows.Scan(&r.ID, &at, &r.Kind, &r.Doc, &seq, &r.Hash); err != nil {
			return err
		}
		r.At, r.Seq = at.T, seq.Int64
		return fn(r)
	})
}

// ScreeningLog reads the newest entries before the instant.
func (t *tx) ScreeningLog(ctx context.Context, before time.Time, limit int) ([][]byte, error) {
	q, args := "SELECT doc FROM screening_log ORDER BY at DESC, id DESC LIMIT ?", []any{limit}
	if !before.IsZero() {
		q, args = "SELECT doc FROM screening_log WHERE at < ? ORDER BY at DESC, id DESC LIMIT ?", []any{t.time(before), limit}
	}
	var out [][]byte
	err := t.queryRows(ctx, "screening log", q, func(rows *sql.Rows) error {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return err
		}
		out = append(out, doc)
		return nil
	}, args...)
	return out, err
}
