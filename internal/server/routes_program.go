package server

import (
	"net/http"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// withBody decodes a T from the body and writes fn's result with status.
func withBody[T any](status int, fn func(r *http.Request, who domain.Actor, in T) (any, error)) func(http.ResponseWriter, *http.Request, domain.Actor) error {
	return func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
		var in T
		if err := decode(r, &in); err != nil {
			return err
		}
		out, err := fn(r, who, in)
		if err != nil {
			return err
		}
		if status == http.StatusCreated {
			setLocation(w, r, out)
		}
		return writeJSON(w, status, out)
	}
}

// read writes fn's result with 200.
func read(fn func(r *http.Request, who domain.Actor) (any, error)) func(http.ResponseWriter, *http.Request, domain.Actor) error {
	return func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
		out, err := fn(r, who)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, out)
	}
}

// Reason is a body with only a reason.
type Reason struct {
	Reason string `json:"reason"`
}

// LicenseChange suspends, reinstates or revokes a license.
type LicenseChange struct {
	Action string `json:"action"` // suspend, reinstate or revoke
	Reason string `json:"reason"`
}

// OrderReview releases or rejects a held order.
type OrderReview struct {
	Decision string `json:"decision"` // release or reject
	Reason   string `json:"reason"`
}

// HitReviews is the export authority's calls on screening hits.
type HitReviews struct {
	Reviews []service.HitReview `json:"reviews"`
}

// ApplicationDecided is an application after a decision, with the licenses
// an approval issued.
type ApplicationDecided struct {
	Application domain.Application `json:"application"`
	Licenses    []domain.License   `json:"licenses"`
}

// NoticeConfirmed is an application after a notice was recorded, with the
// held orders it let through.
type NoticeConfirmed struct {
	Application domain.Application `json:"application"`
	Accepted    []domain.Order     `json:"accepted_orders"`
}

