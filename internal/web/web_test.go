package web_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/demo"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/ledger"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/throttle"
	"github.com/chipgate/chipgate/internal/web"
)

func TestSignInAndOut(t *testing.T) {
	e := newEnv(t)
	b := e.browser()

	t.Run("HomeSendsToSignIn", func(t *testing.T) {
		r := b.get("/")
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/signin" {
			t.Fatalf("GET / = %d to %q, want 303 to /signin", r.status, r.header.Get("Location"))
		}
		if r := b.get("/buyer"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/signin" {
			t.Fatalf("GET /buyer without a session = %d to %q", r.status, r.header.Get("Location"))
		}
	})
	t.Run("ErrUnknownToken", func(t *testing.T) {
		page := b.get("/signin")
		r := b.post("/signin", url.Values{"csrf": {csrfOf(t, page.body)}, "token": {"cg_not-a-real-token"}})
		if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "unknown, expired or revoked") {
			t.Fatalf("bad token: %d\n%s", r.status, r.body)
		}
		if hasCookie(r, "chipgate_session") {
			t.Fatal("a session cookie was set for a bad token")
		}
	})
	t.Run("ErrNoCSRF", func(t *testing.T) {
		r := b.post("/signin", url.Values{"token": {e.creds["bytedance"].Token}})
		if r.status != http.StatusForbidden || hasCookie(r, "chipgate_session") {
			t.Fatalf("sign-in without the form's token: %d, cookie %v", r.status, hasCookie(r, "chipgate_session"))
		}
	})
	t.Run("OK", func(t *testing.T) {
		page := b.get("/signin")
		if !strings.Contains(page.body, `<label for="token">`) {
			t.Fatal("the token field has no label")
		}
		r := b.post("/signin", url.Values{"csrf": {csrfOf(t, page.body)}, "token": {e.creds["bytedance"].Token}})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/buyer" {
			t.Fatalf("sign-in: %d to %q", r.status, r.header.Get("Location"))
		}
		var c *http.Cookie
		for _, k := range (&http.Response{Header: r.header}).Cookies() {
			if k.Name == "chipgate_session" {
				c = k
			}
		}
		if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure || c.MaxAge <= 0 {
			t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, not Secure over plain HTTP, expiring", c)
		}
		if strings.Contains(r.header.Get("Location"), "cg_") {
			t.Fatal("the token leaked into a URL")
		}
		home := b.get("/buyer")
		if home.status != http.StatusOK || !strings.Contains(home.body, "bytedance") {
			t.Fatalf("GET /buyer: %d", home.status)
		}
		if r := b.get("/"); r.header.Get("Location") != "/buyer" {
			t.Fatalf("GET / signed in goes to %q", r.header.Get("Location"))
		}
		out := b.post("/signout", url.Values{"csrf": {csrfOf(t, home.body)}})
		if out.status != http.StatusSeeOther || out.header.Get("Location") != "/signin" {
			t.Fatalf("sign-out: %d to %q", out.status, out.header.Get("Location"))
		}
		if r := b.get("/buyer"); r.status != http.StatusSeeOther {
			t.Fatalf("GET /buyer after sign-out = %d, want 303", r.status)
		}
	})
}

// TestFailedSignInsThrottled: defect — failed sign-ins were never
// throttled. Past throttle.FailedAuthBurst failures from an address, the
// sign-in form answers 429 with Retry-After, even for a good token.
func TestFailedSignInsThrottled(t *testing.T) {
	e := newEnv(t)
	fresh := *e
	fresh.url = chipgatetest.Listen(t, e.kit.Dashboard(web.Options{Key: []byte(sessionKey)}))
	b := fresh.browser()
	csrf := csrfOf(t, b.get("/signin").body)
	for i := range throttle.FailedAuthBurst {
		if r := b.post("/signin", url.Values{"csrf": {csrf}, "token": {"cg_guess" + strconv.Itoa(i)}}); r.status != http.StatusUnauthorized {
			t.Fatalf("failed sign-in %d: %d, want 401", i, r.status)
		}
	}
	r := b.post("/signin", url.Values{"csrf": {csrf}, "token": {e.creds["bytedance"].Token}})
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "Too many failed sign-ins") {
		t.Fatalf("a sign-in after %d failures: %d (Retry-After %q)", throttle.FailedAuthBurst, r.status, r.header.Get("Retry-After"))
	}
	if hasCookie(r, "chipgate_session") {
		t.Fatal("a throttled sign-in set a session cookie")
	}
}

// TestSessionsAcrossReplicasAndBehindTLS: dashboards that share a session
// key (replicas behind one address) accept each other's sessions, one with
// another key does not, and a dashboard told it sits behind a TLS proxy
// marks its cookies Secure and sends HSTS although the request came over
// plain HTTP.
func TestSessionsAcrossReplicasAndBehindTLS(t *testing.T) {
	e := newEnv(t)
	replica := func(key string, secure bool) *env {
		r := *e
		r.url = chipgatetest.Listen(t, e.kit.Dashboard(web.Options{Key: []byte(key), SecureCookies: secure}))
		return &r
	}
	proxied := replica(sessionKey, true) // the same key as e's
	b := proxied.browser()
	page := b.get("/signin")
	r := b.post("/signin", url.Values{"csrf": {csrfOf(t, page.body)}, "token": {e.creds["bytedance"].Token}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("sign-in behind the proxy: %d", r.status)
	}
	var session *http.Cookie
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "chipgate_session" {
			session = c
		}
	}
	if session == nil || !session.Secure || !session.HttpOnly {
		t.Fatalf("session cookie behind a TLS proxy: %+v, want Secure and HttpOnly", session)
	}
	if r.header.Get("Strict-Transport-Security") == "" {
		t.Fatal("no HSTS header behind a TLS proxy")
	}
	home := func(replica *env) int {
		req, _ := http.NewRequest("GET", replica.url+"/buyer", nil)
		req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := home(e); got != http.StatusOK {
		t.Fatalf("the session on a replica with the same key: %d, want 200", got)
	}
	if got := home(replica("another key, also 32 bytes long", false)); got != http.StatusSeeOther {
		t.Fatalf("the session on a dashboard with another key: %d, want 303 to sign in", got)
	}
}

func hasCookie(r response, name string) bool {
	for _, k := range (&http.Response{Header: r.header}).Cookies() {
		if k.Name == name && k.MaxAge >= 0 && k.Value != "" {
			return true
		}
	}
	return false
}

func TestSessionEnds(t *testing.T) {
	e := newEnv(t)

	t.Run("Expired", func(t *testing.T) {
		b := e.browser()
		b.signIn("bytedance")
		e.clock.Add(web8h + time.Minute)
		if r := b.get("/buyer"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/signin" {
			t.Fatalf("GET /buyer after the session's end = %d to %q", r.status, r.header.Get("Location"))
		}
	})
	t.Run("Tampered", func(t *testing.T) {
		b := e.browser()
		b.signIn("bytedance")
		u, _ := url.Parse(e.url)
		cs := b.jar.Cookies(u)
		for _, c := range cs {
			if c.Name == "chipgate_session" {
				// Another secret under the old MAC.
				secret, mac, _ := strings.Cut(c.Value, ".")
				c.Value = secret + "x." + mac
				b.jar.SetCookies(u, []*http.Cookie{c})
			}
		}
		if r := b.get("/buyer"); r.status != http.StatusSeeOther {
			t.Fatalf("GET /buyer with a tampered cookie = %d, want 303", r.status)
		}
	})
	t.Run("Idle", func(t *testing.T) {
		b := e.browser()
		b.signIn("bytedance")
		// Used within the idle timeout, the session lives past it.
		for range 3 {
			e.clock.Add(web.DefaultSessionIdle - time.Minute)
			if r := b.get("/buyer"); r.status != http.StatusOK {
				t.Fatalf("GET /buyer while in use = %d, want 200", r.status)
			}
		}
		e.clock.Add(web.DefaultSessionIdle)
		if r := b.get("/buyer"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/signin" {
			t.Fatalf("GET /buyer after %s idle = %d to %q, want 303 to /signin", web.DefaultSessionIdle, r.status, r.header.Get("Location"))
		}
	})
	// Defect: the cookie held the raw API token, which worked as a bearer
	// token, and a copied cookie still worked after sign-out.
	t.Run("CookieReplayAfterSignOut", func(t *testing.T) {
		b := e.browser()
		csrf := b.signIn("bytedance")
		u, _ := url.Parse(e.url)
		var cookie *http.Cookie
		for _, c := range b.jar.Cookies(u) {
			if c.Name == "chipgate_session" {
				cookie = c
			}
		}
		if cookie == nil {
			t.Fatal("no session cookie")
		}
		if strings.Contains(cookie.Value, e.creds["bytedance"].Token) {
			t.Fatal("the session cookie holds the API token")
		}
		secret, _, _ := strings.Cut(cookie.Value, ".")
		for _, bearer := range []string{cookie.Value, secret} {
			if _, err := e.svc.Authenticate(context.Background(), bearer); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
				t.Fatalf("the cookie value %q authenticates as a bearer token: %v", bearer, err)
			}
		}
		copied := e.browser()
		copied.jar.SetCookies(u, []*http.Cookie{{Name: cookie.Name, Value: cookie.Value}})
		if r := copied.get("/buyer"); r.status != http.StatusOK {
			t.Fatalf("the copied cookie before sign-out = %d, want 200", r.status)
		}
		if r := b.post("/signout", url.Values{"csrf": {csrf}}); r.status != http.StatusSeeOther {
			t.Fatalf("sign-out: %d", r.status)
		}
		if r := copied.get("/buyer"); r.status != http.StatusSeeOther {
			t.Fatalf("the copied cookie after sign-out = %d, want 303 to sign in", r.status)
		}
		// The API token it was opened with still works for the API.
		if _, err := e.svc.Authenticate(context.Background(), e.creds["bytedance"].Token); err != nil {
			t.Fatalf("the API token after sign-out: %v", err)
		}
	})
	t.Run("NewIDAtEachSignIn", func(t *testing.T) {
		u, _ := url.Parse(e.url)
		seen := map[string]bool{}
		for range 2 {
			b := e.browser()
			b.signIn("bytedance")
			for _, c := range b.jar.Cookies(u) {
				if c.Name == "chipgate_session" {
					if seen[c.Value] {
						t.Fatal("two sign-ins got the same session")
					}
					seen[c.Value] = true
				}
			}
		}
	})
	t.Run("TokenRevoked", func(t *testing.T) {
		b := e.browser()
		b.signIn("alibaba")
		who, err := e.svc.Authenticate(context.Background(), e.creds["alibaba"].Token)
		if err != nil {
			t.Fatal(err)
		}
		toks, err := e.svc.Tokens(context.Background(), who)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range toks {
			if err := e.svc.RevokeToken(context.Background(), who, k.ID); err != nil {
				t.Fatal(err)
			}
		}
		if r := b.get("/buyer"); r.status != http.StatusSeeOther {
			t.Fatalf("GET /buyer with a revoked token = %d, want 303", r.status)
		}
	})
}

