package policy

import (
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
)

// Approval is the export authority's decision on a buyer.
type Approval string

// Buyer approval statuses; the empty value means the buyer never applied.
const (
	ApprovalNone     Approval = ""
	ApprovalPending  Approval = "pending"
	ApprovalApproved Approval = "approved"
	ApprovalDenied   Approval = "denied"
	ApprovalRevoked  Approval = "revoked"
)

// Screening is the result of screening the buyer (and its owners) against the
// restricted-party lists.
type Screening string

// Screening statuses; the empty value means not screened yet.
const (
	ScreeningPending        Screening = ""
	ScreeningClear          Screening = "clear"
	ScreeningPotentialMatch Screening = "potential_match"
	ScreeningMatch          Screening = "match"
)

// GrantStatus is the state of a license or an import permit.
type GrantStatus string

// Grant statuses. Only an active grant authorizes anything.
const (
	GrantActive    GrantStatus = "active"
	GrantSuspended GrantStatus = "suspended"
	GrantRevoked   GrantStatus = "revoked"
	GrantExpired   GrantStatus = "expired"
)

// License is an export license as the decision needs it.
type License struct {
	ID string `json:"id"`
	// Jurisdiction is the regime that issued it; a license answers only its
	// own regime's requirement ("" is read as any, for stored licenses
	// issued before licenses named their regime).
	Jurisdiction string      `json:"jurisdiction,omitempty"`
	Status       GrantStatus `json:"status"`
	// Products are the product slugs covered.
	Products []string `json:"products"`
	// Destinations are the ISO countries covered; empty means any.
	Destinations []string `json:"destinations,omitempty"`
	// Remaining is the quantity not yet used.
	Remaining int64 `json:"remaining"`
	// ValidFrom is inclusive, ValidUntil exclusive; a zero bound is open.
	ValidFrom  time.Time `json:"valid_from"`
	ValidUntil time.Time `json:"valid_until"`
	// Conditions must all hold for an order; compile them with
	// CompileCondition when the license is loaded.
	Conditions []Condition `json:"conditions,omitempty"`
}

// ImportPermit is the importing authority's permit or quota.
type ImportPermit struct {
	ID string `json:"id"`
	// Jurisdiction is the regime that issued it (see License.Jurisdiction).
	Jurisdiction string      `json:"jurisdiction,omitempty"`
	Status       GrantStatus `json:"status"`
	Remaining    int64       `json:"remaining"`
	ValidFrom    time.Time   `json:"valid_from"`
	ValidUntil   time.Time   `json:"valid_until"`
	// AllowedUses are the end uses permitted; empty means any not excluded.
	AllowedUses []string `json:"allowed_uses,omitempty"`
	// CloudOnly allows only deployments offered as a cloud service.
	CloudOnly bool `json:"cloud_only"`
	// ExcludedSectors adds to the policy's excluded sectors.
	ExcludedSectors []string    `json:"excluded_sectors,omitempty"`
	Conditions      []Condition `json:"conditions,omitempty"`
}

