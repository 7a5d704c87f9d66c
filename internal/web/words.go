package web

import (
	"errors"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/chipgate/chipgate/internal/domain"
)

// No internal code reaches a page: statuses, roles, decisions, alert kinds,
// red flags and field paths are shown by their human labels, in the
// viewer's language.

// codeLabels are the English labels of the codes the pages show; each
// label is a catalog key.
var codeLabels = map[string]string{
	// Roles.
	"buyer": "buyer", "export_authority": "export authority", "import_authority": "import authority", "vendor": "vendor",
	"lab": "test lab", "carrier": "carrier", "auditor": "auditor",
	// Applications, licenses, permits, orders and decisions' outcomes.
	"submitted": "submitted", "blocked": "blocked", "info_requested": "information requested", "approved": "approved",
	"denied": "denied", "suspended": "suspended", "revoked": "revoked", "active": "active",
	"accepted": "accepted", "held_for_review": "held for review", "rejected": "rejected", "cancelled": "cancelled",
	"fulfilled": "fulfilled", "no_license_required": "no license required", "license_required": "license required",
	// Shipments.
	"at_origin": "at origin", "in_transit": "in transit", "arrived": "arrived", "cleared": "cleared",
	"delivered": "delivered",
	// Hearings, alerts and screening.
	"open": "open", "closed": "closed", "explained": "explained", "escalated": "escalated",
	"clear": "clear", "potential_match": "potential match", "match": "match",
	"false_positive": "false positive", "confirmed": "confirmed match", "pending_second": "awaiting a second officer",
	"legal_name": "legal name", "chinese_name": "Chinese name", "alias": "alias", "owner": "owner",
	// Alert kinds and red flags.
	"unshipped_serial": "serial never shipped", "undelivered_serial": "serial not yet delivered",
	"site_mismatch": "away from the licensed site", "impossible_location": "impossible location",
	"two_places": "in two places at once", "silent_serial": "serial stopped checking in",
	"attestation_off": "attestation not in force", "enforcement_pattern": "enforcement pattern",
	"list_refused": "screening list refused", "new_listing": "new listing of a customer",
	"state_tampered": "stored state tampered with", "bad_device_signature": "bad device signature",
	"forged_landmark": "forged landmark", "replayed_nonce": "replayed nonce", "same_key_two_places": "one key in two places",
	"stale_challenge": "stale challenge", "too_far_from_site": "too far from the site", "unknown_device_key": "unknown device key",
	"end_use_mismatch": "end use mismatch", "freight_forwarder": "freight forwarder", "name_evasion": "name evasion",
	"new_customer": "new customer", "power_short": "site power too small", "residential_address": "residential address",
	"transshipment_hub": "transshipment hub", "parent_d5": "parent in a D:5 country",
	// Decisions.
	"approve": "approve", "deny": "deny", "request_info": "ask for information", "grant": "grant",
	"release": "release", "reject": "reject", "suspend": "suspend", "reinstate": "reinstate", "revoke": "revoke",
	"pass": "pass", "fail": "fail",
	// Buyer classes and end uses.
	"platform": "platform", "cloud": "cloud provider", "sme": "small or medium enterprise", "research": "research institute",
	"university": "university", "government": "government", "private": "private", "soe": "state-owned enterprise",
	"cloud_service": "cloud service", "commercial_ai": "commercial AI",
	"military": "military",
}

// Code is a code's human label in the locale's language; a code without a
// label is shown with spaces for underscores, and reported.
func (l *locale) Code(code string) string {
	if label, ok := codeLabels[code]; ok {
		return l.T(label)
	}
	// A path to one of a list: owners[0] is "owner 1".
	if m := indexed.FindStringSubmatch(code); m != nil && m[0] == code {
		n, _ := strconv.Atoi(m[2])
		return l.T("%[1]s %[2]d", l.Code(m[1]), n+1)
	}
	if l.missing != nil && l.Lang.Code != "en" && code != "" {
		l.missing("code " + code)
	}
	return strings.ReplaceAll(code, "_", " ")
}

// label is a form error's argument that is itself a catalog key (a
// field's label), translated with the message.
type label string

// indexed is a path step with an index: serials[1], sites[0].
var indexed = regexp.MustCompile(`([a-z_]+?)s?\[(\d+)\]`)

// humanPaths writes the field paths in s as people count: "serials[1]" is
// "serial 2", "sites[0]" "site 1".
func humanPaths(s string) string {
	return indexed.ReplaceAllStringFunc(s, func(m string) string {
		sub := indexed.FindStringSubmatch(m)
		n, err := strconv.Atoi(sub[2])
		if err != nil {
			return m
		}
		return strings.ReplaceAll(sub[1], "_", " ") + " " + strconv.Itoa(n+1)
	})
}