// web8h is the default session length.
const web8h = 8 * time.Hour

func TestCSRFRefused(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn("bytedance")
	order := url.Values{"product": {"h200"}, "quantity": {"10"}, "requested_period": {"2026-03-02"}, "site": {"0"}, "end_use": {"commercial_ai"}}
	count := func() int {
		who, _ := e.svc.Authenticate(context.Background(), e.creds["bytedance"].Token)
		os, err := e.svc.Orders(context.Background(), who, nil)
		if err != nil {
			t.Fatal(err)
		}
		return len(os)
	}
	before := count()
	// A wrong token differs from the right one in its first character
	// (a fixed "x" would be the right one for one token in 64).
	wrong := "x" + csrf[1:]
	if csrf[0] == 'x' {
		wrong = "y" + csrf[1:]
	}
	for name, tok := range map[string]string{"Missing": "", "Wrong": wrong, "OtherSession": e.browser().signIn("alibaba")} {
		t.Run(name, func(t *testing.T) {
			f := url.Values{}
			for k, v := range order {
				f[k] = v
			}
			if tok != "" {
				f.Set("csrf", tok)
			}
			if r := b.post("/buyer/orders", f); r.status != http.StatusForbidden {
				t.Fatalf("POST without a good CSRF token = %d, want 403", r.status)
			}
		})
	}
	t.Run("CrossOrigin", func(t *testing.T) {
		f := url.Values{"csrf": {csrf}}
		for k, v := range order {
			f[k] = v
		}
		b.origin = "https://evil.example"
		defer func() { b.origin = "" }()
		if r := b.post("/buyer/orders", f); r.status != http.StatusForbidden {
			t.Fatalf("cross-origin POST = %d, want 403", r.status)
		}
	})
	t.Run("SignOutNeedsToken", func(t *testing.T) {
		if r := b.post("/signout", url.Values{}); r.status != http.StatusForbidden {
			t.Fatalf("POST /signout without a token = %d, want 403", r.status)
		}
	})
	if after := count(); after != before {
		t.Fatalf("refused forms placed %d orders", after-before)
	}
}

// pages is every page and the role it belongs to.
var pages = map[string]domain.Role{
	"/buyer": domain.RoleBuyer, "/export": domain.RoleExportAuthority, "/import": domain.RoleImportAuthority,
	"/vendor": domain.RoleVendor, "/lab": domain.RoleLab, "/carrier": domain.RoleCarrier,
	"/auditor": domain.RoleAuditor, "/auditor/verify": domain.RoleAuditor,
}

// partyOf is the demo party that plays each role.
var partyOf = map[domain.Role]string{
	domain.RoleVendor: "nvidia", domain.RoleExportAuthority: "us-commerce", domain.RoleImportAuthority: "cn-mofcom",
	domain.RoleBuyer: "bytedance", domain.RoleLab: "us-testlab", domain.RoleCarrier: "carrier", domain.RoleAuditor: "auditor",
}

var scriptRe = regexp.MustCompile(`<script[^>]*>`)

func TestEveryPageForEveryRole(t *testing.T) {
	e := newEnv(t)
	for role, party := range partyOf {
		t.Run(string(role), func(t *testing.T) {
			b := e.browser()
			b.signIn(party)
			for path, owner := range pages {
				r := b.get(path)
				want := http.StatusForbidden
				if owner == role {
					want = http.StatusOK
				}
				if r.status != want {
					t.Errorf("%s as %s = %d, want %d\n%.400s", path, role, r.status, want, r.body)
				}
				checkHeaders(t, path, r)
			}
		})
	}
}

// checkHeaders asserts the secure headers and that no script is inline.
func checkHeaders(t *testing.T, path string, r response) {
	t.Helper()
	csp := r.header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "default-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: CSP %q lacks %q", path, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: CSP %q allows inline code", path, csp)
	}
	if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("%s: headers %v", path, r.header)
	}
	for _, tag := range scriptRe.FindAllString(r.body, -1) {
		if !strings.Contains(tag, "src=") {
			t.Errorf("%s: inline script %s", path, tag)
		}
	}
	if strings.Contains(r.body, " on") && regexp.MustCompile(`\son[a-z]+=`).MatchString(r.body) {
		t.Errorf("%s: an inline event handler", path)
	}
}

var csvLinkRe = regexp.MustCompile(`href="(/csv/[^"]+\.csv)"`)

func TestEveryTableDownloadsAsCSV(t *testing.T) {
	e := newEnv(t)
	seen := 0
	for role, party := range partyOf {
		b := e.browser()
		b.signIn(party)
		for path, owner := range pages {
			if owner != role {
				continue
			}
			page := b.get(path)
			tables := strings.Count(page.body, `<section class="table"`)
			links := csvLinkRe.FindAllStringSubmatch(page.body, -1)
			if len(links) != tables {
				t.Errorf("%s: %d tables, %d CSV links", path, tables, len(links))
			}
			for _, l := range links {
				r := b.get(l[1])
				if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") ||
					!strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment") {
					t.Errorf("%s: %d %s", l[1], r.status, r.header.Get("Content-Type"))
					continue
				}
				body, ok := strings.CutPrefix(r.body, "\uFEFF")
				if !ok {
					t.Errorf("%s: no UTF-8 byte-order mark", l[1])
				}
				rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
				if err != nil || len(rows) == 0 {
					t.Errorf("%s: %v", l[1], err)
					continue
				}
				// The header row is the HTML table's header row (an
				// empty table shows no header); a column of amounts
				// is followed by its currency's.
				for i, h := range rows[0] {
					if len(rows) == 1 {
						break
					}
					if amounts, found := strings.CutSuffix(h, ": currency"); found {
						if i == 0 || rows[0][i-1] != amounts {
							t.Errorf("%s: %q follows %q", l[1], h, rows[0][max(i-1, 0)])
						}
						for _, row := range rows[1:] {
							if _, err := strconv.ParseFloat(row[i-1], 64); err != nil && row[i-1] != "" {
								t.Errorf("%s: %q in the amounts column %q is no number", l[1], row[i-1], amounts)
							}
							if len(row[i]) != 3 && row[i] != "" {
								t.Errorf("%s: %q in the currency column %q is no currency", l[1], row[i], h)
							}
						}
						continue
					}
					if !strings.Contains(page.body, "<th scope=\"col\">"+h+"</th>") {
						t.Errorf("%s: column %q is not on the page", l[1], h)
					}
				}
				seen++
			}
		}
		// Another role's table is refused.
		other := "/csv/export/queue.csv"
		if role == domain.RoleExportAuthority {
			other = "/csv/buyer/orders.csv"
		}
		if r := b.get(other); r.status != http.StatusForbidden {
			t.Errorf("%s as %s = %d, want 403", other, role, r.status)
		}
	}
	if seen < 15 {
		t.Fatalf("only %d CSV downloads checked", seen)
	}
}

func TestBuyerOrders(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn("bytedance")
	page := b.get("/buyer")
	for _, want := range []string{"Supply outlook", `class="chart" data-chart=`, "Remaining", "Place an order", `<label for="quantity">`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the buyer's page lacks %q", want)
		}
	}
	t.Run("OK", func(t *testing.T) {
		r := b.post("/buyer/orders", url.Values{"csrf": {csrf}, "product": {"h200"}, "quantity": {"100"},
			"requested_period": {"2026-03-02"}, "site": {"0"}, "end_use": {"commercial_ai"}})
		if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/buyer?order=") {
			t.Fatalf("POST /buyer/orders: %d to %q\n%s", r.status, r.header.Get("Location"), r.body)
		}
		shown := b.get(r.header.Get("Location"))
		if !strings.Contains(shown.body, `id="placed"`) || !regexp.MustCompile(`class="outcome">(accepted|held_for_review|rejected)<`).MatchString(shown.body) {
			t.Fatalf("the decision is not shown:\n%s", shown.body)
		}
	})
	t.Run("Rejected", func(t *testing.T) {
		// Military end use breaks the license's condition.
		r := b.post("/buyer/orders", url.Values{"csrf": {csrf}, "product": {"h200"}, "quantity": {"5"},
			"requested_period": {"2026-03-02"}, "site": {"0"}, "end_use": {"military"}})
		shown := b.get(r.header.Get("Location"))
		if !strings.Contains(shown.body, `class="outcome">rejected<`) || !strings.Contains(shown.body, "Why") {
			t.Fatalf("a military order is not shown rejected with reasons:\n%s", shown.body)
		}
	})
	t.Run("ErrQuantity", func(t *testing.T) {
		r := b.post("/buyer/orders", url.Values{"csrf": {csrf}, "product": {"h200"}, "quantity": {"lots"},
			"requested_period": {"2026-03-02"}, "site": {"0"}, "end_use": {"commercial_ai"}})
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `role="alert"`) {
			t.Fatalf("a bad quantity: %d", r.status)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		r := b.post("/buyer/orders", url.Values{"csrf": {csrf}, "product": {"h200"}, "quantity": {"5"},
			"requested_period": {"not a date"}, "site": {"0"}, "end_use": {"commercial_ai"}})
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "requested_period") {
			t.Fatalf("a bad period: %d\n%.2000s", r.status, r.body)
		}
	})
}

func TestExportAuthorityDecides(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn("us-commerce")
	page := b.get("/export")
	for _, want := range []string{"NewCo Compute", `<meter id="cn-gauge"`, "Approve and issue license", "Red flags", "Screening"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the export authority's page lacks %q", want)
		}
	}
	id := e.pending.ID.String()
	t.Run("ErrDenyWithoutReason", func(t *testing.T) {
		r := b.post("/export/applications/"+id, url.Values{"csrf": {csrf}, "decision": {"deny"}})
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "reason") {
			t.Fatalf("deny without a reason: %d", r.status)
		}
	})
	t.Run("Approve", func(t *testing.T) {
		r := b.post("/export/applications/"+id, url.Values{"csrf": {csrf}, "decision": {"approve"}, "vendor": {"nvidia"},
			"products": {"h200"}, "quantity": {"3000"}, "valid_from": {"2026-02-01"}, "valid_until": {"2027-02-01"},
			"conditions": {"end_use != \"military\"\n"}})
		if r.status != http.StatusOK || !strings.Contains(r.body, "approved; license") {
			t.Fatalf("approve: %d\n%.3000s", r.status, r.body)
		}
		a, err := e.svc.Application(context.Background(), domain.SystemActor, e.pending.ID)
		if err != nil || a.Status != domain.AppApproved || len(a.LicenseIDs) != 1 {
			t.Fatalf("after approval: %v %+v", err, a.Status)
		}
	})
	t.Run("ErrAgain", func(t *testing.T) {
		r := b.post("/export/applications/"+id, url.Values{"csrf": {csrf}, "decision": {"deny"}, "reason": {"changed my mind"}, "confirm": {"yes"}})
		if r.status != http.StatusConflict || !strings.Contains(r.body, `role="alert"`) {
			t.Fatalf("deny after approval: %d", r.status)
		}
	})
}

