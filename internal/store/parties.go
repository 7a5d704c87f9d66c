package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/chipgate/chipgate/internal/domain"
)

const partyCols = "id, slug, name, role, country, class, created_at"

func scanParty(sc interface{ Scan(...any) error }) (domain.Party, error) {
	var p domain.Party
	var created dbTime
	err := sc.Scan(&p.ID, &p.Slug, &p.Name, &p.Role, &p.Country, &p.Class, &created)
	p.CreatedAt = created.T
	return p, err
}

func (t *tx) CreateParty(ctx context.Context, p *domain.Party) error {
	_, err := t.exec(ctx, "create party", "INSERT INTO parties ("+partyCols+") VALUES (?, ?, ?, ?, ?, ?, ?)",
		p.ID, p.Slug, p.Name, p.Role, p.Country, p.Class, t.time(p.CreatedAt))
	if domain.ErrorCode(err) == domain.ECONFLICT {
		return domain.Errorf(domain.ECONFLICT, "party slug %q is taken", p.Slug)
	}
	return err
}

func (t *tx) Party(ctx context.Context, id domain.ID) (domain.Party, error) {
	p, err := scanParty(t.queryRow(ctx, "SELECT "+partyCols+" FROM parties WHERE id = ?", id))
	return p, t.notFound(err, "party %s not found", id)
}

func (t *tx) PartyBySlug(ctx context.Context, slug string) (domain.Party, error) {
	p, err := scanParty(t.queryRow(ctx, "SELECT "+partyCols+" FROM parties WHERE slug = ?", slug))
	return p, t.notFound(err, "party %q not found", slug)
}

func (t *tx) Parties(ctx context.Context) ([]domain.Party, error) {
	var out []domain.Party
	err := t.queryRows(ctx, "list parties", "SELECT "+partyCols+" FROM parties ORDER BY "+t.byteOrder("slug"), func(r *sql.Rows) error {
		p, err := scanParty(r)
		out = append(out, p)
		return err
	})
	return out, err
}

// notFound turns sql.ErrNoRows into a domain ENOTFOUND with a useful message
// and wraps anything else.
func (t *tx) notFound(err error, format string, args ...any) error {
	if err == sql.ErrNoRows {
		return domain.Errorf(domain.ENOTFOUND, format, args...)
	}
	return t.s.wrap("read", err)
}

const userCols = "id, party_id, name, duties, created_at"

func scanUser(sc interface{ Scan(...any) error }) (domain.User, error) {
	var u domain.User
	var created dbTime
	var duties string
	err := sc.Scan(&u.ID, &u.PartyID, &u.Name, &duties, &created)
	u.CreatedAt, u.Duties = created.T, dutiesOf(duties)
	return u, err
}

// dutiesOf reads the duties column: a comma-separated set.
func dutiesOf(s string) domain.Duties {
	out := domain.Duties{}
	for _, d := range strings.Split(s, ",") {
		if d != "" {
			out = append(out, domain.UserDuty(d))
		}
	}
	return out
}

// dutiesText is the duties column's text for ds.
func dutiesText(ds domain.Duties) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = string(d)
	}
	return strings.Join(parts, ",")
}

func (t *tx) CreateUser(ctx context.Context, u *domain.User) error {
	if u.Duties == nil {
		u.Duties = domain.Duties{}
	}
	_, err := t.exec(ctx, "create user", "INSERT INTO users ("+userCols+") VALUES (?, ?, ?, ?, ?)",
		u.ID, u.PartyID, u.Name, dutiesText(u.Duties), t.time(u.CreatedAt))
	return err
}

func (t *tx) SetUserDuties(ctx context.Context, id domain.ID, ds domain.Duties) error {
	res, err := t.exec(ctx, "set duties", "UPDATE users SET duties = ? WHERE id = ?", dutiesText(ds), id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return t.s.wrap("set duties", err)
	} else if n == 0 {
		return domain.Errorf(domain.ENOTFOUND, "user %s not found", id)
	}
	// Principals cached before this commit carry the old duties.
	_, err = t.exec(ctx, "set duties", "UPDATE token_epoch SET n = n + 1 WHERE id = 1")
	return err
}

func (t *tx) User(ctx context.Context, id domain.ID) (domain.User, error) {
	u, err := scanUser(t.queryRow(ctx, "SELECT "+userCols+" FROM users WHERE id = ?", id))
	return u, t.notFound(err, "user %s not found", id)
}

func (t *tx) Users(ctx context.Context, partyID domain.ID) ([]domain.User, error) {
	var out []domain.User
	err := t.queryRows(ctx, "list users", "SELECT "+userCols+" FROM users WHERE party_id = ? ORDER BY created_at, id", func(r *sql.Rows) error {
		u, err := scanUser(r)
		out = append(out, u)
		return err
	}, partyID)
	return out, err
}

