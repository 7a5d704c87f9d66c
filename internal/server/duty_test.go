package server_test

import (
	"fmt"
	"github.com/chipgate/chipgate/internal/chipgatetest"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// Duty sets of the duty matrix: the duties of which a route's request
// needs one.
var (
	noDuty   []domain.UserDuty
	routine  = []domain.UserDuty{domain.DutyOfficer, domain.DutyApprover}
	decisive = []domain.UserDuty{domain.DutyApprover}
	admin    = []domain.UserDuty{domain.DutyAdministrator}
)

// dutyMatrix says, for every route, the duties of which its authorization
// matrix probe (the caller's own records) needs one: nil for reads. A
// route without an entry fails TestDutyMatrix.
var dutyMatrix = map[string][]domain.UserDuty{
	"GET /healthz": noDuty, "GET /api/v1/openapi.json": noDuty, "GET /metrics": noDuty, "GET /api/v1/me": noDuty,
	"GET /api/v1/parties": noDuty, "GET /api/v1/parties/{ref}": noDuty,
	"GET /api/v1/parties/{ref}/users": admin, "POST /api/v1/parties/{ref}/users": admin, "PUT /api/v1/parties/{ref}/users/{id}/duties": admin,
	"PUT /api/v1/parties/{ref}/identity-provider": admin, "GET /api/v1/parties/{ref}/identity-provider": admin,
	"GET /api/v1/parties/{ref}/identity-mappings": admin, "POST /api/v1/parties/{ref}/identity-mappings": admin,
	"DELETE /api/v1/parties/{ref}/identity-mappings/{id}": admin,
	"GET /api/v1/tokens": noDuty, "POST /api/v1/tokens": admin, "DELETE /api/v1/tokens/{id}": noDuty,
	"GET /api/v1/products": noDuty, "GET /api/v1/products/{ref}": noDuty, "GET /api/v1/products/{ref}/classification": noDuty,
	"GET /api/v1/policy": noDuty, "POST /api/v1/products": routine, "GET /api/v1/lots": noDuty, "POST /api/v1/lots": routine,

	"POST /api/v1/applications": routine, "GET /api/v1/applications": noDuty, "GET /api/v1/applications/{id}": noDuty,
	"PUT /api/v1/applications/{id}": routine,
	// The probe asks for information: routine (approve and deny need an
	// approver, TestDecisiveActsNeedAnApprover).
	"POST /api/v1/applications/{id}/decision": routine,
	// The probe escalates a hit: routine (the second clear needs an
	// approver, TestDecisiveActsNeedAnApprover).
	"POST /api/v1/applications/{id}/hit-reviews":                               routine,
	"GET /api/v1/licenses":                                                     noDuty,
	"GET /api/v1/licenses/{id}":                                                noDuty,
	"POST /api/v1/licenses/{id}/status":                                        decisive,
	"POST /api/v1/applications/{id}/exception-notices":                         routine,
	"POST /api/v1/applications/{id}/exception-notices/{confirmation}/withdraw": routine,
	"POST /api/v1/permits":                                                     decisive,
	"GET /api/v1/permits":                                                      noDuty,
	"POST /api/v1/permits/{id}/revoke":                                         decisive,
	"POST /api/v1/hearings":                                                    routine,
	"GET /api/v1/hearings":                                                     noDuty,
	"GET /api/v1/hearings/{id}":                                                noDuty,
	"POST /api/v1/hearings/{id}/filings":                                       routine,
	"POST /api/v1/hearings/{id}/close":                                         routine,
	"POST /api/v1/orders":                                                      routine,
	"GET /api/v1/orders":                                                       noDuty,
	"GET /api/v1/orders/{id}":                                                  noDuty,
	"POST /api/v1/orders/{id}/review":                                          routine,
	"POST /api/v1/orders/{id}/cancel":                                          routine,

	"GET /api/v1/ledger/checkpoint": noDuty, "GET /api/v1/ledger/key": noDuty, "GET /api/v1/ledger/proofs/inclusion": noDuty,
	"GET /api/v1/ledger/proofs/consistency": noDuty, "GET /api/v1/ledger/leaves": noDuty, "GET /api/v1/ledger/entries/{index}": noDuty,
	"GET /api/v1/ledger/entries/{index}/public": noDuty, "GET /checkpoint": noDuty, "GET /tile/{path...}": noDuty,
	"GET /tile/entries/{path...}": noDuty,

	"GET /api/v1/screen": noDuty, "POST /api/v1/screen": noDuty, "POST /api/v1/lists/reload": routine,
	"GET /api/v1/screening/log": noDuty, "GET /api/v1/screening/reviews": noDuty,
	"POST /api/v1/allocation-runs": routine, "GET /api/v1/allocation-runs": noDuty, "GET /api/v1/allocation-runs/{id}": noDuty,
	"GET /api/v1/outlook": noDuty,

	"POST /api/v1/shipments": routine, "GET /api/v1/shipments": noDuty, "POST /api/v1/shipments/{id}/events": routine,
	"POST /api/v1/shipments/{id}/lab-tests": routine, "GET /api/v1/duty/remittance": noDuty,
	"POST /api/v1/checkins": routine, "POST /api/v1/checkins/challenges": routine, "POST /api/v1/checkins/attested": routine,
	"GET /api/v1/alerts": noDuty, "POST /api/v1/alerts/{id}/state": routine, "POST /api/v1/alerts/sweep": routine,

	"POST /api/v1/webhooks": admin, "GET /api/v1/webhooks": noDuty, "GET /api/v1/webhooks/{id}": noDuty,
	"DELETE /api/v1/webhooks/{id}": admin, "POST /api/v1/webhooks/{id}/replay": admin, "GET /api/v1/events/stream": noDuty,
}

// userBound are the routes whose probe names the matrix user's own
// records (its tokens), which another user of the party cannot reach:
// TestUserManagement covers them.
var userBound = map[string]bool{"DELETE /api/v1/tokens/{id}": true}

// TestDutyMatrix sends every route's own-records probe of the
// authorization matrix as every role, from users holding no duty and one
// duty each: a user holding one of the duties dutyMatrix names gets what
// the role gets, any other 403 (where the role would be served), and a
// read needs no duty at all.
func TestDutyMatrix(t *testing.T) {
	e := newEnv(t, storetest.Backends()[0])
	sets := map[string][]domain.UserDuty{"none": {}, "officer": {domain.DutyOfficer}, "approver": {domain.DutyApprover}, "administrator": {domain.DutyAdministrator}}
	for _, role := range domain.Roles {
		for name, ds := range sets {
			e.officer(actorOf[role], actorOf[role]+"~"+name, actorOf[role]+" "+name, ds...)
		}
	}
	all := joinMatrices(matrix, programMatrix, ledgerMatrix, screeningMatrix, allocationMatrix, shippingMatrix, watchMatrix, eventsMatrix)
	for _, rt := range e.srv.Routes() {
		need, ok := dutyMatrix[rt.Key()]
		if !ok {
			t.Errorf("route %s has no entry in the duty matrix", rt.Key())
			continue
		}
		m := all[rt.Key()]
		if m == nil {
			continue // TestAuthorizationMatrix reports it
		}
		t.Run(rt.Key(), func(t *testing.T) {
			for _, role := range domain.Roles {
				for name, ds := range sets {
					if need == nil && name != "none" || userBound[rt.Key()] {
						continue // a read served with no duty is served with any
					}
					own, _ := m(e, role)
					want := own.want(role)
					held := false
					for _, d := range ds {
						held = held || strings.Contains(dutyNames(need), string(d))
					}
					// The duty is checked right after the role, before
					// what the request names is looked up.
					if need != nil && !held && want != http.StatusUnauthorized {
						want = http.StatusForbidden
					}
					status, body, _ := e.do(actorOf[role]+"~"+name, own.method, own.path, own.body)
					if status != want {
						t.Errorf("%s as %s with duty %s: %d %s, want %d", rt.Key(), role, name, status, body, want)
					}
				}
			}
		})
	}
	for key := range dutyMatrix {
		found := false
		for _, rt := range e.srv.Routes() {
			found = found || rt.Key() == key
		}
		if !found {
			t.Errorf("duty matrix entry %s has no route", key)
		}
	}
}

// dutyNames is a duty set as one string, for membership tests.
func dutyNames(ds []domain.UserDuty) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(string(d) + " ")
	}
	return b.String()
}

