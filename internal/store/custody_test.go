package store_test

import (
	"slices"
	"testing"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// TestShipmentParties: NameShipmentParty records that a shipment names a
// party, once however often it is named; PartyShipments returns a party's
// shipments in id order and none of another's; naming an unknown shipment
// or party is EINVALID and changes nothing.
func TestShipmentParties(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		st, _ := b.Open(t)
		buyer := seedParty(t, st, "bytedance")
		carrier, lab := seedParty(t, st, "carrier"), seedParty(t, st, "us-testlab")
		var ships []domain.ID
		for range 3 {
			d := newDoc(buyer.ID, "order", "at_origin", t0)
			mustTx(t, st, func(tx store.Tx) error { return tx.PutDoc(ctx, store.KindShipment, d, true) })
			ships = append(ships, d.ID)
		}
		slices.SortFunc(ships, func(a, b domain.ID) int { return slices.Compare(a[:], b[:]) })
		mustTx(t, st, func(tx store.Tx) error {
			for _, id := range []domain.ID{ships[2], ships[0], ships[2]} {
				if err := tx.NameShipmentParty(ctx, id, carrier.ID); err != nil {
					return err
				}
			}
			return tx.NameShipmentParty(ctx, ships[1], lab.ID)
		})
		for party, want := range map[domain.ID][]domain.ID{carrier.ID: {ships[0], ships[2]}, lab.ID: {ships[1]}, buyer.ID: nil} {
			got := read(t, st, func(tx store.Tx) ([]domain.ID, error) { return tx.PartyShipments(ctx, party) })
			equal(t, "PartyShipments", got, want)
		}
		for name, pair := range map[string][2]domain.ID{"UnknownShipment": {newID(), carrier.ID}, "UnknownParty": {ships[1], newID()}} {
			t.Run(name, func(t *testing.T) {
				err := st.InTx(ctx, func(tx store.Tx) error { return tx.NameShipmentParty(ctx, pair[0], pair[1]) })
				if domain.ErrorCode(err) != domain.EINVALID {
					t.Fatalf("naming %v: %v, want EINVALID", pair, err)
				}
			})
		}
		got := read(t, st, func(tx store.Tx) ([]domain.ID, error) { return tx.PartyShipments(ctx, carrier.ID) })
		equal(t, "PartyShipments after refusals", got, []domain.ID{ships[0], ships[2]})
	})
}
