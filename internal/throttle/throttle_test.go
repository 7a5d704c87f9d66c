package throttle_test

import (
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/throttle"
)

// TestBucket: a key gets Burst events at once and Rate a second after;
// Empty takes nothing; keys do not share buckets.
func TestBucket(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	b := throttle.New(2, 3)
	for i := range 3 {
		if empty, _ := b.Empty("a", t0); empty {
			t.Fatalf("empty before event %d", i)
		}
		if ok, _ := b.Take("a", t0); !ok {
			t.Fatalf("event %d within the burst refused", i)
		}
	}
	ok, wait := b.Take("a", t0)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("past the burst: %v, wait %s; want refused, 500ms", ok, wait)
	}
	if empty, wait := b.Empty("a", t0); !empty || wait != 500*time.Millisecond {
		t.Fatalf("Empty past the burst = %v, %s", empty, wait)
	}
	if ok, _ := b.Take("b", t0); !ok {
		t.Fatal("another key was refused")
	}
	if ok, _ := b.Take("a", t0.Add(500*time.Millisecond)); !ok {
		t.Fatal("refused after the refill")
	}
	if ok, _ := b.Take("a", t0.Add(500*time.Millisecond)); ok {
		t.Fatal("a second event after one refill was allowed")
	}
	// An idle key is forgotten, and comes back full.
	later := t0.Add(time.Hour)
	for i := range 3 {
		if ok, _ := b.Take("a", later); !ok {
			t.Fatalf("event %d after an idle hour refused", i)
		}
	}
}
