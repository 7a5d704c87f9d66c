package policy

import (
	"slices"
	"strconv"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
)

// BorderGrant is a license or permit as a border crossing sees it: the
// units it has let through so far against its quantity.
type BorderGrant struct {
	Number       string             `json:"number"`
	Jurisdiction string             `json:"jurisdiction,omitempty"`
	Status       domain.GrantStatus `json:"status"`
	Through      int64              `json:"through"` // exported (license) or imported (permit)
	Quantity     int64              `json:"quantity"`
}

// ExportFacts is what a shipment leaving for its destination looks at: the
// chip, where it goes and for whom, the license its order drew on (nil for
// none), the units exported so far to the destination's region and to US
// end users, and the lab test.
type ExportFacts struct {
	At          time.Time   `json:"at"`
	Product     string      `json:"product"`
	Spec        domain.Spec `json:"spec"`
	LaunchDate  time.Time   `json:"launch_date"`
	Destination string      `json:"destination"`
	BuyerHQ     string      `json:"buyer_hq,omitempty"`
	ParentHQ    string      `json:"parent_hq,omitempty"`
	Units       int64       `json:"units"`
	// License is the export license the order drew on, if any.
	License *BorderGrant `json:"license,omitempty"`
	// ExportedRegion and ExportedUS are units of the product exported so
	// far to the destination's region and to US end users.
	ExportedRegion int64 `json:"exported_region"`
	ExportedUS     int64 `json:"exported_us"`
	// LabPassed is true when the shipment passed the independent lab test.
	LabPassed bool `json:"lab_passed"`
	// From is the country the export leg leaves from.
	From string `json:"from,omitempty"`
	// Exceptions are the license exceptions the order was accepted under
	// (its decision's exception grants).
	Exceptions []domain.GrantUse `json:"exceptions,omitempty"`
}

// exception returns the reference of the order's license exception of
// jurisdiction j, "" for none.
func (f *ExportFacts) exception(j string) string {
	for _, g := range f.Exceptions {
		if g.Kind == domain.GrantException && g.Jurisdiction == j {
			return g.Ref
		}
	}
	return ""
}

// DecideExport decides whether a shipment may start its export leg under
// the rules in force: the export license the destination requires (active,
// with room for the units), the volume cap on units actually exported, and
// the lab test. Rejected means the shipment stays where it is. An accepted
// decision names the license it lets the units through (Grants).
func (r Rules) DecideExport(f ExportFacts) domain.Decision {
	var sk sink
	d := domain.Decision{Outcome: domain.Accepted}
	add := func(e *entry, o domain.Outcome, msg, ref string) {
		sk.push(e.reason(o, msg, ref))
		if o.Rank() > d.Outcome.Rank() {
			d.Outcome = o
		}
	}
	// through lets units through a grant: an accepted reason naming it.
	through := func(e *entry, kind domain.GrantKind, msg, ref string, units int64) {
		sk.push(e.grant(kind, msg, ref, units))
	}
	tpp, pd := Metrics(f.Spec)
	d.ECCN, d.TPP, d.Region = r.eccnOf(&f.Spec, tpp, pd), tpp, r.Region(f.Destination)
	s := r.rs()
	q := destQuery{product: f.Product, eccn: d.ECCN, tpp: tpp, bandwidth: f.Spec.BandwidthGBps, available: f.LaunchDate,
		country: f.Destination, parentHQ: f.ParentHQ, buyerHQ: f.BuyerHQ, path: r.pathTo(f.Destination, f.From)}
	controlled := r.controlled(d.ECCN)
	d.Status = NoLicenseRequired
	units := strconv.FormatInt(f.Units, 10)
	for _, ix := range s.dests {
		before := len(sk.reasons)
		st, _, by := r.jurisdictionStatus(&sk, false, ix, &q, controlled)
		// The destination's reasons say what the export needs; whether it
		// has it is said below.
		for i := before; i < len(sk.reasons); i++ {
			sk.reasons[i].Outcome = domain.Accepted
		}
		if st.Rank() > d.Status.Rank() {
			d.Status = st
		}
		j := by.jurisdiction()
		switch st {
		case domain.Denied:
			add(by, domain.Rejected, d.ECCN+" to "+f.Destination+" is denied under the rules in force on "+f.At.UTC().Format(time.DateOnly), "")
		case domain.LicenseRequired:
			d.UsesLicense = true
			l := f.License
			if l != nil && l.Jurisdiction != "" && l.Jurisdiction != j {
				l = nil
			}
			switch {
			case l == nil && f.exception(j) != "":
				ref := f.exception(j)
				through(by, domain.GrantException, "license exception "+ref+" covers the export", ref, 0)
			case l == nil:
				add(by, domain.Rejected, "export of "+d.ECCN+" to "+f.Destination+" needs a license of "+j+"; the order drew on none", "")
			case l.Status != domain.GrantActive:
				add(by, domain.Rejected, "license "+l.Number+" is "+string(l.Status)+": the export leg cannot start", l.Number)
			case l.Through+f.Units > l.Quantity:
				add(by, domain.Rejected, "license "+l.Number+" has exported "+inum(l.Through)+" of "+inum(l.Quantity)+" units; "+units+" more exceed it", l.Number)
			default:
				through(by, domain.GrantLicense, "license "+l.Number+" lets "+units+" units through ("+inum(l.Through+f.Units)+" of "+inum(l.Quantity)+" exported)", l.Number, f.Units)
			}
		}
	}
	if e := s.volumeCap; e != nil && regionIn(e.doc.VolumeCap.Regions, d.Region) {
		limit := ShareOf(e.doc.VolumeCap.ShareOfUS.Rate(), f.ExportedUS)
		after := satAdd(max(f.ExportedRegion, 0), f.Units)
		msg := d.Region + " units exported would be " + inum(after) + " against " + e.doc.VolumeCap.ShareOfUS.Rate().String() +
			" of the " + inum(f.ExportedUS) + " exported to US end users (" + inum(limit) + ")"
		if after > limit {
			add(e, domain.Rejected, msg, "")
		} else {
			add(e, domain.Accepted, msg, "")
		}
	}
	if e := s.labTest; e != nil && regionIn(e.doc.LabTest.Regions, d.Region) {
		if f.LabPassed {
			add(e, domain.Accepted, "passed the independent lab test in "+e.doc.LabTest.LabCountry, "")
		} else {
			add(e, domain.Rejected, "no passing lab test in "+e.doc.LabTest.LabCountry, "")
		}
	}
	sk.finish()
	d.Reasons = sk.reasons
	return d
}

