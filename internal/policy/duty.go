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
	d, m := r.dutyFor(nil, spec, endUse)
	if d.Message == "" {
		d.Message = string(m)
	}
	return d
}

// dutyFor appends the duty's message to m and returns both; the message is
// left out of the Duty for the caller to set, so that DecideOrder can keep
// it in its one buffer.
func (r Rules) dutyFor(m []byte, spec domain.Spec, endUse string) (Duty, []byte) {
	e := r.rs().duty
	if e == nil {
		return Duty{RateText: "0%", Message: "no duty rule in force"}, m
	}
	p := e.doc.Duty
	d := Duty{Rule: e.ID, Source: e.Source, ImportingCountry: p.ImportingCountry, RateText: "0%"}
	tpp, _ := Metrics(spec)
	bw := spec.BandwidthGBps
	m = appendNum(append(m, "TPP "...), tpp)
	for i, w := range p.Windows {
		if tpp >= w.TPPMin && tpp <= w.TPPMax && bw >= w.BandwidthMinGBps && bw <= w.BandwidthMaxGBps {
			d.Covered = true
			m = append(append(m, " in "...), e.figures[2*i]...)
			m = appendInt(append(m, " and bandwidth "...), int64(bw))
			m = append(append(m, " in "...), e.figures[2*i+1]...)
			break
		}
	}
	if !d.Covered {
		return d, append(appendInt(append(m, ", bandwidth "...), int64(bw)), " GB/s: outside every window"...)
	}
	if slices.Contains(p.ExemptEndUses, endUse) {
		d.Exempt = true
		return d, append(append(append(m, "; end use "...), endUse...), " is exempt"...)
	}
	d.Rate = p.Rate.Rate()
	d.RateText = e.text
	return d, append(append(append(m, ": "...), e.text...), " ad valorem"...)
}
