package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
)

// sqlStore implements Store over database/sql for both dialects. The SQL is
// written once with ? placeholders; postgres rebinds them to $n.
type sqlStore struct {
	dialect string
	writer  *sql.DB // SQLite: one connection, BEGIN IMMEDIATE; PostgreSQL: the pool
	reader  *sql.DB // SQLite: read-only pool; PostgreSQL: the same pool
	// classify maps a driver error to a domain error code, or "" when it
	// does not recognize it.
	classify func(error) string
	// group, for SQLite, commits write transactions in groups.
	group *groupCommit
	// stmts caches prepared statements by query text and pool, for SQLite,
	// whose driver would otherwise parse every statement every time (the
	// parser was the largest cost of an order). pgx caches on its own.
	stmts     sync.Map // stmtKey → *sql.Stmt
	preparing sync.Map // stmtKey → true while a background prepare runs
	// bgMu guards closed and bg: Close waits for background prepares, and
	// none starts once it has begun (a late one would reopen the file).
	bgMu   sync.Mutex
	closed bool
	bg     sync.WaitGroup
}

type stmtKey struct {
	db    *sql.DB
	query string
}

// prepared returns the transaction's form of the cached statement for
// query. A statement not cached yet is prepared on the transaction's own
// connection for this use, and a pool-level statement is prepared for next
// time in the background: preparing on the pool from inside a transaction
// could wait for a connection that only transactions like this one hold.
func (t *tx) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	k := stmtKey{t.db, query}
	if v, ok := t.s.stmts.Load(k); ok {
		return t.tx.StmtContext(ctx, v.(*sql.Stmt)), nil
	}
	t.prepareLater(query)
	return t.tx.PrepareContext(ctx, query)
}

// prepareLater prepares query on the pool in the background and caches it,
// for SQLite, unless that is under way already.
func (t *tx) prepareLater(query string) {
	if t.s.dialect != "sqlite" {
		return
	}
	k := stmtKey{t.db, query}
	if _, busy := t.s.preparing.LoadOrStore(k, true); !busy && t.s.startBackground() {
		go func() {
			defer t.s.bg.Done()
			defer t.s.preparing.Delete(k)
			st, err := k.db.Prepare(query)
			if err != nil {
				return // the database closed, or the query is bad: the caller sees that itself
			}
			if _, loaded := t.s.stmts.LoadOrStore(k, st); loaded {
				st.Close()
			}
		}()
	}
}

var _ Store = (*sqlStore)(nil)

func (s *sqlStore) Dialect() string { return s.dialect }

func (s *sqlStore) Ping(ctx context.Context) error {
	return s.wrap("ping", s.writer.PingContext(ctx))
}

// startBackground registers a background task unless the store is closing.
func (s *sqlStore) startBackground() bool {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if s.closed {
		return false
	}
	s.bg.Add(1)
	return true
}

func (s *sqlStore) Close() error {
	s.bgMu.Lock()
	s.closed = true
	s.bgMu.Unlock()
	s.bg.Wait()
	if s.group != nil {
		s.group.close()
	}
	s.stmts.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		s.stmts.Delete(k) // a statement on its own then meets the closed pool: EUNAVAILABLE
		return true
	})
	err := s.writer.Close()
	if s.reader != s.writer {
		err = errors.Join(err, s.reader.Close())
	}
	return err
}

func (s *sqlStore) InTx(ctx context.Context, fn func(Tx) error) error {
	fn = markClaim(ctx, fn)
	if s.group != nil {
		return s.group.run(ctx, fn)
	}
	return s.run(ctx, s.writer, false, fn)
}

func (s *sqlStore) View(ctx context.Context, fn func(Tx) error) error {
	return s.run(ctx, s.reader, true, fn)
}

func (s *sqlStore) Principal(ctx context.Context, hash []byte) (domain.Token, domain.User, domain.Party, error) {
	return (&tx{s: s, db: s.reader}).Principal(ctx, hash)
}

