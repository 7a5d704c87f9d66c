-- The ledger's Merkle tree as tiles (see internal/ledger), its signed
-- checkpoints, and the key it signs with.
CREATE TABLE ledger_tiles (
	level  INTEGER NOT NULL,
	idx    INTEGER NOT NULL,
	hashes BLOB NOT NULL,
	PRIMARY KEY (level, idx)
);

CREATE TABLE ledger_checkpoints (
	size       INTEGER PRIMARY KEY,
	root       BLOB NOT NULL,
	signed     BLOB NOT NULL,
	created_at TEXT NOT NULL
);

CREATE TABLE ledger_meta (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
