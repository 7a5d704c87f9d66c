package domain

import "slices"

// Outcome is what a decision says of a command: go ahead, wait for an
// authority's review, or no.
type Outcome string

// Outcomes, from best to worst.
const (
	Accepted      Outcome = "accepted"
	HeldForReview Outcome = "held_for_review"
	Rejected      Outcome = "rejected"
)

// Valid reports whether o is one of the outcomes.
func (o Outcome) Valid() bool { return o == Accepted || o == HeldForReview || o == Rejected }

// Rank orders outcomes from best (0, accepted) to worst (2, rejected); a
// combined decision takes the worst of its reasons.
func (o Outcome) Rank() int {
	switch o {
	case HeldForReview:
		return 1
	case Rejected:
		return 2
	}
	return 0
}

// ExportStatus is what exporting an item to a destination needs.
type ExportStatus string

// Export statuses, from least to most restrictive.
const (
	NoLicenseRequired ExportStatus = "no_license_required"
	LicenseRequired   ExportStatus = "license_required" // case-by-case review
	Denied            ExportStatus = "denied"           // presumption of denial, or prohibited
)

// Valid reports whether s is one of the statuses.
func (s ExportStatus) Valid() bool {
	return s == NoLicenseRequired || s == LicenseRequired || s == Denied
}

// Rank orders statuses from least (0) to most (2) restrictive.
func (s ExportStatus) Rank() int {
	switch s {
	case LicenseRequired:
		return 1
	case Denied:
		return 2
	}
	return 0
}

// Reason is one rule's say in a decision: which rule of which jurisdiction,
// its source, what it implies, and a message that shows the values
// compared.
type Reason struct {
	Rule   string `json:"rule"`
	Source string `json:"source,omitempty"`
	// Jurisdiction is the legal regime whose rule this is ("us-ear",
	// "cn-import"); only that regime's authority may release a hold it
	// gives. Empty for the program's own checks (a malformed request).
	Jurisdiction string `json:"jurisdiction,omitempty"`
	// Outcome is what this reason alone implies; empty in a
	// classification, which decides nothing.
	Outcome Outcome `json:"outcome,omitempty"`
	Message string  `json:"message"`
	// Ref names the grant involved (a license or permit number), if any.
	Ref string `json:"ref,omitempty"`
	// Grant is set on the reason of an accepted decision that draws on
	// the grant Ref: its kind, and the units drawn (0 for a grant that
	// authorizes without a quantity, such as a license exception).
	Grant GrantKind `json:"grant,omitempty"`
	Units int64     `json:"units,omitempty"`
	// Releasable marks a hold that its jurisdiction's authority may
	// release after review (a red flag); a hold that is not releasable
	// lifts only when its facts change (a cap with room again, a permit
	// issued). A releasable reason whose outcome is accepted is a hold its
	// authority released (Decision.Released says who).
	Releasable bool `json:"releasable,omitempty"`
}

// Lifted reports whether the reason is a hold an authority released.
func (r Reason) Lifted() bool { return r.Releasable && r.Outcome == Accepted }

// GrantKind is a kind of authorization a decision can draw on.
type GrantKind string

// Grant kinds.
const (
	GrantLicense   GrantKind = "license"   // an export license
	GrantPermit    GrantKind = "permit"    // an import permit or quota
	GrantLetter    GrantKind = "letter"    // a license requirement by letter ("is informed")
	GrantException GrantKind = "exception" // a license exception (NAC, ACA)
)

// GrantUse is a grant a decision relied on: its kind, jurisdiction and
// number, and the units drawn from it (0 for a grant that authorizes
// without a quantity, such as a license exception).
type GrantUse struct {
	Kind         GrantKind `json:"kind"`
	Jurisdiction string    `json:"jurisdiction"`
	Ref          string    `json:"ref"`
	Units        int64     `json:"units,omitempty"`
}