func (s *Server) programRoutes() []Route {
	svc := s.svc
	return []Route{
		{Method: "POST", Path: "/api/v1/applications", Summary: "File an application to become an approved customer (buyer); it is screened at once",
			Status: 201, Request: service.ApplicationRequest{}, Response: domain.Application{},
			handle: withBody(201, func(r *http.Request, who domain.Actor, in service.ApplicationRequest) (any, error) {
				return svc.SubmitApplication(r.Context(), who, in)
			})},
		{Method: "GET", Path: "/api/v1/applications", Summary: "Applications (?status=submitted,blocked): a buyer's own; all for the authorities and the vendor",
			Response: List[domain.Application]{}, Query: listParams("applications", true),
			handle: page(func(r *http.Request, who domain.Actor, q domain.ListQuery) (domain.Page[domain.Application], error) {
				return svc.ApplicationsPage(r.Context(), who, q)
			})},
		{Method: "GET", Path: "/api/v1/applications/{id}", Summary: "One application with its screening hits and red flags", Response: domain.Application{},
			handle: read(func(r *http.Request, who domain.Actor) (any, error) {
				id, err := pathID(r, "id")
				if err != nil {
					return nil, err
				}
				return svc.Application(r.Context(), who, id)
			})},
		{Method: "PUT", Path: "/api/v1/applications/{id}", Summary: "Resubmit an application after a request for information (buyer)",
			Request: service.ApplicationRequest{}, Response: domain.Application{},
			handle: withBody(200, func(r *http.Request, who domain.Actor, in service.ApplicationRequest) (any, error) {
				id, err := pathID(r, "id")
				if err != nil {
					return nil, err
				}
				return svc.ResubmitApplication(r.Context(), who, id, in)
			})},
		{Method: "POST", Path: "/api/v1/applications/{id}/decision", Summary: "Approve (issuing licenses), deny, request information, suspend, reinstate or revoke (export authority)",
			Request: service.ApplicationDecision{}, Response: ApplicationDecided{},
			handle: withBody(200, func(r *http.Request, who domain.Actor, in service.ApplicationDecision) (any, error) {
				id, err := pathID(r, "id")
				if err != nil {
					return nil, err
				}
				a, ls, err := svc.DecideApplication(r.Context(), who, id, in)
				return ApplicationDecided{Application: a, Licenses: nonNil(ls)}, err
			})},
		{Method: "POST", Path: "/api/v1/applications/{id}/hit-reviews", Summary: "Mark screening hits confirmed or false positive (export authority)",
			Request: HitReviews{}, Response: domain.Application{},
			handle: withBody(200, func(r *http.Request, who domain.Actor, in HitReviews) (any, error) {
				id, err := pathID(r, "id")
				if err != nil {
					return nil, err
				}
				return svc.ReviewHits(r.Context(), who, id, in.Reviews)
			})},
		{Method: "GET", Path: "/api/v1/licenses", Summary: "Licenses: all for the authorities, its exports' for the vendor, its own for a buyer", Response: List[domain.License]{},
			Query: listParams("licenses", true),
			handle: page(func(r *http.Request, who domain.Actor, q domain.ListQuery) (domain.Page[domain.License], error) {
				return svc.LicensesPage(r.Context(), who, q)
			})},
		{Method: "GET", Path: "/api/v1/licenses/{id}", Summary: "One license with its remaining quantity", Response: domain.License{},
			handle: read(func(r *http.Request, who domain.Actor) (any, error) {
				id, err := pathID(r, "id")
				if err != nil {
					return nil, err
				}
				return svc.License(r.Context(), who, id)
			})},
		{Method: "POST", Path: "/api/v1/licenses/{id}/status", Summary: "Suspend, reinstate or revoke a license (export authority)",
			Request: LicenseChange{}, Response: domain.License{},
			handle: withBody(200, func(r *http.Request, who domain.Actor, in LicenseChange) (any, error) {
				id, err := pathID(r, "id")
				if err != nil {
					return nil, err
				}
				return svc.ChangeLicense(r.Context(), who, id, in.Action, in.Reason)
			})},
		{Method: "POST", Path: "/api/v1/applications/{id}/exception-notices", Summary: "Record a license exception's confirmed notification for the buyer as consignee (NAC; the authority of the exception's jurisdiction); held orders it serves are decided again",
			Request: service.NoticeRequest{}, Response: NoticeConfirmed{},
			handle: withBody(200, func(r *http.Request, who domain.Actor, in service.NoticeRequest) (any, error) {
				id, err := pathID(r, "id")
				if err != nil {
					return nil, err
				}
				a, os, err := svc.ConfirmNotice(r.Context(), who, id, in)
				return NoticeConfirmed{Application: a, Accepted: nonNil(os)}, err
			})},
		{Method: "POST", Path: "/api/v1/applications/{id}/exception-notices/{confirmation}/withdraw", Summary: "Withdraw a confirmed notification with a reason; it serves no new order",
			Request: Reason{}, Response: domain.Application{},
			handle: withBody(200, func(r *http.Request, who domain.Actor, in Reason) (any, error) {
				id, err := pathID(r, "id")
				if err != nil {
					return nil, err
				}
				return svc.WithdrawNotice(r.Context(), who, id, r.PathValue("confirmation"), in.Reason)
			})},
		{Method: "POST", Path: "/api/v1/permits", Summary: "Grant an import permit or record a denial (import authority)",
			Status: 201, Request: service.PermitRequest{}, Response: domain.ImportPermit{},
			handle: withBody(201, func(r *http.Request, who domain.Actor, in service.PermitRequest) (any, error) {
				return svc.DecidePermit(r.Context(), who, in)
			})},
		{Method: "GET", Path: "/api/v1/permits", Summary: "Import permits: a buyer's own; all for the authorities and the vendor", Response: List[domain.ImportPermit]{},
			Query: listParams("permits", true),
			handle: page(func(r *http.Request, who domain.Actor, q domain.ListQuery) (domain.Page[domain.ImportPermit], error) {
				return svc.PermitsPage(r.Context(), who, q)
			})},
		{Method: "POST", Path: "/api/v1/permits/{id}/revoke", Summary: "Revoke an import permit (import authority)",
			Request: Reason{}, Response: domain.ImportPermit{},
			handle: withBody(200, func(r *http.Request, who domain.Actor, in Reason) (any, error) {
				id, err := pathID(r, "id")
				if err != nil {
					return nil, err
				}
				return svc.RevokePermit(r.Context(), who, id, in.Reason)
			})},
		{Method: "POST", Path: "/api/v1/hearings", Summary: "Open a demand hearing for a product and period (import authority)",
			Status: 201, Request: service.HearingRequest{}, Response: domain.Hearing{},
			handle: withBody(201, func(r *http.Request, who domain.Actor, in service.HearingRequest) (any, error) {
				return svc.OpenHearing(r.Context(), who, in)
			})},
		{Method: "GET", Path: "/api/v1/hearings", Summary: "Hearings: totals and every filing for the import authority, its own filing for a buyer", Response: List[service.HearingView]{},
			Query: listParams("hearings", false),
			handle: page(func(r *http.Request, who domain.Actor, q domain.ListQuery) (domain.Page[service.HearingView], error) {
				return svc.HearingsPage(r.Context(), who, q)
			})},
		{Method: "GET", Path: "/api/v1/hearings/{id}", Summary: "One hearing as the reader may see it", Response: service.HearingView{},
			handle: read(func(r *http.Request, who domain.Actor) (any, error) {
				id, err := pathID(r, "id")
				if err != nil {
					return nil, err
				}
				return svc.Hearing(r.Context(), who, id)
			})},
		{Method: "POST", Path: "/api/v1/hearings/{id}/filings", Summary: "File a demand forecast and intended uses in an open hearing (buyer)",
			Status: 201, Request: service.FilingRequest{}, Response: domain.Filing{},
			handle: withBody(201, func(r *http.Request, who domain.Actor, in service.FilingRequest) (any, error) {
				id, err := pathID(r, "id")
				if err != nil {
					return nil, err
				}
				return svc.FileDemand(r.Context(), who, id, in)
			})},
		{Method: "POST", Path: "/api/v1/hearings/{id}/close", Summary: "Close a hearing to filings (import authority)", Response: domain.Hearing{},
			handle: func(w http.ResponseWriter, r *http.Request, who domain.Actor) error {
				id, err := pathID(r, "id")
				if err != nil {
					return err
				}
				h, err := svc.CloseHearing(r.Context(), who, id)
				if err != nil {
					return err
				}
				return writeJSON(w, http.StatusOK, h)
			}},
		{Method: "POST", Path: "/api/v1/orders", Summary: "Place an order (buyer); the answer carries the decision with its reasons",
			Status: 201, Request: service.OrderRequest{}, Response: domain.Order{},
			handle: withBody(201, func(r *http.Request, who domain.Actor, in service.OrderRequest) (any, error) {
				return svc.PlaceOrder(r.Context(), who, in)
			})},
		{Method: "GET", Path: "/api/v1/orders", Summary: "Orders (?status=held_for_review is the review queue): a buyer's own; all for the authorities and the vendor",
			Response: List[domain.Order]{}, Query: listParams("orders", true),
			handle: page(func(r *http.Request, who domain.Actor, q domain.ListQuery) (domain.Page[domain.Order], error) {
				return svc.OrdersPage(r.Context(), who, q)
			})},
		{Method: "GET", Path: "/api/v1/orders/{id}", Summary: "One order with its decision", Response: domain.Order{},
			handle: read(func(r *http.Request, who domain.Actor) (any, error) {
				id, err := pathID(r, "id")
				if err != nil {
					return nil, err
				}
				return svc.Order(r.Context(), who, id)
			})},
		{Method: "POST", Path: "/api/v1/orders/{id}/review", Summary: "Release or reject a held order (export authority)",
			Request: OrderReview{}, Response: domain.Order{},
			handle: withBody(200, func(r *http.Request, who domain.Actor, in OrderReview) (any, error) {
				id, err := pathID(r, "id")
				if err != nil {
					return nil, err
				}
				return svc.ReviewOrder(r.Context(), who, id, in.Decision, in.Reason)
			})},
		{Method: "POST", Path: "/api/v1/orders/{id}/cancel", Summary: "Cancel a held or accepted order (buyer)",
			Request: Reason{}, Response: domain.Order{},
			handle: withBody(200, func(r *http.Request, who domain.Actor, in Reason) (any, error) {
				id, err := pathID(r, "id")
				if err != nil {
					return nil, err
				}
				return svc.CancelOrder(r.Context(), who, id, in.Reason)
			})},
	}
}
