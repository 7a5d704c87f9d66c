package service_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store"
)

// TestStrangerCarrier is issue 18's first defect: a carrier that never
// handled a shipment records its customs clearance in China, which draws
// the buyer's import permit, and then its delivery. Each attempt must be
// ENOTFOUND, reveal nothing of the shipment and change nothing.
func TestStrangerCarrier(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		shippingEnv(t, e, 1000)
		stranger := e.newActor(t, service.PartyRequest{Slug: "carrier-b", Name: "Another Carrier", Role: domain.RoleCarrier, Country: "US"})
		sh := e.tested(t, e.toLab(t, e.shipment(t, "bytedance", 2)))
		sh = e.move(t, sh, "export_cleared", "US", "picked_up", "US", "arrived", "CN")
		permitBefore := stored[domain.ImportPermit](t, e, store.KindPermit, *sh.PermitID).Imported
		for _, kind := range []string{"customs_cleared", "delivered", "handed_over", "picked_up", "arrived"} {
			before := e.auditSize(t)
			_, err := e.svc.RecordEvent(e.ctx, stranger, sh.ID, service.EventRequest{Kind: kind, Country: "CN", Place: "Shanghai Pudong", To: "carrier-b"})
			wantCode(t, err, domain.ENOTFOUND)
			if msg := domain.ErrorMessage(err); strings.Contains(msg, sh.Number) || strings.Contains(msg, string(sh.Status)) || strings.Contains(msg, "CN") {
				t.Fatalf("%s: the refusal reveals the shipment: %q", kind, msg)
			}
			e.unchanged(t, before)
		}
		if got := stored[domain.ImportPermit](t, e, store.KindPermit, *sh.PermitID).Imported; got != permitBefore {
			t.Fatalf("a stranger's customs clearance drew the permit: imported %d, was %d", got, permitBefore)
		}
		if got := stored[domain.Shipment](t, e, store.KindShipment, sh.ID); got.Status != domain.ShipArrived || len(got.Events) != len(sh.Events) {
			t.Fatalf("a stranger moved the shipment: %s, %d events", got.Status, len(got.Events))
		}
	})
}

// TestCheckInOthersSerial is issue 18's second defect: a buyer checks in
// another buyer's serial, which raised alerts against the competitor, reset
// the serial's last check-in and leaked the shipment's number, status, site
// and destination. It must be ENOTFOUND, reveal nothing and change nothing.
func TestCheckInOthersSerial(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		shippingEnv(t, e, 0)
		e.customer(t, "us-cloud-b", 0)
		sh := e.delivered(t, "us-cloud-a", 2)
		// The owner checks in from its licensed site: the baseline.
		_, _, err := e.svc.CheckIn(e.ctx, e.as("us-cloud-a"), service.CheckInRequest{Serial: sh.Serials[0], Site: 0, Country: "US"})
		must(t, err)
		var baseline []byte
		must(t, e.st.View(e.ctx, func(tx store.Tx) (err error) { baseline, err = tx.LastCheckIn(e.ctx, sh.Serials[0]); return err }))
		for _, in := range []service.CheckInRequest{
			{Serial: sh.Serials[0], Site: 3, Country: "SG"},
			{Serial: sh.Serials[1], Site: 0, Country: "US"},
		} {
			before := e.auditSize(t)
			_, alerts, err := e.svc.CheckIn(e.ctx, e.as("us-cloud-b"), in)
			wantCode(t, err, domain.ENOTFOUND)
			if len(alerts) != 0 {
				t.Fatalf("a competitor's check-in raised %v", kinds(alerts))
			}
			if msg := domain.ErrorMessage(err); strings.Contains(msg, sh.Number) || strings.Contains(msg, "delivered") || strings.Contains(msg, "us-cloud-a") {
				t.Fatalf("the refusal reveals the shipment: %q", msg)
			}
			e.unchanged(t, before)
		}
		var after []byte
		must(t, e.st.View(e.ctx, func(tx store.Tx) (err error) { after, err = tx.LastCheckIn(e.ctx, sh.Serials[0]); return err }))
		if string(after) != string(baseline) {
			t.Fatalf("a competitor reset the serial's last check-in: %s", after)
		}
		open, err := e.svc.Alerts(e.ctx, e.as("us-commerce"), []string{"open"})
		must(t, err)
		for _, a := range open {
			if a.Buyer == "us-cloud-a" {
				t.Fatalf("a competitor raised %s against us-cloud-a", a.Kind)
			}
		}
	})
}

