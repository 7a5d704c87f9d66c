-- Keyset paging (issue 19): every list reads in (created_at, id) order, newest
-- first by default, and resumes after a (created_at, id) position. The indexes
-- end in id so that the order, the position's comparison and the limit are one
-- index range, whatever the page's depth; a list by party or by one status
-- reads its own index the same way.
DROP INDEX applications_party;
CREATE INDEX applications_party ON applications(party_id, created_at, id);
DROP INDEX applications_status;
CREATE INDEX applications_status ON applications(status, created_at, id);
CREATE INDEX applications_created ON applications(created_at, id);
DROP INDEX licenses_party;
CREATE INDEX licenses_party ON licenses(party_id, created_at, id);
DROP INDEX licenses_status;
CREATE INDEX licenses_status ON licenses(status, created_at, id);
CREATE INDEX licenses_created ON licenses(created_at, id);
DROP INDEX permits_party;
CREATE INDEX permits_party ON permits(party_id, created_at, id);
DROP INDEX permits_status;
CREATE INDEX permits_status ON permits(status, created_at, id);
CREATE INDEX permits_created ON permits(created_at, id);
DROP INDEX hearings_party;
CREATE INDEX hearings_party ON hearings(party_id, created_at, id);
DROP INDEX hearings_status;
CREATE INDEX hearings_status ON hearings(status, created_at, id);
CREATE INDEX hearings_created ON hearings(created_at, id);
DROP INDEX orders_party;
CREATE INDEX orders_party ON orders(party_id, created_at, id);
DROP INDEX orders_status;
CREATE INDEX orders_status ON orders(status, created_at, id);
CREATE INDEX orders_created ON orders(created_at, id);
DROP INDEX shipments_party;
CREATE INDEX shipments_party ON shipments(party_id, created_at, id);
DROP INDEX shipments_status;
CREATE INDEX shipments_status ON shipments(status, created_at, id);
CREATE INDEX shipments_created ON shipments(created_at, id);
DROP INDEX allocation_runs_created;
CREATE INDEX allocation_runs_created ON allocation_runs(created_at, id);
DROP INDEX alerts_status;
CREATE INDEX alerts_status ON alerts(status, created_at, id);
CREATE INDEX alerts_created ON alerts(created_at, id);
CREATE INDEX alerts_party ON alerts(party_id, created_at, id);
