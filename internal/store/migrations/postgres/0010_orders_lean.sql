-- Nothing lists orders by their license (the ref column); the index only
-- made every order write one more page.
DROP INDEX orders_ref;
