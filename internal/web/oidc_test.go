package web_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/oidctest"
	"github.com/chipgate/chipgate/internal/server"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/throttle"
	"github.com/chipgate/chipgate/internal/web"
)

// ssoEnv is chipgate (API and dashboard) and a real OpenID provider, both
// on loopback: the export authority signs its people in with it.
type ssoEnv struct {
	t   *testing.T
	kit *chipgatetest.Env
	api *chipgatetest.Client
	op  *oidctest.Provider
	url string
	// officer and approver are us-commerce users the provider's people
	// are mapped to.
	officer, approver domain.User
	// alice is mapped by subject to the officer.
	alice domain.IdentityMapping
}

func newSSOEnv(t *testing.T, opts web.Options) *ssoEnv {
	t.Helper()
	kit := chipgatetest.New(t)
	// The provider stamps ID tokens with the real time; the dashboard
	// checks them against the service's clock.
	kit.Clock.Set(time.Now())
	op := oidctest.Start(t, "chipgate-us-commerce", "a client secret, as the provider issued it")
	opts.Key = []byte(sessionKey)
	e := &ssoEnv{t: t, kit: kit, op: op}
	e.api = kit.Serve(server.Options{Pages: kit.Dashboard(opts)})
	e.url = e.api.URL
	op.AllowRedirect(e.url + "/signin/sso/callback")
	// The party's administrator configures the provider and maps its
	// people, over the API.
	e.api.Do("us-commerce", "PUT", "/api/v1/parties/us-commerce/identity-provider", map[string]any{
		"issuer": op.Issuer, "client_id": op.ClientID, "client_secret": op.ClientSecret, "name": "Commerce SSO"}).Decode(new(any))
	e.officer = e.user("licensing officer", "officer")
	e.approver = e.user("licensing director", "approver")
	e.alice = e.mapping(map[string]any{"subject": "alice", "user": e.officer.ID})
	e.mapping(map[string]any{"group": "directors", "user": e.approver.ID})
	return e
}

// user adds a us-commerce user with the duties, over the API.
func (e *ssoEnv) user(name string, duties ...string) domain.User {
	e.t.Helper()
	r := e.api.Do("us-commerce", "POST", "/api/v1/parties/us-commerce/users", map[string]any{"name": name, "duties": duties})
	var u domain.User
	if r.Status != 201 || r.Decode(&u) != nil {
		e.t.Fatalf("add user: %d %s", r.Status, r.Body)
	}
	return u
}

// mapping adds a mapping of us-commerce's provider, over the API.
func (e *ssoEnv) mapping(body map[string]any) domain.IdentityMapping {
	e.t.Helper()
	r := e.api.Do("us-commerce", "POST", "/api/v1/parties/us-commerce/identity-mappings", body)
	var m domain.IdentityMapping
	if r.Status != 201 || r.Decode(&m) != nil {
		e.t.Fatalf("add mapping: %d %s", r.Status, r.Body)
	}
	return m
}

// person is a browser: a cookie jar, redirects not followed, and the
// address it claims behind the trusted proxy (none when empty).
type person struct {
	e    *ssoEnv
	c    *http.Client
	addr string
}

