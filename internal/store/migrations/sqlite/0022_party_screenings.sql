-- Registered parties screened apart from applications (issue 17): carriers
-- and labs, re-screened at every list reload. One row per party (id = the
-- party), its screening as the document; a shipment's every step reads the
-- current result of its holder and its lab. Bound to the ledger like every
-- document (ledger_idx, ledger_hash).
CREATE TABLE party_screenings (
	id          TEXT PRIMARY KEY REFERENCES parties(id),
	party_id    TEXT NOT NULL REFERENCES parties(id),
	ref         TEXT NOT NULL DEFAULT '',
	status      TEXT NOT NULL,
	created_at  TEXT NOT NULL,
	updated_at  TEXT NOT NULL,
	doc         BLOB NOT NULL,
	ledger_idx  INTEGER,
	ledger_hash BLOB
);
CREATE INDEX party_screenings_status ON party_screenings(status, created_at, id);
CREATE INDEX party_screenings_party ON party_screenings(party_id, created_at, id);
CREATE INDEX party_screenings_created ON party_screenings(created_at, id);
