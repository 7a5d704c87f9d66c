-- The program's records: applications, licenses, import permits, hearings and orders.
-- Each is a document (doc, canonical JSON) with the columns it is looked up by; a
-- command reads a row (locking it on PostgreSQL), changes it and writes it back in
-- one transaction with its audit record.
CREATE TABLE applications (
	id         UUID PRIMARY KEY,
	party_id   UUID NOT NULL REFERENCES parties(id),
	ref        TEXT NOT NULL DEFAULT '',
	status     TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	doc        BYTEA NOT NULL
);
CREATE INDEX applications_party ON applications(party_id, created_at);
CREATE INDEX applications_status ON applications(status, created_at);
CREATE INDEX applications_ref ON applications(ref);

CREATE TABLE licenses (
	id         UUID PRIMARY KEY,
	party_id   UUID NOT NULL REFERENCES parties(id),
	ref        TEXT NOT NULL DEFAULT '',
	status     TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	doc        BYTEA NOT NULL
);
CREATE INDEX licenses_party ON licenses(party_id, created_at);
CREATE INDEX licenses_status ON licenses(status, created_at);
CREATE INDEX licenses_ref ON licenses(ref);

CREATE TABLE permits (
	id         UUID PRIMARY KEY,
	party_id   UUID NOT NULL REFERENCES parties(id),
	ref        TEXT NOT NULL DEFAULT '',
	status     TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	doc        BYTEA NOT NULL
);
CREATE INDEX permits_party ON permits(party_id, created_at);
CREATE INDEX permits_status ON permits(status, created_at);
CREATE INDEX permits_ref ON permits(ref);

CREATE TABLE hearings (
	id         UUID PRIMARY KEY,
	party_id   UUID NOT NULL REFERENCES parties(id),
	ref        TEXT NOT NULL DEFAULT '',
	status     TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	doc        BYTEA NOT NULL
);
CREATE INDEX hearings_party ON hearings(party_id, created_at);
CREATE INDEX hearings_status ON hearings(status, created_at);
CREATE INDEX hearings_ref ON hearings(ref);

CREATE TABLE orders (
	id         UUID PRIMARY KEY,
	party_id   UUID NOT NULL REFERENCES parties(id),
	ref        TEXT NOT NULL DEFAULT '',
	status     TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	doc        BYTEA NOT NULL
);
CREATE INDEX orders_party ON orders(party_id, created_at);
CREATE INDEX orders_status ON orders(status, created_at);
CREATE INDEX orders_ref ON orders(ref);

-- Idempotency keys: the first response to a POST with an Idempotency-Key is
-- kept and replayed to retries; status 0 marks a request still in flight.
CREATE TABLE idempotency (
	party_id     UUID NOT NULL,
	key          TEXT NOT NULL,
	request_hash BYTEA NOT NULL,
	status       INTEGER NOT NULL,
	response     BYTEA,
	created_at   TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (party_id, key)
);

-- Units of accepted orders per product and destination region, kept in the
-- same transaction as the orders, for the CN+MO volume cap.
CREATE TABLE order_volumes (
	product TEXT NOT NULL,
	region  TEXT NOT NULL,
	units   BIGINT NOT NULL,
	PRIMARY KEY (product, region)
);
