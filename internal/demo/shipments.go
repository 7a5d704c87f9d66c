package demo

import (
	"crypto/ed25519"

	"context"
	"fmt"
	"github.com/chipgate/chipgate/internal/attest"
	"slices"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store"
)

// stage is how far along its route the story takes a shipment.
type stage int

const (
	// atLab: cleared customs in the lab's country (duty assessed), waiting
	// for its test.
	atLab stage = iota
	// exported: tested, passed, and on its way to its destination.
	exported
	// delivered to the buyer's site.
	delivered
)

// consignment is one demo shipment: units of a buyer's accepted order and
// how far the story takes them.
type consignment struct {
	buyer string
	units int
	until stage
}

// consignments are the story's shipments, in the order they ship. The US
// customer's units go first: the CN+MO cap counts units exported to China
// against units exported to US end users, so China's export legs need them.
var consignments = []consignment{
	{"us-cloud-a", 40, delivered},
	{"bytedance", 8, delivered},
	{"alibaba", 8, exported},
	{"tencent", 16, atLab},
}

// unitValue is the customs value the vendor declares for one demo H200,
// USD 30,000.00: a price, not a rule, so it is not in the policy.
var unitValue = domain.Money{Minor: 3_000_000, Currency: "USD"}

// SerialPrefix starts every serial number the demo ships, so that they do
// not collide with serials made up elsewhere.
const SerialPrefix = "DEMO-H200-"

// SightingCountry is where one of bytedance's delivered devices checks in
// from, away from its licensed site: a transshipment hub, so that the export
// authority has an alert to look into.
const SightingCountry = "SG"

// places are the carrier's custody places per country; a delivery is made
// at the buyer's site instead.
var places = map[string]string{
	"TW": "Taoyuan International Airport, air cargo terminal",
	"US": "Los Angeles International Airport, air cargo",
	"CN": "Shanghai Pudong International Airport, air cargo",
}

// step is a custody event, or the lab's test when kind is "lab_test".
type step struct{ kind, country string }

// journey is what takes a shipment along its route to delivery: picked up
// at its origin, then at every stop arrived and cleared, tested in the lab's
// country when the route requires it, cleared for export by the export
// authority when the export leg draws a license, picked up again, and
// delivered at the last.
func journey(sh domain.Shipment) []step {
	var out []step
	last := len(sh.Route) - 1
	for i, c := range sh.Route {
		if i > 0 {
			out = append(out, step{"arrived", c})
		}
		// Customs at every stop after the origin; a domestic shipment
		// (a route of one country) clears where it starts.
		if i > 0 || last == 0 {
			out = append(out, step{"customs_cleared", c})
		}
		if i == last {
			out = append(out, step{"delivered", c})
			break
		}
		if sh.LabRequired != "" && c == sh.LabCountry {
			out = append(out, step{"lab_test", c})
		}
		if i == last-1 && sh.LicenseID != nil {
			out = append(out, step{"export_cleared", c})
		}
		out = append(out, step{"picked_up", c})
	}
	return out
}

// upTo is the part of a journey that takes a shipment to the stage: before
// its lab test (or its delivery, when no test is required), up to the
// export leg's start, or all of it.
func upTo(steps []step, until stage) []step {
	switch until {
	case atLab:
		if i := slices.IndexFunc(steps, func(s step) bool { return s.kind == "lab_test" }); i >= 0 {
			return steps[:i]
		}
		return steps[:len(steps)-1]
	case exported:
		for i := len(steps) - 1; i >= 0; i-- {
			if steps[i].kind == "picked_up" {
				return steps[:i+1]
			}
		}
		return steps[:len(steps)-1]
	}
	return steps
}

// LoadShipments puts the story's shipments on the road through the
// parties' own service calls: the vendor ships units of accepted orders
// from the latest lot available, naming the carrier and the lab; the
// carrier records their custody events (clearing US customs assesses the
// duty the policy sets), the lab tests those bound for China, the export
// authority clears their export and China's import authority their
// customs, and delivered devices check in from their sites;
// one of them checks in from elsewhere, which raises alerts. It does
// nothing when any shipment exists, or when no lot is available yet.
func LoadShipments(ctx context.Context, svc *service.Service) error {
	exists := false
	if err := svc.Store().View(ctx, func(tx store.Tx) error {
		docs, err := tx.ListDocs(ctx, store.KindShipment, store.DocFilter{Limit: 1})
		exists = len(docs) > 0
		return err
	}); err != nil || exists {
		return err
	}
	vendor, err := actor(ctx, svc, "nvidia")
	if err != nil {
		return err
	}
	carrier, err := actor(ctx, svc, "carrier")
	if err != nil {
		return err
	}
	lab, err := actor(ctx, svc, "us-testlab")
	if err != nil {
		return err
	}
	exportAuthority, err := actor(ctx, svc, "us-commerce")
	if err != nil {
		return err
	}
	importAuthority, err := actor(ctx, svc, "cn-mofcom")
	if err != nil {
		return err
	}
	lot, ok, err := latestLot(ctx, svc, vendor, "h200")
	if err != nil || !ok {
		return err
	}
	orders, err := svc.Orders(ctx, vendor, []string{string(domain.OrderAccepted)})
	if err != nil {
		return err
	}
	serial := 0
	var shipped []domain.Shipment
	for _, c := range consignments {
		i := slices.IndexFunc(orders, func(o domain.Order) bool {
			return o.Buyer == c.buyer && o.Product == "h200" && o.Quantity-o.Shipped >= int64(c.units)
		})
		if i < 0 {
			return fmt.Errorf("demo: %s has no accepted h200 order with %d units left to ship", c.buyer, c.units)
		}
		sns := make([]string, c.units)
		for j := range sns {
			serial++
			sns[j] = fmt.Sprintf("%s%05d", SerialPrefix, serial)
		}
		sh, err := svc.CreateShipment(ctx, vendor, service.ShipmentRequest{Order: orders[i].ID.String(), Lot: lot.Number, Serials: sns, UnitValue: unitValue,
			Carriers: []string{carrier.PartySlug}, Lab: lab.PartySlug})
		if err != nil {
			return fmt.Errorf("demo: shipment for %s: %w", c.buyer, err)
		}
		for _, s := range upTo(journey(sh), c.until) {
			if s.kind == "lab_test" {
				sh, err = labTest(ctx, svc, lab, sh)
			} else {
				who := carrier
				switch {
				case s.kind == "export_cleared":
					who = exportAuthority
				case s.kind == "customs_cleared" && s.country == sh.Destination && sh.PermitID != nil:
					who = importAuthority
				}
				sh, err = svc.RecordEvent(ctx, who, sh.ID, service.EventRequest{Kind: s.kind, Country: s.country, Place: place(sh, s)})
			}
			if err != nil {
				return fmt.Errorf("demo: %s of %s's shipment %s: %w", s.kind, c.buyer, sh.Number, err)
			}
		}
		shipped = append(shipped, sh)
	}
	return checkIns(ctx, svc, shipped)
}

