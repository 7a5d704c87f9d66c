package web

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
	// The time zones are compiled in: a viewer's zone must work on a
	// machine without /usr/share/zoneinfo (a distroless image).
	_ "time/tzdata"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
	"golang.org/x/text/number"

	"github.com/chipgate/chipgate/internal/domain"
)

// Every page speaks English, Simplified Chinese or Japanese, and writes
// instants in its viewer's time zone with the zone's label. The words come
// from the catalog in messages.go (golang.org/x/text/message, keyed by the
// English text); the language from the viewer's switch (a cookie) or else
// Accept-Language; the zone from the viewer's switch or else the party's
// country (zoneOfCountry). docs/WEB.md describes both.

// lang is one of the dashboard's languages.
type lang struct {
	// Code is the language's BCP 47 tag as the cookie, the switch and
	// <html lang> write it.
	Code string
	// Name is the language's name in itself, for the switch.
	Name string
	Tag  language.Tag
}

// langs are the dashboard's languages; the first is the fallback.
var langs = []lang{
	{"en", "English", language.English},
	{"zh-Hans", "简体中文", language.SimplifiedChinese},
	{"ja", "日本語", language.Japanese},
}

// langMatcher picks the best of langs for an Accept-Language header.
var langMatcher = language.NewMatcher([]language.Tag{language.English, language.SimplifiedChinese, language.Japanese})

// The preference cookies: not secret, readable by the server only, sent on
// same-site navigations (Lax) so that a link from elsewhere opens the page
// in the viewer's language.
const (
	langCookie = "chipgate_lang"
	zoneCookie = "chipgate_tz"
)

// zoneOfCountry is the time zone a party's users see by default, by the
// ISO 3166-1 code of the party's country; a country not listed sees UTC.
// One zone per country: where a country has several, the one of its
// capital or of its agencies.
var zoneOfCountry = map[string]string{
	"CN": "Asia/Shanghai", "HK": "Asia/Hong_Kong", "MO": "Asia/Macau", "TW": "Asia/Taipei",
	"JP": "Asia/Tokyo", "KR": "Asia/Seoul", "SG": "Asia/Singapore", "MY": "Asia/Kuala_Lumpur",
	"IN": "Asia/Kolkata", "AE": "Asia/Dubai", "SA": "Asia/Riyadh", "IL": "Asia/Jerusalem",
	"US": "America/New_York", "CA": "America/Toronto", "MX": "America/Mexico_City",
	"GB": "Europe/London", "IE": "Europe/Dublin",
	"DE": "Europe/Berlin", "FR": "Europe/Berlin", "NL": "Europe/Berlin", "BE": "Europe/Berlin", "IT": "Europe/Berlin",
	"ES": "Europe/Berlin", "AT": "Europe/Berlin", "SE": "Europe/Berlin", "PL": "Europe/Berlin", "EU": "Europe/Berlin",
	"AU": "Australia/Sydney",
}

// zoneChoices are the zones a viewer may choose, in the switch's order:
// UTC, then west to east.
var zoneChoices = []string{
	"UTC", "America/Los_Angeles", "America/New_York", "Europe/London", "Europe/Berlin", "Asia/Dubai", "Asia/Kolkata",
	"Asia/Singapore", "Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Tokyo", "Asia/Seoul", "Australia/Sydney",
}

// locales holds the dashboard's printers and zones, built once and only
// read after.
type locales struct {
	printers []*message.Printer // by index of langs
	zones    map[string]*time.Location
}

// dashboardLocales are the dashboard's printers and zones.
var dashboardLocales = newLocales()

// catalogKeys are the catalog's keys: its English texts.
var catalogKeys = func() map[string]bool {
	out := make(map[string]bool, len(messages))
	for _, m := range messages {
		out[m.En] = true
	}
	return out
}()