// FieldName is a field path in the locale's words: "quantity" is
// "Quantity", "serials[1]" "serial 2".
func (l *locale) FieldName(path string) string {
	if label, ok := fieldLabels[path]; ok {
		return l.T(label)
	}
	if m := indexed.FindStringSubmatch(path); m != nil && m[0] == path {
		n, _ := strconv.Atoi(m[2])
		if label, ok := fieldLabels[m[1]]; ok {
			return l.T("%[1]s %[2]d", l.T(label), n+1)
		}
	}
	return humanPaths(strings.ReplaceAll(path, "_", " "))
}

// fieldLabels are the service's field paths as the forms label them.
var fieldLabels = map[string]string{
	"quantity": "Quantity", "product": "Product", "products": "Products", "period": "Wanted from",
	"requested_period": "Wanted from", "site": "Deployment site", "end_use": "End use", "reason": "Reason",
	"note": "Note", "valid_from": "Valid from", "valid_until": "Valid until", "conditions": "Conditions",
	"vendor": "Exporter", "buyer": "Buyer", "title": "Title", "period_start": "Period start", "period_end": "Period end",
	"units": "Forecast units", "forecast_units": "Forecast units", "uses": "Uses", "justification": "Justification", "serial": "serial", "serials": "Serial numbers",
	"carriers": "Carriers", "lab": "Lab", "unit_value": "Unit value", "currency": "Currency", "lot": "Lot",
	"order": "Order", "country": "Country", "place": "Place", "to": "Handed over to", "kind": "Event",
	"allowed_uses": "Allowed uses", "excluded_sectors": "Excluded sectors", "confirmation": "Confirmation number",
	"exception": "Exception", "start": "First day of period 0", "periods": "Periods", "period_days": "Days per period",
	"bandwidth_gbps": "DRAM bandwidth measured (GB/s)", "throughput": "Dense throughput measured",
	"consignees": "Consignee", "end_users": "End user", "forwarders": "Freight forwarder", "banks": "Bank",
	"share": "Share (%%)", "power_mw": "Power (MW)", "address": "Address", "name": "Name", "party": "or registered party",
}

// ErrText is an error for the person who sent a form, in the locale's
// words: the dashboard's own refusals from the catalog, the service's
// messages from it where it has them, field paths as people say them.
// Internal errors never get here (fail logs them and says so).
func (l *locale) ErrText(err error) string {
	var te textedError
	if errors.As(err, &te) {
		return l.ErrText(te.error) + te.more
	}
	var fe *formError
	if errors.As(err, &fe) {
		args := make([]any, len(fe.Args))
		for i, a := range fe.Args {
			if s, ok := a.(label); ok {
				a = l.T(string(s))
			}
			args[i] = a
		}
		return l.T(fe.Key, args...)
	}
	raw := domain.ErrorMessage(err)
	msg := l.message(raw)
	for _, f := range domain.ErrorFields(err) {
		// domain.Invalid's message is its one field already.
		if !strings.Contains(raw, f.Path+": "+f.Message) {
			msg += l.T("; ") + l.FieldName(f.Path) + l.T(": ") + l.message(f.Message)
		}
	}
	return msg
}

// message is a message of the service: the catalog's words when it has
// them, "path: message" with the path as people say it, else as written
// with paths made human.
func (l *locale) message(s string) string {
	if catalogKeys[s] {
		return l.T(s)
	}
	if path, rest, ok := strings.Cut(s, ": "); ok && !strings.ContainsAny(path, " ") {
		return l.FieldName(path) + l.T(": ") + l.message(rest)
	}
	if l.missing != nil && l.Lang.Code != "en" {
		l.missing("service: " + s)
	}
	return humanPaths(s)
}

// fieldOf is the form field an error is about: the form error's, or the
// first field the service named when the form has an input of that name
// (an indexed path names its list: serials[1] is the serials input).
func fieldOf(err error, form url.Values) string {
	var fe *formError
	if errors.As(err, &fe) {
		return fe.Field
	}
	for _, f := range domain.ErrorFields(err) {
		name := f.Path
		if i := strings.IndexAny(name, "[."); i >= 0 {
			name = name[:i]
		}
		if alias, ok := formNames[name]; ok && form.Has(alias) {
			return alias
		}
		if form.Has(name) {
			return name
		}
	}
	return ""
}

// formNames are the service's field names whose form inputs are named
// otherwise.
var formNames = map[string]string{"period": "requested_period", "units": "forecast_units"}
