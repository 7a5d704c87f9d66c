-- The diversion watch: device check-ins by serial, and alerts.
CREATE TABLE checkins (
	id     UUID PRIMARY KEY,
	serial TEXT NOT NULL,
	at     TIMESTAMPTZ NOT NULL,
	doc    BYTEA NOT NULL
);
CREATE INDEX checkins_serial ON checkins(serial, at);

CREATE TABLE alerts (
	id         UUID PRIMARY KEY,
	party_id   UUID NOT NULL REFERENCES parties(id),
	ref        TEXT NOT NULL DEFAULT '',
	status     TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	doc        BYTEA NOT NULL
);
CREATE INDEX alerts_status ON alerts(status, created_at);
CREATE INDEX alerts_ref ON alerts(ref);
