package service_test

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store"
)

// shippingEnv makes us-cloud-a, bytedance and alibaba customers (the
// Chinese ones with licenses and permits of 1,000 units), has us-cloud-a
// order 1,000 units (room for Chinese orders under the volume cap) and
// exports usUnits of them (room for Chinese export legs).
func shippingEnv(t *testing.T, e *env, usUnits int64) {
	t.Helper()
	e.customer(t, "us-cloud-a", 0)
	e.customer(t, "bytedance", 1000)
	e.customer(t, "alibaba", 1000)
	o := e.order(t, "us-cloud-a", 1000)
	if usUnits > 0 {
		sh, err := e.svc.CreateShipment(e.ctx, e.as("nvidia"), service.ShipmentRequest{Order: o.ID.String(), Lot: firstLot, Serials: serials(int(usUnits)), UnitValue: usd, Carriers: carriers, Lab: "us-testlab"})
		must(t, err)
		e.move(t, sh, "picked_up", "TW")
	}
}

// shipment orders n units for a customer and ships them from the first lot.
func (e *env) shipment(t testing.TB, buyer string, n int64) domain.Shipment {
	t.Helper()
	return e.ship(t, e.order(t, buyer, n))
}

// toLab takes a shipment bound for China to the US lab: picked up in
// Taiwan, arrived and cleared in the US.
func (e *env) toLab(t testing.TB, sh domain.Shipment) domain.Shipment {
	t.Helper()
	return e.move(t, sh, "picked_up", "TW", "arrived", "US", "customs_cleared", "US")
}

// tested records a genuine unit's passing lab test.
func (e *env) tested(t testing.TB, sh domain.Shipment) domain.Shipment {
	t.Helper()
	sh, err := e.svc.RecordLabTest(e.ctx, e.as("us-testlab"), sh.ID, e.genuine(t))
	must(t, err)
	return sh
}

// stored reads a stored document as it is, bypassing authorization.
func stored[T any](t testing.TB, e *env, kind store.Kind, id domain.ID) T {
	t.Helper()
	var v T
	must(t, e.st.View(e.ctx, func(tx store.Tx) (err error) { v, err = store.Get[T](e.ctx, tx, kind, id, false); return err }))
	return v
}

// lotShipped is how many units of a lot were shipped.
func (e *env) lotShipped(t testing.TB, number string) int64 {
	t.Helper()
	lots, err := e.svc.Lots(e.ctx, e.as("nvidia"), "h200")
	must(t, err)
	for _, l := range lots {
		if l.Number == number {
			return l.Shipped
		}
	}
	t.Fatalf("no lot %s", number)
	return 0
}

