package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/service"
)

// labData is the test lab's home page.
type labData struct {
	Queue, Tests *table
	// Ready are the shipments the lab may test now: cleared through customs
	// in the lab's country and not tested yet.
	Ready []domain.Shipment
	// Bits are the bit lengths the form asks throughput for: those the
	// catalog's specifications list.
	Bits []int
	// Specs are the catalog's products, so that the lab sees what the
	// licensed chip should measure.
	Specs []domain.Product
	Form  url.Values // the form as sent, when it failed
}

// labView gathers the lab's queue with its ETAs, the shipments ready for a
// test and the tests recorded.
func (h *handler) labView(ctx context.Context, who domain.Actor, _ *http.Request) (*view, error) {
	const path = "/lab"
	l := localeIn(ctx)
	d := &labData{
		Queue: l.table(path, "queue", "Queue: shipments awaiting or under test", "Shipment", "Buyer", "Product", "Units", "Destination",
			"Where", "Arrived at the lab", "Units ahead", "Tested by (ETA)").numeric(3, 7),
		Tests: l.table(path, "tests", "Tests recorded", "Tested", "Shipment", "Buyer", "Product", "Units", "Measured throughput",
			"Bandwidth (GB/s)", "TPP", "Result", "Reasons", "By").numeric(4, 6, 7),
	}
	d.Queue.Empty, d.Tests.Empty = l.T("No shipment waits for a test."), l.T("No test recorded yet.")
	svs, err := h.svc.Shipments(ctx, who)
	if err != nil {
		return nil, err
	}
	// The queue in the lab's order: those at the lab by arrival (first come,
	// first tested), then those on their way, oldest first.
	var waiting []service.ShipmentView
	var tested []service.ShipmentView
	for _, sv := range svs {
		switch {
		case sv.Test != nil:
			tested = append(tested, sv)
		case sv.LabRequired != "":
			waiting = append(waiting, sv)
		}
	}
	slices.SortStableFunc(waiting, func(a, b service.ShipmentView) int {
		switch {
		case a.LabArrival != nil && b.LabArrival != nil:
			return a.LabArrival.Compare(*b.LabArrival)
		case a.LabArrival != nil:
			return -1
		case b.LabArrival != nil:
			return 1
		}
		return a.CreatedAt.Compare(b.CreatedAt)
	})
	for _, sv := range waiting {
		arrived, ahead := l.T("on its way"), "—"
		if sv.LabArrival != nil {
			arrived = l.Time(*sv.LabArrival)
		}
		if sv.LabQueue != nil {
			ahead = l.Num(sv.LabQueue.UnitsAhead)
		}
		d.Queue.add(sv.Number, sv.Buyer, sv.Product, l.Num(sv.Quantity), sv.Destination, whereText(l, sv.Shipment), arrived, ahead, labETA(l, sv))
		if sv.Status == domain.ShipCleared && here(sv.Shipment) == sv.LabCountry {
			d.Ready = append(d.Ready, sv.Shipment)
		}
	}
	slices.SortStableFunc(tested, func(a, b service.ShipmentView) int { return b.Test.At.Compare(a.Test.At) })
	for _, sv := range tested {
		t := sv.Test
		result := l.Code("fail")
		if t.Pass {
			result = l.Code("pass")
		}
		d.Tests.add(l.Time(t.At), sv.Number, sv.Buyer, sv.Product, l.Num(sv.Quantity), throughputText(l, t.Measured.Throughput),
			l.Num(t.Measured.BandwidthGBps), strconv.FormatFloat(t.TPP, 'f', 0, 64), result, strings.Join(t.Reasons, "; "), t.By)
	}
	if d.Specs, err = h.svc.Products(ctx, who); err != nil {
		return nil, err
	}
	for _, p := range d.Specs {
		for _, t := range p.Spec.Throughput {
			if !slices.Contains(d.Bits, t.Bits) {
				d.Bits = append(d.Bits, t.Bits)
			}
		}
	}
	slices.Sort(d.Bits)
	return &view{Title: l.T("Test lab: queue and tests"), Data: d, Tables: []*table{d.Queue, d.Tests}}, nil
}

// labTestForm is the lab's form, decoded.
type labTestForm struct {
	Shipment domain.ID
	Test     service.LabTestRequest
}

// parseLabTest decodes the lab's form: the shipment, dense TOPS per bit
// length (fields tops_<bits>; empty ones are skipped) and the bandwidth.
// Its error is a message for the person who filled it in; the service
// checks the values themselves.
func parseLabTest(f url.Values) (labTestForm, error) {
	var out labTestForm
	id, err := domain.ParseID(strings.TrimSpace(f.Get("shipment")))
	if err != nil {
		return out, formErr("shipment", "Choose a shipment to test.")
	}
	out.Shipment = id
	keys := make([]string, 0, len(f))
	for k := range f {
		if strings.HasPrefix(k, "tops_") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := strings.TrimSpace(f.Get(k))
		if v == "" {
			continue
		}
		bits, err := strconv.Atoi(strings.TrimPrefix(k, "tops_"))
		if err != nil {
			return out, formErr("", "The form has an unknown throughput field.")
		}
		tops, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return out, formErr(k, "Dense TOPS at %d bits must be a number.", bits)
		}
		out.Test.Throughput = append(out.Test.Throughput, domain.Throughput{Bits: bits, DenseTOPS: tops})
	}
	// Sorted by key, "tops_16" came before "tops_8": keep bit order.
	slices.SortStableFunc(out.Test.Throughput, func(a, b domain.Throughput) int { return a.Bits - b.Bits })
	if out.Test.BandwidthGBps, err = strconv.Atoi(strings.TrimSpace(f.Get("bandwidth_gbps"))); err != nil {
		return out, formErr("bandwidth_gbps", "Bandwidth must be a whole number of GB/s.")
	}
	return out, nil
}

// recordLabTest records the lab's test of a shipment and shows its result.
func (h *handler) recordLabTest(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string) {
	in, err := parseLabTest(r.PostForm)
	if err != nil {
		h.labRender(w, r, who, csrf, http.StatusUnprocessableEntity, err, "")
		return
	}
	sh, err := h.svc.RecordLabTest(r.Context(), who, in.Shipment, in.Test)
	if err != nil {
		h.formFailed(w, r, err, "shipment", func(status int, err error) { h.labRender(w, r, who, csrf, status, err, "") })
		return
	}
	l := localeIn(r.Context())
	msg := l.T("Shipment %[1]s failed its test (TPP %[2]s): %[3]s", sh.Number, strconv.FormatFloat(sh.Test.TPP, 'f', 0, 64), strings.Join(sh.Test.Reasons, "; "))
	if sh.Test.Pass {
		msg = l.T("Shipment %[1]s passed its test (TPP %[2]s): %[3]s", sh.Number, strconv.FormatFloat(sh.Test.TPP, 'f', 0, 64), strings.Join(sh.Test.Reasons, "; "))
	}
	h.labRender(w, r, who, csrf, http.StatusOK, nil, msg)
}

func (h *handler) labRender(w http.ResponseWriter, r *http.Request, who domain.Actor, csrf string, status int, refused error, notice string) {
	h.again(w, r, who, csrf, status, refused, notice, "/lab", "lab", h.labView)
}

func (d *labData) keepForm(f url.Values) { d.Form = f }
