package store_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// TestTiles checks ReadTiles and WriteTiles, the ledger's tree: ReadTiles
// returns one entry per key, in the keys' order (repeats included), nil for
// a tile never written, and an empty slice for no keys; WriteTiles stores
// tiles by level and index, and writing a tile again replaces its hashes.
// (internal/service runs ledgertest, the tree's own contract, on these.)
func TestTiles(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		tiles := func(t *testing.T, st store.Store, keys ...store.TileKey) [][]byte {
			t.Helper()
			return read(t, st, func(tx store.Tx) ([][]byte, error) { return tx.ReadTiles(t.Context(), keys) })
		}

		t.Run("ReadMissing", func(t *testing.T) {
			st, _ := b.Open(t)
			equal(t, "ReadTiles(never written)", tiles(t, st, store.TileKey{Level: 0, Index: 0}, store.TileKey{Level: 3, Index: 1 << 40}), [][]byte{nil, nil})
			if got := tiles(t, st); got == nil || len(got) != 0 {
				t.Errorf("ReadTiles(no keys) = %#v, want an empty slice", got)
			}
		})

		t.Run("WriteRead", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			a, c, d := store.TileKey{Level: 0, Index: 0}, store.TileKey{Level: 1, Index: 5}, store.TileKey{Level: 255, Index: 1 << 40}
			ha, hc, hd := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 64), bytes.Repeat([]byte{3}, 32*256)
			mustTx(t, st, func(tx store.Tx) error {
				return tx.WriteTiles(ctx, []store.TileBlob{{Key: a, Hashes: ha}, {Key: c, Hashes: hc}, {Key: d, Hashes: hd}})
			})
			equal(t, "ReadTiles", tiles(t, st, d, store.TileKey{Level: 0, Index: 5}, a, c, a), [][]byte{hd, nil, ha, hc, ha})
			// Writing a tile again replaces it (a partial tile grows).
			longer := append(bytes.Clone(ha), bytes.Repeat([]byte{4}, 32)...)
			mustTx(t, st, func(tx store.Tx) error { return tx.WriteTiles(ctx, []store.TileBlob{{Key: a, Hashes: longer}}) })
			equal(t, "ReadTiles after a rewrite", tiles(t, st, a, c), [][]byte{longer, hc})
			// The writing transaction reads its own tiles.
			mustTx(t, st, func(tx store.Tx) error {
				e := store.TileKey{Level: 2, Index: 9}
				if err := tx.WriteTiles(ctx, []store.TileBlob{{Key: e, Hashes: ha}}); err != nil {
					return err
				}
				got, err := tx.ReadTiles(ctx, []store.TileKey{e})
				equal(t, "ReadTiles in the writing transaction", got, [][]byte{ha})
				return err
			})
		})
	})
}

// TestCheckpoints checks AddCheckpoint, Checkpoints and LatestCheckpoint:
// checkpoints read back field for field, listed by size whatever the order
// they were added in; LatestCheckpoint is the largest, or ENOTFOUND before
// the first; a size signed before is ECONFLICT.
func TestCheckpoints(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		checkpoint := func(size int64) store.StoredCheckpoint {
			return store.StoredCheckpoint{Size: size, Root: bytes.Repeat([]byte{byte(size)}, 32),
				Signed: fmt.Appendf(nil, "chipgate/ledger\n%d\n— sig\n", size), CreatedAt: t0.Add(time.Duration(size) * time.Minute)}
		}

		t.Run("NoneYet", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			_, err := readErr(st, func(tx store.Tx) (store.StoredCheckpoint, error) { return tx.LatestCheckpoint(ctx) })
			wantCode(t, "LatestCheckpoint(none)", err, domain.ENOTFOUND)
			if cs := read(t, st, func(tx store.Tx) ([]store.StoredCheckpoint, error) { return tx.Checkpoints(ctx) }); len(cs) != 0 {
				t.Errorf("Checkpoints of a new store = %+v", cs)
			}
		})

		t.Run("AddAndList", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			c3, c7, c10 := checkpoint(3), checkpoint(7), checkpoint(10)
			for _, c := range []store.StoredCheckpoint{c10, c3, c7} {
				mustTx(t, st, func(tx store.Tx) error { return tx.AddCheckpoint(ctx, c) })
			}
			equal(t, "Checkpoints", read(t, st, func(tx store.Tx) ([]store.StoredCheckpoint, error) { return tx.Checkpoints(ctx) }),
				[]store.StoredCheckpoint{c3, c7, c10})
			equal(t, "LatestCheckpoint", read(t, st, func(tx store.Tx) (store.StoredCheckpoint, error) { return tx.LatestCheckpoint(ctx) }), c10)
		})

		t.Run("ErrSizeTaken", func(t *testing.T) {
			ctx := t.Context()
			st, _ := b.Open(t)
			c := checkpoint(3)
			mustTx(t, st, func(tx store.Tx) error { return tx.AddCheckpoint(ctx, c) })
			again := checkpoint(3)
			again.Signed = []byte("another signature")
			wantCode(t, "AddCheckpoint(taken size)", st.InTx(ctx, func(tx store.Tx) error { return tx.AddCheckpoint(ctx, again) }), domain.ECONFLICT)
			equal(t, "LatestCheckpoint", read(t, st, func(tx store.Tx) (store.StoredCheckpoint, error) { return tx.LatestCheckpoint(ctx) }), c)
		})
	})
}

// TestLedgerMeta checks LedgerMeta and SetLedgerMeta, the ledger's
// settings: a setting never set is ENOTFOUND; one set reads back, an empty
// value included; setting it again replaces the value; names are apart.
func TestLedgerMeta(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		st, _ := b.Open(t)
		meta := func(name string) (string, error) {
			return readErr(st, func(tx store.Tx) (string, error) { return tx.LedgerMeta(ctx, name) })
		}
		set := func(name, value string) {
			t.Helper()
			mustTx(t, st, func(tx store.Tx) error { return tx.SetLedgerMeta(ctx, name, value) })
		}
		_, err := meta("signing_key")
		wantCode(t, "LedgerMeta(unset)", err, domain.ENOTFOUND)
		set("signing_key", "PRIVATE+KEY+chipgate+1")
		set("origin", "")
		set("signing_key", "PRIVATE+KEY+chipgate+2")
		for name, want := range map[string]string{"signing_key": "PRIVATE+KEY+chipgate+2", "origin": ""} {
			if got, err := meta(name); err != nil || got != want {
				t.Errorf("LedgerMeta(%s) = %q, %v; want %q", name, got, err, want)
			}
		}
		_, err = meta("verifier_key")
		wantCode(t, "LedgerMeta(another name)", err, domain.ENOTFOUND)
	})
}
