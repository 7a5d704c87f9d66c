package allocation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
)

// Problem is one allocation run's input: the horizon, the tiers, the lots,
// the accepted orders and the caps. Its JSON form is the CLI's input format
// (docs/ALLOCATION.md) and what the service stores with a run.
type Problem struct {
	// Periods is the number of periods in the horizon, numbered from 0.
	Periods int `json:"periods"`
	// Start is the first day of period 0, "YYYY-MM-DD".
	Start string `json:"start"`
	// PeriodDays is the length of a period in days.
	PeriodDays int `json:"period_days"`
	// Tiers lists the destination regions in the order they are served. The
	// region "*" stands for every region not named in another tier.
	Tiers [][]string `json:"tiers"`
	// Products optionally lists the known products; when absent the products
	// of the lots are the known ones.
	Products []string `json:"products,omitempty"`
	Lots     []Lot    `json:"lots"`
	Orders   []Order  `json:"orders"`
	Caps     Caps     `json:"caps"`
	// HHIRegions names the regions whose buyers the concentration index
	// covers; by default the capped regions of caps.region_ratio.
	HHIRegions []string `json:"hhi_regions,omitempty"`
}

// Lot is a production lot: Quantity units of Product, available from
// Period on, made on Made ("YYYY-MM-DD").
type Lot struct {
	ID       string `json:"id"`
	Product  string `json:"product"`
	Quantity int64  `json:"quantity"`
	Period   int    `json:"period"`
	Made     string `json:"made"`
}

// Order is an accepted order: Quantity units of Product for Buyer, shipped
// to Region, wanted from Period on. Weight scales the order's fair share
// inside its tier (0 means 1).
type Order struct {
	ID       string            `json:"id"`
	Buyer    string            `json:"buyer"`
	Region   string            `json:"region"`
	Class    domain.BuyerClass `json:"class"`
	Product  string            `json:"product"`
	Quantity int64             `json:"quantity"`
	Period   int               `json:"period"`
	Weight   float64           `json:"weight,omitempty"`
}

// Caps are the policy's limits on what may be allocated.
type Caps struct {
	// RegionRatio caps the units to some regions at a multiple of the units
	// to others, cumulatively at every period ("CN+MO ≤ 0.5 × US").
	RegionRatio []RatioCap `json:"region_ratio,omitempty"`
	// Buyer caps the units each named buyer may receive over the horizon.
	Buyer map[string]int64 `json:"buyer,omitempty"`
	// Licenses are export licenses with the units they still allow.
	Licenses []License `json:"licenses,omitempty"`
	// Permits are import permits with the units their quota still allows.
	Permits []Permit `json:"permits,omitempty"`
	// Reserve keeps a share of each tier for some buyer classes.
	Reserve *Reserve `json:"reserve,omitempty"`
	// MinLotAgeDays is, per destination region, how many days a lot must
	// have existed (since it was made) before units of it may go there.
	MinLotAgeDays map[string]int `json:"min_lot_age_days,omitempty"`
}

// RatioCap is "units to Region ≤ Max × units to Of", cumulative from
// period 0 to every period. Region and Of are sets of regions, written
// as "CN+MO" or ["CN","MO"].
//
// PriorUnits and PriorBase are the units already shipped to Region and to
// Of before period 0: the certification counts from the program's start,
// not from the horizon's, so a run continues the running totals.
type RatioCap struct {
	Region     Regions `json:"region"`
	Of         Regions `json:"of"`
	Max        Ratio   `json:"max"`
	PriorUnits int64   `json:"prior_units,omitempty"`
	PriorBase  int64   `json:"prior_base,omitempty"`
}

// License is an export license: the buyer (and, when set, the product) it
// covers and the units it still allows.
type License struct {
	ID        string `json:"id"`
	Buyer     string `json:"buyer"`
	Product   string `json:"product,omitempty"`
	Remaining int64  `json:"remaining"`
}

// Permit is an import permit: the buyer (and, when set, the product) it
// covers and the units left on its quota.
type Permit struct {
	ID      string `json:"id"`
	Buyer   string `json:"buyer"`
	Product string `json:"product,omitempty"`
	Quota   int64  `json:"quota"`
}

// Reserve keeps Share of the units each tier receives for the buyers of
// Classes (sme and research by default), so long as they can use them.
type Reserve struct {
	Classes []domain.BuyerClass `json:"classes,omitempty"`
	Share   Ratio               `json:"share"`
}

