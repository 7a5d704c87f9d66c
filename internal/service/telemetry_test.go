package service_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
	"github.com/chipgate/chipgate/internal/store"
)

// delivered ships n units to a US customer and delivers them.
func (e *env) delivered(t testing.TB, buyer string, n int64) domain.Shipment {
	t.Helper()
	return e.move(t, e.shipment(t, buyer, n), "picked_up", "TW", "arrived", "US", "customs_cleared", "US", "delivered", "US")
}

// kinds lists the kinds of alerts.
func kinds(alerts []domain.Alert) []string {
	var out []string
	for _, a := range alerts {
		out = append(out, a.Kind)
	}
	return out
}

func TestCheckIn(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		shippingEnv(t, e, 0)
		// us-cloud-b's one site is in Ashburn, Virginia, where a device's
		// round-trip times can be checked.
		in := applicationFor("us-cloud-b")
		lat, lon := 39.04, -77.49
		in.Sites[0].Lat, in.Sites[0].Lon = &lat, &lon
		_, err := e.svc.SubmitApplication(e.ctx, e.as("us-cloud-b"), in)
		must(t, err)
		buyer := e.as("us-cloud-a")
		sh := e.delivered(t, "us-cloud-a", 6)
		checkIn := func(who domain.Actor, serial string, site int, country string) (domain.CheckIn, []domain.Alert, error) {
			e.clock.Add(time.Minute)
			return e.svc.CheckIn(e.ctx, who, service.CheckInRequest{Serial: serial, Site: site, Country: country})
		}
		t.Run("OK", func(t *testing.T) {
			for i, who := range []domain.Actor{buyer, e.as("nvidia")} {
				before := e.auditSize(t)
				c, alerts, err := checkIn(who, sh.Serials[i], 0, "US")
				must(t, err)
				if len(alerts) != 0 || c.Serial != sh.Serials[i] || c.By != who.PartySlug {
					t.Fatalf("check-in %+v raised %v", c, kinds(alerts))
				}
				rec := e.recorded(t, before, who, "checkin.received")[0]
				if rec.SubjectType != "serial" || rec.SubjectID != sh.Serials[i] || payload[domain.CheckIn](t, rec).ID != c.ID {
					t.Fatalf("record %+v", rec)
				}
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, []domain.Role{domain.RoleBuyer, domain.RoleVendor}, func(who domain.Actor) error {
				_, _, err := e.svc.CheckIn(e.ctx, who, service.CheckInRequest{Serial: sh.Serials[0], Country: "US"})
				return err
			})
		})
		// alerted checks in and wants the alerts of kinds, each recorded
		// in the check-in's transaction and listed for the export authority.
		alerted := func(t *testing.T, serial string, site int, country string, want ...string) []domain.Alert {
			t.Helper()
			before := e.auditSize(t)
			_, alerts, err := checkIn(buyer, serial, site, country)
			must(t, err)
			if got := kinds(alerts); !slices.Equal(got, want) {
				t.Fatalf("alerts %v, want %v", got, want)
			}
			recs := e.recorded(t, before, buyer, append([]string{"checkin.received"}, slices.Repeat([]string{"alert.raised"}, len(want))...)...)
			listed, err := e.svc.Alerts(e.ctx, e.as("us-commerce"), []string{"open"})
			must(t, err)
			for i, a := range alerts {
				if recs[i+1].SubjectID != a.ID.String() || a.State != domain.AlertOpen || len(a.Evidence) == 0 {
					t.Fatalf("alert %+v, record %s", a, recs[i+1].SubjectID)
				}
				if !slices.ContainsFunc(listed, func(l domain.Alert) bool { return l.ID == a.ID }) {
					t.Fatalf("alert %s is not listed for the export authority", a.Kind)
				}
			}
			return alerts
		}
		t.Run("UnshippedSerial", func(t *testing.T) {
			// A buyer speaks for its own devices only: a serial never
			// shipped is not found, and nothing is written.
			before := e.auditSize(t)
			_, alerts, err := checkIn(buyer, "NEVER-SHIPPED-1", 0, "CN")
			wantCode(t, err, domain.ENOTFOUND)
			if len(alerts) != 0 {
				t.Fatalf("alerts %v", kinds(alerts))
			}
			e.unchanged(t, before)
			// The vendor's telemetry reports it: that is a signal.
			c, alerts, err := checkIn(e.as("nvidia"), "NEVER-SHIPPED-1", 0, "CN")
			must(t, err)
			if got := kinds(alerts); !slices.Equal(got, []string{"unshipped_serial"}) {
				t.Fatalf("alerts %v", got)
			}
			if a := alerts[0]; a.ShipmentID != nil || !strings.Contains(a.Evidence[0], "nvidia") || a.ReportedBy != "nvidia" || a.ReporterRole != domain.RoleVendor ||
				a.CheckInID == nil || *a.CheckInID != c.ID {
				t.Fatalf("alert %+v", a)
			}
		})
		t.Run("UndeliveredSerial", func(t *testing.T) {
			moving := e.shipment(t, "us-cloud-a", 1)
			a := alerted(t, moving.Serials[0], 0, "US", "undelivered_serial")
			if a[0].ShipmentID == nil || *a[0].ShipmentID != moving.ID || a[0].Buyer != "us-cloud-a" {
				t.Fatalf("alert %+v", a[0])
			}
		})
		t.Run("SiteMismatch", func(t *testing.T) {
			a := alerted(t, sh.Serials[2], 1, "US", "site_mismatch")
			if a[0].ReportedBy != "us-cloud-a" || a[0].ReporterRole != domain.RoleBuyer || a[0].CheckInID == nil {
				t.Fatalf("alert %+v does not say who reported it", a[0])
			}
		})
		t.Run("TwoPlaces", func(t *testing.T) {
			alerted(t, sh.Serials[3], 0, "US")
			alerted(t, sh.Serials[3], 0, "SG", "site_mismatch", "two_places")
		})
		t.Run("ImpossibleLocation", func(t *testing.T) {
			ashburn := e.delivered(t, "us-cloud-b", 1)
			who := e.as("us-cloud-b")
			// 5 ms to Singapore puts the device within 500 km of it.
			_, alerts, err := e.svc.CheckIn(e.ctx, who, service.CheckInRequest{Serial: ashburn.Serials[0], Country: "US", RTTs: map[string]float64{"singapore": 5, "ashburn-va": 2}})
			must(t, err)
			if got := kinds(alerts); !slices.Equal(got, []string{"impossible_location"}) || !strings.Contains(alerts[0].Evidence[0], "singapore") {
				t.Fatalf("alerts %v: %+v", got, alerts)
			}
			// Round-trip times that fit the site raise nothing.
			_, alerts, err = e.svc.CheckIn(e.ctx, who, service.CheckInRequest{Serial: ashburn.Serials[0], Country: "US", RTTs: map[string]float64{"ashburn-va": 2, "singapore": 250}})
			if err != nil || len(alerts) != 0 {
				t.Fatalf("alerts %v, %v", kinds(alerts), err)
			}
		})
		many := map[string]float64{}
		for i := range 51 {
			many[fmt.Sprintf("landmark-%d", i)] = 10
		}
		for _, c := range []struct {
			name string
			in   service.CheckInRequest
			path string
		}{
			{"ErrSerialInvalid", service.CheckInRequest{Serial: "SN 1", Country: "US"}, "serial"},
			{"ErrCountryInvalid", service.CheckInRequest{Serial: "SN-1", Country: "USA"}, "country"},
			{"ErrSiteNegative", service.CheckInRequest{Serial: "SN-1", Country: "US", Site: -1}, "site"},
			{"ErrRTTsTooMany", service.CheckInRequest{Serial: "SN-1", Country: "US", RTTs: many}, "rtt_ms"},
			{"ErrLandmarkUnknown", service.CheckInRequest{Serial: "SN-1", Country: "US", RTTs: map[string]float64{"atlantis": 10}}, "rtt_ms.atlantis"},
			{"ErrRTTInvalid", service.CheckInRequest{Serial: "SN-1", Country: "US", RTTs: map[string]float64{"tokyo": 0}}, "rtt_ms.tokyo"},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := e.auditSize(t)
				_, _, err := e.svc.CheckIn(e.ctx, buyer, c.in)
				wantInvalid(t, err, c.path)
				e.unchanged(t, before)
			})
		}
	})
}