func TestCreateShipment(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		shippingEnv(t, e, 0)
		nvidia := e.as("nvidia")
		req := func(o domain.Order, n int) service.ShipmentRequest {
			return service.ShipmentRequest{Order: o.ID.String(), Lot: firstLot, Serials: serials(n), UnitValue: usd, Carriers: carriers, Lab: "us-testlab"}
		}
		t.Run("OK", func(t *testing.T) {
			o := e.order(t, "us-cloud-a", 10)
			lotBefore := e.lotShipped(t, firstLot)
			before := e.auditSize(t)
			sh, err := e.svc.CreateShipment(e.ctx, nvidia, req(o, 4))
			must(t, err)
			if sh.Status != domain.ShipAtOrigin || !slices.Equal(sh.Route, []string{"TW", "US"}) || sh.Destination != "US" || sh.Quantity != 4 ||
				sh.Value.Minor != 12_000_000 || sh.Invoice.Total != sh.Value || sh.LabRequired != "" || !strings.HasPrefix(sh.Number, "SH-2026-") {
				t.Fatalf("shipment %+v", sh)
			}
			if got := stored[domain.Order](t, e, store.KindOrder, o.ID); got.Shipped != 4 {
				t.Fatalf("order shipped %d, want 4", got.Shipped)
			}
			if got := e.lotShipped(t, firstLot); got != lotBefore+4 {
				t.Fatalf("lot shipped %d, want %d", got, lotBefore+4)
			}
			rec := e.recorded(t, before, nvidia, "shipment.created")[0]
			if p := payload[domain.Shipment](t, rec); rec.SubjectID != sh.ID.String() || !slices.Equal(p.Serials, sh.Serials) {
				t.Fatalf("record %s", rec.Payload)
			}
			// The rest of the order ships later.
			if _, err := e.svc.CreateShipment(e.ctx, nvidia, req(o, 6)); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("RouteToChina", func(t *testing.T) {
			sh := e.shipment(t, "bytedance", 2)
			if !slices.Equal(sh.Route, []string{"TW", "US", "CN"}) || sh.RouteRule != "shipment.route" || sh.LabRequired != "shipment.lab-test" || sh.LabCountry != "US" {
				t.Fatalf("route %v (%s), lab %s in %s", sh.Route, sh.RouteRule, sh.LabRequired, sh.LabCountry)
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			o := e.order(t, "us-cloud-a", 1)
			e.refused(t, []domain.Role{domain.RoleVendor}, func(who domain.Actor) error {
				_, err := e.svc.CreateShipment(e.ctx, who, req(o, 1))
				return err
			})
		})
		o := e.order(t, "us-cloud-a", 20)
		for _, c := range []struct {
			name string
			edit func(*service.ShipmentRequest)
			path string
		}{
			{"ErrOrderInvalid", func(r *service.ShipmentRequest) { r.Order = "order-1" }, "order"},
			{"ErrSerialsRequired", func(r *service.ShipmentRequest) { r.Serials = nil }, "serials"},
			{"ErrSerialsTooMany", func(r *service.ShipmentRequest) { r.Serials = serials(service.MaxShipmentUnits + 1) }, "serials"},
			{"ErrSerialInvalid", func(r *service.ShipmentRequest) { r.Serials = []string{"SN 1"} }, "serials[0]"},
			{"ErrSerialTwice", func(r *service.ShipmentRequest) { r.Serials = []string{r.Serials[0], r.Serials[0]} }, "serials[1]"},
			{"ErrUnitValueZero", func(r *service.ShipmentRequest) { r.UnitValue.Minor = 0 }, "unit_value"},
			{"ErrCurrencyInvalid", func(r *service.ShipmentRequest) { r.UnitValue.Currency = "US" }, "unit_value"},
			{"ErrValueOverflows", func(r *service.ShipmentRequest) { r.UnitValue.Minor = math.MaxInt64 / 2 }, "unit_value"},
			{"ErrLotUnknown", func(r *service.ShipmentRequest) { r.Lot = "TW-NOPE" }, "lot"},
		} {
			t.Run(c.name, func(t *testing.T) {
				in := req(o, 3)
				c.edit(&in)
				before := e.auditSize(t)
				_, err := e.svc.CreateShipment(e.ctx, nvidia, in)
				wantInvalid(t, err, c.path)
				e.unchanged(t, before)
			})
		}
		t.Run("ErrOrderNotFound", func(t *testing.T) {
			in := req(o, 1)
			in.Order = uuid.NewString()
			_, err := e.svc.CreateShipment(e.ctx, nvidia, in)
			wantCode(t, err, domain.ENOTFOUND)
		})
		t.Run("ErrOrderNotAccepted", func(t *testing.T) {
			// us-cloud-b filed no application: its order waits for review.
			held, err := e.svc.PlaceOrder(e.ctx, e.as("us-cloud-b"), service.OrderRequest{Product: "h200", Quantity: 5, Period: "2026-03-02", EndUse: "commercial_ai"})
			must(t, err)
			if held.Status != domain.OrderHeld {
				t.Fatalf("order without an application is %s", held.Status)
			}
			_, err = e.svc.CreateShipment(e.ctx, nvidia, req(held, 1))
			wantCode(t, err, domain.ECONFLICT)
		})
		t.Run("ErrUnitsBeyondOrder", func(t *testing.T) {
			small := e.order(t, "us-cloud-a", 2)
			before := e.auditSize(t)
			_, err := e.svc.CreateShipment(e.ctx, nvidia, req(small, 3))
			wantCode(t, err, domain.ECONFLICT)
			e.unchanged(t, before)
		})
		t.Run("ErrSerialShipped", func(t *testing.T) {
			first := e.ship(t, e.order(t, "us-cloud-a", 1))
			lotBefore := e.lotShipped(t, firstLot)
			in := req(o, 2)
			in.Serials[1] = first.Serials[0]
			before := e.auditSize(t)
			_, err := e.svc.CreateShipment(e.ctx, nvidia, in)
			wantCode(t, err, domain.ECONFLICT)
			e.unchanged(t, before)
			if got := stored[domain.Order](t, e, store.KindOrder, o.ID); got.Shipped != 0 {
				t.Fatalf("a refused shipment left the order with %d shipped", got.Shipped)
			}
			if got := e.lotShipped(t, firstLot); got != lotBefore {
				t.Fatalf("a refused shipment drew %d units from the lot", got-lotBefore)
			}
			// The first serial of the refused shipment is still free.
			in.Serials = in.Serials[:1]
			if _, err := e.svc.CreateShipment(e.ctx, nvidia, in); err != nil {
				t.Fatalf("a serial of a refused shipment stayed claimed: %v", err)
			}
		})
		t.Run("ErrLotNotAvailable", func(t *testing.T) {
			_, err := e.svc.CreateLot(e.ctx, nvidia, service.LotRequest{Product: "h200", Number: "TW-LATER", Quantity: 100, Origin: "TW", MadeOn: "2026-02-01", AvailableOn: "2026-02-15"})
			must(t, err)
			in := req(o, 1)
			in.Lot = "TW-LATER"
			_, err = e.svc.CreateShipment(e.ctx, nvidia, in)
			wantCode(t, err, domain.ECONFLICT)
		})
		t.Run("ErrLotExhausted", func(t *testing.T) {
			_, err := e.svc.CreateLot(e.ctx, nvidia, service.LotRequest{Product: "h200", Number: "TW-SMALL", Quantity: 2, Origin: "TW", MadeOn: "2026-01-01", AvailableOn: "2026-01-15"})
			must(t, err)
			in := req(o, 3)
			in.Lot = "TW-SMALL"
			before := e.auditSize(t)
			_, err = e.svc.CreateShipment(e.ctx, nvidia, in)
			wantCode(t, err, domain.ECONFLICT)
			e.unchanged(t, before)
		})
		t.Run("EnforcementPattern", func(t *testing.T) {
			// A consignee that looks like a freight forwarder raises an
			// alert with the shipment, in its transaction.
			who := e.newActor(t, service.PartyRequest{Slug: "pacific-freight", Name: "Pacific Freight Logistics Inc.", Role: domain.RoleBuyer, Country: "US", Class: domain.ClassCloud})
			in := applicationFor("us-cloud-b")
			in.LegalName = "Pacific Freight Logistics Inc."
			_, err := e.svc.SubmitApplication(e.ctx, who, in)
			must(t, err)
			e.actors["pacific-freight"] = who
			o := e.order(t, "pacific-freight", 3)
			before := e.auditSize(t)
			sh := e.ship(t, o)
			recs := e.recorded(t, before, nvidia, "shipment.created", "alert.raised")
			a := payload[domain.Alert](t, recs[1])
			if a.Kind != "enforcement_pattern" || a.ShipmentID == nil || *a.ShipmentID != sh.ID || a.State != domain.AlertOpen {
				t.Fatalf("alert %+v", a)
			}
		})
	})
}

func TestRecordEvent(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		shippingEnv(t, e, 400)
		carrier := e.as("carrier")
		event := func(sh domain.Shipment, kind, country string) (domain.Shipment, error) {
			e.clock.Add(time.Minute)
			return e.svc.RecordEvent(e.ctx, e.speaker(kind, country), sh.ID, service.EventRequest{Kind: kind, Country: country, Place: "terminal " + country})
		}
		// refusedEvent wants ECONFLICT for an event, with nothing written.
		refusedEvent := func(t *testing.T, sh domain.Shipment, kind, country string) {
			t.Helper()
			before := e.auditSize(t)
			_, err := event(sh, kind, country)
			wantCode(t, err, domain.ECONFLICT)
			e.unchanged(t, before)
			if got := stored[domain.Shipment](t, e, store.KindShipment, sh.ID); got.Status != sh.Status || got.Leg != sh.Leg || len(got.Events) != len(sh.Events) {
				t.Fatalf("a refused %s moved the shipment from %s at %d to %s at %d", kind, sh.Status, sh.Leg, got.Status, got.Leg)
			}
		}
		t.Run("ToTheUS", func(t *testing.T) {
			sh := e.shipment(t, "us-cloud-a", 4)
			for _, step := range []struct {
				kind, country string
				status        domain.ShipmentStatus
				leg           int
			}{
				{"picked_up", "TW", domain.ShipInTransit, 0},
				{"arrived", "US", domain.ShipArrived, 1},
				{"customs_cleared", "US", domain.ShipCleared, 1},
				{"delivered", "US", domain.ShipDelivered, 1},
			} {
				before := e.auditSize(t)
				got, err := event(sh, step.kind, step.country)
				must(t, err)
				if got.Status != step.status || got.Leg != step.leg || len(got.Events) != len(sh.Events)+1 {
					t.Fatalf("%s: %s at leg %d", step.kind, got.Status, got.Leg)
				}
				if s := stored[domain.Shipment](t, e, store.KindShipment, sh.ID); s.Status != step.status {
					t.Fatalf("%s was not stored", step.kind)
				}
				actions := []string{"shipment." + step.kind}
				if step.kind == "delivered" {
					// The shipment carried every unit of its order: the
					// order is fulfilled, a final state, in the same command.
					actions = append(actions, "order.fulfilled")
				}
				rec := e.recorded(t, before, carrier, actions...)[0]
				if ev := payload[domain.CustodyEvent](t, rec); rec.SubjectID != sh.ID.String() || ev.Kind != step.kind || ev.Country != step.country || ev.By != "carrier" {
					t.Fatalf("record %s", rec.Payload)
				}
				sh = got
			}
			if o := stored[domain.Order](t, e, store.KindOrder, sh.OrderID); o.Status != domain.OrderFulfilled {
				t.Fatalf("the delivered order is %s", o.Status)
			}
			// Clearing US customs assessed the Section 232 duty: 25% of
			// 4 × USD 30,000.00.
			if d := sh.Duty; d == nil || d.Rule != "duty.section-232" || d.Country != "US" || d.Amount.Minor != 3_000_000 || d.DutiableValue.Minor != 12_000_000 {
				t.Fatalf("duty %+v", sh.Duty)
			}
		})
		t.Run("ToChina", func(t *testing.T) {
			sh := e.shipment(t, "bytedance", 5)
			o := stored[domain.Order](t, e, store.KindOrder, sh.OrderID)
			sh = e.toLab(t, sh)
			if sh.LabArrival == nil || sh.Duty == nil || sh.Duty.Amount.Minor != 3_750_000 {
				t.Fatalf("at the lab: arrival %v, duty %+v", sh.LabArrival, sh.Duty)
			}
			sh = e.tested(t, sh)
			sh = e.move(t, sh, "export_cleared", "US", "picked_up", "US")
			if l := stored[domain.License](t, e, store.KindLicense, *o.LicenseID); l.Exported != 5 {
				t.Fatalf("the export leg counted %d units on the license, want 5", l.Exported)
			}
			sh = e.move(t, sh, "arrived", "CN")
			if p := stored[domain.ImportPermit](t, e, store.KindPermit, *o.PermitID); p.Imported != 0 {
				t.Fatalf("the permit admitted %d units before customs", p.Imported)
			}
			sh = e.move(t, sh, "customs_cleared", "CN", "delivered", "CN")
			if p := stored[domain.ImportPermit](t, e, store.KindPermit, *o.PermitID); p.Imported != 5 {
				t.Fatalf("Chinese customs counted %d units on the permit, want 5", p.Imported)
			}
			if sh.Status != domain.ShipDelivered || sh.Leg != 2 || len(sh.Events) != 8 {
				t.Fatalf("delivered: %s at %d, %d events", sh.Status, sh.Leg, len(sh.Events))
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			sh := e.shipment(t, "us-cloud-a", 1)
			e.refused(t, []domain.Role{domain.RoleCarrier}, func(who domain.Actor) error {
				_, err := e.svc.RecordEvent(e.ctx, who, sh.ID, service.EventRequest{Kind: "picked_up", Country: "TW", Place: "Hsinchu"})
				return err
			})
		})
		atOrigin := e.shipment(t, "us-cloud-a", 1)
		for _, c := range []struct {
			name string
			in   service.EventRequest
			path string
		}{
			{"ErrCountryInvalid", service.EventRequest{Kind: "picked_up", Country: "Taiwan", Place: "x"}, "country"},
			{"ErrPlaceRequired", service.EventRequest{Kind: "picked_up", Country: "TW", Place: " "}, "place"},
			{"ErrPlaceTooLong", service.EventRequest{Kind: "picked_up", Country: "TW", Place: strings.Repeat("p", 201)}, "place"},
			{"ErrKindInvalid", service.EventRequest{Kind: "teleported", Country: "TW", Place: "x"}, "kind"},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := e.auditSize(t)
				_, err := e.svc.RecordEvent(e.ctx, carrier, atOrigin.ID, c.in)
				wantInvalid(t, err, c.path)
				e.unchanged(t, before)
			})
		}
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := e.svc.RecordEvent(e.ctx, carrier, uuid.New(), service.EventRequest{Kind: "picked_up", Country: "TW", Place: "x"})
			wantCode(t, err, domain.ENOTFOUND)
		})
		t.Run("ErrOutOfOrder", func(t *testing.T) {
			refusedEvent(t, atOrigin, "arrived", "US")
			refusedEvent(t, atOrigin, "customs_cleared", "TW")
			refusedEvent(t, atOrigin, "delivered", "TW")
			moving := e.move(t, e.shipment(t, "us-cloud-a", 1), "picked_up", "TW")
			refusedEvent(t, moving, "picked_up", "TW")
			refusedEvent(t, moving, "delivered", "US")
			arrived := e.move(t, moving, "arrived", "US")
			refusedEvent(t, arrived, "arrived", "US")
			refusedEvent(t, arrived, "delivered", "US")
			cleared := e.move(t, arrived, "customs_cleared", "US")
			refusedEvent(t, cleared, "customs_cleared", "US")
			refusedEvent(t, cleared, "picked_up", "US") // the US is its destination
			// The US export authority clears exports from the US only.
			_, err := e.svc.RecordEvent(e.ctx, e.as("us-commerce"), cleared.ID, service.EventRequest{Kind: "export_cleared", Country: "US", Place: "x"})
			wantCode(t, err, domain.ENOTFOUND)
			delivered := e.move(t, cleared, "delivered", "US")
			for _, kind := range []string{"picked_up", "arrived", "customs_cleared", "delivered"} {
				refusedEvent(t, delivered, kind, "US")
			}
		})
		t.Run("ErrWrongPlace", func(t *testing.T) {
			sh := e.shipment(t, "bytedance", 1)
			refusedEvent(t, sh, "export_cleared", "US")
			refusedEvent(t, sh, "picked_up", "US")
			sh = e.move(t, sh, "picked_up", "TW")
			refusedEvent(t, sh, "arrived", "CN") // skipping the US
			sh = e.move(t, sh, "arrived", "US")
			refusedEvent(t, sh, "customs_cleared", "TW")
		})
		t.Run("ErrExportBeforeLabTest", func(t *testing.T) {
			sh := e.toLab(t, e.shipment(t, "bytedance", 1))
			refusedEvent(t, sh, "export_cleared", "US")
			refusedEvent(t, sh, "picked_up", "US")
		})
		t.Run("ErrExportAfterFailedLabTest", func(t *testing.T) {
			sh := e.toLab(t, e.shipment(t, "bytedance", 1))
			in := e.genuine(t)
			in.BandwidthGBps += 1000 // not the licensed product
			sh, err := e.svc.RecordLabTest(e.ctx, e.as("us-testlab"), sh.ID, in)
			must(t, err)
			refusedEvent(t, sh, "export_cleared", "US")
			refusedEvent(t, sh, "picked_up", "US")
		})
		t.Run("ErrLicenseSuspended", func(t *testing.T) {
			sh := e.tested(t, e.toLab(t, e.shipment(t, "alibaba", 2)))
			o := stored[domain.Order](t, e, store.KindOrder, sh.OrderID)
			bis := e.as("us-commerce")
			_, err := e.svc.ChangeLicense(e.ctx, bis, *o.LicenseID, "suspend", "end-use check")
			must(t, err)
			refusedEvent(t, sh, "export_cleared", "US")
			refusedEvent(t, sh, "picked_up", "US")
			if l := stored[domain.License](t, e, store.KindLicense, *o.LicenseID); l.Exported != 0 {
				t.Fatalf("a refused export leg counted %d units on the license", l.Exported)
			}
			_, err = e.svc.ChangeLicense(e.ctx, bis, *o.LicenseID, "reinstate", "cleared")
			must(t, err)
			e.move(t, sh, "export_cleared", "US", "picked_up", "US")
		})
		t.Run("ErrPermitRevoked", func(t *testing.T) {
			sh := e.move(t, e.tested(t, e.toLab(t, e.shipment(t, "alibaba", 2))), "export_cleared", "US", "picked_up", "US", "arrived", "CN")
			o := stored[domain.Order](t, e, store.KindOrder, sh.OrderID)
			_, err := e.svc.RevokePermit(e.ctx, e.as("cn-mofcom"), *o.PermitID, "SOE use found")
			must(t, err)
			refusedEvent(t, sh, "customs_cleared", "CN")
			if p := stored[domain.ImportPermit](t, e, store.KindPermit, *o.PermitID); p.Imported != 0 {
				t.Fatalf("refused customs counted %d units on the permit", p.Imported)
			}
		})
		t.Run("DomesticRoute", func(t *testing.T) {
			// A lot made in the US ships to a US buyer on a route of one
			// country: it clears customs where it starts and is delivered;
			// it is never picked up for a leg it does not have.
			_, err := e.svc.CreateLot(e.ctx, e.as("nvidia"), service.LotRequest{Product: "h200", Number: "US-H200-1", Quantity: 100, Origin: "US", MadeOn: "2026-01-05", AvailableOn: "2026-01-19"})
			must(t, err)
			o := e.order(t, "us-cloud-a", 3)
			sh, err := e.svc.CreateShipment(e.ctx, e.as("nvidia"), service.ShipmentRequest{Order: o.ID.String(), Lot: "US-H200-1", Serials: serials(3), UnitValue: usd, Carriers: carriers, Lab: "us-testlab"})
			must(t, err)
			if !slices.Equal(sh.Route, []string{"US"}) {
				t.Fatalf("route %v", sh.Route)
			}
			refusedEvent(t, sh, "export_cleared", "US")
			refusedEvent(t, sh, "picked_up", "US")
			refusedEvent(t, sh, "arrived", "US")
			sh = e.move(t, sh, "customs_cleared", "US", "delivered", "US")
			if sh.Status != domain.ShipDelivered {
				t.Fatalf("domestic shipment %s", sh.Status)
			}
		})
	})
}

