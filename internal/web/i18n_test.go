package web

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template/parse"
	"time"
	"unicode"
)

// templateText is a template flattened for reading: its text with every
// action replaced by \x00, both branches of an if/range/with one after the
// other; and the catalog keys its t and th calls name.
type templateText struct {
	text strings.Builder
	keys []string
	// dynamic counts t calls whose key is not a literal: the key comes
	// from code (a label table) that TestCatalogCoversCode checks.
	dynamic int
}

func (tt *templateText) walk(n parse.Node) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			tt.walk(c)
		}
	case *parse.TextNode:
		tt.text.Write(n.Text)
	case *parse.ActionNode:
		tt.text.WriteByte(0)
		tt.pipe(n.Pipe)
	case *parse.IfNode:
		tt.branch(&n.BranchNode)
	case *parse.RangeNode:
		tt.branch(&n.BranchNode)
	case *parse.WithNode:
		tt.branch(&n.BranchNode)
	case *parse.TemplateNode:
		tt.text.WriteByte(0)
	}
}

func (tt *templateText) branch(b *parse.BranchNode) {
	tt.text.WriteByte(0)
	tt.pipe(b.Pipe)
	tt.walk(b.List)
	tt.walk(b.ElseList)
	tt.text.WriteByte(0)
}

func (tt *templateText) pipe(p *parse.PipeNode) {
	if p == nil {
		return
	}
	for _, c := range p.Cmds {
		if len(c.Args) > 1 {
			if id, ok := c.Args[0].(*parse.IdentifierNode); ok && (id.Ident == "t" || id.Ident == "th") {
				if s, ok := c.Args[1].(*parse.StringNode); ok {
					tt.keys = append(tt.keys, s.Text)
				} else {
					tt.dynamic++
				}
			}
		}
		for _, a := range c.Args {
			if sub, ok := a.(*parse.PipeNode); ok {
				tt.pipe(sub)
			}
		}
	}
}

var (
	htmlComment = regexp.MustCompile(`(?s)<!--.*?-->`)
	// visibleAttr are the attributes whose values people read or hear.
	visibleAttr = regexp.MustCompile(`\b(aria-label|title|placeholder|alt)="([^"]*)"`)
	htmlTag     = regexp.MustCompile(`(?s)<[^>]*>`)
)

// nonLinguistic is the page text that is no language: the brand, and the
// approval form's default condition, a CEL expression.
var nonLinguistic = []string{"chipgate", `end_use != "military"`}

// untranslated are the parts of s with a letter in them that are not
// non-linguistic: text nobody translated.
func untranslated(s string) []string {
	var out []string
	for _, seg := range strings.Split(s, "\x00") {
		seg = strings.TrimSpace(seg)
		for _, ok := range nonLinguistic {
			seg = strings.ReplaceAll(seg, ok, "")
		}
		if strings.IndexFunc(seg, unicode.IsLetter) >= 0 {
			out = append(out, seg)
		}
	}
	return out
}

// TestCatalogCoversTemplates walks every page template's parse tree and
// fails on any text with a letter in it, in an element or in an attribute
// people read (aria-label, title, placeholder, alt), that is not a catalog
// call; and on any catalog call whose key the catalog lacks.
func TestCatalogCoversTemplates(t *testing.T) {
	keys := 0
	for name, set := range mustParsePages() {
		for _, tmpl := range set[0].Templates() {
			if tmpl.Tree == nil {
				continue
			}
			var tt templateText
			tt.walk(tmpl.Tree.Root)
			text := htmlComment.ReplaceAllString(tt.text.String(), "")
			for _, m := range visibleAttr.FindAllStringSubmatch(text, -1) {
				for _, w := range untranslated(m[2]) {
					t.Errorf("%s/%s: attribute %s=%q is not translated", name, tmpl.Name(), m[1], w)
				}
			}
			for _, w := range untranslated(htmlTag.ReplaceAllString(text, "\x00")) {
				t.Errorf("%s/%s: text %q is not translated", name, tmpl.Name(), w)
			}
			for _, k := range tt.keys {
				keys++
				if !catalogKeys[k] {
					t.Errorf("%s/%s: %q is not in the catalog", name, tmpl.Name(), k)
				}
			}
		}
	}
	if keys < 100 {
		t.Errorf("the templates name %d catalog keys; the walk must be broken", keys)
	}
}