func (s *sqlStore) TokenEpoch(ctx context.Context) (int64, error) {
	var n int64
	err := (&tx{s: s, db: s.reader}).queryRow(ctx, "SELECT n FROM token_epoch WHERE id = 1").Scan(&n)
	return n, s.wrap("token epoch", err)
}

func (s *sqlStore) run(ctx context.Context, db *sql.DB, readOnly bool, fn func(Tx) error) (err error) {
	// SQLite's readers are query_only connections already.
	sqlTx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: readOnly && s.dialect == "postgres"})
	if err != nil {
		return s.wrap("begin", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = sqlTx.Rollback()
			panic(p)
		}
	}()
	if err := fn(&tx{tx: sqlTx, s: s, db: db, readOnly: readOnly}); err != nil {
		if rbErr := sqlTx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return errors.Join(err, s.wrap("rollback", rbErr))
		}
		return err
	}
	return s.wrap("commit", sqlTx.Commit())
}

// wrap turns a driver error into a domain error with the right code and the
// operation as context. Domain errors pass through unchanged.
func (s *sqlStore) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return err
	}
	code := domain.EINTERNAL
	switch {
	case errors.Is(err, sql.ErrNoRows):
		code = domain.ENOTFOUND
	case errors.Is(err, context.DeadlineExceeded):
		code = domain.EUNAVAILABLE
	case errors.Is(err, context.Canceled):
		code = domain.EUNAVAILABLE
	case strings.Contains(err.Error(), "sql: database is closed"), strings.Contains(err.Error(), "sql: statement is closed"):
		// database/sql has no exported sentinel for these; a closed pool
		// is a database that is not there, as far as a client can tell.
		// (Only Close closes the cached statements, and a statement taken
		// from the cache as the store closes meets a closed statement.)
		code = domain.EUNAVAILABLE
	default:
		if c := s.classify(err); c != "" {
			code = c
		}
	}
	msg := map[string]string{
		domain.ENOTFOUND:    "not found",
		domain.ECONFLICT:    "conflicts with an existing record",
		domain.EUNAVAILABLE: "the database is busy or unreachable; retry",
	}[code]
	if msg == "" {
		msg = "store: " + op
	}
	return &domain.Error{Code: code, Message: msg, Err: fmt.Errorf("store: %s: %w", op, err)}
}

// tx implements Tx.
type tx struct {
	tx *sql.Tx // nil for a single statement outside any transaction (queryRow only)
	s  *sqlStore
	db *sql.DB // the pool the transaction runs on
	// readOnly marks a View's transaction, where writes and locking reads
	// fail (see refuseInView).
	readOnly bool
}

// refuseInView returns EINTERNAL for a write or a locking read (op) in a
// View, before it reaches the database: a bug of the caller, reported alike
// on both backends. (PostgreSQL's read-only transaction refuses both, as an
// internal error; SQLite's query_only readers called a write busy, which
// says retry, and took a locking read without locking.)
func (t *tx) refuseInView(op string) error {
	if !t.readOnly {
		return nil
	}
	return &domain.Error{Code: domain.EINTERNAL, Message: "store: " + op,
		Err: fmt.Errorf("store: %s in a read-only transaction (View)", op)}
}

