-- Sign-in with a party's OpenID Connect provider: the provider (its client
-- secret kept as given, since the code exchange needs it), the mappings of
-- its subjects and groups to the party's users, and the sign-ins started
-- and not yet finished (keyed by the hash of their state, used once).
CREATE TABLE identity_providers (
	party_id      TEXT PRIMARY KEY REFERENCES parties(id),
	issuer        TEXT NOT NULL,
	client_id     TEXT NOT NULL,
	client_secret TEXT NOT NULL,
	groups_claim  TEXT NOT NULL,
	name          TEXT NOT NULL,
	updated_at    TEXT NOT NULL
);

CREATE TABLE identity_mappings (
	id         TEXT PRIMARY KEY,
	party_id   TEXT NOT NULL REFERENCES parties(id),
	kind       TEXT NOT NULL,
	value      TEXT NOT NULL,
	user_id    TEXT NOT NULL REFERENCES users(id),
	created_at TEXT NOT NULL,
	UNIQUE (party_id, kind, value)
);

CREATE TABLE pending_signins (
	state_hash BLOB PRIMARY KEY,
	party_id   TEXT NOT NULL REFERENCES parties(id),
	nonce      TEXT NOT NULL,
	verifier   TEXT NOT NULL,
	expires_at TEXT NOT NULL
);
CREATE INDEX pending_signins_expiry ON pending_signins(expires_at);
