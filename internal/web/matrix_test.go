package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/web"
)

// webProbe is one request of the dashboard's authorization matrix.
type webProbe struct {
	path string
	// form is the POST's form without its CSRF token; nil for a GET.
	form url.Values
	// want is the status of the route's own role, or of every role when
	// the route belongs to none. Every other role gets 403.
	want int
	// ends says the request ends the session: it gets a browser of its own.
	ends bool
}

// webMatrix has an entry for every route of the dashboard's route table; a
// route without one fails TestWebAuthorizationMatrix. Forms are sent with
// values that the route's own role sees served: done, or refused by the
// handler itself (422, 404), never by the role check.
var webMatrix = map[string]func(e *env) webProbe{
	"GET /static/":             func(*env) webProbe { return webProbe{path: "/static/app.css", want: 200} },
	"GET /{$}":                 func(*env) webProbe { return webProbe{path: "/", want: 303} },
	"GET /signin":              func(*env) webProbe { return webProbe{path: "/signin", want: 200} },
	"POST /signin":             func(*env) webProbe { return webProbe{path: "/signin", form: url.Values{"token": {"cg_x"}}, want: 403} },
	"GET /signin/sso":          func(*env) webProbe { return webProbe{path: "/signin/sso?party=nobody", want: 404} },
	"GET /signin/sso/callback": func(*env) webProbe { return webProbe{path: "/signin/sso/callback?state=x&code=y", want: 401} },
	"POST /signout":            func(*env) webProbe { return webProbe{path: "/signout", form: url.Values{}, want: 303, ends: true} },
	"POST /prefs": func(*env) webProbe {
		return webProbe{path: "/prefs", form: url.Values{"lang": {"en"}, "back": {"/"}}, want: 303}
	},

	"GET /buyer":             func(*env) webProbe { return webProbe{path: "/buyer", want: 200} },
	"GET /csv/buyer/{table}": func(*env) webProbe { return webProbe{path: "/csv/buyer/shipments.csv", want: 200} },
	"GET /buyer/application": func(*env) webProbe { return webProbe{path: "/buyer/application", want: 200} },
	"GET /csv/buyer/application/{table}": func(*env) webProbe {
		return webProbe{path: "/csv/buyer/application/none.csv", want: 404} // the page has no table
	},
	"GET /export":                     func(*env) webProbe { return webProbe{path: "/export", want: 200} },
	"GET /csv/export/{table}":         func(*env) webProbe { return webProbe{path: "/csv/export/alerts.csv", want: 200} },
	"GET /import":                     func(*env) webProbe { return webProbe{path: "/import", want: 200} },
	"GET /csv/import/{table}":         func(*env) webProbe { return webProbe{path: "/csv/import/permits.csv", want: 200} },
	"GET /vendor":                     func(*env) webProbe { return webProbe{path: "/vendor", want: 200} },
	"GET /csv/vendor/{table}":         func(*env) webProbe { return webProbe{path: "/csv/vendor/shipments.csv", want: 200} },
	"GET /lab":                        func(*env) webProbe { return webProbe{path: "/lab", want: 200} },
	"GET /csv/lab/{table}":            func(*env) webProbe { return webProbe{path: "/csv/lab/queue.csv", want: 200} },
	"GET /carrier":                    func(*env) webProbe { return webProbe{path: "/carrier", want: 200} },
	"GET /csv/carrier/{table}":        func(*env) webProbe { return webProbe{path: "/csv/carrier/events.csv", want: 200} },
	"GET /auditor":                    func(*env) webProbe { return webProbe{path: "/auditor", want: 200} },
	"GET /csv/auditor/{table}":        func(*env) webProbe { return webProbe{path: "/csv/auditor/checkpoint.csv", want: 200} },
	"GET /auditor/verify":             func(*env) webProbe { return webProbe{path: "/auditor/verify", want: 200} },
	"GET /csv/auditor/verify/{table}": func(*env) webProbe { return webProbe{path: "/csv/auditor/verify/checkpoint.csv", want: 200} },
	"GET /auditor/proof":              func(*env) webProbe { return webProbe{path: "/auditor/proof?index=0&size=1", want: 200} },

	"POST /buyer/orders": func(*env) webProbe {
		return webProbe{path: "/buyer/orders", form: url.Values{"product": {"h200"}, "quantity": {"10"}, "requested_period": {"2026-03-02"},
			"site": {"0"}, "end_use": {"commercial_ai"}}, want: 303}
	},
	"POST /buyer/orders/cancel": func(*env) webProbe {
		return webProbe{path: "/buyer/orders/cancel", form: url.Values{"order": {"none"}}, want: 422}
	},
	"POST /buyer/applications": func(*env) webProbe {
		return webProbe{path: "/buyer/applications", form: url.Values{"legal_name": {""}, "country": {"China"}}, want: 422}
	},
	"POST /buyer/applications/{id}": func(*env) webProbe {
		return webProbe{path: "/buyer/applications/0190a000-0000-7000-8000-000000000000", form: url.Values{"legal_name": {"X"}}, want: 404}
	},
	"POST /buyer/filings": func(*env) webProbe {
		return webProbe{path: "/buyer/filings", form: url.Values{"hearing": {"none"}, "forecast_units": {"10"}, "uses": {"x"}}, want: 422}
	},
	"POST /export/notices": func(*env) webProbe {
		return webProbe{path: "/export/notices", form: url.Values{"application": {"none"}, "exception": {"NAC"}, "confirmation": {"C67-1"}, "products": {"h200"}}, want: 422}
	},
	"POST /export/notices/withdraw": func(*env) webProbe {
		return webProbe{path: "/export/notices/withdraw", form: url.Values{"notice": {"none"}, "reason": {"x"}}, want: 422}
	},
	"POST /export/customers": func(*env) webProbe {
		return webProbe{path: "/export/customers", form: url.Values{"application": {"none"}, "action": {"suspend"}, "reason": {"x"}}, want: 422}
	},
	"POST /import/hearings": func(*env) webProbe {
		return webProbe{path: "/import/hearings", form: url.Values{"title": {""}, "product": {"h200"}}, want: 422}
	},
	"POST /import/hearings/close": func(*env) webProbe {
		return webProbe{path: "/import/hearings/close", form: url.Values{"hearing": {"none"}}, want: 422}
	},
	"POST /vendor/shipments": func(*env) webProbe {
		return webProbe{path: "/vendor/shipments", form: url.Values{"order": {"none"}, "lot": {"x"}, "serials": {"SN-1"}, "unit_value": {"1"}, "currency": {"USD"}}, want: 422}
	},
	"POST /export/licenses": func(*env) webProbe {
		return webProbe{path: "/export/licenses", form: url.Values{"license": {"none"}, "action": {"suspend"}}, want: 422}
	},
	"POST /export/applications/{id}": func(e *env) webProbe {
		return webProbe{path: "/export/applications/" + e.pending.ID.String(), form: url.Values{"decision": {"deny"}}, want: 422}
	},
	"POST /export/applications/{id}/hits/{hit}": func(e *env) webProbe {
		return webProbe{path: "/export/applications/" + e.pending.ID.String() + "/hits/0", form: url.Values{"decision": {"maybe"}}, want: 422}
	},
	"POST /export/orders/{id}": func(*env) webProbe {
		return webProbe{path: "/export/orders/0190a000-0000-7000-8000-000000000000", form: url.Values{"decision": {"reject"}, "reason": {"x"}}, want: 404}
	},
	"POST /export/alerts/{id}": func(e *env) webProbe {
		return webProbe{path: "/export/alerts/" + e.alert.ID.String(), form: url.Values{"state": {"escalated"}, "note": {"matrix"}}, want: 200}
	},
	"POST /export/alerts/sweep": func(*env) webProbe {
		return webProbe{path: "/export/alerts/sweep", form: url.Values{}, want: 200}
	},
	"POST /import/permits": func(*env) webProbe {
		return webProbe{path: "/import/permits", form: url.Values{"buyer": {"newco"}, "decision": {"deny"}}, want: 422}
	},
	"POST /vendor/runs": func(*env) webProbe {
		return webProbe{path: "/vendor/runs", form: url.Values{"periods": {"9999"}}, want: 422}
	},
	"POST /lab/tests": func(e *env) webProbe {
		return webProbe{path: "/lab/tests", form: url.Values{"shipment": {e.atLab.ID.String()}, "tops_8": {"1979"}, "bandwidth_gbps": {"4800"}}, want: 200}
	},
	"POST /carrier/events": func(e *env) webProbe {
		return webProbe{path: "/carrier/events", form: url.Values{"shipment": {e.inTransit.ID.String()}, "kind": {"arrived"}, "country": {"US"}, "place": {"LAX"}}, want: 200}
	},
}

