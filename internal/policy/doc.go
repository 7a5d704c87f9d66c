// Package policy is chipgate's rule engine: the export program as an
// effective-dated YAML file with CEL expressions, product classification
// under ECCN 3A090, order decisions that cite the rules behind them, and the
// Section 232 duty.
//
// It is pure. Load parses bytes it is given; every other function takes
// values and returns values. There is no clock (callers pass instants), no
// I/O and no package-level state, so the same file and the same facts give
// the same decision on every machine — which is what lets a decision recorded
// in the ledger be re-checked later.
//
// Every number the program uses (21,000 TPP, 25%, 50%, the D:5 countries, the
// effective dates) comes from the policy file; none is a constant here.
package policy
