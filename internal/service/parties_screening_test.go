package service_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/demo"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/screening"
	"github.com/chipgate/chipgate/internal/service"
)

// listedSite is the address of a listed party's premises on the embedded
// list (Huawei Technologies, Entity List).
const listedSite = "Bantian Huawei Base, Longgang District, Shenzhen, 518129"

// withParty is bytedance's clean application naming one more party of a
// kind: consignees, end_users, forwarders, banks, or sites (a deployment
// site at that address).
func withParty(kind, name string) service.ApplicationRequest {
	in := applicationFor("bytedance")
	p := []domain.TransactionParty{{Name: name, Country: "CN", Address: "Room 1, 2 Harbour Road, Hong Kong"}}
	switch kind {
	case "consignees":
		in.Consignees = p
	case "end_users":
		in.EndUsers = p
	case "forwarders":
		in.Forwarders = p
	case "banks":
		in.Banks = p
	case "sites":
		in.Sites = append(in.Sites, domain.Site{Address: name, Country: "CN", PowerMW: 10})
	}
	return in
}

// TestEveryPartyScreened: an application's consignees, end users,
// forwarders, banks and deployment sites' addresses are screened at
// submission; a listed one blocks the application like a listed applicant,
// its hit naming the party (consignees[0], sites[1].address), and each
// screening is logged under the party's field.
func TestEveryPartyScreened(t *testing.T) {
	kinds := []struct{ kind, listed, via string }{
		{"consignees", listedName, "consignees[0]"},
		{"end_users", listedName, "end_users[0]"},
		{"forwarders", listedName, "forwarders[0]"},
		{"banks", listedName, "banks[0]"},
		{"sites", listedSite, "sites[1].address"},
	}
	run(t, func(t *testing.T, e *env) {
		for _, k := range kinds {
			t.Run(k.kind, func(t *testing.T) {
				a, err := e.svc.SubmitApplication(e.ctx, e.as("bytedance"), withParty(k.kind, k.listed))
				must(t, err)
				if a.Status != domain.AppBlocked || a.Screening.Status != "match" {
					t.Fatalf("a listed %s: %s, screening %s", k.kind, a.Status, a.Screening.Status)
				}
				if len(a.Screening.Hits) != 0 {
					t.Fatalf("the buyer reads its own hits: %+v", a.Screening.Hits)
				}
				got := e.application(t, a.ID)
				i := slices.IndexFunc(got.Screening.Hits, func(h domain.ScreeningHit) bool { return h.Via == k.via })
				if i < 0 || got.Screening.Hits[i].Score < 0.95 || got.Screening.Hits[i].Entry == nil {
					t.Fatalf("hits %+v, want one via %s at ≥ 0.95 with its entry", got.Screening.Hits, k.via)
				}
				log, err := e.svc.ScreeningLog(e.ctx, e.as("us-commerce"), time.Time{}, 50)
				must(t, err)
				if !slices.ContainsFunc(log, func(l service.ScreeningLogEntry) bool {
					return l.Subject == a.ID.String() && l.Via == k.via && l.Query == k.listed && l.Hits > 0 && len(l.Lists) > 0
				}) {
					t.Errorf("no log entry for %s", k.via)
				}
				clean, err := e.svc.SubmitApplication(e.ctx, e.as("bytedance"), withParty(k.kind, "Qinghe Cold Chain Storage Partners"))
				must(t, err)
				if clean.Status != domain.AppSubmitted || clean.Screening.Status != "clear" {
					t.Fatalf("a clean %s: %s, screening %s", k.kind, clean.Status, clean.Screening.Status)
				}
			})
		}
	})
}

