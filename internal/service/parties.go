package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
)

// PartyRequest registers a party.
type PartyRequest struct {
	Slug    string            `json:"slug"`
	Name    string            `json:"name"`
	Role    domain.Role       `json:"role"`
	Country string            `json:"country"`
	Class   domain.BuyerClass `json:"class,omitempty"`
}

// CreateParty registers a party. Callers: the operator (system actor).
// Returns EINVALID for a bad request, ECONFLICT when the slug is taken,
// EFORBIDDEN for anyone else.
func (s *Service) CreateParty(ctx context.Context, who domain.Actor, in PartyRequest) (domain.Party, error) {
	if err := authorize(who, ActPartyCreate); err != nil {
		return domain.Party{}, err
	}
	p := domain.Party{ID: newID(), Slug: in.Slug, Name: strings.TrimSpace(in.Name), Role: in.Role, Country: in.Country, Class: in.Class, CreatedAt: s.Now()}
	if err := p.Validate(); err != nil {
		return domain.Party{}, err
	}
	if err := storable("name", p.Name); err != nil {
		return domain.Party{}, err
	}
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateParty(ctx, &p); err != nil {
			return err
		}
		return s.record(ctx, tx, who, p.CreatedAt, "party.created", "party", p.ID.String(), p)
	})
	return p, err
}

// Party returns a party by id or slug. Callers: the vendor and the
// authorities, any party; every other role only its own (ENOTFOUND for
// another's). Returns ENOTFOUND for an unknown party.
func (s *Service) Party(ctx context.Context, who domain.Actor, idOrSlug string) (domain.Party, error) {
	if err := authorize(who, ActPartyRead); err != nil {
		return domain.Party{}, err
	}
	p, err := viewOf(ctx, s.store, func(tx store.Tx) (domain.Party, error) {
		return partyByRef(ctx, tx, idOrSlug)
	})
	if err != nil {
		return domain.Party{}, err
	}
	if err := authorizeFor(who, ActPartyRead, p.ID, "party "+idOrSlug); err != nil {
		return domain.Party{}, err
	}
	if ok, err := s.partyVisible(ctx, who, p); err != nil {
		return domain.Party{}, err
	} else if !ok {
		return domain.Party{}, domain.Errorf(domain.ENOTFOUND, "party %s not found", idOrSlug)
	}
	return p, nil
}

// partyVisible reports whether who may read party as far as jurisdiction
// goes: a reader bounded by jurisdiction (an import authority) reads the
// program's own parties (authorities, the vendor, labs, carriers,
// auditors) and the buyers located in its jurisdiction, not a US or EU
// buyer.
func (s *Service) partyVisible(ctx context.Context, who domain.Actor, p domain.Party) (bool, error) {
	if !bounded(who) || p.Role != domain.RoleBuyer {
		return true, nil
	}
	return s.inJurisdiction(ctx, who, p)
}

// Parties lists the parties who may see: all of them for the vendor, the
// export authority (and the operator), the program's own parties and the
// buyers of its jurisdiction for an import authority, its own for every
// other role.
func (s *Service) Parties(ctx context.Context, who domain.Actor) ([]domain.Party, error) {
	if err := authorize(who, ActPartyRead); err != nil {
		return nil, err
	}
	ps, err := viewOf(ctx, s.store, func(tx store.Tx) ([]domain.Party, error) {
		return tx.Parties(ctx)
	})
	if err != nil {
		return nil, err
	}
	out := ps[:0]
	for _, p := range ps {
		if authorizeFor(who, ActPartyRead, p.ID, "") != nil {
			continue
		}
		if ok, err := s.partyVisible(ctx, who, p); err != nil {
			return nil, err
		} else if ok {
			out = append(out, p)
		}
	}
	return out, nil
}

func partyByRef(ctx context.Context, tx store.Tx, ref string) (domain.Party, error) {
	if id, err := parseID(ref); err == nil {
		return tx.Party(ctx, id)
	}
	if !domain.ValidSlug(ref) {
		return domain.Party{}, domain.Errorf(domain.ENOTFOUND, "party %q not found", ref)
	}
	return tx.PartyBySlug(ctx, ref)
}

// UserRequest adds a user to a party.
type UserRequest struct {
	Party string `json:"party"` // id or slug
	Name  string `json:"name"`
	// Duties are the user's duties within the party; none means it reads
	// only.
	Duties []domain.UserDuty `json:"duties"`
}

