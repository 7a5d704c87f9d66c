package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"

	"github.com/chipgate/chipgate/internal/domain"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// openSQLite opens path with a writer pool (BEGIN IMMEDIATE, so a writer
// never fails halfway on a lock upgrade) used by one group-commit goroutine,
// and a pool of readers. WAL
// lets readers run beside the writer; synchronous=FULL makes a commit that
// returned survive power loss; busy_timeout waits for a lock rather than
// failing at once.
func openSQLite(ctx context.Context, path string) (Store, error) {
	if path == "" {
		return nil, domain.Errorf(domain.EINVALID, "database path is empty")
	}
	base := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)"
	writer, err := sql.Open("sqlite", base+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	// Writes go through one group-commit goroutine, so one connection
	// writes at a time; a second lets statements be prepared (and cached)
	// while a transaction holds the first.
	writer.SetMaxOpenConns(2)
	writer.SetMaxIdleConns(2)
	writer.SetConnMaxLifetime(0)
	s := &sqlStore{dialect: "sqlite", writer: writer, classify: classifySQLite}
	if err := s.Ping(ctx); err != nil {
		writer.Close()
		return nil, err
	}
	reader, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	reader.SetMaxOpenConns(4)
	s.reader = reader
	s.group = newGroupCommit(s)
	return s, nil
}

func classifySQLite(err error) string {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return ""
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return domain.EUNAVAILABLE
	case sqlite3.SQLITE_CONSTRAINT:
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return domain.ECONFLICT
		}
		return domain.EINVALID
	case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY:
		return domain.EUNAVAILABLE
	}
	return ""
}