// TestExportCap: an export leg to China counts against the CN+MO cap of
// the units exported to US end users, not of the units ordered.
func TestExportCap(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		shippingEnv(t, e, 40) // room for 20 units to China
		over := e.tested(t, e.toLab(t, e.shipment(t, "bytedance", 21)))
		before := e.auditSize(t)
		_, err := e.svc.RecordEvent(e.ctx, e.as("carrier"), over.ID, service.EventRequest{Kind: "picked_up", Country: "US", Place: "LAX"})
		wantCode(t, err, domain.ECONFLICT)
		if !strings.Contains(domain.ErrorMessage(err), "would be 21 against 50% of the 40") {
			t.Fatalf("message %q", domain.ErrorMessage(err))
		}
		e.unchanged(t, before)
		o := stored[domain.Order](t, e, store.KindOrder, over.OrderID)
		if l := stored[domain.License](t, e, store.KindLicense, *o.LicenseID); l.Exported != 0 {
			t.Fatalf("a refused export counted %d units on the license", l.Exported)
		}
		at := e.tested(t, e.toLab(t, e.shipment(t, "alibaba", 20)))
		e.move(t, at, "export_cleared", "US", "picked_up", "US")
		// The cap is full now: one more unit waits for US exports.
		last := e.tested(t, e.toLab(t, e.shipment(t, "bytedance", 1)))
		_, err = e.svc.RecordEvent(e.ctx, e.as("carrier"), last.ID, service.EventRequest{Kind: "picked_up", Country: "US", Place: "LAX"})
		wantCode(t, err, domain.ECONFLICT)
	})
}

