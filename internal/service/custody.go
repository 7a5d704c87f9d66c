package service

import (
	"context"
	"fmt"
	"slices"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/store"
)

// Who may speak for a shipment (issue 18): the carriers and the lab it
// names, the holder among the carriers for its custody events, the import
// authority of its destination for the customs clearance that draws the
// import permit, and the export authority of the country its export leg
// leaves for the export clearance that draws the license. Anyone else gets
// ENOTFOUND, learns nothing and changes nothing.

// shipmentNotFound is what a party that may not act on a shipment hears:
// the same as for a shipment that does not exist.
func shipmentNotFound() error { return domain.Errorf(domain.ENOTFOUND, "shipment not found") }

// nameCustody resolves the carriers (one for every leg, or one per leg)
// and the lab a new shipment names. legs is the number of legs of its
// route (a route of one country has one carrier, for its delivery);
// labCountry is where its lab test is, "" when it has none (the lab named
// is then not the shipment's). Returns
// EINVALID naming carriers, carriers[i] or lab.
func nameCustody(ctx context.Context, tx store.Tx, carriers []string, lab string, legs int, labCountry, dest string) ([]domain.Assignee, *domain.Assignee, error) {
	if len(carriers) != 1 && len(carriers) != legs {
		return nil, nil, domain.Invalid("carriers", "one carrier for every leg, or one for each of the route's %d legs", legs)
	}
	out := make([]domain.Assignee, legs)
	for i, slug := range carriers {
		p, err := tx.PartyBySlug(ctx, slug)
		if domain.ErrorCode(err) == domain.ENOTFOUND || (err == nil && p.Role != domain.RoleCarrier) {
			return nil, nil, domain.Invalid(fmt.Sprintf("carriers[%d]", i), "no carrier %q", slug)
		}
		if err != nil {
			return nil, nil, err
		}
		out[i] = domain.Assignee{PartyID: p.ID, Party: p.Slug}
	}
	for i := len(carriers); i < legs; i++ {
		out[i] = out[0]
	}
	if labCountry == "" {
		// A vendor that names its lab on every shipment names none for a
		// route without a test: the lab has nothing to do with it.
		return out, nil, nil
	}
	if lab == "" {
		return nil, nil, domain.Invalid("lab", "the route to %s has a lab test in %s: name the lab", dest, labCountry)
	}
	p, err := tx.PartyBySlug(ctx, lab)
	if domain.ErrorCode(err) == domain.ENOTFOUND || (err == nil && p.Role != domain.RoleLab) {
		return nil, nil, domain.Invalid("lab", "no lab %q", lab)
	}
	if err != nil {
		return nil, nil, err
	}
	if p.Country != labCountry {
		return nil, nil, domain.Invalid("lab", "lab %q is in %s; the test is in %s", lab, p.Country, labCountry)
	}
	return out, &domain.Assignee{PartyID: p.ID, Party: p.Slug}, nil
}

// nameParties records the parties a shipment names, for their reads.
func nameParties(ctx context.Context, tx store.Tx, sh domain.Shipment) error {
	var ids []domain.ID
	for _, c := range sh.Carriers {
		ids = append(ids, c.PartyID)
	}
	if sh.Lab != nil {
		ids = append(ids, sh.Lab.PartyID)
	}
	slices.SortFunc(ids, func(a, b domain.ID) int { return slices.Compare(a[:], b[:]) })
	for _, id := range slices.Compact(ids) {
		if err := tx.NameShipmentParty(ctx, sh.ID, id); err != nil {
			return err
		}
	}
	return nil
}

// namesCustody reports whether a shipment names its parties: those made
// before shipments did accept any carrier and lab, as they did.
func namesCustody(sh domain.Shipment) bool { return sh.Holder != nil }

// eventKindOf checks, before any shipment is read, that who's role records
// events of the kind: an export authority only export_cleared, an import
// authority only customs_cleared, a carrier every other kind. EFORBIDDEN
// otherwise.
func eventKindOf(who domain.Actor, kind string) error {
	switch {
	case isSystem(who):
		return nil
	case who.Role == domain.RoleExportAuthority && kind != "export_cleared":
		return domain.Errorf(domain.EFORBIDDEN, "the export authority records export clearance (export_cleared), not %s", kind)
	case who.Role == domain.RoleImportAuthority && kind != "customs_cleared":
		return domain.Errorf(domain.EFORBIDDEN, "the import authority records customs clearance (customs_cleared), not %s", kind)
	case who.Role == domain.RoleCarrier && kind == "export_cleared":
		return domain.Errorf(domain.EFORBIDDEN, "export clearance is the export authority's to record")
	}
	return nil
}

