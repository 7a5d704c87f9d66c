-- State bound to the ledger (issue 16): every row a decision reads names the
-- audit record that last changed it, by index and leaf hash. A command checks
-- that the row's content is the post-state that record carries (docs/LEDGER.md,
-- "State bound to the log"). NULL: no record (a volume counter created at zero).
ALTER TABLE applications ADD COLUMN ledger_idx BIGINT;
ALTER TABLE applications ADD COLUMN ledger_hash BYTEA;
ALTER TABLE licenses ADD COLUMN ledger_idx BIGINT;
ALTER TABLE licenses ADD COLUMN ledger_hash BYTEA;
ALTER TABLE permits ADD COLUMN ledger_idx BIGINT;
ALTER TABLE permits ADD COLUMN ledger_hash BYTEA;
ALTER TABLE hearings ADD COLUMN ledger_idx BIGINT;
ALTER TABLE hearings ADD COLUMN ledger_hash BYTEA;
ALTER TABLE orders ADD COLUMN ledger_idx BIGINT;
ALTER TABLE orders ADD COLUMN ledger_hash BYTEA;
ALTER TABLE allocation_runs ADD COLUMN ledger_idx BIGINT;
ALTER TABLE allocation_runs ADD COLUMN ledger_hash BYTEA;
ALTER TABLE shipments ADD COLUMN ledger_idx BIGINT;
ALTER TABLE shipments ADD COLUMN ledger_hash BYTEA;
ALTER TABLE alerts ADD COLUMN ledger_idx BIGINT;
ALTER TABLE alerts ADD COLUMN ledger_hash BYTEA;
ALTER TABLE order_volumes ADD COLUMN ledger_idx BIGINT;
ALTER TABLE order_volumes ADD COLUMN ledger_hash BYTEA;
ALTER TABLE shipped_volumes ADD COLUMN ledger_idx BIGINT;
ALTER TABLE shipped_volumes ADD COLUMN ledger_hash BYTEA;
ALTER TABLE serials ADD COLUMN ledger_idx BIGINT;
ALTER TABLE serials ADD COLUMN ledger_hash BYTEA;
