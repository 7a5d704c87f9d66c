package demo

import (
	"fmt"
	"testing"

	"github.com/chipgate/chipgate/internal/domain"
)

func TestJourney(t *testing.T) {
	license := domain.ID{1}
	viaLab := domain.Shipment{Route: []string{"TW", "US", "CN"}, LabRequired: "shipment.lab-test", LabCountry: "US", LicenseID: &license}
	direct := domain.Shipment{Route: []string{"TW", "US"}}
	domestic := domain.Shipment{Route: []string{"US"}}
	for _, c := range []struct {
		name  string
		sh    domain.Shipment
		until stage
		want  string
	}{
		{"ViaLabDelivered", viaLab, delivered, "[{picked_up TW} {arrived US} {customs_cleared US} {lab_test US} {export_cleared US} {picked_up US} {arrived CN} {customs_cleared CN} {delivered CN}]"},
		{"ViaLabExported", viaLab, exported, "[{picked_up TW} {arrived US} {customs_cleared US} {lab_test US} {export_cleared US} {picked_up US}]"},
		{"ViaLabAtLab", viaLab, atLab, "[{picked_up TW} {arrived US} {customs_cleared US}]"},
		{"DirectDelivered", direct, delivered, "[{picked_up TW} {arrived US} {customs_cleared US} {delivered US}]"},
		// Without a lab test, "at the lab" stops short of delivery.
		{"DirectNoLab", direct, atLab, "[{picked_up TW} {arrived US} {customs_cleared US}]"},
		{"Domestic", domestic, delivered, "[{customs_cleared US} {delivered US}]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := fmt.Sprint(upTo(journey(c.sh), c.until)); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}
