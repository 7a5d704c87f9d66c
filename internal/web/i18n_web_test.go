package web_test

import (
	"bytes"
	"context"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/chipgate/chipgate/internal/server"
	"github.com/chipgate/chipgate/internal/web"
)

// logBuffer is a log that keeps what it is told, for the test to read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// untranslatedEnv is the env served by a dashboard whose log the test
// reads: every text the code looks up and the catalog lacks is logged.
func untranslatedEnv(t *testing.T) (*env, *logBuffer) {
	e := newEnv(t)
	log := &logBuffer{}
	e.url = e.kit.Serve(server.Options{Pages: e.kit.Dashboard(web.Options{Key: []byte(sessionKey),
		Log: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelWarn}))})}).URL
	return e, log
}

// TestEveryPageInEveryLanguage reads every role's pages in Chinese and in
// Japanese: the page says which language it is in, and no text the code
// put on it is missing from the catalog (the templates' are checked by
// TestCatalogCoversTemplates).
func TestEveryPageInEveryLanguage(t *testing.T) {
	e, log := untranslatedEnv(t)
	pages := map[string][]string{
		"bytedance": {"/buyer"}, "us-commerce": {"/export"}, "cn-mofcom": {"/import"}, "nvidia": {"/vendor"},
		"us-testlab": {"/lab"}, "carrier": {"/carrier"}, "auditor": {"/auditor", "/auditor/verify"},
	}
	for _, lang := range []struct{ accept, code, word string }{{"zh-CN,zh;q=0.9", "zh-Hans", "退出登录"}, {"ja-JP", "ja", "サインアウト"}} {
		for party, paths := range pages {
			b := e.browser()
			b.lang = lang.accept
			b.signIn(party)
			for _, path := range append(paths, "/no-such-page") {
				r := b.get(path)
				if !strings.Contains(r.body, `<html lang="`+lang.code+`">`) || r.header.Get("Content-Language") != lang.code || !strings.Contains(r.body, lang.word) {
					t.Errorf("%s %s as %s: %d, not in %s", lang.code, path, party, r.status, lang.code)
				}
			}
		}
		// The sign-in page, before anyone is known.
		b := e.browser()
		b.lang = lang.accept
		if r := b.get("/signin"); !strings.Contains(r.body, `<html lang="`+lang.code+`">`) {
			t.Errorf("the sign-in page is not in %s", lang.code)
		}
	}
	if strings.Contains(log.String(), "no translation") {
		t.Errorf("texts without a translation:\n%s", log.String())
	}
}

// TestLanguageSwitchSticks: the switch's choice outlives Accept-Language,
// and the zone's choice outlives the party's country's.
func TestLanguageSwitchSticks(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.lang = "zh-CN"
	b.signIn("bytedance")
	page := b.get("/buyer")
	// A Chinese buyer reads Beijing time, labelled.
	if !strings.Contains(page.body, `<html lang="zh-Hans">`) || !regexp.MustCompile(`\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d CST`).MatchString(page.body) {
		t.Fatalf("the Chinese buyer's page:\n%.3000s", page.body)
	}
	r := b.post("/prefs", url.Values{"lang": {"ja"}, "tz": {"Asia/Tokyo"}, "back": {"/buyer"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/buyer" {
		t.Fatalf("the switch: %d to %q", r.status, r.header.Get("Location"))
	}
	page = b.get("/buyer")
	if !strings.Contains(page.body, `<html lang="ja">`) || !strings.Contains(page.body, "注文する") || !regexp.MustCompile(`\d\d:\d\d JST`).MatchString(page.body) ||
		!strings.Contains(page.body, `<option value="Asia/Tokyo" selected>`) {
		t.Fatalf("after switching to Japanese in Tokyo:\n%.3000s", page.body)
	}
	// A signed-out page keeps the language too.
	if r := e.browser().get("/signin"); strings.Contains(r.body, `lang="ja"`) && !strings.Contains(r.body, `<html lang="en">`) {
		t.Fatal("another browser got this one's language")
	}
	if r := b.get("/signin"); !strings.Contains(r.body, `<html lang="ja">`) {
		t.Fatal("the sign-in page forgot the language")
	}
}

// TestFormErrorsInChinese: a refused form says why in the viewer's
// language, next to the field it is about, which is focused.
func TestFormErrorsInChinese(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.lang = "zh-CN"
	csrf := b.signIn("bytedance")
	for _, c := range []struct {
		quantity, says string
	}{
		{"abc", "数量：请输入整数数量。"},
		{"99999999999999999999", "数量：过大；最多 9,223,372,036,854,775,807 台。"},
		{"20000000", "数量：必须在 1 到 10,000,000 之间"},
	} {
		r := b.post("/buyer/orders", url.Values{"csrf": {csrf}, "product": {"h200"}, "quantity": {c.quantity}, "requested_period": {"2026-03-02"},
			"site": {"0"}, "end_use": {"commercial_ai"}})
		body := html.UnescapeString(r.body)
		field := regexp.MustCompile(`(?s)<input id="quantity"[^>]*aria-invalid="true" aria-describedby="err-buyer-orders-quantity" autofocus>\s*<p class="error field-error" id="err-buyer-orders-quantity">([^<]*)</p>`).FindStringSubmatch(body)
		if r.status != http.StatusUnprocessableEntity || field == nil || field[1] != c.says && !strings.HasPrefix(field[1], c.says) {
			t.Errorf("quantity %q: %d, next to the field %q, want %q", c.quantity, r.status, field, c.says)
		}
	}
	// The Chinese import authority's permit form, refused for its quota.
	m := e.browser()
	m.lang = "zh-CN"
	mcsrf := m.signIn("cn-mofcom")
	r := m.post("/import/permits", url.Values{"csrf": {mcsrf}, "buyer": {"newco"}, "decision": {"grant"}, "products": {"h200"}, "quantity": {"many"},
		"valid_from": {"2026-02-01"}, "valid_until": {"2027-02-01"}})
	if !strings.Contains(html.UnescapeString(r.body), `id="err-import-permits-quantity">配额（台）：请输入整数数量。</p>`) {
		t.Errorf("the permit form's refusal: %d\n%.3000s", r.status, r.body)
	}
	_ = context.Background()
}