// TestEventSpeakers walks a shipment to China through every event and its
// lab test, and at each step has every other party try it first: only the
// party the step belongs to succeeds (the carrier holding the shipment,
// the lab it names, the export authority for the export clearance, China's
// import authority for the customs clearance that draws the permit, the
// carrier it was handed over to for the delivery); each other party is
// refused, learns nothing and changes nothing.
func TestEventSpeakers(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		shippingEnv(t, e, 1000)
		e.actors["carrier-b"] = e.newActor(t, service.PartyRequest{Slug: "carrier-b", Name: "Another Carrier", Role: domain.RoleCarrier, Country: "CN"})
		e.actors["carrier-c"] = e.newActor(t, service.PartyRequest{Slug: "carrier-c", Name: "A Third Carrier", Role: domain.RoleCarrier, Country: "CN"})
		e.actors["lab-b"] = e.newActor(t, service.PartyRequest{Slug: "lab-b", Name: "Another Lab", Role: domain.RoleLab, Country: "US"})
		o := e.order(t, "bytedance", 3)
		sh, err := e.svc.CreateShipment(e.ctx, e.as("nvidia"), service.ShipmentRequest{Order: o.ID.String(), Lot: firstLot, Serials: serials(3), UnitValue: usd,
			Carriers: []string{"carrier"}, Lab: "us-testlab"})
		must(t, err)
		everyone := []string{"carrier", "carrier-b", "carrier-c", "us-testlab", "lab-b", "bytedance", "alibaba", "nvidia", "us-commerce", "cn-mofcom", "auditor"}
		for _, step := range []struct {
			kind, country, to string
			speaker           string
		}{
			{"picked_up", "TW", "", "carrier"},
			{"arrived", "US", "", "carrier"},
			{"customs_cleared", "US", "", "carrier"},
			{"lab_test", "US", "", "us-testlab"},
			{"export_cleared", "US", "", "us-commerce"},
			{"picked_up", "US", "", "carrier"},
			{"arrived", "CN", "", "carrier"},
			{"customs_cleared", "CN", "", "cn-mofcom"},
			{"handed_over", "CN", "carrier-c", "carrier"},
			{"delivered", "CN", "", "carrier-c"},
		} {
			try := func(who domain.Actor) (domain.Shipment, error) {
				e.clock.Add(time.Minute)
				if step.kind == "lab_test" {
					return e.svc.RecordLabTest(e.ctx, who, sh.ID, e.genuine(t))
				}
				return e.svc.RecordEvent(e.ctx, who, sh.ID, service.EventRequest{Kind: step.kind, Country: step.country, Place: "terminal", To: step.to})
			}
			for _, slug := range everyone {
				if slug == step.speaker {
					continue
				}
				who := e.as(slug)
				before := e.auditSize(t)
				_, err := try(who)
				if err == nil {
					t.Fatalf("%s %s in %s: %s succeeded; only %s may", step.kind, step.country, step.to, slug, step.speaker)
				}
				if code := domain.ErrorCode(err); code == domain.ENOTFOUND && strings.Contains(domain.ErrorMessage(err), string(sh.Status)) {
					t.Fatalf("%s: %s's refusal reveals the shipment: %v", step.kind, slug, err)
				}
				e.unchanged(t, before)
			}
			who := e.as(step.speaker)
			got, err := try(who)
			if err != nil {
				t.Fatalf("%s in %s by %s: %v", step.kind, step.country, step.speaker, err)
			}
			if step.kind != "lab_test" {
				ev := got.Events[len(got.Events)-1]
				if ev.Kind != step.kind || ev.By != who.PartySlug || ev.Role != who.Role || ev.To != step.to {
					t.Fatalf("event %+v, by %s (%s)", ev, who.PartySlug, who.Role)
				}
			} else if got.Test.By != "us-testlab" || got.Test.Role != domain.RoleLab {
				t.Fatalf("test by %s (%s)", got.Test.By, got.Test.Role)
			}
			sh = got
		}
		if p := stored[domain.ImportPermit](t, e, store.KindPermit, *sh.PermitID); p.Imported != 3 {
			t.Fatalf("the permit admitted %d units, want 3", p.Imported)
		}
		if l := stored[domain.License](t, e, store.KindLicense, *sh.LicenseID); l.Exported != 3 {
			t.Fatalf("the license let %d units out, want 3", l.Exported)
		}
	})
}

