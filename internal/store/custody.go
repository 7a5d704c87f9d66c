package store

import (
	"context"
	"database/sql"

	"github.com/chipgate/chipgate/internal/domain"
)

// NameShipmentParty records that a shipment names the party (a carrier of
// one of its legs, a carrier it was handed over to, or its lab); naming a
// party twice is a no-op. EINVALID for an unknown shipment or party.
func (t *tx) NameShipmentParty(ctx context.Context, shipment, party domain.ID) error {
	_, err := t.exec(ctx, "name shipment party",
		"INSERT INTO shipment_parties (shipment_id, party_id) VALUES (?, ?) ON CONFLICT (shipment_id, party_id) DO NOTHING", shipment, party)
	return err
}

// PartyShipments returns the ids of the shipments that name the party, in
// id order.
func (t *tx) PartyShipments(ctx context.Context, party domain.ID) ([]domain.ID, error) {
	var out []domain.ID
	err := t.queryRows(ctx, "party shipments", "SELECT shipment_id FROM shipment_parties WHERE party_id = ? ORDER BY shipment_id", func(rows *sql.Rows) error {
		var id domain.ID
		if err := rows.Scan(&id); err != nil {
			return err
		}
		out = append(out, id)
		return nil
	}, party)
	return out, err
}
