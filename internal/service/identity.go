package service

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
)

// IdentityProviderRequest configures a party's OpenID Connect provider.
type IdentityProviderRequest struct {
	Issuer   string `json:"issuer"`
	ClientID string `json:"client_id"`
	// ClientSecret is kept as given (the code exchange needs it) and never
	// shown again; empty keeps the secret already configured.
	ClientSecret string `json:"client_secret,omitempty"`
	// GroupsClaim is the ID token claim that lists groups; "groups" when
	// empty.
	GroupsClaim string `json:"groups_claim,omitempty"`
	// Name is what the sign-in page offers ("Sign in with <name>").
	Name string `json:"name"`
}

// SetIdentityProvider configures the party's identity provider, replacing
// the one it had. The record of it leaves the client secret out. Callers:
// the operator; an administrator, for its own party (ENOTFOUND for
// another's). Returns EINVALID naming the field (client_secret when there
// is none yet and none is given).
func (s *Service) SetIdentityProvider(ctx context.Context, who domain.Actor, party string, in IdentityProviderRequest) (domain.IdentityProvider, error) {
	if err := authorizeWork(who, ActIdentityManage, administration); err != nil {
		return domain.IdentityProvider{}, err
	}
	p := domain.IdentityProvider{Issuer: strings.TrimSpace(in.Issuer), ClientID: strings.TrimSpace(in.ClientID), ClientSecret: in.ClientSecret,
		GroupsClaim: strings.TrimSpace(in.GroupsClaim), Name: strings.TrimSpace(in.Name), UpdatedAt: s.Now()}
	if p.GroupsClaim == "" {
		p.GroupsClaim = "groups"
	}
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		pt, err := partyByRef(ctx, tx, party)
		if err != nil {
			return err
		}
		if err := authorizeFor(who, ActIdentityManage, pt.ID, "party "+party); err != nil {
			return err
		}
		p.PartyID = pt.ID
		if p.ClientSecret == "" {
			if old, err := tx.IdentityProvider(ctx, pt.ID); err == nil {
				p.ClientSecret = old.ClientSecret
			} else if domain.ErrorCode(err) != domain.ENOTFOUND {
				return err
			}
		}
		if err := p.Validate(); err != nil {
			return err
		}
		if err := storable("issuer", p.Issuer, "client_id", p.ClientID, "client_secret", p.ClientSecret, "groups_claim", p.GroupsClaim, "name", p.Name); err != nil {
			return err
		}
		if err := tx.PutIdentityProvider(ctx, &p); err != nil {
			return err
		}
		return s.record(ctx, tx, who, p.UpdatedAt, "identity_provider.set", "party", pt.ID.String(), p)
	})
	if err != nil {
		return domain.IdentityProvider{}, err
	}
	return p, nil
}

// IdentityProvider returns the party's identity provider without its
// secret. Callers: the operator; an administrator, for its own party
// (ENOTFOUND for another's). Returns ENOTFOUND when none is configured.
func (s *Service) IdentityProvider(ctx context.Context, who domain.Actor, party string) (domain.IdentityProvider, error) {
	if err := authorizeWork(who, ActIdentityManage, administration); err != nil {
		return domain.IdentityProvider{}, err
	}
	p, err := viewOf(ctx, s.store, func(tx store.Tx) (domain.IdentityProvider, error) {
		pt, err := partyByRef(ctx, tx, party)
		if err != nil {
			return domain.IdentityProvider{}, err
		}
		if err := authorizeFor(who, ActIdentityManage, pt.ID, "party "+party); err != nil {
			return domain.IdentityProvider{}, err
		}
		return tx.IdentityProvider(ctx, pt.ID)
	})
	p.ClientSecret = ""
	return p, err
}

// MappingRequest maps a subject or a group of the party's provider to one
// of its users: exactly one of Subject and Group.
type MappingRequest struct {
	Subject string `json:"subject,omitempty"`
	Group   string `json:"group,omitempty"`
	// User is the id of the party's user the person signs in as.
	User domain.ID `json:"user"`
}

