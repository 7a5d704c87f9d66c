package service_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/screening"
	"github.com/chipgate/chipgate/internal/service"
)

// TestListIntegrity: a new list version that fails to parse a record,
// shrinks by more than the policy allows, or loses an entity carrying an
// open hit is refused with the reason; the lists in force stay and keep
// the hit, the refusal is in the ledger and alerts the export authority;
// force with a reason overrides, and the override is in the ledger.
func TestListIntegrity(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		auth := e.as("us-commerce")
		ents := chipgatetest.ScreeningIndex(t).Entities()
		blocked := e.application(t, e.submit(t, listedName).ID)
		if blocked.Screening.Status != "match" || len(blocked.Screening.Hits) == 0 {
			t.Fatalf("setup: %s screening %+v", listedName, blocked.Screening)
		}
		hit := blocked.Screening.Hits[0]
		without := slices.DeleteFunc(slices.Clone(ents), func(en screening.Entity) bool {
			src := en.PrimarySource()
			return src.List == hit.List && src.ID == hit.SourceID
		})
		cases := []struct {
			name string
			ix   *screening.Index
			opt  service.ListReload
			want string
		}{
			{"RecordFailedToParse", screening.NewIndex(ents), service.ListReload{Skipped: 1}, "1 records failed to parse"},
			{"Shrinks", screening.NewIndex(ents[:len(ents)/2]), service.ListReload{}, "shrinks from"},
			{"LosesOpenHit", screening.NewIndex(without), service.ListReload{}, "loses listed entities with open hits: " + hit.List},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := e.auditSize(t)
				_, err := e.svc.ReloadListsWith(e.ctx, auth, c.ix, c.opt)
				if domain.ErrorCode(err) != domain.ECONFLICT || !strings.Contains(domain.ErrorMessage(err), c.want) {
					t.Fatalf("reload: %v, want a conflict naming %q", err, c.want)
				}
				recs := e.recorded(t, before, auth, "lists.refused", "alert.raised")
				if !strings.Contains(string(recs[0].Payload), c.want) {
					t.Errorf("ledger record %s", recs[0].Payload)
				}
				if a := e.application(t, blocked.ID); a.Screening.Status != "match" {
					t.Errorf("after a refused reload the hit went: %+v", a.Screening)
				}
				res, _, err := e.svc.Screen(e.ctx, auth, []service.ScreenQuery{{Name: listedName}}, 0, 0)
				if err != nil || len(res[0].Hits) == 0 {
					t.Errorf("lists in force lost %s: %v %+v", listedName, err, res)
				}
			})
		}
		alerts, err := e.svc.Alerts(e.ctx, auth, nil)
		must(t, err)
		n := 0
		for _, a := range alerts {
			if a.Kind == "list_refused" {
				n++
			}
		}
		if n != len(cases) {
			t.Errorf("%d list_refused alerts, want %d", n, len(cases))
		}
		t.Run("ForceNeedsReason", func(t *testing.T) {
			_, err := e.svc.ReloadListsWith(e.ctx, auth, screening.NewIndex(without), service.ListReload{Force: true})
			if f := domain.ErrorFields(err); len(f) == 0 || f[0].Path != "reason" {
				t.Fatalf("force without a reason: %v", err)
			}
		})
		t.Run("ForceWithReason", func(t *testing.T) {
			before := e.auditSize(t)
			if _, err := e.svc.ReloadListsWith(e.ctx, auth, screening.NewIndex(without), service.ListReload{Force: true, Reason: "entry delisted, FR notice 2026-01234"}); err != nil {
				t.Fatal(err)
			}
			recs := e.recorded(t, before, auth, "lists.forced", "application.rescreened")
			if len(recs) == 0 || recs[0].Action != "lists.forced" || !strings.Contains(string(recs[0].Payload), "FR notice 2026-01234") {
				t.Fatalf("first record %+v", recs)
			}
		})
		t.Run("Forbidden", func(t *testing.T) {
			e.refused(t, []domain.Role{domain.RoleExportAuthority}, func(who domain.Actor) error {
				_, err := e.svc.ReloadListsWith(e.ctx, who, screening.NewIndex(ents), service.ListReload{})
				return err
			})
		})
	})
}

