package policy

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
)

// WatchParams are the diversion watch's thresholds and reference data: how
// long a delivered device may stay silent, and the landmarks (servers at
// known coordinates) devices measure round-trip times to. The physics that
// turns a round-trip time into a distance is the geolocation rule's.
type WatchParams struct {
	SilenceDays int        `yaml:"silence_days" json:"silence_days"`
	Landmarks   []Landmark `yaml:"landmarks" json:"landmarks"`
}

// Landmark is a server with known coordinates and, for attested check-ins,
// the Ed25519 public key its receipts are signed with (standard base64; a
// landmark without a key signs nothing the program accepts).
type Landmark struct {
	Name string  `yaml:"name" json:"name"`
	Lat  float64 `yaml:"lat" json:"lat"`
	Lon  float64 `yaml:"lon" json:"lon"`
	Key  string  `yaml:"key,omitempty" json:"key,omitempty"`
}

func validateWatch(v *kindValidator, w *WatchParams) {
	if w.SilenceDays < 1 || w.SilenceDays > 3650 {
		v.bad("silence_days", "must be between 1 and 3650")
	}
	if len(w.Landmarks) == 0 {
		v.bad("landmarks", "at least one landmark required")
	}
	seen := map[string]bool{}
	for i, l := range w.Landmarks {
		switch {
		case l.Name == "" || seen[l.Name]:
			v.badItem("landmarks", i, "a name, once")
		case !(l.Lat >= -90 && l.Lat <= 90 && l.Lon >= -180 && l.Lon <= 180):
			v.badItem("landmarks", i, "latitude within ±90, longitude within ±180")
		case l.Key != "" && !validKey(l.Key):
			v.badItem("landmarks", i, "key: an Ed25519 public key (32 bytes, standard base64)")
		}
		seen[l.Name] = true
	}
}

// Watch returns the diversion watch's parameters in force.
func (r Rules) Watch() (WatchParams, bool) {
	if e := r.rs().watch; e != nil {
		return *e.doc.Watch, true
	}
	return WatchParams{}, false
}

// Landmark returns the named landmark of the watch in force.
func (r Rules) Landmark(name string) (Landmark, bool) {
	w, _ := r.Watch()
	i := slices.IndexFunc(w.Landmarks, func(l Landmark) bool { return l.Name == name })
	if i < 0 {
		return Landmark{}, false
	}
	return w.Landmarks[i], true
}

// DistanceKM is the great-circle distance between two points (haversine,
// mean Earth radius 6,371 km).
func DistanceKM(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}

// MaxDistanceKM is the farthest a device can be from a landmark given a
// round-trip time: half the RTT, at kmPerMS of fiber each way. Delay can be
// added to a round trip, never removed, so this bounds from above only.
func MaxDistanceKM(rttMS, kmPerMS float64) float64 { return rttMS / 2 * kmPerMS }

// CheckInFacts are what the program knows when a device checks in: what
// the device (or the party reporting for it) says, and what the program
// holds about the serial.
type CheckInFacts struct {
	At       time.Time
	Serial   string
	Reporter string // the reporting party's slug
	Country  string // where the device says it is
	Site     int    // the site it says it is at
	RTTs     map[string]float64
	// Shipped is false for a serial that never left in a shipment; the
	// rest describe its shipment.
	Shipped        bool
	ShipmentNumber string
	Buyer          string
	Status         domain.ShipmentStatus
	Where          string // the country the shipment is in or was last
	Destination    string
	LicensedSite   int
	// SiteLat, SiteLon and SiteAddress locate the site the device claims,
	// when the buyer's application gave its coordinates.
	SiteLat, SiteLon *float64
	SiteAddress      string
	// Previous is the serial's last check-in, if any.
	Previous *PreviousCheckIn
}

// PreviousCheckIn is where a serial last checked in from.
type PreviousCheckIn struct {
	At      time.Time
	Site    int
	Country string
}

// Finding is one thing wrong with a check-in, or with a device's silence:
// its kind (unshipped_serial, undelivered_serial, site_mismatch,
// impossible_location, two_places, silent_serial) and the reason, naming
// the rule and its source with the values compared.
type Finding struct {
	Kind   string        `json:"kind"`
	Reason domain.Reason `json:"reason"`
}