// Duty is the import duty on a chip under the rules in force.
type Duty struct {
	// Rule and Source identify the duty rule ("" when none is in force).
	Rule   string `json:"rule"`
	Source string `json:"source,omitempty"`
	// ImportingCountry collects the duty.
	ImportingCountry string `json:"importing_country,omitempty"`
	// Covered is true when the chip falls inside a window of the rule.
	Covered bool `json:"covered"`
	// Exempt is true when the end use is exempt; no duty is then due.
	Exempt bool `json:"exempt"`
	// Rate is the rate due: the rule's rate when covered and not exempt,
	// else 0.
	Rate Rate `json:"rate_ppm"`
	// RateText is Rate as a percentage, "25%".
	RateText string `json:"rate"`
	Message  string `json:"message"`
}

// Apply returns the duty on a customs value: value × Rate in minor units,
// rounded half away from zero (Money.Apply), per line. A duty that is not
// due is zero in the value's currency.
func (d Duty) Apply(value Money) (Money, error) {
	return value.Apply(d.Rate)
}

// Decision is the policy engine's verdict on an order, as taken: the
// outcome, every reason with its jurisdiction, the grants it drew on, and
// what shipping must do. Its Obligations and Duty may be shared with other
// decisions under the same rules: read them, do not modify them in place.
type Decision struct {
	Outcome Outcome `json:"outcome"`
	// Reasons lists every rule that had a say: those that rejected or held
	// the order, and for the rest the basis on which it passed.
	Reasons []Reason `json:"reasons"`
	// Obligations are what shipping the order must do (lab test, route).
	Obligations []Reason `json:"obligations,omitempty"`
	// Released are the authorities' releases the decision was taken with:
	// each lifted the releasable holds of its own jurisdiction.
	Released []Release    `json:"released,omitempty"`
	ECCN     string       `json:"eccn"`
	TPP      float64      `json:"tpp"`
	Region   string       `json:"region"`
	Status   ExportStatus `json:"status"`
	Duty     *Duty        `json:"duty,omitempty"`
	// UsesLicense and UsesPermit tell whether the rules required an export
	// license and an import permit for this order: only then was the grant
	// checked, and only then does an accepted order draw on it.
	UsesLicense bool `json:"uses_license,omitempty"`
	UsesPermit  bool `json:"uses_permit,omitempty"`
}

// Grants returns the grants an accepted decision draws on, as its reasons
// name them; none for a decision that is not accepted.
func (d Decision) Grants() []GrantUse {
	if d.Outcome != Accepted {
		return nil
	}
	var out []GrantUse
	for _, r := range d.Reasons {
		if r.Grant != "" {
			out = append(out, GrantUse{Kind: r.Grant, Jurisdiction: r.Jurisdiction, Ref: r.Ref, Units: r.Units})
		}
	}
	return out
}

// ReleasedBy returns the authority that lifted a reason of this decision,
// "" when none did.
func (d Decision) ReleasedBy(r Reason) string {
	if !r.Lifted() {
		return ""
	}
	for _, rel := range d.Released {
		if rel.Jurisdiction == r.Jurisdiction {
			return rel.By
		}
	}
	return ""
}

// Blocking returns the reasons that rejected or held the order.
func (d Decision) Blocking() []Reason {
	var out []Reason
	for _, r := range d.Reasons {
		if r.Outcome != Accepted {
			out = append(out, r)
		}
	}
	return out
}

// Rules returns the ids of the rules behind the outcome: the blocking ones,
// or all when the order is accepted.
func (d Decision) Rules() []string {
	var out []string
	for _, r := range d.Reasons {
		if (d.Outcome == Accepted || r.Outcome != Accepted) && r.Rule != "" && !slices.Contains(out, r.Rule) {
			out = append(out, r.Rule)
		}
	}
	return out
}

// ByJurisdiction returns each jurisdiction's own outcome: the worst of its
// reasons. A decision is the worst of these (and of reasons with no
// jurisdiction, under the key "").
func (d Decision) ByJurisdiction() map[string]Outcome {
	out := map[string]Outcome{}
	for _, r := range d.Reasons {
		if cur, ok := out[r.Jurisdiction]; !ok || r.Outcome.Rank() > cur.Rank() {
			out[r.Jurisdiction] = r.Outcome
		}
	}
	return out
}
