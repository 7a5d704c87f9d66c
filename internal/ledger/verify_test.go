package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"testing"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/ledger"
)

// storedLog is what the store holds: records, the tiles written with them
// and the checkpoints signed along the way (opened).
type storedLog struct {
	recs  []domain.AuditRecord
	tiles *ledger.MemoryTiles
	cps   []ledger.Checkpoint
}

func newStoredLog(t testing.TB, n int, cpSizes ...uint64) storedLog {
	t.Helper()
	return newStoredLogFrom(t, records(n), cpSizes...)
}

// newStoredLogFrom is newStoredLog over the given records.
func newStoredLogFrom(t testing.TB, recs []domain.AuditRecord, cpSizes ...uint64) storedLog {
	t.Helper()
	tiles := mustTree(t, leafHashes(t, recs), 100)
	var cps []ledger.Checkpoint
	for _, s := range cpSizes {
		r, err := ledger.Root(context.Background(), tiles, s)
		if err != nil {
			t.Fatal(err)
		}
		cps = append(cps, ledger.Checkpoint{Origin: testOrigin, Size: s, Root: r})
	}
	return storedLog{recs, tiles, cps}
}

func seq(recs []domain.AuditRecord) iter.Seq2[domain.AuditRecord, error] {
	return func(yield func(domain.AuditRecord, error) bool) {
		for _, r := range recs {
			if !yield(r, nil) {
				return
			}
		}
	}
}

// tamperedTiles serves the stored tiles with one hash changed.
type tamperedTiles struct {
	inner ledger.TileReader
	id    ledger.TileID
	pos   int
}

func (t tamperedTiles) ReadTiles(ctx context.Context, ids []ledger.TileID) ([][]ledger.Hash, error) {
	out, err := t.inner.ReadTiles(ctx, ids)
	for i, id := range ids {
		if id == t.id && t.pos < len(out[i]) {
			out[i] = slices.Clone(out[i])
			out[i][t.pos][0] ^= 1
		}
	}
	return out, err
}

func wantVerifyError(t *testing.T, err error, index uint64) {
	t.Helper()
	var ve *ledger.VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v, want a *VerifyError at %d", err, index)
	}
	if ve.Index != index {
		t.Fatalf("first bad index %d (%s), want %d", ve.Index, ve.Reason, index)
	}
}

func TestVerifyRecordsOK(t *testing.T) {
	ctx := context.Background()
	log := newStoredLog(t, 1000, 0, 1, 256, 700, 1000)
	for _, tiles := range []ledger.TileReader{nil, log.tiles} {
		sum, err := ledger.VerifyRecords(ctx, seq(log.recs), log.cps, tiles)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Size != 1000 || sum.Root != log.cps[4].Root || sum.Checkpoints != 5 {
			t.Errorf("summary %+v", sum)
		}
	}
}

