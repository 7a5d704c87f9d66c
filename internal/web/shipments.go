package web

import (
	"slices"
	"strconv"
	"strings"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// What every role's page says about a shipment: where it is on its route,
// how its lab test stands and when the lab will have tested it. The lab
// queue's date is the only ETA the service computes (first come, first
// tested at the policy's weekly capacity); nothing here guesses transit times.

// eventKinds are the custody events a carrier records, in the order a leg
// has them, with what the form calls them. The service decides which one a
// shipment accepts next.
var eventKinds = []struct{ Kind, Label string }{
	{"picked_up", "Picked up (a leg starts)"},
	{"arrived", "Arrived at a stop"},
	{"customs_cleared", "Cleared customs"},
	{"handed_over", "Handed over to another carrier"},
	{"delivered", "Delivered to the licensed site"},
	// Recorded by the authorities over the API, shown by these labels.
	{"export_cleared", "Cleared for export by the export authority"},
}

// eventLabel is an event kind as the pages say it.
func eventLabel(l *locale, kind string) string {
	for _, k := range eventKinds {
		if k.Kind == kind {
			return l.T(k.Label)
		}
	}
	return l.Code(kind)
}

// routeText is a shipment's route, "TW → US → CN".
func routeText(sh domain.Shipment) string { return strings.Join(sh.Route, " → ") }

// here is the country a shipment is in or last left.
func here(sh domain.Shipment) string {
	if sh.Leg >= 0 && sh.Leg < len(sh.Route) {
		return sh.Route[sh.Leg]
	}
	return ""
}

// whereText is where a shipment is: "in transit TW → US", "cleared in US".
func whereText(l *locale, sh domain.Shipment) string {
	h := here(sh)
	switch sh.Status {
	case domain.ShipInTransit:
		if sh.Leg+1 < len(sh.Route) {
			return l.T("in transit %[1]s → %[2]s", h, sh.Route[sh.Leg+1])
		}
	case domain.ShipAtOrigin:
		return l.T("at origin in %s", h)
	}
	return l.T("%[1]s in %[2]s", l.Code(string(sh.Status)), h)
}

// nextEvent is the custody event a shipment waits for, as a hint for the
// carrier; the service still decides. Empty once delivered.
func nextEvent(l *locale, sh domain.Shipment) string {
	last := len(sh.Route) - 1
	h := here(sh)
	in := func(kind, country string) string { return l.T("%[1]s in %[2]s", eventLabel(l, kind), country) }
	switch sh.Status {
	case domain.ShipAtOrigin:
		if last == 0 {
			return in("customs_cleared", h)
		}
		return in("picked_up", h)
	case domain.ShipInTransit:
		if sh.Leg < last {
			return in("arrived", sh.Route[sh.Leg+1])
		}
	case domain.ShipArrived:
		if sh.Leg == last && sh.PermitID != nil {
			return in("customs_cleared", h) + l.T(" by the import authority (it draws the import permit)")
		}
		return in("customs_cleared", h)
	case domain.ShipCleared:
		if sh.Leg == last {
			return in("delivered", h)
		}
		if sh.LabRequired != "" && h == sh.LabCountry && (sh.Test == nil || !sh.Test.Pass) {
			return l.T("a passing lab test in %[1]s, then %[2]s", h, eventLabel(l, "picked_up"))
		}
		if sh.Leg == last-1 && sh.LicenseID != nil && sh.ExportClearance == nil {
			return l.T("%[1]s, then %[2]s", in("export_cleared", h), eventLabel(l, "picked_up"))
		}
		return in("picked_up", h)
	}
	return ""
}

// labText is how a shipment's lab test stands.
func labText(l *locale, sv service.ShipmentView) string {
	sh := sv.Shipment
	switch {
	case sh.LabRequired == "":
		return l.T("not required")
	case sh.Test != nil && sh.Test.Pass:
		return l.T("passed %s", l.Date(sh.Test.At))
	case sh.Test != nil:
		return l.T("failed %s", l.Date(sh.Test.At))
	case sv.LabQueue != nil:
		return l.T("in the lab's queue, %s units ahead", l.Num(sv.LabQueue.UnitsAhead))
	default:
		return l.T("due in %[1]s (%[2]s)", sh.LabCountry, sh.LabRequired)
	}
}

// labETA is the date by which the lab will have tested a shipment waiting
// in its queue, or "—".
func labETA(l *locale, sv service.ShipmentView) string {
	if sv.LabQueue == nil || sv.LabQueue.TestedBy.IsZero() {
		return "—"
	}
	return l.Date(sv.LabQueue.TestedBy)
}

// money is an exact amount as the pages write it, its whole units grouped
// by thousands: "USD 2,160,000.00".
func money(m domain.Money) string {
	if m.Currency == "" {
		return "—"
	}
	cur, amount, _ := strings.Cut(m.String(), " ")
	sign := ""
	if a, ok := strings.CutPrefix(amount, "-"); ok {
		sign, amount = "-", a
	}
	whole, frac, hasFrac := strings.Cut(amount, ".")
	out := cur + " " + sign + groupThousands(whole)
	if hasFrac {
		out += "." + frac
	}
	return out
}

// groupThousands writes a run of digits with a comma between each group
// of three.
func groupThousands(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	head := len(digits) % 3
	if head > 0 {
		b.WriteString(digits[:head])
	}
	for i := head; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// newestFirst orders shipments by creation, newest first.
func newestFirst(svs []service.ShipmentView) {
	slices.SortStableFunc(svs, func(a, b service.ShipmentView) int { return b.CreatedAt.Compare(a.CreatedAt) })
}

// eventRow is one custody event with its shipment.
type eventRow struct {
	Shipment string
	Event    domain.CustodyEvent
	seq      int // the event's place in its shipment's record
}

// eventsOf lists the shipments' custody events, newest first; of events
// recorded at the same moment, the later one first.
func eventsOf(svs []service.ShipmentView) []eventRow {
	var out []eventRow
	for _, sv := range svs {
		for i, ev := range sv.Events {
			out = append(out, eventRow{sv.Number, ev, i})
		}
	}
	slices.SortStableFunc(out, func(a, b eventRow) int {
		if c := b.Event.At.Compare(a.Event.At); c != 0 {
			return c
		}
		return b.seq - a.seq
	})
	return out
}

// throughputText is measured throughput, "8-bit 1979 TOPS; 16-bit 989.5 TOPS".
func throughputText(l *locale, ts []domain.Throughput) string {
	parts := make([]string, 0, len(ts))
	for _, t := range ts {
		parts = append(parts, l.T("%[1]d-bit %[2]s TOPS", t.Bits, strconv.FormatFloat(t.DenseTOPS, 'f', -1, 64)))
	}
	return strings.Join(parts, "; ")
}
