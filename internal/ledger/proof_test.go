package ledger_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/chipgate/chipgate/internal/ledger"
)

// TestConsistencyFromEmptyTreeRejected is the case the issue names: the
// merkle package accepts an empty proof from size 0; chipgate must not.
func TestConsistencyFromEmptyTreeRejected(t *testing.T) {
	root, empty := ledger.HashLeafData([]byte("x")), ledger.EmptyRoot()
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, 0, 1, nil, empty[:], root[:]); err != nil {
		t.Fatalf("the premise changed: merkle now rejects it (%v); this guard may be redundant", err)
	}
	tests := []struct {
		name  string
		size2 uint64
		path  []ledger.Hash
	}{
		{"EmptyProof", 1, nil},
		{"EmptyProofLarge", 1 << 40, []ledger.Hash{}},
		{"EmptyToEmpty", 0, nil},
		{"NonEmptyProof", 2, []ledger.Hash{root}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ledger.VerifyConsistency(0, tt.size2, tt.path, ledger.EmptyRoot(), root)
			if !errors.Is(err, ledger.ErrProofFromEmptyTree) {
				t.Errorf("error %v, want ErrProofFromEmptyTree", err)
			}
		})
	}
	if _, err := ledger.DecodeConsistencyProof([]byte(`{"size1":0,"size2":5,"hashes":[]}`)); !errors.Is(err, ledger.ErrProofFromEmptyTree) {
		t.Errorf("decode: %v, want ErrProofFromEmptyTree", err)
	}
}

