package store

import (
	"context"
	"database/sql"

	"github.com/chipgate/chipgate/internal/domain"
)

const auditCols = "idx, id, at, actor_user, actor_party, actor_role, action, subject_type, subject_id, payload"

func (t *tx) AppendAudit(ctx context.Context, rec *domain.AuditRecord) error {
	if err := t.refuseInView("append audit"); err != nil {
		return err
	}
	// Taking the next index by updating the head row locks it until this
	// transaction ends: the next writer waits, so indexes follow commit order
	// and a rolled-back writer leaves no gap.
	if t.s.dialect == "sqlite" {
		// One statement: the index is the head's size, and a trigger
		// advances the head (migration 0011); the one writer keeps indexes
		// gapless and in commit order.
		err := t.queryRow(ctx, "INSERT INTO audit_log ("+auditCols+") VALUES ((SELECT size FROM ledger_head WHERE id = 1), ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING idx",
			rec.ID, t.time(rec.At), rec.ActorUser, rec.ActorParty, rec.ActorRole, rec.Action, rec.SubjectType, rec.SubjectID, rec.Payload).Scan(&rec.Index)
		return t.s.wrap("append audit", err)
	}
	var size int64
	if err := t.queryRow(ctx, "UPDATE ledger_head SET size = size + 1 WHERE id = 1 RETURNING size").Scan(&size); err != nil {
		return t.s.wrap("append audit", err)
	}
	rec.Index = size - 1
	_, err := t.exec(ctx, "append audit", "INSERT INTO audit_log ("+auditCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		rec.Index, rec.ID, t.time(rec.At), rec.ActorUser, rec.ActorParty, rec.ActorRole, rec.Action, rec.SubjectType, rec.SubjectID, rec.Payload)
	return err
}

func (t *tx) AuditSize(ctx context.Context) (int64, error) {
	var n int64
	err := t.queryRow(ctx, "SELECT size FROM ledger_head WHERE id = 1").Scan(&n)
	return n, t.s.wrap("audit size", err)
}

// auditArena is how many bytes of payloads AuditRecords copies into one
// allocation: "ledger verify" reads millions of records, and one
// allocation per payload was a good part of its reading.
const auditArena = 1 << 20

func (t *tx) AuditRecords(ctx context.Context, from, to int64) ([]domain.AuditRecord, error) {
	out := make([]domain.AuditRecord, 0, min(max(to-from, 0), 1<<16))
	var arena []byte
	var payload sql.RawBytes
	err := t.queryRows(ctx, "read audit", "SELECT "+auditCols+" FROM audit_log WHERE idx >= ? AND idx < ? ORDER BY idx", func(r *sql.Rows) error {
		var rec domain.AuditRecord
		var at dbTime
		err := r.Scan(&rec.Index, &rec.ID, &at, &rec.ActorUser, &rec.ActorParty, &rec.ActorRole, &rec.Action, &rec.SubjectType, &rec.SubjectID, &payload)
		rec.At = at.T
		// The payload's bytes live in the driver's row until the next
		// one: copied into the arena, full-capacity so that no append
		// to one runs into the next.
		if cap(arena)-len(arena) < len(payload) {
			arena = make([]byte, 0, max(auditArena, len(payload)))
		}
		n := len(arena)
		arena = append(arena, payload...)
		rec.Payload = arena[n:len(arena):len(arena)]
		out = append(out, rec)
		return err
	}, from, to)
	return out, err
}