// CreateIdentityMapping maps a subject or group to a user of the party.
// Callers: the operator; an administrator, for its own party (ENOTFOUND
// for another's, or for a user of another party). Returns EINVALID naming
// subject, group or user; ECONFLICT when the subject or group is mapped
// already.
func (s *Service) CreateIdentityMapping(ctx context.Context, who domain.Actor, party string, in MappingRequest) (domain.IdentityMapping, error) {
	if err := authorizeWork(who, ActIdentityManage, administration); err != nil {
		return domain.IdentityMapping{}, err
	}
	m := domain.IdentityMapping{ID: newID(), UserID: in.User, CreatedAt: s.Now()}
	switch {
	case in.Subject != "" && in.Group != "":
		return m, domain.Invalid("group", "give a subject or a group, not both")
	case in.Group != "":
		m.Kind, m.Value = domain.MapGroup, in.Group
	default:
		m.Kind, m.Value = domain.MapSubject, in.Subject
	}
	if err := m.Validate(); err != nil {
		return domain.IdentityMapping{}, err
	}
	if err := storable(string(m.Kind), m.Value); err != nil {
		return domain.IdentityMapping{}, err
	}
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		pt, err := partyByRef(ctx, tx, party)
		if err != nil {
			return err
		}
		if err := authorizeFor(who, ActIdentityManage, pt.ID, "party "+party); err != nil {
			return err
		}
		m.PartyID = pt.ID
		u, err := tx.User(ctx, m.UserID)
		if err != nil || u.PartyID != pt.ID {
			return domain.Invalid("user", "no user %s in party %s", m.UserID, pt.Slug)
		}
		if err := tx.CreateIdentityMapping(ctx, &m); err != nil {
			return err
		}
		return s.record(ctx, tx, who, m.CreatedAt, "identity_mapping.created", "identity_mapping", m.ID.String(), m)
	})
	if err != nil {
		return domain.IdentityMapping{}, err
	}
	return m, nil
}

// IdentityMappings lists the party's mappings, oldest first. Callers: the
// operator; an administrator, for its own party (ENOTFOUND for another's).
func (s *Service) IdentityMappings(ctx context.Context, who domain.Actor, party string) ([]domain.IdentityMapping, error) {
	if err := authorizeWork(who, ActIdentityManage, administration); err != nil {
		return nil, err
	}
	return viewOf(ctx, s.store, func(tx store.Tx) ([]domain.IdentityMapping, error) {
		pt, err := partyByRef(ctx, tx, party)
		if err != nil {
			return nil, err
		}
		if err := authorizeFor(who, ActIdentityManage, pt.ID, "party "+party); err != nil {
			return nil, err
		}
		return tx.IdentityMappings(ctx, pt.ID)
	})
}

// DeleteIdentityMapping removes a mapping: the person (or group) signs in
// no more, from the commit on; sessions it opened run until they end.
// Callers: the operator; an administrator, for its own party (ENOTFOUND
// for another's). Returns ENOTFOUND for an unknown mapping.
func (s *Service) DeleteIdentityMapping(ctx context.Context, who domain.Actor, party string, id domain.ID) error {
	if err := authorizeWork(who, ActIdentityManage, administration); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx store.Tx) error {
		pt, err := partyByRef(ctx, tx, party)
		if err != nil {
			return err
		}
		if err := authorizeFor(who, ActIdentityManage, pt.ID, "party "+party); err != nil {
			return err
		}
		if err := tx.DeleteIdentityMapping(ctx, pt.ID, id); err != nil {
			return err
		}
		return s.record(ctx, tx, who, s.Now(), "identity_mapping.deleted", "identity_mapping", id.String(), map[string]string{"id": id.String()})
	})
}

// signInFor is how long a sign-in started with an identity provider may
// take to come back.
const signInFor = 10 * time.Minute

// SignInStart is a sign-in begun with a party's identity provider: the
// provider (with its secret, for the code exchange), and the state, nonce
// and PKCE verifier the flow carries. Only the state's hash is stored.
type SignInStart struct {
	Party    domain.Party
	Provider domain.IdentityProvider
	State    string
	Nonce    string
	Verifier string
}

var errNoProvider = domain.Errorf(domain.ENOTFOUND, "no organization with single sign-on by that name")

// BeginSignIn starts a sign-in with the identity provider of the party
// named by slug: anyone may, since this is how people sign in. Returns
// ENOTFOUND, saying the same whether the party is unknown or has no
// provider.
func (s *Service) BeginSignIn(ctx context.Context, slug string) (SignInStart, error) {
	if !domain.ValidSlug(slug) {
		return SignInStart{}, errNoProvider
	}
	var out SignInStart
	for _, v := range []*string{&out.State, &out.Nonce, &out.Verifier} {
		var err error
		if *v, err = newSecret(""); err != nil {
			return SignInStart{}, err
		}
	}
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		p, err := tx.PartyBySlug(ctx, slug)
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return errNoProvider
		} else if err != nil {
			return err
		}
		ip, err := tx.IdentityProvider(ctx, p.ID)
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return errNoProvider
		} else if err != nil {
			return err
		}
		out.Party, out.Provider = p, ip
		return tx.CreatePendingSignIn(ctx, &domain.PendingSignIn{StateHash: hashToken(out.State), PartyID: p.ID,
			Nonce: out.Nonce, Verifier: out.Verifier, ExpiresAt: s.Now().Add(signInFor)})
	})
	if err != nil {
		return SignInStart{}, err
	}
	return out, nil
}

