-- Shipments by serial number, their serials (each shipped once), and the
-- units shipped per product and destination region (the export-time cap).
CREATE TABLE shipments (
	id         TEXT PRIMARY KEY,
	party_id   TEXT NOT NULL REFERENCES parties(id),
	ref        TEXT NOT NULL DEFAULT '',
	status     TEXT NOT NULL,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	doc        BLOB NOT NULL
);
CREATE INDEX shipments_party ON shipments(party_id, created_at);
CREATE INDEX shipments_status ON shipments(status, created_at);
CREATE INDEX shipments_ref ON shipments(ref);

CREATE TABLE serials (
	serial      TEXT PRIMARY KEY,
	shipment_id TEXT NOT NULL
);

CREATE TABLE shipped_volumes (
	product TEXT NOT NULL,
	region  TEXT NOT NULL,
	units   BIGINT NOT NULL,
	PRIMARY KEY (product, region)
);