// OrderFacts is everything a decision on one order looks at. The ordering
// workflow gathers it in the order's transaction; the engine reads nothing
// else.
type OrderFacts struct {
	// At is the order's instant: it picks the rules in force (with
	// (*Policy).DecideOrder) and checks license and permit validity.
	At       time.Time   `json:"at"`
	Product  string      `json:"product"`
	Spec     domain.Spec `json:"spec"`
	Quantity int64       `json:"quantity"`
	// LaunchDate is the day the product became commercially available in
	// the US (domain.Product.LaunchDate); zero means unknown.
	LaunchDate time.Time `json:"launch_date"`

	// Destination is the ISO country of the consignee.
	Destination string `json:"destination"`
	// ShipFrom is the country the goods leave from for the destination
	// ("" when the route rule decides, i.e. a fresh export).
	ShipFrom string `json:"ship_from,omitempty"`
	// ReExport is true when the goods are already abroad: a re-export, an
	// export from abroad or an in-country transfer.
	ReExport bool `json:"reexport,omitempty"`

	// The buyer: its slug, class, sector (private, soe, military, ...),
	// headquarters and ultimate parent's headquarters (ISO countries).
	Buyer      string `json:"buyer"`
	BuyerClass string `json:"buyer_class,omitempty"`
	Sector     string `json:"sector,omitempty"`
	BuyerHQ    string `json:"buyer_hq,omitempty"`
	ParentHQ   string `json:"parent_hq,omitempty"`
	// Approval is the export authority's decision on the buyer.
	Approval Approval `json:"approval"`
	// Screening is the buyer's restricted-party screening status.
	Screening Screening `json:"screening"`
	// ListedOwners are the buyer's owners, direct or not, that are on
	// restricted-party lists; the ownership rules (affiliates,
	// blocked_ownership) reach those on the lists they name.
	ListedOwners []ListedOwner `json:"listed_owners,omitempty"`
	// ListedOwnership is a share of the buyer owned by listed parties whose
	// lists are not known: every ownership rule in force reaches it (the
	// conservative reading). Prefer ListedOwners.
	ListedOwnership domain.Rate `json:"listed_ownership"`

	// EndUse is the declared end use ("commercial_ai", "research",
	// "us_datacenter", "military", ...).
	EndUse string `json:"end_use"`
	// SiteCountry, CloudService and SitePowerKW describe the deployment site.
	SiteCountry  string  `json:"site_country"`
	CloudService bool    `json:"cloud_service"`
	SitePowerKW  float64 `json:"site_power_kw"`
	// KYCRemoteAccess: the consignee runs KYC that blocks unauthorized
	// remote access (an exporter certification).
	KYCRemoteAccess bool `json:"kyc_remote_access"`
	// DomesticChipRatio is the share of domestic chips the buyer commits
	// to, for an importing side that requires one.
	DomesticChipRatio domain.Rate `json:"domestic_chip_ratio"`

	// LotAssigned and LotAgeDays: the age of the lot the order is served
	// from, when one is already assigned.
	LotAssigned bool `json:"lot_assigned"`
	LotAgeDays  int  `json:"lot_age_days"`

	// ShippedCNMO and ShippedUS are cumulative units of this product
	// shipped to China+Macau and to US end users, before this order.
	ShippedCNMO int64 `json:"shipped_cn_mo"`
	ShippedUS   int64 `json:"shipped_us"`

	// Licenses and Permits are the buyer's grants that could serve the
	// order, at most one per jurisdiction (the workflow picks the one with
	// the most units left); the engine checks the one of the jurisdiction
	// whose rule requires it.
	Licenses []License      `json:"licenses,omitempty"`
	Permits  []ImportPermit `json:"permits,omitempty"`

	// Released lists the authorities that released the order after
	// review: each lifts the releasable holds of its own jurisdiction, and
	// no other.
	Released []Release `json:"released,omitempty"`

	// Notifications are the license exceptions' notifications for this
	// consignee that the authority confirmed.
	Notifications []Notification `json:"notifications,omitempty"`
}

// Notification is a license exception's notification for the consignee
// that the authority confirmed (NAC: the confirmation number).
type Notification struct {
	Exception    string `json:"exception"`
	Confirmation string `json:"confirmation"`
}

// confirmation returns the confirmation of the exception's notification
// among the facts, "" for none.
func (f *OrderFacts) confirmation(code string) string {
	for _, n := range f.Notifications {
		if n.Exception == code && n.Confirmation != "" {
			return n.Confirmation
		}
	}
	return ""
}

// Release is an authority's release of a held order: the jurisdiction it
// speaks for and who it is (domain.Release).
type Release = domain.Release

// license returns the license of jurisdiction j among the facts, if any.
func (f *OrderFacts) license(j string) *License {
	for i := range f.Licenses {
		if l := &f.Licenses[i]; l.Jurisdiction == j || l.Jurisdiction == "" {
			return l
		}
	}
	return nil
}

// permit returns the import permit of jurisdiction j among the facts, if any.
func (f *OrderFacts) permit(j string) *ImportPermit {
	for i := range f.Permits {
		if p := &f.Permits[i]; p.Jurisdiction == j || p.Jurisdiction == "" {
			return p
		}
	}
	return nil
}

// Reason is one rule's say in a decision (domain.Reason).
type Reason = domain.Reason

// Decision is the engine's verdict on an order (domain.Decision). Its
// Obligations and Duty are shared with every decision alike under the same
// rules (they are remembered, not rebuilt, to keep a decision within about
// a microsecond): read them, marshal them, but do not modify them in place.
type Decision = domain.Decision

