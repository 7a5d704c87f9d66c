package policy_test

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/policies"
)

func TestDistance(t *testing.T) {
	// Beijing–Shanghai is about 1,067 km.
	if d := policy.DistanceKM(39.9042, 116.4074, 31.2304, 121.4737); math.Abs(d-1067) > 10 {
		t.Fatalf("Beijing–Shanghai = %.0f km", d)
	}
	if d := policy.MaxDistanceKM(3, 200); d != 300 {
		t.Fatalf("3 ms round trip at 200 km/ms one way = %.0f km, want 300", d)
	}
}

// TestAssessCheckIn: the check-in assessment as a pure decision, each
// finding with the rule and source it rests on; a plausible check-in has
// none.
func TestAssessCheckIn(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	r := mustDefault(t).At(at)
	beijingLat, beijingLon := 39.9042, 116.4074
	delivered := policy.CheckInFacts{At: at, Serial: "SN-1", Reporter: "bytedance", Country: "CN", Site: 0, Shipped: true, ShipmentNumber: "SH-1",
		Buyer: "bytedance", Status: domain.ShipDelivered, Where: "CN", Destination: "CN", LicensedSite: 0,
		SiteLat: &beijingLat, SiteLon: &beijingLon, SiteAddress: "Beijing DC"}
	with := func(change func(*policy.CheckInFacts)) policy.CheckInFacts {
		f := delivered
		change(&f)
		return f
	}
	for _, c := range []struct {
		name  string
		f     policy.CheckInFacts
		kinds []string
		rule  string
		want  string
	}{
		{"Plausible", with(func(f *policy.CheckInFacts) { f.RTTs = map[string]float64{"beijing": 5, "singapore": 80} }), nil, "", ""},
		{"Unshipped", with(func(f *policy.CheckInFacts) { f.Shipped = false }), []string{"unshipped_serial"}, "telemetry.watch", "never shipped"},
		{"Undelivered", with(func(f *policy.CheckInFacts) { f.Status, f.Where = domain.ShipInTransit, "US" }), []string{"undelivered_serial"}, "telemetry.watch", "in_transit in US"},
		{"SiteMismatch", with(func(f *policy.CheckInFacts) { f.Country = "SG" }), []string{"site_mismatch"}, "telemetry.watch", "site 1 in SG"},
		// 3 ms to Singapore allows 300 km: a Beijing site is 4,500 km away.
		{"ImpossibleLocation", with(func(f *policy.CheckInFacts) { f.RTTs = map[string]float64{"singapore": 3, "beijing": 80} }), []string{"impossible_location"}, "telemetry.geolocation", "within 300 km"},
		{"TwoPlaces", with(func(f *policy.CheckInFacts) {
			f.Previous = &policy.PreviousCheckIn{At: at.Add(-time.Hour), Site: 0, Country: "MY"}
		}), []string{"two_places"}, "telemetry.watch", "in MY"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := r.AssessCheckIn(c.f)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, fd := range got {
				kinds = append(kinds, fd.Kind)
			}
			if !slices.Equal(kinds, c.kinds) {
				t.Fatalf("findings %v, want %v", kinds, c.kinds)
			}
			if len(got) > 0 {
				reason := got[0].Reason
				if reason.Rule != c.rule || reason.Source == "" || !strings.Contains(reason.Message, c.want) {
					t.Fatalf("reason %+v, want rule %s and %q", reason, c.rule, c.want)
				}
			}
		})
	}
	if _, err := r.AssessCheckIn(with(func(f *policy.CheckInFacts) { f.RTTs = map[string]float64{"atlantis": 3} })); err == nil {
		t.Fatal("an unknown landmark was assessed")
	}
}

// TestAssessSilence: a delivered serial may be silent for the policy's
// silence_days, not a day longer; the period is the policy file's.
func TestAssessSilence(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	f := policy.SilenceFacts{At: at, Serial: "SN-1", ShipmentNumber: "SH-1", Last: at.Add(-30 * 24 * time.Hour), LastWhat: "delivery"}
	r := mustDefault(t).At(at)
	if _, silent := r.AssessSilence(f); silent {
		t.Fatal("30 days of silence flagged; the watch allows 30")
	}
	f.Last = f.Last.Add(-time.Minute)
	fd, silent := r.AssessSilence(f)
	if !silent || fd.Kind != "silent_serial" || fd.Reason.Rule != "telemetry.watch" || fd.Reason.Source != "S11" || !strings.Contains(fd.Reason.Message, "allows 30") {
		t.Fatalf("30 days and a minute: %v %+v", silent, fd)
	}
	short := mustLoad(t, "silence_days: 30", "silence_days: 7").At(at)
	f.Last = at.Add(-8 * 24 * time.Hour)
	if _, silent := short.AssessSilence(f); !silent {
		t.Fatal("a policy of 7 days did not flag 8 days of silence")
	}
	for _, bad := range []string{"silence_days: 0", "silence_days: 9999"} {
		if _, err := policy.Load("variant.yaml", []byte(strings.Replace(string(policies.Default), "silence_days: 30", bad, 1))); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// BenchmarkAssessCheckIn: one plausible check-in with round-trip times to
// four landmarks, assessed against the default policy.
func BenchmarkAssessCheckIn(b *testing.B) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	r := mustDefault(b).At(at)
	lat, lon := 39.9042, 116.4074
	f := policy.CheckInFacts{At: at, Serial: "SN-1", Reporter: "bytedance", Country: "CN", Shipped: true, ShipmentNumber: "SH-1",
		Buyer: "bytedance", Status: domain.ShipDelivered, Where: "CN", Destination: "CN", SiteLat: &lat, SiteLon: &lon,
		RTTs:     map[string]float64{"beijing": 4, "shanghai": 25, "hong-kong": 45, "singapore": 80},
		Previous: &policy.PreviousCheckIn{At: at.Add(-time.Hour), Country: "CN"}}
	b.ReportAllocs()
	for b.Loop() {
		if fs, err := r.AssessCheckIn(f); err != nil || len(fs) != 0 {
			b.Fatal(fs, err)
		}
	}
}
