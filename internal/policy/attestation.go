package policy

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"github.com/chipgate/chipgate/internal/domain"
	"math"
	"regexp"
	"slices"
	"time"
)

// AttestationParams are the attested check-ins' rule: whether the old
// self-reported check-in is still accepted, how long a challenge lives, how
// close to its licensed site a device must be proven to be, and how fast a
// device can travel between two check-ins.
type AttestationParams struct {
	// SelfReported keeps POST /api/v1/checkins (a report nobody signed)
	// open; false refuses it and only attested check-ins count.
	SelfReported bool `yaml:"self_reported" json:"self_reported"`
	// ChallengeTTLSeconds is how long a challenge nonce may be answered.
	ChallengeTTLSeconds int `yaml:"challenge_ttl_seconds" json:"challenge_ttl_seconds"`
	// ConfineKM: an attested check-in is plausible only when one landmark's
	// signed round trip confines the device within this many km of its
	// licensed site (the landmark's distance to the site plus the round
	// trip's distance bound).
	ConfineKM float64 `yaml:"confine_km" json:"confine_km"`
	// TravelKMPerHour is the fastest a device can move between two
	// check-ins (an airliner); two check-ins with one key farther apart
	// than that are one key in two places.
	TravelKMPerHour float64 `yaml:"travel_km_per_hour" json:"travel_km_per_hour"`
}

func validateAttestation(v *kindValidator, a *AttestationParams) {
	if a.ChallengeTTLSeconds < 1 || a.ChallengeTTLSeconds > 3600 {
		v.bad("challenge_ttl_seconds", "must be between 1 and 3600")
	}
	if !(a.ConfineKM > 0 && a.ConfineKM <= 20000) {
		v.bad("confine_km", "must be above 0 and at most 20000")
	}
	if !(a.TravelKMPerHour > 0 && a.TravelKMPerHour <= 10000) {
		v.bad("travel_km_per_hour", "must be above 0 and at most 10000")
	}
}

func validKey(s string) bool {
	b, err := base64.StdEncoding.DecodeString(s)
	return err == nil && len(b) == 32
}

// Attestation returns the attested check-ins' rule in force.
func (r Rules) Attestation() (AttestationParams, bool) {
	if e := r.rs().attestation; e != nil {
		return *e.doc.Attestation, true
	}
	return AttestationParams{}, false
}

// SelfReportedCheckIns says whether the self-reported check-in is accepted,
// and the rule that says so: accepted when no attestation rule is in force.
func (r Rules) SelfReportedCheckIns() (ok bool, reason Reason) {
	e := r.rs().attestation
	if e == nil || e.doc.Attestation.SelfReported {
		return true, Reason{}
	}
	return false, e.reason("", "self-reported check-ins are no longer accepted; a device checks in with signed evidence (POST /api/v1/checkins/challenges, then /api/v1/checkins/attested)", "")
}

// LandmarkKey returns the public key of a landmark of the watch in force,
// when the policy gives it one.
func (r Rules) LandmarkKey(name string) (ed25519.PublicKey, bool) {
	l, ok := r.Landmark(name)
	if !ok || l.Key == "" {
		return nil, false
	}
	b, err := base64.StdEncoding.DecodeString(l.Key)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, false
	}
	return ed25519.PublicKey(b), true
}

// ChallengeState is what the program holds about the nonce a check-in
// answers.
type ChallengeState struct {
	Known      bool      // the program issued it
	Serial     string    // for this serial
	IssuedAt   time.Time // when
	ExpiresAt  time.Time
	UsedBefore bool // a check-in answered it already
}

// LandmarkTiming is one landmark's receipt after its signature was checked.
type LandmarkTiming = domain.LandmarkTiming

// AttestedPlace is where a key's previous attested check-in put its
// device: the genuine round trips, at an instant.
type AttestedPlace struct {
	At      time.Time
	Serial  string
	Timings []LandmarkTiming
}