// TestDecisiveActsNeedAnApprover: within one route, an officer asks for
// information but does not approve, deny or grant; an approver does.
func TestDecisiveActsNeedAnApprover(t *testing.T) {
	e := newEnv(t, storetest.Backends()[0])
	e.officer("us-commerce", "us-officer", "licensing officer", domain.DutyOfficer)
	e.officer("us-commerce", "us-approver", "licensing director", domain.DutyApprover)
	e.officer("cn-mofcom", "cn-officer", "permit officer", domain.DutyOfficer)
	app := e.apply("bytedance")
	e.must("us-officer", "POST", "/api/v1/applications/"+app+"/decision", map[string]any{"decision": "request_info", "reason": "which sites?"}, 200)
	approve := map[string]any{"decision": "approve", "licenses": []map[string]any{{"vendor": "nvidia", "products": []string{"h200"}, "quantity": 10,
		"valid_from": "2026-01-01", "valid_until": "2027-01-01"}}}
	for _, d := range []map[string]any{approve, {"decision": "deny", "reason": "no"}} {
		if status, body, _ := e.do("us-officer", "POST", "/api/v1/applications/"+app+"/decision", d); status != 403 || !strings.Contains(string(body), "approver") {
			t.Fatalf("an officer decides %v: %d %s, want 403", d["decision"], status, body)
		}
	}
	e.must("bytedance", "PUT", "/api/v1/applications/"+app, applicationBody(demoNames["bytedance"][0], "CN", "platform"), 200)
	out := e.must("us-approver", "POST", "/api/v1/applications/"+app+"/decision", approve, 200)
	lic := out["licenses"].([]any)[0].(map[string]any)["id"].(string)
	if status, _, _ := e.do("us-officer", "POST", "/api/v1/licenses/"+lic+"/status", map[string]any{"action": "suspend", "reason": "audit"}); status != 403 {
		t.Fatalf("an officer suspends a license: %d, want 403", status)
	}
	grant := map[string]any{"buyer": "bytedance", "decision": "grant", "products": []string{"h200"}, "quantity": 5, "valid_from": "2026-01-01", "valid_until": "2027-01-01"}
	if status, _, _ := e.do("cn-officer", "POST", "/api/v1/permits", grant); status != 403 {
		t.Fatalf("an officer grants a permit: %d, want 403", status)
	}
	// The ledger names the person who decided, not only the party.
	rec := e.must("us-commerce", "GET", "/api/v1/ledger/entries/"+strconv.FormatInt(chipgatetest.AuditSize(t, e.st)-1, 10), nil, 200)
	if !strings.Contains(fmt.Sprint(rec), "licensing director") {
		t.Fatalf("the approval's record does not name the approver: %v", rec)
	}
}

