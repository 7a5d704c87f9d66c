-- The record id, a UUIDv7 made by the service, loses its unique index,
-- which nothing looked up: one page fewer per command. (PostgreSQL keeps
-- taking the index from ledger_head with UPDATE … RETURNING, whose row lock
-- orders concurrent writers.)
ALTER TABLE audit_log DROP CONSTRAINT audit_log_id_key;
