package service

import (
	"context"
	"fmt"
	"github.com/chipgate/chipgate/internal/attest"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/internal/store"
)

// ShipmentRequest turns units of an accepted order into a shipment.
type ShipmentRequest struct {
	Order     string       `json:"order"` // order id
	Lot       string       `json:"lot"`   // the vendor's lot number
	Serials   []string     `json:"serials"`
	UnitValue domain.Money `json:"unit_value"` // declared customs value of one unit
	// Carriers names the carrier of each leg by party slug: one for every
	// leg, or one per leg of the policy's route (one for a route of one
	// country). Lab names the lab, by slug, where the route has a lab
	// test (a route without one ignores it). Only these record the
	// shipment's events and its test.
	Carriers []string `json:"carriers"`
	Lab      string   `json:"lab,omitempty"`
}

var serialRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,63}$`)

// MaxShipmentUnits bounds one shipment.
const MaxShipmentUnits = 10000

// CreateShipment puts serial-numbered units of an accepted order into a
// shipment on the route the policy sets for its destination, and raises an
// enforcement-pattern alert when its consignee or route matches a diversion
// case. Callers: the vendor; EFORBIDDEN for anyone else. Returns EINVALID
// naming the field (lot for a lot number the product does not have),
// ENOTFOUND for an unknown order, ECONFLICT for an order that is not
// accepted, units beyond what it ordered, a serial already shipped, or a
// lot not yet available or with fewer units left. EINVALID naming
// carriers, carriers[i] or lab for parties that are not the route's
// carriers (one, or one per leg) or lab (in the lab test's country, where
// the route has a test).
func (s *Service) CreateShipment(ctx context.Context, who domain.Actor, in ShipmentRequest) (domain.Shipment, error) {
	if err := authorizeWork(who, ActShipmentCreate, routineWork); err != nil {
		return domain.Shipment{}, err
	}
	orderID, err := domain.ParseID(in.Order)
	if err != nil {
		return domain.Shipment{}, domain.Invalid("order", "must be an order id")
	}
	if len(in.Serials) == 0 || len(in.Serials) > MaxShipmentUnits {
		return domain.Shipment{}, domain.Invalid("serials", "between 1 and %d", MaxShipmentUnits)
	}
	seen := make(map[string]bool, len(in.Serials))
	for i, sn := range in.Serials {
		if !serialRe.MatchString(sn) {
			return domain.Shipment{}, domain.Invalid(fmt.Sprintf("serials[%d]", i), "must be 1-64 letters, digits or dashes")
		}
		if seen[sn] {
			return domain.Shipment{}, domain.Invalid(fmt.Sprintf("serials[%d]", i), "serial %q is listed twice", sn)
		}
		seen[sn] = true
	}
	if len(in.Carriers) == 0 {
		return domain.Shipment{}, domain.Invalid("carriers", "name the carrier of every leg: one for all, or one per leg")
	}
	if in.UnitValue.Minor <= 0 || len(in.UnitValue.Currency) != 3 {
		return domain.Shipment{}, domain.Invalid("unit_value", "a positive amount in minor units with an ISO 4217 currency")
	}
	qty := int64(len(in.Serials))
	value, err := in.UnitValue.Times(qty)
	if err != nil {
		return domain.Shipment{}, domain.Invalid("unit_value", "%s", domain.ErrorMessage(err))
	}
	rules, err := s.rulesNow()
	if err != nil {
		return domain.Shipment{}, err
	}
	now := s.Now()
	var sh domain.Shipment
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		o, err := store.Get[domain.Order](ctx, tx, store.KindOrder, orderID, true)
		if err != nil {
			return err
		}
		if o.Status != domain.OrderAccepted {
			return domain.Errorf(domain.ECONFLICT, "order is %s; only an accepted order ships", o.Status)
		}
		if o.Shipped+qty > o.Quantity {
			return domain.Errorf(domain.ECONFLICT, "order has %d units left to ship, fewer than %d", o.Quantity-o.Shipped, qty)
		}
		product, err := tx.ProductBySlug(ctx, o.Product)
		if err != nil {
			return err
		}
		lots, err := tx.Lots(ctx, product.ID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(lots, func(l domain.Lot) bool { return l.Number == in.Lot })
		if i < 0 {
			return domain.Invalid("lot", "no %s lot %q", o.Product, in.Lot)
		}
		lot := lots[i]
		if now.Before(lot.AvailableOn) {
			return domain.Errorf(domain.ECONFLICT, "lot %s is available from %s", lot.Number, lot.AvailableOn.Format(time.DateOnly))
		}
		dest, err := s.orderDestination(ctx, tx, o)
		if err != nil {
			return err
		}
		route, routeRule := rules.Route(dest)
		if route == nil {
			route = []string{lot.Origin, dest}
			if lot.Origin == dest {
				route = []string{dest}
			}
		}
		id := newID()
		sh = domain.Shipment{ID: id, Number: fmt.Sprintf("SH-%d-%s", now.Year(), strings.ToUpper(id.String()[24:])),
			OrderID: o.ID, BuyerID: o.BuyerID, Buyer: o.Buyer, Product: o.Product, Lot: lot.Number, Serials: in.Serials, Quantity: qty,
			LicenseID: o.LicenseID, PermitID: o.PermitID,
			Route: route, RouteRule: routeRule, Destination: dest, Site: o.Site, EndUse: o.EndUse,
			UnitValue: in.UnitValue, Value: value, Status: domain.ShipAtOrigin, Events: []domain.CustodyEvent{}, CreatedAt: now, UpdatedAt: now}
		if lab, rule, ok := rules.LabTest(dest); ok {
			sh.LabRequired, sh.LabCountry = rule, lab.LabCountry
		}
		if sh.Carriers, sh.Lab, err = nameCustody(ctx, tx, in.Carriers, in.Lab, max(1, len(route)-1), sh.LabCountry, dest); err != nil {
			return err
		}
		// The carriers and the lab are screened like the buyer (listing.go).
		if err := s.screenCustody(ctx, tx, who, rules, sh, now); err != nil {
			return err
		}
		holder := sh.Carriers[0]
		sh.Holder = &holder
		if err := tx.ClaimSerials(ctx, sh.ID, sh.Serials); err != nil {
			return err
		}
		if err := tx.ShipFromLot(ctx, lot.ID, qty); err != nil {
			return fmt.Errorf("lot %s: %w", lot.Number, err)
		}
		sh.Invoice = domain.Invoice{Number: strings.Replace(sh.Number, "SH-", "INV-", 1), IssuedAt: now,
			Lines: []domain.InvoiceLine{{Description: fmt.Sprintf("%s, lot %s, serials %s…", product.Name, lot.Number, sh.Serials[0]), Quantity: qty, UnitPrice: in.UnitValue, Amount: value}},
			Total: value}
		o.Shipped += qty
		o.UpdatedAt = now
		if err := put(ctx, tx, store.KindOrder, false, orderDoc(o), o); err != nil {
			return err
		}
		if err := put(ctx, tx, store.KindShipment, true, shipmentDoc(sh), sh); err != nil {
			return err
		}
		if err := nameParties(ctx, tx, sh); err != nil {
			return err
		}
		if err := s.record(ctx, tx, who, now, "shipment.created", "shipment", sh.ID.String(), sh); err != nil {
			return err
		}
		return s.patternAlerts(ctx, tx, who, sh, now)
	})
	return sh, err
}

func shipmentDoc(sh domain.Shipment) store.Doc {
	return store.Doc{ID: sh.ID, PartyID: sh.BuyerID, Ref: sh.OrderID.String(), Status: string(sh.Status), CreatedAt: sh.CreatedAt, UpdatedAt: sh.UpdatedAt}
}

// EventRequest is a custody or border event.
type EventRequest struct {
	// Kind is picked_up, arrived, handed_over, customs_cleared, delivered
	// (the carrier's; customs_cleared the import authority's where it
	// draws the import permit) or export_cleared (the export authority's).
	Kind    string `json:"kind"`
	Country string `json:"country"`
	Place   string `json:"place"`
	// To names the carrier a hand-over gives custody to, by party slug.
	To string `json:"to,omitempty"`
}

// RecordEvent records a custody or border event and applies its checks:
// leaving the lab country needs a passing lab test; the export leg counts
// toward the CN+MO cap against units exported to US end users, and where
// it draws a license, the export authority clears it first
// (export_cleared, which depletes the license); clearing customs in the
// duty's country assesses the duty; clearing customs at a destination
// whose regime requires an import permit depletes the permit, and only
// that destination's import authority records it; a hand-over
// (handed_over, to) gives custody to another carrier. A route of one
// country (a domestic shipment) clears customs and is delivered where it
// starts; it is never picked up. Callers: the carrier holding the shipment
// (for one made before shipments named their carriers, any carrier), the
// import authority of its destination (customs_cleared) and the export
// authority of the country its export leg leaves (export_cleared);
// EFORBIDDEN for other roles and kinds, ENOTFOUND for a carrier or
// authority the shipment does not name, before anything about it is said.
// Returns EINVALID naming kind, country, place or to, ENOTFOUND for an
// unknown shipment, ECONFLICT naming the state for an event out of order
// or in the wrong country, or a check that fails, or naming the holder for
// a carrier that does not hold the shipment.
func (s *Service) RecordEvent(ctx context.Context, who domain.Actor, id domain.ID, in EventRequest) (domain.Shipment, error) {
	if err := authorizeWork(who, ActShipmentEvent, routineWork); err != nil {
		return domain.Shipment{}, err
	}
	if err := eventKindOf(who, in.Kind); err != nil {
		return domain.Shipment{}, err
	}
	if !domain.ValidCountry(in.Country) {
		return domain.Shipment{}, domain.Invalid("country", "must be an ISO 3166-1 alpha-2 code")
	}
	in.Place = strings.TrimSpace(in.Place)
	if in.Place == "" || len(in.Place) > 200 {
		return domain.Shipment{}, domain.Invalid("place", "required, at most 200 bytes")
	}
	rules, err := s.rulesNow()
	if err != nil {
		return domain.Shipment{}, err
	}
	now := s.Now()
	var sh domain.Shipment
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		sh, err = store.Get[domain.Shipment](ctx, tx, store.KindShipment, id, true)
		if err != nil {
			return err
		}
		if err := maySpeak(ctx, tx, who, sh); err != nil {
			return err
		}
		// Every step checks the buyer's screening: a listing after the
		// order was accepted stops the goods at their next step.
		if err := s.shipmentScreening(ctx, tx, rules, sh); err != nil {
			return err
		}
		// And its holder's, its lab's and the next carrier's.
		to := ""
		if in.Kind == "handed_over" {
			to = in.To
		}
		if err := s.custodyScreening(ctx, tx, rules, sh, to); err != nil {
			return err
		}
		last := len(sh.Route) - 1
		here := sh.Route[sh.Leg]
		wrongPlace := func(want string) error {
			return domain.Errorf(domain.ECONFLICT, "shipment is %s in %s; a %s event must be in %s, not %s", sh.Status, here, in.Kind, want, in.Country)
		}
		switch in.Kind {
		case "picked_up":
			// A shipment at its destination has no leg left: a route of
			// one country (a domestic shipment) clears and is delivered
			// where it starts.
			if !(sh.Status == domain.ShipAtOrigin || sh.Status == domain.ShipCleared) || sh.Leg == last {
				return domain.Errorf(domain.ECONFLICT, "shipment is %s in %s; it cannot be picked up", sh.Status, here)
			}
			if in.Country != here {
				return wrongPlace(here)
			}
			if sh.LabRequired != "" && here == sh.LabCountry && (sh.Test == nil || !sh.Test.Pass) {
				return domain.Errorf(domain.ECONFLICT, "export leg blocked by %s: no passing lab test in %s", sh.LabRequired, sh.LabCountry)
			}
			if namesCustody(sh) && sh.Leg < len(sh.Carriers) && sh.Carriers[sh.Leg].PartyID != sh.Holder.PartyID {
				return domain.Errorf(domain.ECONFLICT, "the leg from %s is %s's; %s hands the shipment over first", here, sh.Carriers[sh.Leg].Party, sh.Holder.Party)
			}
			if sh.Leg == last-1 && sh.ExportClearance == nil {
				if err := s.exportChecks(ctx, tx, rules, &sh, now, false); err != nil {
					return err
				}
			}
			sh.Status = domain.ShipInTransit
		case "export_cleared":
			if sh.Leg != last-1 || !(sh.Status == domain.ShipCleared || (sh.Status == domain.ShipAtOrigin && sh.Leg == 0)) || sh.ExportClearance != nil {
				return domain.Errorf(domain.ECONFLICT, "shipment is %s in %s; export clearance is for a shipment ready to leave for its destination, once", sh.Status, here)
			}
			if in.Country != here {
				return wrongPlace(here)
			}
			if err := s.exportChecks(ctx, tx, rules, &sh, now, true); err != nil {
				return err
			}
		case "handed_over":
			if sh.Status == domain.ShipInTransit || sh.Status == domain.ShipDelivered {
				return domain.Errorf(domain.ECONFLICT, "shipment is %s in %s; custody changes hands at a stop", sh.Status, here)
			}
			if in.Country != here {
				return wrongPlace(here)
			}
			if err := handOver(ctx, tx, &sh, in.To); err != nil {
				return err
			}
		case "arrived":
			if sh.Status != domain.ShipInTransit || sh.Leg == last {
				return domain.Errorf(domain.ECONFLICT, "shipment is %s in %s; it cannot arrive", sh.Status, here)
			}
			if in.Country != sh.Route[sh.Leg+1] {
				return wrongPlace(sh.Route[sh.Leg+1])
			}
			sh.Leg++
			sh.Status = domain.ShipArrived
			if sh.LabRequired != "" && in.Country == sh.LabCountry && sh.LabArrival == nil {
				sh.LabArrival = &now
			}
		case "customs_cleared":
			if sh.Status != domain.ShipArrived && !(sh.Status == domain.ShipAtOrigin && len(sh.Route) == 1) {
				return domain.Errorf(domain.ECONFLICT, "shipment is %s in %s; only an arrived shipment clears customs", sh.Status, here)
			}
			if in.Country != here {
				return wrongPlace(here)
			}
			permit, err := s.customsChecks(ctx, tx, rules, &sh, now)
			if err != nil {
				return err
			}
			if permit && who.Role != domain.RoleImportAuthority && !isSystem(who) {
				return domain.Errorf(domain.EFORBIDDEN, "customs clearance into %s draws the import permit: %s's import authority records it", here, here)
			}
			sh.Status = domain.ShipCleared
		case "delivered":
			if sh.Status != domain.ShipCleared || sh.Leg != last {
				return domain.Errorf(domain.ECONFLICT, "shipment is %s in %s; only a shipment cleared at its destination %s is delivered", sh.Status, here, sh.Route[last])
			}
			if in.Country != here {
				return wrongPlace(here)
			}
			sh.Status = domain.ShipDelivered
		default:
			return domain.Invalid("kind", "must be picked_up, arrived, handed_over, customs_cleared, export_cleared or delivered")
		}
		ev := domain.CustodyEvent{At: now, Kind: in.Kind, Country: in.Country, Place: in.Place, By: who.PartySlug, Role: who.Role}
		if in.Kind == "handed_over" {
			ev.To = sh.Holder.Party
		}
		if in.Kind == "export_cleared" {
			sh.ExportClearance = &ev
		}
		sh.Events = append(sh.Events, ev)
		sh.UpdatedAt = now
		if err := put(ctx, tx, store.KindShipment, false, shipmentDoc(sh), sh); err != nil {
			return err
		}
		if err := s.record(ctx, tx, who, now, "shipment."+in.Kind, "shipment", sh.ID.String(), ev); err != nil {
			return err
		}
		if sh.Status == domain.ShipDelivered {
			return s.fulfil(ctx, tx, who, sh.OrderID, now)
		}
		return nil
	})
	return sh, err
}

// fulfil makes an accepted order fulfilled, a final state, once every unit
// is shipped and every shipment of it delivered.
func (s *Service) fulfil(ctx context.Context, tx store.Tx, who domain.Actor, id domain.ID, now time.Time) error {
	o, err := store.Get[domain.Order](ctx, tx, store.KindOrder, id, true)
	if err != nil {
		return err
	}
	if o.Status != domain.OrderAccepted || o.Shipped < o.Quantity {
		return nil
	}
	shipments, err := store.List[domain.Shipment](ctx, tx, store.KindShipment, store.DocFilter{Ref: id.String()})
	if err != nil {
		return err
	}
	for _, sh := range shipments {
		if sh.Status != domain.ShipDelivered {
			return nil
		}
	}
	o.Status, o.UpdatedAt = domain.OrderFulfilled, now
	if err := put(ctx, tx, store.KindOrder, false, orderDoc(o), o); err != nil {
		return err
	}
	return s.record(ctx, tx, who, now, "order.fulfilled", "order", o.ID.String(), o)
}

// exportChecks run when a shipment is cleared to leave for its destination
// (by the export authority: cleared) or leaves without that clearance: the
// policy decides the export (policy.Rules.DecideExport: the license the
// destination requires — the one the units were drawn on — the volume cap
// on units actually exported, the lab test), and the units go through the
// license it names and into the exported count. An export that draws a
// license and was not cleared is refused: the export authority clears it.
func (s *Service) exportChecks(ctx context.Context, tx store.Tx, rules policy.Rules, sh *domain.Shipment, now time.Time, cleared bool) error {
	o, err := store.Get[domain.Order](ctx, tx, store.KindOrder, sh.OrderID, false)
	if err != nil {
		return err
	}
	product, err := tx.ProductBySlug(ctx, sh.Product)
	if err != nil {
		return err
	}
	f := policy.ExportFacts{At: now, Product: sh.Product, Spec: product.Spec, LaunchDate: product.LaunchDate, Destination: sh.Destination,
		Units: sh.Quantity, LabPassed: sh.Test != nil && sh.Test.Pass}
	if buyer, err := tx.Party(ctx, sh.BuyerID); err != nil {
		return err
	} else {
		f.BuyerHQ = buyer.Country
	}
	if app, ok, err := customerApplication(ctx, tx, sh.BuyerID); err != nil {
		return err
	} else if ok {
		f.ParentHQ = app.ParentCountry
	}
	var lic *domain.License
	if id := shipmentGrant(sh.LicenseID, o.LicenseID); id != nil {
		l, err := store.Get[domain.License](ctx, tx, store.KindLicense, *id, true)
		if err != nil {
			return err
		}
		lic = &l
		f.License = &policy.BorderGrant{Number: l.Number, Jurisdiction: l.Jurisdiction, Status: l.Status, Through: l.Exported, Quantity: l.Quantity}
	}
	region := rules.Region(sh.Destination)
	vols, err := tx.Volumes(ctx, store.Shipped, sh.Product, orderedRegions)
	if err != nil {
		return err
	}
	f.ExportedRegion, f.ExportedUS = vols[region], vols[rules.Region("US")]
	d := rules.DecideExport(f)
	if d.Outcome != domain.Accepted {
		return domain.Errorf(domain.ECONFLICT, "export leg refused: %s", reasonsText(d.Blocking()))
	}
	if i := slices.IndexFunc(d.Grants(), func(g domain.GrantUse) bool { return g.Kind == domain.GrantLicense }); i >= 0 && !cleared {
		return domain.Errorf(domain.ECONFLICT, "the export leg from %s draws license %s: the export authority clears it first (export_cleared)", sh.Route[sh.Leg], d.Grants()[i].Ref)
	}
	for _, g := range d.Grants() {
		if g.Kind == domain.GrantLicense && lic != nil {
			lic.Exported += g.Units
			lic.UpdatedAt = now
			if err := put(ctx, tx, store.KindLicense, false, licenseDoc(*lic), *lic); err != nil {
				return err
			}
		}
	}
	return tx.AddVolume(ctx, store.Shipped, sh.Product, region, sh.Quantity)
}

// shipmentGrant is the grant a shipment's units cross the border through:
// the one they were drawn on, or for a shipment made before shipments
// named it, the order's.
func shipmentGrant(shipment, order *domain.ID) *domain.ID {
	if shipment != nil {
		return shipment
	}
	return order
}

// customsChecks run when a shipment clears customs: the duty in the duty's
// importing country; at the destination, the importing regime's decision
// (policy.Rules.DecideImport): where it requires a permit, the permit the
// units were drawn on lets them in, and nothing else can. It reports
// whether the clearance used the permit regime.
func (s *Service) customsChecks(ctx context.Context, tx store.Tx, rules policy.Rules, sh *domain.Shipment, now time.Time) (bool, error) {
	here := sh.Route[sh.Leg]
	product, err := tx.ProductBySlug(ctx, sh.Product)
	if err != nil {
		return false, err
	}
	if sh.Duty == nil {
		d := rules.DutyFor(product.Spec, sh.EndUse)
		if d.Rule != "" && d.ImportingCountry == here {
			amount, err := d.Apply(sh.Value)
			if err != nil {
				return false, err
			}
			sh.Duty = &domain.DutyEntry{ShipmentID: sh.ID, Rule: d.Rule, Source: d.Source, Country: here, RatePPM: d.Rate, Rate: d.RateText,
				Exempt: d.Exempt, DutiableValue: sh.Value, Amount: amount, AssessedAt: now, Message: d.Message}
		}
	}
	if sh.Leg != len(sh.Route)-1 {
		return false, nil
	}
	o, err := store.Get[domain.Order](ctx, tx, store.KindOrder, sh.OrderID, false)
	if err != nil {
		return false, err
	}
	f := policy.ImportFacts{At: now, Spec: product.Spec, Destination: sh.Destination, Units: sh.Quantity}
	var permit *domain.ImportPermit
	if id := shipmentGrant(sh.PermitID, o.PermitID); id != nil {
		p, err := store.Get[domain.ImportPermit](ctx, tx, store.KindPermit, *id, true)
		if err != nil {
			return false, err
		}
		permit = &p
		f.Permit = &policy.BorderGrant{Number: p.Number, Jurisdiction: p.Jurisdiction, Status: p.Status, Through: p.Imported, Quantity: p.Quantity}
	}
	d := rules.DecideImport(f)
	if d.Outcome != domain.Accepted {
		return d.UsesPermit, domain.Errorf(domain.ECONFLICT, "customs clearance refused: %s", reasonsText(d.Blocking()))
	}
	for _, g := range d.Grants() {
		if g.Kind == domain.GrantPermit && permit != nil {
			permit.Imported += g.Units
			permit.UpdatedAt = now
			if err := put(ctx, tx, store.KindPermit, false, permitDoc(*permit), *permit); err != nil {
				return false, err
			}
		}
	}
	return d.UsesPermit, nil
}

// LabTestRequest is what the lab measured on a shipment's units.
type LabTestRequest struct {
	Throughput    []domain.Throughput `json:"throughput"`
	BandwidthGBps int                 `json:"bandwidth_gbps"`
	// DeviceKeys are the public keys of the key pairs the lab generated on
	// the units' devices, by serial (Ed25519, standard base64): from then
	// on a device is its key, not its label.
	DeviceKeys map[string]string `json:"device_keys,omitempty"`
}

// RecordLabTest records the independent lab's test of a shipment waiting
// in the lab country. It passes when the measured chip is the licensed
// product (no faster, no more bandwidth than its specification) and its
// classification for the destination is not denied under the rules in
// force. Callers: the lab the shipment names (any lab, for one made before
// shipments named their lab); EFORBIDDEN for other roles, ENOTFOUND for
// another lab, before anything about the shipment is said. A test is final.
// Returns ENOTFOUND for an unknown shipment, ECONFLICT for a shipment whose
// destination needs no test, one tested already or one not cleared in the
// lab's country, EINVALID naming throughput[i].… or bandwidth_gbps for a
// measurement that is no chip's, or device_keys.<serial> for a serial not
// in the shipment or a key that is not an Ed25519 public key; ECONFLICT
// naming device_keys for a key recorded for another serial.
func (s *Service) RecordLabTest(ctx context.Context, who domain.Actor, id domain.ID, in LabTestRequest) (domain.Shipment, error) {
	if err := authorizeWork(who, ActShipmentTest, routineWork); err != nil {
		return domain.Shipment{}, err
	}
	rules, err := s.rulesNow()
	if err != nil {
		return domain.Shipment{}, err
	}
	now := s.Now()
	var sh domain.Shipment
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		sh, err = store.Get[domain.Shipment](ctx, tx, store.KindShipment, id, true)
		if err != nil {
			return err
		}
		if err := mayTest(who, sh); err != nil {
			return err
		}
		if err := s.custodyScreening(ctx, tx, rules, sh, ""); err != nil {
			return err
		}
		if sh.LabRequired == "" {
			return domain.Errorf(domain.ECONFLICT, "shipment to %s needs no lab test", sh.Destination)
		}
		if sh.Test != nil {
			return domain.Errorf(domain.ECONFLICT, "shipment was tested on %s; a test is final", sh.Test.At.Format(time.DateOnly))
		}
		if sh.Route[sh.Leg] != sh.LabCountry || sh.Status != domain.ShipCleared {
			return domain.Errorf(domain.ECONFLICT, "shipment is %s in %s; it is tested once cleared in %s", sh.Status, sh.Route[sh.Leg], sh.LabCountry)
		}
		product, err := tx.ProductBySlug(ctx, sh.Product)
		if err != nil {
			return err
		}
		// The lab measures one IC; what it is part of (a system of N) and what
		// it is made for (data centers or not) are the product's.
		measured := domain.Spec{Throughput: in.Throughput, DieAreaMM2: product.Spec.DieAreaMM2, MemoryGB: product.Spec.MemoryGB, BandwidthGBps: in.BandwidthGBps,
			NotDataCenter: product.Spec.NotDataCenter, Accelerators: product.Spec.Accelerators}
		if err := measured.Validate(); err != nil {
			return err
		}
		tpp, _ := policy.Metrics(measured)
		want, _ := policy.Metrics(product.Spec)
		t := domain.LabTest{At: now, By: who.PartySlug, Role: who.Role, Measured: measured, TPP: tpp, Pass: true}
		if tpp > want {
			t.Pass = false
			t.Reasons = append(t.Reasons, fmt.Sprintf("measured TPP %.0f > %s's %.0f: not the licensed product", tpp, product.Slug, want))
		}
		if in.BandwidthGBps > product.Spec.BandwidthGBps {
			t.Pass = false
			t.Reasons = append(t.Reasons, fmt.Sprintf("measured bandwidth %d GB/s > %s's %d GB/s: not the licensed product", in.BandwidthGBps, product.Slug, product.Spec.BandwidthGBps))
		}
		c := rules.Classify(measured, product.LaunchDate)
		st, ok := c.Destinations[sh.Destination]
		if !ok {
			st = c.Destinations["default"]
		}
		if st.Status == policy.Denied {
			t.Pass = false
			t.Reasons = append(t.Reasons, fmt.Sprintf("the measured chip is denied for %s (%s)", sh.Destination, strings.Join(st.Rules, ", ")))
		}
		if t.Pass {
			t.Reasons = append(t.Reasons, fmt.Sprintf("measured TPP %.0f ≤ %.0f and %d ≤ %d GB/s; %s for %s", tpp, want, in.BandwidthGBps, product.Spec.BandwidthGBps, st.Status, sh.Destination))
		}
		for sn, k := range in.DeviceKeys {
			if !slices.Contains(sh.Serials, sn) {
				return domain.Invalid("device_keys."+sn, "serial %q is not in this shipment", sn)
			}
			if _, err := attest.ParseKey(k); err != nil {
				return domain.Invalid("device_keys."+sn, "must be an Ed25519 public key (32 bytes, standard base64)")
			}
			if err := tx.AddDeviceKey(ctx, sn, k, sh.ID); err != nil {
				return err
			}
		}
		if len(in.DeviceKeys) > 0 {
			t.DeviceKeys = in.DeviceKeys
		}
		sh.Test, sh.UpdatedAt = &t, now
		if err := put(ctx, tx, store.KindShipment, false, shipmentDoc(sh), sh); err != nil {
			return err
		}
		return s.record(ctx, tx, who, now, "shipment.tested", "shipment", sh.ID.String(), t)
	})
	return sh, err
}

// ShipmentView is a shipment with its place in the lab's queue.
type ShipmentView struct {
	domain.Shipment
	// LabQueue is set while the shipment waits for its test.
	LabQueue *LabQueue `json:"lab_queue,omitempty"`
}

// LabQueue is a shipment's place in the lab's queue and its ETA.
type LabQueue struct {
	UnitsAhead     int64     `json:"units_ahead"`
	WeeklyCapacity int       `json:"weekly_capacity"`
	TestedBy       time.Time `json:"tested_by"`
}

// ShipmentsPage reads one page of shipments (newest first unless q.Asc): a
// buyer's own; a carrier's or a lab's those that name it (and those made
// before shipments named their parties; such a page may hold fewer than
// its limit, its cursor still good); all for the vendor and the
// authorities (optionally one buyer's); filtered by q; each waiting for a
// test with its place in the lab's queue (first come, first tested) and the
// date it will be tested by at the policy's weekly capacity. Callers:
// those; EFORBIDDEN for auditors. Returns EINVALID naming limit, cursor,
// status or party.
func (s *Service) ShipmentsPage(ctx context.Context, who domain.Actor, q domain.ListQuery) (domain.Page[ShipmentView], error) {
	if err := authorize(who, ActShipmentRead); err != nil {
		return domain.Page[ShipmentView]{}, err
	}
	pq, err := checkQuery(who, q, shipmentStates, shipmentScope(who))
	if err != nil {
		return domain.Page[ShipmentView]{}, err
	}
	if err := s.within(ctx, who, &pq.f); err != nil {
		return domain.Page[ShipmentView]{}, err
	}
	var page domain.Page[domain.Shipment]
	var queue map[domain.ID]*LabQueue
	if err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		if page, err = pageOf[domain.Shipment](ctx, tx, store.KindShipment, pq); err != nil {
			return err
		}
		if page.Items, err = namingOnly(ctx, tx, who, page.Items); err != nil {
			return err
		}
		queue, err = s.labQueue(ctx, tx)
		return err
	}); err != nil {
		return domain.Page[ShipmentView]{}, err
	}
	return mapPage(page, func(sh domain.Shipment) ShipmentView { return ShipmentView{Shipment: sh, LabQueue: queue[sh.ID]} }), nil
}

// Shipments lists every shipment the reader may see (as ShipmentsPage),
// oldest first. Callers: those of ShipmentsPage.
func (s *Service) Shipments(ctx context.Context, who domain.Actor) ([]ShipmentView, error) {
	if err := authorize(who, ActShipmentRead); err != nil {
		return nil, err
	}
	visible := store.DocFilter{}
	if shipmentScope(who) == own && !isSystem(who) {
		visible.PartyID = who.PartyID
	}
	if err := s.within(ctx, who, &visible); err != nil {
		return nil, err
	}
	var all []domain.Shipment
	var queue map[domain.ID]*LabQueue
	if err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		if all, err = store.List[domain.Shipment](ctx, tx, store.KindShipment, visible); err != nil {
			return err
		}
		if all, err = namingOnly(ctx, tx, who, all); err != nil {
			return err
		}
		queue, err = s.labQueue(ctx, tx)
		return err
	}); err != nil {
		return nil, err
	}
	out := make([]ShipmentView, 0, len(all))
	for _, sh := range all {
		out = append(out, ShipmentView{Shipment: sh, LabQueue: queue[sh.ID]})
	}
	return out, nil
}

// shipmentScope is whose shipments who reads by owner: a buyer its own; a
// carrier or a lab, whose "own" shipments are those that name it (not
// those it owns), every buyer's, kept by namingOnly.
func shipmentScope(who domain.Actor) scope {
	if who.Role == domain.RoleCarrier || who.Role == domain.RoleLab {
		return all
	}
	return grants[ActShipmentRead][who.Role]
}

// namingOnly keeps, for a carrier or a lab, the shipments that name it (and
// those made before shipments named their parties); anyone else's list is
// left as it is.
func namingOnly(ctx context.Context, tx store.Tx, who domain.Actor, shs []domain.Shipment) ([]domain.Shipment, error) {
	if who.Role != domain.RoleCarrier && who.Role != domain.RoleLab {
		return shs, nil
	}
	ids, err := tx.PartyShipments(ctx, who.PartyID)
	if err != nil {
		return nil, err
	}
	named := make(map[domain.ID]bool, len(ids))
	for _, id := range ids {
		named[id] = true
	}
	return slices.DeleteFunc(shs, func(sh domain.Shipment) bool { return !visibleTo(sh, named) }), nil
}

// labQueue places every shipment waiting for its test in the lab's queue.
// The queue, which decides every ETA, is everyone's shipments at a stop
// (arrived or cleared) that reached the lab and wait for a test, read in
// the same snapshot as the shipments listed.
func (s *Service) labQueue(ctx context.Context, tx store.Tx) (map[domain.ID]*LabQueue, error) {
	rules, err := s.rulesNow()
	if err != nil {
		return nil, err
	}
	atStops, err := store.List[domain.Shipment](ctx, tx, store.KindShipment, store.DocFilter{
		Status: []string{string(domain.ShipArrived), string(domain.ShipCleared)}})
	if err != nil {
		return nil, err
	}
	var waiting []*domain.Shipment
	for i := range atStops {
		if sh := &atStops[i]; sh.LabArrival != nil && sh.Test == nil {
			waiting = append(waiting, sh)
		}
	}
	slices.SortStableFunc(waiting, func(a, b *domain.Shipment) int { return a.LabArrival.Compare(*b.LabArrival) })
	capacity := rules.LabWeeklyCapacity()
	queue := map[domain.ID]*LabQueue{}
	var ahead int64
	for _, sh := range waiting {
		q := &LabQueue{UnitsAhead: ahead, WeeklyCapacity: capacity}
		if capacity > 0 {
			weeks := float64(ahead+sh.Quantity) / float64(capacity)
			q.TestedBy = sh.LabArrival.Add(time.Duration(weeks * 7 * 24 * float64(time.Hour))).Truncate(time.Second)
		}
		queue[sh.ID] = q
		ahead += sh.Quantity
	}
	return queue, nil
}

// DutyReport is the duty assessed in one month, for remittance.
type DutyReport struct {
	Month   string             `json:"month"`
	Entries []domain.DutyEntry `json:"entries"`
	// Totals sum the entries per currency: dutiable value and duty.
	Totals []DutyTotal `json:"totals"`
}

// DutyTotal sums one currency's entries.
type DutyTotal struct {
	Currency      string `json:"currency"`
	Entries       int    `json:"entries"`
	DutiableMinor int64  `json:"dutiable_minor"`
	DutyMinor     int64  `json:"duty_minor"`
}

// Duty returns the duty assessed in a month (YYYY-MM). Callers: the vendor
// and the export authority; EFORBIDDEN for anyone else. Returns EINVALID
// naming month. Each entry's duty is its dutiable value × rate
// rounded half away from zero to the minor unit; the totals are the sums of
// the entries, exactly.
func (s *Service) Duty(ctx context.Context, who domain.Actor, month string) (DutyReport, error) {
	if err := authorize(who, ActDutyRead); err != nil {
		return DutyReport{}, err
	}
	start, err := time.Parse("2006-01", month)
	if err != nil {
		return DutyReport{}, domain.Invalid("month", "must be YYYY-MM")
	}
	end := start.AddDate(0, 1, 0)
	var all []domain.Shipment
	if err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		all, err = store.List[domain.Shipment](ctx, tx, store.KindShipment, store.DocFilter{})
		return err
	}); err != nil {
		return DutyReport{}, err
	}
	rep := DutyReport{Month: month, Entries: []domain.DutyEntry{}}
	totals := map[string]*DutyTotal{}
	for _, sh := range all {
		d := sh.Duty
		if d == nil || d.AssessedAt.Before(start) || !d.AssessedAt.Before(end) {
			continue
		}
		rep.Entries = append(rep.Entries, *d)
		t := totals[d.Amount.Currency]
		if t == nil {
			t = &DutyTotal{Currency: d.Amount.Currency}
			totals[d.Amount.Currency] = t
		}
		t.Entries++
		if t.DutiableMinor, err = addMinor(t.DutiableMinor, d.DutiableValue.Minor); err != nil {
			return rep, err
		}
		if t.DutyMinor, err = addMinor(t.DutyMinor, d.Amount.Minor); err != nil {
			return rep, err
		}
	}
	slices.SortFunc(rep.Entries, func(a, b domain.DutyEntry) int { return a.AssessedAt.Compare(b.AssessedAt) })
	for _, t := range totals {
		rep.Totals = append(rep.Totals, *t)
	}
	slices.SortFunc(rep.Totals, func(a, b DutyTotal) int { return strings.Compare(a.Currency, b.Currency) })
	return rep, nil
}

func addMinor(a, b int64) (int64, error) {
	m, err := (domain.Money{Minor: a}).Add(domain.Money{Minor: b})
	return m.Minor, err
}
