package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
)

// The session cookie holds "secret.mac": the secret of a server-side
// session (never the API token it was opened with, so a copied cookie is no
// bearer token, and sign-out revokes it for every replica) and an HMAC over
// it under the dashboard's key. The session's expiry, idle timeout and
// revocation live in the store. The cookie is HttpOnly and SameSite=Strict.
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

// setSessionCookie sets the session cookie for a session's secret.
func (h *handler) setSessionCookie(w http.ResponseWriter, r *http.Request, secret string) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: secret + "." + h.mac("session", secret), Path: "/",
		MaxAge: int(h.limits.Absolute.Seconds()), HttpOnly: true, Secure: h.secureCookie(r), SameSite: http.SameSiteStrictMode,
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
// EUNAUTHORIZED when there is no live session. The service checks the
// session on every request: a signed-out, idle, expired or revoked session
// (or one whose API token was revoked) is refused.
func (h *handler) session(r *http.Request) (domain.Actor, string, error) {
	secret, ok := h.sessionSecret(r)
	if !ok {
		return domain.Actor{}, "", errNoSession
	}
	who, err := h.svc.Session(r.Context(), secret, h.limits)
	if err != nil {
		return domain.Actor{}, "", err
	}
	// The CSRF token is bound to this very session: a new sign-in makes a
	// new one, and it is worthless without the cookie.
	return who, h.mac("csrf", secret), nil
}

// sessionSecret returns the session secret of the request's cookie when
// its MAC is good.
func (h *handler) sessionSecret(r *http.Request) (string, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", false
	}
	i := strings.LastIndexByte(c.Value, '.')
	if i < 0 {
		return "", false
	}
	secret, sum := c.Value[:i], c.Value[i+1:]
	return secret, equalSecret(sum, h.mac("session", secret))
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
	addr := h.proxies.ClientAddr(r)
	if h.failures != nil {
		if empty, wait := h.failures.Empty(addr, time.Now()); empty {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
			h.render(w, r, http.StatusTooManyRequests, "signin", &view{Title: "Sign in", CSRF: c.Value,
				Error: h.locale(r, nil).T("Too many failed sign-ins from your address; try again in %s.", wait.Round(time.Second).String())})
			return
		}
	}
	token := strings.TrimSpace(r.PostForm.Get("token"))
	started, who, err := h.svc.StartSession(r.Context(), token, h.limits)
	if err != nil {
		status, msg := http.StatusUnauthorized, "That token is unknown, expired or revoked."
		if domain.ErrorCode(err) != domain.EUNAUTHORIZED {
			h.fail(w, r, err)
			return
		}
		if h.failures != nil {
			h.failures.Take(addr, time.Now())
		}
		h.render(w, r, status, "signin", &view{Title: "Sign in", CSRF: c.Value, Error: msg})
		return
	}
	h.endPrevious(r)
	h.setSessionCookie(w, r, started.Secret)
	http.SetCookie(w, &http.Cookie{Name: signinCookie, Value: "", Path: "/signin", MaxAge: -1,
		HttpOnly: true, Secure: h.secureCookie(r), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, homeOf[who.Role], http.StatusSeeOther)
}

// signout ends the session in the store, for every replica, and removes
// its cookie. The API token it was opened with stays valid: it is the
// party's credential, which only its owner or the operator revokes.
func (h *handler) signout(w http.ResponseWriter, r *http.Request, _ domain.Actor, _ string) {
	if secret, ok := h.sessionSecret(r); ok {
		if err := h.svc.EndSession(r.Context(), secret); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	h.clearSession(w, r)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// endPrevious ends the session the browser held before it signed in again:
// a sign-in replaces the session (a new id), and the old one does not stay
// open beside it. A failure is logged; the new session stands.
func (h *handler) endPrevious(r *http.Request) {
	if secret, ok := h.sessionSecret(r); ok {
		if err := h.svc.EndSession(r.Context(), secret); err != nil {
			h.log.WarnContext(r.Context(), "web: ending the previous session", "err", err)
		}
	}
}