// TestUserManagement: a party's administrator adds users with the duties
// given and no other and changes them, taking effect at once; nobody else
// may, and no administrator manages another party's users.
func TestUserManagement(t *testing.T) {
	e := newEnv(t, storetest.Backends()[0])
	e.officer("us-commerce", "us-officer", "officer", domain.DutyOfficer)
	e.officer("us-commerce", "us-admin", "administrator", domain.DutyAdministrator)
	if status, _, _ := e.do("us-officer", "POST", "/api/v1/parties/us-commerce/users", map[string]any{"name": "x", "duties": []string{"approver"}}); status != 403 {
		t.Fatalf("an officer adds a user: %d, want 403", status)
	}
	if status, _, _ := e.do("us-officer", "POST", "/api/v1/tokens", map[string]any{"label": "mine"}); status != 403 {
		t.Fatalf("an officer issues an API token: %d, want 403", status)
	}
	if status, body, _ := e.do("us-admin", "POST", "/api/v1/parties/us-commerce/users", map[string]any{"name": "x", "duties": []string{"boss"}}); status != 422 || !strings.Contains(string(body), "duties[0]") {
		t.Fatalf("an unknown duty: %d %s, want 422 naming duties[0]", status, body)
	}
	u := e.must("us-admin", "POST", "/api/v1/parties/us-commerce/users", map[string]any{"name": "new clerk"}, 201)
	if ds := u["duties"].([]any); len(ds) != 0 {
		t.Fatalf("a user added without duties has %v", ds)
	}
	// The officer's token is cached as an officer's; promoting it holds
	// from the commit on.
	me := e.must("us-officer", "GET", "/api/v1/me", nil, 200)
	id := me["user"].(map[string]any)["user_id"].(string)
	e.must("us-admin", "PUT", "/api/v1/parties/us-commerce/users/"+id+"/duties", map[string]any{"duties": []string{"administrator", "officer"}}, 200)
	e.must("us-officer", "POST", "/api/v1/parties/us-commerce/users", map[string]any{"name": "y", "duties": []string{"officer"}}, 201)
	if status, _, _ := e.do("us-officer", "PUT", "/api/v1/parties/us-commerce/users/"+id+"/duties", map[string]any{"duties": []string{"officer"}}); status != 409 {
		t.Fatalf("an administrator drops its own administration: %d, want 409", status)
	}
	e.must("us-admin", "PUT", "/api/v1/parties/us-commerce/users/"+id+"/duties", map[string]any{"duties": []string{}}, 200)
	if status, _, _ := e.do("us-officer", "GET", "/api/v1/parties/us-commerce/users", nil); status != 403 {
		t.Fatalf("a demoted administrator lists users: %d, want 403", status)
	}
	users := e.api.Do("us-admin", "GET", "/api/v1/parties/us-commerce/users", nil)
	if users.Status != 200 || !strings.Contains(string(users.Body), "new clerk") {
		t.Fatalf("users: %d %s", users.Status, users.Body)
	}
	if status, _, _ := e.do("us-admin", "GET", "/api/v1/parties/cn-mofcom/users", nil); status != 404 {
		t.Fatalf("another party's users: %d, want 404", status)
	}
}
