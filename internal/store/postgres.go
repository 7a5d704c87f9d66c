package store

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"strings"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// openPostgres opens a pool on dsn. Writers serialize only where they append
// to the audit record (the ledger_head row lock), so commands run in
// parallel up to that point.
func openPostgres(ctx context.Context, dsn string) (Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, domain.Errorf(domain.EINVALID, "postgres dsn: %v", redact(err))
	}
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(10)
	s := &sqlStore{dialect: "postgres", writer: db, reader: db, classify: classifyPostgres}
	if err := s.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// redact drops anything after the scheme of a DSN echoed in an error, so a
// password never reaches a log.
func redact(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "://"); i >= 0 {
		return msg[:i] + "://…"
	}
	return msg
}

func classifyPostgres(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505":
			return domain.ECONFLICT
		case strings.HasPrefix(pe.Code, "23"): // other integrity violations
			return domain.EINVALID
		case pe.Code == "40001" || pe.Code == "40P01" || pe.Code == "55P03":
			return domain.ECONFLICT // serialization failure, deadlock, lock not available: retry
		case strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P") || pe.Code == "53300":
			return domain.EUNAVAILABLE
		}
		return ""
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, sql.ErrConnDone) {
		return domain.EUNAVAILABLE
	}
	if strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "connection refused") {
		return domain.EUNAVAILABLE
	}
	return ""
}
