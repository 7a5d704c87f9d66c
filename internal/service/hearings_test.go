package service_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// hearingRequest is a hearing on H200 demand in the second quarter.
var hearingRequest = service.HearingRequest{Title: "Q2 H200 demand", Product: "h200", PeriodStart: "2026-04-01", PeriodEnd: "2026-07-01"}

// hearing opens a hearing as China's regulators.
func (e *env) hearing(t testing.TB) domain.Hearing {
	t.Helper()
	h, err := e.svc.OpenHearing(e.ctx, e.as("cn-mofcom"), hearingRequest)
	must(t, err)
	return h
}

// filing is a forecast of units for commercial AI.
func filing(units int64) service.FilingRequest {
	return service.FilingRequest{Units: units, Uses: []string{"commercial_ai"}}
}

func TestOpenHearing(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		mofcom := e.as("cn-mofcom")
		t.Run("OK", func(t *testing.T) {
			before := e.auditSize(t)
			h, err := e.svc.OpenHearing(e.ctx, mofcom, hearingRequest)
			must(t, err)
			if h.Status != "open" || h.AuthorityID != mofcom.PartyID || h.Product != "h200" || h.PeriodEnd.Sub(h.PeriodStart).Hours() != 91*24 {
				t.Fatalf("hearing %+v", h)
			}
			if got, err := e.svc.Hearing(e.ctx, mofcom, h.ID); err != nil || got.Status != "open" {
				t.Fatalf("read back: %+v, %v", got, err)
			}
			rec := e.recorded(t, before, mofcom, "hearing.opened")[0]
			if rec.SubjectID != h.ID.String() || payload[domain.Hearing](t, rec).Title != "Q2 H200 demand" {
				t.Fatalf("record %s", rec.Payload)
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, []domain.Role{domain.RoleImportAuthority}, func(who domain.Actor) error {
				_, err := e.svc.OpenHearing(e.ctx, who, hearingRequest)
				return err
			})
		})
		for _, c := range []struct {
			name string
			edit func(*service.HearingRequest)
			path string
		}{
			{"ErrTitleRequired", func(r *service.HearingRequest) { r.Title = " " }, "title"},
			{"ErrTitleTooLong", func(r *service.HearingRequest) { r.Title = strings.Repeat("t", 301) }, "title"},
			{"ErrPeriodStartInvalid", func(r *service.HearingRequest) { r.PeriodStart = "Q2" }, "period_start"},
			{"ErrPeriodEndInvalid", func(r *service.HearingRequest) { r.PeriodEnd = "" }, "period_end"},
			{"ErrPeriodEndNotAfter", func(r *service.HearingRequest) { r.PeriodEnd = r.PeriodStart }, "period_end"},
			{"ErrProductUnknown", func(r *service.HearingRequest) { r.Product = "h999" }, "product"},
		} {
			t.Run(c.name, func(t *testing.T) {
				in := hearingRequest
				c.edit(&in)
				before := e.auditSize(t)
				_, err := e.svc.OpenHearing(e.ctx, mofcom, in)
				wantInvalid(t, err, c.path)
				e.unchanged(t, before)
			})
		}
	})
}

func TestFileDemand(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		who := e.as("bytedance")
		h := e.hearing(t)
		t.Run("OK", func(t *testing.T) {
			before := e.auditSize(t)
			f, err := e.svc.FileDemand(e.ctx, who, h.ID, service.FilingRequest{Units: 5000, Uses: []string{" commercial_ai ", "research", ""}, Justification: " growth "})
			must(t, err)
			if f.Buyer != "bytedance" || f.BuyerID != who.PartyID || f.Units != 5000 || !slices.Equal(f.Uses, []string{"commercial_ai", "research"}) || f.Justification != "growth" {
				t.Fatalf("filing %+v", f)
			}
			rec := e.recorded(t, before, who, "hearing.filed")[0]
			if rec.SubjectID != h.ID.String() || payload[domain.Filing](t, rec).Units != 5000 {
				t.Fatalf("record %s", rec.Payload)
			}
			// A second filing replaces the first.
			_, err = e.svc.FileDemand(e.ctx, who, h.ID, filing(7000))
			must(t, err)
			got, err := e.svc.Hearing(e.ctx, e.as("cn-mofcom"), h.ID)
			if err != nil || len(got.Filings) != 1 || got.Filings[0].Units != 7000 {
				t.Fatalf("filings after a second filing: %+v, %v", got.Filings, err)
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, []domain.Role{domain.RoleBuyer}, func(who domain.Actor) error {
				_, err := e.svc.FileDemand(e.ctx, who, h.ID, filing(1))
				return err
			})
		})
		for _, c := range []struct {
			name string
			in   service.FilingRequest
			path string
		}{
			{"ErrForecastUnitsNegative", filing(-1), "forecast_units"},
			{"ErrForecastUnitsHuge", filing(100_000_001), "forecast_units"},
			{"ErrUsesRequired", service.FilingRequest{Units: 1, Uses: []string{" "}}, "uses"},
			{"ErrUsesTooMany", service.FilingRequest{Units: 1, Uses: strings.Fields(strings.Repeat("use ", 21))}, "uses"},
			{"ErrJustificationTooLong", service.FilingRequest{Units: 1, Uses: []string{"research"}, Justification: strings.Repeat("j", 8001)}, "justification"},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := e.auditSize(t)
				_, err := e.svc.FileDemand(e.ctx, who, h.ID, c.in)
				wantInvalid(t, err, c.path)
				e.unchanged(t, before)
			})
		}
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := e.svc.FileDemand(e.ctx, who, uuid.New(), filing(1))
			wantCode(t, err, domain.ENOTFOUND)
		})
		t.Run("ErrClosed", func(t *testing.T) {
			closed := e.hearing(t)
			_, err := e.svc.CloseHearing(e.ctx, e.as("cn-mofcom"), closed.ID)
			must(t, err)
			before := e.auditSize(t)
			_, err = e.svc.FileDemand(e.ctx, who, closed.ID, filing(1))
			wantCode(t, err, domain.ECONFLICT)
			e.unchanged(t, before)
		})
	})
}

