package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/chipgate/chipgate/internal/domain"
)

// view is what every page template receives.
type view struct {
	Title  string
	Who    *domain.Actor
	CSRF   string
	Error  string
	Notice string
	// Field is the form field Error is about ("" for none): the page shows
	// the error next to it too, and focuses it.
	Field string
	// L is the page's language and time zone; Back the page the language
	// and zone switch returns to.
	L    *locale
	Back string
	// Form is the path the failed form was posted to.
	Form string
	// Tables are the page's tables, each downloadable as CSV.
	Tables []*table
	// Data is the page's own content.
	Data any
}

// FieldErr is the error of the form posted to action, shown next to its
// field name ("" for the form as a whole).
func (v *view) FieldErr(action, name string) template.HTML {
	if v.Error == "" || v.Form != action || v.Field != name {
		return ""
	}
	return template.HTML(`<p class="error field-error" id="` + errID(action, name) + `">` + template.HTMLEscapeString(v.Error) + `</p>`)
}

// Invalid marks the input of field name invalid when the form posted to
// action failed on it: described by its error and focused, so that the
// page opens scrolled to it.
func (v *view) Invalid(action, name string) template.HTMLAttr {
	if v.Error == "" || v.Form != action || v.Field != name {
		return ""
	}
	return template.HTMLAttr(`aria-invalid="true" aria-describedby="` + errID(action, name) + `" autofocus`)
}

// errID is the element id of a field's error.
func errID(action, name string) string {
	return "err" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, action+"-"+name)
}

// table is one table of a page. The same value renders as HTML and as CSV,
// so that a download always matches what the page shows.
type table struct {
	ID      string
	Title   string
	Head    []string
	Rows    [][]string
	CSV     string // the download's path
	Empty   string // said when there are no rows
	Numeric map[int]bool
	// More links to the table's next rows when the page shows only the
	// first of them (a paged read, see pageOf).
	More string
}

// webPageLimit is the most rows a table of records that grow without bound
// (orders, shipments, alerts, runs) shows at once; a "more…" link under it
// reads the next ones, by the same paged reads as the API.
const webPageLimit = 100

// pageOf returns q for the page of t the request asks for: the first, or
// the one whose cursor ?more_<table id>= names.
func (t *table) pageOf(r *http.Request, q domain.ListQuery) domain.ListQuery {
	q.Cursor = r.URL.Query().Get("more_" + t.ID)
	q.Limit = webPageLimit
	return q
}

// more links t to its next page when there is one (cursor not "").
func (t *table) more(r *http.Request, cursor string) {
	if cursor == "" {
		return
	}
	v := r.URL.Query()
	v.Set("more_"+t.ID, cursor)
	t.More = r.URL.Path + "?" + v.Encode() + "#h-" + t.ID
}

// page is one GET page of the dashboard.
type page struct {
	path  string
	role  domain.Role
	name  string // the template
	build func(ctx context.Context, who domain.Actor, r *http.Request) (*view, error)
}

// pageTable lists the dashboard's pages.
func pageTable(h *handler) []page {
	return []page{
		{"/buyer", domain.RoleBuyer, "buyer", h.buyerView},
		{"/buyer/application", domain.RoleBuyer, "apply", h.applyView},
		{"/export", domain.RoleExportAuthority, "export", h.exportView},
		{"/import", domain.RoleImportAuthority, "import", h.importView},
		{"/vendor", domain.RoleVendor, "vendor", h.vendorView},
		{"/lab", domain.RoleLab, "lab", h.labView},
		{"/carrier", domain.RoleCarrier, "carrier", h.carrierView},
		{"/auditor", domain.RoleAuditor, "auditor", h.auditorView},
		{"/auditor/verify", domain.RoleAuditor, "verify", h.auditorView},
	}
}

