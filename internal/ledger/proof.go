package ledger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/proof"
)

// MaxProofHashes bounds the hashes a decoded proof may hold. An inclusion
// proof in a tree of fewer than 2^64 leaves has at most 64, a consistency
// proof at most 65; anything longer is garbage and is refused before it costs
// memory.
const MaxProofHashes = 65

// ErrProofFromEmptyTree is returned for a consistency proof whose first size
// is 0. The merkle package accepts such a proof when it is empty, since every
// tree extends the empty one; chipgate refuses it because it proves nothing,
// and a client that accepted it would believe it had checked something.
var ErrProofFromEmptyTree = errors.New("ledger: no consistency proof from the empty tree")

// VerifyInclusion checks that leaf is the leaf hash at index in the tree of
// the given size whose root is root, given its audit path.
func VerifyInclusion(index, size uint64, leaf Hash, path []Hash, root Hash) error {
	if err := proof.VerifyInclusion(hasher, index, size, leaf[:], hashSlices(path), root[:]); err != nil {
		return fmt.Errorf("ledger: inclusion of leaf %d in tree of size %d: %w", index, size, err)
	}
	return nil
}

// VerifyConsistency checks that the tree of size2 with root2 extends the tree
// of size1 with root1, given the consistency proof between them. It requires
// 0 < size1 <= size2 and rejects size1 == 0 with ErrProofFromEmptyTree (see
// there); a holder of the empty tree's checkpoint has nothing to check.
func VerifyConsistency(size1, size2 uint64, path []Hash, root1, root2 Hash) error {
	if size1 == 0 {
		return ErrProofFromEmptyTree
	}
	if err := proof.VerifyConsistency(hasher, size1, size2, hashSlices(path), root1[:], root2[:]); err != nil {
		return fmt.Errorf("ledger: consistency of tree size %d with size %d: %w", size1, size2, err)
	}
	return nil
}

func hashSlices(hs []Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

// InclusionProofJSON is the API's form of an inclusion proof, for example
//
//	{"index":5,"tree_size":8,"leaf_hash":"…","hashes":["…","…","…"]}
//
// with every hash in standard base64. LeafHash is optional for the server to
// fill: a client recomputes it from the record it holds (LeafHash).
type InclusionProofJSON struct {
	Index    uint64 `json:"index"`
	TreeSize uint64 `json:"tree_size"`
	LeafHash *Hash  `json:"leaf_hash,omitempty"`
	Hashes   []Hash `json:"hashes"`
}

// ConsistencyProofJSON is the API's form of a consistency proof:
//
//	{"size1":3,"size2":8,"hashes":["…","…"]}
type ConsistencyProofJSON struct {
	Size1  uint64 `json:"size1"`
	Size2  uint64 `json:"size2"`
	Hashes []Hash `json:"hashes"`
}

// DecodeInclusionProof parses an InclusionProofJSON strictly: unknown
// fields, trailing data, a hash that is not 32 bytes, more than
// MaxProofHashes hashes or index >= tree_size are errors. It does not verify
// the proof; VerifyInclusion does.
func DecodeInclusionProof(data []byte) (InclusionProofJSON, error) {
	var p InclusionProofJSON
	if err := decodeStrict(data, &p); err != nil {
		return InclusionProofJSON{}, fmt.Errorf("ledger: inclusion proof: %w", err)
	}
	if p.Index >= p.TreeSize {
		return InclusionProofJSON{}, fmt.Errorf("ledger: inclusion proof: index %d is not in a tree of size %d", p.Index, p.TreeSize)
	}
	if len(p.Hashes) > MaxProofHashes {
		return InclusionProofJSON{}, fmt.Errorf("ledger: inclusion proof: %d hashes, at most %d", len(p.Hashes), MaxProofHashes)
	}
	if p.Hashes == nil {
		p.Hashes = []Hash{}
	}
	return p, nil
}

// DecodeConsistencyProof parses a ConsistencyProofJSON as strictly as
// DecodeInclusionProof, and rejects size1 == 0 and size1 > size2.
func DecodeConsistencyProof(data []byte) (ConsistencyProofJSON, error) {
	var p ConsistencyProofJSON
	if err := decodeStrict(data, &p); err != nil {
		return ConsistencyProofJSON{}, fmt.Errorf("ledger: consistency proof: %w", err)
	}
	if p.Size1 == 0 {
		return ConsistencyProofJSON{}, ErrProofFromEmptyTree
	}
	if p.Size1 > p.Size2 {
		return ConsistencyProofJSON{}, fmt.Errorf("ledger: consistency proof: size1 %d is larger than size2 %d", p.Size1, p.Size2)
	}
	if len(p.Hashes) > MaxProofHashes {
		return ConsistencyProofJSON{}, fmt.Errorf("ledger: consistency proof: %d hashes, at most %d", len(p.Hashes), MaxProofHashes)
	}
	if p.Hashes == nil {
		p.Hashes = []Hash{}
	}
	return p, nil
}

// maxProofJSON bounds the bytes a proof may take: 65 base64 hashes and the
// numbers fit in well under 8 KiB.
const maxProofJSON = 8 << 10

func decodeStrict(data []byte, v any) error {
	if len(data) > maxProofJSON {
		return fmt.Errorf("%d bytes, at most %d", len(data), maxProofJSON)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if len(bytes.TrimSpace(data[dec.InputOffset():])) > 0 {
		return errors.New("trailing data")
	}
	return nil
}