// TestCatalogIsComplete: every entry has all three languages, no key is
// there twice, and a translation keeps its format's verbs.
func TestCatalogIsComplete(t *testing.T) {
	seen := map[string]bool{}
	verbs := regexp.MustCompile(`%(\[\d+\])?[sdvq]|%%`)
	unindexed := regexp.MustCompile(`%[sdvq]`)
	for _, m := range messages {
		if m.En == "" || strings.TrimSpace(m.Zh) == "" || strings.TrimSpace(m.Ja) == "" {
			t.Errorf("%q lacks a language: zh %q, ja %q", m.En, m.Zh, m.Ja)
		}
		if seen[m.En] {
			t.Errorf("%q is in the catalog twice", m.En)
		}
		seen[m.En] = true
		want := verbs.FindAllString(m.En, -1)
		slices.Sort(want)
		for lang, s := range map[string]string{"zh": m.Zh, "ja": m.Ja} {
			got := verbs.FindAllString(s, -1)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%q in %s: verbs %q, want %q", m.En, lang, got, want)
			}
		}
		// A translation may put the arguments in another order: more than
		// one verb must be indexed ("%[1]s … %[2]s").
		if len(unindexed.FindAllString(m.En, -1)) > 1 {
			t.Errorf("%q has more than one unindexed verb: write %%[1]s, %%[2]s", m.En)
		}
	}
}

// TestCatalogCoversCode: every label the code shows through the catalog
// (codes, fields, events, the customer form's actions, HTTP statuses of
// error pages) is in it.
func TestCatalogCoversCode(t *testing.T) {
	var labels []string
	for _, l := range codeLabels {
		labels = append(labels, l)
	}
	for _, l := range fieldLabels {
		labels = append(labels, l)
	}
	for _, k := range eventKinds {
		labels = append(labels, k.Label)
	}
	for _, a := range customerActions {
		labels = append(labels, a.Label)
	}
	for _, s := range []int{400, 401, 403, 404, 409, 422, 429, 500, 503} {
		labels = append(labels, http.StatusText(s))
	}
	for _, l := range labels {
		if !catalogKeys[l] {
			t.Errorf("%q is not in the catalog", l)
		}
	}
}

// TestLocaleChoice: the cookie wins, then Accept-Language's best match,
// then English; the zone is the cookie's, else the party's country's,
// else UTC.
func TestLocaleChoice(t *testing.T) {
	for _, c := range []struct {
		accept, cookie, want string
	}{
		{"", "", "en"},
		{"zh-CN,zh;q=0.9,en;q=0.8", "", "zh-Hans"},
		{"zh", "", "zh-Hans"},
		{"ja-JP", "", "ja"},
		{"fr-FR", "", "en"},
		{"de;q=0.9, ja;q=0.5", "", "ja"},
		{"zh-CN", "ja", "ja"},
		{"ja", "en", "en"},
		{"ja", "klingon", "ja"},
		{"not a header ;;", "", "en"},
	} {
		r := httptest.NewRequest("GET", "/buyer", nil)
		if c.accept != "" {
			r.Header.Set("Accept-Language", c.accept)
		}
		if c.cookie != "" {
			r.AddCookie(&http.Cookie{Name: langCookie, Value: c.cookie})
		}
		if got := langs[langIndex(r)].Code; got != c.want {
			t.Errorf("Accept-Language %q, cookie %q: %s, want %s", c.accept, c.cookie, got, c.want)
		}
	}
	now := time.Date(2026, 12, 2, 3, 35, 0, 0, time.UTC)
	for _, c := range []struct {
		country, cookie, want string
	}{
		{"CN", "", "Asia/Shanghai"}, {"US", "", "America/New_York"}, {"JP", "", "Asia/Tokyo"}, {"TW", "", "Asia/Taipei"},
		{"DE", "", "Europe/Berlin"}, {"NL", "", "Europe/Berlin"}, {"ZZ", "", "UTC"}, {"", "", "UTC"},
		{"CN", "Asia/Tokyo", "Asia/Tokyo"}, {"CN", "Mars/Olympus", "Asia/Shanghai"},
	} {
		r := httptest.NewRequest("GET", "/buyer", nil)
		if c.cookie != "" {
			r.AddCookie(&http.Cookie{Name: zoneCookie, Value: c.cookie})
		}
		if got := dashboardLocales.localeOf(r, c.country, now, nil).ZoneName; got != c.want {
			t.Errorf("country %q, cookie %q: zone %s, want %s", c.country, c.cookie, got, c.want)
		}
	}
}

