package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
)

// ScreeningLogRow is one screening log entry: when, what kind (adhoc or
// application) and the entry as a JSON document.
type ScreeningLogRow struct {
	ID   domain.ID
	At   time.Time
	Kind string
	Doc  []byte
}

// AddScreeningLog appends the entries, one statement each.
func (t *tx) AddScreeningLog(ctx context.Context, entries []ScreeningLogRow) error {
	for _, e := range entries {
		if _, err := t.exec(ctx, "add screening log", "INSERT INTO screening_log (id, at, kind, doc) VALUES (?, ?, ?, ?)",
			e.ID, t.time(e.At), e.Kind, e.Doc); err != nil {
			return err
		}
	}
	return nil
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