// TestNameCustody: a shipment names its carriers (one for every leg, or
// one per leg) and, where its route has a lab test, its lab; a carrier or
// lab reads the shipments that name it and no others; a carrier named for
// a later leg waits for the hand-over.
func TestNameCustody(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		shippingEnv(t, e, 1000)
		other := e.newActor(t, service.PartyRequest{Slug: "carrier-b", Name: "Another Carrier", Role: domain.RoleCarrier, Country: "CN"})
		otherLab := e.newActor(t, service.PartyRequest{Slug: "lab-b", Name: "Another Lab", Role: domain.RoleLab, Country: "US"})
		e.newActor(t, service.PartyRequest{Slug: "lab-tw", Name: "A Lab in Taiwan", Role: domain.RoleLab, Country: "TW"})
		o := e.order(t, "bytedance", 6)
		req := func(carriers []string, lab string) service.ShipmentRequest {
			return service.ShipmentRequest{Order: o.ID.String(), Lot: firstLot, Serials: serials(1), UnitValue: usd, Carriers: carriers, Lab: lab}
		}
		for _, c := range []struct {
			name string
			in   service.ShipmentRequest
			path string
		}{
			{"ErrCarriersRequired", req(nil, "us-testlab"), "carriers"},
			{"ErrCarriersCount", req([]string{"carrier", "carrier", "carrier"}, "us-testlab"), "carriers"},
			{"ErrNotACarrier", req([]string{"carrier", "nvidia"}, "us-testlab"), "carriers[1]"},
			{"ErrUnknownCarrier", req([]string{"nobody"}, "us-testlab"), "carriers[0]"},
			{"ErrLabRequired", req(carriers, ""), "lab"},
			{"ErrNotALab", req(carriers, "carrier"), "lab"},
			{"ErrLabElsewhere", req(carriers, "lab-tw"), "lab"},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := e.auditSize(t)
				_, err := e.svc.CreateShipment(e.ctx, e.as("nvidia"), c.in)
				wantInvalid(t, err, c.path)
				e.unchanged(t, before)
			})
		}
		sh, err := e.svc.CreateShipment(e.ctx, e.as("nvidia"), req([]string{"carrier", "carrier-b"}, "us-testlab"))
		must(t, err)
		if len(sh.Carriers) != 2 || sh.Carriers[0].Party != "carrier" || sh.Carriers[1].Party != "carrier-b" || sh.Holder.Party != "carrier" || sh.Lab.Party != "us-testlab" {
			t.Fatalf("custody %+v, holder %+v, lab %+v", sh.Carriers, sh.Holder, sh.Lab)
		}
		// Only those named read it; a stranger carrier or lab does not.
		e.newActor(t, service.PartyRequest{Slug: "carrier-z", Name: "Stranger", Role: domain.RoleCarrier, Country: "US"})
		stranger := e.newActor(t, service.PartyRequest{Slug: "carrier-y", Name: "Stranger", Role: domain.RoleCarrier, Country: "US"})
		listed := func(who domain.Actor) bool {
			views, err := e.svc.Shipments(e.ctx, who)
			must(t, err)
			return slices.ContainsFunc(views, func(v service.ShipmentView) bool { return v.ID == sh.ID })
		}
		for _, c := range []struct {
			who  domain.Actor
			want bool
		}{{e.as("carrier"), true}, {other, true}, {e.as("us-testlab"), true}, {stranger, false}, {otherLab, false}, {e.as("alibaba"), false}, {e.as("bytedance"), true}} {
			if who, want := c.who, c.want; listed(who) != want {
				t.Errorf("%s lists the shipment: %v, want %v", who.PartySlug, !want, want)
			}
		}
		// carrier-b carries the export leg: it waits for the hand-over.
		sh = e.tested(t, e.toLab(t, sh))
		// The export leg draws the license: not before the export
		// authority clears it.
		one := e.tested(t, e.toLab(t, e.ship(t, e.order(t, "alibaba", 2))))
		before := e.auditSize(t)
		_, err = e.svc.RecordEvent(e.ctx, e.as("carrier"), one.ID, service.EventRequest{Kind: "picked_up", Country: "US", Place: "JFK"})
		if domain.ErrorCode(err) != domain.ECONFLICT || !strings.Contains(domain.ErrorMessage(err), "export authority clears it first") {
			t.Fatalf("an export leg picked up before its clearance: %v", err)
		}
		e.unchanged(t, before)
		if l := stored[domain.License](t, e, store.KindLicense, *one.LicenseID); l.Exported != 0 {
			t.Fatalf("the license let %d units out before the clearance", l.Exported)
		}
		sh = e.move(t, sh, "export_cleared", "US")
		before = e.auditSize(t)
		_, err = e.svc.RecordEvent(e.ctx, other, sh.ID, service.EventRequest{Kind: "picked_up", Country: "US", Place: "JFK"})
		wantCode(t, err, domain.ECONFLICT)
		_, err = e.svc.RecordEvent(e.ctx, e.as("carrier"), sh.ID, service.EventRequest{Kind: "picked_up", Country: "US", Place: "JFK"})
		wantCode(t, err, domain.ECONFLICT) // the leg is carrier-b's
		_, err = e.svc.RecordEvent(e.ctx, e.as("carrier"), sh.ID, service.EventRequest{Kind: "handed_over", Country: "US", Place: "JFK", To: "nvidia"})
		wantInvalid(t, err, "to")
		e.unchanged(t, before)
		sh, err = e.svc.RecordEvent(e.ctx, e.as("carrier"), sh.ID, service.EventRequest{Kind: "handed_over", Country: "US", Place: "JFK", To: "carrier-b"})
		must(t, err)
		if sh.Holder.Party != "carrier-b" || sh.Events[len(sh.Events)-1].To != "carrier-b" {
			t.Fatalf("after the hand-over: holder %+v, event %+v", sh.Holder, sh.Events[len(sh.Events)-1])
		}
		_, err = e.svc.RecordEvent(e.ctx, other, sh.ID, service.EventRequest{Kind: "handed_over", Country: "US", Place: "JFK", To: "carrier-b"})
		wantInvalid(t, err, "to") // it holds the shipment already
		before = e.auditSize(t)
		_, err = e.svc.RecordEvent(e.ctx, e.as("carrier"), sh.ID, service.EventRequest{Kind: "picked_up", Country: "US", Place: "JFK"})
		wantCode(t, err, domain.ECONFLICT) // carrier handed it over
		e.unchanged(t, before)
		sh, err = e.svc.RecordEvent(e.ctx, other, sh.ID, service.EventRequest{Kind: "picked_up", Country: "US", Place: "JFK"})
		must(t, err)
		if sh.Status != domain.ShipInTransit {
			t.Fatalf("picked up by carrier-b: %s", sh.Status)
		}
	})
}
