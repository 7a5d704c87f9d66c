package service

// SetSolvedHook makes s call f after an allocation run solved its snapshot
// and before it writes, so that a test can change the inputs in between.
func SetSolvedHook(s *Service, f func()) { s.solved = f }

// AllocationTries is how many snapshots a run solves before it solves
// holding the writer.
const AllocationTries = allocationTries

// ChainLink is the screening log's chain link, for tests that rewrite the
// chain as an insider who knows the scheme would.
var ChainLink = chainLink
