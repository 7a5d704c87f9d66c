package web

import (
	"context"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// The vendor's shipment form: units of an accepted order, from one lot,
// with their serial numbers and declared unit value.

// shippableOrder is an accepted order with units left to ship.
type shippableOrder struct {
	Order domain.Order
	Left  int64
}

// lotChoice is a lot with units left, as the form offers it.
type lotChoice struct {
	Lot     domain.Lot
	Product string // the product's slug
	Left    int64
	// Later is set when the lot is not available yet; the service refuses
	// to ship from it until then.
	Later bool
}

// shipmentChoices are the shipment form's orders and lots with units left
// (the service refuses a shipment beyond them whatever the form offered).
func (h *handler) shipmentChoices(ctx context.Context, who domain.Actor) ([]shippableOrder, []lotChoice, error) {
	orders, err := h.svc.Orders(ctx, who, []string{string(domain.OrderAccepted)})
	if err != nil {
		return nil, nil, err
	}
	var out []shippableOrder
	for _, o := range orders {
		if left := o.Quantity - o.Shipped; left > 0 {
			out = append(out, shippableOrder{o, left})
		}
	}
	products, err := h.svc.Products(ctx, who)
	if err != nil {
		return nil, nil, err
	}
	slugOf := make(map[domain.ID]string, len(products))
	for _, p := range products {
		slugOf[p.ID] = p.Slug
	}
	lots, err := h.svc.Lots(ctx, who, "")
	if err != nil {
		return nil, nil, err
	}
	now := h.svc.Now()
	var choices []lotChoice
	for _, l := range lots {
		slug := slugOf[l.ProductID]
		if left := l.Quantity - l.Shipped; left > 0 {
			choices = append(choices, lotChoice{Lot: l, Product: slug, Left: left, Later: now.Before(l.AvailableOn)})
		}
	}
	return out, choices, nil
}

// shipmentForm is the vendor's shipment form, decoded.
type shipmentForm struct {
	Request service.ShipmentRequest
	// Read is how many serial numbers the form held.
	Read int
}

// parseShipment decodes the vendor's shipment form: the order, the lot, the
// serial numbers one per line (blank lines skipped), the unit value in the
// currency's major units and the currency. Its error names the field for
// the person who filled it in; the service checks the values themselves
// (serial format, units left, the order's state).
func parseShipment(f url.Values) (shipmentForm, error) {
	var out shipmentForm
	if _, err := domain.ParseID(strings.TrimSpace(f.Get("order"))); err != nil {
		return out, formErr("order", "Order: choose an accepted order to ship.")
	}
	out.Request.Order = strings.TrimSpace(f.Get("order"))
	if out.Request.Lot = strings.TrimSpace(f.Get("lot")); out.Request.Lot == "" {
		return out, formErr("lot", "Lot: choose the lot the units come from.")
	}
	for _, line := range strings.Split(f.Get("serials"), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out.Request.Serials = append(out.Request.Serials, line)
		}
	}
	out.Read = len(out.Request.Serials)
	if out.Read == 0 {
		return out, formErr("serials", "Serial numbers: enter at least one, one per line.")
	}
	if out.Read > service.MaxShipmentUnits {
		return out, formErr("serials", "Serial numbers: a shipment holds at most %d.", service.MaxShipmentUnits)
	}
	out.Request.Carriers = strings.Fields(strings.ReplaceAll(f.Get("carriers"), ",", " "))
	if len(out.Request.Carriers) == 0 {
		return out, formErr("carriers", "Carriers: name the carrier of every leg, one for all or one per leg in order.")
	}
	out.Request.Lab = strings.TrimSpace(f.Get("lab"))
	cur := strings.ToUpper(strings.TrimSpace(f.Get("currency")))
	if !isCurrency(cur) {
		return out, formErr("currency", "Currency: a three-letter ISO 4217 code such as USD.")
	}
	minor, err := parseAmount(f.Get("unit_value"), domain.MinorDigits(cur))
	if err != nil {
		return out, err
	}
	out.Request.UnitValue = domain.Money{Minor: minor, Currency: cur}
	return out, nil
}