const tokenCols = "id, user_id, hash, label, kind, parent_id, created_at, expires_at, revoked_at, last_used_at"

// scanToken scans tokenCols.
func scanToken(sc interface{ Scan(...any) error }) (domain.Token, error) {
	var k domain.Token
	var created, expires, revoked, used dbTime
	var parent uuid.NullUUID
	err := sc.Scan(&k.ID, &k.UserID, &k.Hash, &k.Label, &k.Kind, &parent, &created, &expires, &revoked, &used)
	k.CreatedAt, k.ExpiresAt, k.RevokedAt, k.LastUsedAt = created.T, expires.ptr(), revoked.ptr(), used.ptr()
	if parent.Valid {
		k.ParentID = &parent.UUID
	}
	return k, err
}

func (t *tx) CreateToken(ctx context.Context, k *domain.Token) error {
	if k.Kind == "" {
		k.Kind = domain.TokenAPI
	}
	_, err := t.exec(ctx, "create token", "INSERT INTO tokens ("+tokenCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		k.ID, k.UserID, k.Hash, k.Label, k.Kind, k.ParentID, t.time(k.CreatedAt), t.timePtr(k.ExpiresAt), t.timePtr(k.RevokedAt), t.timePtr(k.LastUsedAt))
	return err
}

func (t *tx) TouchToken(ctx context.Context, id domain.ID, at time.Time) error {
	res, err := t.exec(ctx, "touch token", "UPDATE tokens SET last_used_at = ? WHERE id = ?", t.time(at), id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return t.s.wrap("touch token", err)
	} else if n == 0 {
		return domain.Errorf(domain.ENOTFOUND, "token %s not found", id)
	}
	return nil
}

func (t *tx) TokenByHash(ctx context.Context, hash []byte) (domain.Token, error) {
	k, err := scanToken(t.queryRow(ctx, "SELECT "+tokenCols+" FROM tokens WHERE hash = ?", hash))
	return k, t.notFound(err, "token not found")
}

func (t *tx) Token(ctx context.Context, id domain.ID) (domain.Token, error) {
	k, err := scanToken(t.queryRow(ctx, "SELECT "+tokenCols+" FROM tokens WHERE id = ?", id))
	return k, t.notFound(err, "token %s not found", id)
}

func (t *tx) Tokens(ctx context.Context, userID domain.ID) ([]domain.Token, error) {
	var out []domain.Token
	err := t.queryRows(ctx, "list tokens", "SELECT "+tokenCols+" FROM tokens WHERE user_id = ? ORDER BY created_at DESC, id DESC", func(r *sql.Rows) error {
		k, err := scanToken(r)
		out = append(out, k)
		return err
	}, userID)
	return out, err
}

func (t *tx) RevokeToken(ctx context.Context, id domain.ID, at time.Time) error {
	res, err := t.exec(ctx, "revoke token", "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", t.time(at), id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return t.s.wrap("revoke token", err)
	} else if n == 0 {
		_, err := t.Token(ctx, id)
		return err // revoked already: the epoch moved then
	}
	// Principals cached before this commit are stale from it on.
	_, err = t.exec(ctx, "revoke token", "UPDATE token_epoch SET n = n + 1 WHERE id = 1")
	return err
}

// Principal returns the token whose secret hashes to hash with its user and
// party, in one query: every authenticated request asks this.
func (t *tx) Principal(ctx context.Context, hash []byte) (domain.Token, domain.User, domain.Party, error) {
	var k domain.Token
	var u domain.User
	var p domain.Party
	var kc, ke, kr, ku, uc, pc dbTime
	var parent uuid.NullUUID
	var duties string
	err := t.queryRow(ctx, `SELECT k.id, k.user_id, k.hash, k.label, k.kind, k.parent_id, k.created_at, k.expires_at, k.revoked_at, k.last_used_at,
		u.id, u.party_id, u.name, u.duties, u.created_at,
		p.id, p.slug, p.name, p.role, p.country, p.class, p.created_at
		FROM tokens k JOIN users u ON u.id = k.user_id JOIN parties p ON p.id = u.party_id WHERE k.hash = ?`, hash).Scan(
		&k.ID, &k.UserID, &k.Hash, &k.Label, &k.Kind, &parent, &kc, &ke, &kr, &ku,
		&u.ID, &u.PartyID, &u.Name, &duties, &uc,
		&p.ID, &p.Slug, &p.Name, &p.Role, &p.Country, &p.Class, &pc)
	k.CreatedAt, k.ExpiresAt, k.RevokedAt, k.LastUsedAt, u.CreatedAt, p.CreatedAt = kc.T, ke.ptr(), kr.ptr(), ku.ptr(), uc.T, pc.T
	u.Duties = dutiesOf(duties)
	if parent.Valid {
		k.ParentID = &parent.UUID
	}
	return k, u, p, t.notFound(err, "token not found")
}