// TestVerifyTamper is the tamper suite over the store's view: records,
// tiles and checkpoints.
func TestVerifyTamper(t *testing.T) {
	ctx := context.Background()
	const n = 1000
	cpSizes := []uint64{256, 512, 1000}
	changeByte := func(i int, f func(r *domain.AuditRecord)) func(l *storedLog) {
		return func(l *storedLog) {
			l.recs = slices.Clone(l.recs)
			f(&l.recs[i])
		}
	}
	payloadByte := func(i int) func(l *storedLog) {
		return changeByte(i, func(r *domain.AuditRecord) {
			r.Payload = slices.Clone(r.Payload)
			r.Payload[len(r.Payload)/2] ^= 1
		})
	}
	tests := []struct {
		name   string
		tamper func(l *storedLog)
		tiles  bool // verify against the stored tiles too
		index  uint64
		fork   bool
	}{
		{"PayloadByteFirst", payloadByte(0), true, 0, false},
		{"PayloadByteTileEdge", payloadByte(255), true, 255, false},
		{"PayloadByteNextTile", payloadByte(256), true, 256, false},
		{"PayloadByteMiddle", payloadByte(700), true, 700, false},
		{"PayloadByteLast", payloadByte(999), true, 999, false},
		{"ActionByte", changeByte(300, func(r *domain.AuditRecord) { r.Action = "order.placeD" }), true, 300, false},
		{"IDByte", changeByte(301, func(r *domain.AuditRecord) { r.ID[3] ^= 0x80 }), true, 301, false},
		{"Nanosecond", changeByte(302, func(r *domain.AuditRecord) { r.At = r.At.Add(1) }), true, 302, false},
		// Without the tiles, only the checkpoints speak: the first bad
		// index lies after the last checkpoint that still matches.
		{"PayloadByteNoTiles", payloadByte(700), false, 512, false},
		{"PayloadByteNoTilesFirstSpan", payloadByte(3), false, 0, false},
		{"MissingRecord", func(l *storedLog) { l.recs = slices.Delete(slices.Clone(l.recs), 400, 401) }, true, 400, false},
		{"SwappedRecords", func(l *storedLog) {
			l.recs = slices.Clone(l.recs)
			l.recs[10], l.recs[11] = l.recs[11], l.recs[10]
		}, true, 10, false},
		{"DeletedTail", func(l *storedLog) { l.recs = l.recs[:900] }, true, 900, false},
		{"DeletedTailNoTiles", func(l *storedLog) { l.recs = l.recs[:900] }, false, 900, false},
		{"DeletedTailAfterLastCheckpoint", func(l *storedLog) {
			l.recs, l.cps = l.recs[:900], l.cps[:2]
		}, true, 900, false},
		{"RewrittenTailWithTiles", func(l *storedLog) {
			// Records and tiles rewritten together after 600: only the
			// signed checkpoint at 1000 can tell.
			l.recs = slices.Clone(l.recs)
			l.recs[800].Action = "order.rejected"
			l.tiles = mustTree(t, leafHashes(t, l.recs), 1000)
		}, true, 512, false},
		{"StoredLeafChanged", func(l *storedLog) {}, true, 0, false}, // see below
		{"Fork", func(l *storedLog) {
			l.cps = append(l.cps, ledger.Checkpoint{Origin: testOrigin, Size: 512, Root: ledger.EmptyRoot()})
		}, true, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newStoredLog(t, n, cpSizes...)
			tt.tamper(&l)
			var tiles ledger.TileReader
			if tt.tiles {
				tiles = l.tiles
			}
			if tt.name == "StoredLeafChanged" {
				tiles = tamperedTiles{l.tiles, ledger.TileID{Level: 0, Index: 1}, 44}
				tt.index = 256 + 44
			}
			_, err := ledger.VerifyRecords(ctx, seq(l.recs), l.cps, tiles)
			if tt.fork {
				var fe *ledger.ForkError
				if !errors.As(err, &fe) || fe.Size != 512 {
					t.Fatalf("error %v, want a fork at 512", err)
				}
				return
			}
			wantVerifyError(t, err, tt.index)
		})
	}
}

// TestVerifyStoredNodes: a stored node above the leaves that disagrees with
// the records would make the server hand out bad proofs; verify names the
// first leaf it covers.
func TestVerifyStoredNodes(t *testing.T) {
	ctx := context.Background()
	l := newStoredLog(t, 70000)
	tests := []struct {
		id    ledger.TileID
		pos   int
		index uint64
	}{
		{ledger.TileID{Level: 1, Index: 0}, 3, 3 * 256},           // a full level-1 tile
		{ledger.TileID{Level: 1, Index: 1}, 5, (256 + 5) * 256},   // the partial level-1 tile
		{ledger.TileID{Level: 2, Index: 0}, 0, 0},                 // the partial level-2 tile
		{ledger.TileID{Level: 0, Index: 273}, 111, 273*256 + 111}, // the partial leaf tile
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d_%d_%d", tt.id.Level, tt.id.Index, tt.pos), func(t *testing.T) {
			_, err := ledger.VerifyRecords(ctx, seq(l.recs), nil, tamperedTiles{l.tiles, tt.id, tt.pos})
			wantVerifyError(t, err, tt.index)
		})
	}
}

