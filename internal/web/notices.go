package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// openNotice is a confirmed notification that may still be withdrawn.
type openNotice struct {
	App          domain.ID
	Buyer        string
	Exception    string
	Confirmation string
}

// notices fills the export page's notification forms and table: the
// customers' confirmed notifications, the exceptions that need one and the
// catalog's products.
func (h *handler) notices(ctx context.Context, who domain.Actor, customers []domain.Application, d *exportData) error {
	l := localeIn(ctx)
	d.Notices = l.table("/export", "notices", "Confirmed license exception notifications", "Buyer", "Exception", "Confirmation", "Products", "Recorded by", "At", "Withdrawn")
	d.Notices.Empty = l.T("No notification is confirmed.")
	for _, a := range customers {
		for _, n := range a.Notices {
			withdrawn := ""
			if n.WithdrawnAt != nil {
				withdrawn = l.T("%[1]s by %[2]s: %[3]s", l.Time(*n.WithdrawnAt), n.WithdrawnBy, n.Reason)
			} else {
				d.OpenNotices = append(d.OpenNotices, openNotice{App: a.ID, Buyer: a.Buyer, Exception: n.Exception, Confirmation: n.Confirmation})
			}
			d.Notices.add(a.Buyer, n.Exception, n.Confirmation, strings.Join(n.Products, " "), n.By, l.Time(n.At), withdrawn)
		}
	}
	if pol := h.svc.Policy(); pol != nil {
		d.NoticeExceptions = pol.At(h.svc.Now()).NotifiedExceptions()
	}
	products, err := h.svc.Products(ctx, who)
	if err != nil {
		return err
	}
	for _, p := range products {
		d.NoticeProducts = append(d.NoticeProducts, p.Slug)
	}
	return nil
}

// confirmNotice records a license exception's confirmed notification for
// a customer; the held orders it serves are decided again.
func (h *handler) confirmNotice(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string) {
	f := r.PostForm
	again := func(status int, err error) { h.exportRender(w, r, who, csrf, status, err, "") }
	id, err := domain.ParseID(strings.TrimSpace(f.Get("application")))
	if err != nil {
		again(http.StatusUnprocessableEntity, formErr("application", "Customer: choose an approved or suspended customer."))
		return
	}
	a, accepted, err := h.svc.ConfirmNotice(r.Context(), who, id, service.NoticeRequest{Exception: f.Get("exception"),
		Confirmation: strings.TrimSpace(f.Get("confirmation")), Products: f["products"]})
	if err != nil {
		h.formFailed(w, r, err, "application", again)
		return
	}
	l := localeIn(r.Context())
	h.exportNotice(w, r, who, csrf, l.T("%[1]s %[2]s recorded for %[3]s; %[4]s held order(s) decided again and accepted.",
		strings.ToUpper(strings.TrimSpace(f.Get("exception"))), strings.TrimSpace(f.Get("confirmation")), a.Buyer, l.Num(len(accepted))))
}

// withdrawNotice withdraws a confirmed notification with a reason.
func (h *handler) withdrawNotice(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string) {
	f := r.PostForm
	again := func(status int, err error) { h.exportRender(w, r, who, csrf, status, err, "") }
	app, confirmation, _ := strings.Cut(f.Get("notice"), "/")
	id, err := domain.ParseID(app)
	if err != nil || confirmation == "" {
		again(http.StatusUnprocessableEntity, formErr("notice", "Notification: choose one from the list."))
		return
	}
	a, err := h.svc.WithdrawNotice(r.Context(), who, id, confirmation, f.Get("reason"))
	if err != nil {
		h.formFailed(w, r, err, "notice", again)
		return
	}
	l := localeIn(r.Context())
	h.exportNotice(w, r, who, csrf, l.T("Notification %[1]s of %[2]s withdrawn: it serves no new order.", confirmation, a.Buyer))
}