// sink collects reasons. Messages on the accepted path are written into one
// buffer and turned into strings in one allocation by finish: a decision
// has a budget of about two microseconds, and one string per message would
// spend most of it in the allocator.
type sink struct {
	reasons []Reason
	buf     []byte
	spans   []msgSpan
}

// msgSpan says that reason i's message is buf[start:end].
type msgSpan struct{ i, start, end int }

func (s *sink) push(r Reason) { s.reasons = append(s.reasons, r) }

// start returns the offset where the next message begins in buf.
func (s *sink) start() int { return len(s.buf) }

// done records a reason whose message is buf[start:].
func (s *sink) done(start int, r Reason) {
	s.reasons = append(s.reasons, r)
	s.spans = append(s.spans, msgSpan{len(s.reasons) - 1, start, len(s.buf)})
}

// finish sets the messages written into buf.
func (s *sink) finish() {
	if len(s.spans) == 0 {
		return
	}
	str := string(s.buf)
	for _, sp := range s.spans {
		s.reasons[sp.i].Message = str[sp.start:sp.end]
	}
	s.spans = s.spans[:0]
}

// decider accumulates reasons; the outcome is the worst of them. It holds
// scratch space for a decision (reason arrays, the message buffer, a copy of
// the facts for the CEL activation) and is recycled through the rule set's
// pool: allocating it per decision cost a third of the decision's time.
type decider struct {
	sink
	d         Decision
	f         OrderFacts
	act       activation
	boxes     boxes
	reasonArr [6]Reason
	bufArr    [320]byte
	spanArr   [6]msgSpan
}

func (x *decider) add(o Outcome, e *entry, msg, ref string) {
	x.push(e.reason(o, msg, ref))
	x.raise(o)
}

// grant is an accepted reason of rule e that draws units from the grant
// ref of kind.
func (e *entry) grant(kind domain.GrantKind, msg, ref string, units int64) Reason {
	r := e.reason(Accepted, msg, ref)
	r.Grant, r.Units = kind, units
	return r
}

// reason is a reason of rule e (nil for the program's own checks).
func (e *entry) reason(o Outcome, msg, ref string) Reason {
	r := Reason{Outcome: o, Message: msg, Ref: ref}
	if e != nil {
		r.Rule, r.Source, r.Jurisdiction = e.ID, e.Source, e.Jurisdiction
		r.Releasable = e.Releasable && o == HeldForReview
	}
	return r
}

func (x *decider) raise(o Outcome) {
	if o.Rank() > x.d.Outcome.Rank() {
		x.d.Outcome = o
	}
}

// newDecider takes a decider from the rule set's pool, reset.
func (r Rules) newDecider() *decider {
	x, _ := r.rs().pool.Get().(*decider)
	if x == nil {
		x = new(decider)
	}
	x.reasons, x.buf, x.spans = x.reasonArr[:0], x.bufArr[:0], x.spanArr[:0]
	x.d = Decision{Outcome: Accepted}
	return x
}

// release lifts the releasable holds of the jurisdictions whose
// authorities released the order, and no other, then takes the outcome
// again as the worst of the reasons.
func (x *decider) release(released []Release) {
	if len(released) == 0 {
		return
	}
	x.d.Outcome, x.d.Released = Accepted, released
	for i := range x.reasons {
		r := &x.reasons[i]
		if r.Outcome == HeldForReview && r.Releasable {
			for _, rel := range released {
				if rel.Jurisdiction == r.Jurisdiction {
					r.Outcome = Accepted
					break
				}
			}
		}
		x.raise(r.Outcome)
	}
}

// result finishes the messages, copies the decision out of the scratch space
// and returns the decider to the pool.
func (r Rules) result(x *decider) Decision {
	x.finish()
	d := x.d
	d.Reasons = slices.Clone(x.reasons)
	// The scratch space keeps the last order's facts until it is reused:
	// clearing a kilobyte per decision costs more than the memory is worth.
	r.rs().pool.Put(x)
	return d
}

