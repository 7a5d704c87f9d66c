package demo

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/chipgate/chipgate/internal/agent"
	"github.com/chipgate/chipgate/internal/attest"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/landmark"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/internal/service"
)

// Landmarks are the demo's landmark cities: its Chinese buyers' site
// (Beijing), a neighbour (Shanghai) and the transshipment hub a device is
// moved to (Singapore). The demo runs them on loopback while it loads.
var Landmarks = []string{"beijing", "shanghai", "singapore"}

// beijing is where bytedance's data center is.
var beijing = [2]float64{39.9042, 116.4074}

// singapore is where one of bytedance's devices is moved to.
var singapore = [2]float64{1.3521, 103.8198}

// demoKey derives a demo key from its purpose and name. Demo keys are
// public by construction — anyone can derive them — so that a restarted
// demo, its tests and its policy agree without storing secrets; a
// deployment never uses them.
func demoKey(purpose, name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("chipgate demo " + purpose + "/" + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

// DeviceKey is the demo device key of a serial, generated "at the lab
// test".
func DeviceKey(serial string) ed25519.PrivateKey { return demoKey("device", serial) }

// LandmarkKey is the demo landmark key of a city.
func LandmarkKey(name string) ed25519.PrivateKey { return demoKey("landmark", name) }

// PolicyFile is a policy file's text with the demo landmarks' public keys
// added: what `chipgate demo` decides under unless given --policy.
func PolicyFile(src []byte) ([]byte, error) {
	keys := map[string]string{}
	for _, n := range Landmarks {
		keys[n] = attest.EncodeKey(LandmarkKey(n).Public().(ed25519.PublicKey))
	}
	return policy.WithLandmarkKeys(src, keys)
}

// demoKeysTrusted reports whether the policy in force holds the demo
// landmarks' keys: only then do the demo's devices check in with signed
// evidence (under another policy their receipts would be forgeries).
func demoKeysTrusted(rules policy.Rules) bool {
	for _, n := range Landmarks {
		k, ok := rules.LandmarkKey(n)
		if !ok || !k.Equal(LandmarkKey(n).Public()) {
			return false
		}
	}
	_, ok := rules.Attestation()
	return ok
}

// delayFrom simulates a device at a place: light in fiber there and back
// to each landmark.
func delayFrom(rules policy.Rules, at [2]float64) func(string) time.Duration {
	geo, _ := rules.Geolocation()
	return func(name string) time.Duration {
		l, ok := rules.Landmark(name)
		if !ok || geo.FiberKMPerMSOneWay <= 0 {
			return 0
		}
		ms := 2 * policy.DistanceKM(at[0], at[1], l.Lat, l.Lon) / geo.FiberKMPerMSOneWay
		return time.Duration(ms * float64(time.Millisecond))
	}
}

// attestedCheckIns runs the demo landmarks on loopback and has bytedance's
// delivered devices check in with signed evidence from Beijing, then its
// first device moved to Singapore: an alert (too_far_from_site) from
// signed evidence. It does nothing unless the policy trusts the demo
// landmarks (PolicyFile).
func attestedCheckIns(ctx context.Context, svc *service.Service, who domain.Actor, serials []string) error {
	rules := svc.Policy().At(svc.Now())
	if !demoKeysTrusted(rules) || len(serials) == 0 {
		return nil
	}
	var lms []agent.Landmark
	for _, name := range Landmarks {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("demo: landmark %s: %w", name, err)
		}
		srv := &http.Server{Handler: (&landmark.Server{Name: name, Key: LandmarkKey(name)}).Handler(), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		lms = append(lms, agent.Landmark{Name: name, URL: "http://" + ln.Addr().String()})
	}
	client := &http.Client{Timeout: 10 * time.Second}
	checkIn := func(serial string, at [2]float64) ([]domain.Alert, error) {
		ch, err := svc.IssueChallenge(ctx, who, service.ChallengeRequest{Serial: serial})
		if err != nil {
			return nil, err
		}
		a := &agent.Agent{Key: DeviceKey(serial), Serial: serial, Landmarks: lms, HTTP: client, Delay: delayFrom(rules, at)}
		ev, err := a.Gather(ctx, ch.Nonce)
		if err != nil {
			return nil, err
		}
		_, alerts, err := svc.AttestedCheckIn(ctx, who, service.AttestedCheckInRequest{Evidence: ev})
		return alerts, err
	}
	for _, sn := range serials {
		// An honest device may still raise an alert on a busy machine that
		// slows its loopback past the policy's bound; that is the bound
		// working (slowed, never sped up), not a failure of the demo.
		if _, err := checkIn(sn, beijing); err != nil {
			return fmt.Errorf("demo: attested check-in of %s: %w", sn, err)
		}
	}
	moved := serials[0]
	alerts, err := checkIn(moved, singapore)
	if err != nil {
		return fmt.Errorf("demo: attested check-in of %s from Singapore: %w", moved, err)
	}
	for _, a := range alerts {
		if a.Kind == "too_far_from_site" {
			return nil
		}
	}
	return errors.New("demo: the device moved to Singapore raised no too_far_from_site alert")
}