func TestSweepSilence(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		shippingEnv(t, e, 0)
		bis := e.as("us-commerce")
		sh := e.delivered(t, "us-cloud-a", 3)
		_, _, err := e.svc.CheckIn(e.ctx, e.as("us-cloud-a"), service.CheckInRequest{Serial: sh.Serials[0], Country: "US"})
		must(t, err)
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, []domain.Role{domain.RoleExportAuthority}, func(who domain.Actor) error {
				_, err := e.svc.SweepSilence(e.ctx, who)
				return err
			})
		})
		t.Run("NothingSilentYet", func(t *testing.T) {
			before := e.auditSize(t)
			raised, err := e.svc.SweepSilence(e.ctx, bis)
			if err != nil || len(raised) != 0 {
				t.Fatalf("raised %v, %v", kinds(raised), err)
			}
			e.unchanged(t, before)
		})
		t.Run("OK", func(t *testing.T) {
			e.clock.Add(31 * 24 * time.Hour)
			// The serial that checked in a day later stays within the
			// watch's 30 days a while longer.
			_, _, err := e.svc.CheckIn(e.ctx, e.as("us-cloud-a"), service.CheckInRequest{Serial: sh.Serials[0], Country: "US"})
			must(t, err)
			before := e.auditSize(t)
			raised, err := e.svc.SweepSilence(e.ctx, bis)
			must(t, err)
			var silent []string
			for _, a := range raised {
				silent = append(silent, a.Serial)
				if a.Kind != "silent_serial" || a.ShipmentID == nil || *a.ShipmentID != sh.ID {
					t.Fatalf("alert %+v", a)
				}
			}
			if !slices.Equal(silent, sh.Serials[1:]) {
				t.Fatalf("silent serials %v, want %v", silent, sh.Serials[1:])
			}
			e.recorded(t, before, bis, "alert.raised", "alert.raised")
			// Once per serial while its alert is open.
			if again, err := e.svc.SweepSilence(e.ctx, bis); err != nil || len(again) != 0 {
				t.Fatalf("a second sweep raised %d, %v", len(again), err)
			}
			// The operator sweeps too; an explained alert lets the next
			// silence raise a new one.
			_, err = e.svc.ChangeAlert(e.ctx, bis, raised[0].ID, domain.AlertExplained, "site was offline for maintenance")
			must(t, err)
			again, err := e.svc.SweepSilence(e.ctx, domain.SystemActor)
			if err != nil || len(again) != 1 || again[0].Serial != raised[0].Serial {
				t.Fatalf("after an explained alert: %v, %v", kinds(again), err)
			}
		})
	})
}