func TestCloseHearing(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		mofcom := e.as("cn-mofcom")
		h := e.hearing(t)
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, []domain.Role{domain.RoleImportAuthority}, func(who domain.Actor) error {
				_, err := e.svc.CloseHearing(e.ctx, who, h.ID)
				return err
			})
		})
		t.Run("OK", func(t *testing.T) {
			before := e.auditSize(t)
			got, err := e.svc.CloseHearing(e.ctx, mofcom, h.ID)
			if err != nil || got.Status != "closed" {
				t.Fatalf("closed: %s, %v", got.Status, err)
			}
			if v, err := e.svc.Hearing(e.ctx, mofcom, h.ID); err != nil || v.Status != "closed" {
				t.Fatalf("read back: %s, %v", v.Status, err)
			}
			e.recorded(t, before, mofcom, "hearing.closed")
		})
		t.Run("ErrConflict", func(t *testing.T) {
			before := e.auditSize(t)
			_, err := e.svc.CloseHearing(e.ctx, mofcom, h.ID)
			wantCode(t, err, domain.ECONFLICT)
			e.unchanged(t, before)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := e.svc.CloseHearing(e.ctx, mofcom, uuid.New())
			wantCode(t, err, domain.ENOTFOUND)
		})
	})
}

func TestHearings(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		h := e.hearing(t)
		for buyer, units := range map[string]int64{"bytedance": 5000, "alibaba": 3000} {
			_, err := e.svc.FileDemand(e.ctx, e.as(buyer), h.ID, filing(units))
			must(t, err)
		}
		readers := []domain.Role{domain.RoleImportAuthority, domain.RoleBuyer}
		t.Run("OK", func(t *testing.T) {
			// The authority sees every filing and the totals.
			hs, err := e.svc.Hearings(e.ctx, e.as("cn-mofcom"))
			must(t, err)
			one, err := e.svc.Hearing(e.ctx, e.as("cn-mofcom"), h.ID)
			must(t, err)
			for _, v := range []service.HearingView{hs[0], one} {
				if len(v.Filings) != 2 || v.TotalUnits != 8000 || v.ByUse["commercial_ai"] != 8000 {
					t.Fatalf("the authority's view: %d filings, total %d, %v", len(v.Filings), v.TotalUnits, v.ByUse)
				}
			}
		})
		t.Run("BuyerOwnFilingOnly", func(t *testing.T) {
			hs, err := e.svc.Hearings(e.ctx, e.as("alibaba"))
			must(t, err)
			one, err := e.svc.Hearing(e.ctx, e.as("alibaba"), h.ID)
			must(t, err)
			for _, v := range []service.HearingView{hs[0], one} {
				if len(v.Filings) != 1 || v.Filings[0].Buyer != "alibaba" || v.TotalUnits != 0 || v.ByUse != nil {
					t.Fatalf("alibaba's view: %+v", v)
				}
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := e.svc.Hearing(e.ctx, e.as("cn-mofcom"), uuid.New())
			wantCode(t, err, domain.ENOTFOUND)
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, readers, func(who domain.Actor) error {
				_, err := e.svc.Hearings(e.ctx, who)
				return err
			})
			e.refused(t, readers, func(who domain.Actor) error {
				_, err := e.svc.Hearing(e.ctx, who, h.ID)
				return err
			})
		})
	})
}
