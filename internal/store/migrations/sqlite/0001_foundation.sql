-- Parties, users, tokens, the catalog, lots and the audit record.
-- Times are TEXT in RFC 3339 UTC with nanoseconds at fixed width, so they sort.
CREATE TABLE parties (
	id         TEXT PRIMARY KEY,
	slug       TEXT NOT NULL UNIQUE,
	name       TEXT NOT NULL,
	role       TEXT NOT NULL,
	country    TEXT NOT NULL,
	class      TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL
);

CREATE TABLE users (
	id         TEXT PRIMARY KEY,
	party_id   TEXT NOT NULL REFERENCES parties(id),
	name       TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE INDEX users_party ON users(party_id);

CREATE TABLE tokens (
	id         TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users(id),
	hash       BLOB NOT NULL UNIQUE,
	label      TEXT NOT NULL,
	created_at TEXT NOT NULL,
	expires_at TEXT,
	revoked_at TEXT
);
CREATE INDEX tokens_user ON tokens(user_id);

CREATE TABLE products (
	id          TEXT PRIMARY KEY,
	slug        TEXT NOT NULL UNIQUE,
	name        TEXT NOT NULL,
	family      TEXT NOT NULL,
	spec        BLOB NOT NULL,
	launch_date TEXT NOT NULL,
	created_at  TEXT NOT NULL
);

CREATE TABLE lots (
	id           TEXT PRIMARY KEY,
	product_id   TEXT NOT NULL REFERENCES products(id),
	number       TEXT NOT NULL,
	quantity     INTEGER NOT NULL CHECK (quantity > 0),
	origin       TEXT NOT NULL,
	made_on      TEXT NOT NULL,
	available_on TEXT NOT NULL,
	created_at   TEXT NOT NULL,
	UNIQUE (product_id, number)
);

-- The audit record. idx is 0-based, gapless, in commit order: writers take
-- the next index from ledger_head, whose row stays locked until they commit.
CREATE TABLE audit_log (
	idx          INTEGER PRIMARY KEY,
	id           TEXT NOT NULL UNIQUE,
	at           TEXT NOT NULL,
	actor_user   TEXT NOT NULL,
	actor_party  TEXT NOT NULL,
	actor_role   TEXT NOT NULL,
	action       TEXT NOT NULL,
	subject_type TEXT NOT NULL,
	subject_id   TEXT NOT NULL,
	payload      BLOB NOT NULL
);
CREATE INDEX audit_subject ON audit_log(subject_type, subject_id);

CREATE TABLE ledger_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	size INTEGER NOT NULL
);
INSERT INTO ledger_head (id, size) VALUES (1, 0);
