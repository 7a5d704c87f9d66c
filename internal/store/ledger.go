package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
)

// TileKey names a tile of the ledger's tree (see internal/ledger).
type TileKey struct {
	Level uint8
	Index uint64
}

// TileBlob is a tile's content: its hashes concatenated.
type TileBlob struct {
	Key    TileKey
	Hashes []byte
}

// StoredCheckpoint is a signed checkpoint of the ledger.
type StoredCheckpoint struct {
	Size      int64
	Root      []byte
	Signed    []byte // the note text, signature included
	CreatedAt time.Time
}

func (t *tx) ReadTiles(ctx context.Context, keys []TileKey) ([][]byte, error) {
	out := make([][]byte, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	// One query for all tiles: (level = ? AND idx = ?) OR ...
	var b strings.Builder
	args := make([]any, 0, 2*len(keys))
	b.WriteString("SELECT level, idx, hashes FROM ledger_tiles WHERE ")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString("(level = ? AND idx = ?)")
		args = append(args, int64(k.Level), int64(k.Index))
	}
	found := map[TileKey][]byte{}
	err := t.queryRows(ctx, "read tiles", b.String(), func(r *sql.Rows) error {
		var level, idx int64
		var h []byte
		if err := r.Scan(&level, &idx, &h); err != nil {
			return err
		}
		found[TileKey{uint8(level), uint64(idx)}] = h
		return nil
	}, args...)
	for i, k := range keys {
		out[i] = found[k]
	}
	return out, err
}

func (t *tx) WriteTiles(ctx context.Context, tiles []TileBlob) error {
	for _, tl := range tiles {
		if _, err := t.exec(ctx, "write tile", "INSERT INTO ledger_tiles (level, idx, hashes) VALUES (?, ?, ?) ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes",
			int64(tl.Key.Level), int64(tl.Key.Index), tl.Hashes); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) AddCheckpoint(ctx context.Context, c StoredCheckpoint) error {
	_, err := t.exec(ctx, "add checkpoint", "INSERT INTO ledger_checkpoints (size, root, signed, created_at) VALUES (?, ?, ?, ?)",
		c.Size, c.Root, c.Signed, t.time(c.CreatedAt))
	return err
}

func (t *tx) ReplaceCheckpoint(ctx context.Context, c StoredCheckpoint) error {
	res, err := t.exec(ctx, "replace checkpoint", "UPDATE ledger_checkpoints SET signed = ? WHERE size = ? AND root = ?", c.Signed, c.Size, c.Root)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return t.s.wrap("replace checkpoint", err)
	} else if n == 0 {
		return domain.Errorf(domain.ENOTFOUND, "no checkpoint of size %d and that root", c.Size)
	}
	return nil
}

func (t *tx) Checkpoints(ctx context.Context) ([]StoredCheckpoint, error) {
	var out []StoredCheckpoint
	err := t.queryRows(ctx, "checkpoints", "SELECT size, root, signed, created_at FROM ledger_checkpoints ORDER BY size", func(r *sql.Rows) error {
		var c StoredCheckpoint
		var at dbTime
		err := r.Scan(&c.Size, &c.Root, &c.Signed, &at)
		c.CreatedAt = at.T
		out = append(out, c)
		return err
	})
	return out, err
}

func (t *tx) LatestCheckpoint(ctx context.Context) (StoredCheckpoint, error) {
	var c StoredCheckpoint
	var at dbTime
	err := t.queryRow(ctx, "SELECT size, root, signed, created_at FROM ledger_checkpoints ORDER BY size DESC LIMIT 1").Scan(&c.Size, &c.Root, &c.Signed, &at)
	c.CreatedAt = at.T
	return c, t.notFound(err, "no checkpoint signed yet")
}

func (t *tx) LedgerMeta(ctx context.Context, name string) (string, error) {
	var v string
	err := t.queryRow(ctx, "SELECT value FROM ledger_meta WHERE name = ?", name).Scan(&v)
	return v, t.notFound(err, "ledger setting %q not set", name)
}

func (t *tx) SetLedgerMeta(ctx context.Context, name, value string) error {
	_, err := t.exec(ctx, "ledger meta", "INSERT INTO ledger_meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value", name, value)
	return err
}

// Leader runs fn while this process holds the named leadership. On
// PostgreSQL it is a session advisory lock on a dedicated connection, so
// exactly one of several replicas holds it at a time; fn's context is done
// when the lock's connection fails. On SQLite, one process owns the file and
// is always the leader. It returns ok=false at once when another holds it.
func (s *sqlStore) Leader(ctx context.Context, name string, fn func(ctx context.Context) error) (ok bool, err error) {
	if s.dialect != "postgres" {
		return true, fn(ctx)
	}
	conn, err := s.writer.Conn(ctx)
	if err != nil {
		return false, s.wrap("leader", err)
	}
	defer conn.Close()
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock(hashtext($1))", name).Scan(&ok); err != nil {
		return false, s.wrap("leader", err)
	}
	if !ok {
		return false, nil
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtext($1))", name) //nolint:errcheck // the session ends anyway
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // lose leadership when the lock's connection dies
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-tick.C:
				if err := conn.PingContext(lctx); err != nil {
					cancel()
					return
				}
			}
		}
	}()
	return true, fn(lctx)
}
