package ledger_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/chipgate/chipgate/internal/ledger"
)

// fuzzTree is a small tree whose every root and proof the fuzz targets can
// compare with.
func fuzzTree(f *testing.F, n int) ([]ledger.Hash, []ledger.Hash, *ledger.MemoryTiles) {
	f.Helper()
	leaves := syntheticLeaves(n)
	m := mustTree(f, leaves, 7)
	roots := make([]ledger.Hash, n+1)
	for s := range roots {
		r, err := ledger.Root(context.Background(), m, uint64(s))
		if err != nil {
			f.Fatal(err)
		}
		roots[s] = r
	}
	return leaves, roots, m
}

func splitHashes(b []byte) []ledger.Hash {
	var out []ledger.Hash
	for len(b) >= ledger.HashSize && len(out) <= ledger.MaxProofHashes {
		var h ledger.Hash
		copy(h[:], b)
		out = append(out, h)
		b = b[ledger.HashSize:]
	}
	return out
}

// FuzzDecodeInclusionProof: decoding never panics, and a decoded proof that
// verifies against a real root proves the real leaf.
func FuzzDecodeInclusionProof(f *testing.F) {
	const n = 40
	leaves, roots, m := fuzzTree(f, n)
	for _, c := range [][2]uint64{{0, 1}, {5, 8}, {17, 40}, {39, 40}} {
		p, _ := ledger.InclusionProof(context.Background(), m, c[0], c[1])
		b, _ := json.Marshal(ledger.InclusionProofJSON{Index: c[0], TreeSize: c[1], LeafHash: &leaves[c[0]], Hashes: p})
		f.Add(b)
	}
	f.Add([]byte(`{"index":0,"tree_size":0,"hashes":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ledger.DecodeInclusionProof(data)
		if err != nil {
			return
		}
		if p.Index >= p.TreeSize || len(p.Hashes) > ledger.MaxProofHashes {
			t.Fatalf("decoded an invalid proof %+v", p)
		}
		if p.LeafHash == nil || p.TreeSize > n {
			return
		}
		if ledger.VerifyInclusion(p.Index, p.TreeSize, *p.LeafHash, p.Hashes, roots[p.TreeSize]) == nil && *p.LeafHash != leaves[p.Index] {
			t.Fatalf("proof of a false leaf at %d in tree %d verified", p.Index, p.TreeSize)
		}
	})
}

// FuzzDecodeConsistencyProof: decoding never panics, size 0 never decodes,
// and a proof that verifies from a real root only does so for the real
// later root.
func FuzzDecodeConsistencyProof(f *testing.F) {
	const n = 40
	_, roots, m := fuzzTree(f, n)
	for _, c := range [][2]uint64{{1, 1}, {3, 8}, {6, 7}, {17, 40}} {
		p, _ := ledger.ConsistencyProof(context.Background(), m, c[0], c[1])
		b, _ := json.Marshal(ledger.ConsistencyProofJSON{Size1: c[0], Size2: c[1], Hashes: p})
		f.Add(b, uint8(0))
	}
	f.Add([]byte(`{"size1":0,"size2":3,"hashes":[]}`), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, pick uint8) {
		p, err := ledger.DecodeConsistencyProof(data)
		if err != nil {
			return
		}
		if p.Size1 == 0 || p.Size1 > p.Size2 {
			t.Fatalf("decoded an invalid proof %+v", p)
		}
		if p.Size2 > n {
			return
		}
		k := int(pick) % len(roots)
		if uint64(k) > p.Size2 {
			// A larger tree's root can be the root of a size2 tree whose
			// last leaf hash is one of the larger tree's interior hashes
			// (the verifier sees hashes, never leaf data): no false claim
			// the proof could be blamed for. Only smaller trees' roots are
			// false for size2.
			return
		}
		claimed := roots[k]
		if ledger.VerifyConsistency(p.Size1, p.Size2, p.Hashes, roots[p.Size1], claimed) == nil && claimed != roots[p.Size2] {
			t.Fatalf("consistency %d→%d verified for a false root", p.Size1, p.Size2)
		}
	})
}

// FuzzVerifyInclusion feeds raw proofs: only the true leaf at the true index
// ever verifies.
func FuzzVerifyInclusion(f *testing.F) {
	const n = 40
	leaves, roots, m := fuzzTree(f, n)
	p, _ := ledger.InclusionProof(context.Background(), m, 9, 33)
	f.Add(uint64(9), uint64(33), uint8(9), bytes.Join(toBytes(p), nil))
	f.Add(uint64(0), uint64(1), uint8(0), []byte{})
	f.Fuzz(func(t *testing.T, index, size uint64, leaf uint8, proof []byte) {
		if size > n {
			size %= n + 1
		}
		lh := leaves[int(leaf)%n]
		if ledger.VerifyInclusion(index, size, lh, splitHashes(proof), roots[size]) == nil {
			if index >= size || lh != leaves[index] {
				t.Fatalf("leaf %d verified at index %d of tree %d", int(leaf)%n, index, size)
			}
		}
	})
}

// FuzzOpenCheckpoint: the checkpoint parser never panics, and what it
// accepts is well formed and signs back to the same checkpoint.
func FuzzOpenCheckpoint(f *testing.F) {
	k := newTestKey(f, testOrigin)
	root := ledger.HashLeafData([]byte("r"))
	f.Add(mustSign(f, k.signer, ledger.Checkpoint{Origin: testOrigin, Size: 7, Root: root}))
	f.Add(mustSign(f, k.signer, ledger.Checkpoint{Origin: testOrigin, Size: 0, Root: ledger.EmptyRoot()}))
	f.Add([]byte(testOrigin + "\n7\n" + root.String() + "\nextension\n\n— " + testOrigin + " AAAA\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ledger.OpenCheckpoint(data, k.verifier)
		if err != nil {
			return
		}
		if c.Origin != testOrigin || (c.Size == 0 && c.Root != ledger.EmptyRoot()) {
			t.Fatalf("opened a malformed checkpoint %+v", c)
		}
		again, err := ledger.OpenCheckpoint(mustSign(t, k.signer, c), k.verifier)
		if err != nil || again != c {
			t.Fatalf("re-signed %+v opens as %+v, %v", c, again, err)
		}
	})
}

// FuzzAuditEntries replaces an export's entries file: Audit never panics,
// and with a checkpoint signed at size 3 it passes only for the three
// original entries.
func FuzzAuditEntries(f *testing.F) {
	k := newTestKey(f, testOrigin)
	l := newStoredLog(f, 3, 3)
	dir := filepath.Join(f.TempDir(), "export")
	if err := ledger.ExportDir(dir, k.vkey, seq(l.recs), [][]byte{mustSign(f, k.signer, l.cps[0])}); err != nil {
		f.Fatal(err)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	orig, key, cp := read(ledger.ExportEntriesFile), read(ledger.ExportKeyFile), read(filepath.Join(ledger.ExportCheckpointsDir, "00000001.txt"))
	lines := bytes.SplitAfter(orig, []byte("\n"))
	f.Add(orig)
	f.Add(bytes.Join(lines[:2], nil))
	f.Add(append(slices.Clone(orig), lines[0]...))
	f.Fuzz(func(t *testing.T, entries []byte) {
		tdir := t.TempDir()
		if err := os.Mkdir(filepath.Join(tdir, ledger.ExportCheckpointsDir), 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range map[string][]byte{
			ledger.ExportKeyFile:                                key,
			ledger.ExportEntriesFile:                            entries,
			filepath.Join(ledger.ExportCheckpointsDir, "1.txt"): cp,
		} {
			if err := os.WriteFile(filepath.Join(tdir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		rep, err := ledger.Audit(tdir)
		if err == nil && (rep.Size < 3 || !bytes.HasPrefix(entries, orig)) {
			t.Fatalf("audit passed %d entries that are not the signed ones", rep.Size)
		}
	})
}
