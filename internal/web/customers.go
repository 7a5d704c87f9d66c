package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// Approved customers: the export authority suspends, reinstates or revokes
// an approval (service.DecideApplication), and the licenses issued with it
// follow.

// customerAction is a decision on an approved customer and the state it
// leads to.
type customerAction struct {
	Decision, Label string
	To              domain.ApplicationStatus
}

// customerActions are the decisions the customer form may send. Which one
// an application allows is domain.ApplicationMoves' call; reinstating is
// the way back from a suspension to approved.
var customerActions = []customerAction{
	{"suspend", "Suspend", domain.AppSuspended},
	{"reinstate", "Reinstate", domain.AppApproved},
	{"revoke", "Revoke", domain.AppRevoked},
}

// customer is an approved or suspended application with the decisions its
// state allows.
type customer struct {
	App   domain.Application
	Moves []string
}

// customerMoves are the customer actions an application in state from
// allows: none unless it is a customer (approved or suspended; approving a
// submitted application is the review queue's form), else those whose
// state ApplicationMoves lets it move to.
func customerMoves(from domain.ApplicationStatus) []string {
	if from != domain.AppApproved && from != domain.AppSuspended {
		return nil
	}
	var out []string
	for _, a := range customerActions {
		// Reinstating leads back to approved, so it is a move only out of
		// suspension; from approved to approved is no move.
		if a.To != from && slices.Contains(domain.ApplicationMoves[from], a.To) {
			out = append(out, a.Decision)
		}
	}
	return out
}

// customersOf keeps the applications the customer form may act on.
func customersOf(apps []domain.Application) []customer {
	var out []customer
	for _, a := range apps {
		if moves := customerMoves(a.Status); len(moves) > 0 {
			out = append(out, customer{a, moves})
		}
	}
	return out
}

// changeCustomer suspends, reinstates or revokes an approved customer.
func (h *handler) changeCustomer(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string) {
	f := r.PostForm
	id, err := domain.ParseID(strings.TrimSpace(f.Get("application")))
	if err != nil {
		h.exportRender(w, r, who, csrf, http.StatusUnprocessableEntity, formErr("application", "Customer: choose an approved or suspended customer."), "")
		return
	}
	decision := f.Get("action")
	if !slices.ContainsFunc(customerActions, func(a customerAction) bool { return a.Decision == decision }) {
		h.exportRender(w, r, who, csrf, http.StatusUnprocessableEntity, formErr("action", "Action: choose suspend, reinstate or revoke."), "")
		return
	}
	if decision != "reinstate" {
		if err := confirmed(f, "Tick “Yes, suspend or revoke” to do so."); err != nil {
			h.exportRender(w, r, who, csrf, http.StatusUnprocessableEntity, err, "")
			return
		}
	}
	a, _, err := h.svc.DecideApplication(r.Context(), who, id, service.ApplicationDecision{Decision: decision, Reason: strings.TrimSpace(f.Get("reason"))})
	if err != nil {
		h.formFailed(w, r, err, "application", func(status int, err error) { h.exportRender(w, r, who, csrf, status, err, "") })
		return
	}
	l := localeIn(r.Context())
	h.exportNotice(w, r, who, csrf, l.T("%[1]s (%[2]s): %[3]s; the licenses issued with the approval follow.", a.LegalName, a.Buyer, l.Code(string(a.Status))))
}
