package demo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/demo"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store"
	"github.com/chipgate/chipgate/internal/store/storetest"
)

func TestLoadIsIdempotentAndTheStoryDecides(t *testing.T) {
	st, _ := storetest.OpenSQLite(t)
	svc := chipgatetest.NewService(t, st, nil)
	ctx := context.Background()
	var sizes []int64
	for i, want := range []int{len(demo.Cast), 0} {
		created, err := demo.Load(ctx, svc)
		if err != nil || created != want {
			t.Fatalf("load %d: created %d, %v; want %d", i, created, err, want)
		}
		if err := demo.LoadStory(ctx, svc); err != nil {
			t.Fatalf("story %d: %v", i, err)
		}
		sizes = append(sizes, chipgatetest.AuditSize(t, st))
	}
	// The second load writes nothing: no second shipment, check-in or alert.
	if sizes[1] != sizes[0] {
		t.Fatalf("the second load wrote %d audit records", sizes[1]-sizes[0])
	}
	orders, err := svc.Orders(ctx, domain.SystemActor, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(orders) != 8 {
		t.Fatalf("%d orders after two loads, want 8", len(orders))
	}
	for _, o := range orders {
		if o.Status != domain.OrderAccepted {
			t.Errorf("%s's demo order is %s: %+v", o.Buyer, o.Status, o.Decision)
		}
	}
	queue, err := svc.ReviewQueue(ctx, domain.SystemActor)
	if err != nil || len(queue) != 1 || queue[0].Screening.Status != "potential_match" {
		t.Fatalf("review queue: %d applications, %v", len(queue), err)
	}
	outlook, err := svc.Outlook(ctx, domain.Actor{Role: domain.RoleBuyer, PartySlug: "bytedance"})
	if err != nil || len(outlook.Orders) != 1 || outlook.Orders[0].Promised == 0 {
		t.Fatalf("bytedance's outlook: %+v, %v", outlook.Orders, err)
	}
	lots, err := svc.Lots(ctx, domain.SystemActor, "h200")
	if err != nil || len(lots) != 52 {
		t.Fatalf("%d lots, %v", len(lots), err)
	}
	t.Run("Shipments", func(t *testing.T) { checkShipments(t, svc, svc.Policy()) })
}

// checkShipments checks the story's shipments after two loads: one of each
// kind the dashboard shows, with the duty the policy sets, check-ins from
// the delivered devices and an alert for the export authority.
func checkShipments(t *testing.T, svc *service.Service, pol *policy.Policy) {
	ctx := context.Background()
	sys := domain.SystemActor
	svs, err := svc.Shipments(ctx, sys)
	if err != nil {
		t.Fatal(err)
	}
	byBuyer := map[string]service.ShipmentView{}
	for _, sv := range svs {
		if _, dup := byBuyer[sv.Buyer]; dup {
			t.Errorf("%s has two shipments", sv.Buyer)
		}
		byBuyer[sv.Buyer] = sv
	}
	if len(svs) != 4 {
		t.Fatalf("%d shipments after two loads, want 4", len(svs))
	}
	for buyer, want := range map[string]struct {
		status      domain.ShipmentStatus
		destination string
		tested      bool // a passing lab test
		queued      bool // waiting in the lab's queue
	}{
		"us-cloud-a": {domain.ShipDelivered, "US", false, false},
		"bytedance":  {domain.ShipDelivered, "CN", true, false},
		"alibaba":    {domain.ShipInTransit, "CN", true, false},
		"tencent":    {domain.ShipCleared, "CN", false, true},
	} {
		sv, ok := byBuyer[buyer]
		if !ok {
			t.Errorf("no shipment for %s", buyer)
			continue
		}
		if sv.Status != want.status || sv.Destination != want.destination || (sv.Test != nil && sv.Test.Pass) != want.tested || (sv.LabQueue != nil) != want.queued {
			t.Errorf("%s's shipment %s: %s to %s at %s, test %+v, queue %+v", buyer, sv.Number, sv.Status, sv.Destination, sv.Route[sv.Leg], sv.Test, sv.LabQueue)
		}
		if want.destination == "CN" && (sv.LabRequired == "" || !slices.Contains(sv.Route, sv.LabCountry)) {
			t.Errorf("%s's shipment does not pass the lab: route %v, lab %q", buyer, sv.Route, sv.LabCountry)
		}
		// Waiting at the lab is waiting in the lab's country, cleared.
		if want.queued && sv.Route[sv.Leg] != sv.LabCountry {
			t.Errorf("%s's shipment waits in %s, not at the lab in %s", buyer, sv.Route[sv.Leg], sv.LabCountry)
		}
		// In transit to China: it left the lab's country on its last leg.
		if want.status == domain.ShipInTransit && sv.Leg != len(sv.Route)-2 {
			t.Errorf("%s's shipment is in transit from %s, not on its export leg", buyer, sv.Route[sv.Leg])
		}
		for _, sn := range sv.Serials {
			if !strings.HasPrefix(sn, demo.SerialPrefix) {
				t.Errorf("%s's serial %s lacks the demo's prefix", buyer, sn)
			}
		}
	}

	// Every shipment cleared US customs: each owes the duty the policy sets.
	product, err := svc.Product(ctx, sys, "h200")
	if err != nil {
		t.Fatal(err)
	}
	months := map[string][]domain.DutyEntry{}
	for _, sv := range svs {
		if sv.Duty == nil {
			t.Errorf("%s's shipment has no duty assessed", sv.Buyer)
			continue
		}
		due, err := pol.At(sv.Duty.AssessedAt).DutyFor(product.Spec, sv.EndUse).Apply(sv.Value)
		if err != nil {
			t.Fatal(err)
		}
		if due.Minor <= 0 || sv.Duty.Amount != due {
			t.Errorf("%s's duty: %s, want the policy's %s on %s", sv.Buyer, sv.Duty.Amount, due, sv.Value)
		}
		month := sv.Duty.AssessedAt.Format("2006-01")
		if months[month] == nil {
			rep, err := svc.Duty(ctx, sys, month)
			if err != nil {
				t.Fatal(err)
			}
			months[month] = rep.Entries
		}
		if !slices.ContainsFunc(months[month], func(d domain.DutyEntry) bool { return d.ShipmentID == sv.ID }) {
			t.Errorf("the duty report of %s lacks %s's shipment", month, sv.Buyer)
		}
	}

	// Delivered devices checked in; one of bytedance's from elsewhere too.
	var away []string // serials last seen away from their destination
	if err := svc.Store().View(ctx, func(tx store.Tx) error {
		for _, sv := range svs {
			if sv.Status != domain.ShipDelivered {
				continue
			}
			for _, sn := range sv.Serials {
				raw, err := tx.LastCheckIn(ctx, sn)
				if err != nil {
					return fmt.Errorf("serial %s of %s: %w", sn, sv.Buyer, err)
				}
				var c domain.CheckIn
				if err := json.Unmarshal(raw, &c); err != nil {
					return err
				}
				if c.Country != sv.Destination {
					away = append(away, sv.Buyer+" "+sn+" in "+c.Country)
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("check-ins: %v", err)
	}
	if len(away) != 1 || !strings.HasPrefix(away[0], "bytedance ") {
		t.Errorf("devices last seen away from their site: %v, want one of bytedance's", away)
	}
	alerts, err := svc.Alerts(ctx, sys, nil)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, a := range alerts {
		if a.Buyer != "bytedance" || a.State != domain.AlertOpen || len(a.Evidence) == 0 {
			t.Errorf("alert %+v", a)
		}
		kinds[a.Kind]++
	}
	if len(alerts) != 2 || kinds["site_mismatch"] != 1 || kinds["two_places"] != 1 {
		t.Fatalf("alerts after two loads: %v, want one site mismatch and one device in two places", kinds)
	}
}
