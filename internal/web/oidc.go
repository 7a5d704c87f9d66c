package web

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/throttle"
)

// Single sign-on with a party's OpenID Connect provider: the authorization
// code flow with PKCE, a state and a nonce. The service keeps the pending
// sign-in (keyed by the state's hash, used once, for ten minutes); the
// browser's ssoCookie binds the state to the browser that started it, so a
// callback URL replayed elsewhere, or twice, opens nothing. The callback
// checks the ID token's signature, issuer, audience, expiry and nonce, and
// the service maps its subject or groups to a user of the party.
const (
	ssoCookie = "chipgate_sso"
	ssoPath   = "/signin/sso"
	// ssoTimeout bounds each exchange with a provider.
	ssoTimeout = 10 * time.Second
)

// providers caches discovered providers by issuer: discovery and the key
// set are fetched once per issuer, not on every sign-in.
type providers struct {
	mu sync.Mutex
	by map[string]*oidc.Provider
}

// get discovers the provider of issuer, or returns the one discovered
// before. A provider whose discovery document names another issuer is
// refused (go-oidc checks it).
func (ps *providers) get(ctx context.Context, issuer string) (*oidc.Provider, error) {
	ps.mu.Lock()
	p := ps.by[issuer]
	ps.mu.Unlock()
	if p != nil {
		return p, nil
	}
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, err
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.by == nil {
		ps.by = map[string]*oidc.Provider{}
	}
	ps.by[issuer] = p
	return p, nil
}

// oauthConfig is the OAuth 2.0 client of a party's provider, answering at
// this server's callback.
func (h *handler) oauthConfig(r *http.Request, ip domain.IdentityProvider, p *oidc.Provider) *oauth2.Config {
	scheme := "http"
	if h.secureCookie(r) {
		scheme = "https"
	}
	return &oauth2.Config{ClientID: ip.ClientID, ClientSecret: ip.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: scheme + "://" + r.Host + ssoPath + "/callback", Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}
}

// ssoStart sends the browser to the identity provider of the organization
// it names (?party=slug).
func (h *handler) ssoStart(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), ssoTimeout)
	defer cancel()
	slug := strings.TrimSpace(r.URL.Query().Get("party"))
	start, err := h.svc.BeginSignIn(ctx, slug)
	if err != nil {
		h.ssoRefused(w, r, err, http.StatusNotFound, "No organization by that name signs in with its own identity provider.")
		return
	}
	p, err := h.oidc.get(ctx, start.Provider.Issuer)
	if err != nil {
		h.log.WarnContext(ctx, "web: identity provider unreachable or misconfigured", "party", start.Party.Slug, "issuer", start.Provider.Issuer, "err", err)
		h.renderSignin(w, r, http.StatusBadGateway, fmt.Sprintf("%s's identity provider could not be reached or is misconfigured; try again later.", start.Party.Name))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: start.State + "." + h.mac("sso", start.State), Path: ssoPath,
		MaxAge: int((10 * time.Minute).Seconds()), HttpOnly: true, Secure: h.secureCookie(r),
		// Lax: the provider sends the browser back with a top-level GET
		// from its own site, which a Strict cookie would not follow.
		SameSite: http.SameSiteLaxMode})
	u := h.oauthConfig(r, start.Provider, p).AuthCodeURL(start.State, oidc.Nonce(start.Nonce), oauth2.S256ChallengeOption(start.Verifier))
	// A page that moves on, not a redirect: the sign-in form's CSP allows
	// forms to submit to chipgate only (form-action 'self'), and browsers
	// hold a form's redirects to it as well.
	moveOn(w, u, "Sign in with "+start.Provider.Name)
}

