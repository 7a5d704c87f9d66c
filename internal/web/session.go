package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
)

// The session cookie holds "expiry.token.mac": the API token itself (so that
// revoking the token ends the session at once and replicas need no shared
// session table), the session's own expiry, and an HMAC over both so that a
// client cannot stretch its session. It is HttpOnly and SameSite=Strict.
const (
	sessionCookie = "chipgate_session"
	// signinCookie carries the double-submit CSRF token of the sign-in form,
	// which has no session to derive one from.
	signinCookie = "chipgate_signin"
)

var errNoSession = domain.Errorf(domain.EUNAUTHORIZED, "no session")

// mac is the HMAC-SHA-256 of parts under the handler's key, base64url.
func (h *handler) mac(parts ...string) string {
	m := hmac.New(sha256.New, h.key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// startSession sets the session cookie for token.
func (h *handler) startSession(w http.ResponseWriter, r *http.Request, token string) {
	exp := strconv.FormatInt(h.now().Add(h.ttl).Unix(), 10)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: exp + "." + token + "." + h.mac("session", exp, token), Path: "/",
		MaxAge: int(h.ttl.Seconds()), HttpOnly: true, Secure: h.secureCookie(r), SameSite: http.SameSiteStrictMode,
	})
}

// secureCookie tells whether cookies set in answer to r are Secure.
func (h *handler) secureCookie(r *http.Request) bool { return h.secure || r.TLS != nil }

// clearSession removes the session cookie.
func (h *handler) clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.secureCookie(r), SameSite: http.SameSiteStrictMode})
}

// session returns the signed-in actor and the session's CSRF token, or
// EUNAUTHORIZED when there is no live session. The token is authenticated by
// the service on every request: a revoked or expired token ends the session.
func (h *handler) session(r *http.Request) (domain.Actor, string, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return domain.Actor{}, "", errNoSession
	}
	exp, rest, ok := strings.Cut(c.Value, ".")
	if !ok {
		return domain.Actor{}, "", errNoSession
	}
	i := strings.LastIndexByte(rest, '.')
	if i < 0 {
		return domain.Actor{}, "", errNoSession
	}
	token, sum := rest[:i], rest[i+1:]
	if !equalSecret(sum, h.mac("session", exp, token)) {
		return domain.Actor{}, "", errNoSession
	}
	until, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !h.now().Before(time.Unix(until, 0)) {
		return domain.Actor{}, "", errNoSession
	}
	who, err := h.svc.Authenticate(r.Context(), token)
	if err != nil {
		return domain.Actor{}, "", err
	}
	// The CSRF token is bound to this very session: a new sign-in makes a
	// new one, and it is worthless without the cookie.
	return who, h.mac("csrf", exp, token), nil
}

// signinCSRF returns the sign-in form's CSRF token, setting its cookie when
// the browser has none.
func (h *handler) signinCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(signinCookie); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("web: no randomness: " + err.Error())
	}
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: signinCookie, Value: v, Path: "/signin", MaxAge: 3600,
		HttpOnly: true, Secure: h.secureCookie(r), SameSite: http.SameSiteStrictMode})
	return v
}

// equalSecret compares two secrets in constant time; empty never matches.
func equalSecret(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// signinForm shows the sign-in page.
func (h *handler) signinForm(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "signin", &view{Title: "Sign in", CSRF: h.signinCSRF(w, r)})
}

// signin checks the pasted token with the service and starts a session.
func (h *handler) signin(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.renderError(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	c, err := r.Cookie(signinCookie)
	if err != nil || !equalSecret(r.PostForm.Get("csrf"), c.Value) {
		h.render(w, r, http.StatusForbidden, "signin", &view{Title: "Sign in", CSRF: h.signinCSRF(w, r),
			Error: "The form's security token is missing or stale; please sign in again."})
		return
	}
	token := strings.TrimSpace(r.PostForm.Get("token"))
	who, err := h.svc.Authenticate(r.Context(), token)
	if err != nil {
		status, msg := http.StatusUnauthorized, "That token is unknown, expired or revoked."
		if domain.ErrorCode(err) != domain.EUNAUTHORIZED {
			h.fail(w, r, err)
			return
		}
		h.render(w, r, status, "signin", &view{Title: "Sign in", CSRF: c.Value, Error: msg})
		return
	}
	h.startSession(w, r, token)
	http.SetCookie(w, &http.Cookie{Name: signinCookie, Value: "", Path: "/signin", MaxAge: -1,
		HttpOnly: true, Secure: h.secureCookie(r), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, homeOf[who.Role], http.StatusSeeOther)
}

// signout ends the session. The API token itself stays valid: it is the
// party's credential, which only its owner or the operator revokes.
func (h *handler) signout(w http.ResponseWriter, r *http.Request, _ domain.Actor, _ string) {
	h.clearSession(w, r)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}