// AttestedCheckInFacts are what the program knows when a device submits
// signed evidence. The signatures were checked already (attest.Verify):
// the policy decides what they mean.
type AttestedCheckInFacts struct {
	At     time.Time
	Serial string
	// Reporter is the party that submitted the evidence.
	Reporter string
	// The serial's shipment; Shipped false when it never left.
	Shipped        bool
	ShipmentNumber string
	Buyer          string
	Delivered      bool
	Where          string
	Destination    string
	// SiteLat, SiteLon and SiteAddress locate the licensed site, when the
	// buyer's application gave its coordinates.
	SiteLat, SiteLon *float64
	SiteAddress      string
	// RegisteredKey is the device key the lab recorded for the serial (""
	// when none); EvidenceKey the one that signed the evidence.
	RegisteredKey, EvidenceKey string
	// DeviceSignatureValid: EvidenceKey signed the evidence.
	DeviceSignatureValid bool
	Challenge            ChallengeState
	Timings              []LandmarkTiming
	// Previous is the key's last attested check-in, if any.
	Previous *AttestedPlace
}

// AssessAttestedCheckIn decides an attested check-in: no findings when it is
// plausible, otherwise one finding per signal, each naming its rule and
// source: unknown_device_key (no key recorded for the serial, or the
// evidence signed by another), bad_device_signature, replayed_nonce (a
// challenge answered before), stale_challenge (unknown, expired, or issued
// for another serial), forged_landmark (a receipt that is not its
// landmark's), unshipped_serial and undelivered_serial, too_far_from_site
// (a landmark's round trip puts the device farther from its licensed site
// than its bound allows, or no landmark confines it near the site), and
// same_key_two_places. A check-in whose identity or freshness fails is
// judged on nothing else: its round trips may be anyone's.
func (r Rules) AssessAttestedCheckIn(f AttestedCheckInFacts) []Finding {
	s := r.rs()
	att := s.attestation
	if att == nil {
		return []Finding{{Kind: "attestation_off", Reason: Reason{Message: "no attestation rule is in force: signed evidence cannot be judged"}}}
	}
	var out []Finding
	flag := func(e *entry, kind, msg string) {
		out = append(out, Finding{Kind: kind, Reason: e.reason("", msg, f.ShipmentNumber)})
	}
	switch {
	case f.RegisteredKey == "":
		flag(att, "unknown_device_key", fmt.Sprintf("no device key was recorded for serial %s at its lab test; the evidence's key %s identifies nothing", f.Serial, short(f.EvidenceKey)))
	case f.RegisteredKey != f.EvidenceKey:
		flag(att, "unknown_device_key", fmt.Sprintf("serial %s's device key is %s (recorded at its lab test); the evidence was signed with %s", f.Serial, short(f.RegisteredKey), short(f.EvidenceKey)))
	case !f.DeviceSignatureValid:
		flag(att, "bad_device_signature", fmt.Sprintf("the evidence for serial %s is not signed by its device key %s", f.Serial, short(f.RegisteredKey)))
	}
	c := f.Challenge
	switch {
	case !c.Known:
		flag(att, "stale_challenge", fmt.Sprintf("the evidence for serial %s answers a nonce the program never issued", f.Serial))
	case c.UsedBefore:
		flag(att, "replayed_nonce", fmt.Sprintf("the nonce issued for serial %s on %s was answered before; evidence is single-use", c.Serial, c.IssuedAt.Format(time.RFC3339)))
	case c.Serial != f.Serial:
		flag(att, "stale_challenge", fmt.Sprintf("the nonce was issued for serial %s, not %s", c.Serial, f.Serial))
	case f.At.After(c.ExpiresAt):
		flag(att, "stale_challenge", fmt.Sprintf("the nonce issued on %s expired on %s; the evidence came on %s", c.IssuedAt.Format(time.RFC3339), c.ExpiresAt.Format(time.RFC3339), f.At.Format(time.RFC3339)))
	}
	if len(out) > 0 {
		return out
	}
	for _, t := range f.Timings {
		if !t.Valid {
			flag(att, "forged_landmark", fmt.Sprintf("a receipt from landmark %s does not verify (%s); its round trip is not counted", t.Landmark, t.Problem))
		}
	}
	if !f.Shipped {
		flag(s.watch, "unshipped_serial", fmt.Sprintf("serial %s was never shipped, yet checked in with its recorded key, as reported by %s", f.Serial, f.Reporter))
		return out
	}
	if !f.Delivered {
		flag(s.watch, "undelivered_serial", fmt.Sprintf("serial %s of shipment %s checked in while the shipment is in %s", f.Serial, f.ShipmentNumber, f.Where))
	}
	geo := s.geolocation
	if geo != nil && f.SiteLat != nil && f.SiteLon != nil {
		kmPerMS := geo.doc.Geolocation.FiberKMPerMSOneWay
		confined := false
		best, bestName := math.Inf(1), ""
		for _, t := range f.Timings {
			l, ok := r.Landmark(t.Landmark)
			if !t.Valid || !ok {
				continue
			}
			d, max := DistanceKM(*f.SiteLat, *f.SiteLon, l.Lat, l.Lon), MaxDistanceKM(t.RTTMS, kmPerMS)
			if d > max {
				flag(geo, "too_far_from_site", fmt.Sprintf("landmark %s timed a round trip of %.1f ms: the device is within %.0f km of it (fiber, %g km/ms one way), and the licensed site %q is %.0f km away: the device is at least %.0f km from its site",
					t.Landmark, t.RTTMS, math.Round(max), kmPerMS, f.SiteAddress, math.Round(d), math.Round(d-max)))
			}
			if d+max < best {
				best, bestName = d+max, t.Landmark
			}
			confined = confined || d+max <= att.doc.Attestation.ConfineKM
		}
		if !confined {
			msg := fmt.Sprintf("no genuine landmark round trip confines serial %s within %g km of its licensed site %q", f.Serial, att.doc.Attestation.ConfineKM, f.SiteAddress)
			if bestName != "" {
				msg += fmt.Sprintf("; the closest bound, from %s, is %.0f km", bestName, math.Round(best))
			}
			flag(att, "too_far_from_site", msg)
		}
	}
	if p := f.Previous; p != nil && geo != nil {
		kmPerMS := geo.doc.Geolocation.FiberKMPerMSOneWay
		hours := f.At.Sub(p.At).Hours()
		reach := att.doc.Attestation.TravelKMPerHour * math.Max(hours, 0)
		for _, a := range p.Timings {
			la, ok := r.Landmark(a.Landmark)
			if !a.Valid || !ok {
				continue
			}
			for _, b := range f.Timings {
				lb, ok := r.Landmark(b.Landmark)
				if !b.Valid || !ok {
					continue
				}
				gap := DistanceKM(la.Lat, la.Lon, lb.Lat, lb.Lon) - MaxDistanceKM(a.RTTMS, kmPerMS) - MaxDistanceKM(b.RTTMS, kmPerMS)
				if gap > reach {
					flag(att, "same_key_two_places", fmt.Sprintf("device key %s was within %.0f km of %s on %s (serial %s) and within %.0f km of %s on %s: at least %.0f km apart in %.1f h, farther than %g km/h allows",
						short(f.EvidenceKey), MaxDistanceKM(a.RTTMS, kmPerMS), a.Landmark, p.At.Format(time.RFC3339), p.Serial, MaxDistanceKM(b.RTTMS, kmPerMS), b.Landmark, f.At.Format(time.RFC3339),
						math.Round(gap), hours, att.doc.Attestation.TravelKMPerHour))
					return out
				}
			}
		}
	}
	return out
}

// short abbreviates a base64 key for messages.
func short(k string) string {
	if len(k) > 12 {
		return k[:12] + "…"
	}
	if k == "" {
		return "(none)"
	}
	return k
}

// WithLandmarkKeys returns a policy file's text with public keys (standard
// base64, by landmark name) added to the watch's landmarks, written as
// `{name: N, lat: …, lon: …}` flow maps as the default policy writes them:
// how the demo and tests give their loopback landmarks' keys to a policy.
// An error names a landmark the text does not hold in that form.
func WithLandmarkKeys(src []byte, keys map[string]string) ([]byte, error) {
	names := make([]string, 0, len(keys))
	for n := range keys {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		re := regexp.MustCompile(`\{name: ` + regexp.QuoteMeta(name) + `, ([^}]*)\}`)
		if !re.Match(src) {
			return nil, fmt.Errorf("policy: no landmark %q written as {name: %s, lat: …, lon: …}", name, name)
		}
		src = re.ReplaceAll(src, []byte(fmt.Sprintf("{name: %s, $1, key: %s}", name, keys[name])))
	}
	return src, nil
}
