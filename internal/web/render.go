package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
)

// view is what every page template receives.
type view struct {
	Title  string
	Who    *domain.Actor
	CSRF   string
	Error  string
	Notice string
	// Tables are the page's tables, each downloadable as CSV.
	Tables []*table
	// Data is the page's own content.
	Data any
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

// newTable starts a table whose CSV lives under the page's path.
func newTable(pagePath, id, title string, head ...string) *table {
	return &table{ID: id, Title: title, Head: head, CSV: "/csv" + pagePath + "/" + id + ".csv", Empty: "Nothing yet."}
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
			head, rows := csvTable(t)
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
// value is an amount of one currency ("USD 2,160,000.00") holds plain
// numbers a spreadsheet can sum (empty where the page shows "—"), with the
// currency in its heading; grouped numbers lose their separators; every
// cell is defused by csvCell.
func csvTable(t *table) ([]string, [][]string) {
	head := slices.Clone(t.Head)
	rows := make([][]string, len(t.Rows))
	for i, row := range t.Rows {
		rows[i] = slices.Clone(row)
	}
	for c := range head {
		cur, numeric, seen := "", true, false
		for _, row := range rows {
			if c >= len(row) || row[c] == "—" || row[c] == "" {
				continue
			}
			seen = true
			k, amount, ok := strings.Cut(row[c], " ")
			if !ok || len(k) != 3 || !isAmount(amount) || (cur != "" && cur != k) {
				cur, numeric = "", false
				break
			}
			cur = k
		}
		if !seen || !numeric {
			continue
		}
		head[c] += " (" + cur + ")"
		for _, row := range rows {
			if c < len(row) {
				_, amount, _ := strings.Cut(row[c], " ")
				row[c] = strings.ReplaceAll(amount, ",", "")
			}
		}
	}
	for _, row := range rows {
		for c, v := range row {
			if isAmount(v) {
				v = strings.ReplaceAll(v, ",", "")
			}
			row[c] = csvCell(v)
		}
	}
	return head, rows
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

// render executes a page template. Pages carry private data: no caching.
func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	t, ok := h.pages[name]
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
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderError renders an error page, keeping the session's navigation when
// there is one.
func (h *handler) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	v := &view{Title: http.StatusText(status), Error: msg}
	if who, csrf, err := h.session(r); err == nil {
		v.Who, v.CSRF = &who, csrf
	}
	h.render(w, r, status, "error", v)
}

// mustParsePages parses each page template with the layout and partials.
func mustParsePages() map[string]*template.Template {
	funcs := template.FuncMap{
		"home":      func(r domain.Role) string { return homeOf[r] },
		"rolename":  roleName,
		"date":      func(t time.Time) string { return fmtDate(t) },
		"money":     money,
		"join":      strings.Join,
		"short":     shortID,
		"isnum":     func(t *table, i int) bool { return t.Numeric[i] },
		"inc":       func(i int) int { return i + 1 },
		"field":     field,
		"errof":     errof,
		"appstatus": func(s domain.ApplicationStatus) string { return wordsOr(appStatusNames, s) },
		"notekind":  func(k string) string { return wordsOr(noteKindNames, k) },
		"classname": func(c domain.BuyerClass) string { return wordsOr(classNames, c) },
	}
	out := map[string]*template.Template{}
	for _, name := range []string{"signin", "error", "buyer", "apply", "export", "import", "vendor", "lab", "carrier", "auditor", "verify"} {
		t := template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
		out[name] = t
	}
	return out
}

// fmtDate is a day, or "—" for the zero time.
func fmtDate(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(time.DateOnly)
}
