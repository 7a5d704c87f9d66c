-- The diversion watch: device check-ins by serial, and alerts.
CREATE TABLE checkins (
	id     TEXT PRIMARY KEY,
	serial TEXT NOT NULL,
	at     TEXT NOT NULL,
	doc    BLOB NOT NULL
);
CREATE INDEX checkins_serial ON checkins(serial, at);

CREATE TABLE alerts (
	id         TEXT PRIMARY KEY,
	party_id   TEXT NOT NULL REFERENCES parties(id),
	ref        TEXT NOT NULL DEFAULT '',
	status     TEXT NOT NULL,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	doc        BLOB NOT NULL
);
CREATE INDEX alerts_status ON alerts(status, created_at);
CREATE INDEX alerts_ref ON alerts(ref);