// latestLot is the product's lot made last among those available now.
func latestLot(ctx context.Context, svc *service.Service, vendor domain.Actor, product string) (domain.Lot, bool, error) {
	lots, err := svc.Lots(ctx, vendor, product)
	if err != nil {
		return domain.Lot{}, false, err
	}
	now := svc.Now()
	var best domain.Lot
	ok := false
	for _, l := range lots {
		if !now.Before(l.AvailableOn) && (!ok || l.MadeOn.After(best.MadeOn)) {
			best, ok = l, true
		}
	}
	return best, ok, nil
}

// place is where the carrier records a step: the buyer's site for a
// delivery, the country's air cargo terminal otherwise.
func place(sh domain.Shipment, s step) string {
	if s.kind == "delivered" {
		return fmt.Sprintf("%s, %s", sh.Buyer, siteAddress)
	}
	if p, ok := places[s.country]; ok {
		return p
	}
	return "air cargo terminal, " + s.country
}

// labTest records the lab's measurement of a genuine unit: the figures of
// the product's specification.
func labTest(ctx context.Context, svc *service.Service, lab domain.Actor, sh domain.Shipment) (domain.Shipment, error) {
	p, err := svc.Product(ctx, lab, sh.Product)
	if err != nil {
		return sh, err
	}
	// The lab gives each device its key pair (DeviceKey: a demo's, public
	// by construction) and records the public key with the serial.
	keys := map[string]string{}
	for _, sn := range sh.Serials {
		keys[sn] = attest.EncodeKey(DeviceKey(sn).Public().(ed25519.PublicKey))
	}
	return svc.RecordLabTest(ctx, lab, sh.ID, service.LabTestRequest{Throughput: p.Spec.Throughput, BandwidthGBps: p.Spec.BandwidthGBps, DeviceKeys: keys})
}

// checkIns has every delivered device check in from its licensed site,
// then one of bytedance's from SightingCountry: a site mismatch, and the
// same serial in two places.
func checkIns(ctx context.Context, svc *service.Service, shipped []domain.Shipment) error {
	whos := map[string]domain.Actor{}
	var sighted string
	var attested []string
	for _, sh := range shipped {
		if sh.Status != domain.ShipDelivered {
			continue
		}
		who, ok := whos[sh.Buyer]
		if !ok {
			var err error
			if who, err = actor(ctx, svc, sh.Buyer); err != nil {
				return err
			}
			whos[sh.Buyer] = who
		}
		for _, sn := range sh.Serials {
			if _, alerts, err := svc.CheckIn(ctx, who, service.CheckInRequest{Serial: sn, Site: sh.Site, Country: sh.Destination}); err != nil {
				return fmt.Errorf("demo: check-in of %s: %w", sn, err)
			} else if len(alerts) > 0 {
				return fmt.Errorf("demo: check-in of %s from its site raised %s", sn, alerts[0].Kind)
			}
		}
		if sh.Buyer == "bytedance" {
			sighted = sh.Serials[len(sh.Serials)-1]
			attested = sh.Serials[:len(sh.Serials)-1]
		}
	}
	if sighted == "" {
		return fmt.Errorf("demo: no delivered bytedance device to sight in %s", SightingCountry)
	}
	_, alerts, err := svc.CheckIn(ctx, whos["bytedance"], service.CheckInRequest{Serial: sighted, Country: SightingCountry})
	if err != nil {
		return fmt.Errorf("demo: check-in of %s from %s: %w", sighted, SightingCountry, err)
	}
	if len(alerts) == 0 {
		return fmt.Errorf("demo: a check-in of %s from %s raised no alert", sighted, SightingCountry)
	}
	return attestedCheckIns(ctx, svc, whos["bytedance"], attested)
}
