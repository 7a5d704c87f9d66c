// Package web is chipgate's dashboard: server-rendered pages for every role,
// enhanced with htmx, signed in with a party's OpenID Connect provider or
// an API token, either opening a server-side session whose id is kept in
// an HttpOnly cookie. It calls the service with the signed-in actor and nothing else, so
// authorization stays where the API's is: in the service. Templates and
// static assets (htmx and uPlot included) are embedded in the binary.
package web

import (
	"context"
	"crypto/rand"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/throttle"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// DefaultSessionTTL is how long a sign-in lasts when Options.SessionTTL is 0:
// a working day, so that a cookie left on a shared machine dies by evening.
// DefaultSessionIdle ends a session nobody used for that long.
const (
	DefaultSessionTTL  = 8 * time.Hour
	DefaultSessionIdle = 30 * time.Minute
)

// Options configure the dashboard.
type Options struct {
	Log *slog.Logger
	// SessionTTL bounds a sign-in; DefaultSessionTTL when zero. The token's
	// own expiry and revocation apply as well, on every request.
	SessionTTL time.Duration
	// SessionIdle ends a session unused for that long; DefaultSessionIdle
	// when zero.
	SessionIdle time.Duration
	// Key authenticates session cookies and derives CSRF tokens. Replicas
	// behind one address must share it; when nil a random key is made, and
	// sessions end when the process does.
	Key []byte
	// FailedSignInBurst is how many failed sign-ins a client address, and
	// an account a single sign-on provider vouched for, may make at once
	// before it is throttled (throttle.FailedAuth); 0 means
	// throttle.FailedAuthBurst, negative no throttle.
	FailedSignInBurst int
	// SecureCookies marks cookies Secure on every request, for a server
	// behind a proxy that terminates TLS; otherwise they are Secure when
	// the request came over TLS.
	SecureCookies bool
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client whose failed sign-ins are counted; none by default.
	TrustedProxies throttle.Proxies
}

// handler serves the dashboard.
type handler struct {
	svc    *service.Service
	log    *slog.Logger
	limits service.SessionLimits
	key    []byte
	// failures counts failed sign-ins per client address,
	// accountFailures those of accounts a provider vouched for (single
	// sign-on refused for a known subject).
	failures, accountFailures *throttle.Bucket
	// oidc caches the identity providers discovered.
	oidc providers
	// secure forces the Secure attribute on cookies (Options.SecureCookies).
	secure bool
	// proxies name the client behind a trusted proxy.
	proxies throttle.Proxies
	pages   map[string][]*template.Template
	mux     *http.ServeMux
	// countries caches each party's country, which sets its users' default
	// time zone: a party never changes country.
	countries sync.Map // domain.ID → string
}

// New returns the dashboard's handler for svc. It serves every path it is
// given; the API server hands it the paths outside /api/.
func New(svc *service.Service, opts Options) http.Handler {
	h := &handler{svc: svc, log: opts.Log, limits: service.SessionLimits{Absolute: opts.SessionTTL, Idle: opts.SessionIdle}, key: opts.Key, secure: opts.SecureCookies,
		failures: throttle.FailedAuth(opts.FailedSignInBurst), accountFailures: throttle.FailedAuth(opts.FailedSignInBurst), proxies: opts.TrustedProxies}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.limits.Absolute <= 0 {
		h.limits.Absolute = DefaultSessionTTL
	}
	if h.limits.Idle <= 0 {
		h.limits.Idle = DefaultSessionIdle
	}
	if len(h.key) == 0 {
		h.key = make([]byte, 32)
		if _, err := rand.Read(h.key); err != nil {
			panic("web: no randomness for the session key: " + err.Error())
		}
	}
	h.pages = mustParsePages()
	h.mux = h.routes()
	// Cross-origin POSTs are refused before any handler runs (Sec-Fetch-Site
	// and Origin), in addition to the per-session CSRF token each form carries.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.renderError(w, r, http.StatusForbidden, "This form was sent from another site and was refused.")
	}))
	return secureHeaders(h.secure, cop.Handler(h.mux))
}

// route is one route of the dashboard. Every route is declared here once:
// the mux is built from this table, and so is the authorization matrix test,
// which fails for a route it has no entry for.
type route struct {
	method, path string
	// role owns the route; "" means any signed-in role, or anyone when
	// public is set.
	role   domain.Role
	public bool
	serve  http.Handler
}

// key is the route's mux pattern, "METHOD /path".
func (rt route) key() string { return rt.method + " " + rt.path }