func TestVendorRunsAllocation(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn("nvidia")
	r := b.post("/vendor/runs", url.Values{"csrf": {csrf}, "start": {"2026-02-02"}, "periods": {"26"}, "period_days": {"7"}})
	if r.status != http.StatusOK || !strings.Contains(r.body, "units demanded allocated") || !strings.Contains(r.body, `data-chart=`) {
		t.Fatalf("run: %d\n%.2000s", r.status, r.body)
	}
	if r := b.post("/vendor/runs", url.Values{"csrf": {csrf}, "periods": {"9999"}}); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("a bad run: %d", r.status)
	}
}

func TestImportAuthorityPage(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn("cn-mofcom")
	page := b.get("/import")
	for _, want := range []string{"H200 demand for the coming year", "Demand per buyer", "bytedance", "Import permits"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the import authority's page lacks %q", want)
		}
	}
}

func TestAuditorProof(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn("auditor")
	cp, err := e.svc.LatestCheckpoint(context.Background(), domain.SystemActor)
	if err != nil {
		t.Fatal(err)
	}
	page := b.get("/auditor/verify")
	if m := regexp.MustCompile(`data-root="([^"]+)"`).FindStringSubmatch(page.body); m == nil || html.UnescapeString(m[1]) != cp.Root.String() {
		t.Fatal("the verify page does not carry the checkpoint's root")
	}
	for _, index := range []int64{0, int64(cp.Size) / 2, int64(cp.Size) - 1} {
		r := b.get("/auditor/proof?index=" + itoa(index) + "&size=" + itoa(int64(cp.Size)))
		if r.status != http.StatusOK {
			t.Fatalf("proof %d: %d %s", index, r.status, r.body)
		}
		p, err := ledger.DecodeInclusionProof([]byte(r.body))
		if err != nil {
			t.Fatal(err)
		}
		rec, err := e.svc.Entry(context.Background(), domain.SystemActor, index)
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := ledger.LeafHash(&rec)
		if err != nil {
			t.Fatal(err)
		}
		if err := ledger.VerifyInclusion(p.Index, p.TreeSize, leaf, p.Hashes, cp.Root); err != nil {
			t.Fatalf("proof %d does not verify: %v", index, err)
		}
	}
	if r := b.get("/auditor/proof?index=999999&size=" + itoa(int64(cp.Size))); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("a proof past the tree = %d", r.status)
	}
	var body map[string]any
	if r := b.get("/auditor/proof?index=x&size=1"); r.status != http.StatusBadRequest || json.Unmarshal([]byte(r.body), &body) != nil {
		t.Fatalf("a bad index = %d %s", r.status, r.body)
	}
}

