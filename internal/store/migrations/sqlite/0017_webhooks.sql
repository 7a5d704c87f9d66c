-- Webhook subscriptions (issue 22). The ledger is the outbox: a worker
-- tails audit_log by index, one cursor per subscription (next_index), and
-- announces the newest signed checkpoint its cursor has passed
-- (checkpoint_size). No secret is stored: each is derived from the
-- server's key and the subscription's id. epoch grows with every replay,
-- so that a delivery in flight cannot write an older cursor over it.
-- These rows are no state a decision reads, so they are not bound to the
-- ledger (docs/EVENTS.md); creating, replaying and deleting one is
-- recorded there.
CREATE TABLE webhook_subscriptions (
	id              TEXT PRIMARY KEY,
	party_id        TEXT NOT NULL REFERENCES parties(id),
	url             TEXT NOT NULL,
	types           TEXT NOT NULL,
	created_at      TEXT NOT NULL,
	next_index      INTEGER NOT NULL,
	checkpoint_size INTEGER NOT NULL,
	epoch           INTEGER NOT NULL DEFAULT 0,
	failures        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at TEXT,
	last_error      TEXT NOT NULL DEFAULT '',
	delivered       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX webhook_subscriptions_party ON webhook_subscriptions(party_id, id);
-- Dead letters: events given up after the operator's number of attempts;
-- the cursor moved past them, a replay delivers them again.
CREATE TABLE webhook_deliveries (
	subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
	event_id        TEXT NOT NULL,
	ledger_index    INTEGER NOT NULL,
	event_type      TEXT NOT NULL,
	attempts        INTEGER NOT NULL,
	last_error      TEXT NOT NULL,
	failed_at       TEXT NOT NULL,
	PRIMARY KEY (subscription_id, event_id)
);