// maySpeak checks, right after the shipment is read and before anything
// about it is said, that who may record an event on it: a carrier it
// names (the holder, for a shipment that names its parties), the import
// authority of its destination or the one that issued its permit, the
// export authority of the country its export leg leaves. ENOTFOUND for anyone else; ECONFLICT naming the
// holder for a carrier the shipment names that does not hold it.
func maySpeak(ctx context.Context, tx store.Tx, who domain.Actor, sh domain.Shipment) error {
	switch who.Role {
	case domain.RoleCarrier:
		if !namesCustody(sh) {
			return nil
		}
		if !slices.ContainsFunc(sh.Carriers, func(a domain.Assignee) bool { return a.PartyID == who.PartyID }) {
			return shipmentNotFound()
		}
		if sh.Holder.PartyID != who.PartyID {
			return domain.Errorf(domain.ECONFLICT, "shipment is in %s's custody; %s records its events, and the hand-over", sh.Holder.Party, sh.Holder.Party)
		}
		return nil
	case domain.RoleImportAuthority, domain.RoleExportAuthority:
		p, err := tx.Party(ctx, who.PartyID)
		if err != nil {
			return err
		}
		country := sh.Destination
		if who.Role == domain.RoleExportAuthority {
			country = sh.Route[max(0, len(sh.Route)-2)]
		}
		mine := p.Country == country
		if !mine && who.Role == domain.RoleImportAuthority && sh.PermitID != nil {
			// The authority that issued the permit the units were drawn
			// on clears them wherever its regime reaches (China's reaches
			// Macau).
			permit, err := store.Get[domain.ImportPermit](ctx, tx, store.KindPermit, *sh.PermitID, false)
			if err != nil {
				return err
			}
			mine = permit.AuthorityID == who.PartyID
		}
		if !mine {
			return shipmentNotFound()
		}
		if who.Role == domain.RoleImportAuthority && sh.Leg != len(sh.Route)-1 {
			return domain.Errorf(domain.ECONFLICT, "shipment is %s in %s; the import authority clears it at its destination, %s", sh.Status, sh.Route[sh.Leg], sh.Destination)
		}
		return nil
	}
	if isSystem(who) {
		return nil
	}
	return shipmentNotFound()
}

// mayTest checks that who is the lab a shipment names; ENOTFOUND for
// another lab.
func mayTest(who domain.Actor, sh domain.Shipment) error {
	if isSystem(who) || sh.Lab == nil || sh.Lab.PartyID == who.PartyID {
		return nil
	}
	return shipmentNotFound()
}

// handOver gives custody of a shipment to another carrier: the new holder
// carries the next leg (or makes the delivery, at the destination) and may
// read the shipment from now on. Returns EINVALID naming to for a party
// that is not a carrier or already holds the shipment.
func handOver(ctx context.Context, tx store.Tx, sh *domain.Shipment, to string) error {
	p, err := tx.PartyBySlug(ctx, to)
	if domain.ErrorCode(err) == domain.ENOTFOUND || (err == nil && p.Role != domain.RoleCarrier) {
		return domain.Invalid("to", "no carrier %q", to)
	}
	if err != nil {
		return err
	}
	if sh.Holder != nil && sh.Holder.PartyID == p.ID {
		return domain.Invalid("to", "%s holds the shipment already", to)
	}
	a := domain.Assignee{PartyID: p.ID, Party: p.Slug}
	sh.Holder = &a
	if len(sh.Carriers) > 0 {
		sh.Carriers[min(sh.Leg, len(sh.Carriers)-1)] = a
	}
	return tx.NameShipmentParty(ctx, sh.ID, p.ID)
}

// visibleTo reports whether a carrier or a lab may read a shipment: one
// that names it, or one made before shipments named their parties.
func visibleTo(sh domain.Shipment, named map[domain.ID]bool) bool {
	return (!namesCustody(sh) && sh.Lab == nil) || named[sh.ID]
}
