package policy_test

import (
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/policy"
)

// TestAssessAttestedCheckIn: the attested check-in's assessment as a pure
// decision; every finding names its kind and rule, a plausible check-in has
// none.
func TestAssessAttestedCheckIn(t *testing.T) {
	at := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	r := mustDefault(t).At(at)
	lat, lon := 39.9042, 116.4074 // the licensed site in Beijing
	honest := policy.AttestedCheckInFacts{At: at, Serial: "SN-1", Reporter: "bytedance", Shipped: true, ShipmentNumber: "SH-1", Buyer: "bytedance",
		Delivered: true, Where: "CN", Destination: "CN", SiteLat: &lat, SiteLon: &lon, SiteAddress: "Beijing DC",
		RegisteredKey: "KEY-A", EvidenceKey: "KEY-A", DeviceSignatureValid: true,
		Challenge: policy.ChallengeState{Known: true, Serial: "SN-1", IssuedAt: at.Add(-time.Minute), ExpiresAt: at.Add(4 * time.Minute)},
		Timings:   []policy.LandmarkTiming{{Landmark: "beijing", RTTMS: 2, Valid: true}, {Landmark: "shanghai", RTTMS: 12, Valid: true}}}
	with := func(change func(*policy.AttestedCheckInFacts)) policy.AttestedCheckInFacts {
		f := honest
		change(&f)
		return f
	}
	// Singapore is 4,470 km from Beijing: 45 ms there and back at best.
	fromSingapore := []policy.LandmarkTiming{{Landmark: "singapore", RTTMS: 1, Valid: true}, {Landmark: "beijing", RTTMS: 46, Valid: true}}
	for _, c := range []struct {
		name string
		f    policy.AttestedCheckInFacts
		want map[string]string // kind → rule
	}{
		{"Plausible", honest, nil},
		{"UnknownKey", with(func(f *policy.AttestedCheckInFacts) { f.RegisteredKey = "" }), map[string]string{"unknown_device_key": "telemetry.attestation"}},
		{"WrongKey", with(func(f *policy.AttestedCheckInFacts) { f.EvidenceKey = "KEY-B" }), map[string]string{"unknown_device_key": "telemetry.attestation"}},
		{"BadSignature", with(func(f *policy.AttestedCheckInFacts) { f.DeviceSignatureValid = false }), map[string]string{"bad_device_signature": "telemetry.attestation"}},
		{"ReplayedNonce", with(func(f *policy.AttestedCheckInFacts) { f.Challenge.UsedBefore = true }), map[string]string{"replayed_nonce": "telemetry.attestation"}},
		{"UnknownNonce", with(func(f *policy.AttestedCheckInFacts) { f.Challenge = policy.ChallengeState{} }), map[string]string{"stale_challenge": "telemetry.attestation"}},
		{"ExpiredNonce", with(func(f *policy.AttestedCheckInFacts) { f.At = f.Challenge.ExpiresAt.Add(time.Second) }), map[string]string{"stale_challenge": "telemetry.attestation"}},
		{"OtherSerialsNonce", with(func(f *policy.AttestedCheckInFacts) { f.Challenge.Serial = "SN-2" }), map[string]string{"stale_challenge": "telemetry.attestation"}},
		{"ForgedLandmark", with(func(f *policy.AttestedCheckInFacts) {
			f.Timings = []policy.LandmarkTiming{{Landmark: "beijing", RTTMS: 2, Valid: false, Problem: "bad signature"}}
		}), map[string]string{"forged_landmark": "telemetry.attestation", "too_far_from_site": "telemetry.attestation"}},
		{"Moved", with(func(f *policy.AttestedCheckInFacts) { f.Timings = fromSingapore }),
			map[string]string{"too_far_from_site": "telemetry.geolocation"}},
		// Delay only lengthens a bound: from Singapore, slowing the Singapore
		// landmark hides nothing and cannot bring Beijing closer.
		{"DelayAddedToLookCloser", with(func(f *policy.AttestedCheckInFacts) {
			f.Timings = []policy.LandmarkTiming{{Landmark: "singapore", RTTMS: 90, Valid: true}, {Landmark: "beijing", RTTMS: 60, Valid: true}}
		}), map[string]string{"too_far_from_site": "telemetry.attestation"}},
		{"SameKeyTwoPlaces", with(func(f *policy.AttestedCheckInFacts) {
			f.Previous = &policy.AttestedPlace{At: at.Add(-10 * time.Minute), Serial: "SN-1", Timings: fromSingapore}
		}), map[string]string{"same_key_two_places": "telemetry.attestation"}},
		{"SameKeyAfterAFlight", with(func(f *policy.AttestedCheckInFacts) {
			f.Previous = &policy.AttestedPlace{At: at.Add(-12 * time.Hour), Serial: "SN-1", Timings: fromSingapore}
		}), nil},
		{"Undelivered", with(func(f *policy.AttestedCheckInFacts) { f.Delivered = false }), map[string]string{"undelivered_serial": "telemetry.watch"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := r.AssessAttestedCheckIn(c.f)
			kinds := map[string]string{}
			for _, fd := range got {
				if fd.Reason.Rule == "" || fd.Reason.Message == "" {
					t.Errorf("finding without rule or message: %+v", fd)
				}
				if _, seen := kinds[fd.Kind]; !seen || fd.Reason.Rule == c.want[fd.Kind] {
					kinds[fd.Kind] = fd.Reason.Rule
				}
			}
			if len(kinds) != len(c.want) {
				t.Fatalf("findings %v, want %v", got, c.want)
			}
			for k, rule := range c.want {
				if kinds[k] != rule {
					t.Fatalf("finding %s cites %q, want %q (%v)", k, kinds[k], rule, got)
				}
			}
		})
	}
}

// TestSelfReportedCheckInsArePolicy: the unsigned check-in is open while the
// attestation rule says so, and refused, naming the rule, when it does not.
func TestSelfReportedCheckInsArePolicy(t *testing.T) {
	at := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	if ok, _ := mustDefault(t).At(at).SelfReportedCheckIns(); !ok {
		t.Fatal("the default policy refuses self-reported check-ins")
	}
	ok, why := mustLoad(t, "self_reported: true", "self_reported: false").At(at).SelfReportedCheckIns()
	if ok || why.Rule != "telemetry.attestation" || why.Source != "S11" {
		t.Fatalf("self_reported false: %v %+v", ok, why)
	}
}
