-- State bound to the ledger (issue 16): every row a decision reads names the
-- audit record that last changed it, by index and leaf hash. A command checks
-- that the row's content is the post-state that record carries (docs/LEDGER.md,
-- "State bound to the log"). NULL: no record (a volume counter created at zero).
ALTER TABLE applications ADD COLUMN ledger_idx INTEGER;
ALTER TABLE applications ADD COLUMN ledger_hash BLOB;
ALTER TABLE licenses ADD COLUMN ledger_idx INTEGER;
ALTER TABLE licenses ADD COLUMN ledger_hash BLOB;
ALTER TABLE permits ADD COLUMN ledger_idx INTEGER;
ALTER TABLE permits ADD COLUMN ledger_hash BLOB;
ALTER TABLE hearings ADD COLUMN ledger_idx INTEGER;
ALTER TABLE hearings ADD COLUMN ledger_hash BLOB;
ALTER TABLE orders ADD COLUMN ledger_idx INTEGER;
ALTER TABLE orders ADD COLUMN ledger_hash BLOB;
ALTER TABLE allocation_runs ADD COLUMN ledger_idx INTEGER;
ALTER TABLE allocation_runs ADD COLUMN ledger_hash BLOB;
ALTER TABLE shipments ADD COLUMN ledger_idx INTEGER;
ALTER TABLE shipments ADD COLUMN ledger_hash BLOB;
ALTER TABLE alerts ADD COLUMN ledger_idx INTEGER;
ALTER TABLE alerts ADD COLUMN ledger_hash BLOB;
ALTER TABLE order_volumes ADD COLUMN ledger_idx INTEGER;
ALTER TABLE order_volumes ADD COLUMN ledger_hash BLOB;
ALTER TABLE shipped_volumes ADD COLUMN ledger_idx INTEGER;
ALTER TABLE shipped_volumes ADD COLUMN ledger_hash BLOB;
ALTER TABLE serials ADD COLUMN ledger_idx INTEGER;
ALTER TABLE serials ADD COLUMN ledger_hash BLOB;
