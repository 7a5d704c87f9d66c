package server

import (
	"net/http"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

func (s *Server) allocationRoutes() []Route {
	svc := s.svc
	return []Route{
		{Method: "POST", Path: "/api/v1/allocation-runs", Summary: "Allocate the lots to the accepted orders over a horizon under the policy, with the supply outlook (vendor)",
			Status: 201, Request: service.AllocationRunRequest{}, Response: service.AllocationRun{},
			handle: withBody(201, func(r *http.Request, who domain.Actor, in service.AllocationRunRequest) (any, error) {
				return svc.RunAllocation(r.Context(), who, in)
			})},
		{Method: "GET", Path: "/api/v1/allocation-runs", Summary: "Allocation runs with their metrics (vendor, authorities)", Response: List[service.RunSummary]{},
			Query: listParams("", false),
			handle: page(func(r *http.Request, who domain.Actor, q domain.ListQuery) (domain.Page[service.RunSummary], error) {
				return svc.AllocationRunsPage(r.Context(), who, q)
			})},
		{Method: "GET", Path: "/api/v1/allocation-runs/{id}", Summary: "One allocation run in full: problem, result, outlook (vendor, authorities)", Response: service.AllocationRun{},
			handle: read(func(r *http.Request, who domain.Actor) (any, error) {
				id, err := pathID(r, "id")
				if err != nil {
					return nil, err
				}
				return svc.AllocationRunByID(r.Context(), who, id)
			})},
		{Method: "GET", Path: "/api/v1/outlook", Summary: "The supply outlook of the latest run: promised units and P50/P90 dates (a buyer sees its own)", Response: service.OutlookView{},
			handle: read(func(r *http.Request, who domain.Actor) (any, error) {
				return svc.Outlook(r.Context(), who)
			})},
	}
}