// DecideOrder decides one order under these rules. It reads only facts, so
// the same facts and rules give the same decision anywhere.
func (r Rules) DecideOrder(f OrderFacts) Decision {
	x := r.newDecider()
	tpp, pd := Metrics(f.Spec)
	eccn := r.eccnOf(&f.Spec, tpp, pd)
	region := r.Region(f.Destination)
	x.d.ECCN, x.d.TPP, x.d.Region = eccn, tpp, region
	// The facts are copied for CEL only when an expression is evaluated
	// (see activate).
	x.act = activation{tpp: tpp, pd: pd, eccn: r.boxed(eccn), region: r.boxed(region), boxes: &x.boxes}
	controlled := r.controlled(eccn)

	if r.rs().classification == nil {
		// Without a classification nothing can be said to be uncontrolled;
		// an export program accepts nothing by default.
		x.add(HeldForReview, nil, "no classification rule in force on "+f.At.UTC().Format(time.DateOnly)+"; the order needs review", "")
	}
	if f.Quantity <= 0 {
		x.add(Rejected, nil, "quantity "+strconv.FormatInt(f.Quantity, 10)+" must be positive", "")
	}

	// What each jurisdiction needs for the export, and whether the license
	// (or a license exception) provides it.
	s := r.rs()
	q := destQuery{product: f.Product, eccn: eccn, tpp: tpp, bandwidth: f.Spec.BandwidthGBps, available: f.LaunchDate,
		country: f.Destination, parentHQ: f.ParentHQ, buyerHQ: f.BuyerHQ, path: r.pathTo(f.Destination, f.ShipFrom)}
	x.d.Status = NoLicenseRequired
	if !controlled {
		x.push(s.classification.reason(Accepted, eccnLabel(eccn)+": not controlled under the classification rule; no license required", ""))
	} else if len(s.dests) == 0 {
		x.add(HeldForReview, nil, "no destination rule in force for "+countryLabel(f.Destination)+"; license required", "")
		x.d.Status = LicenseRequired
	}
	for _, ix := range s.dests {
		before := len(x.reasons)
		st, _, by := r.jurisdictionStatus(&x.sink, false, ix, &q, controlled)
		for i := before; i < len(x.reasons); i++ {
			// A license requirement is settled by the license check below,
			// not held for its own sake.
			switch x.reasons[i].Outcome {
			case Rejected:
				x.raise(Rejected)
			case HeldForReview:
				x.reasons[i].Outcome = Accepted
			}
		}
		if st.Rank() > x.d.Status.Rank() {
			x.d.Status = st
		}
		if st == LicenseRequired {
			x.d.UsesLicense = true
			r.checkLicense(x, ix, by, &f)
		}
	}

	if e := s.endUse; e != nil && slices.Contains(e.doc.EndUse.Prohibited, f.EndUse) {
		x.add(Rejected, e, "end use "+f.EndUse+" is prohibited", "")
	}
	if e := s.endUser; e != nil {
		p := e.doc.EndUser
		switch f.Screening {
		case ScreeningClear:
		case ScreeningMatch:
			x.add(p.OnMatch, e, "buyer "+f.Buyer+" matches a restricted-party list", "")
		case ScreeningPotentialMatch:
			x.add(p.OnPotentialMatch, e, "buyer "+f.Buyer+" is a potential match on a restricted-party list", "")
		default:
			x.add(p.OnPending, e, "buyer "+f.Buyer+" is not screened yet", "")
		}
	}
	r.checkOwnership(x, &f)
	if !controlled {
		r.checks(x, &f)
		x.release(f.Released)
		return r.result(x)
	}
	if e := s.approved; e != nil && regionIn(e.doc.ApprovedCustomer.Regions, region) {
		switch f.Approval {
		case ApprovalApproved:
		case ApprovalDenied, ApprovalRevoked:
			x.add(Rejected, e, "buyer "+f.Buyer+" approval is "+string(f.Approval)+"; exports to "+region+" go to approved customers only", "")
		default:
			x.add(HeldForReview, e, "buyer "+f.Buyer+" is not approved yet; exports to "+region+" go to approved customers only", "")
		}
	}
	if e := s.volumeCap; e != nil && regionIn(e.doc.VolumeCap.Regions, region) {
		vc := e.doc.VolumeCap
		after := satAdd(max(f.ShippedCNMO, 0), max(f.Quantity, 0))
		us := max(f.ShippedUS, 0)
		// after ≤ share × US, in exact 128-bit integers.
		if !mulLE(uint64(after), domain.RateScale, uint64(us), uint64(vc.ShareOfUS)) {
			limit := mulDiv(uint64(us), uint64(vc.ShareOfUS), domain.RateScale)
			x.add(vc.OnExceeded, e, region+" units "+inum(after)+" (shipped "+inum(f.ShippedCNMO)+" + ordered "+inum(f.Quantity)+") > "+
				vc.ShareOfUS.Rate().String()+" of US end-user units "+inum(us)+" = "+inum(int64(limit)), "")
		}
	}
	if e := s.importPermit; e != nil && e.doc.ImportPermit.covers(f.Destination, region) && slices.Contains(e.doc.ImportPermit.ECCNs, eccn) {
		x.d.UsesPermit = true
		r.checkPermit(x, e, &f)
	}
	if e := s.lotAge; e != nil && f.LotAssigned && regionIn(e.doc.LotAge.Regions, region) && f.LotAgeDays < e.doc.LotAge.MinDays {
		x.add(HeldForReview, e, "lot age "+inum(int64(f.LotAgeDays))+" days < "+inum(int64(e.doc.LotAge.MinDays))+" days", "")
	}
	if e := s.redFlags; e != nil && regionIn(e.doc.RedFlags.Regions, region) {
		rf := e.doc.RedFlags
		need := rf.PowerKWPerAccelerator * float64(accelerators(&f))
		if f.SitePowerKW < need {
			x.add(rf.OnPowerShort, e, "site power "+num(f.SitePowerKW)+" kW < "+num(rf.PowerKWPerAccelerator)+" kW × "+unitsText(&f)+" = "+num(need)+" kW", "")
		}
	}
	if e := s.reexport; e != nil && regionIn(e.doc.ReExport.Regions, region) {
		switch {
		case f.ReExport:
			x.add(e.doc.ReExport.Outcome, e, "re-export, export from abroad or in-country transfer to "+f.Destination+": presumption of denial", "")
		case f.ShipFrom != "" && !slices.Contains(e.doc.ReExport.ShipFrom, f.ShipFrom):
			x.add(e.doc.ReExport.Outcome, e, "shipped from "+f.ShipFrom+": exports to "+f.Destination+" leave from "+strings.Join(e.doc.ReExport.ShipFrom, " or ")+"; re-exports stay under presumption of denial", "")
		}
	}
	if e := s.kyc; e != nil && !f.KYCRemoteAccess && regionIn(e.doc.ConsigneeKYC.Regions, region) {
		x.add(e.doc.ConsigneeKYC.OnMissing, e, "the consignee has not certified KYC that blocks unauthorized remote access", "")
	}
	r.checks(x, &f)
	x.release(f.Released)

	if x.d.Outcome != Rejected {
		x.d.Obligations = r.obligations(f.Destination, region)
		if e := s.duty; e != nil && r.passesThrough(f.Destination, e.doc.Duty.ImportingCountry) {
			if d := r.dutyFor(f.Spec, f.EndUse); d != nil && d.Covered {
				x.d.Duty = d
			}
		}
	}
	return r.result(x)
}

