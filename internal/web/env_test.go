package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/demo"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/server"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/web"
)

// env is the API server with the dashboard mounted, over the demo data and
// its story (chipgatetest.Env), one pending application (of the party
// "newco"), one allocation run and a signed checkpoint. Its fields name
// the kit's parts as the tests use them.
type env struct {
	t     testing.TB
	kit   *chipgatetest.Env
	url   string
	svc   *service.Service
	creds map[string]demo.Credential
	clock *chipgatetest.Clock
	// pending is newco's application, waiting for the export authority.
	pending domain.Application
	// Shipments on the road: bytedance's cleared in the US and waiting at
	// the lab (duty assessed), alibaba's picked up in Taiwan, us-cloud-a's
	// delivered in the US (duty assessed).
	atLab, inTransit, delivered domain.Shipment
	// alert is the export authority's open alert: a serial that was never
	// shipped checked in.
	alert   domain.Alert
	serials int
	// story is the shipments of the demo story, on the road an hour before
	// the env's own.
	story []service.ShipmentView
}

// sessionKey is the dashboard's session key; a replica given the same key
// accepts the env's sessions.
const sessionKey = "test key, 32 bytes long, really"

func newEnv(t testing.TB) *env {
	t.Helper()
	kit := chipgatetest.New(t, chipgatetest.WithStory())
	ctx := context.Background()
	svc, creds, c := kit.Service, kit.Creds, kit.Clock
	e := &env{t: t, kit: kit, svc: svc, creds: creds, clock: c}
	var err error
	if e.story, err = svc.Shipments(ctx, domain.SystemActor); err != nil {
		t.Fatal(err)
	}
	// What follows happens after the story: newest first is the env's.
	c.Add(time.Hour)

	// A new buyer whose application waits for the export authority.
	sys := domain.SystemActor
	if _, err := svc.CreateParty(ctx, sys, service.PartyRequest{Slug: "newco", Name: "NewCo Compute (Shanghai) Ltd.", Role: domain.RoleBuyer, Country: "CN", Class: domain.ClassSME}); err != nil {
		t.Fatal(err)
	}
	u, err := svc.CreateUser(ctx, sys, service.UserRequest{Party: "newco", Name: "newco officer", Duties: domain.AllDuties})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := svc.IssueToken(ctx, sys, u.ID, "test", chipgatetest.TokenTTL)
	if err != nil {
		t.Fatal(err)
	}
	creds["newco"] = demo.Credential{Role: domain.RoleBuyer, Token: tok.Secret}
	e.pending, err = svc.SubmitApplication(ctx, e.actor("newco"), service.ApplicationRequest{
		LegalName: "NewCo Compute (Shanghai) Ltd.", Country: "CN", Registered: "2023-05-01",
		Addresses: []string{"88 Century Avenue, Shanghai"}, BusinessType: domain.ClassSME, Sector: "private",
		EndUses: []string{"commercial_ai"}, KYCAttested: true, Volumes: map[string]int64{"h200": 3000},
		Sites: []domain.Site{{Address: "Data center 2, Lingang", Country: "CN", PowerMW: 6}},
		// A listed minority owner: a potential match for the authority to review.
		Owners: []domain.Owner{{Name: "Huawei Technologies Co., Ltd.", Country: "CN", Share: 20}, {Name: "Founders", Share: 80}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// As the export authority reads it: the buyer's copy has no hits.
	if e.pending, err = svc.Application(ctx, e.actor("us-commerce"), e.pending.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RunAllocation(ctx, e.actor("nvidia"), service.AllocationRunRequest{}); err != nil {
		t.Fatal(err)
	}

	e.shipDemo()

	e.sign()
	e.url = kit.Serve(server.Options{Pages: kit.Dashboard(web.Options{Key: []byte(sessionKey)})}).URL
	return e
}

// sign signs a checkpoint of the log as it is.
func (e *env) sign() {
	e.t.Helper()
	e.kit.Sign()
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so that tests see them.
type browser struct {
	e      *env
	c      *http.Client
	jar    http.CookieJar
	origin string
	// lang is the Accept-Language the browser sends ("" for none).
	lang string
}

func (e *env) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &browser{e: e, jar: jar, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// response is a finished response with its body read.
type response struct {
	status int
	body   string
	header http.Header
}

func (b *browser) do(method, path string, form url.Values) response {
	b.e.t.Helper()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.url+path, rd)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.origin != "" {
		req.Header.Set("Origin", b.origin)
	}
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return response{resp.StatusCode, string(body), resp.Header}
}

func (b *browser) get(path string) response { return b.do("GET", path, nil) }

func (b *browser) post(path string, form url.Values) response { return b.do("POST", path, form) }

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token from a page's form.
func csrfOf(t testing.TB, body string) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf field in:\n%s", body)
	}
	return m[1]
}

// signIn signs in as the party and returns the CSRF token of its session.
func (b *browser) signIn(party string) string {
	t := b.e.t
	t.Helper()
	page := b.get("/signin")
	if page.status != http.StatusOK {
		t.Fatalf("GET /signin: %d", page.status)
	}
	r := b.post("/signin", url.Values{"csrf": {csrfOf(t, page.body)}, "token": {b.e.creds[party].Token}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("POST /signin as %s: %d\n%s", party, r.status, r.body)
	}
	home := b.get(r.header.Get("Location"))
	if home.status != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", r.header.Get("Location"), home.status, home.body)
	}
	return csrfOf(t, home.body)
}

// actor is the demo party's first user.
func (e *env) actor(party string) domain.Actor {
	e.t.Helper()
	return e.kit.Actor(party)
}

// ship puts n units of the buyer's first accepted order into a shipment
// from the first demo lot, at USD 30,000.00 a unit.
func (e *env) ship(buyer string, n int) domain.Shipment {
	e.t.Helper()
	ctx := context.Background()
	orders, err := e.svc.Orders(ctx, e.actor(buyer), []string{string(domain.OrderAccepted)})
	if err != nil || len(orders) == 0 {
		e.t.Fatalf("%s has no accepted order (%v)", buyer, err)
	}
	sns := make([]string, n)
	for i := range sns {
		e.serials++
		sns[i] = fmt.Sprintf("SN-%06d", e.serials)
	}
	sh, err := e.svc.CreateShipment(ctx, e.actor("nvidia"), service.ShipmentRequest{Order: orders[0].ID.String(),
		Lot: demo.H200Lots()[0].Number, Serials: sns, UnitValue: domain.Money{Minor: 3_000_000, Currency: "USD"},
		Carriers: []string{"carrier"}, Lab: "us-testlab"})
	if err != nil {
		e.t.Fatalf("shipping for %s: %v", buyer, err)
	}
	return sh
}

// move records the carrier's events on a shipment, each "kind country".
func (e *env) move(sh domain.Shipment, events ...string) domain.Shipment {
	e.t.Helper()
	for _, ev := range events {
		kind, country, _ := strings.Cut(ev, " ")
		var err error
		if sh, err = e.svc.RecordEvent(context.Background(), e.actor("carrier"), sh.ID,
			service.EventRequest{Kind: kind, Country: country, Place: "hub " + country}); err != nil {
			e.t.Fatalf("%s on %s: %v", ev, sh.Number, err)
		}
	}
	return sh
}

// storyOf is the demo story's shipments of a buyer, or of every buyer
// when buyer is empty.
func (e *env) storyOf(buyer string) []service.ShipmentView {
	var out []service.ShipmentView
	for _, sv := range e.story {
		if buyer == "" || sv.Buyer == buyer {
			out = append(out, sv)
		}
	}
	return out
}

// shipDemo puts three shipments on the road besides the story's and raises
// one alert.
func (e *env) shipDemo() {
	e.t.Helper()
	e.atLab = e.move(e.ship("bytedance", 10), "picked_up TW", "arrived US", "customs_cleared US")
	e.inTransit = e.move(e.ship("alibaba", 4), "picked_up TW")
	e.delivered = e.move(e.ship("us-cloud-a", 5), "picked_up TW", "arrived US", "customs_cleared US", "delivered US")
	_, alerts, err := e.svc.CheckIn(context.Background(), e.actor("nvidia"), service.CheckInRequest{Serial: "SN-NEVER-SHIPPED", Country: "CN"})
	if err != nil || len(alerts) != 1 {
		e.t.Fatalf("check-in of an unshipped serial: %v %v", alerts, err)
	}
	e.alert = alerts[0]
}