// ImportFacts is what a shipment clearing customs at its destination looks
// at: the chip, the destination, and the import permit its order drew on
// (nil for none).
type ImportFacts struct {
	At          time.Time    `json:"at"`
	Spec        domain.Spec  `json:"spec"`
	Destination string       `json:"destination"`
	Units       int64        `json:"units"`
	Permit      *BorderGrant `json:"permit,omitempty"`
}

// DecideImport decides whether a shipment clears customs at its
// destination under the importing regime in force: where the regime
// requires a permit for the chip's ECCN, the order must have drawn on an
// active permit of that regime with room for the units, whatever any other
// authority released. An accepted decision names the permit (Grants).
func (r Rules) DecideImport(f ImportFacts) domain.Decision {
	var sk sink
	d := domain.Decision{Outcome: domain.Accepted}
	add := func(e *entry, o domain.Outcome, msg, ref string) {
		sk.push(e.reason(o, msg, ref))
		if o.Rank() > d.Outcome.Rank() {
			d.Outcome = o
		}
	}
	// through lets units through a grant: an accepted reason naming it.
	through := func(e *entry, kind domain.GrantKind, msg, ref string, units int64) {
		sk.push(e.grant(kind, msg, ref, units))
	}
	tpp, pd := Metrics(f.Spec)
	d.ECCN, d.TPP, d.Region = r.eccnOf(&f.Spec, tpp, pd), tpp, r.Region(f.Destination)
	e := r.rs().importPermit
	if e == nil || !e.doc.ImportPermit.covers(f.Destination, d.Region) || !slices.Contains(e.doc.ImportPermit.ECCNs, d.ECCN) {
		return d
	}
	d.UsesPermit = true
	units := strconv.FormatInt(f.Units, 10)
	switch p := f.Permit; {
	case !e.doc.ImportPermit.Admitting:
		add(e, domain.Rejected, f.Destination+" customs admit no "+d.ECCN+" items at present", "")
	case p == nil:
		add(e, domain.Rejected, "import of "+d.ECCN+" into "+f.Destination+" needs an import permit of "+e.Jurisdiction+"; the order drew on none", "")
	case p.Jurisdiction != "" && p.Jurisdiction != e.Jurisdiction:
		add(e, domain.Rejected, "permit "+p.Number+" is of "+p.Jurisdiction+", not of "+e.Jurisdiction, p.Number)
	case p.Status != domain.GrantActive:
		add(e, domain.Rejected, "import permit "+p.Number+" is "+string(p.Status), p.Number)
	case p.Through+f.Units > p.Quantity:
		add(e, domain.Rejected, "import permit "+p.Number+" has admitted "+inum(p.Through)+" of "+inum(p.Quantity)+" units; "+units+" more exceed it", p.Number)
	default:
		through(e, domain.GrantPermit, "import permit "+p.Number+" admits "+units+" units ("+inum(p.Through+f.Units)+" of "+inum(p.Quantity)+")", p.Number, f.Units)
	}
	sk.finish()
	d.Reasons = sk.reasons
	return d
}