func TestUnknownPathsAndAPI(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	if r := b.get("/no/such/page"); r.status != http.StatusNotFound || !strings.Contains(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("unknown page: %d %s", r.status, r.header.Get("Content-Type"))
	}
	if r := b.get("/api/v1/no-such-route"); r.status != http.StatusNotFound || !strings.Contains(r.header.Get("Content-Type"), "problem+json") {
		t.Fatalf("unknown API route: %d %s", r.status, r.header.Get("Content-Type"))
	}
	for _, asset := range []string{"/static/app.js", "/static/app.css", "/static/vendor/htmx/htmx.min.js", "/static/vendor/uplot/uPlot.iife.min.js"} {
		if r := b.get(asset); r.status != http.StatusOK {
			t.Errorf("%s: %d", asset, r.status)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// thousands is n as the English pages write it: "1,000".
func thousands(n int64) string {
	s := itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func TestExportAuthorityReviews(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if e.pending.Screening.Status != "potential_match" || len(e.pending.Screening.Hits) == 0 {
		t.Fatalf("newco's application screens %s with %d hits; the test needs a potential match", e.pending.Screening.Status, len(e.pending.Screening.Hits))
	}
	// An order from a buyer not approved yet is held for the authority.
	newco, err := e.svc.Authenticate(ctx, e.creds["newco"].Token)
	if err != nil {
		t.Fatal(err)
	}
	held, err := e.svc.PlaceOrder(ctx, newco, service.OrderRequest{Product: "h200", Quantity: 50, Period: "2026-03-02", EndUse: "commercial_ai"})
	if err != nil || held.Status != domain.OrderHeld {
		t.Fatalf("newco's order is %s (%v), want held", held.Status, err)
	}
	b := e.browser()
	csrf := b.signIn("us-commerce")
	page := b.get("/export")
	for _, want := range []string{"Huawei", "<mark>", "False positive", "/export/orders/" + held.ID.String(),
		"Listed entry:", "Federal Register <cite>", "different_identifiers", `name="note"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the export page lacks %q", want)
		}
	}

	t.Run("HitFalsePositive", func(t *testing.T) {
		a, err := e.svc.Application(ctx, domain.SystemActor, e.pending.ID)
		if err != nil {
			t.Fatal(err)
		}
		want, label := "false_positive", "false positive"
		if a.Screening.Hits[0].Score >= 0.95 {
			want, label = "pending_second", "awaiting a second officer" // four eyes
		}
		r := b.post("/export/applications/"+e.pending.ID.String()+"/hits/0", url.Values{"csrf": {csrf}, "decision": {"false_positive"},
			"reason": {"different_location"}, "note": {"registered in Hangzhou, not Shenzhen"}})
		if r.status != http.StatusOK || !strings.Contains(r.body, "marked "+label) {
			t.Fatalf("review hit: %d\n%.2000s", r.status, r.body)
		}
		a, err = e.svc.Application(ctx, domain.SystemActor, e.pending.ID)
		if h := a.Screening.Hits[0]; err != nil || h.Review != want || h.ReviewedBy != "us-commerce demo user" || len(h.Decisions) != 1 || h.Decisions[0].Note != "registered in Hangzhou, not Shenzhen" {
			t.Fatalf("after review: %v %+v", err, h)
		}
		if !strings.Contains(r.body, "registered in Hangzhou, not Shenzhen") {
			t.Error("the page does not show the decision's note")
		}
	})
	t.Run("ErrHitDecision", func(t *testing.T) {
		r := b.post("/export/applications/"+e.pending.ID.String()+"/hits/0", url.Values{"csrf": {csrf}, "decision": {"maybe"}})
		if r.status != http.StatusUnprocessableEntity {
			t.Fatalf("a bad hit decision: %d", r.status)
		}
	})
	t.Run("ErrHeldWithoutReason", func(t *testing.T) {
		r := b.post("/export/orders/"+held.ID.String(), url.Values{"csrf": {csrf}, "decision": {"reject"}})
		if r.status != http.StatusUnprocessableEntity {
			t.Fatalf("reject without a reason: %d", r.status)
		}
	})
	t.Run("HeldRejected", func(t *testing.T) {
		r := b.post("/export/orders/"+held.ID.String(), url.Values{"csrf": {csrf}, "decision": {"reject"}, "reason": {"not an approved customer"}})
		if r.status != http.StatusOK || !strings.Contains(r.body, "rejected") {
			t.Fatalf("reject: %d\n%.2000s", r.status, r.body)
		}
		o, err := e.svc.Order(ctx, domain.SystemActor, held.ID)
		if err != nil || o.Status != domain.OrderRejected {
			t.Fatalf("the order is %s (%v)", o.Status, err)
		}
	})
	t.Run("ErrHeldTwice", func(t *testing.T) {
		r := b.post("/export/orders/"+held.ID.String(), url.Values{"csrf": {csrf}, "decision": {"release"}, "reason": {"second thoughts"}})
		if r.status != http.StatusConflict {
			t.Fatalf("release after rejection: %d", r.status)
		}
	})
}

var (
	controlRe = regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`)
	idRe      = regexp.MustCompile(`\bid="([^"]+)"`)
)

// TestFormsAreLabeled: every visible form control of every page has a
// label naming it, so that screen readers and keyboard users know it.
func TestFormsAreLabeled(t *testing.T) {
	e := newEnv(t)
	for path, role := range pages {
		b := e.browser()
		b.signIn(partyOf[role])
		body := b.get(path).body
		for _, ctl := range controlRe.FindAllString(body, -1) {
			if strings.Contains(ctl, `type="hidden"`) {
				continue
			}
			m := idRe.FindStringSubmatch(ctl)
			labeled := m != nil && strings.Contains(body, `<label for="`+m[1]+`"`)
			// A checkbox inside its label is labeled by it.
			if !labeled && !strings.Contains(ctl, `type="checkbox"`) {
				t.Errorf("%s: %s has no label", path, ctl)
			}
		}
	}
}

func TestImportAuthorityDecidesPermits(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn("cn-mofcom")
	t.Run("ErrDenyWithoutReason", func(t *testing.T) {
		r := b.post("/import/permits", url.Values{"csrf": {csrf}, "buyer": {"newco"}, "decision": {"deny"}})
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "reason") {
			t.Fatalf("deny without a reason: %d", r.status)
		}
	})
	t.Run("Grant", func(t *testing.T) {
		r := b.post("/import/permits", url.Values{"csrf": {csrf}, "buyer": {"newco"}, "decision": {"grant"}, "products": {"h200"},
			"quantity": {"2500"}, "valid_from": {"2026-02-01"}, "valid_until": {"2027-02-01"}, "excluded_sectors": {"soe, military"}, "cloud_only": {"on"}})
		if r.status != http.StatusOK || !strings.Contains(r.body, "for newco: active, 2,500 units") {
			t.Fatalf("grant: %d\n%.2000s", r.status, r.body)
		}
		ps, err := e.svc.Permits(context.Background(), domain.SystemActor)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(ps, func(p domain.ImportPermit) bool { return p.Buyer == "newco" })
		if i < 0 || !ps[i].CloudOnly || !slices.Equal(ps[i].ExcludedSectors, []string{"soe", "military"}) || ps[i].Remaining != 2500 {
			t.Fatalf("newco's permit: %+v", ps)
		}
	})
}

func TestBuyerCancelsOrder(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn("tencent")
	who, err := e.svc.Authenticate(context.Background(), e.creds["tencent"].Token)
	if err != nil {
		t.Fatal(err)
	}
	accepted, err := e.svc.Orders(context.Background(), who, []string{string(domain.OrderAccepted)})
	if err != nil || len(accepted) == 0 {
		t.Fatalf("tencent has no accepted order: %v", err)
	}
	// Without the confirmation box ticked nothing is cancelled, and the
	// page says why next to the box, focused.
	r := b.post("/buyer/orders/cancel", url.Values{"csrf": {csrf}, "order": {accepted[0].ID.String()}, "reason": {"plans changed"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="err-buyer-orders-cancel-confirm"`) ||
		!regexp.MustCompile(`id="cancel-confirm"[^>]*aria-invalid="true"[^>]*autofocus`).MatchString(r.body) {
		t.Fatalf("cancel without confirming: %d\n%.4000s", r.status, r.body)
	}
	r = b.post("/buyer/orders/cancel", url.Values{"csrf": {csrf}, "order": {accepted[0].ID.String()}, "reason": {"plans changed"}, "confirm": {"yes"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("cancel: %d\n%.2000s", r.status, r.body)
	}
	if shown := b.get(r.header.Get("Location")); !strings.Contains(shown.body, `class="outcome">cancelled<`) {
		t.Fatalf("the cancelled order is not shown:\n%.3000s", shown.body)
	}
	// Cancelling it again is a conflict with the order's state, kept on the page.
	if r := b.post("/buyer/orders/cancel", url.Values{"csrf": {csrf}, "order": {accepted[0].ID.String()}, "reason": {"again"}, "confirm": {"yes"}}); r.status != http.StatusConflict ||
		!strings.Contains(r.body, `role="alert"`) || !strings.Contains(r.body, "cancelled") {
		t.Fatalf("cancelling a cancelled order: %d\n%.2000s", r.status, r.body)
	}
	// Another buyer's order is not found, whatever its id.
	other := e.browser()
	ocsrf := other.signIn("alibaba")
	if r := other.post("/buyer/orders/cancel", url.Values{"csrf": {ocsrf}, "order": {accepted[0].ID.String()}, "reason": {"x"}, "confirm": {"yes"}}); r.status != http.StatusNotFound {
		t.Fatalf("cancelling another buyer's order: %d", r.status)
	}
}

func TestExportAuthorityChangesLicense(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn("us-commerce")
	lics, err := e.svc.Licenses(context.Background(), domain.SystemActor)
	if err != nil || len(lics) == 0 {
		t.Fatal(err)
	}
	id := lics[0].ID.String()
	if r := b.post("/export/licenses", url.Values{"csrf": {csrf}, "license": {id}, "action": {"suspend"}, "reason": {"audit"}}); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, "Yes, suspend or revoke") {
		t.Fatalf("suspend without confirming: %d", r.status)
	}
	r := b.post("/export/licenses", url.Values{"csrf": {csrf}, "license": {id}, "action": {"suspend"}, "reason": {"audit"}, "confirm": {"yes"}})
	if r.status != http.StatusOK || !strings.Contains(r.body, ": suspended") {
		t.Fatalf("suspend: %d\n%.2000s", r.status, r.body)
	}
	if r := b.post("/export/licenses", url.Values{"csrf": {csrf}, "license": {id}, "action": {"suspend"}, "reason": {"again"}, "confirm": {"yes"}}); r.status != http.StatusConflict {
		t.Fatalf("suspending twice: %d", r.status)
	}
	if r := b.post("/export/licenses", url.Values{"csrf": {csrf}, "license": {id}, "action": {"reinstate"}}); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("reinstating without a reason: %d", r.status)
	}
}

// shipmentOf reads a shipment back through the service.
func (e *env) shipmentOf(id domain.ID) service.ShipmentView {
	e.t.Helper()
	svs, err := e.svc.Shipments(context.Background(), domain.SystemActor)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, sv := range svs {
		if sv.ID == id {
			return sv
		}
	}
	e.t.Fatalf("no shipment %s", id)
	return service.ShipmentView{}
}

// auditSize is the number of audit records: a refused form adds none.
func (e *env) auditSize() int64 {
	e.t.Helper()
	return chipgatetest.AuditSize(e.t, e.svc.Store())
}

// tableRows is the text of a table's rows on a page, one string per row.
func tableRows(t *testing.T, body, id string) []string {
	t.Helper()
	i := strings.Index(body, `<table id="`+id+`">`)
	if i < 0 {
		return nil
	}
	end := strings.Index(body[i:], "</table>")
	var rows []string
	for _, tr := range strings.Split(body[i:i+end], "<tr>")[2:] {
		rows = append(rows, html.UnescapeString(tagsRe.ReplaceAllString(tr, "|")))
	}
	return rows
}

var tagsRe = regexp.MustCompile(`(<[^>]+>)+`)

// rowWith is the first row of a table that contains s.
func rowWith(t *testing.T, body, id, s string) string {
	t.Helper()
	for _, r := range tableRows(t, body, id) {
		if strings.Contains(r, s) {
			return r
		}
	}
	return ""
}

func TestLabRecordsTest(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn("us-testlab")
	page := b.get("/lab")
	sv := e.shipmentOf(e.atLab.ID)
	if sv.LabQueue == nil {
		t.Fatal("the shipment at the lab is not in the lab's queue")
	}
	row := rowWith(t, page.body, "queue", e.atLab.Number)
	if row == "" || !strings.Contains(row, sv.LabQueue.TestedBy.Format(time.DateOnly)) {
		t.Fatalf("the queue does not show %s with its ETA %s: %q", e.atLab.Number, sv.LabQueue.TestedBy.Format(time.DateOnly), row)
	}
	// alibaba's shipment is on its way to the lab, not yet testable.
	if row := rowWith(t, page.body, "queue", e.inTransit.Number); !strings.Contains(row, "on its way") {
		t.Fatalf("the shipment in transit: %q", row)
	}
	for _, want := range []string{`<label for="lab-shipment">`, `<label for="tops-8">`, `<label for="bandwidth">`, `value="` + e.atLab.ID.String() + `"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the lab's page lacks %q", want)
		}
	}
	if strings.Contains(page.body, `<option value="`+e.inTransit.ID.String()+`"`) {
		t.Error("a shipment not yet at the lab is offered for a test")
	}
	id := e.atLab.ID.String()
	refuse(t, e, b, csrf, "/lab/tests", map[string]refusal{
		"ErrTOPSNotANumber":  {url.Values{"shipment": {id}, "tops_8": {"fast"}, "bandwidth_gbps": {"4800"}}, 422, "Dense TOPS at 8 bits must be a number"},
		"ErrBandwidth":       {url.Values{"shipment": {id}, "tops_8": {"1979"}, "bandwidth_gbps": {"4.8 TB/s"}}, 422, "Bandwidth must be a whole number"},
		"ErrNoThroughput":    {url.Values{"shipment": {id}, "bandwidth_gbps": {"4800"}}, 422, "throughput"},
		"ErrBits":            {url.Values{"shipment": {id}, "tops_7": {"100"}, "bandwidth_gbps": {"4800"}}, 422, "must be 4, 8, 16, 32 or 64"},
		"ErrNoShipment":      {url.Values{"tops_8": {"1979"}, "bandwidth_gbps": {"4800"}}, 422, "Choose a shipment to test"},
		"ErrUnknownShipment": {url.Values{"shipment": {"0190a000-0000-7000-8000-000000000000"}, "tops_8": {"1979"}, "bandwidth_gbps": {"4800"}}, 404, "No such shipment"},
		"ErrNotAtLab":        {url.Values{"shipment": {e.inTransit.ID.String()}, "tops_8": {"1979"}, "bandwidth_gbps": {"4800"}}, 409, "tested once cleared in US"},
	})
	if e.shipmentOf(e.atLab.ID).Test != nil {
		t.Fatal("a refused form recorded a test")
	}
	t.Run("OK", func(t *testing.T) {
		r := b.post("/lab/tests", url.Values{"csrf": {csrf}, "shipment": {id}, "tops_8": {"1979"}, "tops_16": {"989.5"}, "bandwidth_gbps": {"4800"}})
		if r.status != http.StatusOK || !strings.Contains(r.body, e.atLab.Number+" passed its test (TPP 15832)") {
			t.Fatalf("record a test: %d\n%.3000s", r.status, r.body)
		}
		got := e.shipmentOf(e.atLab.ID).Test
		if got == nil || !got.Pass || got.By != "us-testlab" || len(got.Measured.Throughput) != 2 || got.Measured.BandwidthGBps != 4800 {
			t.Fatalf("the test recorded: %+v", got)
		}
		row := rowWith(t, b.get("/lab").body, "tests", e.atLab.Number)
		for _, want := range []string{"|pass|", "8-bit 1979 TOPS; 16-bit 989.5 TOPS", "|15832|", "|4,800|"} {
			if !strings.Contains(row, want) {
				t.Errorf("the tests table's row %q lacks %q", row, want)
			}
		}
		if rowWith(t, b.get("/lab").body, "queue", e.atLab.Number) != "" {
			t.Error("a tested shipment stays in the queue")
		}
		csvBody := b.get("/csv/lab/tests.csv").body
		if !strings.Contains(csvBody, e.atLab.Number) || !strings.Contains(csvBody, "pass") {
			t.Errorf("the tests CSV lacks the test:\n%s", csvBody)
		}
	})
	t.Run("ErrTestedTwice", func(t *testing.T) {
		r := b.post("/lab/tests", url.Values{"csrf": {csrf}, "shipment": {id}, "tops_8": {"4500"}, "bandwidth_gbps": {"8000"}})
		if r.status != http.StatusConflict || !strings.Contains(r.body, "a test is final") {
			t.Fatalf("a second test: %d", r.status)
		}
		if !e.shipmentOf(e.atLab.ID).Test.Pass {
			t.Fatal("the second test replaced the first")
		}
	})
}

func TestCarrierRecordsEvent(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn("carrier")
	page := b.get("/carrier")
	if row := rowWith(t, page.body, "custody", e.inTransit.Number); !strings.Contains(row, "in transit TW → US") || !strings.Contains(row, "Arrived at a stop in US") {
		t.Fatalf("the custody table's row for the shipment in transit: %q", row)
	}
	if rowWith(t, page.body, "custody", e.delivered.Number) != "" {
		t.Error("a delivered shipment is listed in custody")
	}
	if row := rowWith(t, page.body, "custody", e.atLab.Number); !strings.Contains(row, "a passing lab test in US") {
		t.Errorf("the shipment at the lab does not say it waits for its test: %q", row)
	}
	for _, want := range []string{`<label for="event-shipment">`, `<label for="event-kind">`, `<label for="event-country">`, `<label for="event-place">`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the carrier's page lacks %q", want)
		}
	}
	id := e.inTransit.ID.String()
	refuse(t, e, b, csrf, "/carrier/events", map[string]refusal{
		"ErrCountry":         {url.Values{"shipment": {id}, "kind": {"arrived"}, "country": {"USA"}, "place": {"JFK"}}, 422, "ISO 3166-1"},
		"ErrPlace":           {url.Values{"shipment": {id}, "kind": {"arrived"}, "country": {"US"}, "place": {"  "}}, 422, "place"},
		"ErrKind":            {url.Values{"shipment": {id}, "kind": {"teleported"}, "country": {"US"}, "place": {"JFK"}}, 422, "must be picked_up, arrived"},
		"ErrOutOfOrder":      {url.Values{"shipment": {id}, "kind": {"delivered"}, "country": {"CN"}, "place": {"Beijing"}}, 409, "only a shipment cleared at its destination"},
		"ErrWrongCountry":    {url.Values{"shipment": {id}, "kind": {"arrived"}, "country": {"CN"}, "place": {"Shanghai"}}, 409, "must be in US"},
		"ErrNoShipment":      {url.Values{"shipment": {"SH-1"}, "kind": {"arrived"}, "country": {"US"}, "place": {"JFK"}}, 422, "Choose a shipment"},
		"ErrUnknownShipment": {url.Values{"shipment": {"0190a000-0000-7000-8000-000000000000"}, "kind": {"arrived"}, "country": {"US"}, "place": {"JFK"}}, 404, "No such shipment"},
	})
	if got := e.shipmentOf(e.inTransit.ID); len(got.Events) != 1 || got.Status != domain.ShipInTransit {
		t.Fatalf("refused forms changed the shipment: %s with %d events", got.Status, len(got.Events))
	}
	t.Run("OK", func(t *testing.T) {
		// The country in lower case is read as its code.
		r := b.post("/carrier/events", url.Values{"csrf": {csrf}, "shipment": {id}, "kind": {"arrived"}, "country": {"us"}, "place": {"Los Angeles air cargo"}})
		if r.status != http.StatusOK || !strings.Contains(r.body, e.inTransit.Number+": Arrived at a stop in US recorded; now arrived in US.") {
			t.Fatalf("record an event: %d\n%.3000s", r.status, r.body)
		}
		got := e.shipmentOf(e.inTransit.ID)
		if got.Status != domain.ShipArrived || len(got.Events) != 2 || got.Events[1].Place != "Los Angeles air cargo" || got.Events[1].By != "carrier" {
			t.Fatalf("the shipment after the event: %s %+v", got.Status, got.Events)
		}
		page := b.get("/carrier")
		if row := rowWith(t, page.body, "events", "Los Angeles air cargo"); !strings.Contains(row, e.inTransit.Number) || !strings.Contains(row, "Arrived at a stop") {
			t.Fatalf("the events table: %q", row)
		}
		if row := rowWith(t, page.body, "custody", e.inTransit.Number); !strings.Contains(row, "Cleared customs in US") {
			t.Fatalf("the next event after arrival: %q", row)
		}
	})
	t.Run("CustomsAssessesDuty", func(t *testing.T) {
		r := b.post("/carrier/events", url.Values{"csrf": {csrf}, "shipment": {id}, "kind": {"customs_cleared"}, "country": {"US"}, "place": {"LAX customs"}})
		// 4 units × USD 30,000.00 × 25%.
		if r.status != http.StatusOK || !strings.Contains(r.body, "Duty assessed: USD 30,000.00 (25%, duty.section-232)") {
			t.Fatalf("clearing US customs: %d\n%.3000s", r.status, r.body)
		}
	})
}

func TestBuyerSeesOnlyItsShipments(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn("bytedance")
	page := b.get("/buyer")
	sv := e.shipmentOf(e.atLab.ID)
	row := rowWith(t, page.body, "shipments", e.atLab.Number)
	for _, want := range []string{"TW → US → CN", "cleared in US", "in the lab's queue", sv.LabQueue.TestedBy.Format(time.DateOnly), "USD 300,000.00"} {
		if !strings.Contains(row, want) {
			t.Errorf("the buyer's shipment row %q lacks %q", row, want)
		}
	}
	// Its shipment's 3 events and those of its shipments in the demo story.
	want := 3
	for _, sv := range e.storyOf("bytedance") {
		want += len(sv.Events)
	}
	if n := len(tableRows(t, page.body, "events")); n != want {
		t.Errorf("the buyer sees %d custody events, want its shipments' %d", n, want)
	}
	// Newest first: the last event recorded heads the table.
	if rows := tableRows(t, page.body, "events"); len(rows) == 0 || !strings.Contains(rows[0], "|"+e.atLab.Number+"|Cleared customs|US|hub US|") {
		t.Errorf("custody events: %q", rows)
	}
	others := []domain.Shipment{e.inTransit, e.delivered}
	for _, sv := range e.storyOf("") {
		if sv.Buyer != "bytedance" {
			others = append(others, sv.Shipment)
		}
	}
	if len(others) < 3 {
		t.Fatal("no shipment of another buyer in the demo story")
	}
	for _, other := range others {
		if strings.Contains(page.body, other.Number) {
			t.Errorf("bytedance sees %s's shipment %s", other.Buyer, other.Number)
		}
		if csvBody := b.get("/csv/buyer/shipments.csv").body; strings.Contains(csvBody, other.Number) {
			t.Errorf("bytedance's shipments CSV holds %s's shipment", other.Buyer)
		}
	}
	// And the other way round.
	o := e.browser()
	o.signIn("alibaba")
	if body := o.get("/buyer").body; !strings.Contains(body, e.inTransit.Number) || strings.Contains(body, e.atLab.Number) {
		t.Error("alibaba does not see exactly its own shipment")
	}
}

func TestVendorSeesShipments(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn("nvidia")
	page := b.get("/vendor")
	if n, want := len(tableRows(t, page.body, "shipments")), 3+len(e.story); n != want {
		t.Fatalf("the vendor sees %d shipments, want the env's 3 and the story's %d", n, len(e.story))
	}
	for _, sv := range e.story {
		if row := rowWith(t, page.body, "shipments", sv.Number); !strings.Contains(row, sv.Buyer) || !strings.Contains(row, "|"+strings.ReplaceAll(string(sv.Status), "_", " ")+"|") {
			t.Errorf("the vendor's row for the story's %s (%s, %s): %q", sv.Number, sv.Buyer, sv.Status, row)
		}
	}
	sv := e.shipmentOf(e.atLab.ID)
	for number, want := range map[string][]string{
		e.atLab.Number:     {"bytedance", "|cleared|", sv.LabQueue.TestedBy.Format(time.DateOnly), "USD 300,000.00"},
		e.inTransit.Number: {"alibaba", "|in transit|", "due in US"},
		e.delivered.Number: {"us-cloud-a", "|delivered|", "not required", "USD 150,000.00"},
	} {
		row := rowWith(t, page.body, "shipments", number)
		for _, w := range want {
			if !strings.Contains(row, w) {
				t.Errorf("the vendor's row for %s %q lacks %q", number, row, w)
			}
		}
	}
}

func TestExportAuthorityDutyAndAlerts(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn("us-commerce")
	page := b.get("/export")
	month := e.clock.Now().Format("2006-01")
	// The env's 10 and 5 units at USD 30,000.00, 25% each: 75,000.00 +
	// 37,500.00; and the duty on the story's shipments, assessed this month.
	entries, dutiable, duty := 2, domain.Money{Minor: 45_000_000, Currency: "USD"}, domain.Money{Minor: 11_250_000, Currency: "USD"}
	for _, sv := range e.storyOf("") {
		if sv.Duty == nil || sv.Duty.AssessedAt.Format("2006-01") != month {
			continue
		}
		var err1, err2 error
		entries++
		dutiable, err1 = dutiable.Add(sv.Duty.DutiableValue)
		duty, err2 = duty.Add(sv.Duty.Amount)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
	}
	if entries == 2 {
		t.Fatal("the demo story assessed no duty this month")
	}
	if row := strings.ReplaceAll(rowWith(t, page.body, "duty-totals", "USD"), ",", ""); !strings.Contains(row, fmt.Sprintf("|%d|%s|%s|", entries, dutiable, duty)) {
		t.Errorf("the duty totals of %s: %q, want %d entries, %s dutiable, %s duty", month, row, entries, dutiable, duty)
	}
	if row := rowWith(t, page.body, "duty", e.atLab.Number); !strings.Contains(row, "duty.section-232") || !strings.Contains(row, "USD 75,000.00") || !strings.Contains(row, "bytedance") {
		t.Errorf("bytedance's duty entry: %q", row)
	}
	// The CSV's amounts are numbers, their currency in the next column.
	dutyNumber := strings.TrimPrefix(duty.String(), "USD ")
	if csvBody := b.get("/csv/export/duty-totals.csv").body; !strings.Contains(csvBody, "Duty,Duty: currency") || !strings.Contains(csvBody, ","+dutyNumber+",USD") {
		t.Errorf("the duty totals CSV: %s", csvBody)
	}
	t.Run("AnotherMonth", func(t *testing.T) {
		r := b.get("/export?month=2026-01")
		if r.status != http.StatusOK || !strings.Contains(r.body, "Nothing to remit for 2026-01") || !strings.Contains(r.body, `href="/csv/export/duty.csv?month=2026-01"`) {
			t.Fatalf("January: %d", r.status)
		}
		// The download is of the month asked for.
		if r := b.get("/csv/export/duty-totals.csv?month=2026-01"); r.status != http.StatusOK || strings.Contains(r.body, "USD") {
			t.Fatalf("January's duty totals CSV: %d\n%s", r.status, r.body)
		}
		if r := b.get("/csv/export/duty-totals.csv?month=" + month); !strings.Contains(r.body, ","+dutyNumber) {
			t.Fatalf("%s's duty totals CSV: %s", month, r.body)
		}
		if r := b.get("/export?month=last+year"); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "YYYY-MM") {
			t.Fatalf("a bad month: %d", r.status)
		}
	})
	if row := rowWith(t, page.body, "alerts", "SN-NEVER-SHIPPED"); !strings.Contains(row, "serial never shipped") || !strings.Contains(row, "|open|") || !strings.Contains(row, "(site 1)") {
		t.Fatalf("the alert: %q", row)
	}
	action := "/export/alerts/" + e.alert.ID.String()
	if !strings.Contains(page.body, `action="`+action+`"`) || !strings.Contains(page.body, `<label for="alert-note-`+e.alert.ID.String()+`">`) {
		t.Fatal("the open alert has no labeled form")
	}
	stateOf := func() domain.AlertState {
		as, err := e.svc.Alerts(context.Background(), e.actor("us-commerce"), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			if a.ID == e.alert.ID {
				return a.State
			}
		}
		t.Fatal("the alert is gone")
		return ""
	}
	for name, c := range map[string]struct {
		path   string
		form   url.Values
		status int
		says   string
	}{
		"ErrNoNote":     {action, url.Values{"state": {"escalated"}}, 422, "note"},
		"ErrState":      {action, url.Values{"state": {"open"}, "note": {"x"}}, 422, "must be explained or escalated"},
		"ErrBadID":      {"/export/alerts/not-an-id", url.Values{"state": {"escalated"}, "note": {"x"}}, 422, "No such alert"},
		"ErrUnknownID":  {"/export/alerts/0190a000-0000-7000-8000-000000000000", url.Values{"state": {"escalated"}, "note": {"x"}}, 404, "No such alert"},
		"ErrEmptyState": {action, url.Values{"note": {"x"}}, 422, "state"},
	} {
		t.Run(name, func(t *testing.T) {
			before := e.auditSize()
			c.form.Set("csrf", csrf)
			r := b.post(c.path, c.form)
			if r.status != c.status || !strings.Contains(r.body, c.says) || !strings.Contains(r.body, `role="alert"`) {
				t.Fatalf("%d, want %d saying %q:\n%.2000s", r.status, c.status, c.says, r.body)
			}
			if after := e.auditSize(); after != before {
				t.Fatalf("a refused form wrote %d records", after-before)
			}
		})
	}
	if s := stateOf(); s != domain.AlertOpen {
		t.Fatalf("refused forms moved the alert to %s", s)
	}
	t.Run("Escalate", func(t *testing.T) {
		r := b.post(action, url.Values{"csrf": {csrf}, "state": {"escalated"}, "note": {"referred to enforcement"}})
		if r.status != http.StatusOK || !strings.Contains(r.body, "Alert on serial SN-NEVER-SHIPPED (serial never shipped): escalated") {
			t.Fatalf("escalate: %d\n%.2000s", r.status, r.body)
		}
		if s := stateOf(); s != domain.AlertEscalated {
			t.Fatalf("the alert is %s", s)
		}
		if row := rowWith(t, r.body, "alerts", "SN-NEVER-SHIPPED"); !strings.Contains(row, "us-commerce escalated: referred to enforcement") {
			t.Errorf("the note is not shown: %q", row)
		}
		// An escalated alert may only be explained next.
		if !regexp.MustCompile(`name="state" *><option value="explained">explained</option></select>`).MatchString(r.body) {
			t.Error("the escalated alert's form offers moves the lifecycle forbids")
		}
	})
	t.Run("ErrEscalateTwice", func(t *testing.T) {
		if r := b.post(action, url.Values{"csrf": {csrf}, "state": {"escalated"}, "note": {"again"}}); r.status != http.StatusConflict {
			t.Fatalf("escalating twice: %d", r.status)
		}
	})
	t.Run("Explain", func(t *testing.T) {
		r := b.post(action, url.Values{"csrf": {csrf}, "state": {"explained"}, "note": {"a test device of the vendor"}})
		if r.status != http.StatusOK || stateOf() != domain.AlertExplained || strings.Contains(r.body, `action="`+action+`"`) {
			t.Fatalf("explain: %d, alert %s", r.status, stateOf())
		}
	})
	t.Run("SilenceSweep", func(t *testing.T) {
		if r := b.post("/export/alerts/sweep", url.Values{"csrf": {csrf}}); r.status != http.StatusOK || !strings.Contains(r.body, "Silence sweep: 0 new alert(s)") {
			t.Fatalf("a sweep right after delivery: %d", r.status)
		}
		// Past the watch's 30 days of silence (and the session: sign in anew).
		e.clock.Add(31 * 24 * time.Hour)
		b := e.browser()
		csrf := b.signIn("us-commerce")
		// us-cloud-a's 5 serials, and those the story delivered (whose
		// devices checked in then).
		all, cloudA := 5, 5
		for _, sv := range e.storyOf("") {
			if sv.Status == domain.ShipDelivered {
				all += len(sv.Serials)
				if sv.Buyer == "us-cloud-a" {
					cloudA += len(sv.Serials)
				}
			}
		}
		r := b.post("/export/alerts/sweep", url.Values{"csrf": {csrf}})
		if r.status != http.StatusOK || !strings.Contains(r.body, fmt.Sprintf("Silence sweep: %d new alert(s)", all)) {
			t.Fatalf("a sweep 31 days after delivery, want %d alerts: %d\n%.2000s", all, r.status, r.body)
		}
		silent := 0
		for _, row := range tableRows(t, r.body, "alerts") {
			if strings.Contains(row, "|serial stopped checking in|") && strings.Contains(row, "us-cloud-a") {
				silent++
			}
		}
		if silent != cloudA {
			t.Fatalf("%d silent serials of us-cloud-a listed, want its %d", silent, cloudA)
		}
	})
}

// refusal is a form the handler or the service refuses: its status, what
// the message says, and nothing written.
type refusal struct {
	form   url.Values
	status int
	says   string
}

// refuse sends each refused form as b and checks the message (role=alert),
// the status and that no audit record was written.
func refuse(t *testing.T, e *env, b *browser, csrf, path string, cases map[string]refusal, kept ...string) {
	t.Helper()
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			before := e.auditSize()
			c.form.Set("csrf", csrf)
			r := b.post(path, c.form)
			body := html.UnescapeString(r.body)
			if r.status != c.status || !strings.Contains(body, c.says) || !strings.Contains(r.body, `role="alert"`) {
				t.Fatalf("%d, want %d saying %q:\n%.3000s", r.status, c.status, c.says, r.body)
			}
			if after := e.auditSize(); after != before {
				t.Fatalf("a refused form wrote %d records", after-before)
			}
			// The form comes back as sent.
			for _, k := range kept {
				if v := c.form.Get(k); v != "" && !strings.Contains(body, v) {
					t.Errorf("the page lost the %s sent, %q", k, v)
				}
			}
		})
	}
}