// TestVerifyTilesAhead: leaves stored past the last record mean records
// were deleted even if no checkpoint covers them, unless the tiles are
// marked as read from a growing log, where they are expected.
func TestVerifyTilesAhead(t *testing.T) {
	ctx := context.Background()
	l := newStoredLog(t, 70_000)
	for _, n := range []int{513, 512, 65_536, 69_000} {
		_, err := ledger.VerifyRecords(ctx, seq(l.recs[:n]), nil, l.tiles)
		wantVerifyError(t, err, uint64(n))

		sum, err := ledger.VerifyRecords(ctx, seq(l.recs[:n]), nil, ledger.GrowingTiles(l.tiles))
		if err != nil || sum.Size != uint64(n) {
			t.Fatalf("growing log verified to %d: %+v, %v", n, sum, err)
		}
	}
	// Growing tiles still catch a changed record.
	recs := slices.Clone(l.recs[:600])
	recs[599].Action = "x"
	_, err := ledger.VerifyRecords(ctx, seq(recs), nil, ledger.GrowingTiles(l.tiles))
	wantVerifyError(t, err, 599)
}

func TestVerifierAddLeaf(t *testing.T) {
	ctx := context.Background()
	l := newStoredLog(t, 300, 300)
	v, err := ledger.NewVerifier(l.cps, l.tiles)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range leafHashes(t, l.recs) {
		if err := v.AddLeaf(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	if sum, err := v.Finish(ctx); err != nil || sum.Root != l.cps[0].Root {
		t.Fatalf("%+v %v", sum, err)
	}
}

// TestVerifyPartialTiles: a store that writes leaves into the tree in
// batches holds tiles for a prefix of its records; the rest is checked from
// the records and the checkpoints alone.
func TestVerifyPartialTiles(t *testing.T) {
	ctx := context.Background()
	const n, integrated = 70_000, 66_000
	recs := records(n)
	leaves := leafHashes(t, recs)
	tiles := mustTree(t, leaves[:integrated], 5000)
	root := func(size int) ledger.Hash {
		r, err := ledger.Root(ctx, mustTree(t, leaves[:size], size), uint64(size))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	cps := []ledger.Checkpoint{{Origin: testOrigin, Size: integrated, Root: root(integrated)}, {Origin: testOrigin, Size: n, Root: root(n)}}
	changed := func(i int) []domain.AuditRecord {
		out := slices.Clone(recs)
		out[i].Action = "order.rejected"
		return out
	}
	tests := []struct {
		name  string
		recs  []domain.AuditRecord
		tiles ledger.TileReader
		index uint64 // 0 for success
		ok    bool
	}{
		{"StrictFailsAtTheFirstUnintegratedLeaf", recs, tiles, integrated, false},
		{"PartialOK", recs, ledger.PartialTiles(tiles, integrated), 0, true},
		{"PartialWithTilesAhead", recs, ledger.PartialTiles(mustTree(t, leaves, 7000), integrated), 0, true},
		{"ChangedBeforeIntegrated", changed(12_345), ledger.PartialTiles(tiles, integrated), 12_345, false},
		// After the integrated prefix only the checkpoint at n can tell.
		{"ChangedAfterIntegrated", changed(68_000), ledger.PartialTiles(tiles, integrated), integrated, false},
		{"PartialClaimsMoreThanStored", recs, ledger.PartialTiles(tiles, integrated+1), integrated, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, err := ledger.VerifyRecords(ctx, seq(tt.recs), cps, tt.tiles)
			if tt.ok {
				if err != nil || sum.Size != n || sum.Root != cps[1].Root {
					t.Fatalf("%+v, %v", sum, err)
				}
				return
			}
			wantVerifyError(t, err, tt.index)
		})
	}
}
