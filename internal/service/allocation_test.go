package service_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/chipgate/chipgate/internal/allocation"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// allocationReaders may list and read allocation runs.
var allocationReaders = []domain.Role{domain.RoleVendor, domain.RoleExportAuthority, domain.RoleImportAuthority}

// orders makes us-cloud-a and bytedance customers with one accepted order
// each, for an allocation run to plan.
func (e *env) orders(t testing.TB) (us, cn domain.Order) {
	t.Helper()
	e.customer(t, "us-cloud-a", 0)
	e.customer(t, "bytedance", 1000)
	return e.order(t, "us-cloud-a", 2000), e.order(t, "bytedance", 500)
}

// smallRun is a quick run: eight weeks, few simulated futures.
var smallRun = service.AllocationRunRequest{Start: "2026-02-02", Periods: 8, Uncertainty: &allocation.Uncertainty{Seed: 1, Runs: 20}}

func TestRunAllocation(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		nvidia := e.as("nvidia")
		us, cn := e.orders(t)
		t.Run("OK", func(t *testing.T) {
			before := e.auditSize(t)
			r, err := e.svc.RunAllocation(e.ctx, nvidia, service.AllocationRunRequest{})
			must(t, err)
			// The defaults: 52 weeks from the Monday of this week.
			p := r.Problem
			if r.By != "nvidia" || !r.At.Equal(start) || p.Start != "2026-02-02" || p.Periods != 52 || p.PeriodDays != 7 || len(r.InputsHash) != 64 {
				t.Fatalf("run by %s at %v: start %s, %d periods of %d days, hash %q", r.By, r.At, p.Start, p.Periods, p.PeriodDays, r.InputsHash)
			}
			if len(p.Orders) != 2 || p.Orders[0].ID != us.ID.String() || p.Orders[1].ID != cn.ID.String() || len(p.Lots) == 0 {
				t.Fatalf("problem: %d orders %+v, %d lots", len(p.Orders), p.Orders, len(p.Lots))
			}
			if len(r.Outlook.Orders) != 2 {
				t.Fatalf("outlook of %d orders", len(r.Outlook.Orders))
			}
			got, err := e.svc.AllocationRunByID(e.ctx, e.as("us-commerce"), r.ID)
			if err != nil || got.InputsHash != r.InputsHash || len(got.Result.Allocations) != len(r.Result.Allocations) {
				t.Fatalf("read back: %v", err)
			}
			rec := e.recorded(t, before, nvidia, "allocation.run")[0]
			if s := payload[service.RunSummary](t, rec); rec.SubjectID != r.ID.String() || s.ID != r.ID || s.InputsHash != r.InputsHash {
				t.Fatalf("record %s", rec.Payload)
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, []domain.Role{domain.RoleVendor}, func(who domain.Actor) error {
				_, err := e.svc.RunAllocation(e.ctx, who, smallRun)
				return err
			})
		})
		for _, c := range []struct {
			name string
			edit func(*service.AllocationRunRequest)
			path string
		}{
			{"ErrStartInvalid", func(r *service.AllocationRunRequest) { r.Start = "next Monday" }, "start"},
			{"ErrPeriodsNegative", func(r *service.AllocationRunRequest) { r.Periods = -1 }, "periods"},
			{"ErrPeriodsTooMany", func(r *service.AllocationRunRequest) { r.Periods = 521 }, "periods"},
			{"ErrPeriodDaysTooMany", func(r *service.AllocationRunRequest) { r.PeriodDays = 367 }, "period_days"},
			{"ErrUncertaintyRunsInvalid", func(r *service.AllocationRunRequest) {
				r.Uncertainty = &allocation.Uncertainty{Runs: -1}
			}, "uncertainty.runs"},
			{"ErrUncertaintyYieldInvalid", func(r *service.AllocationRunRequest) {
				r.Uncertainty = &allocation.Uncertainty{YieldMin: 1.5}
			}, "uncertainty.yield_min"},
			{"ErrUncertaintyRouteInvalid", func(r *service.AllocationRunRequest) {
				r.Uncertainty = &allocation.Uncertainty{RouteMin: 5, RouteMode: 3, RouteMax: 10}
			}, "uncertainty.route_mode"},
		} {
			t.Run(c.name, func(t *testing.T) {
				in := smallRun
				c.edit(&in)
				before := e.auditSize(t)
				runs, err := e.svc.AllocationRuns(e.ctx, nvidia)
				must(t, err)
				_, err = e.svc.RunAllocation(e.ctx, nvidia, in)
				wantInvalid(t, err, c.path)
				// A failed run stores nothing.
				e.unchanged(t, before)
				if after, err := e.svc.AllocationRuns(e.ctx, nvidia); err != nil || len(after) != len(runs) {
					t.Fatalf("a failed run was stored: %d runs, %v", len(after), err)
				}
			})
		}
	})
}

func TestAllocationRuns(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.orders(t)
		var ids []domain.ID
		for range 2 {
			r, err := e.svc.RunAllocation(e.ctx, e.as("nvidia"), smallRun)
			must(t, err)
			ids = append(ids, r.ID)
		}
		t.Run("OK", func(t *testing.T) {
			for _, r := range allocationReaders {
				runs, err := e.svc.AllocationRuns(e.ctx, e.as(castOf[r]))
				if err != nil || len(runs) != 2 || runs[0].ID != ids[0] || runs[1].ID != ids[1] || runs[1].InputsHash == "" {
					t.Fatalf("%s lists %+v, %v", r, runs, err)
				}
				if _, err := e.svc.AllocationRunByID(e.ctx, e.as(castOf[r]), ids[1]); err != nil {
					t.Fatalf("%s reads a run: %v", r, err)
				}
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := e.svc.AllocationRunByID(e.ctx, e.as("nvidia"), uuid.New())
			wantCode(t, err, domain.ENOTFOUND)
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, allocationReaders, func(who domain.Actor) error {
				_, err := e.svc.AllocationRuns(e.ctx, who)
				return err
			})
			e.refused(t, allocationReaders, func(who domain.Actor) error {
				_, err := e.svc.AllocationRunByID(e.ctx, who, ids[0])
				return err
			})
		})
	})
}

