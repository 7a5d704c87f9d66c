package service

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/internal/store"
)

// NoticeRequest is an authority's confirmation of a license exception's
// notification for a consignee: the exception's code (NAC), the
// confirmation number the authority gave, and the products it covers.
type NoticeRequest struct {
	Exception    string   `json:"exception"`
	Confirmation string   `json:"confirmation"`
	Products     []string `json:"products"`
}

// confirmationNumber is the shape of a confirmation number: letters,
// digits and dashes, as BIS's SNAP-R numbers are.
var confirmationNumber = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,63}$`)

// ConfirmNotice records, on the buyer's current application, an
// authority's confirmation of a license exception's notification for the
// buyer as consignee (NAC, rule exception.nac), then decides the buyer's
// held orders of those products again: an order that was held only for
// the missing confirmation is accepted under the exception, and every
// other order stays as it was (an authority reviews it). The exception must
// be one of the authority's own jurisdiction that requires a notification.
// Returns the application and the orders accepted; EINVALID naming the
// field; ECONFLICT when the application is not the buyer's current one, is
// denied or revoked, or already carries the confirmation.
func (s *Service) ConfirmNotice(ctx context.Context, who domain.Actor, id domain.ID, in NoticeRequest) (domain.Application, []domain.Order, error) {
	if err := authorizeWork(who, ActNoticeConfirm, routineWork); err != nil {
		return domain.Application{}, nil, err
	}
	pol, jur, err := s.authorityPolicy(ctx, who)
	if err != nil {
		return domain.Application{}, nil, err
	}
	now := s.Now()
	rules := pol.At(now)
	var pr domain.Problems
	in.Exception = strings.ToUpper(strings.TrimSpace(in.Exception))
	ex, rule, ok := rules.Exception(jur, in.Exception)
	switch {
	case !ok:
		pr.Add("exception", "no license exception %q of %s is in force", in.Exception, jur)
	case !ex.Notification:
		pr.Add("exception", "license exception %s needs no notification", in.Exception)
	}
	if !confirmationNumber.MatchString(in.Confirmation) {
		pr.Add("confirmation", "required: 1 to 64 letters, digits and dashes")
	}
	if len(in.Products) == 0 || len(in.Products) > 100 {
		pr.Add("products", "name 1 to 100 products")
	}
	if err := pr.Err(); err != nil {
		return domain.Application{}, nil, err
	}
	products := slices.Clone(in.Products)
	slices.Sort(products)
	products = slices.Compact(products)
	for _, slug := range products {
		product, err := s.committedProduct(ctx, slug)
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return domain.Application{}, nil, domain.Invalid("products", "no product %q", slug)
		} else if err != nil {
			return domain.Application{}, nil, err
		}
		if c := rules.ClassifyProduct(product); !ex.Covers(c.ECCN, product.Spec) {
			return domain.Application{}, nil, domain.Invalid("products", "license exception %s does not cover %s (%s%s)", in.Exception, slug, c.ECCN, dataCenter(product.Spec))
		}
	}
	var a domain.Application
	var accepted []domain.Order
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		if a, err = s.currentApplication(ctx, tx, id); err != nil {
			return err
		}
		for _, n := range a.Notices {
			if n.Exception == in.Exception && n.Confirmation == in.Confirmation {
				return domain.Errorf(domain.ECONFLICT, "application %s already carries %s confirmation %s", id, n.Exception, n.Confirmation)
			}
		}
		a.Notices = append(a.Notices, domain.ExceptionNotice{Exception: in.Exception, Confirmation: in.Confirmation, Jurisdiction: jur,
			Rule: rule.ID, Products: products, By: who.PartySlug, At: now})
		a.UpdatedAt = now
		if err := put(ctx, tx, store.KindApplication, false, appDoc(a), a); err != nil {
			return err
		}
		if err := s.record(ctx, tx, who, now, "application.notice_confirmed", "application", a.ID.String(), a); err != nil {
			return err
		}
		accepted, err = s.acceptWaiting(ctx, tx, rules, pol, a, in.Exception+" "+in.Confirmation, now)
		return err
	})
	return appFor(who, a), accepted, err
}

// WithdrawNotice withdraws a confirmation recorded by ConfirmNotice, with a
// reason: from then on it serves no new order; orders already accepted
// under it keep their grant. Only an authority of the notice's
// jurisdiction withdraws it. Returns ENOTFOUND for no such confirmation on
// the application, ECONFLICT for one already withdrawn.
func (s *Service) WithdrawNotice(ctx context.Context, who domain.Actor, id domain.ID, confirmation, reason string) (domain.Application, error) {
	if err := authorizeWork(who, ActNoticeConfirm, routineWork); err != nil {
		return domain.Application{}, err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 4000 {
		return domain.Application{}, domain.Invalid("reason", "required, at most 4000 bytes")
	}
	_, jur, err := s.authorityPolicy(ctx, who)
	if err != nil {
		return domain.Application{}, err
	}
	now := s.Now()
	var a domain.Application
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		if a, err = store.Get[domain.Application](ctx, tx, store.KindApplication, id, true); err != nil {
			return err
		}
		i := slices.IndexFunc(a.Notices, func(n domain.ExceptionNotice) bool { return n.Confirmation == confirmation })
		if i < 0 {
			return domain.Errorf(domain.ENOTFOUND, "application %s carries no confirmation %q", id, confirmation)
		}
		n := &a.Notices[i]
		if n.Jurisdiction != jur {
			return domain.Errorf(domain.EFORBIDDEN, "confirmation %s is of %s; %s speaks for %s", confirmation, n.Jurisdiction, who.PartySlug, jur)
		}
		if n.WithdrawnAt != nil {
			return domain.Errorf(domain.ECONFLICT, "confirmation %s was withdrawn on %s", confirmation, n.WithdrawnAt.Format(time.RFC3339))
		}
		n.WithdrawnAt, n.WithdrawnBy, n.Reason = &now, who.PartySlug, reason
		a.UpdatedAt = now
		if err := put(ctx, tx, store.KindApplication, false, appDoc(a), a); err != nil {
			return err
		}
		return s.record(ctx, tx, who, now, "application.notice_withdrawn", "application", a.ID.String(), a)
	})
	return appFor(who, a), err
}

// currentApplication reads application id for update and checks that it
// stands for its buyer as a customer (orders read that one) and is neither
// denied nor revoked.
func (s *Service) currentApplication(ctx context.Context, tx store.Tx, id domain.ID) (domain.Application, error) {
	a, err := store.Get[domain.Application](ctx, tx, store.KindApplication, id, true)
	if err != nil {
		return a, err
	}
	current, _, err := customerApplication(ctx, tx, a.BuyerID)
	if err != nil {
		return a, err
	}
	if current.ID != a.ID {
		return a, domain.Errorf(domain.ECONFLICT, "application %s is not %s's current application (%s is); record the notice there", a.ID, a.Buyer, current.ID)
	}
	if a.Status == domain.AppDenied || a.Status == domain.AppRevoked {
		return a, domain.Errorf(domain.ECONFLICT, "application %s is %s", a.ID, a.Status)
	}
	return a, nil
}

// acceptWaiting decides the buyer's held orders again after a notice was
// confirmed and accepts those the rules now accept, noting the
// confirmation; the others stay held as they were.
func (s *Service) acceptWaiting(ctx context.Context, tx store.Tx, rules policy.Rules, pol *policy.Policy, a domain.Application, ref string, now time.Time) ([]domain.Order, error) {
	held, err := store.List[domain.Order](ctx, tx, store.KindOrder, store.DocFilter{PartyID: a.BuyerID, Status: []string{string(domain.OrderHeld)}, ForUpdate: true})
	if err != nil {
		return nil, err
	}
	buyer, err := tx.Party(ctx, a.BuyerID)
	if err != nil {
		return nil, err
	}
	var accepted []domain.Order
	for _, o := range held {
		if !slices.ContainsFunc(a.Notices, func(n domain.ExceptionNotice) bool { return n.Serves(o.Product) }) {
			continue
		}
		product, err := tx.ProductBySlug(ctx, o.Product)
		if err != nil {
			return nil, err
		}
		facts, g, err := s.orderFacts(ctx, tx, pol, buyer, product, orderTerms{o.Quantity - o.Shipped, o.Site, o.EndUse}, now)
		if err != nil {
			return nil, err
		}
		facts.Released = o.Releases
		d := rules.DecideOrder(facts)
		if d.Outcome != domain.Accepted {
			continue
		}
		if err := s.settle(ctx, tx, &o, d, g, now); err != nil {
			return nil, err
		}
		o.UpdatedAt = now
		o.Notes = append(o.Notes, domain.Note{At: now, By: "system", Kind: "accepted", Text: fmt.Sprintf("decided again after %s was confirmed for %s", ref, a.Buyer)})
		if err := put(ctx, tx, store.KindOrder, false, orderDoc(o), o); err != nil {
			return nil, err
		}
		if err := s.record(ctx, tx, domain.SystemActor, now, "order."+string(o.Status), "order", o.ID.String(), o); err != nil {
			return nil, err
		}
		accepted = append(accepted, o)
	}
	return accepted, nil
}

// dataCenter writes ", designed for data centers" for a chip that is.
func dataCenter(spec domain.Spec) string {
	if spec.NotDataCenter {
		return ""
	}
	return ", designed for data centers"
}