// TakeSignIn finishes the pending sign-in of a state: once only, and only
// within ten minutes of its start. It returns what BeginSignIn returned,
// for the code exchange and the ID token's checks. Returns EUNAUTHORIZED
// for an unknown, used or expired state.
func (s *Service) TakeSignIn(ctx context.Context, state string) (SignInStart, error) {
	var out SignInStart
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		p, err := tx.TakePendingSignIn(ctx, hashToken(state), s.Now())
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return domain.Errorf(domain.EUNAUTHORIZED, "this sign-in is unknown, used or expired; start again")
		} else if err != nil {
			return err
		}
		if out.Party, err = tx.Party(ctx, p.PartyID); err != nil {
			return err
		}
		if out.Provider, err = tx.IdentityProvider(ctx, p.PartyID); err != nil {
			return err
		}
		out.State, out.Nonce, out.Verifier = state, p.Nonce, p.Verifier
		return nil
	})
	return out, err
}

// Identity is a person as the ID token of a party's provider, verified,
// says it is.
type Identity struct {
	Issuer  string
	Subject string
	Groups  []string
	// Email is the email claim, if any, for the session's label.
	Email string
}

// StartIdentitySession opens a dashboard session for a person whose ID
// token the party's provider issued and the caller verified (issuer,
// audience, expiry, nonce): the person acts as the user its subject, or
// else one of its groups, is mapped to. The session's label names the
// person, so that the ledger's session.started record does. Returns
// EFORBIDDEN, creating nothing, when neither is mapped or the issuer is
// not the party's provider's.
func (s *Service) StartIdentitySession(ctx context.Context, partyID domain.ID, id Identity, lim SessionLimits) (IssuedToken, domain.Actor, error) {
	secret, err := newSecret(SessionPrefix)
	if err != nil {
		return IssuedToken{}, domain.Actor{}, err
	}
	now := s.Now()
	exp := now.Add(lim.Absolute)
	var who domain.Actor
	k := domain.Token{ID: newID(), Hash: hashToken(secret), Kind: domain.TokenSession, CreatedAt: now, ExpiresAt: &exp, LastUsedAt: &now}
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		p, err := tx.Party(ctx, partyID)
		if err != nil {
			return err
		}
		ip, err := tx.IdentityProvider(ctx, partyID)
		if err != nil {
			return err
		}
		if ip.Issuer != id.Issuer {
			return domain.Errorf(domain.EFORBIDDEN, "the ID token's issuer is not %s's provider", p.Slug)
		}
		ms, err := tx.IdentityMappings(ctx, partyID)
		if err != nil {
			return err
		}
		m, ok := mappingOf(ms, id)
		if !ok {
			return domain.Errorf(domain.EFORBIDDEN, "%s's provider knows you (subject %s), but no user of %s is mapped to you or your groups", p.Slug, id.Subject, p.Slug)
		}
		u, err := tx.User(ctx, m.UserID)
		if err != nil {
			return err
		}
		label := "dashboard session, single sign-on: " + id.Subject
		if id.Email != "" {
			label += " <" + id.Email + ">"
		}
		k.UserID, k.Label = u.ID, truncate(label, 300)
		if err := tx.CreateToken(ctx, &k); err != nil {
			return err
		}
		who = actorOf(k, u, p)
		return s.record(ctx, tx, who, now, "session.started", "token", k.ID.String(), k)
	})
	if err != nil {
		return IssuedToken{}, domain.Actor{}, err
	}
	return IssuedToken{Token: k, Secret: secret}, who, nil
}

// mappingOf is the mapping a person signs in by: its subject's, else the
// oldest of its groups'.
func mappingOf(ms []domain.IdentityMapping, id Identity) (domain.IdentityMapping, bool) {
	for _, m := range ms {
		if m.Kind == domain.MapSubject && m.Value == id.Subject {
			return m, true
		}
	}
	for _, m := range ms {
		if m.Kind == domain.MapGroup && slices.Contains(id.Groups, m.Value) {
			return m, true
		}
	}
	return domain.IdentityMapping{}, false
}

// truncate cuts s to at most n bytes, at a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// utf8RuneStart reports whether b starts a UTF-8 sequence.
func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