func TestRecordLabTest(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		shippingEnv(t, e, 0)
		lab := e.as("us-testlab")
		t.Run("Pass", func(t *testing.T) {
			sh := e.toLab(t, e.shipment(t, "bytedance", 1))
			before := e.auditSize(t)
			got, err := e.svc.RecordLabTest(e.ctx, lab, sh.ID, e.genuine(t))
			must(t, err)
			if tt := got.Test; tt == nil || !tt.Pass || tt.TPP != 15832 || tt.By != "us-testlab" || len(tt.Reasons) != 1 {
				t.Fatalf("test %+v", got.Test)
			}
			if s := stored[domain.Shipment](t, e, store.KindShipment, sh.ID); s.Test == nil || !s.Test.Pass {
				t.Fatal("the test was not stored")
			}
			rec := e.recorded(t, before, lab, "shipment.tested")[0]
			if rec.SubjectID != sh.ID.String() || !payload[domain.LabTest](t, rec).Pass {
				t.Fatalf("record %s", rec.Payload)
			}
		})
		t.Run("Fail", func(t *testing.T) {
			for name, edit := range map[string]func(*service.LabTestRequest){
				"Faster":        func(r *service.LabTestRequest) { r.Throughput[0].DenseTOPS *= 2 },
				"MoreBandwidth": func(r *service.LabTestRequest) { r.BandwidthGBps *= 2 },
			} {
				sh := e.toLab(t, e.shipment(t, "bytedance", 1))
				in := e.genuine(t)
				in.Throughput = slices.Clone(in.Throughput)
				edit(&in)
				got, err := e.svc.RecordLabTest(e.ctx, lab, sh.ID, in)
				must(t, err)
				if got.Test.Pass || !strings.Contains(strings.Join(got.Test.Reasons, "; "), "not the licensed product") {
					t.Fatalf("%s: test %+v", name, got.Test)
				}
			}
		})
		atLab := e.toLab(t, e.shipment(t, "bytedance", 1))
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, []domain.Role{domain.RoleLab}, func(who domain.Actor) error {
				_, err := e.svc.RecordLabTest(e.ctx, who, atLab.ID, e.genuine(t))
				return err
			})
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := e.svc.RecordLabTest(e.ctx, lab, uuid.New(), e.genuine(t))
			wantCode(t, err, domain.ENOTFOUND)
		})
		for _, c := range []struct {
			name string
			edit func(*service.LabTestRequest)
			path string
		}{
			{"ErrThroughputRequired", func(r *service.LabTestRequest) { r.Throughput = nil }, "throughput"},
			{"ErrBitsInvalid", func(r *service.LabTestRequest) { r.Throughput = []domain.Throughput{{Bits: 7, DenseTOPS: 1}} }, "throughput[0].bits"},
			{"ErrTOPSInvalid", func(r *service.LabTestRequest) { r.Throughput = []domain.Throughput{{Bits: 8, DenseTOPS: -1}} }, "throughput[0].dense_tops"},
			{"ErrBandwidthInvalid", func(r *service.LabTestRequest) { r.BandwidthGBps = -1 }, "bandwidth_gbps"},
		} {
			t.Run(c.name, func(t *testing.T) {
				in := e.genuine(t)
				c.edit(&in)
				before := e.auditSize(t)
				_, err := e.svc.RecordLabTest(e.ctx, lab, atLab.ID, in)
				wantInvalid(t, err, c.path)
				e.unchanged(t, before)
			})
		}
		t.Run("ErrConflict", func(t *testing.T) {
			toUS := e.toLab(t, e.shipment(t, "us-cloud-a", 1)) // cleared in the US: its destination needs no test
			atOrigin := e.shipment(t, "bytedance", 1)
			arrived := e.move(t, e.shipment(t, "bytedance", 1), "picked_up", "TW", "arrived", "US")
			done := e.tested(t, e.toLab(t, e.shipment(t, "bytedance", 1)))
			for name, sh := range map[string]domain.Shipment{"NoTestRequired": toUS, "AtOrigin": atOrigin, "NotCleared": arrived, "TestedAlready": done} {
				before := e.auditSize(t)
				_, err := e.svc.RecordLabTest(e.ctx, lab, sh.ID, e.genuine(t))
				if domain.ErrorCode(err) != domain.ECONFLICT {
					t.Errorf("%s: %v, want %s", name, err, domain.ECONFLICT)
				}
				e.unchanged(t, before)
			}
		})
	})
}

