package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
)

func (t *tx) PutIdentityProvider(ctx context.Context, p *domain.IdentityProvider) error {
	_, err := t.exec(ctx, "put identity provider", `INSERT INTO identity_providers (party_id, issuer, client_id, client_secret, groups_claim, name, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (party_id) DO UPDATE SET issuer = excluded.issuer, client_id = excluded.client_id, client_secret = excluded.client_secret,
			groups_claim = excluded.groups_claim, name = excluded.name, updated_at = excluded.updated_at`,
		p.PartyID, p.Issuer, p.ClientID, p.ClientSecret, p.GroupsClaim, p.Name, t.time(p.UpdatedAt))
	return err
}

func (t *tx) IdentityProvider(ctx context.Context, partyID domain.ID) (domain.IdentityProvider, error) {
	var p domain.IdentityProvider
	var at dbTime
	err := t.queryRow(ctx, "SELECT party_id, issuer, client_id, client_secret, groups_claim, name, updated_at FROM identity_providers WHERE party_id = ?", partyID).
		Scan(&p.PartyID, &p.Issuer, &p.ClientID, &p.ClientSecret, &p.GroupsClaim, &p.Name, &at)
	p.UpdatedAt = at.T
	return p, t.notFound(err, "no identity provider for party %s", partyID)
}

const mappingCols = "id, party_id, kind, value, user_id, created_at"

func (t *tx) CreateIdentityMapping(ctx context.Context, m *domain.IdentityMapping) error {
	_, err := t.exec(ctx, "create identity mapping", "INSERT INTO identity_mappings ("+mappingCols+") VALUES (?, ?, ?, ?, ?, ?)",
		m.ID, m.PartyID, m.Kind, m.Value, m.UserID, t.time(m.CreatedAt))
	if domain.ErrorCode(err) == domain.ECONFLICT {
		return domain.Errorf(domain.ECONFLICT, "%s %q is mapped already", m.Kind, m.Value)
	}
	return err
}

func (t *tx) IdentityMappings(ctx context.Context, partyID domain.ID) ([]domain.IdentityMapping, error) {
	var out []domain.IdentityMapping
	err := t.queryRows(ctx, "list identity mappings", "SELECT "+mappingCols+" FROM identity_mappings WHERE party_id = ? ORDER BY created_at, id", func(r *sql.Rows) error {
		var m domain.IdentityMapping
		var at dbTime
		err := r.Scan(&m.ID, &m.PartyID, &m.Kind, &m.Value, &m.UserID, &at)
		m.CreatedAt = at.T
		out = append(out, m)
		return err
	}, partyID)
	return out, err
}

func (t *tx) DeleteIdentityMapping(ctx context.Context, partyID, id domain.ID) error {
	res, err := t.exec(ctx, "delete identity mapping", "DELETE FROM identity_mappings WHERE party_id = ? AND id = ?", partyID, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return t.s.wrap("delete identity mapping", err)
	} else if n == 0 {
		return domain.Errorf(domain.ENOTFOUND, "identity mapping %s not found", id)
	}
	return nil
}

func (t *tx) CreatePendingSignIn(ctx context.Context, p *domain.PendingSignIn) error {
	// Sign-ins never finished are dropped once expired, here rather than
	// by a sweeper.
	if _, err := t.exec(ctx, "drop expired sign-ins", "DELETE FROM pending_signins WHERE expires_at < ?", t.time(p.ExpiresAt.Add(-time.Hour))); err != nil {
		return err
	}
	_, err := t.exec(ctx, "create pending sign-in", "INSERT INTO pending_signins (state_hash, party_id, nonce, verifier, expires_at) VALUES (?, ?, ?, ?, ?)",
		p.StateHash, p.PartyID, p.Nonce, p.Verifier, t.time(p.ExpiresAt))
	return err
}

func (t *tx) TakePendingSignIn(ctx context.Context, stateHash []byte, now time.Time) (domain.PendingSignIn, error) {
	var p domain.PendingSignIn
	var exp dbTime
	err := t.queryRow(ctx, "SELECT state_hash, party_id, nonce, verifier, expires_at FROM pending_signins WHERE state_hash = ?", stateHash).
		Scan(&p.StateHash, &p.PartyID, &p.Nonce, &p.Verifier, &exp)
	p.ExpiresAt = exp.T
	if err := t.notFound(err, "no such sign-in, or it was used"); err != nil {
		return p, err
	}
	if _, err := t.exec(ctx, "take pending sign-in", "DELETE FROM pending_signins WHERE state_hash = ?", stateHash); err != nil {
		return p, err
	}
	if !now.Before(p.ExpiresAt) {
		return domain.PendingSignIn{}, domain.Errorf(domain.ENOTFOUND, "no such sign-in, or it was used")
	}
	return p, nil
}
