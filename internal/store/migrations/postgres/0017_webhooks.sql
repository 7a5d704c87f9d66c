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
	id              UUID PRIMARY KEY,
	party_id        UUID NOT NULL REFERENCES parties(id),
	url             TEXT NOT NULL,
	types           TEXT NOT NULL,
	created_at      TIMESTAMPTZ NOT NULL,
	next_index      BIGINT NOT NULL,
	checkpoint_size BIGINT NOT NULL,
	epoch           BIGINT NOT NULL DEFAULT 0,
	failures        BIGINT NOT NULL DEFAULT 0,
	next_attempt_at TIMESTAMPTZ,
	last_error      TEXT NOT NULL DEFAULT '',
	delivered       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX webhook_subscriptions_party ON webhook_subscriptions(party_id, id);
-- Dead letters: events given up after the operator's number of attempts;
-- the cursor moved past them, a replay delivers them again.
CREATE TABLE webhook_deliveries (
	subscription_id UUID NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
	event_id        TEXT NOT NULL,
	ledger_index    BIGINT NOT NULL,
	event_type      TEXT NOT NULL,
	attempts        BIGINT NOT NULL,
	last_error      TEXT NOT NULL,
	failed_at       TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (subscription_id, event_id)
);