// AssessCheckIn decides a check-in: no findings when it is plausible,
// otherwise one finding per signal, each with the rule and source it
// rests on. Round-trip times to landmarks the watch does not know are an
// error (the caller validates them first).
func (r Rules) AssessCheckIn(f CheckInFacts) ([]Finding, error) {
	s := r.rs()
	var out []Finding
	flag := func(e *entry, kind, msg string) {
		out = append(out, Finding{Kind: kind, Reason: e.reason("", msg, f.ShipmentNumber)})
	}
	if !f.Shipped {
		flag(s.watch, "unshipped_serial", fmt.Sprintf("serial %s was never shipped, yet checked in from %s (site %d) as reported by %s", f.Serial, f.Country, f.Site+1, f.Reporter))
		return out, nil
	}
	if f.Status != domain.ShipDelivered {
		flag(s.watch, "undelivered_serial", fmt.Sprintf("serial %s of shipment %s checked in from %s while the shipment is %s in %s", f.Serial, f.ShipmentNumber, f.Country, f.Status, f.Where))
	}
	if f.Site != f.LicensedSite || f.Country != f.Destination {
		flag(s.watch, "site_mismatch", fmt.Sprintf("serial %s is licensed to %s site %d in %s; it checked in from site %d in %s", f.Serial, f.Buyer, f.LicensedSite+1, f.Destination, f.Site+1, f.Country))
	}
	if geo := s.geolocation; geo != nil && len(f.RTTs) > 0 && f.SiteLat != nil && f.SiteLon != nil {
		kmPerMS := geo.doc.Geolocation.FiberKMPerMSOneWay
		names := make([]string, 0, len(f.RTTs))
		for name := range f.RTTs {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			l, ok := r.Landmark(name)
			if !ok {
				return nil, fmt.Errorf("policy: no landmark %q", name)
			}
			ms := f.RTTs[name]
			d, max := DistanceKM(*f.SiteLat, *f.SiteLon, l.Lat, l.Lon), MaxDistanceKM(ms, kmPerMS)
			if d > max {
				flag(geo, "impossible_location", fmt.Sprintf("an RTT of %.1f ms to %s puts the device within %.0f km of it (fiber, %g km/ms one way); the claimed site %q is %.0f km away",
					ms, name, math.Round(max), kmPerMS, f.SiteAddress, math.Round(d)))
			}
		}
	}
	if p := f.Previous; p != nil && (p.Site != f.Site || p.Country != f.Country) {
		flag(s.watch, "two_places", fmt.Sprintf("serial %s checked in from site %d in %s on %s and from site %d in %s on %s",
			f.Serial, p.Site+1, p.Country, p.At.Format(time.RFC3339), f.Site+1, f.Country, f.At.Format(time.RFC3339)))
	}
	return out, nil
}

// SilenceFacts are a delivered serial's last sign of life.
type SilenceFacts struct {
	At             time.Time // now
	Serial         string
	ShipmentNumber string
	Last           time.Time // its delivery or its last check-in
	LastWhat       string    // "delivery" or "last check-in"
}

// AssessSilence decides whether a delivered serial has been silent longer
// than the watch allows; the finding names the rule and the days.
func (r Rules) AssessSilence(f SilenceFacts) (Finding, bool) {
	e := r.rs().watch
	if e == nil {
		return Finding{}, false
	}
	days := e.doc.Watch.SilenceDays
	if f.At.Sub(f.Last) <= time.Duration(days)*24*time.Hour {
		return Finding{}, false
	}
	msg := fmt.Sprintf("serial %s of shipment %s has been silent since its %s on %s (%d days; the watch allows %d)",
		f.Serial, f.ShipmentNumber, f.LastWhat, f.Last.Format(time.DateOnly), int(f.At.Sub(f.Last).Hours()/24), days)
	return Finding{Kind: "silent_serial", Reason: e.reason("", msg, f.ShipmentNumber)}, true
}