// CreateUser adds a user with the duties given (and no other) to a party.
// Callers: the operator, for any party; an administrator, for its own
// party (ENOTFOUND for another's); EFORBIDDEN for anyone else. Returns
// ENOTFOUND for an unknown party, EINVALID naming name or duties[i].
func (s *Service) CreateUser(ctx context.Context, who domain.Actor, in UserRequest) (domain.User, error) {
	if err := authorizeWork(who, ActUserManage, administration); err != nil {
		return domain.User{}, err
	}
	duties, err := domain.NormalDuties("duties", in.Duties)
	if err != nil {
		return domain.User{}, err
	}
	u := domain.User{ID: newID(), Name: strings.TrimSpace(in.Name), Duties: duties, CreatedAt: s.Now()}
	if err := storable("name", u.Name); err != nil {
		return domain.User{}, err
	}
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		p, err := partyByRef(ctx, tx, in.Party)
		if err != nil {
			return err
		}
		if err := authorizeFor(who, ActUserManage, p.ID, "party "+in.Party); err != nil {
			return err
		}
		u.PartyID = p.ID
		if err := u.Validate(); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, &u); err != nil {
			return err
		}
		return s.record(ctx, tx, who, u.CreatedAt, "user.created", "user", u.ID.String(), u)
	})
	return u, err
}

// Users lists a party's users with their duties. Callers: the operator;
// an administrator, for its own party (ENOTFOUND for another's).
func (s *Service) Users(ctx context.Context, who domain.Actor, party string) ([]domain.User, error) {
	if err := authorizeWork(who, ActUserManage, administration); err != nil {
		return nil, err
	}
	return viewOf(ctx, s.store, func(tx store.Tx) ([]domain.User, error) {
		p, err := partyByRef(ctx, tx, party)
		if err != nil {
			return nil, err
		}
		if err := authorizeFor(who, ActUserManage, p.ID, "party "+party); err != nil {
			return nil, err
		}
		return tx.Users(ctx, p.ID)
	})
}

// SetDuties replaces the duties of a user of a party; they hold from the
// commit on, for the user's tokens and sessions too. An administrator may
// not take its own administrator duty away (the party would have no one
// to give it back). Callers: the operator; an administrator, for its own
// party's users (ENOTFOUND for another's). Returns ENOTFOUND for an
// unknown user, EINVALID naming duties[i], ECONFLICT for dropping one's
// own administration.
func (s *Service) SetDuties(ctx context.Context, who domain.Actor, party string, userID domain.ID, duties []domain.UserDuty) (domain.User, error) {
	if err := authorizeWork(who, ActUserManage, administration); err != nil {
		return domain.User{}, err
	}
	ds, err := domain.NormalDuties("duties", duties)
	if err != nil {
		return domain.User{}, err
	}
	if userID == who.UserID && !ds.Has(domain.DutyAdministrator) {
		return domain.User{}, domain.Errorf(domain.ECONFLICT, "an administrator may not take its own administrator duty away; another administrator may")
	}
	var u domain.User
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		p, err := partyByRef(ctx, tx, party)
		if err != nil {
			return err
		}
		if err := authorizeFor(who, ActUserManage, p.ID, "party "+party); err != nil {
			return err
		}
		if u, err = tx.User(ctx, userID); err != nil {
			return err
		}
		if u.PartyID != p.ID {
			return domain.Errorf(domain.ENOTFOUND, "user %s not found", userID)
		}
		if err := tx.SetUserDuties(ctx, u.ID, ds); err != nil {
			return err
		}
		u.Duties = ds
		return s.record(ctx, tx, who, s.Now(), "user.duties_set", "user", u.ID.String(), u)
	})
	return u, err
}

// TokenPrefix starts every chipgate token, so that secret scanners and people
// can recognize one.
const TokenPrefix = "cg_"

// IssuedToken is a new token with its secret, which is shown only this once.
type IssuedToken struct {
	domain.Token
	Secret string `json:"token"`
}