// TestWebAuthorizationMatrix sends every route of the dashboard's route
// table as every role and without a session: the route's own role is
// served, every other role refused with 403 and nothing written, and no
// session means the sign-in page (GET) or 401 (POST).
func TestWebAuthorizationMatrix(t *testing.T) {
	e := newEnv(t)
	browsers := map[domain.Role]*browser{}
	csrfs := map[domain.Role]string{}
	for _, role := range domain.Roles {
		browsers[role] = e.browser()
		csrfs[role] = browsers[role].signIn(partyOf[role])
	}
	routes := web.Routes()
	keys := map[string]bool{}
	for _, rt := range routes {
		keys[rt.Key()] = true
		entry, ok := webMatrix[rt.Key()]
		if !ok {
			t.Errorf("route %s has no entry in the web authorization matrix", rt.Key())
			continue
		}
		t.Run(rt.Key(), func(t *testing.T) {
			p := entry(e)
			send := func(b *browser, csrf string) response {
				if p.form == nil {
					return b.get(p.path)
				}
				f := url.Values{"csrf": {csrf}}
				for k, v := range p.form {
					f[k] = v
				}
				return b.post(p.path, f)
			}
			for _, role := range domain.Roles {
				b, csrf := browsers[role], csrfs[role]
				if p.ends {
					b = e.browser()
					csrf = b.signIn(partyOf[role])
				}
				want := p.want
				if !rt.Public && rt.Role != "" && rt.Role != role {
					want = http.StatusForbidden
				}
				before := e.auditSize()
				r := send(b, csrf)
				if r.status != want {
					t.Errorf("as %s: %d, want %d\n%.600s", role, r.status, want, r.body)
				}
				if want == http.StatusForbidden && e.auditSize() != before {
					t.Errorf("as %s: a refused request wrote to the ledger", role)
				}
			}
			// Without a session.
			want := p.want
			if !rt.Public {
				want = http.StatusUnauthorized
				if p.form == nil {
					want = http.StatusSeeOther
				}
			}
			r := send(e.browser(), "")
			if r.status != want {
				t.Errorf("without a session: %d, want %d", r.status, want)
			}
			if !rt.Public && p.form == nil && r.header.Get("Location") != "/signin" {
				t.Errorf("without a session: sent to %q, want /signin", r.header.Get("Location"))
			}
		})
	}
	for key := range webMatrix {
		if !keys[key] {
			t.Errorf("matrix entry %s has no route", key)
		}
	}
}
