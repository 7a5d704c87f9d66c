-- Duties within a party: officer, approver, administrator, as a
-- comma-separated set in that order. Users that existed before duties keep
-- every duty, so that nothing they did stops working; a user added from now
-- on gets only the duties it is given (the insert always names them).
ALTER TABLE users ADD COLUMN duties TEXT NOT NULL DEFAULT 'officer,approver,administrator';