// newLocales builds the catalog of every language and loads the zones.
func newLocales() *locales {
	b := catalog.NewBuilder(catalog.Fallback(language.English))
	ls := &locales{zones: map[string]*time.Location{}}
	for _, m := range messages {
		for _, set := range []struct {
			tag language.Tag
			s   string
		}{{language.English, m.En}, {language.SimplifiedChinese, m.Zh}, {language.Japanese, m.Ja}} {
			if err := b.SetString(set.tag, m.En, set.s); err != nil {
				panic("web: catalog entry " + m.En + ": " + err.Error())
			}
		}
	}
	for _, l := range langs {
		ls.printers = append(ls.printers, message.NewPrinter(l.Tag, message.Catalog(b)))
	}
	for _, z := range zoneChoices {
		loc, err := time.LoadLocation(z)
		if err != nil {
			panic("web: time zone " + z + ": " + err.Error())
		}
		ls.zones[z] = loc
	}
	for _, z := range zoneOfCountry {
		if ls.zones[z] == nil {
			loc, err := time.LoadLocation(z)
			if err != nil {
				panic("web: time zone " + z + ": " + err.Error())
			}
			ls.zones[z] = loc
		}
	}
	return ls
}

// langIndex is the index in langs of the language a request asks for: the
// cookie's when it names one, else Accept-Language's best match, else
// English.
func langIndex(r *http.Request) int {
	if c, err := r.Cookie(langCookie); err == nil {
		for i, l := range langs {
			if l.Code == c.Value {
				return i
			}
		}
	}
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return 0
	}
	_, i, conf := langMatcher.Match(tags...)
	if conf == language.No {
		return 0
	}
	return i
}

// locale is how one request's page speaks and writes times.
type locale struct {
	Lang lang
	// Zone is the viewer's time zone; ZoneName its IANA name.
	Zone     *time.Location
	ZoneName string
	p        *message.Printer
	zones    map[string]*time.Location
	now      time.Time
	// missing is told of a key the catalog lacks.
	missing func(key string)
}

// localeOf is the locale of a request by a viewer whose party is in
// country ("" when unknown, as on the sign-in page).
func (ls *locales) localeOf(r *http.Request, country string, now time.Time, missing func(string)) *locale {
	i := langIndex(r)
	l := &locale{Lang: langs[i], p: ls.printers[i], zones: ls.zones, now: now, missing: missing}
	l.ZoneName = zoneOfCountry[country]
	if c, err := r.Cookie(zoneCookie); err == nil && ls.zones[c.Value] != nil {
		l.ZoneName = c.Value
	}
	if l.ZoneName == "" {
		l.ZoneName = "UTC"
	}
	l.Zone = ls.zones[l.ZoneName]
	if l.Zone == nil {
		l.Zone = time.UTC
	}
	return l
}

// T is key translated, formatted with args as fmt.Sprintf would, with
// numbers in the language's format. key is English text; one the catalog
// lacks is written as it is, and reported.
func (l *locale) T(key string, args ...any) string {
	if l.missing != nil && !knownKey(key) {
		l.missing(key)
	}
	return l.p.Sprintf(key, args...)
}

// knownKey tells whether key is in the catalog (built once, read only).
func knownKey(key string) bool { return catalogKeys[key] }

// HTML is a catalog entry that holds markup (code, strong), trusted since
// the catalog is code; it takes no arguments, so nothing from a request
// reaches it.
func (l *locale) HTML(key string) template.HTML { return template.HTML(l.T(key)) }

// Num is an integer in the language's format: "2,160,000".
// n is any integer type, as templates hand them over.
func (l *locale) Num(n any) string { return l.p.Sprint(number.Decimal(n)) }

// Day is the calendar day of t (a date without a time of day: a period, a
// validity), in the language's format: never shifted by the viewer's zone.
func (l *locale) Day(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return l.day(t.UTC())
}

// DayOf is Day of a "YYYY-MM-DD" text; other text is returned as it is.
func (l *locale) DayOf(s string) string {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return s
	}
	return l.day(t)
}

// Date is the day an instant falls on in the viewer's zone.
func (l *locale) Date(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return l.day(t.In(l.Zone))
}