// obligations returns what shipping an order to destination must do, shared
// by every decision to that destination under this rule set (read only).
func (r Rules) obligations(destination, region string) []Reason {
	s := r.rs()
	h := uint64(newHasher().str(destination))
	if o, ok := s.obligations.get(h, destination); ok {
		return o
	}
	var o []Reason
	if e := s.labTest; e != nil && regionIn(e.doc.LabTest.Regions, region) {
		o = append(o, e.reason(Accepted, e.text, ""))
	}
	if e := s.route; e != nil && regionIn(e.doc.Route.Regions, region) {
		o = append(o, e.reason(Accepted, e.text+destination, ""))
	}
	o = slices.Clip(o)
	s.obligations.put(h, destination, o)
	return o
}

// passesThrough reports whether a shipment to destination enters country.
func (r Rules) passesThrough(destination, country string) bool {
	if destination == country {
		return true
	}
	e := r.rs().route
	if e == nil || !regionIn(e.doc.Route.Regions, r.Region(destination)) {
		return false
	}
	return e.doc.Route.Origin == country || slices.Contains(e.doc.Route.Via, country)
}

// activate returns the CEL activation over the facts. It copies them into
// the decider the first time: the activation outlives the call (CEL holds it
// as an interface), and a pointer to the caller's copy would move every
// order's facts to the heap, CEL or not.
func (x *decider) activate(f *OrderFacts) *activation {
	if x.act.f == nil {
		x.f = *f
		x.act.f = &x.f
	}
	return &x.act
}

