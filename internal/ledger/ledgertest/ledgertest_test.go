package ledgertest_test

import (
	"testing"

	"github.com/chipgate/chipgate/internal/ledger"
	"github.com/chipgate/chipgate/internal/ledger/ledgertest"
)

func TestMemoryTiles(t *testing.T) {
	ledgertest.RunTileStoreTests(t, func(*testing.T) ledger.TileStore { return &ledger.MemoryTiles{} })
}
