-- Allocation runs: the problem the vendor's run solved (built from the lots
-- and accepted orders of the moment), the result and the supply outlook.
CREATE TABLE allocation_runs (
	id         UUID PRIMARY KEY,
	party_id   UUID NOT NULL REFERENCES parties(id),
	ref        TEXT NOT NULL DEFAULT '',
	status     TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	doc        BYTEA NOT NULL
);
CREATE INDEX allocation_runs_created ON allocation_runs(created_at);
