package policy

import (
	"slices"

	"github.com/chipgate/chipgate/internal/domain"
)

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
	Rate domain.Rate `json:"rate_ppm"`
	// RateText is Rate as a percentage, "25%".
	RateText string `json:"rate"`
	Message  string `json:"message"`
}

// Apply returns the duty on a customs value: value × Rate in minor units,
// rounded half away from zero (domain.Money.Apply), per line. A duty that is
// not due is zero in the value's currency.
func (d Duty) Apply(value domain.Money) (domain.Money, error) {
	return value.Apply(d.Rate)
}

// DutyFor returns the import duty due on a chip entering the duty rule's
// importing country for the declared end use.
func (r Rules) DutyFor(spec domain.Spec, endUse string) Duty {
	e := r.set.duty
	if e == nil {
		return Duty{RateText: domain.Rate(0).String(), Message: "no duty rule in force"}
	}
	p := e.doc.Duty
	d := Duty{Rule: e.ID, Source: e.Source, ImportingCountry: p.ImportingCountry, RateText: domain.Rate(0).String()}
	tpp, _ := Metrics(spec)
	bw := spec.BandwidthGBps
	for _, w := range p.Windows {
		if tpp >= w.TPPMin && tpp <= w.TPPMax && bw >= w.BandwidthMinGBps && bw <= w.BandwidthMaxGBps {
			d.Covered = true
			d.Message = "TPP " + num(tpp) + " in " + num(w.TPPMin) + "–" + num(w.TPPMax) + " and bandwidth " + inum(int64(bw)) +
				" in " + inum(int64(w.BandwidthMinGBps)) + "–" + inum(int64(w.BandwidthMaxGBps)) + " GB/s"
			break
		}
	}
	if !d.Covered {
		d.Message = "TPP " + num(tpp) + ", bandwidth " + inum(int64(bw)) + " GB/s: outside every window"
		return d
	}
	if slices.Contains(p.ExemptEndUses, endUse) {
		d.Exempt = true
		d.Message += "; end use " + endUse + " is exempt"
		return d
	}
	d.Rate = p.Rate.Rate()
	d.RateText = d.Rate.String()
	d.Message += ": " + d.RateText + " ad valorem"
	return d
}
