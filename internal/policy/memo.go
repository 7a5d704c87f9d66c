package policy

import (
	"math"
	"sync/atomic"
)

// memo remembers recent texts that depend only on the rule and the chip —
// "CN: case-by-case review (license_required): TPP 15,832 < 21,000; ..." is
// the same for every H200 order to China — so that a decision does not
// format them again. It is a fixed table of 256 slots, each replaced on a
// miss: bounded whatever the input, lock-free to read, and invisible in
// results (a hit returns exactly what a miss would compute).
type memo[K comparable, V any] struct {
	slots [256]atomic.Pointer[memoEntry[K, V]]
}

type memoEntry[K comparable, V any] struct {
	key K
	val V
}

// get returns the value remembered for key.
func (m *memo[K, V]) get(h uint64, key K) (V, bool) {
	if e := m.slots[h&255].Load(); e != nil && e.key == key {
		return e.val, true
	}
	var zero V
	return zero, false
}

// put remembers the value for key, replacing whatever shared its slot.
func (m *memo[K, V]) put(h uint64, key K, val V) {
	m.slots[h&255].Store(&memoEntry[K, V]{key: key, val: val})
}

// hasher mixes the parts of a key: a word at a time for numbers, FNV-1a
// for the short strings (country codes, end uses). Only the low bits pick a
// slot, and a collision costs one recomputation, so speed beats quality.
type hasher uint64

func newHasher() hasher { return 14695981039346656037 }

func (h hasher) u64(v uint64) hasher {
	h ^= hasher(v)
	h *= 0x9E3779B97F4A7C15
	return h ^ h>>29
}

func (h hasher) f64(v float64) hasher { return h.u64(math.Float64bits(v)) }

func (h hasher) str(s string) hasher {
	for i := 0; i < len(s); i++ {
		h ^= hasher(s[i])
		h *= 1099511628211
	}
	return h
}

// destKey identifies a destination message: the rule version, the chip's
// figures, its US availability day and the destination.
type destKey struct {
	e       *entry
	tpp     float64
	bw      int
	day     int64
	country string
	eccn    string
}

func (k destKey) hash() uint64 {
	return uint64(newHasher().u64(uint64(k.e.Line)).f64(k.tpp).u64(uint64(k.bw)).u64(uint64(k.day)).str(k.country).str(k.eccn))
}

type destText struct {
	st  Status
	msg string
}

// dutyKey identifies a duty assessment.
type dutyKey struct {
	e      *entry
	tpp    float64
	bw     int
	endUse string
}

func (k dutyKey) hash() uint64 {
	return uint64(newHasher().u64(uint64(k.e.Line)).f64(k.tpp).u64(uint64(k.bw)).str(k.endUse))
}
