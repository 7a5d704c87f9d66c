-- The token epoch counts revocations. Every request authenticates; a
-- server may keep a token's principal in memory as long as the epoch it
-- read before looking the token up is still the epoch, which one small read
-- checks. Revoking a token advances the epoch in the same transaction.
CREATE TABLE token_epoch (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	n  BIGINT NOT NULL
);
INSERT INTO token_epoch (id, n) VALUES (1, 0);
