-- The ledger's Merkle tree as tiles (see internal/ledger), its signed
-- checkpoints, and the key it signs with.
CREATE TABLE ledger_tiles (
	level  SMALLINT NOT NULL,
	idx    BIGINT NOT NULL,
	hashes BYTEA NOT NULL,
	PRIMARY KEY (level, idx)
);

CREATE TABLE ledger_checkpoints (
	size       BIGINT PRIMARY KEY,
	root       BYTEA NOT NULL,
	signed     BYTEA NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE ledger_meta (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
