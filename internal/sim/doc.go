// Package sim runs the export program over a horizon of weeks for a
// scenario and compares policy variants side by side.
//
// A Scenario (YAML, docs/SIMULATE.md) describes production, buyers and
// their demand, the US lab and the variants. Run drives the real engines in
// process: every order is decided by policy.Rules.DecideOrder, each week's
// shipments come from allocation.Run, duty is assessed with
// policy.Rules.DutyFor and domain.Money.Apply, and the lab tests what goes
// to China at the policy's weekly capacity. A variant changes parameters of
// the loaded policy (the duty rate, the China cap, the minimum lot age, the
// reserve share) by patching the policy's YAML tree and loading it again, so
// the engines run unchanged and every figure is the policy file's doing.
//
// The package is pure apart from reading a scenario's policy file: no
// clock, no globals, no goroutines that outlive Run. The same scenario and
// seed give the same Result, and the same files byte for byte.
package sim
