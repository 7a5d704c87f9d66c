// Package allocation decides how scarce lots go to accepted orders over a
// horizon of periods, under the export policy's caps, and how sure the
// resulting delivery dates are.
//
// Run takes a Problem and returns a Result: units per (order, lot, period),
// the unmet units of every order with their reason, and fairness metrics.
// The tiers' totals are lexicographically optimal (a maximum flow per tier,
// each augmenting the previous), and inside a tier the units are shared by
// weighted max-min fairness (water-filling with exact flow feasibility
// checks). Outlook turns a Result into promised quantities and dates per
// order and buyer, with P50/P90 delivery dates from a seeded Monte Carlo
// simulation.
//
// The package is pure: no database, no HTTP, no clock, no globals. The
// same input gives the same output. docs/ALLOCATION.md describes the
// format and the algorithm.
package allocation
