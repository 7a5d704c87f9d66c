package storetest

import (
	"database/sql"
	"strconv"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // the "sqlite" driver

	"github.com/chipgate/chipgate/internal/store"
)

// Raw is a plain database/sql handle on a test store's database, for tests
// that play an insider who writes the database behind the program's back.
type Raw struct {
	DB       *sql.DB
	postgres bool
}

// OpenRaw opens dsn (a test store's) with its driver, closed when the test
// ends.
func OpenRaw(tb testing.TB, dsn string) *Raw {
	tb.Helper()
	driver, src := "sqlite", "file:"+dsn+"?_pragma=busy_timeout(5000)"
	if store.IsPostgres(dsn) {
		driver, src = "pgx", dsn
	}
	db, err := sql.Open(driver, src)
	if err != nil {
		tb.Fatalf("storetest: raw open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return &Raw{DB: db, postgres: driver == "pgx"}
}

// Q rewrites ? placeholders for the dialect.
func (r *Raw) Q(q string) string {
	if !r.postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Exec runs a statement and returns the rows it affected; it fails the test
// on an error.
func (r *Raw) Exec(tb testing.TB, q string, args ...any) int64 {
	tb.Helper()
	res, err := r.DB.Exec(r.Q(q), args...)
	if err != nil {
		tb.Fatalf("storetest: %s: %v", q, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// Bytes reads one []byte column of one row; it fails the test on an error.
func (r *Raw) Bytes(tb testing.TB, q string, args ...any) []byte {
	tb.Helper()
	var b []byte
	if err := r.DB.QueryRow(r.Q(q), args...).Scan(&b); err != nil {
		tb.Fatalf("storetest: %s: %v", q, err)
	}
	return b
}
