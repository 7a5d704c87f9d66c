-- Units shipped from each lot: a lot never ships more than it holds.
ALTER TABLE lots ADD COLUMN shipped BIGINT NOT NULL DEFAULT 0;
