package policy_test

import (
	"testing"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/interpreter"

	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/policies"
)

// benchFacts is an H200 order to China that passes every rule of the default
// policy, with a CEL condition on the license and one on the permit: the
// longest path through DecideOrder (every rule looked at, four CEL programs
// run: two checks and two conditions).
func benchFacts(b testing.TB, p *policy.Policy) policy.OrderFacts {
	f := h200CN(b, day("2026-02-01"))
	lc, err := p.CompileCondition(`site_country == "CN" && quantity <= 500`)
	if err != nil {
		b.Fatal(err)
	}
	pc, err := p.CompileCondition(`end_use != "surveillance"`)
	if err != nil {
		b.Fatal(err)
	}
	f.Licenses[0].Conditions = []policy.Condition{lc}
	f.Permits[0].Conditions = []policy.Condition{pc}
	if d := p.DecideOrder(f); d.Outcome != policy.Accepted {
		b.Fatalf("bench order not accepted: %s", messages(d.Reasons))
	}
	return f
}

// BenchmarkDecideOrder measures one decision with the rules in force already
// looked up, as a workflow holding Rules for a batch would.
func BenchmarkDecideOrder(b *testing.B) {
	p := mustDefault(b)
	f := benchFacts(b, p)
	rules := p.At(f.At)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if rules.DecideOrder(f).Outcome != policy.Accepted {
			b.Fatal("not accepted")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}

// BenchmarkPolicyDecideOrder adds the lookup of the rules in force, as
// PlaceOrder does for each order.
func BenchmarkPolicyDecideOrder(b *testing.B) {
	p := mustDefault(b)
	f := benchFacts(b, p)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if p.DecideOrder(f).Outcome != policy.Accepted {
			b.Fatal("not accepted")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}

// BenchmarkDecideOrderRejected is a B200 order to China: rejected early by
// the destination rule, the common case for a denied chip.
func BenchmarkDecideOrderRejected(b *testing.B) {
	p := mustDefault(b)
	f := benchFacts(b, p)
	f.Product, f.Spec = "b200", product(b, "b200").Spec
	rules := p.At(f.At)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if rules.DecideOrder(f).Outcome != policy.Rejected {
			b.Fatal("not rejected")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}

// BenchmarkLoadDefault measures loading and checking the default policy:
// parse, schema, CEL compile and type-check, timelines, segments.
func BenchmarkLoadDefault(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := policy.Load("default.yaml", policies.Default); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompileCondition is the cost of compiling one license condition
// with the policy's environment (once per license load, never per order).
func BenchmarkCompileCondition(b *testing.B) {
	p := mustDefault(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.CompileCondition(`site_country == "CN" && quantity <= 500`); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCELBaseline evaluates a one-comparison CEL program with cel-go
// alone, to calibrate the machine: issue 3 quotes about 100 ns for it.
func BenchmarkCELBaseline(b *testing.B) {
	env, err := cel.NewEnv(cel.Variable("quantity", cel.IntType))
	if err != nil {
		b.Fatal(err)
	}
	ast, iss := env.Compile(`quantity <= 500`)
	if iss.Err() != nil {
		b.Fatal(iss.Err())
	}
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		b.Fatal(err)
	}
	act, err := interpreter.NewActivation(map[string]any{"quantity": int64(100)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if v, _, err := prg.Eval(act); err != nil || v != types.True {
			b.Fatal(v, err)
		}
	}
}

// BenchmarkDecideOrderNoConditions is the accepted H200 order with no CEL
// conditions on its license and permit: the default rule set alone (two CEL
// checks).
func BenchmarkDecideOrderNoConditions(b *testing.B) {
	p := mustDefault(b)
	f := benchFacts(b, p)
	f.Licenses[0].Conditions, f.Permits[0].Conditions = nil, nil
	rules := p.At(f.At)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if rules.DecideOrder(f).Outcome != policy.Accepted {
			b.Fatal("not accepted")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}