// TestDecisionsStickUntilEntryChanges: an officer's decision on a hit
// survives a reload of the same lists, and a reload that changes the
// listed entry's content (here a new program) re-opens the hit.
func TestDecisionsStickUntilEntryChanges(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		auth := e.as("us-commerce")
		a := e.application(t, e.submit(t, similarName).ID)
		hit := a.Screening.Hits[0]
		if _, err := e.svc.ReviewHits(e.ctx, auth, a.ID, []service.HitReview{clear(0)}); err != nil {
			t.Fatal(err)
		}
		ents := slices.Clone(chipgatetest.ScreeningIndex(t).Entities())
		rep, err := e.svc.ReloadListsWith(e.ctx, auth, screening.NewIndex(ents), service.ListReload{})
		must(t, err)
		got := e.application(t, a.ID)
		if rep.Changed != 0 || got.Screening.Hits[0].Review != "false_positive" || got.Screening.Status != "clear" {
			t.Fatalf("the same lists reloaded: %+v, screening %+v", rep, got.Screening)
		}
		for i, en := range ents {
			if src := en.PrimarySource(); src.List == hit.List && src.ID == hit.SourceID {
				ents[i].Programs = append(slices.Clone(en.Programs), "NEW-PROGRAM")
			}
		}
		before := e.auditSize(t)
		rep, err = e.svc.ReloadListsWith(e.ctx, auth, screening.NewIndex(ents), service.ListReload{})
		must(t, err)
		got = e.application(t, a.ID)
		h := got.Screening.Hits[0]
		if rep.Changed != 1 || h.Review != "" || len(h.Decisions) != 0 || got.Screening.Status != "potential_match" || !slices.Contains(h.Entry.Programs, "NEW-PROGRAM") {
			t.Fatalf("a changed entry: %+v, hit %+v, screening %s", rep, h, got.Screening.Status)
		}
		e.recorded(t, before, auth, "lists.accepted", "application.rescreened")
	})
}

// TestScreeningLog: every screening is logged with who, when, the query,
// the list versions used and the hit count — an ad-hoc search (one entry
// per name of a batch) as well as each name of an application — and the
// search returns the list versions it used. Only the export authority and
// the auditor read the log.
func TestScreeningLog(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		auth, vendor := e.as("us-commerce"), e.as("nvidia")
		res, versions, err := e.svc.Screen(e.ctx, vendor, []service.ScreenQuery{{Name: listedName, Country: "CN"}, {Name: "Nobody Such Trading"}}, 0, 0)
		must(t, err)
		if len(versions) == 0 || versions[0].Digest == "" || versions[0].Entities == 0 {
			t.Fatalf("list versions %+v", versions)
		}
		a := e.submit(t, similarName)
		log, err := e.svc.ScreeningLog(e.ctx, auth, time.Time{}, 0)
		must(t, err)
		var adhoc, app []service.ScreeningLogEntry
		for _, l := range log {
			switch l.Kind {
			case "adhoc":
				adhoc = append(adhoc, l)
			case "application":
				app = append(app, l)
			}
		}
		if len(adhoc) != 2 {
			t.Fatalf("ad-hoc entries %+v", adhoc)
		}
		want := map[string]int{listedName: len(res[0].Hits), "Nobody Such Trading": 0}
		for _, l := range adhoc {
			if n, ok := want[l.Query]; !ok || l.Hits != n || l.Officer != "nvidia demo user" || l.Party != "nvidia" || l.UserID != vendor.UserID ||
				len(l.Lists) != len(versions) || l.Lists[0] != versions[0].List+"@"+versions[0].Digest || l.At.IsZero() || l.MinScore != 0.86 {
				t.Errorf("ad-hoc entry %+v", l)
			}
		}
		legal := slices.IndexFunc(app, func(l service.ScreeningLogEntry) bool { return l.Via == "legal_name" })
		if legal < 0 || app[legal].Subject != a.ID.String() || app[legal].Query != similarName || app[legal].Hits == 0 || app[legal].Party != "bytedance" {
			t.Fatalf("application entries %+v", app)
		}
		if !slices.ContainsFunc(app, func(l service.ScreeningLogEntry) bool {
			return l.Via == "sites[0].address" && l.Subject == a.ID.String()
		}) {
			t.Fatalf("no entry for the site's address: %+v", app)
		}
		if page, err := e.svc.ScreeningLog(e.ctx, auth, log[0].At, 0); err != nil || len(page) != 0 {
			t.Fatalf("before the newest (all logged at one instant): %d, %v", len(page), err)
		}
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, []domain.Role{domain.RoleExportAuthority, domain.RoleAuditor}, func(who domain.Actor) error {
				_, err := e.svc.ScreeningLog(e.ctx, who, time.Time{}, 0)
				return err
			})
		})
		t.Run("ErrLimit", func(t *testing.T) {
			_, err := e.svc.ScreeningLog(e.ctx, auth, time.Time{}, service.MaxScreeningLogPage+1)
			wantInvalid(t, err, "limit")
		})
	})
}

