package chipgatetest

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/agent"
	"github.com/chipgate/chipgate/internal/attest"
	"github.com/chipgate/chipgate/internal/landmark"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/policies"
)

// Landmarks starts a landmark server on loopback for each name, each with
// a fresh key, and returns them for an agent and their public keys for a
// policy (PolicyWithLandmarkKeys).
func Landmarks(tb testing.TB, names ...string) ([]agent.Landmark, map[string]ed25519.PublicKey) {
	tb.Helper()
	var out []agent.Landmark
	keys := map[string]ed25519.PublicKey{}
	for _, name := range names {
		pub, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		srv := &landmark.Server{Name: name, Key: key}
		out = append(out, agent.Landmark{Name: name, URL: Listen(tb, srv.Handler())})
		keys[name] = pub
	}
	return out, keys
}

// PolicyWithLandmarkKeys loads the default policy with the given landmarks'
// public keys added to the watch's landmarks.
func PolicyWithLandmarkKeys(tb testing.TB, keys map[string]ed25519.PublicKey) *policy.Policy {
	tb.Helper()
	p, err := policy.Load("default+landmark-keys.yaml", PolicyFileWithLandmarkKeys(tb, keys))
	if err != nil {
		tb.Fatalf("chipgatetest: policy with landmark keys: %v", err)
	}
	return p
}

// PolicyFileWithLandmarkKeys is the default policy file's text with the
// given landmarks' public keys added, for a command that reads a file.
func PolicyFileWithLandmarkKeys(tb testing.TB, keys map[string]ed25519.PublicKey) []byte {
	tb.Helper()
	text := map[string]string{}
	for name, k := range keys {
		text[name] = attest.EncodeKey(k)
	}
	src, err := policy.WithLandmarkKeys(policies.Default, text)
	if err != nil {
		tb.Fatalf("chipgatetest: %v", err)
	}
	return src
}

// DelayFrom simulates a device at (lat, lon): the round trip light in
// fiber takes to each landmark of the rules' watch and back, at the
// geolocation rule's km per ms (a device can only ever be this slow or
// slower).
func DelayFrom(rules policy.Rules, lat, lon float64) func(string) time.Duration {
	geo, _ := rules.Geolocation()
	return func(name string) time.Duration {
		l, ok := rules.Landmark(name)
		if !ok {
			return 0
		}
		ms := 2 * policy.DistanceKM(lat, lon, l.Lat, l.Lon) / geo.FiberKMPerMSOneWay
		return time.Duration(ms * float64(time.Millisecond))
	}
}
