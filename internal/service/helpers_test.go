package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/demo"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

// start is where the tests' clock begins: a Monday under the rules of
// 2026-01-15, with the demo's first H200 lots available.
var start = time.Date(2026, 2, 2, 9, 0, 0, 0, time.UTC)

// env is a service over a fresh store holding the demo cast, catalog and
// lots, with a clock the test moves and every cast party's actor, as
// authenticated from its demo token.
type env struct {
	ctx    context.Context
	st     store.Store
	dsn    string // opens st again, as a restarted server would
	svc    *service.Service
	clock  *chipgatetest.Clock
	actors map[string]domain.Actor
}

// newEnv opens a store of backend b and loads the demo cast into it.
func newEnv(t *testing.T, b storetest.Backend) *env {
	t.Helper()
	st, dsn := b.Open(t)
	e := &env{ctx: context.Background(), st: st, dsn: dsn, clock: chipgatetest.NewClock(start), actors: map[string]domain.Actor{}}
	e.svc = chipgatetest.NewService(t, st, e.clock.Now)
	if _, err := demo.Load(e.ctx, e.svc); err != nil {
		t.Fatal(err)
	}
	creds, err := demo.IssueTokens(e.ctx, e.svc, 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for slug, c := range creds {
		if e.actors[slug], err = e.svc.Authenticate(e.ctx, c.Token); err != nil {
			t.Fatalf("authenticate %s: %v", slug, err)
		}
	}
	return e
}

// run runs fn as a subtest per backend, each with a fresh env, in
// parallel with the other tests that use run: each has a store of its own,
// and most of a test's time is spent waiting for the database.
func run(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, b storetest.Backend) { fn(t, newEnv(t, b)) })
}

// as returns the actor of a cast party.
func (e *env) as(slug string) domain.Actor {
	who, ok := e.actors[slug]
	if !ok {
		panic("no cast party " + slug)
	}
	return who
}

// officer adds a user to a cast party and returns it as authenticated by
// a token of its own: a second officer of the same authority.
func (e *env) officer(t *testing.T, party, name string) domain.Actor {
	t.Helper()
	u, err := e.svc.CreateUser(e.ctx, domain.SystemActor, service.UserRequest{Party: party, Name: name, Duties: domain.AllDuties})
	must(t, err)
	tok, err := e.svc.IssueToken(e.ctx, domain.SystemActor, u.ID, "test", 0)
	must(t, err)
	who, err := e.svc.Authenticate(e.ctx, tok.Secret)
	must(t, err)
	return who
}

// castOf is one cast party of each role.
var castOf = map[domain.Role]string{
	domain.RoleVendor: "nvidia", domain.RoleExportAuthority: "us-commerce", domain.RoleImportAuthority: "cn-mofcom",
	domain.RoleBuyer: "bytedance", domain.RoleLab: "us-testlab", domain.RoleCarrier: "carrier", domain.RoleAuditor: "auditor",
}

// refused runs fn as a cast party of every role not in allowed, each in a
// subtest named after the role, and wants EFORBIDDEN and no audit record.
func (e *env) refused(t *testing.T, allowed []domain.Role, fn func(who domain.Actor) error) {
	t.Helper()
	for _, r := range domain.Roles {
		if slices.Contains(allowed, r) {
			continue
		}
		t.Run(string(r), func(t *testing.T) {
			t.Helper()
			before := e.auditSize(t)
			wantCode(t, fn(e.as(castOf[r])), domain.EFORBIDDEN)
			e.unchanged(t, before)
		})
	}
}

// wantCode fails unless err carries the error code (nil for "").
func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := domain.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

// wantInvalid fails unless err is EINVALID naming path first.
func wantInvalid(t testing.TB, err error, path string) {
	t.Helper()
	wantCode(t, err, domain.EINVALID)
	if f := domain.ErrorFields(err); len(f) == 0 || f[0].Path != path {
		t.Fatalf("error %v: fields %+v, want the path %q first", err, f, path)
	}
}

// must fails the test on an error.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// auditSize is the number of audit records committed.
func (e *env) auditSize(t testing.TB) int64 {
	t.Helper()
	var n int64
	must(t, e.st.View(e.ctx, func(tx store.Tx) (err error) { n, err = tx.AuditSize(e.ctx); return err }))
	return n
}