// TestTransactionPartiesValidated: each kind is bounded in count and its
// parties' fields in length, errors naming the field.
func TestTransactionPartiesValidated(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		many := make([]domain.TransactionParty, domain.MaxTransactionParties+1)
		for i := range many {
			many[i] = domain.TransactionParty{Name: "Bank " + string(rune('A'+i)), Country: "CN"}
		}
		tests := []struct {
			path string
			edit func(*service.ApplicationRequest)
		}{
			{"consignees[0].name", func(in *service.ApplicationRequest) {
				in.Consignees = []domain.TransactionParty{{Name: " ", Country: "CN"}}
			}},
			{"end_users[0].country", func(in *service.ApplicationRequest) {
				in.EndUsers = []domain.TransactionParty{{Name: "X Co", Country: "China"}}
			}},
			{"forwarders[0].address", func(in *service.ApplicationRequest) {
				in.Forwarders = []domain.TransactionParty{{Name: "X Co", Country: "CN", Address: strings.Repeat("a", 501)}}
			}},
			{"banks[0].name", func(in *service.ApplicationRequest) {
				in.Banks = []domain.TransactionParty{{Name: strings.Repeat("b", 301), Country: "CN"}}
			}},
			{"banks", func(in *service.ApplicationRequest) { in.Banks = many }},
			{"consignees[0]", func(in *service.ApplicationRequest) {
				in.Consignees = []domain.TransactionParty{{Name: "X\x00Co", Country: "CN"}}
			}},
		}
		for _, tt := range tests {
			in := applicationFor("bytedance")
			tt.edit(&in)
			before := e.auditSize(t)
			_, err := e.svc.SubmitApplication(e.ctx, e.as("bytedance"), in)
			wantInvalid(t, err, tt.path)
			e.unchanged(t, before)
		}
	})
}

// TestPartiesRescreenedOnReload: a reload that lists an approved
// customer's consignee (and another customer's site address) makes each a
// new match: open orders held, licenses suspended, the alert naming the
// party and the entry; the next order is not accepted.
func TestPartiesRescreenedOnReload(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		auth := e.as("us-commerce")
		e.customer(t, "us-cloud-a", 0)
		e.order(t, "us-cloud-a", 1000) // room under the CN cap
		in := applicationFor("bytedance")
		in.Consignees = []domain.TransactionParty{{Name: "Qinghe Cold Chain Storage Partners", Country: "CN"}}
		in.Banks = []domain.TransactionParty{{Name: "Bank of Lanzhou Harbour", Country: "CN"}}
		a, err := e.svc.SubmitApplication(e.ctx, e.as("bytedance"), in)
		must(t, err)
		a, lic := e.approve(t, a.ID, 100)
		_, err = e.svc.DecidePermit(e.ctx, e.as("cn-mofcom"), permitRequest("bytedance", 100))
		must(t, err)
		open := e.order(t, "bytedance", 10)

		ents := slices.Clone(chipgatetest.ScreeningIndex(t).Entities())
		ents = append(ents, screening.Entity{Key: "EL:consignee", Type: screening.TypeEntity, Name: "Qinghe Cold Chain Storage Partners", Countries: []string{"CN"},
			Programs: []string{"EAR744"}, Sources: []screening.Source{{List: "EL", ID: "el-2026-0077", Name: "Qinghe Cold Chain Storage Partners", Listed: "2026-02-01", Notice: "91 FR 7777"}}})
		before := e.auditSize(t)
		rep, err := e.svc.ReloadListsWith(e.ctx, auth, screening.NewIndex(ents), service.ListReload{})
		must(t, err)
		if rep.NewMatches != 1 {
			t.Fatalf("reload: %+v, want one new match", rep)
		}
		got := e.application(t, a.ID)
		if got.Screening.Status != "match" || !slices.ContainsFunc(got.Screening.Hits, func(h domain.ScreeningHit) bool { return h.Via == "consignees[0]" && h.SourceID == "el-2026-0077" }) {
			t.Fatalf("the screening after the reload: %+v", got.Screening)
		}
		o, err := e.svc.Order(e.ctx, auth, open.ID)
		must(t, err)
		if o.Status != domain.OrderHeld || !strings.Contains(o.Decision.Reasons[len(o.Decision.Reasons)-1].Message, "(consignees[0])") {
			t.Fatalf("the open order: %s %+v", o.Status, o.Decision.Reasons)
		}
		if l := e.license(t, lic.ID); l.Status != domain.GrantSuspended {
			t.Fatalf("the license: %s", l.Status)
		}
		recs := e.recorded(t, before, auth, "lists.accepted", "application.rescreened", "order.held_for_review", "license.suspended", "alert.raised")
		alert := payload[domain.Alert](t, recs[len(recs)-1])
		if ev := strings.Join(alert.Evidence, "\n"); alert.Kind != "new_listing" || !strings.Contains(ev, "91 FR 7777") || !strings.Contains(ev, "consignees[0]") {
			t.Fatalf("alert %+v", alert)
		}
		// At order: the screening the order reads is the match.
		next, err := e.svc.PlaceOrder(e.ctx, e.as("bytedance"), service.OrderRequest{Product: "h200", Quantity: 1, Period: "2026-03-02", EndUse: "commercial_ai"})
		if err == nil && next.Status == domain.OrderAccepted {
			t.Fatalf("an order after the listing was accepted: %+v", next.Decision)
		}
	})
}

