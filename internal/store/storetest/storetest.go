// Package storetest opens fresh, migrated stores for tests: a SQLite file in
// the test's temporary directory always, and a fresh PostgreSQL database
// whenever CHIPGATE_TEST_POSTGRES holds a DSN (for example
// postgres://postgres@127.0.0.1:5432/test). Each PostgreSQL store gets its own
// database, created for the test and dropped after it, so runs never collide.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver for creating databases

	"github.com/chipgate/chipgate/internal/store"
)

// Backend names a store implementation and opens a fresh one.
type Backend struct {
	Name string
	// Open returns a migrated, empty store closed when the test ends, and
	// its DSN (to open it again, as a restarted server would).
	Open func(tb testing.TB) (store.Store, string)
}

// Backends returns SQLite, and PostgreSQL when CHIPGATE_TEST_POSTGRES is set.
func Backends() []Backend {
	bs := []Backend{{Name: "sqlite", Open: OpenSQLite}}
	if os.Getenv("CHIPGATE_TEST_POSTGRES") != "" {
		bs = append(bs, Backend{Name: "postgres", Open: OpenPostgres})
	}
	return bs
}

// Run runs fn as a subtest once per backend.
func Run(t *testing.T, fn func(t *testing.T, b Backend)) {
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) { fn(t, b) })
	}
}

// OpenSQLite opens a migrated store in a new file under tb.TempDir().
func OpenSQLite(tb testing.TB) (store.Store, string) {
	tb.Helper()
	dsn := filepath.Join(tb.TempDir(), "chipgate.db")
	return MustOpen(tb, dsn), dsn
}

// FreshPostgresDSN creates an empty database on the server named by
// CHIPGATE_TEST_POSTGRES, drops it when the test ends, and returns its DSN.
// It skips the test when the variable is unset.
func FreshPostgresDSN(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("CHIPGATE_TEST_POSTGRES")
	if base == "" {
		tb.Skip("CHIPGATE_TEST_POSTGRES not set")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	name := "chipgate_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		admin.Close()
		tb.Fatalf("storetest: create database: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			tb.Errorf("storetest: drop database %s: %v", name, err)
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("storetest: CHIPGATE_TEST_POSTGRES: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// OpenPostgres opens a migrated store in a fresh PostgreSQL database.
func OpenPostgres(tb testing.TB) (store.Store, string) {
	tb.Helper()
	dsn := FreshPostgresDSN(tb)
	return MustOpen(tb, dsn), dsn
}

// MustOpen opens and migrates the store at dsn and closes it when the test ends.
func MustOpen(tb testing.TB, dsn string) store.Store {
	tb.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		tb.Fatalf("storetest: open: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	if _, err := store.Migrate(ctx, st); err != nil {
		tb.Fatalf("storetest: migrate: %v", err)
	}
	return st
}
