package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chipgate/chipgate/internal/demo"
	"github.com/chipgate/chipgate/internal/domain"
)

// fuzzForm is a form a fuzz target posts to, as its own role.
type fuzzForm struct {
	party, path string
	b           *browser
	csrf        string
}

// signInAll signs each form's party in with a browser of its own.
func signInAll(e *env, forms []*fuzzForm) {
	for _, fm := range forms {
		fm.b = e.browser()
		fm.csrf = fm.b.signIn(fm.party)
	}
}

// postFuzzed posts body to the form, with the path's last part (for a path
// ending in /) and the body's placeholders replaced, and fails on a closed
// connection (a panic) or a 5xx.
func postFuzzed(t *testing.T, e *env, fm *fuzzForm, ids *strings.Replacer, last, body string) {
	path := fm.path
	if strings.HasSuffix(path, "/") {
		path += url.PathEscape(ids.Replace(last))
	}
	req, err := http.NewRequest("POST", e.url+path, strings.NewReader(ids.Replace(body)+"&csrf="+url.QueryEscape(fm.csrf)))
	if err != nil {
		t.Skip("not a request")
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := fm.b.c.Do(req)
	if err != nil {
		t.Fatalf("POST %s %q: %v (a panic closes the connection)", path, body, err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		t.Fatalf("POST %s %q: %d\n%.1000s", path, body, resp.StatusCode, out)
	}
}

// FuzzShipmentForms sends arbitrary bodies to the shipment forms (the
// vendor's new shipment, the lab's test, the carrier's custody event, the
// export authority's alert move) as their own roles, with a valid session
// and CSRF token, so that every body reaches the handler's form decoding
// and the service. No body panics a handler or makes it answer 5xx. In a
// body or the alert id, $S stands for the shipment at the lab, $T for the
// one in transit, $A for the open alert and $O for an accepted order, so
// that the seeds reach the service's checks.
func FuzzShipmentForms(f *testing.F) {
	e := newEnv(f)
	forms := []*fuzzForm{{party: "us-testlab", path: "/lab/tests"}, {party: "carrier", path: "/carrier/events"}, {party: "us-commerce", path: "/export/alerts/"},
		{party: "nvidia", path: "/vendor/shipments"}}
	signInAll(e, forms)
	orders, err := e.svc.Orders(context.Background(), e.actor("nvidia"), []string{string(domain.OrderAccepted)})
	if err != nil || len(orders) == 0 {
		f.Fatalf("no accepted order: %v", err)
	}
	ids := strings.NewReplacer("$S", e.atLab.ID.String(), "$T", e.inTransit.ID.String(), "$A", e.alert.ID.String(), "$O", orders[0].ID.String())

	f.Add(uint8(0), "", "shipment=$S&tops_8=1979&tops_16=989.5&bandwidth_gbps=4800")
	f.Add(uint8(0), "", "shipment=$S&tops_8=NaN&bandwidth_gbps=-1")
	f.Add(uint8(0), "", "shipment=$T&tops_99999999999999999999=1&bandwidth_gbps=1e9")
	f.Add(uint8(0), "", "shipment=$S&tops_8=1e400&bandwidth_gbps=4800")
	f.Add(uint8(0), "", "shipment=%zz&tops_")
	f.Add(uint8(1), "", "shipment=$T&kind=arrived&country=us&place=LAX")
	f.Add(uint8(1), "", "shipment=$T&kind=delivered&country=CN&place="+strings.Repeat("x", 300))
	f.Add(uint8(1), "", "shipment=$S&kind=picked_up&country=US&place=JFK")
	f.Add(uint8(1), "", "shipment=$T&kind=&country=%00%01&place=%E2%80")
	f.Add(uint8(2), "$A", "state=escalated&note=seen")
	f.Add(uint8(2), "$A", "state=open&note=")
	f.Add(uint8(2), "../sweep", "state=explained&note=x")
	f.Add(uint8(2), "$S", "state=explained&note="+strings.Repeat("n", 5000))
	lot := url.QueryEscape(demo.H200Lots()[0].Number)
	f.Add(uint8(3), "", "order=$O&lot="+lot+"&serials=SN-F-1%0D%0ASN-F-2&unit_value=30000.005&currency=usd")
	f.Add(uint8(3), "", "order=$O&lot="+lot+"&serials=SN-000001&unit_value=1&currency=USD")
	f.Add(uint8(3), "", "order=$O&lot="+lot+"&serials=%0A%0A&unit_value=99999999999999999999999.999&currency=USD")
	f.Add(uint8(3), "", "order=$S&lot=&serials=a%00b&unit_value=.&currency=%E2%80")
	f.Add(uint8(3), "", "order=$O&lot="+lot+"&serials=SN-F-3&unit_value=1e400&currency=EUR&order=x")
	f.Fuzz(func(t *testing.T, which uint8, alert, body string) {
		postFuzzed(t, e, forms[int(which)%len(forms)], ids, alert, body)
	})
}

// FuzzProgramForms sends arbitrary bodies to the forms of the program's
// other records: opening and closing a demand hearing, filing demand and
// changing an approved customer, as FuzzShipmentForms does. $H stands for
// the demo's open hearing and $C for an approved customer's application.
func FuzzProgramForms(f *testing.F) {
	e := newEnv(f)
	forms := []*fuzzForm{{party: "cn-mofcom", path: "/import/hearings"}, {party: "cn-mofcom", path: "/import/hearings/close"},
		{party: "bytedance", path: "/buyer/filings"}, {party: "us-commerce", path: "/export/customers"}}
	signInAll(e, forms)
	ctx := context.Background()
	hs, err := e.svc.Hearings(ctx, e.actor("cn-mofcom"))
	if err != nil || len(hs) == 0 {
		f.Fatalf("no hearing: %v", err)
	}
	apps, err := e.svc.Applications(ctx, e.actor("us-commerce"), []string{string(domain.AppApproved)})
	if err != nil || len(apps) == 0 {
		f.Fatalf("no approved customer: %v", err)
	}
	ids := strings.NewReplacer("$H", hs[0].ID.String(), "$C", apps[0].ID.String())
	f.Add(uint8(0), "title=Q2&product=h200&period_start=2026-04-01&period_end=2026-07-01")
	f.Add(uint8(0), "title=%00&product=../h200&period_start=2026-02-30&period_end=9999-99-99")
	f.Add(uint8(1), "hearing=$H")
	f.Add(uint8(1), "hearing=$H$H")
	f.Add(uint8(2), "hearing=$H&forecast_units=4000&uses=commercial_ai,+research&justification=x")
	f.Add(uint8(2), "hearing=$H&forecast_units=99999999999999999999&uses=&justification="+strings.Repeat("j", 9000))
	f.Add(uint8(3), "application=$C&action=suspend&reason=audit")
	f.Add(uint8(3), "application=$C&action=approve&reason=")
	f.Add(uint8(3), "application=$C&action=reinstate&reason=%E2%80&action=revoke")
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		postFuzzed(t, e, forms[int(which)%len(forms)], ids, "", body)
	})
}