// otherRoleRefused checks that a party of another role is refused the form
// with 403 and writes nothing.
func otherRoleRefused(t *testing.T, e *env, party, path string, form url.Values) {
	t.Helper()
	b := e.browser()
	form.Set("csrf", b.signIn(party))
	before := e.auditSize()
	if r := b.post(path, form); r.status != http.StatusForbidden {
		t.Errorf("%s posting %s: %d, want 403", party, path, r.status)
	}
	if e.auditSize() != before {
		t.Errorf("%s's refused %s wrote to the ledger", party, path)
	}
}

func TestVendorShipsOrder(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := e.browser()
	csrf := b.signIn("nvidia")
	page := b.get("/vendor")
	shipments := len(tableRows(t, page.body, "shipments"))
	for _, want := range []string{`action="/vendor/shipments"`, `<label for="ship-order">`, `<label for="ship-lot">`, `<label for="ship-serials">`,
		`<label for="ship-value">`, `<label for="ship-currency">`} {
		if !strings.Contains(page.body, want) {
			t.Fatalf("the vendor's page lacks %s", want)
		}
	}
	// The accepted order with the fewest units left, and one that is not
	// accepted any more.
	accepted, err := e.svc.Orders(ctx, e.actor("nvidia"), []string{string(domain.OrderAccepted)})
	if err != nil || len(accepted) < 2 {
		t.Fatalf("accepted orders: %d, %v", len(accepted), err)
	}
	slices.SortFunc(accepted, func(a, b domain.Order) int { return int((a.Quantity - a.Shipped) - (b.Quantity - b.Shipped)) })
	order := accepted[0]
	left := order.Quantity - order.Shipped
	if left <= 0 || left >= service.MaxShipmentUnits {
		t.Fatalf("order %s has %d units left", order.ID, left)
	}
	if !strings.Contains(page.body, `<option value="`+order.ID.String()+`">`+order.Buyer+` · h200 · `+thousands(left)+` of `+thousands(order.Quantity)+` left`) {
		t.Errorf("the order choice of %s with %d left is missing", order.ID, left)
	}
	// A Chinese order: cancelling a US one would shrink China's room under
	// the volume cap and send the newest Chinese acceptances back to held.
	cancelled := accepted[len(accepted)-1]
	for i := len(accepted) - 1; i > 0 && cancelled.Decision.Region == "US"; i-- {
		cancelled = accepted[i-1]
	}
	if cancelled.ID == order.ID || cancelled.Decision.Region == "US" {
		t.Fatalf("no second, non-US accepted order to cancel")
	}
	if _, err := e.svc.CancelOrder(ctx, e.actor(cancelled.Buyer), cancelled.ID, "plans changed"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.get("/vendor").body, `<option value="`+cancelled.ID.String()+`"`) {
		t.Error("a cancelled order is offered")
	}
	lot := demo.H200Lots()[0].Number
	form := func(orderID, serials, value, currency string) url.Values {
		return url.Values{"order": {orderID}, "lot": {lot}, "serials": {serials}, "unit_value": {value}, "currency": {currency}, "carriers": {"carrier"}, "lab": {"us-testlab"}}
	}
	tooMany := make([]string, left+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("SN-OVER-%05d", i)
	}
	id := order.ID.String()
	bad := form(id, "SN-W-1\nSN-W-2", "30000.00", "USD")
	bad.Set("lot", "TW-NO-SUCH-LOT")
	refuse(t, e, b, csrf, "/vendor/shipments", map[string]refusal{
		"ErrNoOrder":       {form("", "SN-W-1", "30000.00", "USD"), 422, "Order: choose an accepted order"},
		"ErrUnknownOrder":  {form("0190a000-0000-7000-8000-000000000000", "SN-W-1", "30000.00", "USD"), 404, "No such order"},
		"ErrNoSerials":     {form(id, "\n  \n", "30000.00", "USD"), 422, "Serial numbers: enter at least one"},
		"ErrSerialFormat":  {form(id, "SN-W-1\nSN W 2\nSN-W-3", "30000.00", "USD"), 422, `role="alert">serial 2: must be 1-64 letters, digits or dashes; serial number 2 is “SN W 2” (3 serial numbers read)</p>`},
		"ErrSerialTwice":   {form(id, "SN-W-1\nSN-W-1", "30000.00", "USD"), 422, "is listed twice"},
		"ErrValueComma":    {form(id, "SN-W-1", "30,000", "USD"), 422, "Unit value: an amount in the currency's major units"},
		"ErrValueNegative": {form(id, "SN-W-1", "-30000", "USD"), 422, "Unit value"},
		"ErrValueZero":     {form(id, "SN-W-1", "0.004", "USD"), 422, "Unit value: must be at least 0.01"},
		"ErrCurrency":      {form(id, "SN-W-1", "30000.00", "dollars"), 422, "Currency: a three-letter ISO 4217 code"},
		"ErrLot":           {bad, 422, `no h200 lot "TW-NO-SUCH-LOT"`},
		"ErrOverShipping":  {form(id, strings.Join(tooMany, "\n"), "30000.00", "USD"), 409, fmt.Sprintf("order has %d units left to ship, fewer than %d", left, left+1)},
		"ErrNotAccepted":   {form(cancelled.ID.String(), "SN-W-1", "30000.00", "USD"), 409, "order is cancelled; only an accepted order ships"},
		"ErrSerialShipped": {form(id, "SN-000001", "30000.00", "USD"), 409, "SN-000001"},
	}, "unit_value", "currency", "serials")
	if n := len(tableRows(t, b.get("/vendor").body, "shipments")); n != shipments {
		t.Fatalf("refused forms made shipments: %d, were %d", n, shipments)
	}
	// Another form's refusal leaves the shipment form's defaults alone.
	if r := b.post("/vendor/runs", url.Values{"csrf": {csrf}, "periods": {"9999"}}); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, `pattern="[A-Za-z]{3}" autocapitalize="characters" value="USD"`) {
		t.Errorf("after a refused run the currency is not USD: %d", r.status)
	}

	t.Run("OK", func(t *testing.T) {
		// 29999.995 is USD 30,000.00, rounded half away from zero; blank lines
		// and spaces around a serial are skipped.
		r := b.post("/vendor/shipments", url.Values{"csrf": {csrf}, "order": {id}, "lot": {lot}, "serials": {"SN-W-1\r\n\r\n  SN-W-2 \nSN-W-3\n"},
			"unit_value": {"29999.995"}, "currency": {"usd"}, "carriers": {"carrier"}, "lab": {"us-testlab"}})
		if r.status != http.StatusOK {
			t.Fatalf("ship: %d\n%.3000s", r.status, r.body)
		}
		svs, err := e.svc.Shipments(ctx, e.actor("nvidia"))
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(svs, func(sv service.ShipmentView) bool {
			return sv.OrderID == order.ID && slices.Contains(sv.Serials, "SN-W-2")
		})
		if i < 0 {
			t.Fatal("no shipment was created")
		}
		sh := svs[i]
		if !slices.Equal(sh.Serials, []string{"SN-W-1", "SN-W-2", "SN-W-3"}) || sh.UnitValue != (domain.Money{Minor: 3_000_000, Currency: "USD"}) ||
			sh.Invoice.Total != (domain.Money{Minor: 9_000_000, Currency: "USD"}) || sh.Lot != lot {
			t.Fatalf("the shipment: %+v", sh.Shipment)
		}
		body := html.UnescapeString(r.body)
		for _, want := range []string{"Shipment " + sh.Number + " created: 3 × h200 of lot " + lot + " for " + order.Buyer + " (3 serial numbers read); unit value USD 30,000.00; invoice " + sh.Invoice.Number + ", total USD 90,000.00.",
			`id="shipped"`, `class="invoice-total">USD 90,000.00<`} {
			if !strings.Contains(body, want) {
				t.Errorf("the page lacks %q", want)
			}
		}
		if row := rowWith(t, r.body, "shipments", sh.Number); !strings.Contains(row, order.Buyer) || !strings.Contains(row, "|3|") || !strings.Contains(row, "USD 90,000.00") {
			t.Errorf("the shipments table: %q", row)
		}
		after, err := e.svc.Order(ctx, e.actor("nvidia"), order.ID)
		if err != nil || after.Shipped != order.Shipped+3 {
			t.Fatalf("the order shipped %d after, %d before (%v)", after.Shipped, order.Shipped, err)
		}
		if !strings.Contains(r.body, thousands(left-3)+` of `+thousands(order.Quantity)+` left`) {
			t.Error("the order's choice does not count the units shipped")
		}
	})
	otherRoleRefused(t, e, "bytedance", "/vendor/shipments", form(id, "SN-X-1", "1.00", "USD"))
}

