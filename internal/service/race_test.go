//go:build race

package service_test

// raceEnabled is true under the race detector, which makes every step of
// the property test several times slower; the test takes fewer steps then.
const raceEnabled = true
