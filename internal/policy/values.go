package policy

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"go.yaml.in/yaml/v3"
)

// Date is a calendar day in UTC, written 2006-01-02. A rule is in force from
// the start of its from-day (inclusive) to the start of its until-day
// (exclusive), so consecutive versions meet without a gap or an overlap.
type Date struct{ time.Time }

// ParseDate reads a day written 2006-01-02.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		return Date{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	return Date{t}, nil
}

// UnmarshalYAML reads the day from its plain text so that YAML's own
// timestamp rules (times, time zones) cannot sneak in. A bad day is a type
// error, so that the loader goes on and names the rule.
func (d *Date) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return lineError(n, "want a date YYYY-MM-DD")
	}
	v, err := ParseDate(n.Value)
	if err != nil {
		return lineError(n, "%v", err)
	}
	*d = v
	return nil
}

// MarshalJSON writes the day as "2006-01-02".
func (d Date) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// String writes the day as 2006-01-02.
func (d Date) String() string { return d.Format(time.DateOnly) }

// Percent is a proportion written in the policy file as "25%" or "0.25" and
// held exactly as a domain.Rate in parts per million: money and caps never
// see a float.
type Percent domain.Rate

// UnmarshalYAML parses the proportion with domain.ParseRate.
func (p *Percent) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a rate such as \"25%%\"", n.Line)
	}
	r, err := domain.ParseRate(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	*p = Percent(r)
	return nil
}

// MarshalJSON writes the proportion as a percentage string, "25%".
func (p Percent) MarshalJSON() ([]byte, error) { return json.Marshal(domain.Rate(p).String()) }

// Rate returns the proportion as a domain.Rate.
func (p Percent) Rate() domain.Rate { return domain.Rate(p) }

// Status is what an export of an item to a destination needs
// (domain.ExportStatus).
type Status = domain.ExportStatus

// Destination statuses, from least to most restrictive.
const (
	NoLicenseRequired = domain.NoLicenseRequired
	LicenseRequired   = domain.LicenseRequired
	Denied            = domain.Denied
)

// Outcome is the decision on an order (domain.Outcome).
type Outcome = domain.Outcome

// Order outcomes, from best to worst.
const (
	Accepted      = domain.Accepted
	HeldForReview = domain.HeldForReview
	Rejected      = domain.Rejected
)