func TestImportAuthorityHearings(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn("cn-mofcom")
	page := b.get("/import")
	for _, want := range []string{`action="/import/hearings"`, `<label for="hearing-title">`, `<label for="hearing-product">`, `<label for="hearing-start">`,
		`<label for="hearing-end">`, `action="/import/hearings/close"`, `<label for="close-hearing">`} {
		if !strings.Contains(page.body, want) {
			t.Fatalf("the import authority's page lacks %s", want)
		}
	}
	open := func(title, product, from, until string) url.Values {
		return url.Values{"title": {title}, "product": {product}, "period_start": {from}, "period_end": {until}}
	}
	refuse(t, e, b, csrf, "/import/hearings", map[string]refusal{
		"ErrNoTitle":   {open(" ", "h200", "2026-04-01", "2026-07-01"), 422, "Title: required"},
		"ErrProduct":   {open("Q2 demand", "h900", "2026-04-01", "2026-07-01"), 422, `Product: no product "h900"`},
		"ErrStartDate": {open("Q2 demand", "h200", "April", "2026-07-01"), 422, "Period start: must be a date YYYY-MM-DD"},
		"ErrPeriod":    {open("Q2 demand", "h200", "2026-07-01", "2026-04-01"), 422, "Period end: must be after period_start"},
	}, "title", "period_start", "period_end")

	var opened domain.ID
	t.Run("Open", func(t *testing.T) {
		r := b.post("/import/hearings", url.Values{"csrf": {csrf}, "title": {"Q2 H200 demand"}, "product": {"h200"}, "period_start": {"2026-04-01"}, "period_end": {"2026-07-01"}})
		if r.status != http.StatusOK || !strings.Contains(html.UnescapeString(r.body), "Hearing “Q2 H200 demand” opened for h200, 2026-04-01 to 2026-07-01") {
			t.Fatalf("open: %d\n%.2000s", r.status, r.body)
		}
		if row := rowWith(t, r.body, "hearings", "Q2 H200 demand"); !strings.Contains(row, "|h200|2026-04-01|2026-07-01|open|0|") {
			t.Errorf("the hearings table: %q", row)
		}
		hs, err := e.svc.Hearings(context.Background(), e.actor("cn-mofcom"))
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(hs, func(h service.HearingView) bool { return h.Title == "Q2 H200 demand" })
		if i < 0 {
			t.Fatal("no hearing was opened")
		}
		opened = hs[i].ID
		if !strings.Contains(r.body, `<option value="`+opened.String()+`">Q2 H200 demand · h200 · 0 filing(s)</option>`) {
			t.Error("the new hearing cannot be closed from the page")
		}
	})
	refuse(t, e, b, csrf, "/import/hearings/close", map[string]refusal{
		"ErrCloseNoHearing": {url.Values{"hearing": {"Q2"}}, 422, "Hearing: choose a hearing to close"},
		"ErrCloseUnknown":   {url.Values{"hearing": {"0190a000-0000-7000-8000-000000000000"}}, 404, "No such hearing"},
	})
	t.Run("Close", func(t *testing.T) {
		r := b.post("/import/hearings/close", url.Values{"csrf": {csrf}, "hearing": {opened.String()}})
		if r.status != http.StatusOK || !strings.Contains(html.UnescapeString(r.body), "Hearing “Q2 H200 demand” closed with 0 filing(s).") {
			t.Fatalf("close: %d\n%.2000s", r.status, r.body)
		}
		if row := rowWith(t, r.body, "hearings", "Q2 H200 demand"); !strings.Contains(row, "|closed|") {
			t.Errorf("the hearings table: %q", row)
		}
		if strings.Contains(r.body, `<option value="`+opened.String()+`"`) {
			t.Error("a closed hearing is offered to close")
		}
	})
	refuse(t, e, b, csrf, "/import/hearings/close", map[string]refusal{
		"ErrCloseTwice": {url.Values{"hearing": {opened.String()}}, 409, "hearing is closed; it cannot be closed"},
	})
	otherRoleRefused(t, e, "bytedance", "/import/hearings", open("Mine", "h200", "2026-04-01", "2026-07-01"))
	otherRoleRefused(t, e, "us-commerce", "/import/hearings/close", url.Values{"hearing": {opened.String()}})
}

