-- The parties a shipment names for its custody: each leg's carrier and
-- the carriers it was handed over to, and its lab. A carrier or a lab
-- reads and acts on the shipments it is named in, and on no others.
CREATE TABLE shipment_parties (
	shipment_id UUID NOT NULL REFERENCES shipments(id),
	party_id    UUID NOT NULL REFERENCES parties(id),
	PRIMARY KEY (shipment_id, party_id)
);
CREATE INDEX shipment_parties_party ON shipment_parties(party_id, shipment_id);
