package domain

import (
	"net"
	"net/url"
	"strings"
	"time"
)

// IdentityProvider is a party's OpenID Connect provider: its people sign in
// to the dashboard with it (authorization code flow with PKCE) and are
// mapped to the party's users (IdentityMapping). The client secret is kept
// as given, because the code exchange needs it; it is never shown again,
// logged or recorded.
type IdentityProvider struct {
	PartyID ID `json:"party_id"`
	// Issuer is the provider's issuer URL, exactly as its ID tokens say
	// (https, or http on a loopback address for tests).
	Issuer   string `json:"issuer"`
	ClientID string `json:"client_id"`
	// ClientSecret is never encoded: no read or record carries it.
	ClientSecret string `json:"-"`
	// GroupsClaim is the ID token claim listing the person's groups,
	// "groups" by default.
	GroupsClaim string `json:"groups_claim"`
	// Name is what the sign-in page offers: "Sign in with <Name>".
	Name      string    `json:"name"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Validate returns EINVALID naming the first bad field.
func (p *IdentityProvider) Validate() error {
	var pr Problems
	if u, err := url.Parse(p.Issuer); err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil ||
		!(u.Scheme == "https" || u.Scheme == "http" && loopback(u.Hostname())) || len(p.Issuer) > 500 {
		pr.Add("issuer", "must be an https URL without query or fragment (http only on a loopback address), at most 500 bytes")
	}
	if p.ClientID == "" || len(p.ClientID) > 300 {
		pr.Add("client_id", "required, at most 300 bytes")
	}
	if p.ClientSecret == "" || len(p.ClientSecret) > 1000 {
		pr.Add("client_secret", "required, at most 1000 bytes")
	}
	if p.GroupsClaim == "" || len(p.GroupsClaim) > 100 {
		pr.Add("groups_claim", "required, at most 100 bytes")
	}
	if strings.TrimSpace(p.Name) == "" || len(p.Name) > 100 {
		pr.Add("name", "required, at most 100 bytes")
	}
	return pr.Err()
}

// loopback reports whether host is a loopback address or localhost.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// MappingKind says what an identity mapping matches: one person (the ID
// token's subject) or everyone in a group (a value of the groups claim).
type MappingKind string

// Mapping kinds.
const (
	MapSubject MappingKind = "subject"
	MapGroup   MappingKind = "group"
)

// IdentityMapping maps a person (subject) or a group of a party's identity
// provider to one of the party's users: signing in, the person acts as
// that user, with its duties. A subject's mapping comes before a group's;
// among groups, the oldest mapping wins.
type IdentityMapping struct {
	ID        ID          `json:"id"`
	PartyID   ID          `json:"party_id"`
	Kind      MappingKind `json:"kind"`
	Value     string      `json:"value"`
	UserID    ID          `json:"user_id"`
	CreatedAt time.Time   `json:"created_at"`
}

// Validate returns EINVALID naming the first bad field.
func (m *IdentityMapping) Validate() error {
	var pr Problems
	if m.Kind != MapSubject && m.Kind != MapGroup {
		pr.Add("kind", "must be subject or group")
	}
	if m.Value == "" || len(m.Value) > 255 {
		pr.Add(string(m.Kind), "required, at most 255 bytes")
	}
	if m.UserID == (ID{}) {
		pr.Add("user", "required")
	}
	return pr.Err()
}

// PendingSignIn is a sign-in started with an identity provider and not yet
// finished: what the callback needs, keyed by the hash of its state, used
// at most once and only until it expires.
type PendingSignIn struct {
	StateHash []byte
	PartyID   ID
	Nonce     string
	// Verifier is the PKCE code verifier.
	Verifier  string
	ExpiresAt time.Time
}