// routeTable lists the dashboard's routes: each page and its CSV tables,
// each form, and the public sign-in and static assets.
func (h *handler) routeTable() []route {
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	rs := []route{
		{method: "GET", path: "/static/", public: true, serve: cacheFor(24*time.Hour, http.StripPrefix("/static/", http.FileServerFS(static)))},
		{method: "GET", path: "/{$}", public: true, serve: http.HandlerFunc(h.home)},
		{method: "GET", path: "/signin", public: true, serve: http.HandlerFunc(h.signinForm)},
		{method: "POST", path: "/signin", public: true, serve: http.HandlerFunc(h.signin)},
		{method: "GET", path: ssoPath, public: true, serve: http.HandlerFunc(h.ssoStart)},
		{method: "GET", path: ssoPath + "/callback", public: true, serve: http.HandlerFunc(h.ssoCallback)},
		// The language and time-zone switch: a preference, on every page
		// and before signing in.
		{method: "POST", path: "/prefs", public: true, serve: http.HandlerFunc(h.setPrefs)},
		{method: "POST", path: "/signout", serve: h.authed("", h.signout)},
	}
	for _, p := range pageTable(h) {
		rs = append(rs,
			route{method: "GET", path: p.path, role: p.role, serve: h.authed(p.role, h.showPage(p))},
			route{method: "GET", path: "/csv" + p.path + "/{table}", role: p.role, serve: h.authed(p.role, h.downloadCSV(p))})
	}
	for _, f := range []struct {
		method, path string
		role         domain.Role
		serve        authedHandler
	}{
		{"POST", "/buyer/orders", domain.RoleBuyer, h.placeOrder},
		{"POST", "/buyer/orders/cancel", domain.RoleBuyer, h.cancelOrder},
		{"POST", "/buyer/filings", domain.RoleBuyer, h.fileDemand},
		{"POST", "/buyer/applications", domain.RoleBuyer, h.submitApplication},
		{"POST", "/buyer/applications/{id}", domain.RoleBuyer, h.resubmitApplication},
		{"POST", "/export/licenses", domain.RoleExportAuthority, h.changeLicense},
		{"POST", "/export/applications/{id}", domain.RoleExportAuthority, h.decideApplication},
		{"POST", "/export/customers", domain.RoleExportAuthority, h.changeCustomer},
		{"POST", "/export/notices", domain.RoleExportAuthority, h.confirmNotice},
		{"POST", "/export/notices/withdraw", domain.RoleExportAuthority, h.withdrawNotice},
		{"POST", "/export/applications/{id}/hits/{hit}", domain.RoleExportAuthority, h.reviewHit},
		{"POST", "/export/orders/{id}", domain.RoleExportAuthority, h.reviewOrder},
		{"POST", "/export/alerts/{id}", domain.RoleExportAuthority, h.changeAlert},
		{"POST", "/export/alerts/sweep", domain.RoleExportAuthority, h.sweepSilence},
		{"POST", "/import/permits", domain.RoleImportAuthority, h.decidePermit},
		{"POST", "/import/hearings", domain.RoleImportAuthority, h.openHearing},
		{"POST", "/import/hearings/close", domain.RoleImportAuthority, h.closeHearing},
		{"POST", "/vendor/runs", domain.RoleVendor, h.runAllocation},
		{"POST", "/vendor/shipments", domain.RoleVendor, h.createShipment},
		{"POST", "/lab/tests", domain.RoleLab, h.recordLabTest},
		{"POST", "/carrier/events", domain.RoleCarrier, h.recordEvent},
		{"GET", "/auditor/proof", domain.RoleAuditor, h.proof},
	} {
		rs = append(rs, route{method: f.method, path: f.path, role: f.role, serve: h.authed(f.role, f.serve)})
	}
	return rs
}

// routes builds the dashboard's mux from its route table.
func (h *handler) routes() *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range h.routeTable() {
		mux.Handle(rt.key(), rt.serve)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.renderError(w, r, http.StatusNotFound, "There is no page here.")
	})
	return mux
}

// homeOf is each role's home page.
var homeOf = map[domain.Role]string{
	domain.RoleBuyer: "/buyer", domain.RoleExportAuthority: "/export", domain.RoleImportAuthority: "/import",
	domain.RoleVendor: "/vendor", domain.RoleLab: "/lab", domain.RoleCarrier: "/carrier", domain.RoleAuditor: "/auditor",
}

// home sends the signed-in to their role's page and everyone else to sign in.
func (h *handler) home(w http.ResponseWriter, r *http.Request) {
	who, _, err := h.session(r)
	if err != nil {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, homeOf[who.Role], http.StatusSeeOther)
}

// authedHandler is a handler for a signed-in actor; csrf is the token its
// forms must carry.
type authedHandler func(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string)

// authed authenticates the request through the session cookie and the
// service, checks the page's role (any role when role is empty) and, for
// POSTs, the CSRF token. A missing or dead session goes to the sign-in page;
// a page of another role is 403.
func (h *handler) authed(role domain.Role, next authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
		defer cancel()
		r = r.WithContext(ctx)
		who, csrf, err := h.session(r)
		if err != nil {
			if domain.ErrorCode(err) != domain.EUNAUTHORIZED {
				h.fail(w, r, err)
				return
			}
			h.clearSession(w, r)
			if r.Method == http.MethodGet && r.Header.Get("HX-Request") == "" {
				http.Redirect(w, r, "/signin", http.StatusSeeOther)
				return
			}
			h.renderError(w, r, http.StatusUnauthorized, "Your session has ended. Sign in again.")
			return
		}
		if role != "" && who.Role != role {
			l := h.locale(r, &who)
			h.renderError(w, withLocale(r, l), http.StatusForbidden, "This page is for the %[1]s role; you are signed in as %[2]s.", l.Code(string(role)), l.Code(string(who.Role)))
			return
		}
		r = withLocale(r, h.locale(r, &who))
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				h.renderError(w, r, http.StatusBadRequest, "The form could not be read.")
				return
			}
			if !equalSecret(r.PostForm.Get("csrf"), csrf) {
				h.renderError(w, r, http.StatusForbidden, "The form's security token is missing or stale. Reload the page and try again.")
				return
			}
		}
		next(w, r, who, csrf)
	}
}

