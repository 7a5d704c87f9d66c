package web_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzShipmentForms sends arbitrary bodies to the shipment forms (the lab's
// test, the carrier's custody event, the export authority's alert move) as
// their own roles, with a valid session and CSRF token, so that every body
// reaches the handler's form decoding and the service. No body panics a
// handler or makes it answer 5xx. In a body or the alert id, $S stands for
// the shipment at the lab, $T for the one in transit and $A for the open
// alert, so that the seeds reach the service's checks.
func FuzzShipmentForms(f *testing.F) {
	e := newEnv(f)
	type form struct {
		party, path string
		b           *browser
		csrf        string
	}
	forms := []*form{{party: "us-testlab", path: "/lab/tests"}, {party: "carrier", path: "/carrier/events"}, {party: "us-commerce", path: "/export/alerts/"}}
	for _, fm := range forms {
		fm.b = e.browser()
		fm.csrf = fm.b.signIn(fm.party)
	}
	ids := strings.NewReplacer("$S", e.atLab.ID.String(), "$T", e.inTransit.ID.String(), "$A", e.alert.ID.String())

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
	f.Fuzz(func(t *testing.T, which uint8, alert, body string) {
		fm := forms[int(which)%len(forms)]
		path := fm.path
		if strings.HasSuffix(path, "/") {
			path += url.PathEscape(ids.Replace(alert))
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
	})
}
