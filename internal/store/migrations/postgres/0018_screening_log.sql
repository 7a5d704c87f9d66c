-- Every screening, ad-hoc searches included: who screened what, when,
-- against which list versions, and how many hits it found. A table, not the
-- ledger: ad-hoc searches run at thousands a second and no decision reads
-- them (docs/SCREENING.md, "Screening log"). Append-only.
CREATE TABLE screening_log (
	id   UUID PRIMARY KEY,
	at   TIMESTAMPTZ NOT NULL,
	kind TEXT NOT NULL,
	doc  BYTEA NOT NULL
);
CREATE INDEX screening_log_at ON screening_log(at, id);