func TestAlerts(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		for _, sn := range []string{"GHOST-1", "GHOST-2"} {
			_, _, err := e.svc.CheckIn(e.ctx, e.as("nvidia"), service.CheckInRequest{Serial: sn, Country: "CN"})
			must(t, err)
		}
		bis := e.as("us-commerce")
		all, err := e.svc.Alerts(e.ctx, bis, nil)
		must(t, err)
		if len(all) != 2 {
			t.Fatalf("%d alerts", len(all))
		}
		t.Run("OK", func(t *testing.T) {
			_, err := e.svc.ChangeAlert(e.ctx, bis, all[0].ID, domain.AlertEscalated, "to enforcement")
			must(t, err)
			for state, want := range map[string]int{"open": 1, "escalated": 1, "explained": 0} {
				if as, err := e.svc.Alerts(e.ctx, bis, []string{state}); err != nil || len(as) != want {
					t.Fatalf("%s alerts: %d, %v; want %d", state, len(as), err, want)
				}
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, []domain.Role{domain.RoleExportAuthority}, func(who domain.Actor) error {
				_, err := e.svc.Alerts(e.ctx, who, nil)
				return err
			})
		})
	})
}

func TestChangeAlert(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		bis := e.as("us-commerce")
		raise := func(t *testing.T) domain.Alert {
			t.Helper()
			_, alerts, err := e.svc.CheckIn(e.ctx, e.as("nvidia"), service.CheckInRequest{Serial: "GHOST-" + uuid.NewString()[:8], Country: "CN"})
			must(t, err)
			return alerts[0]
		}
		t.Run("OK", func(t *testing.T) {
			a := raise(t)
			for _, step := range []domain.AlertState{domain.AlertEscalated, domain.AlertExplained} {
				before := e.auditSize(t)
				got, err := e.svc.ChangeAlert(e.ctx, bis, a.ID, step, " looked into it ")
				must(t, err)
				n := got.Notes[len(got.Notes)-1]
				if got.State != step || n.Text != "looked into it" || n.By != "us-commerce" || n.Kind != string(step) {
					t.Fatalf("%s: %+v", step, got)
				}
				if s := stored[domain.Alert](t, e, store.KindAlert, a.ID); s.State != step {
					t.Fatalf("%s was not stored", step)
				}
				rec := e.recorded(t, before, bis, "alert."+string(step))[0]
				if rec.SubjectID != a.ID.String() || payload[domain.Alert](t, rec).State != step {
					t.Fatalf("record %s", rec.Payload)
				}
			}
		})
		a := raise(t)
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, []domain.Role{domain.RoleExportAuthority}, func(who domain.Actor) error {
				_, err := e.svc.ChangeAlert(e.ctx, who, a.ID, domain.AlertExplained, "x")
				return err
			})
		})
		for _, c := range []struct {
			name  string
			state domain.AlertState
			note  string
			path  string
		}{
			{"ErrStateInvalid", domain.AlertOpen, "x", "state"},
			{"ErrNoteRequired", domain.AlertExplained, " ", "note"},
			{"ErrNoteTooLong", domain.AlertExplained, strings.Repeat("n", 4001), "note"},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := e.svc.ChangeAlert(e.ctx, bis, a.ID, c.state, c.note)
				wantInvalid(t, err, c.path)
			})
		}
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := e.svc.ChangeAlert(e.ctx, bis, uuid.New(), domain.AlertExplained, "x")
			wantCode(t, err, domain.ENOTFOUND)
		})
		t.Run("ErrConflict", func(t *testing.T) {
			explained := raise(t)
			_, err := e.svc.ChangeAlert(e.ctx, bis, explained.ID, domain.AlertExplained, "benign")
			must(t, err)
			for _, state := range []domain.AlertState{domain.AlertExplained, domain.AlertEscalated} {
				before := e.auditSize(t)
				_, err := e.svc.ChangeAlert(e.ctx, bis, explained.ID, state, "again")
				wantCode(t, err, domain.ECONFLICT)
				e.unchanged(t, before)
			}
		})
	})
}