// Regions is a set of region codes. In JSON it is either a string with
// regions joined by "+" or a list of strings; it is written as a list.
type Regions []string

// UnmarshalJSON reads "CN+MO" or ["CN","MO"].
func (r *Regions) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*r = nil
		for _, x := range strings.Split(s, "+") {
			*r = append(*r, strings.TrimSpace(x))
		}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("want a region, \"A+B\" or a list of regions")
	}
	*r = l
	return nil
}

// Ratio is an exact non-negative decimal such as 0.5 or 1.25, written in
// JSON as a number or a decimal string. It is exact so that "0.29 × 100"
// is 29 and not 28.999….
type Ratio struct {
	r *big.Rat
}

// NewRatio returns the ratio num/den; den must be positive.
func NewRatio(num, den int64) Ratio { return Ratio{big.NewRat(num, den)} }

// ParseRatio reads a decimal such as "0.5".
func ParseRatio(s string) (Ratio, error) {
	t := strings.TrimSpace(s)
	if t == "" || strings.ContainsAny(t, "/") {
		return Ratio{}, fmt.Errorf("%q is not a decimal number", s)
	}
	r, ok := new(big.Rat).SetString(t)
	if !ok {
		return Ratio{}, fmt.Errorf("%q is not a decimal number", s)
	}
	return Ratio{r}, nil
}

// UnmarshalJSON reads a JSON number or a decimal string.
func (q *Ratio) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	r, err := ParseRatio(s)
	if err != nil {
		return err
	}
	*q = r
	return nil
}

// MarshalJSON writes the ratio as a JSON number with as many decimals as it
// needs (at most 12).
func (q Ratio) MarshalJSON() ([]byte, error) { return []byte(q.String()), nil }

// String writes the ratio as a decimal.
func (q Ratio) String() string {
	if q.r == nil {
		return "0"
	}
	s := q.r.FloatString(12)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// Sign is -1, 0 or +1.
func (q Ratio) Sign() int {
	if q.r == nil {
		return 0
	}
	return q.r.Sign()
}

// cmp compares q with n/d.
func (q Ratio) cmp(n, d int64) int {
	x := q.r
	if x == nil {
		x = new(big.Rat)
	}
	return x.Cmp(big.NewRat(n, d))
}

// Floor returns ⌊q × n⌋ for n ≥ 0, saturating at the largest int64.
func (q Ratio) Floor(n int64) int64 {
	if q.r == nil || n <= 0 {
		return 0
	}
	v := new(big.Int).Mul(q.r.Num(), big.NewInt(n))
	v.Quo(v, q.r.Denom())
	if !v.IsInt64() {
		return 1<<62 - 1
	}
	return v.Int64()
}

// Float returns the ratio as a float64, for reports only.
func (q Ratio) Float() float64 {
	if q.r == nil {
		return 0
	}
	f, _ := q.r.Float64()
	return f
}

// Limits on input sizes, so that a hostile problem cannot make a run take
// unbounded memory or overflow int64 sums.
const (
	maxQuantity = 1_000_000_000
	maxPeriods  = 10_000
	maxDays     = 3660
	maxItems    = 10_000_000
)

// Decode reads a problem from JSON, rejecting unknown fields and trailing
// data, and validates it. Errors are EINVALID and name the field.
func Decode(r io.Reader) (*Problem, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var p Problem
	if err := dec.Decode(&p); err != nil {
		return nil, domain.Errorf(domain.EINVALID, "problem: %s", jsonError(err))
	}
	if dec.More() {
		return nil, domain.Errorf(domain.EINVALID, "problem: unexpected data after the problem object")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// jsonError words a decoding error for the caller, naming the field when
// the JSON has the wrong type there.
func jsonError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("%s: want %s", te.Field, te.Type)
	}
	return err.Error()
}

// parseDate reads "YYYY-MM-DD".
func parseDate(s string) (time.Time, error) { return time.Parse(time.DateOnly, s) }

// Validate checks the problem and returns EINVALID naming the first bad
// field, with every problem found in the error's fields.
func (p *Problem) Validate() error {
	_, err := compile(p)
	return err
}

// sortedKeys returns the keys of m in order, for deterministic validation.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