// ssoCallback finishes a sign-in: the state must be this browser's and
// unused, the code is exchanged with the PKCE verifier, the ID token
// verified, and the person mapped to a user of the party. A good sign-in
// starts a new session (a fresh id, never an earlier one's) and goes home
// (landHome).
func (h *handler) ssoCallback(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*ssoTimeout)
	defer cancel()
	addr := h.proxies.ClientAddr(r)
	if h.throttled(w, r, h.failures, addr, "from your address") {
		return
	}
	// The cookie is single use, whatever happens next.
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: "", Path: ssoPath, MaxAge: -1, HttpOnly: true, Secure: h.secureCookie(r), SameSite: http.SameSiteLaxMode})
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		h.renderSignin(w, r, http.StatusUnauthorized, "Your identity provider did not sign you in.")
		return
	}
	state := q.Get("state")
	c, err := r.Cookie(ssoCookie)
	i := -1
	if err == nil {
		i = strings.LastIndexByte(c.Value, '.')
	}
	if i < 0 || !equalSecret(c.Value[:i], state) || !equalSecret(c.Value[i+1:], h.mac("sso", state)) {
		h.failed(addr)
		h.renderSignin(w, r, http.StatusUnauthorized, "This sign-in was not started in this browser, or was finished already; start again.")
		return
	}
	start, err := h.svc.TakeSignIn(ctx, state)
	if err != nil {
		h.failed(addr)
		h.ssoRefused(w, r, err, http.StatusUnauthorized, "This sign-in is unknown, used or expired; start again.")
		return
	}
	p, err := h.oidc.get(ctx, start.Provider.Issuer)
	if err != nil {
		h.log.WarnContext(ctx, "web: identity provider unreachable or misconfigured", "party", start.Party.Slug, "issuer", start.Provider.Issuer, "err", err)
		h.renderSignin(w, r, http.StatusBadGateway, "Your identity provider could not be reached; try again later.")
		return
	}
	tok, err := h.oauthConfig(r, start.Provider, p).Exchange(ctx, q.Get("code"), oauth2.VerifierOption(start.Verifier))
	if err != nil {
		h.failed(addr)
		h.log.InfoContext(ctx, "web: single sign-on code exchange refused", "party", start.Party.Slug, "err", err)
		h.renderSignin(w, r, http.StatusUnauthorized, "Your identity provider refused to confirm this sign-in; start again.")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := p.Verifier(&oidc.Config{ClientID: start.Provider.ClientID, Now: h.svc.Now}).Verify(ctx, raw)
	if err == nil && !equalSecret(idt.Nonce, start.Nonce) {
		err = fmt.Errorf("the ID token's nonce is not this sign-in's")
	}
	if err != nil {
		h.failed(addr)
		h.log.InfoContext(ctx, "web: single sign-on ID token refused", "party", start.Party.Slug, "err", err)
		h.renderSignin(w, r, http.StatusUnauthorized, "The identity provider's answer could not be verified (wrong issuer or audience, expired, or replayed); start again.")
		return
	}
	id := service.Identity{Issuer: idt.Issuer, Subject: idt.Subject}
	var claims map[string]any
	if err := idt.Claims(&claims); err == nil {
		id.Groups = stringsOf(claims[start.Provider.GroupsClaim])
		id.Email, _ = claims["email"].(string)
	}
	// A person the provider vouches for is an account: its refusals are
	// counted per account too, wherever they come from.
	account := start.Party.ID.String() + "|" + id.Subject
	if h.throttled(w, r, h.accountFailures, account, "for your account") {
		return
	}
	started, who, err := h.svc.StartIdentitySession(ctx, start.Party.ID, id, h.limits)
	if err != nil {
		if domain.ErrorCode(err) == domain.EFORBIDDEN {
			h.failed(addr)
			if h.accountFailures != nil {
				h.accountFailures.Take(account, time.Now())
			}
		}
		h.ssoRefused(w, r, err, http.StatusForbidden, h.localeFor(r, nil).ErrText(err))
		return
	}
	h.endPrevious(r)
	h.setSessionCookie(w, r, started.Secret)
	landHome(w, homeOf[who.Role])
}

// landHome answers a good sign-in's callback with a page that moves on to
// home at once. Not a redirect: the callback is the end of a navigation
// another site (the provider) started, and a browser withholds SameSite=
// Strict cookies, the session's too, from the redirects of such a chain;
// a navigation the page itself starts is same-site and carries the cookie.
func landHome(w http.ResponseWriter, home string) { moveOn(w, home, "Signed in: continue") }

// moveOn answers with a page that navigates to target at once (a meta
// refresh: no script runs under the CSP), with a link saying text for a
// browser that does not refresh.
func moveOn(w http.ResponseWriter, target, text string) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	u := template.HTMLEscapeString(target)
	fmt.Fprintf(w, `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=%s"><link rel="icon" href="/static/favicon.svg" type="image/svg+xml"><title>%s</title><p><a href="%s">%s</a></p>`,
		u, template.HTMLEscapeString(text), u, template.HTMLEscapeString(text))
}

// throttled answers 429 and returns true when key's bucket of failed
// sign-ins is empty; whose says whose failures they are.
func (h *handler) throttled(w http.ResponseWriter, r *http.Request, b *throttle.Bucket, key, whose string) bool {
	if b == nil {
		return false
	}
	empty, wait := b.Empty(key, time.Now())
	if !empty {
		return false
	}
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
	h.renderSignin(w, r, http.StatusTooManyRequests, fmt.Sprintf("Too many failed sign-ins %s; try again in %s.", whose, wait.Round(time.Second)))
	return true
}

// failed counts a failed sign-in from addr.
func (h *handler) failed(addr string) {
	if h.failures != nil {
		h.failures.Take(addr, time.Now())
	}
}

// ssoRefused renders the sign-in page with msg and status for a client's
// error, or fails for the service's own.
func (h *handler) ssoRefused(w http.ResponseWriter, r *http.Request, err error, status int, msg string) {
	switch domain.ErrorCode(err) {
	case domain.ENOTFOUND, domain.EUNAUTHORIZED, domain.EFORBIDDEN, domain.EINVALID:
		h.renderSignin(w, r, status, msg)
	default:
		h.fail(w, r, err)
	}
}

// renderSignin shows the sign-in page with an error.
func (h *handler) renderSignin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h.render(w, r, status, "signin", &view{Title: "Sign in", CSRF: h.signinCSRF(w, r), Error: msg})
}

// stringsOf reads a claim that is a list of strings (or one string).
func stringsOf(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
