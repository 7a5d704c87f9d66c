package web

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

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
func eventLabel(kind string) string {
	for _, k := range eventKinds {
		if k.Kind == kind {
			return k.Label
		}
	}
	return kind
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
func whereText(sh domain.Shipment) string {
	h := here(sh)
	switch sh.Status {
	case domain.ShipInTransit:
		if sh.Leg+1 < len(sh.Route) {
			return "in transit " + h + " → " + sh.Route[sh.Leg+1]
		}
	case domain.ShipAtOrigin:
		return "at origin in " + h
	}
	return strings.ReplaceAll(string(sh.Status), "_", " ") + " in " + h
}

// nextEvent is the custody event a shipment waits for, as a hint for the
// carrier; the service still decides. Empty once delivered.
func nextEvent(sh domain.Shipment) string {
	last := len(sh.Route) - 1
	h := here(sh)
	switch sh.Status {
	case domain.ShipAtOrigin:
		if last == 0 {
			return eventLabel("customs_cleared") + " in " + h
		}
		return eventLabel("picked_up") + " in " + h
	case domain.ShipInTransit:
		if sh.Leg < last {
			return eventLabel("arrived") + " in " + sh.Route[sh.Leg+1]
		}
	case domain.ShipArrived:
		if sh.Leg == last && sh.PermitID != nil {
			return eventLabel("customs_cleared") + " in " + h + " by the import authority (it draws the import permit)"
		}
		return eventLabel("customs_cleared") + " in " + h
	case domain.ShipCleared:
		if sh.Leg == last {
			return eventLabel("delivered") + " in " + h
		}
		if sh.LabRequired != "" && h == sh.LabCountry && (sh.Test == nil || !sh.Test.Pass) {
			return "a passing lab test in " + h + ", then " + eventLabel("picked_up")
		}
		if sh.Leg == last-1 && sh.LicenseID != nil && sh.ExportClearance == nil {
			return eventLabel("export_cleared") + " in " + h + ", then " + eventLabel("picked_up")
		}
		return eventLabel("picked_up") + " in " + h
	}
	return ""
}

// labText is how a shipment's lab test stands.
func labText(sv service.ShipmentView) string {
	sh := sv.Shipment
	switch {
	case sh.LabRequired == "":
		return "not required"
	case sh.Test != nil && sh.Test.Pass:
		return "passed " + fmtDate(sh.Test.At)
	case sh.Test != nil:
		return "failed " + fmtDate(sh.Test.At)
	case sv.LabQueue != nil:
		return fmt.Sprintf("in the lab's queue, %d units ahead", sv.LabQueue.UnitsAhead)
	default:
		return "due in " + sh.LabCountry + " (" + sh.LabRequired + ")"
	}
}

// labETA is the date by which the lab will have tested a shipment waiting
// in its queue, or "—".
func labETA(sv service.ShipmentView) string {
	if sv.LabQueue == nil || sv.LabQueue.TestedBy.IsZero() {
		return "—"
	}
	return fmtDate(sv.LabQueue.TestedBy)
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

// fmtTime is a moment to the minute, UTC.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// throughputText is measured throughput, "8-bit 1979 TOPS; 16-bit 989.5 TOPS".
func throughputText(ts []domain.Throughput) string {
	parts := make([]string, 0, len(ts))
	for _, t := range ts {
		parts = append(parts, strconv.Itoa(t.Bits)+"-bit "+strconv.FormatFloat(t.DenseTOPS, 'f', -1, 64)+" TOPS")
	}
	return strings.Join(parts, "; ")
}
