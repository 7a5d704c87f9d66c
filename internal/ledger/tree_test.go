package ledger_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/ledger"
)

// testonlyTree returns the tree over transparency-dev/merkle's test leaves.
func testonlyTree(t *testing.T, batch int) (*ledger.MemoryTiles, []ledger.Hash) {
	t.Helper()
	var leaves []ledger.Hash
	for _, in := range testonly.LeafInputs() {
		leaves = append(leaves, ledger.HashLeafData(in))
	}
	return mustTree(t, leaves, batch), leaves
}

func TestRootVectors(t *testing.T) {
	ctx := context.Background()
	want := testonly.RootHashes()
	for _, batch := range []int{1, 3, 8} {
		t.Run(fmt.Sprintf("batch%d", batch), func(t *testing.T) {
			m, _ := testonlyTree(t, batch)
			for size := range want {
				got, err := ledger.Root(ctx, m, uint64(size))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got[:], want[size]) {
					t.Errorf("root(%d) = %x, want %x", size, got, want[size])
				}
			}
		})
	}
}

func TestAppendReturnsRoot(t *testing.T) {
	ctx := context.Background()
	want := testonly.RootHashes()
	var m ledger.MemoryTiles
	for i, in := range testonly.LeafInputs() {
		root, err := ledger.Append(ctx, &m, uint64(i), []ledger.Hash{ledger.HashLeafData(in)})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(root[:], want[i+1]) {
			t.Errorf("append leaf %d: root %x, want %x", i, root, want[i+1])
		}
	}
}