// table starts a table whose CSV lives under the page's path, its title
// and headings in the locale's words.
func (l *locale) table(pagePath, id, title string, head ...string) *table {
	for i, h := range head {
		head[i] = l.T(h)
	}
	return &table{ID: id, Title: l.T(title), Head: head, CSV: "/csv" + pagePath + "/" + id + ".csv", Empty: l.T("Nothing yet.")}
}

// add appends a row.
func (t *table) add(cells ...string) { t.Rows = append(t.Rows, cells) }

// numeric marks columns that hold numbers, so that they align right.
func (t *table) numeric(cols ...int) *table {
	t.Numeric = map[int]bool{}
	for _, c := range cols {
		t.Numeric[c] = true
	}
	return t
}

// showPage renders a page for the signed-in actor.
func (h *handler) showPage(p page) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string) {
		v, err := p.build(r.Context(), who, r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		v.Who, v.CSRF = &who, csrf
		h.render(w, r, http.StatusOK, p.name, v)
	}
}

// downloadCSV writes one of a page's tables as CSV.
func (h *handler) downloadCSV(p page) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, who domain.Actor, _ string) {
		id := strings.TrimSuffix(r.PathValue("table"), ".csv")
		v, err := p.build(r.Context(), who, r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, t := range v.Tables {
			if t.ID != id {
				continue
			}
			var buf bytes.Buffer
			// A byte-order mark, so that spreadsheets read the file as
			// UTF-8 (Chinese names, "—").
			buf.WriteString("\uFEFF")
			cw := csv.NewWriter(&buf)
			head, rows := csvTable(t, localeIn(r.Context()))
			_ = cw.Write(head)
			for _, row := range rows {
				_ = cw.Write(row)
			}
			cw.Flush()
			if err := cw.Error(); err != nil {
				h.fail(w, r, err)
				return
			}
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="chipgate-%s-%s.csv"`, strings.Trim(strings.ReplaceAll(p.path, "/", "-"), "-"), id))
			w.Header().Set("Cache-Control", "no-store")
			_, _ = w.Write(buf.Bytes())
			return
		}
		h.renderError(w, r, http.StatusNotFound, "This page has no such table.")
	}
}

// csvTable is a table as its CSV download writes it: a column whose every
// value is an amount ("USD 2,160,000.00", "—" or empty) becomes two, the
// amount as a plain number a spreadsheet can sum ("2160000.00", empty for
// "—") and its currency; grouped numbers lose their separators; every cell
// is defused by csvCell.
func csvTable(t *table, l *locale) ([]string, [][]string) {
	var money []bool
	for c := range t.Head {
		amounts, seen := true, false
		for _, row := range t.Rows {
			if c >= len(row) || row[c] == "—" || row[c] == "" {
				continue
			}
			seen = true
			if k, amount, ok := strings.Cut(row[c], " "); !ok || !isCurrency(k) || !isAmount(amount) {
				amounts = false
				break
			}
		}
		money = append(money, seen && amounts)
	}
	var head []string
	for c, h := range t.Head {
		head = append(head, h)
		if money[c] {
			head = append(head, l.T("%s: currency", h))
		}
	}
	rows := make([][]string, len(t.Rows))
	for i, row := range t.Rows {
		out := make([]string, 0, len(head))
		for c, v := range row {
			if c < len(money) && money[c] {
				k, amount, _ := strings.Cut(v, " ")
				if v == "—" || v == "" {
					k, amount = "", ""
				}
				out = append(out, strings.ReplaceAll(amount, ",", ""), k)
				continue
			}
			if isAmount(v) {
				v = strings.ReplaceAll(v, ",", "")
			}
			out = append(out, csvCell(v))
		}
		rows[i] = out
	}
	return head, rows
}

// isCurrency reports whether s is an ISO 4217 code: three capitals.
func isCurrency(s string) bool {
	return len(s) == 3 && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == ""
}

// isAmount reports whether s is a number as the pages write it: digits
// grouped by commas, an optional sign and decimals.
func isAmount(s string) bool {
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || strings.Trim(frac, "0123456789") != "" {
		return false
	}
	groups := strings.Split(whole, ",")
	for i, g := range groups {
		if g == "" || strings.Trim(g, "0123456789") != "" || (i > 0 && len(g) != 3) || (len(groups) > 1 && len(groups[0]) > 3) {
			return false
		}
	}
	return true
}

// csvCell keeps a spreadsheet from running a cell as a formula: names and
// reasons come from applicants, who could otherwise plant "=HYPERLINK(…)".
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return "'" + s
		}
	}
	return s
}

// render executes a page template in the request's language. Pages carry
// private data: no caching.
func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	if v.L == nil {
		v.L = h.localeFor(r, v.Who)
	}
	// The sign-in page's title and errors are catalog keys.
	if catalogKeys[v.Title] {
		v.Title = v.L.T(v.Title)
	}
	if catalogKeys[v.Error] {
		v.Error = v.L.T(v.Error)
	}
	if v.Back == "" {
		v.Back = r.URL.RequestURI()
		if r.Method != http.MethodGet && v.Who != nil {
			v.Back = homeOf[v.Who.Role]
		}
	}
	set, ok := h.pages[name]
	t := set[v.L.index()]
	if !ok {
		h.log.ErrorContext(r.Context(), "web: no template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		h.log.ErrorContext(r.Context(), "web: template failed", "name", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", v.L.Lang.Code)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderError renders an error page, keeping the session's navigation when
// there is one. msg is a catalog key, formatted with args.
func (h *handler) renderError(w http.ResponseWriter, r *http.Request, status int, msg string, args ...any) {
	v := &view{}
	if who, csrf, err := h.session(r); err == nil {
		v.Who, v.CSRF = &who, csrf
	}
	v.L = h.localeFor(r, v.Who)
	v.Title, v.Error = v.L.T(http.StatusText(status)), v.L.T(msg, args...)
	h.render(w, r, status, "error", v)
}

// localeFor is the locale the request's context carries (a signed-in
// request's), or the one of who and the request's preferences.
func (h *handler) localeFor(r *http.Request, who *domain.Actor) *locale {
	if l, ok := r.Context().Value(localeKey{}).(*locale); ok {
		return l
	}
	return h.locale(r, who)
}

// mustParsePages parses each page template with the layout and partials,
// once per language: the clone of each language has its own "t" (the
// catalog's words), so that a page's words cost a map lookup.
func mustParsePages() map[string][]*template.Template {
	funcs := template.FuncMap{
		"home":  func(r domain.Role) string { return homeOf[r] },
		"money": money,
		"join":  strings.Join,
		"short": shortID,
		"isnum": func(t *table, i int) bool { return t.Numeric[i] },
		"t":     func(key string, args ...any) string { return key },
		"th":    func(key string) template.HTML { return template.HTML(key) },
		"inc":   func(i int) int { return i + 1 },
		"field": field,
		"errof": errof,
		"invalid": func(err string) template.HTMLAttr {
			return template.HTMLAttr(map[bool]string{true: `aria-invalid="true"`}[err != ""])
		},
	}
	out := map[string][]*template.Template{}
	for _, name := range pageNames {
		base := template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
		for i := range langs {
			l := &locale{Lang: langs[i], p: dashboardLocales.printers[i]}
			t := template.Must(base.Clone())
			t.Funcs(template.FuncMap{"t": l.T, "th": l.HTML})
			out[name] = append(out[name], t)
		}
	}
	return out
}

// pageNames are the page templates.
var pageNames = []string{"signin", "error", "buyer", "apply", "export", "import", "vendor", "lab", "carrier", "auditor", "verify"}

// index is the locale's language's index in langs.
func (l *locale) index() int {
	for i, g := range langs {
		if g.Code == l.Lang.Code {
			return i
		}
	}
	return 0
}
