-- Parties, users, tokens, the catalog, lots and the audit record.
CREATE TABLE parties (
	id         UUID PRIMARY KEY,
	slug       TEXT NOT NULL UNIQUE,
	name       TEXT NOT NULL,
	role       TEXT NOT NULL,
	country    TEXT NOT NULL,
	class      TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
	id         UUID PRIMARY KEY,
	party_id   UUID NOT NULL REFERENCES parties(id),
	name       TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX users_party ON users(party_id);

CREATE TABLE tokens (
	id         UUID PRIMARY KEY,
	user_id    UUID NOT NULL REFERENCES users(id),
	hash       BYTEA NOT NULL UNIQUE,
	label      TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	expires_at TIMESTAMPTZ,
	revoked_at TIMESTAMPTZ
);
CREATE INDEX tokens_user ON tokens(user_id);

CREATE TABLE products (
	id          UUID PRIMARY KEY,
	slug        TEXT NOT NULL UNIQUE,
	name        TEXT NOT NULL,
	family      TEXT NOT NULL,
	spec        BYTEA NOT NULL,
	launch_date TIMESTAMPTZ NOT NULL,
	created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE lots (
	id           UUID PRIMARY KEY,
	product_id   UUID NOT NULL REFERENCES products(id),
	number       TEXT NOT NULL,
	quantity     BIGINT NOT NULL CHECK (quantity > 0),
	origin       TEXT NOT NULL,
	made_on      TIMESTAMPTZ NOT NULL,
	available_on TIMESTAMPTZ NOT NULL,
	created_at   TIMESTAMPTZ NOT NULL,
	UNIQUE (product_id, number)
);

-- The audit record. idx is 0-based, gapless, in commit order: writers take
-- the next index from ledger_head, whose row stays locked until they commit,
-- so concurrent writers (and replicas) append one after another.
CREATE TABLE audit_log (
	idx          BIGINT PRIMARY KEY,
	id           UUID NOT NULL UNIQUE,
	at           TIMESTAMPTZ NOT NULL,
	actor_user   TEXT NOT NULL,
	actor_party  TEXT NOT NULL,
	actor_role   TEXT NOT NULL,
	action       TEXT NOT NULL,
	subject_type TEXT NOT NULL,
	subject_id   TEXT NOT NULL,
	payload      BYTEA NOT NULL
);
CREATE INDEX audit_subject ON audit_log(subject_type, subject_id);

CREATE TABLE ledger_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	size BIGINT NOT NULL
);
INSERT INTO ledger_head (id, size) VALUES (1, 0);
