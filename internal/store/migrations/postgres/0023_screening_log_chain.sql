-- The screening log made tamper-evident (issue 17): each entry carries its
-- place in the chain (seq, gapless from 1) and the hash of its content
-- chained to the previous entry's hash; the one-row head holds the last
-- (seq, hash) and the seq last sealed into the ledger
-- (screening_log.sealed records, at each checkpoint). Entries logged before
-- this migration keep seq NULL: outside the chain (docs/SCREENING.md).
ALTER TABLE screening_log ADD COLUMN seq BIGINT;
ALTER TABLE screening_log ADD COLUMN hash BYTEA;
CREATE UNIQUE INDEX screening_log_seq ON screening_log(seq);
CREATE TABLE screening_log_head (
	one    BIGINT PRIMARY KEY CHECK (one = 1),
	seq    BIGINT NOT NULL,
	hash   BYTEA NOT NULL,
	sealed BIGINT NOT NULL
);
INSERT INTO screening_log_head (one, seq, hash, sealed) VALUES (1, 0, ''::bytea, 0);