func (e *ssoEnv) browser(addr string) *person {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &person{e: e, addr: addr, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// get fetches an absolute URL, returning the status, the Location and the
// body.
func (p *person) get(u string) (int, string, string) {
	p.e.t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		p.e.t.Fatal(err)
	}
	if p.addr != "" {
		req.Header.Set("X-Forwarded-For", p.addr)
	}
	resp, err := p.c.Do(req)
	if err != nil {
		p.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	loc := resp.Header.Get("Location")
	if loc != "" && strings.HasPrefix(loc, "/") {
		base, _ := url.Parse(u)
		loc = base.Scheme + "://" + base.Host + loc
	}
	return resp.StatusCode, loc, b.String()
}

// startSignIn starts a sign-in with party's provider as who and follows
// the provider's redirects up to chipgate's callback, returning its URL.
func (p *person) startSignIn(party string, who oidctest.Person) string {
	p.e.t.Helper()
	p.e.op.SignInAs(who)
	status, _, body := p.get(p.e.url + "/signin/sso?party=" + party)
	loc := refreshTo(body)
	if status != http.StatusOK || !strings.HasPrefix(loc, p.e.op.Issuer) || !strings.Contains(body, "Sign in with Commerce SSO") {
		p.e.t.Fatalf("start: %d %s\n%s", status, loc, body)
	}
	for range 10 {
		if strings.HasPrefix(loc, p.e.url+"/signin/sso/callback") {
			return loc
		}
		status, loc, body = p.get(loc)
		if status/100 != 3 {
			p.e.t.Fatalf("provider: %d\n%s", status, body)
		}
	}
	p.e.t.Fatalf("the provider never sent the browser back")
	return ""
}

var refreshRe = regexp.MustCompile(`<meta http-equiv="refresh" content="0;url=([^"]+)">`)

// refreshTo is where a page's meta refresh goes ("" when it has none).
func refreshTo(body string) string {
	m := refreshRe.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// signIn signs who in and returns the callback's status, Location and
// body.
func (p *person) signIn(party string, who oidctest.Person) (int, string, string) {
	p.e.t.Helper()
	return p.get(p.startSignIn(party, who))
}

// sessionCookie is the browser's session cookie for chipgate.
func (p *person) sessionCookie() *http.Cookie {
	u, _ := url.Parse(p.e.url)
	for _, c := range p.c.Jar.Cookies(u) {
		if c.Name == "chipgate_session" {
			return c
		}
	}
	return nil
}

var alice = oidctest.Person{Subject: "alice", Email: "alice@commerce.example"}

// TestSingleSignOn signs people of the export authority in with a real
// OpenID provider on loopback: a mapped subject lands on its role's home
// with a session as its user; a group maps too; an unmapped person, an
// expired ID token, a replayed callback and a provider whose issuer is not
// the configured one are refused, creating nothing; a deleted mapping
// signs in no more; a session signed out is over, its cookie replayed too.
func TestSingleSignOn(t *testing.T) {
	e := newSSOEnv(t, web.Options{})
	ctx := context.Background()

	t.Run("SecretIsNeverRead", func(t *testing.T) {
		r := e.api.Do("us-commerce", "GET", "/api/v1/parties/us-commerce/identity-provider", nil)
		if r.Status != 200 || strings.Contains(string(r.Body), e.op.ClientSecret) || !strings.Contains(string(r.Body), e.op.Issuer) {
			t.Fatalf("provider read: %d %s", r.Status, r.Body)
		}
		var recs []domain.AuditRecord
		if err := e.kit.Store.View(ctx, func(tx store.Tx) error {
			var err error
			recs, err = tx.AuditRecords(ctx, 0, chipgatetest.AuditSize(t, e.kit.Store))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			if strings.Contains(string(rec.Payload), e.op.ClientSecret) {
				t.Fatalf("record %d (%s) holds the client secret", rec.Index, rec.Action)
			}
		}
		if r := e.api.Do("bytedance", "GET", "/api/v1/parties/us-commerce/identity-provider", nil); r.Status != 404 {
			t.Fatalf("another party reads the provider: %d", r.Status)
		}
	})

	var replay string
	var signedIn *person
	t.Run("GoodSignIn", func(t *testing.T) {
		b := e.browser("")
		replay = b.startSignIn("us-commerce", alice)
		status, _, body := b.get(replay)
		if status != http.StatusOK || !strings.Contains(body, `content="0;url=/export"`) {
			t.Fatalf("callback: %d\n%s", status, body)
		}
		if status, _, body := b.get(e.url + "/export"); status != 200 || !strings.Contains(body, "licensing officer") && !strings.Contains(body, "us-commerce") {
			t.Fatalf("home: %d", status)
		}
		c := b.sessionCookie()
		if c == nil || !strings.HasPrefix(c.Value, service.SessionPrefix) {
			t.Fatalf("no session cookie: %v", c)
		}
		who, err := e.kit.Service.Session(ctx, c.Value[:strings.LastIndexByte(c.Value, '.')], service.SessionLimits{Absolute: time.Hour, Idle: time.Hour})
		if err != nil || who.UserID != e.officer.ID || !who.Duties.Has(domain.DutyOfficer) || who.Duties.Has(domain.DutyApprover) {
			t.Fatalf("the session acts as %+v (%v), want the licensing officer", who, err)
		}
		signedIn = b
	})

	t.Run("DutiesHoldInTheDashboard", func(t *testing.T) {
		// Alice is a licensing officer: she asks for information, but a
		// denial is an approver's.
		r := e.api.Do("bytedance", "POST", "/api/v1/applications", map[string]any{
			"legal_name": "Beijing ByteDance Technology Co., Ltd.", "country": "CN", "registration_date": "2012-03-09",
			"addresses": []string{"1 Data Center Road"}, "business_type": "platform", "sector": "private", "end_uses": []string{"commercial_ai"},
			"sites":             []map[string]any{{"address": "1 Data Center Road", "country": "CN", "power_mw": 200, "cloud_service": true}},
			"kyc_remote_access": true, "requested_volumes": map[string]int64{"h200": 1000}})
		var app domain.Application
		if r.Status != 201 || r.Decode(&app) != nil {
			t.Fatalf("application: %d %s", r.Status, r.Body)
		}
		_, _, home := signedIn.get(e.url + "/export")
		csrf := csrfOf(t, home)
		post := func(form url.Values) (int, string) {
			form.Set("csrf", csrf)
			req, _ := http.NewRequest("POST", e.url+"/export/applications/"+app.ID.String(), strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", e.url)
			resp, err := signedIn.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b strings.Builder
			_, _ = io.Copy(&b, resp.Body)
			return resp.StatusCode, b.String()
		}
		if status, body := post(url.Values{"decision": {"deny"}, "reason": {"no"}, "confirm": {"yes"}}); status != http.StatusForbidden || !strings.Contains(body, "approver") {
			t.Fatalf("an officer denies: %d\n%s", status, body)
		}
		if status, body := post(url.Values{"decision": {"request_info"}, "reason": {"which sites?"}}); status/100 != 2 && status != http.StatusSeeOther {
			t.Fatalf("an officer asks for information: %d\n%s", status, body)
		}
	})

	t.Run("ReplayedStateIsRefused", func(t *testing.T) {
		// The same browser (its state cookie spent) and another one with
		// the state cookie copied: neither opens a session.
		before := chipgatetest.AuditSize(t, e.kit.Store)
		b := e.browser("")
		if status, _, _ := b.get(replay); status != http.StatusUnauthorized || chipgatetest.AuditSize(t, e.kit.Store) != before {
			t.Fatalf("replayed callback without the cookie: %d", status)
		}
		stale := e.browser("")
		url1 := stale.startSignIn("us-commerce", alice)
		u, _ := url.Parse(e.url + "/signin/sso")
		cookies := stale.c.Jar.Cookies(u)
		if status, _, _ := stale.get(url1); status != http.StatusOK {
			t.Fatalf("first use: %d", status)
		}
		before = chipgatetest.AuditSize(t, e.kit.Store)
		thief := e.browser("")
		thief.c.Jar.SetCookies(u, cookies)
		if status, _, body := thief.get(url1); status != http.StatusUnauthorized || thief.sessionCookie() != nil {
			t.Fatalf("second use of the same callback with its cookie: %d\n%s", status, body)
		}
		if after := chipgatetest.AuditSize(t, e.kit.Store); after != before {
			t.Fatalf("a replayed sign-in wrote %d records", after-before)
		}
	})

	t.Run("GroupMapsToItsUser", func(t *testing.T) {
		b := e.browser("")
		status, _, body := b.signIn("us-commerce", oidctest.Person{Subject: "bob", Groups: []string{"staff", "directors"}})
		if status != http.StatusOK || !strings.Contains(body, "url=/export") {
			t.Fatalf("callback: %d\n%s", status, body)
		}
		c := b.sessionCookie()
		who, err := e.kit.Service.Session(ctx, c.Value[:strings.LastIndexByte(c.Value, '.')], service.SessionLimits{Absolute: time.Hour, Idle: time.Hour})
		if err != nil || who.UserID != e.approver.ID {
			t.Fatalf("bob acts as %+v (%v), want the director", who, err)
		}
	})

	t.Run("SigningInAgainEndsTheOldSession", func(t *testing.T) {
		b := e.browser("")
		bob := oidctest.Person{Subject: "bob", Groups: []string{"directors"}}
		b.signIn("us-commerce", bob)
		first := b.sessionCookie()
		if status, _, body := b.signIn("us-commerce", bob); status != http.StatusOK || b.sessionCookie().Value == first.Value {
			t.Fatalf("second sign-in: %d, same session %v\n%s", status, b.sessionCookie().Value == first.Value, body)
		}
		lim := service.SessionLimits{Absolute: time.Hour, Idle: time.Hour}
		if _, err := e.kit.Service.Session(ctx, first.Value[:strings.LastIndexByte(first.Value, '.')], lim); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
			t.Fatalf("the first session after signing in again: %v", err)
		}
	})

	t.Run("UnmappedIsForbidden", func(t *testing.T) {
		before := chipgatetest.AuditSize(t, e.kit.Store)
		b := e.browser("")
		status, _, body := b.signIn("us-commerce", oidctest.Person{Subject: "mallory", Groups: []string{"staff"}})
		if status != http.StatusForbidden || !strings.Contains(body, "no user of us-commerce is mapped") || b.sessionCookie() != nil {
			t.Fatalf("unmapped: %d\n%s", status, body)
		}
		if after := chipgatetest.AuditSize(t, e.kit.Store); after != before {
			t.Fatalf("a refused sign-in wrote %d records", after-before)
		}
	})

	t.Run("ExpiredIDTokenIsRefused", func(t *testing.T) {
		e.op.SetIDTokenLifetime(-time.Minute)
		defer e.op.SetIDTokenLifetime(5 * time.Minute)
		b := e.browser("")
		if status, _, body := b.signIn("us-commerce", alice); status != http.StatusUnauthorized || b.sessionCookie() != nil {
			t.Fatalf("expired ID token: %d\n%s", status, body)
		}
	})

	t.Run("WrongIssuerIsRefused", func(t *testing.T) {
		// The party names the provider by another URL of the same server:
		// the provider's discovery document (and its tokens) name its own
		// issuer, which is not the configured one.
		wrong := strings.Replace(e.op.Issuer, "localhost", "127.0.0.1", 1)
		if r := e.api.Do("us-commerce", "PUT", "/api/v1/parties/us-commerce/identity-provider", map[string]any{
			"issuer": wrong, "client_id": e.op.ClientID, "name": "Commerce SSO"}); r.Status != 200 {
			t.Fatalf("configure: %d %s", r.Status, r.Body)
		}
		defer func() {
			e.api.Do("us-commerce", "PUT", "/api/v1/parties/us-commerce/identity-provider", map[string]any{
				"issuer": e.op.Issuer, "client_id": e.op.ClientID, "name": "Commerce SSO"})
		}()
		b := e.browser("")
		e.op.SignInAs(alice)
		if status, _, body := b.get(e.url + "/signin/sso?party=us-commerce"); status != http.StatusBadGateway || refreshTo(body) != "" {
			t.Fatalf("wrong issuer: %d\n%s", status, body)
		}
		// And a token whose issuer is not the party's provider's opens
		// no session, even verified.
		_, _, err := e.kit.Service.StartIdentitySession(ctx, e.alice.PartyID, service.Identity{Issuer: e.op.Issuer, Subject: "alice"}, service.SessionLimits{Absolute: time.Hour, Idle: time.Hour})
		if domain.ErrorCode(err) != domain.EFORBIDDEN {
			t.Fatalf("an identity of another issuer: %v", err)
		}
	})

	t.Run("DeletedMappingSignsInNoMore", func(t *testing.T) {
		if r := e.api.Do("us-commerce", "DELETE", "/api/v1/parties/us-commerce/identity-mappings/"+e.alice.ID.String(), nil); r.Status != 204 {
			t.Fatalf("delete mapping: %d %s", r.Status, r.Body)
		}
		b := e.browser("")
		if status, _, body := b.signIn("us-commerce", alice); status != http.StatusForbidden || b.sessionCookie() != nil {
			t.Fatalf("alice after her mapping was deleted: %d\n%s", status, body)
		}
	})

	t.Run("SignOutEndsTheSession", func(t *testing.T) {
		c := signedIn.sessionCookie()
		_, _, home := signedIn.get(e.url + "/export")
		req, _ := http.NewRequest("POST", e.url+"/signout", strings.NewReader(url.Values{"csrf": {csrfOf(t, home)}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", e.url)
		resp, err := signedIn.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign out: %d", resp.StatusCode)
		}
		thief := e.browser("")
		u, _ := url.Parse(e.url)
		thief.c.Jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: c.Value, Path: "/"}})
		if status, loc, _ := thief.get(e.url + "/export"); status != http.StatusSeeOther || loc != e.url+"/signin" {
			t.Fatalf("the cookie after sign-out: %d %s", status, loc)
		}
	})

	t.Run("UnknownOrganization", func(t *testing.T) {
		b := e.browser("")
		for _, party := range []string{"nobody", "bytedance", "../x"} {
			if status, _, _ := b.get(e.url + "/signin/sso?party=" + url.QueryEscape(party)); status != http.StatusNotFound {
				t.Fatalf("party %q: %d", party, status)
			}
		}
	})
}

// TestSingleSignOnThrottlesAnAccount: a person the provider vouches for
// but chipgate refuses is throttled as an account, whichever address it
// comes from, and the throttle says so.
func TestSingleSignOnThrottlesAnAccount(t *testing.T) {
	proxies, err := throttle.ParseProxies([]string{"127.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	e := newSSOEnv(t, web.Options{FailedSignInBurst: 2, TrustedProxies: proxies})
	mallory := oidctest.Person{Subject: "mallory"}
	for i, addr := range []string{"192.0.2.1", "192.0.2.2"} {
		if status, _, _ := e.browser(addr).signIn("us-commerce", mallory); status != http.StatusForbidden {
			t.Fatalf("attempt %d: %d, want 403", i, status)
		}
	}
	status, _, body := e.browser("192.0.2.3").signIn("us-commerce", mallory)
	if status != http.StatusTooManyRequests || !strings.Contains(body, "for your account") {
		t.Fatalf("third refusal of the account: %d\n%s", status, body)
	}
	// Another person from the same address is not held up.
	if status, _, body := e.browser("192.0.2.3").signIn("us-commerce", alice); status != http.StatusOK || !strings.Contains(body, "url=/export") {
		t.Fatalf("alice: %d\n%s", status, body)
	}
}

// TestBrowserSingleSignOn signs in with the provider in chromium, as a
// person would: the organization's name, the provider (another site), and
// back home with the session cookie, which SameSite=Strict would withhold
// from a redirect the provider started.
func TestBrowserSingleSignOn(t *testing.T) {
	ctx := chrome(t)
	e := newSSOEnv(t, web.Options{})
	e.op.SignInAs(alice)
	do(t, ctx, "sso-signin",
		chromedp.Navigate(e.url+"/signin"),
		chromedp.WaitVisible(css("#party")),
		chromedp.SendKeys(css("#party"), "us-commerce"),
		chromedp.Click(css(`form[action="/signin/sso"] button[type=submit]`)),
		chromedp.WaitVisible(css(".signout button")),
	)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if loc != e.url+"/export" {
		t.Fatalf("landed on %s, want the export authority's home", loc)
	}
}
