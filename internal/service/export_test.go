package service

// ChainLink is the screening log's chain link, for tests that rewrite the
// chain as an insider who knows the scheme would.
var ChainLink = chainLink