// IssueToken creates a bearer token for a user: 32 random bytes, of which
// only the SHA-256 hash is stored. Callers: the operator for any user; a user
// of any role for itself (ENOTFOUND for another user). A token issued with a
// token (who.TokenID) never outlives it and is revoked with it: ttl 0 means
// the issuing token's expiry (no expiry only when the operator issues it),
// and a ttl past that expiry is EINVALID. Returns EINVALID for a missing or
// long label or a negative ttl, ENOTFOUND for an unknown user.
func (s *Service) IssueToken(ctx context.Context, who domain.Actor, userID domain.ID, label string, ttl time.Duration) (IssuedToken, error) {
	if err := authorizeWork(who, ActTokenManage, administration); err != nil {
		return IssuedToken{}, err
	}
	if !isSystem(who) && userID != who.UserID {
		return IssuedToken{}, domain.Errorf(domain.ENOTFOUND, "user %s not found", userID)
	}
	label = strings.TrimSpace(label)
	if label == "" || len(label) > 100 {
		return IssuedToken{}, domain.Invalid("label", "required, at most 100 bytes")
	}
	if err := storable("label", label); err != nil {
		return IssuedToken{}, err
	}
	if ttl < 0 {
		return IssuedToken{}, domain.Invalid("ttl", "must not be negative")
	}
	secret, err := newSecret(TokenPrefix)
	if err != nil {
		return IssuedToken{}, err
	}
	now := s.Now()
	k := domain.Token{ID: newID(), UserID: userID, Hash: hashToken(secret), Label: label, Kind: domain.TokenAPI, CreatedAt: now}
	if ttl > 0 {
		exp := now.Add(ttl)
		k.ExpiresAt = &exp
	}
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.User(ctx, userID); err != nil {
			return err
		}
		if !isSystem(who) && who.TokenID != (domain.ID{}) {
			if err := boundByIssuer(ctx, tx, who.TokenID, &k, now, ttl == 0); err != nil {
				return err
			}
		}
		if err := tx.CreateToken(ctx, &k); err != nil {
			return err
		}
		return s.record(ctx, tx, who, now, "token.issued", "token", k.ID.String(), k)
	})
	if err != nil {
		return IssuedToken{}, err
	}
	return IssuedToken{Token: k, Secret: secret}, nil
}

// RevokeToken revokes a token at once, with every token and session it
// issued (and theirs). Callers: the operator for any token; a user of any
// role for its own (ENOTFOUND for another's). Returns ENOTFOUND for an
// unknown token; revoking a revoked token again is no error and writes no
// second record.
func (s *Service) RevokeToken(ctx context.Context, who domain.Actor, tokenID domain.ID) error {
	if err := authorize(who, ActTokenManage); err != nil {
		return err
	}
	now := s.Now()
	return s.store.InTx(ctx, func(tx store.Tx) error {
		k, err := tx.Token(ctx, tokenID)
		if err != nil {
			return err
		}
		if !isSystem(who) && k.UserID != who.UserID {
			return domain.Errorf(domain.ENOTFOUND, "token %s not found", tokenID)
		}
		if k.RevokedAt != nil {
			return nil // revoking twice is not an error and leaves one record
		}
		also, err := revokeWithIssued(ctx, tx, k, now)
		if err != nil {
			return err
		}
		k.RevokedAt = &now
		return s.record(ctx, tx, who, now, "token.revoked", "token", k.ID.String(), revokedToken{k, also})
	})
}

// revokedToken is the record of a revocation: the token and the tokens it
// had issued that went with it.
type revokedToken struct {
	domain.Token
	AlsoRevoked []domain.ID `json:"also_revoked,omitempty"`
}

// revokeWithIssued revokes k and every live token it issued, directly or
// through another, returning the latter's ids.
func revokeWithIssued(ctx context.Context, tx store.Tx, k domain.Token, now time.Time) ([]domain.ID, error) {
	if err := tx.RevokeToken(ctx, k.ID, now); err != nil {
		return nil, err
	}
	// A token issues tokens only for its own user.
	all, err := tx.Tokens(ctx, k.UserID)
	if err != nil {
		return nil, err
	}
	var also []domain.ID
	gone := map[domain.ID]bool{k.ID: true}
	for grew := true; grew; {
		grew = false
		for _, c := range all {
			if c.ParentID == nil || !gone[*c.ParentID] || gone[c.ID] {
				continue
			}
			gone[c.ID], grew = true, true
			if c.RevokedAt != nil {
				continue
			}
			if err := tx.RevokeToken(ctx, c.ID, now); err != nil {
				return nil, err
			}
			also = append(also, c.ID)
		}
	}
	return also, nil
}

