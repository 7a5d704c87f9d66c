-- Tokens know what they open and who issued them: an API token (bearer) or a
-- dashboard session (cookie), neither usable as the other; a token issued
-- by a token never outlives it and is revoked with it. Sessions keep when
-- they were last used, for their idle timeout.
ALTER TABLE tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'api';
ALTER TABLE tokens ADD COLUMN parent_id TEXT REFERENCES tokens(id);
ALTER TABLE tokens ADD COLUMN last_used_at TEXT;
CREATE INDEX tokens_parent ON tokens(parent_id);