// unchanged fails unless the audit log still holds n records: a refused
// command wrote nothing.
func (e *env) unchanged(t testing.TB, n int64) {
	t.Helper()
	if got := e.auditSize(t); got != n {
		t.Fatalf("a refused command wrote %d audit records", got-n)
	}
}

// recorded reads back the audit records committed since index from and
// fails unless their actions are exactly actions, in order, each by who.
func (e *env) recorded(t testing.TB, from int64, who domain.Actor, actions ...string) []domain.AuditRecord {
	t.Helper()
	var recs []domain.AuditRecord
	must(t, e.st.View(e.ctx, func(tx store.Tx) (err error) { recs, err = tx.AuditRecords(e.ctx, from, from+1000); return err }))
	var got []string
	for _, r := range recs {
		got = append(got, r.Action)
		if r.ActorParty != who.PartySlug || r.ActorRole != string(who.Role) {
			t.Errorf("record %d %s by %s (%s), want by %s (%s)", r.Index, r.Action, r.ActorParty, r.ActorRole, who.PartySlug, who.Role)
		}
	}
	if !slices.Equal(got, actions) {
		t.Fatalf("recorded %q, want %q", got, actions)
	}
	return recs
}

// payload decodes a record's payload.
func payload[T any](t testing.TB, r domain.AuditRecord) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Payload, &v); err != nil {
		t.Fatalf("payload of %s: %v", r.Action, err)
	}
	return v
}

// applicationFor is a clean application of a cast buyer with one site in
// its own country, as the demo story files them.
func applicationFor(buyer string) service.ApplicationRequest {
	for _, c := range demo.Cast {
		if c.Slug == buyer {
			return service.ApplicationRequest{
				LegalName: c.Name, Country: c.Country, Registered: "2012-03-09",
				Addresses: []string{"1 Compute Campus Road, " + c.Country}, BusinessType: c.Class, Sector: "private",
				EndUses: []string{"commercial_ai"}, KYCAttested: true, Volumes: map[string]int64{"h200": 1000},
				Sites: []domain.Site{{Address: "Data center 1, Compute Campus", Country: c.Country, PowerMW: 200, CloudService: true}},
			}
		}
	}
	panic("no cast buyer " + buyer)
}

// apply files a clean application of a cast buyer.
func (e *env) apply(t testing.TB, buyer string) domain.Application {
	t.Helper()
	a, err := e.svc.SubmitApplication(e.ctx, e.as(buyer), applicationFor(buyer))
	must(t, err)
	if a.Status != domain.AppSubmitted {
		t.Fatalf("%s's application is %s: %+v", buyer, a.Status, a.Screening)
	}
	return a
}

// grant is an H200 license from nvidia for quantity units, valid in 2026.
func grant(quantity int64) service.LicenseGrant {
	return service.LicenseGrant{Vendor: "nvidia", Products: []string{"h200"}, Quantity: quantity, ValidFrom: "2026-01-01", ValidUntil: "2027-01-01"}
}

// approve approves an application with one H200 license.
func (e *env) approve(t testing.TB, app domain.ID, quantity int64) (domain.Application, domain.License) {
	t.Helper()
	a, ls, err := e.svc.DecideApplication(e.ctx, e.as("us-commerce"), app, service.ApplicationDecision{Decision: "approve", Licenses: []service.LicenseGrant{grant(quantity)}})
	must(t, err)
	return a, ls[0]
}

// permitRequest grants a buyer an H200 import permit valid in 2026.
func permitRequest(buyer string, quantity int64) service.PermitRequest {
	return service.PermitRequest{Buyer: buyer, Decision: "grant", Products: []string{"h200"}, Quantity: quantity, ValidFrom: "2026-01-01", ValidUntil: "2027-01-01"}
}

// customer makes a cast buyer an approved customer: a US buyer by its
// application alone, a Chinese one with a license and an import permit of
// quantity units. It returns the application and the license (zero for a
// US buyer).
func (e *env) customer(t testing.TB, buyer string, quantity int64) (domain.Application, domain.License) {
	t.Helper()
	a := e.apply(t, buyer)
	if a.Country == "US" {
		return a, domain.License{}
	}
	a, l := e.approve(t, a.ID, quantity)
	_, err := e.svc.DecidePermit(e.ctx, e.as("cn-mofcom"), permitRequest(buyer, quantity))
	must(t, err)
	return a, l
}