// boundByIssuer makes k a token issued by the token issuer: k's parent,
// expiring no later than it (at its expiry when inherit is set). EINVALID
// names ttl when k would outlive its issuer; EUNAUTHORIZED when the issuer
// is no longer active.
func boundByIssuer(ctx context.Context, tx store.Tx, issuer domain.ID, k *domain.Token, now time.Time, inherit bool) error {
	p, err := tx.Token(ctx, issuer)
	if err != nil {
		return err
	}
	if !p.Active(now) {
		return domain.Errorf(domain.EUNAUTHORIZED, "missing, unknown, expired or revoked token")
	}
	k.ParentID = &p.ID
	switch {
	case p.ExpiresAt == nil:
	case inherit || k.ExpiresAt == nil:
		exp := *p.ExpiresAt
		k.ExpiresAt = &exp
	case k.ExpiresAt.After(*p.ExpiresAt):
		return domain.Invalid("ttl", "must not outlive the token that issues it, which expires at %s", p.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// newSecret returns prefix followed by 32 random bytes, base64url.
func newSecret(prefix string) (string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	return prefix + base64.RawURLEncoding.EncodeToString(raw[:]), nil
}

// Tokens lists the caller's own tokens, newest first (never their
// secrets). Callers: a user of any role.
func (s *Service) Tokens(ctx context.Context, who domain.Actor) ([]domain.Token, error) {
	if err := authorize(who, ActTokenManage); err != nil {
		return nil, err
	}
	return viewOf(ctx, s.store, func(tx store.Tx) ([]domain.Token, error) {
		return tx.Tokens(ctx, who.UserID)
	})
}

// Authenticate returns the actor a bearer secret stands for. Returns
// EUNAUTHORIZED for an unknown, expired or revoked token (one message for all,
// so the caller learns nothing about which).
func (s *Service) Authenticate(ctx context.Context, secret string) (domain.Actor, error) {
	denied := domain.Errorf(domain.EUNAUTHORIZED, "missing, unknown, expired or revoked token")
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 200 {
		return domain.Actor{}, denied
	}
	h := hashToken(secret)
	k, u, p, err := s.principal(ctx, h)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return domain.Actor{}, denied
	} else if err != nil {
		return domain.Actor{}, err
	}
	// The lookup used the hash as a key; compare in constant time all the
	// same so that no code path depends on a secret's bytes.
	// A session's secret opens the dashboard only, never the API.
	if subtle.ConstantTimeCompare(k.Hash, h) != 1 || !k.Active(s.Now()) || k.Kind == domain.TokenSession {
		return domain.Actor{}, denied
	}
	return actorOf(k, u, p), nil
}

// actorOf is the actor a token stands for.
func actorOf(k domain.Token, u domain.User, p domain.Party) domain.Actor {
	return domain.Actor{UserID: u.ID, UserName: u.Name, PartyID: p.ID, PartySlug: p.Slug, Role: p.Role, Duties: u.Duties, TokenID: k.ID, TokenExpiresAt: k.ExpiresAt}
}

// cachedPrincipal is a token's principal as read when the token epoch was
// epoch.
type cachedPrincipal struct {
	epoch int64
	token domain.Token
	user  domain.User
	party domain.Party
}

// maxCachedPrincipals bounds the principal cache; past it, the cache starts
// over.
const maxCachedPrincipals = 100_000

// principal returns the token hashing to hash with its user and party. A
// principal read earlier serves while the token epoch has not moved since:
// tokens, users and parties never change but for revocation, which moves
// the epoch in its own transaction, so a revoked token is refused from the
// moment its revocation commits, by every replica.
func (s *Service) principal(ctx context.Context, hash []byte) (domain.Token, domain.User, domain.Party, error) {
	epoch, err := s.store.TokenEpoch(ctx)
	if err != nil {
		return domain.Token{}, domain.User{}, domain.Party{}, err
	}
	if c, ok := s.principals.Load(string(hash)); ok && c.(cachedPrincipal).epoch == epoch {
		c := c.(cachedPrincipal)
		return c.token, c.user, c.party, nil
	}
	k, u, p, err := s.store.Principal(ctx, hash)
	if err != nil {
		return k, u, p, err
	}
	if s.principalCount.Add(1) > maxCachedPrincipals {
		s.principals.Clear()
		s.principalCount.Store(1)
	}
	s.principals.Store(string(hash), cachedPrincipal{epoch: epoch, token: k, user: u, party: p})
	return k, u, p, nil
}

func hashToken(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}