func TestVerifyRejectsTamperedProofs(t *testing.T) {
	ctx := context.Background()
	leaves := syntheticLeaves(1000)
	m := mustTree(t, leaves, 1000)
	root600, _ := ledger.Root(ctx, m, 600)
	root1000, _ := ledger.Root(ctx, m, 1000)
	incl, _ := ledger.InclusionProof(ctx, m, 123, 600)
	cons, _ := ledger.ConsistencyProof(ctx, m, 600, 1000)
	if err := ledger.VerifyInclusion(123, 600, leaves[123], incl, root600); err != nil {
		t.Fatalf("valid inclusion proof: %v", err)
	}
	if err := ledger.VerifyConsistency(600, 1000, cons, root600, root1000); err != nil {
		t.Fatalf("valid consistency proof: %v", err)
	}
	flip := func(p []ledger.Hash, i int) []ledger.Hash {
		q := append([]ledger.Hash(nil), p...)
		q[i][0] ^= 1
		return q
	}
	inclTests := []struct {
		name        string
		index, size uint64
		leaf        ledger.Hash
		path        []ledger.Hash
		root        ledger.Hash
	}{
		{"WrongLeaf", 123, 600, leaves[124], incl, root600},
		{"WrongIndex", 124, 600, leaves[123], incl, root600},
		{"WrongSize", 123, 2000, leaves[123], incl, root600}, // 601 would take the same path shape
		{"WrongRoot", 123, 600, leaves[123], incl, root1000},
		{"FlippedFirst", 123, 600, leaves[123], flip(incl, 0), root600},
		{"FlippedLast", 123, 600, leaves[123], flip(incl, len(incl)-1), root600},
		{"Truncated", 123, 600, leaves[123], incl[:len(incl)-1], root600},
		{"Extended", 123, 600, leaves[123], append(append([]ledger.Hash(nil), incl...), root600), root600},
		{"Empty", 123, 600, leaves[123], nil, root600},
	}
	for _, tt := range inclTests {
		t.Run("Inclusion"+tt.name, func(t *testing.T) {
			if err := ledger.VerifyInclusion(tt.index, tt.size, tt.leaf, tt.path, tt.root); err == nil {
				t.Error("accepted")
			}
		})
	}
	consTests := []struct {
		name         string
		size1, size2 uint64
		path         []ledger.Hash
		root1, root2 ledger.Hash
	}{
		{"WrongRoot1", 600, 1000, cons, root1000, root1000},
		{"WrongRoot2", 600, 1000, cons, root600, root600},
		{"WrongSize1", 601, 1000, cons, root600, root1000},
		{"Flipped", 600, 1000, flip(cons, 1), root600, root1000},
		{"Truncated", 600, 1000, cons[1:], root600, root1000},
		{"Backwards", 1000, 600, cons, root1000, root600},
		{"SameSizeDifferentRoots", 600, 600, nil, root600, root1000},
	}
	for _, tt := range consTests {
		t.Run("Consistency"+tt.name, func(t *testing.T) {
			if err := ledger.VerifyConsistency(tt.size1, tt.size2, tt.path, tt.root1, tt.root2); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestProofJSONRoundTrip(t *testing.T) {
	ctx := context.Background()
	leaves := syntheticLeaves(50)
	m := mustTree(t, leaves, 50)
	path, _ := ledger.InclusionProof(ctx, m, 7, 50)
	in := ledger.InclusionProofJSON{Index: 7, TreeSize: 50, LeafHash: &leaves[7], Hashes: path}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ledger.DecodeInclusionProof(b)
	if err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	root, _ := ledger.Root(ctx, m, 50)
	if err := ledger.VerifyInclusion(out.Index, out.TreeSize, *out.LeafHash, out.Hashes, root); err != nil {
		t.Errorf("decoded proof does not verify: %v", err)
	}
	cp, _ := ledger.ConsistencyProof(ctx, m, 20, 50)
	cb, _ := json.Marshal(ledger.ConsistencyProofJSON{Size1: 20, Size2: 50, Hashes: cp})
	cout, err := ledger.DecodeConsistencyProof(cb)
	if err != nil {
		t.Fatalf("decode %s: %v", cb, err)
	}
	r20, _ := ledger.Root(ctx, m, 20)
	if err := ledger.VerifyConsistency(cout.Size1, cout.Size2, cout.Hashes, r20, root); err != nil {
		t.Errorf("decoded proof does not verify: %v", err)
	}
}

func TestDecodeProofRejects(t *testing.T) {
	h := ledger.EmptyRoot().String()
	many := strings.Repeat(`"`+h+`",`, ledger.MaxProofHashes) + `"` + h + `"`
	tests := []struct {
		name, in string
	}{
		{"Empty", ``},
		{"Null", `null`},
		{"NotObject", `[1,2]`},
		{"IndexAtSize", `{"index":3,"tree_size":3,"hashes":[]}`},
		{"UnknownField", `{"index":0,"tree_size":3,"hashes":[],"extra":1}`},
		{"Trailing", `{"index":0,"tree_size":3,"hashes":[]} {}`},
		{"ShortHash", `{"index":0,"tree_size":3,"hashes":["AAAA"]}`},
		{"LongHash", `{"index":0,"tree_size":3,"hashes":["` + h + `AAAA"]}`},
		{"NotBase64", `{"index":0,"tree_size":3,"hashes":["` + strings.Repeat("!", 44) + `"]}`},
		{"URLBase64", `{"index":0,"tree_size":3,"hashes":["` + strings.Repeat("_", 43) + `="]}`},
		{"TooMany", `{"index":0,"tree_size":3,"hashes":[` + many + `]}`},
		{"NegativeIndex", `{"index":-1,"tree_size":3,"hashes":[]}`},
		{"HashNumber", `{"index":0,"tree_size":3,"hashes":[1]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p, err := ledger.DecodeInclusionProof([]byte(tt.in)); err == nil {
				t.Errorf("accepted as %+v", p)
			}
		})
	}
	for _, in := range []string{`{"size1":5,"size2":4,"hashes":[]}`, `{"size1":1,"size2":4,"hashes":[],"x":0}`, `{"size1":1,"size2":4,"hashes":[` + many + `]}`} {
		if p, err := ledger.DecodeConsistencyProof([]byte(in)); err == nil {
			t.Errorf("%s accepted as %+v", in, p)
		}
	}
	if p, err := ledger.DecodeInclusionProof([]byte(` {"index":0,"tree_size":1,"hashes":[]}` + "\n")); err != nil || p.Hashes == nil {
		t.Errorf("valid proof of a one-leaf tree: %+v %v", p, err)
	}
}

func TestHashText(t *testing.T) {
	h := ledger.HashLeafData([]byte("chipgate"))
	b, _ := h.MarshalText()
	var got ledger.Hash
	if err := got.UnmarshalText(b); err != nil || got != h {
		t.Fatalf("round trip: %v %v", got, err)
	}
	if _, err := ledger.HashFromBytes(h[:31]); err == nil {
		t.Error("31-byte hash accepted")
	}
}