// castParty is the demo cast's party of a slug.
func castParty(t testing.TB, slug string) service.PartyRequest {
	t.Helper()
	for _, c := range demo.Cast {
		if c.Slug == slug {
			return c
		}
	}
	t.Fatalf("no cast party %s", slug)
	return service.PartyRequest{}
}

// listing is the embedded lists plus an Entity List entry of name.
func listing(t testing.TB, name, country, id string) *screening.Index {
	ents := slices.Clone(chipgatetest.ScreeningIndex(t).Entities())
	ents = append(ents, screening.Entity{Key: "EL:" + id, Type: screening.TypeEntity, Name: name, Countries: []string{country},
		Programs: []string{"EAR744"}, Sources: []screening.Source{{List: "EL", ID: id, Name: name, Listed: "2026-02-01", Notice: "91 FR 8888"}}})
	return screening.NewIndex(ents)
}

// TestCustodiansRescreenedOnReload: every reload screens the carriers and
// labs again; one that becomes listed stops the shipments under way that
// depend on it at their next step, and the export authority's alert names
// the entry and the shipments. The steps read the current result: a reload
// without the listing lets the shipment move on.
func TestCustodiansRescreenedOnReload(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		auth := e.as("us-commerce")
		e.customer(t, "us-cloud-a", 0)
		e.order(t, "us-cloud-a", 1000) // room under the CN cap
		e.customer(t, "bytedance", 100)
		sh := e.shipment(t, "bytedance", 5)
		lab := castParty(t, "us-testlab")

		before := e.auditSize(t)
		rep, err := e.svc.ReloadListsWith(e.ctx, auth, listing(t, lab.Name, lab.Country, "el-2026-0100"), service.ListReload{})
		must(t, err)
		if rep.NewMatches != 1 || rep.Custodians < 2 {
			t.Fatalf("reload listing the lab: %+v", rep)
		}
		recs := e.recorded(t, before, auth, "lists.accepted", "party.rescreened", "alert.raised")
		alert := payload[domain.Alert](t, recs[len(recs)-1])
		ev := strings.Join(alert.Evidence, "\n")
		if alert.Kind != "new_listing" || alert.ShipmentID == nil || *alert.ShipmentID != sh.ID || !strings.Contains(ev, "el-2026-0100") ||
			!strings.Contains(ev, "91 FR 8888") || !strings.Contains(ev, sh.ID.String()) || alert.Reasons[0].Rule != "end-user.listed" {
			t.Fatalf("alert %+v", alert)
		}
		_, err = e.svc.RecordEvent(e.ctx, e.as("carrier"), sh.ID, service.EventRequest{Kind: "picked_up", Country: "TW", Place: "TPE"})
		if domain.ErrorCode(err) != domain.ECONFLICT || !strings.Contains(domain.ErrorMessage(err), "lab us-testlab has an open restricted-party match") ||
			!strings.Contains(domain.ErrorMessage(err), "el-2026-0100") {
			t.Fatalf("the next step with the lab listed: %v", err)
		}
		// The same lists again change nothing.
		before = e.auditSize(t)
		rep, err = e.svc.ReloadListsWith(e.ctx, auth, listing(t, lab.Name, lab.Country, "el-2026-0100"), service.ListReload{})
		must(t, err)
		if rep.NewMatches != 0 {
			t.Fatalf("the same lists again: %+v", rep)
		}
		e.recorded(t, before, auth, "lists.accepted")

		// The listing withdrawn: the step reads the current result.
		_, err = e.svc.ReloadListsWith(e.ctx, auth, chipgatetest.ScreeningIndex(t), service.ListReload{Force: true, Reason: "entry withdrawn"})
		must(t, err)
		sh = e.move(t, sh, "picked_up", "TW")

		carrier := castParty(t, "carrier")
		rep, err = e.svc.ReloadListsWith(e.ctx, auth, listing(t, carrier.Name, carrier.Country, "el-2026-0101"), service.ListReload{})
		must(t, err)
		if rep.NewMatches != 1 {
			t.Fatalf("reload listing the carrier: %+v", rep)
		}
		_, err = e.svc.RecordEvent(e.ctx, e.as("carrier"), sh.ID, service.EventRequest{Kind: "arrived", Country: "US", Place: "LAX"})
		if domain.ErrorCode(err) != domain.ECONFLICT || !strings.Contains(domain.ErrorMessage(err), "carrier carrier has an open restricted-party match") {
			t.Fatalf("the next step with the carrier listed: %v", err)
		}
	})
}