func TestEmptyRoot(t *testing.T) {
	got, err := ledger.Root(context.Background(), &ledger.MemoryTiles{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := testonly.EmptyRootHash(); !bytes.Equal(got[:], want) || ledger.EmptyRoot() != got {
		t.Errorf("empty root %x, want %x", got, want)
	}
}

func TestLeafAndNodeHashVectors(t *testing.T) {
	nodes := testonly.NodeHashes()
	for i, in := range testonly.LeafInputs() {
		if got := ledger.HashLeafData(in); !bytes.Equal(got[:], nodes[0][i]) {
			t.Errorf("leaf %d: %x, want %x", i, got, nodes[0][i])
		}
	}
	// Node hashes come out of the tree: the root at 2^k is node (k, 0).
	m, _ := testonlyTree(t, 8)
	for lvl := 1; lvl < len(nodes); lvl++ {
		got, err := ledger.Root(context.Background(), m, 1<<lvl)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[:], nodes[lvl][0]) {
			t.Errorf("node (%d,0) = %x, want %x", lvl, got, nodes[lvl][0])
		}
	}
}

// The vectors of transparency-dev/merkle's proof/verify_test.go (leaf
// numbers there are 1-based) and of RFC 6962's reference implementation.
var inclusionVectors = []struct {
	index, size uint64
	path        []string
}{
	{0, 1, nil},
	{0, 8, []string{"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
	{5, 8, []string{"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
	{2, 3, []string{"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
	{1, 5, []string{"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
}

var consistencyVectors = []struct {
	size1, size2 uint64
	path         []string
}{
	{1, 1, nil},
	{1, 8, []string{"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
	{6, 8, []string{"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
	{2, 5, []string{"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
	{6, 7, []string{"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a", "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
}

func hexPath(p []ledger.Hash) []string {
	var out []string
	for _, h := range p {
		out = append(out, hex.EncodeToString(h[:]))
	}
	return out
}

func TestInclusionProofVectors(t *testing.T) {
	ctx := context.Background()
	m, leaves := testonlyTree(t, 8)
	roots := testonly.RootHashes()
	for _, v := range inclusionVectors {
		t.Run(fmt.Sprintf("%d_%d", v.index, v.size), func(t *testing.T) {
			got, err := ledger.InclusionProof(ctx, m, v.index, v.size)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(hexPath(got), v.path) {
				t.Errorf("proof %v, want %v", hexPath(got), v.path)
			}
			root, _ := ledger.HashFromBytes(roots[v.size])
			if err := ledger.VerifyInclusion(v.index, v.size, leaves[v.index], got, root); err != nil {
				t.Errorf("verify: %v", err)
			}
		})
	}
}

func TestConsistencyProofVectors(t *testing.T) {
	ctx := context.Background()
	m, _ := testonlyTree(t, 8)
	roots := testonly.RootHashes()
	for _, v := range consistencyVectors {
		t.Run(fmt.Sprintf("%d_%d", v.size1, v.size2), func(t *testing.T) {
			got, err := ledger.ConsistencyProof(ctx, m, v.size1, v.size2)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(hexPath(got), v.path) {
				t.Errorf("proof %v, want %v", hexPath(got), v.path)
			}
			r1, _ := ledger.HashFromBytes(roots[v.size1])
			r2, _ := ledger.HashFromBytes(roots[v.size2])
			if err := ledger.VerifyConsistency(v.size1, v.size2, got, r1, r2); err != nil {
				t.Errorf("verify: %v", err)
			}
		})
	}
}

// TestAgainstRFC compares roots and proofs with the recursive definitions of
// RFC 6962 across tile boundaries, for trees built in batches of several
// sizes. The oracle is computed once per size and shared by the trees.
func TestAgainstRFC(t *testing.T) {
	ctx := context.Background()
	const n = 600
	leaves := syntheticLeaves(n)
	raw := toBytes(leaves)
	batches := []int{1, 5, 256, 600}
	trees := make([]*ledger.MemoryTiles, len(batches))
	for i, b := range batches {
		trees[i] = mustTree(t, leaves, b)
	}
	for size := 0; size <= n; size++ {
		if size > 300 && size%50 != 0 && size%256 > 2 {
			continue // keep the quadratic oracle affordable
		}
		wantRoot := rfcMTH(raw[:size])
		type proofCase struct {
			a, b int
			want [][]byte
		}
		var incl, cons []proofCase
		for _, idx := range []int{0, size / 3, size / 2, size - 2, size - 1} {
			if idx >= 0 && idx < size {
				incl = append(incl, proofCase{idx, size, rfcPath(idx, raw[:size])})
			}
		}
		for _, s1 := range []int{1, 2, 3, size / 2, size - 1, size} {
			if s1 >= 1 && s1 <= size {
				cons = append(cons, proofCase{s1, size, rfcProof(s1, raw[:size])})
			}
		}
		for i, m := range trees {
			root, err := ledger.Root(ctx, m, uint64(size))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(root[:], wantRoot) {
				t.Fatalf("batch %d: root(%d) = %x, want %x", batches[i], size, root, wantRoot)
			}
			for _, c := range incl {
				p, err := ledger.InclusionProof(ctx, m, uint64(c.a), uint64(c.b))
				if err != nil {
					t.Fatal(err)
				}
				if !slices.EqualFunc(toBytes(p), c.want, bytes.Equal) {
					t.Fatalf("batch %d: inclusion(%d, %d) differs from RFC PATH", batches[i], c.a, c.b)
				}
			}
			for _, c := range cons {
				p, err := ledger.ConsistencyProof(ctx, m, uint64(c.a), uint64(c.b))
				if err != nil {
					t.Fatal(err)
				}
				if !slices.EqualFunc(toBytes(p), c.want, bytes.Equal) {
					t.Fatalf("batch %d: consistency(%d, %d) differs from RFC PROOF", batches[i], c.a, c.b)
				}
			}
		}
	}
}

// TestLargeTree crosses the second tile level (65,536 leaves) and checks
// against the merkle package's reference tree.
func TestLargeTree(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 70,000-leaf reference tree")
	}
	ctx := context.Background()
	const n = 70000
	leaves := syntheticLeaves(n)
	ref := testonly.New(rfc6962.DefaultHasher)
	ref.Append(toBytes(leaves)...)
	rng := rand.New(rand.NewPCG(1, 2))
	var m ledger.MemoryTiles
	for size := 0; size < n; {
		k := min(1+rng.IntN(5000), n-size)
		root, err := ledger.Append(ctx, &m, uint64(size), leaves[size:size+k])
		if err != nil {
			t.Fatal(err)
		}
		size += k
		if want := ref.HashAt(uint64(size)); !bytes.Equal(root[:], want) {
			t.Fatalf("root after append to %d = %x, want %x", size, root, want)
		}
	}
	for range 200 {
		size := 1 + rng.Uint64N(n)
		idx := rng.Uint64N(size)
		p, err := ledger.InclusionProof(ctx, &m, idx, size)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := ref.InclusionProof(idx, size)
		if !slices.EqualFunc(toBytes(p), want, bytes.Equal) {
			t.Fatalf("inclusion(%d, %d) differs from the reference", idx, size)
		}
		s1 := 1 + rng.Uint64N(size)
		c, err := ledger.ConsistencyProof(ctx, &m, s1, size)
		if err != nil {
			t.Fatal(err)
		}
		wantC, _ := ref.ConsistencyProof(s1, size)
		if !slices.EqualFunc(toBytes(c), wantC, bytes.Equal) {
			t.Fatalf("consistency(%d, %d) differs from the reference", s1, size)
		}
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, s1, size, toBytes(c), ref.HashAt(s1), ref.HashAt(size)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAppendBatchingInvariant checks that the stored tiles do not depend on
// how the leaves were batched: the SQL store appends one command at a time
// or in batches, and both must serve the same proofs.
func TestAppendBatchingInvariant(t *testing.T) {
	ctx := context.Background()
	leaves := syntheticLeaves(1300)
	want := mustTree(t, leaves, len(leaves))
	// AppendLeaves, one leaf at a time as commands do, must write the same.
	var noRoots ledger.MemoryTiles
	for i := range leaves {
		if err := ledger.AppendLeaves(ctx, &noRoots, uint64(i), leaves[i:i+1]); err != nil {
			t.Fatal(err)
		}
	}
	trees := map[string]*ledger.MemoryTiles{"AppendLeaves": &noRoots}
	for _, batch := range []int{1, 17, 255, 256, 257} {
		trees[fmt.Sprintf("batch %d", batch)] = mustTree(t, leaves, batch)
	}
	for batch, got := range trees {
		if got.Len() != want.Len() {
			t.Fatalf("%s: %d tiles, want %d", batch, got.Len(), want.Len())
		}
		for lvl := range uint8(2) {
			for idx := range uint64(6) {
				id := []ledger.TileID{{Level: lvl, Index: idx}}
				a, _ := got.ReadTiles(ctx, id)
				b, _ := want.ReadTiles(ctx, id)
				if !slices.Equal(a[0], b[0]) {
					t.Errorf("%s: tile %+v differs", batch, id[0])
				}
			}
		}
	}
}

func TestAppendRefusesMismatchedSize(t *testing.T) {
	ctx := context.Background()
	m := mustTree(t, syntheticLeaves(300), 300)
	tests := []struct {
		name string
		size uint64
	}{
		{"Behind", 299},    // the tiles hold a leaf at 299 already
		{"Ahead", 301},     // the tiles lack leaf 300
		{"AheadTile", 600}, // the tiles lack a whole tile
		{"Zero", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := m.Len()
			if _, err := ledger.Append(ctx, m, tt.size, syntheticLeaves(1)); err == nil {
				t.Fatalf("append at size %d to a 300-leaf tree succeeded", tt.size)
			}
			if err := ledger.AppendLeaves(ctx, m, tt.size, syntheticLeaves(1)); err == nil {
				t.Fatalf("AppendLeaves at size %d to a 300-leaf tree succeeded", tt.size)
			}
			if m.Len() != before {
				t.Errorf("a refused append wrote tiles")
			}
		})
	}
	if _, err := ledger.Append(ctx, m, 300, syntheticLeaves(1)); err != nil {
		t.Fatalf("append at the right size: %v", err)
	}
}

func TestProofArgumentErrors(t *testing.T) {
	ctx := context.Background()
	m := mustTree(t, syntheticLeaves(10), 10)
	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"InclusionIndexAtSize", func() error { _, err := ledger.InclusionProof(ctx, m, 10, 10); return err }, domain.EINVALID},
		{"InclusionEmpty", func() error { _, err := ledger.InclusionProof(ctx, m, 0, 0); return err }, domain.EINVALID},
		{"ConsistencyFromZero", func() error { _, err := ledger.ConsistencyProof(ctx, m, 0, 5); return err }, domain.EINVALID},
		{"ConsistencyBackwards", func() error { _, err := ledger.ConsistencyProof(ctx, m, 6, 5); return err }, domain.EINVALID},
		{"LeafHashesBackwards", func() error { _, err := ledger.LeafHashes(ctx, m, 6, 5); return err }, domain.EINVALID},
		{"InclusionBeyondTiles", func() error { _, err := ledger.InclusionProof(ctx, m, 3, 20); return err }, domain.EINTERNAL},
		{"RootBeyondTiles", func() error { _, err := ledger.Root(ctx, m, 11); return err }, domain.EINTERNAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := domain.ErrorCode(tt.call()); got != tt.code {
				t.Errorf("error code %q, want %q", got, tt.code)
			}
		})
	}
}

func TestLeafHashes(t *testing.T) {
	ctx := context.Background()
	leaves := syntheticLeaves(700)
	m := mustTree(t, leaves, 100)
	for _, r := range [][2]uint64{{0, 0}, {0, 1}, {0, 700}, {255, 257}, {256, 512}, {699, 700}, {10, 600}} {
		got, err := ledger.LeafHashes(ctx, m, r[0], r[1])
		if err != nil {
			t.Fatalf("%v: %v", r, err)
		}
		if !slices.Equal(got, leaves[r[0]:r[1]]) {
			t.Errorf("LeafHashes%v differs", r)
		}
	}
	if _, err := ledger.LeafHashes(ctx, m, 600, 701); err == nil {
		t.Error("LeafHashes past the tree succeeded")
	}
}

func TestTileHashesRoundTrip(t *testing.T) {
	hs := syntheticLeaves(3)
	got, err := ledger.UnmarshalTileHashes(ledger.MarshalTileHashes(hs))
	if err != nil || !slices.Equal(got, hs) {
		t.Fatalf("round trip: %v %v", got, err)
	}
	for _, n := range []int{1, 31, 33, 257 * 32} {
		if _, err := ledger.UnmarshalTileHashes(make([]byte, n)); err == nil {
			t.Errorf("%d bytes accepted", n)
		}
	}
}

func TestMemoryTilesRefusesRewrite(t *testing.T) {
	ctx := context.Background()
	var m ledger.MemoryTiles
	hs := syntheticLeaves(3)
	if err := m.WriteTiles(ctx, []ledger.Tile{{Hashes: hs[:2]}}); err != nil {
		t.Fatal(err)
	}
	if err := m.WriteTiles(ctx, []ledger.Tile{{Hashes: hs[1:3]}}); err == nil {
		t.Error("a write changing a stored hash succeeded")
	}
	if err := m.WriteTiles(ctx, []ledger.Tile{{Hashes: hs[:1]}}); err == nil {
		t.Error("a write shrinking a tile succeeded")
	}
	if err := m.WriteTiles(ctx, []ledger.Tile{{Hashes: hs}}); err != nil {
		t.Errorf("a write growing a tile failed: %v", err)
	}
}

// TestExtendLeavesAfterAnInterruptedAppend: tiles written past the size a
// writer restarts from (a crash before the checkpoint) are written again,
// and the tree ends up exactly as if nothing had been interrupted.
func TestExtendLeavesAfterAnInterruptedAppend(t *testing.T) {
	ctx := context.Background()
	leaves := syntheticLeaves(70000)
	want := mustTree(t, leaves, 70000)
	for _, tc := range []struct{ from, interrupted, to int }{
		{0, 300, 300}, {0, 300, 1000}, {256, 512, 600}, {65000, 65536, 70000}, {100, 101, 70000},
	} {
		var m ledger.MemoryTiles
		if err := ledger.AppendLeaves(ctx, &m, 0, leaves[:tc.from]); err != nil {
			t.Fatal(err)
		}
		if err := ledger.AppendLeaves(ctx, &m, uint64(tc.from), leaves[tc.from:tc.interrupted]); err != nil {
			t.Fatal(err)
		}
		// The restart knows only tc.from (its last checkpoint).
		if err := ledger.AppendLeaves(ctx, &m, uint64(tc.from), leaves[tc.from:tc.to]); err == nil && tc.interrupted > tc.from {
			t.Fatalf("%+v: AppendLeaves over tiles ahead of the log succeeded", tc)
		}
		if err := ledger.ExtendLeaves(ctx, &m, uint64(tc.from), leaves[tc.from:tc.to]); err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		got, err := ledger.Root(ctx, &m, uint64(tc.to))
		if err != nil {
			t.Fatal(err)
		}
		if r, _ := ledger.Root(ctx, want, uint64(tc.to)); got != r {
			t.Fatalf("%+v: root %s, want %s", tc, got, r)
		}
		// And it goes on as a normal tree.
		if err := ledger.AppendLeaves(ctx, &m, uint64(tc.to), leaves[tc.to:]); err != nil {
			t.Fatalf("%+v: append after: %v", tc, err)
		}
	}
}
