package web_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/ledger"
	"github.com/chipgate/chipgate/internal/service"
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
				// Stretch the expiry without the key.
				_, rest, _ := strings.Cut(c.Value, ".")
				c.Value = "99999999999." + rest
				b.jar.SetCookies(u, []*http.Cookie{c})
			}
		}
		if r := b.get("/buyer"); r.status != http.StatusSeeOther {
			t.Fatalf("GET /buyer with a tampered cookie = %d, want 303", r.status)
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
	for name, tok := range map[string]string{"Missing": "", "Wrong": "x" + csrf[1:], "OtherSession": e.browser().signIn("alibaba")} {
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
				rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
				if err != nil || len(rows) == 0 {
					t.Errorf("%s: %v", l[1], err)
					continue
				}
				// The header row is the HTML table's header row (an
				// empty table shows no header).
				for _, h := range rows[0] {
					if len(rows) == 1 {
						break
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
		r := b.post("/export/applications/"+id, url.Values{"csrf": {csrf}, "decision": {"deny"}, "reason": {"changed my mind"}})
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
	for _, want := range []string{"Huawei", "<mark>", "False positive", "/export/orders/" + held.ID.String()} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the export page lacks %q", want)
		}
	}

	t.Run("HitFalsePositive", func(t *testing.T) {
		r := b.post("/export/applications/"+e.pending.ID.String()+"/hits/0", url.Values{"csrf": {csrf}, "decision": {"false_positive"}})
		if r.status != http.StatusOK || !strings.Contains(r.body, "marked false positive") {
			t.Fatalf("review hit: %d\n%.2000s", r.status, r.body)
		}
		a, err := e.svc.Application(ctx, domain.SystemActor, e.pending.ID)
		if err != nil || a.Screening.Hits[0].Review != "false_positive" || a.Screening.Hits[0].ReviewedBy != "us-commerce" {
			t.Fatalf("after review: %v %+v", err, a.Screening.Hits[0])
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
		if r.status != http.StatusOK || !strings.Contains(r.body, "for newco: active, 2500 units") {
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
	r := b.post("/buyer/orders/cancel", url.Values{"csrf": {csrf}, "order": {accepted[0].ID.String()}, "reason": {"plans changed"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("cancel: %d\n%.2000s", r.status, r.body)
	}
	if shown := b.get(r.header.Get("Location")); !strings.Contains(shown.body, `class="outcome">cancelled<`) {
		t.Fatalf("the cancelled order is not shown:\n%.3000s", shown.body)
	}
	// Another buyer's order is not found, whatever its id.
	other := e.browser()
	ocsrf := other.signIn("alibaba")
	if r := other.post("/buyer/orders/cancel", url.Values{"csrf": {ocsrf}, "order": {accepted[0].ID.String()}, "reason": {"x"}}); r.status != http.StatusNotFound {
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
	r := b.post("/export/licenses", url.Values{"csrf": {csrf}, "license": {id}, "action": {"suspend"}, "reason": {"audit"}})
	if r.status != http.StatusOK || !strings.Contains(r.body, ": suspended") {
		t.Fatalf("suspend: %d\n%.2000s", r.status, r.body)
	}
	if r := b.post("/export/licenses", url.Values{"csrf": {csrf}, "license": {id}, "action": {"suspend"}, "reason": {"again"}}); r.status != http.StatusConflict {
		t.Fatalf("suspending twice: %d", r.status)
	}
	if r := b.post("/export/licenses", url.Values{"csrf": {csrf}, "license": {id}, "action": {"reinstate"}}); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("reinstating without a reason: %d", r.status)
	}
}