// fail renders an error from the service with the status its code implies;
// internal errors are logged and never shown.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "Something went wrong on our side; it has been logged."
	switch code := domain.ErrorCode(err); code {
	case domain.EINVALID:
		status, msg = http.StatusUnprocessableEntity, "%s"
	case domain.ECONFLICT:
		status, msg = http.StatusConflict, "%s"
	case domain.ENOTFOUND:
		status, msg = http.StatusNotFound, "Not found."
	case domain.EFORBIDDEN:
		// The service's refusal says which role or duty it takes.
		status, msg = http.StatusForbidden, "You may not do this: %s"
	case domain.EUNAUTHORIZED:
		status, msg = http.StatusUnauthorized, "Sign in again."
	case domain.EUNAVAILABLE:
		status, msg = http.StatusServiceUnavailable, "The database is busy; try again in a moment."
		w.Header().Set("Retry-After", "1")
	default:
		h.log.ErrorContext(r.Context(), "web: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if strings.HasSuffix(msg, "%s") {
		h.renderError(w, r, status, msg, h.localeFor(r, nil).ErrText(err))
		return
	}
	h.renderError(w, r, status, msg)
}

// formError is a form the dashboard could not read: the field it is about
// (the input's name; "" for the form as a whole) and what is wrong, a
// catalog key with its arguments.
type formError struct {
	Field string
	Key   string
	Args  []any
}

func (e *formError) Error() string { return fmt.Sprintf(e.Key, e.Args...) }

// Unwrap makes a form error what it is to the rest of chipgate: EINVALID,
// with its English text.
func (e *formError) Unwrap() error { return domain.Errorf(domain.EINVALID, "%s", e.Error()) }

// formErr is a form that could not be read, in words for its sender.
func formErr(field, key string, args ...any) error {
	return &formError{Field: field, Key: key, Args: args}
}

// formFailed shows a form's page again with the service's refusal: a bad
// value or a conflict with its state, or a record that does not exist (a
// stale choice; field names the form's choice). Anything else is the
// service's failure.
func (h *handler) formFailed(w http.ResponseWriter, r *http.Request, err error, field string, again func(status int, err error)) {
	switch domain.ErrorCode(err) {
	case domain.EINVALID, domain.ECONFLICT:
		again(statusOf(err), err)
	case domain.ENOTFOUND:
		key, ok := notFoundText[field]
		if !ok {
			key = "No such record: choose one from the list."
		}
		again(http.StatusNotFound, formErr(field, key))
	default:
		h.fail(w, r, err)
	}
}

// notFoundText is what a form says when the record its field chose does
// not exist (a stale choice), by the field.
var notFoundText = map[string]string{
	"shipment": "No such shipment: choose one from the list.", "order": "No such order: choose one from the list.",
	"hearing": "No such hearing: choose one from the list.", "application": "No such customer: choose one from the list.",
	"product": "No such product: choose one from the list.", "state": "No such alert: choose one from the list.",
	"notice": "No such notification: choose one from the list.", "buyer": "No such buyer: choose one from the list.",
}

// formPage is a page's data that can show a failed form as it was sent.
type formPage interface{ keepForm(url.Values) }

// again renders a page after one of its forms ran: with the form's error
// (and the form as sent, so nothing typed is lost) or with its notice,
// both in the viewer's words. build is the page's view; path its URL, page
// its template.
func (h *handler) again(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string, status int, refused error, notice, path, page string,
	build func(context.Context, domain.Actor, *http.Request) (*view, error)) {
	v, err := build(r.Context(), who, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if d, ok := v.Data.(formPage); ok && refused != nil {
		d.keepForm(r.PostForm)
	}
	v.Who, v.CSRF, v.Notice = &who, csrf, notice
	if refused != nil {
		v.Error, v.Field, v.Form = localeIn(r.Context()).ErrText(refused), fieldOf(refused, r.PostForm), r.URL.Path
	}
	w.Header().Set("HX-Push-Url", path)
	h.render(w, r, status, page, v)
}

// statusOf is the HTTP status of a client error from the service.
func statusOf(err error) int {
	if domain.ErrorCode(err) == domain.ECONFLICT {
		return http.StatusConflict
	}
	return http.StatusUnprocessableEntity
}

// secureHeaders sets the headers every response carries. The CSP allows
// scripts and styles from this origin only: no inline script, no eval.
func secureHeaders(behindTLS bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		if behindTLS || r.TLS != nil {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// cacheFor lets browsers keep static assets; pages themselves are never
// cached (they carry private data), see render.
func cacheFor(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(d.Seconds())))
		next.ServeHTTP(w, r)
	})
}
