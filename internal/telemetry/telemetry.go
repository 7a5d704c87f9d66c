// Package telemetry is the pure part of the diversion watch: where the
// landmarks are, how far light in fiber travels, and whether a set of
// round-trip times is possible from a claimed site. An RTT caps the
// distance to a landmark (delay can be added, never removed), so a site
// farther than that from any landmark cannot be where the device is.
package telemetry

import (
	_ "embed"
	"fmt"
	"math"

	"go.yaml.in/yaml/v3"
)

//go:embed watch.yaml
var watchYAML []byte

// Landmark is a server with known coordinates.
type Landmark struct {
	Name string  `yaml:"name" json:"name"`
	Lat  float64 `yaml:"lat" json:"lat"`
	Lon  float64 `yaml:"lon" json:"lon"`
}

// Watch is the watch's reference data.
type Watch struct {
	SilenceDays int        `yaml:"silence_days"`
	Landmarks   []Landmark `yaml:"landmarks"`
}

// Load returns the embedded reference data.
func Load() (Watch, error) {
	var w Watch
	if err := yaml.Unmarshal(watchYAML, &w); err != nil {
		return w, fmt.Errorf("telemetry: watch.yaml: %w", err)
	}
	if w.SilenceDays <= 0 || len(w.Landmarks) == 0 {
		return w, fmt.Errorf("telemetry: watch.yaml needs silence_days and landmarks")
	}
	return w, nil
}

// Landmark returns the named landmark.
func (w Watch) Landmark(name string) (Landmark, bool) {
	for _, l := range w.Landmarks {
		if l.Name == name {
			return l, true
		}
	}
	return Landmark{}, false
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
// round-trip time: half the RTT, at kmPerMS of fiber each way.
func MaxDistanceKM(rttMS, kmPerMS float64) float64 { return rttMS / 2 * kmPerMS }

// Impossible is one RTT that rules a claimed site out.
type Impossible struct {
	Landmark   string  `json:"landmark"`
	RTTMS      float64 `json:"rtt_ms"`
	MaxKM      float64 `json:"max_km"`
	DistanceKM float64 `json:"distance_km"`
}

// CheckSite returns the RTTs that make a device at (lat, lon) impossible.
func CheckSite(lat, lon float64, rtts map[string]float64, w Watch, kmPerMS float64) ([]Impossible, error) {
	var out []Impossible
	for name, ms := range rtts {
		l, ok := w.Landmark(name)
		if !ok {
			return nil, fmt.Errorf("no landmark %q", name)
		}
		if !(ms > 0 && ms < 10000) {
			return nil, fmt.Errorf("rtt to %s: %v ms is not a round-trip time", name, ms)
		}
		d, max := DistanceKM(lat, lon, l.Lat, l.Lon), MaxDistanceKM(ms, kmPerMS)
		if d > max {
			out = append(out, Impossible{Landmark: name, RTTMS: ms, MaxKM: math.Round(max), DistanceKM: math.Round(d)})
		}
	}
	return out, nil
}
