package store_test

import (
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// TestMigrate checks Migrations and Migrate: both dialects have the same
// migrations, numbered from 1 up, each number once (a number handed to a
// branch not yet landed may be missing), and an unknown dialect has
// none; Migrate applies every migration to a new database, in order, and
// returns their names; run again, it applies none; on PostgreSQL, replicas
// migrating one database at once apply each migration once between them.
func TestMigrate(t *testing.T) {
	names := func(t *testing.T, dialect string) []string {
		t.Helper()
		ms, err := store.Migrations(dialect)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for i, m := range ms {
			if m.Version < 1 || i > 0 && m.Version <= ms[i-1].Version || m.SQL == "" {
				t.Errorf("%s migration %d: version %d, %d bytes of SQL", dialect, i, m.Version, len(m.SQL))
			}
			out = append(out, m.Name)
		}
		return out
	}

	t.Run("DialectsAgree", func(t *testing.T) {
		sqlite, postgres := names(t, "sqlite"), names(t, "postgres")
		if len(sqlite) < 11 {
			t.Fatalf("%d migrations", len(sqlite))
		}
		equal(t, "PostgreSQL's migrations", postgres, sqlite)
		if _, err := store.Migrations("mysql"); err == nil {
			t.Error("Migrations(unknown dialect) succeeded")
		}
	})

	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		t.Run("Fresh", func(t *testing.T) {
			st, _ := openUnmigrated(t, b)
			applied, err := store.Migrate(t.Context(), st)
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "applied", applied, names(t, b.Name))
			again, err := store.Migrate(t.Context(), st)
			if err != nil || len(again) != 0 {
				t.Fatalf("second migrate applied %v, %v", again, err)
			}
			// The migrated store works.
			seedToken(t, st)
		})

		t.Run("RerunAppliesNothing", func(t *testing.T) {
			st, _ := b.Open(t)
			applied, err := store.Migrate(t.Context(), st)
			if err != nil || len(applied) != 0 {
				t.Fatalf("second migrate applied %v, %v", applied, err)
			}
		})

		t.Run("ReplicasAtOnce", func(t *testing.T) {
			if b.Name != "postgres" {
				t.Skip("one process owns a SQLite database")
			}
			_, dsn := openUnmigrated(t, b)
			var wg sync.WaitGroup
			var mu sync.Mutex
			var all []string
			for range 4 {
				st, err := store.Open(t.Context(), dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				wg.Go(func() {
					applied, err := store.Migrate(t.Context(), st)
					if err != nil {
						t.Error(err)
					}
					mu.Lock()
					all = append(all, applied...)
					mu.Unlock()
				})
			}
			wg.Wait()
			slices.Sort(all)
			equal(t, "migrations applied by the replicas together", all, names(t, b.Name))
		})
	})
}

// openUnmigrated opens a new, empty database of the backend without
// migrating it, closed when the test ends, and returns its DSN.
func openUnmigrated(t *testing.T, b storetest.Backend) (store.Store, string) {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "chipgate.db")
	if b.Name == "postgres" {
		dsn = storetest.FreshPostgresDSN(t)
	}
	st, err := store.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, dsn
}