// order places an order of a customer and fails unless it is accepted.
// Ordering has its own tests; here it only makes units to ship.
func (e *env) order(t testing.TB, buyer string, quantity int64) domain.Order {
	t.Helper()
	o, err := e.svc.PlaceOrder(e.ctx, e.as(buyer), service.OrderRequest{Product: "h200", Quantity: quantity, Period: "2026-03-02", EndUse: "commercial_ai"})
	must(t, err)
	if o.Status != domain.OrderAccepted {
		t.Fatalf("%s's order is %s: %+v", buyer, o.Status, o.Decision)
	}
	return o
}

// firstLot is the demo's first H200 lot, available from 2025-12-15.
const firstLot = "TW-H200-2025-12-01"

var serialSeq atomic.Int64

// serials returns n serial numbers never used before in this test binary.
func serials(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("SN-%08d", serialSeq.Add(1))
	}
	return out
}

// usd is a unit value of USD 30,000.00.
var usd = domain.Money{Minor: 3_000_000, Currency: "USD"}

// ship ships all units of an accepted order from the first lot.
func (e *env) ship(t testing.TB, o domain.Order) domain.Shipment {
	t.Helper()
	sh, err := e.svc.CreateShipment(e.ctx, e.as("nvidia"), service.ShipmentRequest{Order: o.ID.String(), Lot: firstLot, Serials: serials(int(o.Quantity - o.Shipped)), UnitValue: usd, Carriers: carriers, Lab: "us-testlab"})
	must(t, err)
	return sh
}

// carriers names the demo's carrier for every leg of a shipment.
var carriers = []string{"carrier"}

// speaker is who records an event: the export authority its export
// clearance, China's import authority a customs clearance into China, the
// carrier every other.
func (e *env) speaker(kind, country string) domain.Actor { return e.as(speakerOf(kind, country)) }

// speakerOf is the cast party that records an event of the kind in the
// country.
func speakerOf(kind, country string) string {
	switch {
	case kind == "export_cleared":
		return "us-commerce"
	case kind == "customs_cleared" && (country == "CN" || country == "MO"):
		return "cn-mofcom"
	}
	return "carrier"
}

// move records a shipment's custody and border events, each a minute
// after the last, each by its speaker: pairs of kind and country.
func (e *env) move(t testing.TB, sh domain.Shipment, events ...string) domain.Shipment {
	t.Helper()
	for i := 0; i+1 < len(events); i += 2 {
		e.clock.Add(time.Minute)
		var err error
		sh, err = e.svc.RecordEvent(e.ctx, e.speaker(events[i], events[i+1]), sh.ID, service.EventRequest{Kind: events[i], Country: events[i+1], Place: "terminal " + events[i+1]})
		if err != nil {
			t.Fatalf("%s in %s: %v", events[i], events[i+1], err)
		}
	}
	return sh
}

// genuine is the lab's measurement of a genuine H200.
func (e *env) genuine(t testing.TB) service.LabTestRequest {
	t.Helper()
	p, err := e.svc.Product(e.ctx, e.as("us-testlab"), "h200")
	must(t, err)
	return service.LabTestRequest{Throughput: p.Spec.Throughput, BandwidthGBps: p.Spec.BandwidthGBps}
}

// newActor registers a party beyond the demo cast with one user and
// returns its actor, authenticated from a fresh token.
func (e *env) newActor(t testing.TB, in service.PartyRequest) domain.Actor {
	t.Helper()
	sys := domain.SystemActor
	_, err := e.svc.CreateParty(e.ctx, sys, in)
	must(t, err)
	u, err := e.svc.CreateUser(e.ctx, sys, service.UserRequest{Party: in.Slug, Name: in.Slug + " user", Duties: domain.AllDuties})
	must(t, err)
	tok, err := e.svc.IssueToken(e.ctx, sys, u.ID, "test", 0)
	must(t, err)
	who, err := e.svc.Authenticate(e.ctx, tok.Secret)
	must(t, err)
	return who
}
