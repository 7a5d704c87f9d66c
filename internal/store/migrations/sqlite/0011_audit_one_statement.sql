-- A record is appended with one statement and writes two pages, not four:
-- the insert takes its index from ledger_head and a trigger advances the
-- head within the same statement (SQLite has one writer at a time, so the
-- index stays gapless and in commit order), and the record id, a UUIDv7
-- made by the service, loses its unique index, which nothing looked up.
CREATE TABLE audit_log_lean (
	idx          INTEGER PRIMARY KEY,
	id           TEXT NOT NULL,
	at           TEXT NOT NULL,
	actor_user   TEXT NOT NULL,
	actor_party  TEXT NOT NULL,
	actor_role   TEXT NOT NULL,
	action       TEXT NOT NULL,
	subject_type TEXT NOT NULL,
	subject_id   TEXT NOT NULL,
	payload      BLOB NOT NULL
);
INSERT INTO audit_log_lean (idx, id, at, actor_user, actor_party, actor_role, action, subject_type, subject_id, payload)
	SELECT idx, id, at, actor_user, actor_party, actor_role, action, subject_type, subject_id, payload FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_lean RENAME TO audit_log;
CREATE TRIGGER audit_log_advance_head AFTER INSERT ON audit_log
BEGIN
	UPDATE ledger_head SET size = NEW.idx + 1 WHERE id = 1;
END;
