package store

import (
	"testing"
	"time"
)

// FuzzParseSQLiteTime: the fast parser of stored instants agrees with
// time.Parse (as dbTime used it) on every input it takes; what it does
// not take goes to time.Parse.
func FuzzParseSQLiteTime(f *testing.F) {
	for _, s := range []string{"2026-01-15T09:00:00.000000000Z", "2026-02-30T09:00:00.000000000Z", "2026-12-31T23:59:59.999999000Z",
		"0001-01-01T00:00:00.000000000Z", "2026-01-15T09:00:60.000000000Z", "2026-01-15T24:00:00.000000000Z", "2026-01-15T09:00:00.00000000+Z",
		"2026-01-15T09:00:00.123Z", "2026-01-15 09:00:00.000000000Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseSQLiteTime(s)
		want, err := time.Parse(time.RFC3339Nano, s)
		if ok && (err != nil || !got.Equal(want) || got != want.UTC()) {
			t.Fatalf("%q: fast %v, time.Parse %v %v", s, got, want, err)
		}
	})
}

// TestParseSQLiteTimeWritten: what tx.time writes parses back to the instant.
func TestParseSQLiteTimeWritten(t *testing.T) {
	tx := &tx{s: &sqlStore{dialect: "sqlite"}}
	for _, at := range []time.Time{time.Date(2026, 2, 28, 23, 59, 59, 999999000, time.UTC), time.Date(1999, 12, 31, 0, 0, 0, 1000, time.FixedZone("x", 3600))} {
		s := tx.time(at).(string)
		got, ok := parseSQLiteTime(s)
		if !ok || !got.Equal(at) {
			t.Errorf("%s: %v %v, want %v", s, got, ok, at)
		}
	}
}