// TestLocalFormats: a Beijing viewer reads 11:35 CST for 03:35 UTC; days
// of validity never move with the zone; numbers are grouped.
func TestLocalFormats(t *testing.T) {
	at := time.Date(2026, 12, 2, 3, 35, 0, 0, time.UTC)
	day := time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		lang, zone, time, date, day, num string
	}{
		{"en", "Asia/Shanghai", "2026-12-02 11:35 CST", "2026-12-02", "2027-01-04", "2,160,000"},
		{"zh-Hans", "Asia/Shanghai", "2026年12月2日 11:35 CST", "2026年12月2日", "2027年1月4日", "2,160,000"},
		{"ja", "Asia/Tokyo", "2026年12月2日 12:35 JST", "2026年12月2日", "2027年1月4日", "2,160,000"},
		{"en", "America/New_York", "2026-12-01 22:35 EST", "2026-12-01", "2027-01-04", "2,160,000"},
		{"en", "Asia/Dubai", "2026-12-02 07:35 UTC+04", "2026-12-02", "2027-01-04", "2,160,000"},
	} {
		r := httptest.NewRequest("GET", "/buyer", nil)
		r.AddCookie(&http.Cookie{Name: langCookie, Value: c.lang})
		r.AddCookie(&http.Cookie{Name: zoneCookie, Value: c.zone})
		l := dashboardLocales.localeOf(r, "", at, nil)
		if got := l.Time(at); got != c.time {
			t.Errorf("%s %s: Time %q, want %q", c.lang, c.zone, got, c.time)
		}
		if got := l.Date(at); got != c.date {
			t.Errorf("%s %s: Date %q, want %q", c.lang, c.zone, got, c.date)
		}
		if got := l.Day(day); got != c.day {
			t.Errorf("%s %s: Day %q, want %q", c.lang, c.zone, got, c.day)
		}
		if got := l.DayOf("2027-01-04"); got != c.day {
			t.Errorf("%s %s: DayOf %q, want %q", c.lang, c.zone, got, c.day)
		}
		if got := l.Num(int64(2160000)); got != c.num {
			t.Errorf("%s: Num %q, want %q", c.lang, got, c.num)
		}
	}
}

// TestPrefsSwitch: the switch sets its cookies (Lax, a year, HttpOnly),
// refuses a zone it does not offer, and goes back only to a path of this
// site.
func TestPrefsSwitch(t *testing.T) {
	h := &handler{}
	for _, c := range []struct {
		form, wantLang, wantZone, wantBack string
	}{
		{"lang=zh-Hans&tz=Asia/Shanghai&back=/buyer?x=1", "zh-Hans", "Asia/Shanghai", "/buyer?x=1"},
		{"lang=ja&back=//evil.example/", "ja", "", "/"},
		{"lang=xx&tz=Mars/Olympus&back=https://evil.example/", "", "", "/"},
		{"tz=Asia/Tokyo&back=/\\evil.example", "", "Asia/Tokyo", "/"},
	} {
		r := httptest.NewRequest("POST", "/prefs", strings.NewReader(c.form))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.setPrefs(w, r)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != c.wantBack {
			t.Errorf("%s: %d to %q, want 303 to %q", c.form, w.Code, w.Header().Get("Location"), c.wantBack)
		}
		got := map[string]*http.Cookie{}
		for _, ck := range w.Result().Cookies() {
			got[ck.Name] = ck
			if ck.SameSite != http.SameSiteLaxMode || !ck.HttpOnly || ck.MaxAge < 300*24*3600 || ck.Path != "/" {
				t.Errorf("%s: cookie %s is %+v", c.form, ck.Name, ck)
			}
		}
		for name, want := range map[string]string{langCookie: c.wantLang, zoneCookie: c.wantZone} {
			value := ""
			if ck := got[name]; ck != nil {
				value = ck.Value
			}
			if value != want {
				t.Errorf("%s: cookie %s = %q, want %q", c.form, name, value, want)
			}
		}
	}
}

// TestHumanCodes: no internal code or zero-based index reaches a page.
func TestHumanCodes(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: langCookie, Value: "zh-Hans"})
	zh := dashboardLocales.localeOf(r, "", time.Now(), nil)
	en := localeIn(r.Context())
	for _, c := range []struct{ got, want string }{
		{en.Code("false_positive"), "false positive"},
		{en.Code("info_requested"), "information requested"},
		{en.Code("held_for_review"), "held for review"},
		{zh.Code("info_requested"), "已要求补充信息"},
		{zh.Code("import_authority"), "进口主管机关"},
		{en.FieldName("serials[1]"), "serial 2"},
		{humanPaths("sites[0].country: unknown"), "site 1.country: unknown"},
		{en.ErrText(formErr("quantity", "%[1]s: too large; at most %[2]s units.", label("Quantity"), maxUnitsText)), "Quantity: too large; at most 9,223,372,036,854,775,807 units."},
		{zh.ErrText(formErr("quantity", "%[1]s: too large; at most %[2]s units.", label("Quantity"), maxUnitsText)), "数量：过大；最多 9,223,372,036,854,775,807 台。"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