func TestOutlook(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		readers := append([]domain.Role{domain.RoleBuyer}, allocationReaders...)
		t.Run("ErrNotFoundBeforeFirstRun", func(t *testing.T) {
			_, err := e.svc.Outlook(e.ctx, e.as("nvidia"))
			wantCode(t, err, domain.ENOTFOUND)
		})
		us, cn := e.orders(t)
		r, err := e.svc.RunAllocation(e.ctx, e.as("nvidia"), smallRun)
		must(t, err)
		t.Run("OK", func(t *testing.T) {
			for _, r := range allocationReaders {
				// China's import authority reads its jurisdiction's buyers
				// only (TestImportAuthorityReadsItsJurisdictionOnly).
				want := 2
				if r == domain.RoleImportAuthority {
					want = 1
				}
				v, err := e.svc.Outlook(e.ctx, e.as(castOf[r]))
				if err != nil || len(v.Orders) != want || len(v.Buyers) != want {
					t.Fatalf("%s's outlook: %d orders, %d buyers, %v; want %d", r, len(v.Orders), len(v.Buyers), err, want)
				}
			}
		})
		t.Run("BuyerOwnOnly", func(t *testing.T) {
			for buyer, o := range map[string]domain.Order{"us-cloud-a": us, "bytedance": cn} {
				v, err := e.svc.Outlook(e.ctx, e.as(buyer))
				must(t, err)
				if v.Run != r.ID || len(v.Orders) != 1 || v.Orders[0].Order != o.ID.String() || len(v.Buyers) != 1 || v.Buyers[0].Buyer != buyer {
					t.Fatalf("%s's outlook: %+v", buyer, v)
				}
				for _, u := range v.Unmet {
					if u.Order != o.ID.String() {
						t.Fatalf("%s sees another's unmet order %s", buyer, u.Order)
					}
				}
			}
			if v, err := e.svc.Outlook(e.ctx, e.as("alibaba")); err != nil || len(v.Orders)+len(v.Buyers)+len(v.Unmet) != 0 {
				t.Fatalf("alibaba, without orders, sees %+v, %v", v, err)
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			e.refused(t, readers, func(who domain.Actor) error {
				_, err := e.svc.Outlook(e.ctx, who)
				return err
			})
		})
	})
}

// TestRunAllocationSnapshot: a run solves on a snapshot outside the write
// transaction and commits only when nothing it read changed meanwhile; a
// change to its inputs makes it solve again, a bystander's record does not,
// and inputs that keep changing end in a run solved holding the writer.
func TestRunAllocationSnapshot(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		nvidia := e.as("nvidia")
		us, cn := e.orders(t)
		ids := func(r service.AllocationRun) []string {
			var out []string
			for _, o := range r.Problem.Orders {
				out = append(out, o.ID)
			}
			return out
		}
		t.Run("InputChangedSolvesAgain", func(t *testing.T) {
			calls := 0
			service.SetSolvedHook(e.svc, func() {
				if calls++; calls == 1 {
					_, err := e.svc.CancelOrder(e.ctx, e.as("bytedance"), cn.ID, "plans changed")
					must(t, err)
				}
			})
			defer service.SetSolvedHook(e.svc, nil)
			r, err := e.svc.RunAllocation(e.ctx, nvidia, smallRun)
			must(t, err)
			if got := ids(r); calls != 2 || !slices.Equal(got, []string{us.ID.String()}) {
				t.Fatalf("solved %d times; the run plans %v, want only %s (%s was cancelled while it solved)", calls, got, us.ID, cn.ID)
			}
		})
		t.Run("BystanderKeepsTheRun", func(t *testing.T) {
			calls := 0
			service.SetSolvedHook(e.svc, func() {
				calls++
				me := e.as("alibaba")
				_, err := e.svc.IssueToken(e.ctx, me, me.UserID, "laptop", time.Hour)
				must(t, err)
			})
			defer service.SetSolvedHook(e.svc, nil)
			r, err := e.svc.RunAllocation(e.ctx, nvidia, smallRun)
			must(t, err)
			if calls != 1 || len(r.Problem.Orders) != 1 {
				t.Fatalf("solved %d times for a token issued meanwhile (want 1); plans %v", calls, ids(r))
			}
		})
		t.Run("BusyInputsSolveHoldingTheWriter", func(t *testing.T) {
			calls := 0
			var placed []string
			service.SetSolvedHook(e.svc, func() {
				calls++
				placed = append(placed, e.order(t, "us-cloud-a", 10).ID.String())
			})
			defer service.SetSolvedHook(e.svc, nil)
			before := e.auditSize(t)
			r, err := e.svc.RunAllocation(e.ctx, nvidia, smallRun)
			must(t, err)
			got := ids(r)
			if calls != service.AllocationTries || len(got) != 1+len(placed) {
				t.Fatalf("solved %d snapshots (want %d); the run plans %d orders, want %d", calls, service.AllocationTries, len(got), 1+len(placed))
			}
			for _, id := range placed {
				if !slices.Contains(got, id) {
					t.Fatalf("order %s placed before the run's last solve is not planned: %v", id, got)
				}
			}
			if n := e.auditSize(t) - before; n != int64(len(placed))+1 {
				t.Fatalf("%d records for %d orders and one run", n, len(placed))
			}
		})
	})
}