func TestBuyerFilesDemand(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	hs, err := e.svc.Hearings(ctx, e.actor("cn-mofcom"))
	if err != nil || len(hs) != 1 {
		t.Fatalf("the demo's hearing: %d, %v", len(hs), err)
	}
	hearing := hs[0]
	b := e.browser()
	csrf := b.signIn("bytedance")
	page := b.get("/buyer")
	for _, want := range []string{`action="/buyer/filings"`, `<label for="filing-hearing">`, `<label for="filing-units">`, `<label for="filing-uses">`, `<label for="filing-justification">`} {
		if !strings.Contains(page.body, want) {
			t.Fatalf("the buyer's page lacks %s", want)
		}
	}
	// The demo filed bytedance's demand: its own filing is listed, no other.
	if rows := tableRows(t, page.body, "filings"); len(rows) != 1 || !strings.Contains(rows[0], hearing.Title+"|h200|") || !strings.Contains(rows[0], "|open|") {
		t.Fatalf("bytedance's filings: %q", rows)
	}
	id := hearing.ID.String()
	file := func(hid, units, uses string) url.Values {
		return url.Values{"hearing": {hid}, "forecast_units": {units}, "uses": {uses}, "justification": {"two new clusters"}}
	}
	refuse(t, e, b, csrf, "/buyer/filings", map[string]refusal{
		"ErrNoHearing":      {file("", "4000", "commercial_ai"), 422, "Hearing: choose an open hearing"},
		"ErrUnknownHearing": {file("0190a000-0000-7000-8000-000000000000", "4000", "commercial_ai"), 404, "No such hearing"},
		"ErrUnits":          {file(id, "four thousand", "commercial_ai"), 422, "Forecast units: a whole number"},
		"ErrNegativeUnits":  {file(id, "-1", "commercial_ai"), 422, "Forecast units: must be between 0 and"},
		"ErrNoUses":         {file(id, "4000", " , "), 422, "Uses: between 1 and 20 required"},
	}, "forecast_units", "justification")

	t.Run("File", func(t *testing.T) {
		r := b.post("/buyer/filings", url.Values{"csrf": {csrf}, "hearing": {id}, "forecast_units": {"4242"}, "uses": {"commercial_ai, recommendation"},
			"justification": {"two new clusters"}})
		if r.status != http.StatusOK || !strings.Contains(html.UnescapeString(r.body), "Demand filed in “"+hearing.Title+"”: 4,242 units for commercial AI, recommendation.") {
			t.Fatalf("file: %d\n%.2000s", r.status, r.body)
		}
		// The new filing replaces the old one.
		if rows := tableRows(t, r.body, "filings"); len(rows) != 1 || !strings.Contains(rows[0], "|4,242|commercial_ai, recommendation|two new clusters|") {
			t.Fatalf("the filings after filing: %q", rows)
		}
		h, err := e.svc.Hearing(ctx, e.actor("cn-mofcom"), hearing.ID)
		if err != nil {
			t.Fatal(err)
		}
		mine := slices.DeleteFunc(slices.Clone(h.Filings), func(f domain.Filing) bool { return f.Buyer != "bytedance" })
		if len(mine) != 1 || mine[0].Units != 4242 || !slices.Equal(mine[0].Uses, []string{"commercial_ai", "recommendation"}) {
			t.Fatalf("bytedance's filings: %+v", mine)
		}
	})
	// Another buyer sees its own filing, not bytedance's.
	o := e.browser()
	o.signIn("alibaba")
	if body := o.get("/buyer").body; strings.Contains(body, "4242") || len(tableRows(t, body, "filings")) != 1 {
		t.Error("alibaba sees another buyer's filing")
	}
	otherRoleRefused(t, e, "cn-mofcom", "/buyer/filings", file(id, "1", "x"))

	if _, err := e.svc.CloseHearing(ctx, e.actor("cn-mofcom"), hearing.ID); err != nil {
		t.Fatal(err)
	}
	refuse(t, e, b, csrf, "/buyer/filings", map[string]refusal{
		"ErrClosed": {file(id, "5000", "commercial_ai"), 409, "hearing is closed; filings are closed"},
	})
	if body := b.get("/buyer").body; strings.Contains(body, `action="/buyer/filings"`) || !strings.Contains(body, "No hearing is open for filings.") {
		t.Error("the filing form is offered with no hearing open")
	}
}