func TestShipments(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		shippingEnv(t, e, 0)
		first := e.toLab(t, e.shipment(t, "bytedance", 10))
		second := e.toLab(t, e.shipment(t, "alibaba", 5))
		readers := []domain.Role{domain.RoleVendor, domain.RoleExportAuthority, domain.RoleImportAuthority, domain.RoleLab, domain.RoleCarrier, domain.RoleBuyer}
		t.Run("OK", func(t *testing.T) {
			for _, r := range readers[:5] {
				views, err := e.svc.Shipments(e.ctx, e.as(castOf[r]))
				if err != nil || len(views) != 2 {
					t.Fatalf("%s lists %d shipments, %v", r, len(views), err)
				}
			}
		})
		t.Run("BuyerOwnWithLabQueue", func(t *testing.T) {
			// alibaba sees only its own shipment, with bytedance's ten
			// units ahead of it in the lab's queue.
			views, err := e.svc.Shipments(e.ctx, e.as("alibaba"))
			must(t, err)
			if len(views) != 1 || views[0].ID != second.ID {
				t.Fatalf("alibaba lists %d shipments", len(views))
			}
			q := views[0].LabQueue
			if q == nil || q.UnitsAhead != 10 || q.WeeklyCapacity != 20000 || !q.TestedBy.After(*second.LabArrival) {
				t.Fatalf("alibaba's lab queue %+v", q)
			}
			e.tested(t, first)
			views, err = e.svc.Shipments(e.ctx, e.as("alibaba"))
			if err != nil || views[0].LabQueue == nil || views[0].LabQueue.UnitsAhead != 0 {
				t.Fatalf("after bytedance's test: %+v, %v", views[0].LabQueue, err)
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, readers, func(who domain.Actor) error {
				_, err := e.svc.Shipments(e.ctx, who)
				return err
			})
		})
	})
}

