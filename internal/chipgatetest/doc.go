// Package chipgatetest is the test kit of chipgate's server, dashboard,
// command-line and demo tests: what each of them used to build on its own
// and had drifted apart.
//
//   - Clock: a settable clock, safe across the server's goroutines.
//   - ScreeningIndex, Policy, QuietLog, NewService: the service's parts as
//     tests run it (the embedded list's index built once per test binary).
//   - New: an Env, the demo cast on a fresh store (storetest opens it, on
//     SQLite or any backend storetest.Run passes), with tokens, a ledger
//     signer and, after Env.Serve, the API on a free port.
//   - Client: authenticated JSON requests as a party, to an Env's server
//     or to a chipgate binary the test started.
//
// Only tests import it; it is a normal package so that tests of several
// packages can share it.
package chipgatetest
