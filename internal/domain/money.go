package domain

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Money is an exact amount in minor units (cents for USD) of one ISO 4217
// currency. No float ever touches it.
type Money struct {
	Minor    int64  `json:"minor"`
	Currency string `json:"currency"`
}

// Rate is a proportion in parts per million: 25% is Rate(250000). Policy
// files write rates as decimal strings ("0.25" or "25%"); ParseRate reads them.
type Rate int64

// RateScale is the number of parts in a whole.
const RateScale = 1_000_000

// ParseRate reads "0.25", "25%", "12.5%" or "0" exactly (at most six decimal
// places of the whole), rejecting negatives and anything above 100%.
func ParseRate(s string) (Rate, error) {
	t := strings.TrimSpace(s)
	scale := int64(RateScale)
	if strings.HasSuffix(t, "%") {
		t = strings.TrimSpace(strings.TrimSuffix(t, "%"))
		scale = RateScale / 100
	}
	r, ok := new(big.Rat).SetString(t)
	if !ok || strings.ContainsAny(t, "eE/") {
		return 0, fmt.Errorf("rate %q: not a decimal number", s)
	}
	r.Mul(r, big.NewRat(scale, 1))
	if !r.IsInt() {
		return 0, fmt.Errorf("rate %q: more precise than one part per million", s)
	}
	if r.Sign() < 0 || r.Cmp(big.NewRat(RateScale, 1)) > 0 {
		return 0, fmt.Errorf("rate %q: must be between 0 and 100%%", s)
	}
	return Rate(r.Num().Int64()), nil
}

// String writes the rate as a percentage, e.g. "25%" or "12.5%".
func (r Rate) String() string {
	return strconv.FormatFloat(float64(r)/(RateScale/100), 'f', -1, 64) + "%"
}

// Apply returns m × r in minor units, rounded half away from zero (so half a
// cent of duty is a cent, and -0.5 is -1). This is the single rounding rule of
// chipgate; docs/POLICY.md writes it down. The product is computed in 128 bits
// and an overflow of int64 is an error rather than a wrong amount.
func (m Money) Apply(r Rate) (Money, error) {
	num := new(big.Int).Mul(big.NewInt(m.Minor), big.NewInt(int64(r)))
	q, rem := new(big.Int).QuoRem(num, big.NewInt(RateScale), new(big.Int))
	// |rem|*2 >= scale rounds away from zero.
	rem.Abs(rem).Lsh(rem, 1)
	if rem.Cmp(big.NewInt(RateScale)) >= 0 {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	if !q.IsInt64() {
		return Money{}, Errorf(EINVALID, "amount overflows int64 minor units")
	}
	return Money{Minor: q.Int64(), Currency: m.Currency}, nil
}

// Times returns m × n exactly (a unit price times a quantity); a product
// that does not fit int64 minor units is an error rather than a wrong amount.
func (m Money) Times(n int64) (Money, error) {
	p := new(big.Int).Mul(big.NewInt(m.Minor), big.NewInt(n))
	if !p.IsInt64() {
		return Money{}, Errorf(EINVALID, "amount overflows int64 minor units")
	}
	return Money{Minor: p.Int64(), Currency: m.Currency}, nil
}

// Add returns m + o; the currencies must match and the sum must fit.
func (m Money) Add(o Money) (Money, error) {
	if m.Currency != o.Currency {
		return Money{}, Errorf(EINVALID, "cannot add %s to %s", o.Currency, m.Currency)
	}
	if (o.Minor > 0 && m.Minor > math.MaxInt64-o.Minor) || (o.Minor < 0 && m.Minor < math.MinInt64-o.Minor) {
		return Money{}, Errorf(EINVALID, "amount overflows int64 minor units")
	}
	return Money{Minor: m.Minor + o.Minor, Currency: m.Currency}, nil
}

// minorDigits lists the ISO 4217 currencies whose minor unit is not the
// hundredth: the yen has none, the Kuwaiti dinar has thousandths.
var minorDigits = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"CLF": 4, "UYW": 4,
}

// MinorDigits is how many decimal digits the currency's minor unit has
// (ISO 4217): 2 for USD, EUR and CNY, 0 for JPY, 3 for KWD.
func MinorDigits(currency string) int {
	if d, ok := minorDigits[currency]; ok {
		return d
	}
	return 2
}

// String formats the amount in major units with the currency's own number
// of decimals: "USD 1234.56", "JPY 1235", "KWD 1.235".
func (m Money) String() string {
	sign := ""
	v := m.Minor
	if v < 0 {
		sign = "-"
	}
	u := uint64(v)
	if v < 0 {
		u = uint64(-(v + 1)) + 1
	}
	d := MinorDigits(m.Currency)
	if d == 0 {
		return fmt.Sprintf("%s %s%d", m.Currency, sign, u)
	}
	scale := uint64(math.Pow10(d))
	return fmt.Sprintf("%s %s%d.%0*d", m.Currency, sign, u/scale, d, u%scale)
}