func TestDuty(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		shippingEnv(t, e, 0)
		e.toLab(t, e.shipment(t, "bytedance", 3))
		e.toLab(t, e.shipment(t, "us-cloud-a", 1))
		e.shipment(t, "alibaba", 1) // not yet through customs: no duty
		readers := []domain.Role{domain.RoleVendor, domain.RoleExportAuthority}
		t.Run("OK", func(t *testing.T) {
			for _, r := range readers {
				rep, err := e.svc.Duty(e.ctx, e.as(castOf[r]), "2026-02")
				must(t, err)
				if len(rep.Entries) != 2 || len(rep.Totals) != 1 {
					t.Fatalf("%s: %d entries, totals %+v", r, len(rep.Entries), rep.Totals)
				}
				if tot := rep.Totals[0]; tot.Currency != "USD" || tot.Entries != 2 || tot.DutiableMinor != 12_000_000 || tot.DutyMinor != 3_000_000 {
					t.Fatalf("%s: totals %+v", r, tot)
				}
			}
			if rep, err := e.svc.Duty(e.ctx, e.as("nvidia"), "2026-03"); err != nil || len(rep.Entries) != 0 || rep.Totals != nil {
				t.Fatalf("March: %+v, %v", rep, err)
			}
		})
		t.Run("ErrMonthInvalid", func(t *testing.T) {
			_, err := e.svc.Duty(e.ctx, e.as("nvidia"), "2026-2")
			wantInvalid(t, err, "month")
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, readers, func(who domain.Actor) error {
				_, err := e.svc.Duty(e.ctx, who, "2026-02")
				return err
			})
		})
	})
}