func TestExportAuthorityChangesCustomer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	apps, err := e.svc.Applications(ctx, e.actor("us-commerce"), []string{string(domain.AppApproved)})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(apps, func(a domain.Application) bool { return a.Buyer == "tencent" })
	if i < 0 {
		t.Fatal("tencent is not an approved customer")
	}
	app := apps[i]
	id := app.ID.String()
	b := e.browser()
	csrf := b.signIn("us-commerce")
	page := b.get("/export")
	for _, want := range []string{`action="/export/customers"`, `<label for="cust-application">`, `<label for="cust-action">`, `<label for="cust-reason">`,
		`<option value="` + id + `">` + app.LegalName + ` · tencent · approved · may: suspend, revoke</option>`} {
		if !strings.Contains(html.UnescapeString(page.body), html.UnescapeString(want)) {
			t.Fatalf("the export authority's page lacks %s", want)
		}
	}
	state := func() (domain.ApplicationStatus, []domain.GrantStatus) {
		t.Helper()
		a, err := e.svc.Application(ctx, e.actor("us-commerce"), app.ID)
		if err != nil {
			t.Fatal(err)
		}
		var ls []domain.GrantStatus
		for _, lid := range a.LicenseIDs {
			l, err := e.svc.License(ctx, e.actor("us-commerce"), lid)
			if err != nil {
				t.Fatal(err)
			}
			ls = append(ls, l.Status)
		}
		return a.Status, ls
	}
	change := func(action, reason string) url.Values {
		return url.Values{"application": {id}, "action": {action}, "reason": {reason}, "confirm": {"yes"}}
	}
	refuse(t, e, b, csrf, "/export/customers", map[string]refusal{
		"ErrNoCustomer":  {url.Values{"application": {"tencent"}, "action": {"suspend"}, "reason": {"x"}}, 422, "Customer: choose an approved or suspended customer"},
		"ErrUnknown":     {url.Values{"application": {"0190a000-0000-7000-8000-000000000000"}, "action": {"suspend"}, "reason": {"x"}, "confirm": {"yes"}}, 404, "No such customer"},
		"ErrAction":      {change("approve", "x"), 422, "Action: choose suspend, reinstate or revoke"},
		"ErrNoReason":    {change("suspend", "  "), 422, "Reason: required to suspend"},
		"ErrReinstate":   {change("reinstate", "all clear"), 409, "application is approved; only a suspended one can be reinstated"},
		"ErrPendingApps": {url.Values{"application": {e.pending.ID.String()}, "action": {"suspend"}, "reason": {"x"}, "confirm": {"yes"}}, 409, "application is submitted; it cannot become suspended"},
	})
	if s, ls := state(); s != domain.AppApproved || slices.Contains(ls, domain.GrantSuspended) {
		t.Fatalf("refused forms changed the customer: %s %v", s, ls)
	}
	for _, step := range []struct {
		action string
		status int
		app    domain.ApplicationStatus
		lic    domain.GrantStatus
		moves  string
	}{
		{"suspend", 200, domain.AppSuspended, domain.GrantSuspended, "suspended · may: reinstate, revoke"},
		{"suspend", 409, domain.AppSuspended, domain.GrantSuspended, "suspended · may: reinstate, revoke"},
		{"reinstate", 200, domain.AppApproved, domain.GrantActive, "approved · may: suspend, revoke"},
		{"revoke", 200, domain.AppRevoked, domain.GrantRevoked, ""},
		{"revoke", 409, domain.AppRevoked, domain.GrantRevoked, ""},
	} {
		before := e.auditSize()
		r := b.post("/export/customers", url.Values{"csrf": {csrf}, "application": {id}, "action": {step.action}, "reason": {"end-use check " + step.action}, "confirm": {"yes"}})
		if r.status != step.status {
			t.Fatalf("%s: %d, want %d\n%.2000s", step.action, r.status, step.status, r.body)
		}
		if s, ls := state(); s != step.app || len(ls) == 0 || slices.ContainsFunc(ls, func(g domain.GrantStatus) bool { return g != step.lic }) {
			t.Fatalf("after %s: %s with licenses %v", step.action, s, ls)
		}
		body := html.UnescapeString(r.body)
		if step.status == 200 && !strings.Contains(body, app.LegalName+" (tencent): "+string(step.app)+"; the licenses issued with the approval follow.") {
			t.Errorf("%s: no notice", step.action)
		}
		if step.status != 200 && (e.auditSize() != before || !strings.Contains(r.body, `role="alert"`)) {
			t.Errorf("a refused %s wrote to the ledger or said nothing", step.action)
		}
		option := `<option value="` + id + `">`
		if step.moves == "" && strings.Contains(body, option) {
			t.Errorf("after %s the revoked customer is still offered", step.action)
		}
		if step.moves != "" && !strings.Contains(body, option+app.LegalName+" · tencent · "+step.moves) {
			t.Errorf("after %s the customer's choice does not offer %q", step.action, step.moves)
		}
	}
	otherRoleRefused(t, e, "cn-mofcom", "/export/customers", change("suspend", "x"))
}

// TestExportAuthorityRecordsNotice: the export authority records BIS's NAC
// confirmation for a customer from its page; the customer's order held
// for want of it is accepted; bad forms come back with the field named and
// write nothing; the notice is withdrawn with a reason.
func TestExportAuthorityRecordsNotice(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// TPP 3,200 and performance density 4: a 3A090.b chip NAC covers.
	if _, err := e.svc.CreateProduct(ctx, domain.SystemActor, service.ProductRequest{Slug: "chip-b", Name: "Chip B", Family: "test", LaunchDate: "2025-06-01",
		Spec: domain.Spec{Throughput: []domain.Throughput{{Bits: 8, DenseTOPS: 400}}, DieAreaMM2: 800, MemoryGB: 141, BandwidthGBps: 2000}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.PlaceOrder(ctx, e.actor("us-cloud-a"), service.OrderRequest{Product: "chip-b", Quantity: 1000, Period: "2026-03-02", EndUse: "commercial_ai"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.DecidePermit(ctx, e.actor("cn-mofcom"), service.PermitRequest{Buyer: "tencent", Decision: "grant", Products: []string{"chip-b"},
		Quantity: 100, ValidFrom: "2026-01-01", ValidUntil: "2027-01-01"}); err != nil {
		t.Fatal(err)
	}
	held, err := e.svc.PlaceOrder(ctx, e.actor("tencent"), service.OrderRequest{Product: "chip-b", Quantity: 10, Period: "2026-03-02", EndUse: "commercial_ai"})
	if err != nil || held.Status != domain.OrderHeld {
		t.Fatalf("tencent's order: %v %s %+v", err, held.Status, held.Decision.Blocking())
	}
	apps, err := e.svc.Applications(ctx, e.actor("us-commerce"), []string{string(domain.AppApproved)})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(apps, func(a domain.Application) bool { return a.Buyer == "tencent" })
	id := apps[i].ID.String()
	b := e.browser()
	csrf := b.signIn("us-commerce")
	page := b.get("/export")
	for _, want := range []string{`action="/export/notices"`, `<label for="nac-confirmation">`, `<label for="nac-products">`, `<option>NAC</option>`, `<option>chip-b</option>`} {
		if !strings.Contains(page.body, want) {
			t.Fatalf("the export authority's page lacks %s", want)
		}
	}
	form := func(confirmation string, products ...string) url.Values {
		return url.Values{"application": {id}, "exception": {"NAC"}, "confirmation": {confirmation}, "products": products}
	}
	refuse(t, e, b, csrf, "/export/notices", map[string]refusal{
		"ErrNoCustomer":     {url.Values{"application": {"tencent"}, "exception": {"NAC"}, "confirmation": {"C67-1"}, "products": {"chip-b"}}, 422, "Customer: choose"},
		"ErrConfirmation":   {form("C67 1", "chip-b"), 422, "confirmation"},
		"ErrNoProducts":     {form("C67-1"), 422, "products"},
		"ErrDataCenterChip": {form("C67-1", "h200"), 422, "does not cover h200"},
	})
	r := b.post("/export/notices", func() url.Values { f := form("C67-0042", "chip-b"); f.Set("csrf", csrf); return f }())
	if r.status != 200 || !strings.Contains(html.UnescapeString(r.body), "NAC C67-0042 recorded for tencent; 1 held order(s) decided again and accepted.") {
		t.Fatalf("recording: %d\n%.2000s", r.status, r.body)
	}
	if o, err := e.svc.Order(ctx, e.actor("us-commerce"), held.ID); err != nil || o.Status != domain.OrderAccepted {
		t.Fatalf("the held order after the notice: %v %s", err, o.Status)
	}
	refuse(t, e, b, csrf, "/export/notices/withdraw", map[string]refusal{
		"ErrNoNotice": {url.Values{"notice": {"none"}, "reason": {"x"}}, 422, "Notification: choose"},
		"ErrNoReason": {url.Values{"notice": {id + "/C67-0042"}, "reason": {" "}}, 422, "reason"},
	})
	r = b.post("/export/notices/withdraw", url.Values{"csrf": {csrf}, "notice": {id + "/C67-0042"}, "reason": {"end user changed"}})
	if r.status != 200 || !strings.Contains(r.body, "Notification C67-0042 of tencent withdrawn") {
		t.Fatalf("withdrawing: %d\n%.2000s", r.status, r.body)
	}
}
