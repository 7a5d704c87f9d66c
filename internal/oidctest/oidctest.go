// Package oidctest runs a real OpenID provider on loopback for tests: the
// OP of github.com/zitadel/oidc (discovery, JWKS, RS256-signed ID tokens,
// the authorization code flow with PKCE) over a small in-memory storage
// written here. Its login page signs in, without asking, the person the
// test named last (SignInAs).
package oidctest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Person is who the provider signs in.
type Person struct {
	Subject string
	Email   string
	Groups  []string
}

// Provider is a running OpenID provider with one client.
type Provider struct {
	// Issuer is the provider's issuer URL (its loopback address).
	Issuer                 string
	ClientID, ClientSecret string

	mu sync.Mutex
	// person signs in at the login page.
	person Person
	// lifetime is the ID tokens' lifetime (negative: issued expired).
	lifetime time.Duration
	// redirects are the client's registered redirect URIs.
	redirects []string
	requests  map[string]*authRequest // by id
	codes     map[string]string       // code → request id
	key       *rsa.PrivateKey
}

// Start runs a provider on loopback until the test ends, with one
// confidential client whose callback is redirect.
func Start(t testing.TB, clientID, clientSecret string, redirect ...string) *Provider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{ClientID: clientID, ClientSecret: clientSecret, lifetime: 5 * time.Minute, redirects: redirect,
		requests: map[string]*authRequest{}, codes: map[string]string{}, key: key}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	// The provider answers as localhost, chipgate's tests as 127.0.0.1:
	// to a browser the provider is another site, as it is in production.
	p.Issuer = strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	cfg := &op.Config{CryptoKey: sha256.Sum256([]byte(clientSecret)), CodeMethodS256: true, AuthMethodPost: true}
	provider, err := op.NewProvider(cfg, p, op.StaticIssuer(p.Issuer), op.WithAllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	mux.HandleFunc("/login", p.login)
	mux.Handle("/", provider)
	return p
}

// SignInAs makes the login page sign in who.
func (p *Provider) SignInAs(who Person) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.person = who
}

// SetIDTokenLifetime sets the lifetime of the ID tokens issued from now
// on; a negative one issues them expired.
func (p *Provider) SetIDTokenLifetime(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lifetime = d
}

// AllowRedirect registers one more redirect URI of the client.
func (p *Provider) AllowRedirect(uri string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.redirects = append(p.redirects, uri)
}

// login is the provider's login page: it authenticates the person the
// test named and sends the browser back to the authorization endpoint.
func (p *Provider) login(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	p.mu.Lock()
	req, ok := p.requests[id]
	if ok {
		req.subject, req.person, req.done, req.authTime = p.person.Subject, p.person, true, time.Now()
	}
	p.mu.Unlock()
	if !ok {
		http.Error(w, "no such request", http.StatusNotFound)
		return
	}
	http.Redirect(w, r, p.Issuer+"/authorize/callback?id="+id, http.StatusFound)
}

// authRequest is one authorization request.
type authRequest struct {
	id       string
	req      oidc.AuthRequest
	subject  string
	person   Person
	done     bool
	authTime time.Time
}

func (a *authRequest) GetID() string                      { return a.id }
func (a *authRequest) GetACR() string                     { return "" }
func (a *authRequest) GetAMR() []string                   { return []string{"pwd"} }
func (a *authRequest) GetAudience() []string              { return []string{a.req.ClientID} }
func (a *authRequest) GetAuthTime() time.Time             { return a.authTime }
func (a *authRequest) GetClientID() string                { return a.req.ClientID }
func (a *authRequest) GetNonce() string                   { return a.req.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.req.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return a.req.ResponseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.req.ResponseMode }
func (a *authRequest) GetScopes() []string                { return a.req.Scopes }
func (a *authRequest) GetState() string                   { return a.req.State }
func (a *authRequest) GetSubject() string                 { return a.subject }
func (a *authRequest) Done() bool                         { return a.done }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.req.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.req.CodeChallenge, Method: a.req.CodeChallengeMethod}
}

var errNotFound = errors.New("not found")

// newID is a random identifier.
func newID() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// CreateAuthRequest stores an authorization request.
func (p *Provider) CreateAuthRequest(_ context.Context, r *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a := &authRequest{id: newID(), req: *r}
	p.requests[a.id] = a
	return a, nil
}

// AuthRequestByID returns a stored request.
func (p *Provider) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok := p.requests[id]; ok {
		return a, nil
	}
	return nil, errNotFound
}

