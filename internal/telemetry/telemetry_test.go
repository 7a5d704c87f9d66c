package telemetry_test

import (
	"math"
	"testing"

	"github.com/chipgate/chipgate/internal/telemetry"
)

func TestDistance(t *testing.T) {
	// Beijing–Shanghai is about 1,067 km.
	if d := telemetry.DistanceKM(39.9042, 116.4074, 31.2304, 121.4737); math.Abs(d-1067) > 10 {
		t.Fatalf("Beijing–Shanghai = %.0f km", d)
	}
}

func TestCheckSite(t *testing.T) {
	w, err := telemetry.Load()
	if err != nil {
		t.Fatal(err)
	}
	beijing := [2]float64{39.9042, 116.4074}
	// 5 ms to Beijing allows 500 km: fine for a Beijing site.
	if bad, err := telemetry.CheckSite(beijing[0], beijing[1], map[string]float64{"beijing": 5}, w, 200); err != nil || len(bad) != 0 {
		t.Fatalf("Beijing site, 5 ms to Beijing: %v %v", bad, err)
	}
	// 3 ms to Singapore allows 300 km: a Beijing site is 4,500 km away.
	bad, err := telemetry.CheckSite(beijing[0], beijing[1], map[string]float64{"singapore": 3, "beijing": 80}, w, 200)
	if err != nil || len(bad) != 1 || bad[0].Landmark != "singapore" || bad[0].MaxKM != 300 {
		t.Fatalf("Beijing site, 3 ms to Singapore: %v %v", bad, err)
	}
	if _, err := telemetry.CheckSite(0, 0, map[string]float64{"atlantis": 3}, w, 200); err == nil {
		t.Fatal("unknown landmark accepted")
	}
	if _, err := telemetry.CheckSite(0, 0, map[string]float64{"beijing": -1}, w, 200); err == nil {
		t.Fatal("negative RTT accepted")
	}
}
