-- Attested check-ins (docs/TELEMETRY.md). device_keys indexes the device
-- keys the lab recorded with its test: the shipment's document (bound to
-- the ledger) holds them, this table makes each key one device's and finds
-- a serial's key. checkin_challenges are the single-use nonces a device
-- answers; every used nonce is also in its check-in's ledger record.
CREATE TABLE device_keys (
	serial      TEXT PRIMARY KEY REFERENCES serials(serial),
	public_key  TEXT NOT NULL UNIQUE,
	shipment_id UUID NOT NULL REFERENCES shipments(id)
);

CREATE TABLE checkin_challenges (
	nonce      TEXT PRIMARY KEY,
	serial     TEXT NOT NULL,
	issued_at  TIMESTAMPTZ NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL,
	used_at    TIMESTAMPTZ
);
CREATE INDEX checkin_challenges_expiry ON checkin_challenges(expires_at);

-- The device key of an attested check-in, to find the key's last one.
ALTER TABLE checkins ADD COLUMN device_key TEXT;
CREATE INDEX checkins_device_key ON checkins(device_key, at) WHERE device_key IS NOT NULL;
