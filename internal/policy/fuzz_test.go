package policy_test

import (
	"testing"

	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/policies"
)

// FuzzLoad: whatever the bytes, Load returns a policy or an error, never
// panics, and a policy it returns answers At without panicking.
func FuzzLoad(f *testing.F) {
	f.Add(policies.Default)
	f.Add([]byte("policy: x\nsources: [{id: S1, title: t}]\nrules:\n- id: a\n  source: S1\n  from: 2026-01-01\n  end_use: {prohibited: [military]}\n"))
	f.Add([]byte("policy: x\nsources: [{id: S1, title: t}]\nrules:\n- id: c\n  source: S1\n  from: 2026-01-01\n  check: {if: 'quantity > 1', outcome: rejected, message: m}\n"))
	f.Add([]byte("rules: [{id: a, from: 2026-99-01}]"))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := policy.Load("fuzz.yaml", data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		for _, b := range p.Boundaries() {
			r := p.At(b)
			_ = r.Classify(spec(15832, 814, 4800), day("2024-01-01"))
		}
	})
}