func (r Rules) checks(x *decider, f *OrderFacts) {
	for _, e := range r.rs().checks {
		hit, err := eval(e.check, x.activate(f))
		switch {
		case err != nil:
			x.add(HeldForReview, e, "cannot evaluate "+e.doc.Check.If+": "+err.Error(), "")
		case hit:
			x.add(e.doc.Check.Outcome, e, e.doc.Check.Message, "")
		}
	}
}

// validAt reports whether [from, until) holds t; zero bounds are open.
func validAt(t, from, until time.Time) bool {
	return (from.IsZero() || !t.Before(from)) && (until.IsZero() || t.Before(until))
}

func (r Rules) checkLicense(x *decider, ix *destIndex, e *entry, f *OrderFacts) {
	l := f.license(e.jurisdiction())
	if l == nil {
		if r.exception(x, ix, f) {
			return
		}
		// A missing license is cured by issuing one, never by a release.
		rs := e.reason(HeldForReview, "license required for "+f.Product+" to "+f.Destination+"; no license on file (case-by-case review)", "")
		rs.Releasable = false
		x.push(rs)
		x.raise(HeldForReview)
		return
	}
	before := x.d.Outcome
	x.d.Outcome = Accepted
	switch {
	case l.Status != GrantActive:
		x.add(Rejected, e, "license "+l.ID+" is "+string(l.Status), l.ID)
	case !validAt(f.At, l.ValidFrom, l.ValidUntil):
		x.add(Rejected, e, "license "+l.ID+" is not valid on "+f.At.UTC().Format(time.DateOnly)+" (valid "+span(l.ValidFrom, l.ValidUntil)+")", l.ID)
	case !slices.Contains(l.Products, f.Product):
		x.add(Rejected, e, "license "+l.ID+" does not cover product "+f.Product, l.ID)
	case len(l.Destinations) > 0 && !slices.Contains(l.Destinations, f.Destination):
		x.add(Rejected, e, "license "+l.ID+" does not cover destination "+f.Destination, l.ID)
	case l.Remaining < f.Quantity:
		x.add(Rejected, e, "quantity "+inum(f.Quantity)+" > license "+l.ID+" remaining "+inum(l.Remaining), l.ID)
	}
	conditions(x, f, e, "license "+l.ID, l.ID, l.Conditions)
	if x.d.Outcome == Accepted {
		at := x.start()
		m := appendInt(append(append(append(x.buf, "license "...), l.ID...), " covers "...), f.Quantity)
		m = appendInt(append(m, " of remaining "...), l.Remaining)
		x.buf = append(append(append(append(m, ' '), f.Product...), " to "...), f.Destination...)
		x.done(at, e.grant(domain.GrantLicense, "", l.ID, f.Quantity))
	}
	if before.Rank() > x.d.Outcome.Rank() {
		x.d.Outcome = before
	}
}

func conditions(x *decider, f *OrderFacts, e *entry, what, ref string, cs []Condition) {
	for _, c := range cs {
		ok, err := eval(c.prg, x.activate(f))
		switch {
		case err != nil:
			x.add(HeldForReview, e, what+" condition "+c.expr+" cannot be evaluated: "+err.Error(), ref)
		case !ok:
			x.add(Rejected, e, what+" condition not met: "+c.expr, ref)
		}
	}
}