func (t *tx) q(query string) string {
	if t.s.dialect != "postgres" {
		return query
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

func (t *tx) exec(ctx context.Context, op, query string, args ...any) (sql.Result, error) {
	if err := t.refuseInView(op); err != nil {
		return nil, err
	}
	if t.s.dialect == "sqlite" {
		st, err := t.prepared(ctx, query)
		if err != nil {
			return nil, t.s.wrap(op, err)
		}
		res, err := st.ExecContext(ctx, args...)
		return res, t.s.wrap(op, err)
	}
	res, err := t.tx.ExecContext(ctx, t.q(query), args...)
	return res, t.s.wrap(op, err)
}

// row is a single-row query result whose error may come from preparing.
type row struct {
	r   *sql.Row
	err error
}

func (r row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	return r.r.Scan(dest...)
}

func (t *tx) queryRow(ctx context.Context, query string, args ...any) row {
	if t.tx == nil { // a statement on its own (Store.Principal, Store.TokenEpoch)
		if v, ok := t.s.stmts.Load(stmtKey{t.db, query}); ok {
			return row{r: v.(*sql.Stmt).QueryRowContext(ctx, args...)}
		}
		t.prepareLater(query)
		return row{r: t.db.QueryRowContext(ctx, t.q(query), args...)}
	}
	if t.s.dialect == "sqlite" {
		st, err := t.prepared(ctx, query)
		if err != nil {
			return row{err: err}
		}
		return row{r: st.QueryRowContext(ctx, args...)}
	}
	return row{r: t.tx.QueryRowContext(ctx, t.q(query), args...)}
}

// queryRows runs a query and calls scan for each row.
func (t *tx) queryRows(ctx context.Context, op, query string, scan func(*sql.Rows) error, args ...any) error {
	var rows *sql.Rows
	var err error
	if t.s.dialect == "sqlite" {
		var st *sql.Stmt
		if st, err = t.prepared(ctx, query); err == nil {
			rows, err = st.QueryContext(ctx, args...)
		}
	} else {
		rows, err = t.tx.QueryContext(ctx, t.q(query), args...)
	}
	if err != nil {
		return t.s.wrap(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return t.s.wrap(op, err)
		}
	}
	return t.s.wrap(op, rows.Err())
}

// byteOrder returns col to ORDER BY in byte order, as SQLite orders text.
// PostgreSQL orders by the database's collation, which under a locale's puts
// "tw-0001" before "TW-0002" and, with glibc's, "aa" before "a-b".
func (t *tx) byteOrder(col string) string {
	if t.s.dialect == "postgres" {
		return col + ` COLLATE "C"`
	}
	return col
}

// time encodes an instant for the dialect: TEXT in fixed-width RFC 3339 UTC
// for SQLite (so that it sorts), a timestamptz for PostgreSQL. Both keep
// microseconds: PostgreSQL's precision, to which pgx truncates, so SQLite
// truncates too and an instant reads back the same from either.
func (t *tx) time(v time.Time) any {
	if t.s.dialect == "postgres" {
		return v.UTC()
	}
	return v.UTC().Truncate(time.Microsecond).Format(sqliteTime)
}

func (t *tx) timePtr(v *time.Time) any {
	if v == nil {
		return nil
	}
	return t.time(*v)
}

const sqliteTime = "2006-01-02T15:04:05.000000000Z"

// dbTime scans an instant written by tx.time in either dialect.
type dbTime struct {
	T     time.Time
	Valid bool
}

func (d *dbTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		d.T, d.Valid = time.Time{}, false
		return nil
	case time.Time:
		d.T, d.Valid = x.UTC(), true
		return nil
	case string:
		return d.parse(x)
	case []byte:
		return d.parse(string(x))
	}
	return fmt.Errorf("store: cannot scan %T as a time", v)
}

func (d *dbTime) parse(s string) error {
	if t, ok := parseSQLiteTime(s); ok {
		d.T, d.Valid = t, true
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("store: bad stored time %q: %w", s, err)
	}
	d.T, d.Valid = t.UTC(), true
	return nil
}

// parseSQLiteTime parses an instant in sqliteTime's layout exactly, a few
// times faster than time.Parse (a ledger verification parses millions);
// anything else is left to time.Parse.
func parseSQLiteTime(s string) (time.Time, bool) {
	if len(s) != len(sqliteTime) || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' || s[29] != 'Z' {
		return time.Time{}, false
	}
	num := func(from, to int) (int, bool) {
		n := 0
		for i := from; i < to; i++ {
			c := s[i] - '0'
			if c > 9 {
				return 0, false
			}
			n = n*10 + int(c)
		}
		return n, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 7)
	day, ok3 := num(8, 10)
	hour, ok4 := num(11, 13)
	minute, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	nsec, ok7 := num(20, 29)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day {
		return time.Time{}, false // February 30th: time.Parse's error
	}
	return t, true
}

func (d dbTime) ptr() *time.Time {
	if !d.Valid {
		return nil
	}
	t := d.T
	return &t
}
