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
	const head = "policy: x\nsources: [{id: S1, title: t}]\njurisdictions: [{id: j, name: J, authority: {role: export_authority, countries: [US]}}]\nrules:\n"
	f.Add([]byte(head + "- id: a\n  source: S1\n  jurisdiction: j\n  from: 2026-01-01\n  end_use: {prohibited: [military]}\n"))
	f.Add([]byte(head + "- id: c\n  source: S1\n  jurisdiction: j\n  releasable: true\n  from: 2026-01-01\n  check: {if: 'quantity > 1', outcome: held_for_review, message: m}\n"))
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

// FuzzCompileCondition: a license condition is typed in by a person. Any
// text either fails to compile with an error or compiles within the size
// and cost bounds, and a license carrying it decides orders without
// panicking, the same way twice.
func FuzzCompileCondition(f *testing.F) {
	for _, s := range []string{`end_use != "surveillance" && site_country == "CN"`, `quantity <= 1000 && tpp < 21000.0`,
		`[1, 2, 3].exists(x, x == quantity)`, `end_use.matches("^comm")`, `now < timestamp("2027-01-01T00:00:00Z")`,
		`quantity / 0 == 1`, `size(buyer) > 2 ? true : false`, `quantity`, `)`} {
		f.Add(s)
	}
	p := mustDefault(f)
	f.Fuzz(func(t *testing.T, expr string) {
		c, err := p.CompileCondition(expr)
		if err != nil {
			return
		}
		if len(expr) > policy.MaxExprBytes {
			t.Fatalf("compiled a %d-byte expression", len(expr))
		}
		facts := h200CN(t, day("2026-02-01"))
		facts.Licenses[0].Conditions = []policy.Condition{c}
		rules := p.At(facts.At)
		first, again := rules.DecideOrder(facts), rules.DecideOrder(facts)
		if first.Outcome == "" || first.Outcome != again.Outcome {
			t.Fatalf("condition %q: outcomes %q then %q", expr, first.Outcome, again.Outcome)
		}
	})
}