func (r Rules) checkPermit(x *decider, e *entry, f *OrderFacts) {
	ip := e.doc.ImportPermit
	if !ip.Admitting {
		x.add(HeldForReview, e, f.Destination+" customs admit no "+x.d.ECCN+" items at present", "")
		return
	}
	for _, s := range ip.ExcludedSectors {
		if f.Sector == s {
			x.add(Rejected, e, "buyer sector "+f.Sector+" is excluded", "")
		}
	}
	if ip.CloudOnly && !f.CloudService {
		x.add(Rejected, e, "import allowed only for chips offered as a cloud service", "")
	}
	if m := ip.DomesticRatioMin; m != nil && f.DomesticChipRatio < m.Rate() {
		x.add(Rejected, e, "domestic-chip ratio "+f.DomesticChipRatio.String()+" < "+m.Rate().String(), "")
	}
	p := f.permit(e.Jurisdiction)
	if p == nil {
		x.add(HeldForReview, e, "import permit required for "+f.Destination+"; none on file", "")
		return
	}
	before := len(x.reasons)
	switch {
	case p.Status != GrantActive:
		x.add(Rejected, e, "import permit "+p.ID+" is "+string(p.Status), p.ID)
	case !validAt(f.At, p.ValidFrom, p.ValidUntil):
		x.add(Rejected, e, "import permit "+p.ID+" is not valid on "+f.At.UTC().Format(time.DateOnly)+" (valid "+span(p.ValidFrom, p.ValidUntil)+")", p.ID)
	case p.Remaining < f.Quantity:
		x.add(Rejected, e, "quantity "+inum(f.Quantity)+" > import permit "+p.ID+" remaining "+inum(p.Remaining), p.ID)
	}
	if len(p.AllowedUses) > 0 && !slices.Contains(p.AllowedUses, f.EndUse) {
		x.add(Rejected, e, "import permit "+p.ID+" does not allow end use "+f.EndUse, p.ID)
	}
	if p.CloudOnly && !f.CloudService {
		x.add(Rejected, e, "import permit "+p.ID+" allows only cloud-service deployments", p.ID)
	}
	if slices.Contains(p.ExcludedSectors, f.Sector) {
		x.add(Rejected, e, "import permit "+p.ID+" excludes sector "+f.Sector, p.ID)
	}
	conditions(x, f, e, "import permit "+p.ID, p.ID, p.Conditions)
	if len(x.reasons) == before {
		// The permit serves: say so, as the license's reason does.
		at := x.start()
		m := appendInt(append(append(append(x.buf, "import permit "...), p.ID...), " covers "...), f.Quantity)
		x.buf = appendInt(append(m, " of remaining "...), p.Remaining)
		x.done(at, e.grant(domain.GrantPermit, "", p.ID, f.Quantity))
	}
}

// exception looks for a license exception of the jurisdiction that covers
// the order in place of a license: its ECCNs (data-center items of some
// excluded), its destinations, and the notification the authority
// confirmed when the exception requires one. It reports whether one
// applied (accepting with the exception as the grant, or holding for the
// missing confirmation).
func (r Rules) exception(x *decider, ix *destIndex, f *OrderFacts) bool {
	s := r.rs()
	var waiting *entry // an exception that would serve once notified
	for _, ex := range ix.exceptions {
		p := ex.doc.Exception
		if !p.Covers(x.d.ECCN, f.Spec) ||
			!s.inAny(f.Destination, p.CountryGroups, p.Countries) || s.inAny(f.Destination, p.ExceptGroups, nil) {
			continue
		}
		ref := p.Code
		if p.Notification {
			conf := f.confirmation(p.Code)
			if conf == "" {
				if waiting == nil {
					waiting = ex
				}
				continue
			}
			ref += " " + conf
		}
		x.push(ex.grant(domain.GrantException, exceptionName(p)+" covers "+x.d.ECCN+" to "+f.Destination+" without a license ("+ref+")", ref, 0))
		return true
	}
	if waiting != nil {
		x.add(HeldForReview, waiting, exceptionName(waiting.doc.Exception)+" covers "+x.d.ECCN+" to "+f.Destination+" after a notification; none is confirmed for this consignee", "")
		return true
	}
	return false
}

// exceptionName writes "license exception NAC (C67)".
func exceptionName(p *ExceptionParams) string {
	name := "license exception " + p.Code
	if p.AESCode != "" {
		name += " (" + p.AESCode + ")"
	}
	return name
}

// jurisdiction is the rule's jurisdiction, "" for no rule.
func (e *entry) jurisdiction() string {
	if e == nil {
		return ""
	}
	return e.Jurisdiction
}

func span(from, until time.Time) string {
	s := "from "
	if from.IsZero() {
		s += "any time"
	} else {
		s += from.UTC().Format(time.DateOnly)
	}
	if !until.IsZero() {
		s += " until " + until.UTC().Format(time.DateOnly)
	}
	return s
}

func satAdd(a, b int64) int64 {
	if c := a + b; c >= a {
		return c
	}
	return 1<<63 - 1
}

// mulLE reports a×b ≤ c×d without overflow.
func mulLE(a, b, c, d uint64) bool {
	h1, l1 := bits.Mul64(a, b)
	h2, l2 := bits.Mul64(c, d)
	return h1 < h2 || (h1 == h2 && l1 <= l2)
}

// mulDiv returns ⌊a×b/c⌋, saturating.
func mulDiv(a, b, c uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi >= c {
		return 1<<63 - 1
	}
	q, _ := bits.Div64(hi, lo, c)
	return q
}
