package policy

import (
	"slices"

	"github.com/chipgate/chipgate/internal/domain"
)

// Duty is the import duty on a chip under the rules in force (domain.Duty).
type Duty = domain.Duty

// DutyFor returns the import duty due on a chip entering the duty rule's
// importing country for the declared end use.
func (r Rules) DutyFor(spec domain.Spec, endUse string) Duty {
	if d := r.dutyFor(spec, endUse); d != nil {
		return *d
	}
	return Duty{RateText: "0%", Message: "no duty rule in force"}
}

// dutyFor returns the remembered duty assessment (shared: read only), or
// nil when no duty rule is in force. Every H200 order to China pays the
// same, so decisions point at one assessment rather than copying it.
func (r Rules) dutyFor(spec domain.Spec, endUse string) *Duty {
	set := r.rs()
	e := set.duty
	if e == nil {
		return nil
	}
	tpp, _ := Metrics(spec)
	k := dutyKey{e: e, tpp: tpp, bw: spec.BandwidthGBps, endUse: endUse}
	h := k.hash()
	if d, ok := set.duties.get(h, k); ok {
		return d
	}
	d, m := dutyOf(e, tpp, spec.BandwidthGBps, endUse)
	d.Message = string(m)
	set.duties.put(h, k, &d)
	return &d
}

// dutyOf assesses the duty rule e and writes its message.
func dutyOf(e *entry, tpp float64, bw int, endUse string) (Duty, []byte) {
	p := e.doc.Duty
	d := Duty{Rule: e.ID, Source: e.Source, ImportingCountry: p.ImportingCountry, RateText: "0%"}
	m := make([]byte, 0, 128)
	for i, w := range p.Windows {
		// Open intervals: "greater than 14,000 and less than 17,500" (S18).
		if w.TPPAbove < tpp && tpp < w.TPPBelow && w.BandwidthAboveGBps < bw && bw < w.BandwidthBelowGBps {
			d.Covered = true
			f := e.figures[4*i : 4*i+4]
			m = appendNum(append(append(append(m, "TPP "...), f[0]...), " < "...), tpp)
			m = append(append(append(m, " < "...), f[1]...), " and bandwidth "...)
			m = appendInt(append(append(m, f[2]...), " < "...), int64(bw))
			m = append(append(append(m, " < "...), f[3]...), " GB/s"...)
			break
		}
	}
	if !d.Covered {
		m = appendNum(append(m, "TPP "...), tpp)
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