// parseAmount reads a unit value written in major units ("30000",
// "30000.5") exactly, and rounds it to minor units of digits decimals (the
// currency's, as domain.Money.String writes it) half away from zero, the
// one rounding rule of chipgate (domain.Money.Apply): 0.005 USD is a cent.
// No float touches it. A comma is refused rather than guessed at: "30,000"
// and "30000,50" mean different things in different countries.
func parseAmount(s string, digits int) (int64, error) {
	t := strings.TrimSpace(s)
	bad := formErr("unit_value", "Unit value: an amount in the currency's major units with a point for decimals, such as 30000.00.")
	if t == "" || strings.Trim(t, "0123456789.") != "" || strings.Count(t, ".") > 1 || strings.Trim(t, ".") == "" || len(t) > 40 {
		return 0, bad
	}
	r, ok := new(big.Rat).SetString(t)
	if !ok {
		return 0, bad
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(digits)), nil)))
	// Half away from zero; the amount is not negative (no sign was read).
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if m.Lsh(m, 1).Cmp(r.Denom()) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if q.Sign() <= 0 {
		smallest := "1"
		if digits > 0 {
			smallest = "0." + strings.Repeat("0", digits-1) + "1"
		}
		return 0, formErr("unit_value", "Unit value: must be at least %s once rounded to the currency's minor unit.", smallest)
	}
	if !q.IsInt64() {
		return 0, formErr("unit_value", "Unit value: too large.")
	}
	return q.Int64(), nil
}

// createShipment ships units of an accepted order and shows the shipment.
func (h *handler) createShipment(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string) {
	l := localeIn(r.Context())
	in, err := parseShipment(r.PostForm)
	if err != nil {
		h.vendorRender(w, r, who, csrf, http.StatusUnprocessableEntity, withText(err, readText(l, in.Read)), "")
		return
	}
	sh, err := h.svc.CreateShipment(r.Context(), who, in.Request)
	if err != nil {
		h.formFailed(w, r, err, "order", func(status int, err error) {
			h.vendorRender(w, r, who, csrf, status, withText(err, whichSerial(l, err, in.Request.Serials)+readText(l, in.Read)), "")
		})
		return
	}
	h.vendorShipped(w, r, who, csrf, sh, l.T("Shipment %[1]s created: %[2]s × %[3]s of lot %[4]s for %[5]s (%[6]s); unit value %[7]s; invoice %[8]s, total %[9]s.",
		sh.Number, l.Num(sh.Quantity), sh.Product, sh.Lot, sh.Buyer, serialsRead(l, in.Read), money(sh.UnitValue), sh.Invoice.Number, money(sh.Invoice.Total)))
}

// textedError is a refusal with more words after it, already in the
// viewer's language.
type textedError struct {
	error
	more string
}

func (e textedError) Unwrap() error { return e.error }

// withText is err followed by more words ("" for none).
func withText(err error, more string) error {
	if more == "" {
		return err
	}
	return textedError{err, more}
}

// whichSerial names the serial number the service refused, which it
// counts from 0 among the non-blank lines, as the person who typed them
// counts: from 1.
func whichSerial(l *locale, err error, serials []string) string {
	for _, f := range domain.ErrorFields(err) {
		var i int
		if _, e := fmt.Sscanf(f.Path, "serials[%d]", &i); e == nil && i >= 0 && i < len(serials) {
			return l.T("; serial number %[1]d is “%[2]s”", i+1, serials[i])
		}
	}
	return ""
}

// readText says how many serial numbers a refused form held.
func readText(l *locale, n int) string {
	if n == 0 {
		return ""
	}
	return " (" + serialsRead(l, n) + ")"
}

// serialsRead is "1 serial number read" or "n serial numbers read".
func serialsRead(l *locale, n int) string {
	if n == 1 {
		return l.T("1 serial number read")
	}
	return l.T("%s serial numbers read", l.Num(n))
}