// TestNewListingBlocks: a reload that lists an existing customer makes it
// a match, and at once its open orders are held under the listed-end-user
// rule (their units back on the license), its licenses are suspended
// pending review, the export authority gets an alert naming the list
// entry, and its shipment is stopped at its next border step with the
// reason; an order already shipped in full stays as it is.
func TestNewListingBlocks(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		auth := e.as("us-commerce")
		e.customer(t, "us-cloud-a", 0)
		app, lic := e.customer(t, "bytedance", 100)
		e.order(t, "us-cloud-a", 1000) // room under the CN cap
		open := e.order(t, "bytedance", 10)
		sh := e.move(t, e.shipment(t, "bytedance", 5), "picked_up", "TW")
		ents := slices.Clone(chipgatetest.ScreeningIndex(t).Entities())
		ents = append(ents, screening.Entity{Key: "EL:new-listing", Type: screening.TypeEntity, Name: app.LegalName, Countries: []string{"CN"},
			Programs: []string{"EAR744"}, Sources: []screening.Source{{List: "EL", ID: "el-2026-0001", Name: app.LegalName, Listed: "2026-02-01", Notice: "91 FR 4321"}}})
		before := e.auditSize(t)
		rep, err := e.svc.ReloadListsWith(e.ctx, auth, screening.NewIndex(ents), service.ListReload{})
		must(t, err)
		if rep.NewMatches != 1 {
			t.Fatalf("reload: %+v, want one new match", rep)
		}
		if got := e.application(t, app.ID); got.Screening.Status != "match" {
			t.Fatalf("the newly listed customer: %+v", got.Screening)
		}
		o, err := e.svc.Order(e.ctx, auth, open.ID)
		must(t, err)
		last := o.Decision.Reasons[len(o.Decision.Reasons)-1]
		if o.Status != domain.OrderHeld || last.Rule != "end-user.listed" || last.Source != "S5" || !strings.Contains(last.Message, "el-2026-0001") || !strings.Contains(last.Message, "91 FR 4321") {
			t.Fatalf("the open order: %s, %+v", o.Status, last)
		}
		l := e.license(t, lic.ID)
		if l.Status != domain.GrantSuspended || l.Remaining != lic.Remaining-5 {
			t.Fatalf("the license: %s, remaining %d (was %d before both orders)", l.Status, l.Remaining, lic.Remaining)
		}
		recs := e.recorded(t, before, auth, "lists.accepted", "application.rescreened", "order.held_for_review", "license.suspended", "alert.raised")
		alert := payload[domain.Alert](t, recs[len(recs)-1])
		if alert.Kind != "new_listing" || alert.Buyer != "bytedance" || !strings.Contains(strings.Join(alert.Evidence, "\n"), "91 FR 4321") ||
			!strings.Contains(strings.Join(alert.Evidence, "\n"), app.LegalName) || alert.Reasons[0].Rule != "end-user.listed" {
			t.Fatalf("alert %+v", alert)
		}
		_, err = e.svc.RecordEvent(e.ctx, e.speaker("arrived", "US"), sh.ID, service.EventRequest{Kind: "arrived", Country: "US", Place: "LAX"})
		if domain.ErrorCode(err) != domain.ECONFLICT || !strings.Contains(domain.ErrorMessage(err), "shipment stopped under rule end-user.listed") ||
			!strings.Contains(domain.ErrorMessage(err), "el-2026-0001") {
			t.Fatalf("the shipment's next step: %v", err)
		}
		// The officers clear the hit (four eyes): the shipment moves on.
		_, err = e.svc.ReviewHits(e.ctx, auth, app.ID, []service.HitReview{clear(0)})
		must(t, err)
		_, err = e.svc.ReviewHits(e.ctx, e.officer(t, "us-commerce", "second officer"), app.ID, []service.HitReview{clear(0)})
		must(t, err)
		e.move(t, sh, "arrived", "US")
	})
}

// TestShipmentScreensCustody: a new shipment screens the carriers and the
// lab it names; a listed carrier refuses it, naming the party and the
// entry, and the screenings are logged either way.
func TestShipmentScreensCustody(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.customer(t, "us-cloud-a", 0)
		o := e.order(t, "us-cloud-a", 10)
		e.newActor(t, service.PartyRequest{Slug: "harbin-freight", Name: listedName, Role: domain.RoleCarrier, Country: "CN"})
		req := service.ShipmentRequest{Order: o.ID.String(), Lot: firstLot, Serials: serials(2), UnitValue: usd, Carriers: []string{"harbin-freight"}, Lab: "us-testlab"}
		before := e.auditSize(t)
		_, err := e.svc.CreateShipment(e.ctx, e.as("nvidia"), req)
		if domain.ErrorCode(err) != domain.ECONFLICT || !strings.Contains(domain.ErrorMessage(err), "carriers[0] harbin-freight matches EL entry") {
			t.Fatalf("a listed carrier: %v", err)
		}
		e.unchanged(t, before)
		req.Carriers = carriers
		sh, err := e.svc.CreateShipment(e.ctx, e.as("nvidia"), req)
		must(t, err)
		log, err := e.svc.ScreeningLog(e.ctx, e.as("us-commerce"), time.Time{}, 10)
		must(t, err)
		var refused, shipped int
		for _, l := range log {
			if l.Kind == "shipment" && l.Query == listedName && l.Via == "carriers[0]" && l.Hits > 0 {
				refused++
			}
			if l.Kind == "shipment" && l.Subject == sh.ID.String() {
				shipped++
			}
		}
		want := 1 // the carrier, and the lab when the route has one
		if sh.Lab != nil {
			want++
		}
		if refused != 1 || shipped != want {
			t.Fatalf("shipment screenings logged: refused carrier %d, shipped %d (want %d); log %+v", refused, shipped, want, log)
		}
	})
}
