-- Registered parties screened apart from applications (issue 17): carriers
-- and labs, re-screened at every list reload. One row per party (id = the
-- party), its screening as the document; a shipment's every step reads the
-- current result of its holder and its lab. Bound to the ledger like every
-- document (ledger_idx, ledger_hash).
CREATE TABLE party_screenings (
	id          UUID PRIMARY KEY REFERENCES parties(id),
	party_id    UUID NOT NULL REFERENCES parties(id),
	ref         TEXT NOT NULL DEFAULT '',
	status      TEXT NOT NULL,
	created_at  TIMESTAMPTZ NOT NULL,
	updated_at  TIMESTAMPTZ NOT NULL,
	doc         BYTEA NOT NULL,
	ledger_idx  BIGINT,
	ledger_hash BYTEA
);
CREATE INDEX party_screenings_status ON party_screenings(status, created_at, id);
CREATE INDEX party_screenings_party ON party_screenings(party_id, created_at, id);
CREATE INDEX party_screenings_created ON party_screenings(created_at, id);
