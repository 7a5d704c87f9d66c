package ledger_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/chipgate/chipgate/internal/ledger"
)

// Benchmarks for the targets; docs/BENCHMARKS.md has the
// figures and the commands. Throughputs are reported as entries/s.

func reportEntries(b *testing.B, perOp int) {
	b.ReportMetric(float64(perOp)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

func BenchmarkLeafHash(b *testing.B) {
	rec := record(123456)
	var lh ledger.LeafHasher
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lh.Hash(&rec); err != nil {
			b.Fatal(err)
		}
	}
	reportEntries(b, 1)
}

// BenchmarkVerify is "ledger verify" minus the database: leaf hashing of
// realistic records, tree recomputation and checkpoint checks, with and
// without comparing every leaf and node to stored tiles.
func BenchmarkVerify(b *testing.B) {
	const n = 1 << 17
	ctx := context.Background()
	l := newStoredLog(b, n, n/2, n)
	for _, bc := range []struct {
		name  string
		tiles ledger.TileReader
	}{{"records", nil}, {"records+tiles", l.tiles}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ledger.VerifyRecords(ctx, seq(l.recs), l.cps, bc.tiles); err != nil {
					b.Fatal(err)
				}
			}
			reportEntries(b, n)
		})
	}
}

// counterLeaves fills out with the leaf hashes of counters from start:
// distinct, cheap and reproducible.
func counterLeaves(out []ledger.Hash, start uint64) {
	var buf [8]byte
	for i := range out {
		binary.BigEndian.PutUint64(buf[:], start+uint64(i))
		out[i] = sha256.Sum256(buf[:])
	}
}

// BenchmarkAppend appends to an in-memory tree in batches: the maths the
// store runs inside each transaction, without the database.
func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	for _, batch := range []int{1, 100, 1000, 10000} {
		b.Run("batch"+itoa(batch), func(b *testing.B) {
			var m ledger.MemoryTiles
			leaves := make([]ledger.Hash, batch)
			size := uint64(0)
			b.ReportAllocs()
			for b.Loop() {
				counterLeaves(leaves, size)
				if _, err := ledger.Append(ctx, &m, size, leaves); err != nil {
					b.Fatal(err)
				}
				size += uint64(batch)
			}
			reportEntries(b, batch)
		})
	}
	b.Run("AppendLeaves/batch1", func(b *testing.B) {
		var m ledger.MemoryTiles
		var leaf [1]ledger.Hash
		size := uint64(0)
		b.ReportAllocs()
		for b.Loop() {
			counterLeaves(leaf[:], size)
			if err := ledger.AppendLeaves(ctx, &m, size, leaf[:]); err != nil {
				b.Fatal(err)
			}
			size++
		}
		reportEntries(b, 1)
	})
}

func itoa(n int) string {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(buf[i:])
		}
	}
}

// BenchmarkTree10M builds a ten-million-leaf in-memory tree once (about
// 640 MB) and serves proofs and roots from it at random positions.
func BenchmarkTree10M(b *testing.B) {
	const size = 10_000_000
	ctx := context.Background()
	var m ledger.MemoryTiles
	leaves := make([]ledger.Hash, 100_000)
	for done := uint64(0); done < size; done += uint64(len(leaves)) {
		counterLeaves(leaves, done)
		if _, err := ledger.Append(ctx, &m, done, leaves); err != nil {
			b.Fatal(err)
		}
	}
	root, err := ledger.Root(ctx, &m, size)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(6, 2))
	b.Run("InclusionProof", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ledger.InclusionProof(ctx, &m, rng.Uint64N(size), size); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("InclusionProofAndVerify", func(b *testing.B) {
		for b.Loop() {
			i := rng.Uint64N(size)
			p, err := ledger.InclusionProof(ctx, &m, i, size)
			if err != nil {
				b.Fatal(err)
			}
			var leaf [1]ledger.Hash
			counterLeaves(leaf[:], i)
			if err := ledger.VerifyInclusion(i, size, leaf[0], p, root); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ConsistencyProof", func(b *testing.B) {
		for b.Loop() {
			if _, err := ledger.ConsistencyProof(ctx, &m, 1+rng.Uint64N(size-1), size); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Root", func(b *testing.B) {
		for b.Loop() {
			if _, err := ledger.Root(ctx, &m, size-rng.Uint64N(1000)); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Last, since it grows the tree: one command's append on a log of ten
	// million entries (three tile levels to read and rehash).
	n := uint64(size)
	var leaf [1]ledger.Hash
	b.Run("AppendOne", func(b *testing.B) {
		for b.Loop() {
			counterLeaves(leaf[:], n)
			if _, err := ledger.Append(ctx, &m, n, leaf[:]); err != nil {
				b.Fatal(err)
			}
			n++
		}
	})
	b.Run("AppendLeavesOne", func(b *testing.B) {
		for b.Loop() {
			counterLeaves(leaf[:], n)
			if err := ledger.AppendLeaves(ctx, &m, n, leaf[:]); err != nil {
				b.Fatal(err)
			}
			n++
		}
	})
}

// BenchmarkAudit is "chipgate ledger audit DIR" on an export of 65,536
// records: reading, strict JSON parsing and re-encoding of every line, leaf
// hashing, the tree and checkpoint signatures.
func BenchmarkAudit(b *testing.B) {
	const n = 1 << 16
	k := newTestKey(b, testOrigin)
	l := newStoredLog(b, n, n/2, n)
	var signed [][]byte
	for _, c := range l.cps {
		signed = append(signed, mustSign(b, k.signer, c))
	}
	dir := b.TempDir() + "/export"
	if err := ledger.ExportDir(dir, k.vkey, seq(l.recs), signed); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := ledger.Audit(dir); err != nil {
			b.Fatal(err)
		}
	}
	reportEntries(b, n)
}
