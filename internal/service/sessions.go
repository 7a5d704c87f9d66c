package service

import (
	"context"
	"crypto/subtle"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
)

// SessionPrefix starts every dashboard session's secret. It differs from
// TokenPrefix: a session's secret is refused as a bearer token, and an API
// token is refused as a session.
const SessionPrefix = "cgs_"

// SessionLimits bound a dashboard session: Absolute from sign-in, Idle since
// it was last used. A session also ends with the token that opened it (its
// expiry, its revocation).
type SessionLimits struct {
	Absolute, Idle time.Duration
}

// sessionTouchEvery is how stale a session's last use may be in the store:
// a page view writes it at most this often, so a session's idle timeout is
// exact to within this.
const sessionTouchEvery = time.Minute

var errNoSession = domain.Errorf(domain.EUNAUTHORIZED, "no session, or it has ended")

// StartSession signs in to the dashboard with an API token: it opens a new
// session (a fresh secret each time, so a sign-in never reuses an earlier
// session's id) that the token issued, so that it ends no later than the
// token and is revoked with it. The session's secret is returned once; only
// its hash is stored. Returns EUNAUTHORIZED for an unknown, expired or
// revoked token.
func (s *Service) StartSession(ctx context.Context, token string, lim SessionLimits) (IssuedToken, domain.Actor, error) {
	who, err := s.Authenticate(ctx, token)
	if err != nil {
		return IssuedToken{}, who, err
	}
	secret, err := newSecret(SessionPrefix)
	if err != nil {
		return IssuedToken{}, who, err
	}
	now := s.Now()
	exp := now.Add(lim.Absolute)
	k := domain.Token{ID: newID(), UserID: who.UserID, Hash: hashToken(secret), Label: "dashboard session",
		Kind: domain.TokenSession, CreatedAt: now, ExpiresAt: &exp, LastUsedAt: &now}
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		if err := boundByIssuer(ctx, tx, who.TokenID, &k, now, false); domain.ErrorCode(err) == domain.EINVALID {
			// The token expires before the session would: the session
			// ends with it.
			k.ExpiresAt = who.TokenExpiresAt
		} else if err != nil {
			return err
		}
		if err := tx.CreateToken(ctx, &k); err != nil {
			return err
		}
		return s.record(ctx, tx, who, now, "session.started", "token", k.ID.String(), k)
	})
	if err != nil {
		return IssuedToken{}, who, err
	}
	who.TokenID, who.TokenExpiresAt = k.ID, k.ExpiresAt
	return IssuedToken{Token: k, Secret: secret}, who, nil
}

// Session returns the actor of a live dashboard session and notes its use.
// A session is live until its absolute end, until it has gone unused for
// lim.Idle, and until it or the token that opened it is revoked. Every call
// reads the session from the store, so that a sign-out on one replica ends
// it on all. Returns EUNAUTHORIZED, saying nothing of why, otherwise.
func (s *Service) Session(ctx context.Context, secret string, lim SessionLimits) (domain.Actor, error) {
	if !strings.HasPrefix(secret, SessionPrefix) || len(secret) > 200 {
		return domain.Actor{}, errNoSession
	}
	h := hashToken(secret)
	k, u, p, err := s.store.Principal(ctx, h)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return domain.Actor{}, errNoSession
	} else if err != nil {
		return domain.Actor{}, err
	}
	now := s.Now()
	last := k.CreatedAt
	if k.LastUsedAt != nil {
		last = *k.LastUsedAt
	}
	if subtle.ConstantTimeCompare(k.Hash, h) != 1 || k.Kind != domain.TokenSession || !k.Active(now) || now.Sub(last) >= lim.Idle {
		return domain.Actor{}, errNoSession
	}
	if now.Sub(last) >= sessionTouchEvery {
		if err := s.store.InTx(ctx, func(tx store.Tx) error { return tx.TouchToken(ctx, k.ID, now) }); err != nil {
			return domain.Actor{}, err
		}
	}
	return actorOf(k, u, p), nil
}

// EndSession signs a dashboard session out: it is revoked at once, on every
// replica, and its cookie opens nothing from then on. Ending an unknown or
// ended session is no error.
func (s *Service) EndSession(ctx context.Context, secret string) error {
	if !strings.HasPrefix(secret, SessionPrefix) {
		return nil
	}
	now := s.Now()
	return s.store.InTx(ctx, func(tx store.Tx) error {
		k, u, p, err := tx.Principal(ctx, hashToken(secret))
		if domain.ErrorCode(err) == domain.ENOTFOUND || (err == nil && (k.Kind != domain.TokenSession || k.RevokedAt != nil)) {
			return nil
		} else if err != nil {
			return err
		}
		if err := tx.RevokeToken(ctx, k.ID, now); err != nil {
			return err
		}
		k.RevokedAt = &now
		return s.record(ctx, tx, actorOf(k, u, p), now, "session.ended", "token", k.ID.String(), k)
	})
}
