package ledger_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/ledger"
)

// record returns a realistic audit record at index i: the size and shape of
// what the service writes for an order (a few hundred bytes of payload).
func record(i int64) domain.AuditRecord {
	var id uuid.UUID
	id[0], id[1], id[2], id[3] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
	id[6], id[8] = 0x70, 0x80 // version 7, RFC 4122 variant
	return domain.AuditRecord{
		Index:       i,
		ID:          id,
		At:          time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond),
		ActorUser:   "0197a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
		ActorParty:  "0197a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c",
		ActorRole:   "buyer",
		Action:      "order.placed",
		SubjectType: "order",
		SubjectID:   fmt.Sprintf("0197a1b2-c3d4-7e5f-8a9b-%012d", i),
		Payload:     []byte(fmt.Sprintf(`{"buyer_id":"0197a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c","decision":{"outcome":"accepted","reasons":[{"rule":"bis-2026-01-15-case-by-case","source":"90 FR 1234"}]},"id":"0197a1b2-c3d4-7e5f-8a9b-%012d","lines":[{"product_id":"h200-sxm-141gb","quantity":%d}],"site_id":"0197a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5d"}`, i, 8+i%64)),
	}
}

func records(n int) []domain.AuditRecord {
	out := make([]domain.AuditRecord, n)
	for i := range out {
		out[i] = record(int64(i))
	}
	return out
}

func leafHashes(tb testing.TB, recs []domain.AuditRecord) []ledger.Hash {
	tb.Helper()
	out := make([]ledger.Hash, len(recs))
	for i := range recs {
		h, err := ledger.LeafHash(&recs[i])
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = h
	}
	return out
}

// syntheticLeaves returns n distinct leaf hashes cheaply, for tree tests
// that do not care what the leaves encode.
func syntheticLeaves(n int) []ledger.Hash {
	out := make([]ledger.Hash, n)
	for i := range out {
		out[i] = sha256.Sum256([]byte(fmt.Sprint(i)))
	}
	return out
}

// mustTree appends leaves to a new MemoryTiles in batches of the given size.
func mustTree(tb testing.TB, leaves []ledger.Hash, batch int) *ledger.MemoryTiles {
	tb.Helper()
	ctx := context.Background()
	var m ledger.MemoryTiles
	for i := 0; i < len(leaves); i += batch {
		j := min(i+batch, len(leaves))
		if _, err := ledger.Append(ctx, &m, uint64(i), leaves[i:j]); err != nil {
			tb.Fatalf("append [%d,%d): %v", i, j, err)
		}
	}
	return &m
}

// The RFC 6962 section 2.1 definitions, written out recursively as the RFC
// states them: an oracle independent of the tiles, the compact range and the
// merkle package's proof code.

func rfcNode(l, r []byte) []byte {
	return sha256Sum(append(append([]byte{1}, l...), r...))
}

func sha256Sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

// split is the largest power of two smaller than n.
func split(n int) int {
	k := 1
	for k*2 < n {
		k *= 2
	}
	return k
}

// rfcMTH is MTH(D[n]) over leaf hashes.
func rfcMTH(d [][]byte) []byte {
	switch len(d) {
	case 0:
		return sha256Sum(nil)
	case 1:
		return d[0]
	}
	k := split(len(d))
	return rfcNode(rfcMTH(d[:k]), rfcMTH(d[k:]))
}

// rfcPath is PATH(m, D[n]).
func rfcPath(m int, d [][]byte) [][]byte {
	if len(d) <= 1 {
		return nil
	}
	k := split(len(d))
	if m < k {
		return append(rfcPath(m, d[:k]), rfcMTH(d[k:]))
	}
	return append(rfcPath(m-k, d[k:]), rfcMTH(d[:k]))
}

// rfcProof is PROOF(m, D[n]) = SUBPROOF(m, D[n], true).
func rfcProof(m int, d [][]byte) [][]byte { return rfcSubproof(m, d, true) }

func rfcSubproof(m int, d [][]byte, b bool) [][]byte {
	n := len(d)
	if m == n {
		if b {
			return nil
		}
		return [][]byte{rfcMTH(d)}
	}
	k := split(n)
	if m <= k {
		return append(rfcSubproof(m, d[:k], b), rfcMTH(d[k:]))
	}
	return append(rfcSubproof(m-k, d[k:], false), rfcMTH(d[:k]))
}

func toBytes(hs []ledger.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = append([]byte(nil), hs[i][:]...)
	}
	return out
}
