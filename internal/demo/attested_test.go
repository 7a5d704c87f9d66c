package demo_test

import (
	"context"
	"testing"

	"github.com/chipgate/chipgate/internal/chipgatetest"
	"github.com/chipgate/chipgate/internal/demo"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store/storetest"
	"github.com/chipgate/chipgate/policies"
)

// TestDemoAttestedCheckIns: under the demo's policy (the demo landmarks'
// keys added), the story's lab records a key per device, bytedance's
// delivered devices check in with signed evidence through loopback
// landmarks, and the one moved to Singapore raises too_far_from_site from
// that evidence, citing the geolocation rule; the evidence is kept.
func TestDemoAttestedCheckIns(t *testing.T) {
	src, err := demo.PolicyFile(policies.Default)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Load("demo.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := storetest.OpenSQLite(t)
	svc := service.New(st, service.Options{Log: chipgatetest.QuietLog(), Policy: pol, Screening: chipgatetest.ScreeningIndex(t)})
	ctx := context.Background()
	if _, err := demo.Load(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if err := demo.LoadStory(ctx, svc); err != nil {
		t.Fatal(err)
	}
	alerts, err := svc.Alerts(ctx, domain.SystemActor, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range alerts {
		if a.Kind != "too_far_from_site" {
			continue
		}
		for _, r := range a.Reasons {
			found = found || (r.Rule == "telemetry.geolocation" && a.Buyer == "bytedance" && a.CheckInID != nil)
		}
	}
	if !found {
		t.Fatalf("no too_far_from_site alert from signed evidence among %d alerts", len(alerts))
	}
}
