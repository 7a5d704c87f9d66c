package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrations embed.FS

// Migration is one numbered schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the dialect's migrations in order.
func Migrations(dialect string) ([]Migration, error) {
	dir := "migrations/" + dialect
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, fmt.Errorf("store: migrations for %s: %w", dialect, err)
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("store: migration %s/%s: want NNNN_name.sql", dir, name)
		}
		body, err := fs.ReadFile(migrations, dir+"/"+name)
		if err != nil {
			return nil, fmt.Errorf("store: migration %s: %w", name, err)
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	// Numbers are handed out to branches that land in any order, so a
	// number may be missing for a while: Migrate applies every migration
	// not yet applied, whatever its place. Two of one number never work.
	for i, m := range out {
		if m.Version < 1 || (i > 0 && m.Version == out[i-1].Version) {
			return nil, fmt.Errorf("store: migration %s: version %d is taken or not positive", m.Name, m.Version)
		}
	}
	return out, nil
}

// Migrate applies every migration not yet applied, each in its own
// transaction, and records it in schema_migrations. On PostgreSQL an advisory
// lock keeps replicas that start together from migrating twice. It returns the
// names of the migrations it applied.
func Migrate(ctx context.Context, st Store) ([]string, error) {
	s, ok := st.(*sqlStore)
	if !ok {
		return nil, fmt.Errorf("store: migrate: unsupported store %T", st)
	}
	ms, err := Migrations(s.dialect)
	if err != nil {
		return nil, err
	}
	conn, err := s.writer.Conn(ctx)
	if err != nil {
		return nil, s.wrap("migrate", err)
	}
	defer conn.Close()
	if s.dialect == "postgres" {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(7411001)"); err != nil {
			return nil, s.wrap("migrate lock", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(7411001)") //nolint:errcheck // released with the session anyway
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return nil, s.wrap("migrate", err)
	}
	applied := map[int]bool{}
	rows, err := conn.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, s.wrap("migrate", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, s.wrap("migrate", err)
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.wrap("migrate", err)
	}
	var done []string
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		t, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return done, s.wrap("migrate "+m.Name, err)
		}
		if _, err := t.ExecContext(ctx, m.SQL); err != nil {
			t.Rollback()
			return done, s.wrap("migrate "+m.Name, err)
		}
		ins := "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"
		if s.dialect == "postgres" {
			ins = "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)"
		}
		if _, err := t.ExecContext(ctx, ins, m.Version, m.Name, time.Now().UTC().Format(time.RFC3339)); err != nil {
			t.Rollback()
			return done, s.wrap("migrate "+m.Name, err)
		}
		if err := t.Commit(); err != nil {
			return done, s.wrap("migrate "+m.Name, err)
		}
		done = append(done, m.Name)
	}
	return done, nil
}