// AuthRequestByCode returns the request a code was issued for.
func (p *Provider) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok := p.requests[p.codes[code]]; ok {
		return a, nil
	}
	return nil, errNotFound
}

// SaveAuthCode notes the code issued for a request.
func (p *Provider) SaveAuthCode(_ context.Context, id, code string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.codes[code] = id
	return nil
}

// DeleteAuthRequest forgets a request and its codes: a code is used once.
func (p *Provider) DeleteAuthRequest(_ context.Context, id string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.requests, id)
	for c, r := range p.codes {
		if r == id {
			delete(p.codes, c)
		}
	}
	return nil
}

// CreateAccessToken issues an opaque access token's id.
func (p *Provider) CreateAccessToken(context.Context, op.TokenRequest) (string, time.Time, error) {
	return newID(), time.Now().Add(5 * time.Minute), nil
}

// CreateAccessAndRefreshTokens is not supported: no refresh tokens.
func (p *Provider) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errors.New("refresh tokens are not supported")
}

// TokenRequestByRefreshToken is not supported.
func (p *Provider) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, op.ErrInvalidRefreshToken
}

// TerminateSession has no sessions to end.
func (p *Provider) TerminateSession(context.Context, string, string) error { return nil }

// RevokeToken has nothing to revoke.
func (p *Provider) RevokeToken(context.Context, string, string, string) *oidc.Error { return nil }

// GetRefreshTokenInfo is not supported.
func (p *Provider) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

// signingKey is the provider's RS256 key.
type signingKey struct{ key *rsa.PrivateKey }

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k signingKey) Key() any                                    { return k.key }
func (k signingKey) ID() string                                  { return "k1" }

// publicKey is the provider's key as its JWKS lists it.
type publicKey struct{ key *rsa.PrivateKey }

func (k publicKey) ID() string                         { return "k1" }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return &k.key.PublicKey }

// SigningKey returns the key ID tokens are signed with.
func (p *Provider) SigningKey(context.Context) (op.SigningKey, error) { return signingKey{p.key}, nil }

// SignatureAlgorithms lists RS256.
func (p *Provider) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

// KeySet returns the public key.
func (p *Provider) KeySet(context.Context) ([]op.Key, error) { return []op.Key{publicKey{p.key}}, nil }

// GetClientByClientID returns the one client.
func (p *Provider) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	if id != p.ClientID {
		return nil, errNotFound
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return &client{id: id, redirects: slices.Clone(p.redirects), lifetime: p.lifetime, login: p.Issuer + "/login?id="}, nil
}

// AuthorizeClientIDSecret checks the client's secret.
func (p *Provider) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	if id != p.ClientID || secret != p.ClientSecret {
		return errors.New("wrong client or secret")
	}
	return nil
}

// SetUserinfoFromScopes is deprecated; SetUserinfoFromRequest fills in.
func (p *Provider) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest puts the person's email and groups in the ID
// token.
func (p *Provider) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, r op.IDTokenRequest, _ []string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	info.Subject = r.GetSubject()
	for _, a := range p.requests {
		if a.subject == r.GetSubject() {
			info.Email = a.person.Email
			if len(a.person.Groups) > 0 {
				info.AppendClaims("groups", a.person.Groups)
			}
		}
	}
	return nil
}

// SetUserinfoFromToken answers the userinfo endpoint with the subject.
func (p *Provider) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, _, subject, _ string) error {
	info.Subject = subject
	return nil
}

// SetIntrospectionFromToken is not supported.
func (p *Provider) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return errors.New("introspection is not supported")
}

// GetPrivateClaimsFromScopes adds none.
func (p *Provider) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID is not supported (no JWT profile).
func (p *Provider) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errNotFound
}

// ValidateJWTProfileScopes allows none.
func (p *Provider) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("JWT profile is not supported")
}

// Health is always good.
func (p *Provider) Health(context.Context) error { return nil }

// client is the provider's one confidential web client.
type client struct {
	id        string
	redirects []string
	lifetime  time.Duration
	login     string
}

func (c *client) GetID() string                       { return c.id }
func (c *client) RedirectURIs() []string              { return c.redirects }
func (c *client) PostLogoutRedirectURIs() []string    { return nil }
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *client) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodBasic }
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType         { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c *client) LoginURL(id string) string            { return c.login + id }
func (c *client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration       { return c.lifetime }
func (c *client) DevMode() bool                        { return true }
func (c *client) IsScopeAllowed(string) bool           { return false }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
