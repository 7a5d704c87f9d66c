-- The screening log made tamper-evident (issue 17): each entry carries its
-- place in the chain (seq, gapless from 1) and the hash of its content
-- chained to the previous entry's hash; the one-row head holds the last
-- (seq, hash) and the seq last sealed into the ledger
-- (screening_log.sealed records, at each checkpoint). Entries logged before
-- this migration keep seq NULL: outside the chain (docs/SCREENING.md).
ALTER TABLE screening_log ADD COLUMN seq INTEGER;
ALTER TABLE screening_log ADD COLUMN hash BLOB;
CREATE UNIQUE INDEX screening_log_seq ON screening_log(seq);
CREATE TABLE screening_log_head (
	one    INTEGER PRIMARY KEY CHECK (one = 1),
	seq    INTEGER NOT NULL,
	hash   BLOB NOT NULL,
	sealed INTEGER NOT NULL
);
INSERT INTO screening_log_head (one, seq, hash, sealed) VALUES (1, 0, X'', 0);
