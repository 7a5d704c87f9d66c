package service_test

import (
	"testing"

	"github.com/chipgate/chipgate/internal/ledger"
	"github.com/chipgate/chipgate/internal/ledger/ledgertest"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// TestStoreTiles holds the SQL tile tables of both backends to the ledger's
// TileStore contract.
func TestStoreTiles(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		ledgertest.RunTileStoreTests(t, func(t *testing.T) ledger.TileStore {
			st, _ := b.Open(t)
			return service.StoreTiles(st)
		})
	})
}