// Time is an instant to the minute in the viewer's zone, with the zone's
// label: "2026-12-02 11:35 CST", "2026年12月2日 11:35 CST".
func (l *locale) Time(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	t = t.In(l.Zone)
	return l.day(t) + " " + t.Format("15:04") + " " + zoneLabel(t)
}

// day writes a day as the language does.
func (l *locale) day(t time.Time) string {
	if l.Lang.Code == "en" {
		return t.Format(time.DateOnly)
	}
	return t.Format("2006年1月2日")
}

// zoneLabel is the zone's abbreviation at t ("CST", "JST", "EST"), or its
// UTC offset where the zone has no abbreviation ("UTC+04").
func zoneLabel(t time.Time) string {
	abbr := t.Format("MST")
	if abbr != "" && (abbr[0] == '+' || abbr[0] == '-') {
		return "UTC" + abbr
	}
	return abbr
}

// ZoneLabel is the viewer's zone as the switch says it:
// "Asia/Shanghai (UTC+08:00)".
func (l *locale) ZoneLabel(name string) string {
	loc := l.zones[name]
	if loc == nil {
		loc = time.UTC
	}
	return name + " (UTC" + l.now.In(loc).Format("-07:00") + ")"
}

// Zones are the zones the switch offers.
func (l *locale) Zones() []string { return zoneChoices }

// Langs are the languages the switch offers.
func (l *locale) Langs() []lang { return langs }

// localPath is back when it is a path of this site ("/buyer?x=1"), else
// "/": the preference form must not redirect elsewhere.
func localPath(back string) string {
	u, err := url.Parse(back)
	if err != nil || back == "" || back[0] != '/' || strings.HasPrefix(back, "//") || strings.HasPrefix(back, "/\\") || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return back
}

// setPrefs answers the language and time-zone switch: it keeps the
// choices in cookies (a year) and goes back to the page it was on.
func (h *handler) setPrefs(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.renderError(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	const year = 365 * 24 * 60 * 60
	if code := r.PostForm.Get("lang"); code != "" {
		for _, l := range langs {
			if l.Code == code {
				http.SetCookie(w, &http.Cookie{Name: langCookie, Value: code, Path: "/", MaxAge: year,
					HttpOnly: true, Secure: h.secureCookie(r), SameSite: http.SameSiteLaxMode})
			}
		}
	}
	if z := r.PostForm.Get("tz"); containsZone(z) {
		http.SetCookie(w, &http.Cookie{Name: zoneCookie, Value: z, Path: "/", MaxAge: year,
			HttpOnly: true, Secure: h.secureCookie(r), SameSite: http.SameSiteLaxMode})
	}
	http.Redirect(w, r, localPath(r.PostForm.Get("back")), http.StatusSeeOther)
}

// containsZone tells whether z is one of the switch's zones.
func containsZone(z string) bool {
	for _, c := range zoneChoices {
		if c == z {
			return true
		}
	}
	return false
}

// locale is the locale of a request by who (nil before signing in); a
// party whose country cannot be read sees UTC.
func (h *handler) locale(r *http.Request, who *domain.Actor) *locale {
	country := ""
	if who != nil && who.PartySlug != "" {
		if c, ok := h.countries.Load(who.PartyID); ok {
			country = c.(string)
		} else if p, err := h.svc.Party(r.Context(), *who, who.PartyID.String()); err == nil {
			country = p.Country
			h.countries.Store(who.PartyID, country)
		}
	}
	return dashboardLocales.localeOf(r, country, h.svc.Now(), func(key string) {
		h.log.WarnContext(r.Context(), "web: no translation", "key", key)
	})
}

// localeKey is the request context's key of its locale.
type localeKey struct{}

// withLocale is r with its locale in its context, for the page builders.
func withLocale(r *http.Request, l *locale) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), localeKey{}, l))
}

// localeIn is the locale a request's context carries, or English in UTC.
func localeIn(ctx context.Context) *locale {
	if l, ok := ctx.Value(localeKey{}).(*locale); ok {
		return l
	}
	return &locale{Lang: langs[0], p: dashboardLocales.printers[0], Zone: time.UTC, ZoneName: "UTC", zones: dashboardLocales.zones}
}
